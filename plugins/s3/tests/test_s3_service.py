"""The s3 plugin as installed: discovered through its entry point, used by core's call path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import distribution
from pathlib import Path

import pytest
from gpt_image_mcp.plugins import load_registry
from gpt_image_mcp.service import Delivery, ImageService
from gpt_image_mcp.settings import load_settings
from gpt_image_mcp_s3 import S3Sink


def test_distribution_metadata_declares_the_entry_point() -> None:
    dist = distribution("gpt-image-mcp-s3")

    assert dist.version == "0.1.0"
    entry_points = [ep for ep in dist.entry_points if ep.group == "gpt_image_mcp"]
    assert [(ep.name, ep.value) for ep in entry_points] == [("s3", "gpt_image_mcp_s3")]
    assert "gpt-image-mcp-core==0.1.0" in (dist.requires or [])
    assert any(requirement.startswith("boto3==") for requirement in dist.requires or [])


def test_registry_discovers_the_s3_sink_through_its_entry_point() -> None:
    registry = load_registry()

    assert isinstance(registry.sinks["s3"], S3Sink)
    assert registry.owner("sink", "s3") == "s3"
    info = next(info for info in registry.plugins if info.name == "s3")
    assert (info.distribution, info.version, info.status) == ("gpt-image-mcp-s3", "0.1.0", "loaded")
    assert info.hooks == ["register_sinks"]
    assert info.builtin is False


def test_cli_lists_the_plugin() -> None:
    script = Path(sys.executable).with_name("gpt-image-mcp")
    result = subprocess.run(
        [str(script), "plugins"], capture_output=True, text=True, timeout=60, env=dict(os.environ), check=False
    )

    assert result.returncode == 0, result.stderr
    plugins = {item["name"]: item for item in json.loads(result.stdout)}
    assert plugins["s3"]["distribution"] == "gpt-image-mcp-s3"
    assert plugins["s3"]["version"] == "0.1.0"
    assert plugins["s3"]["status"] == "loaded"
    assert plugins["s3"]["hooks"] == ["register_sinks"]


def test_loading_the_plugin_does_not_import_boto3() -> None:
    code = (
        "import sys; from gpt_image_mcp.plugins import load_registry; registry = load_registry(); "
        "assert 's3' in registry.sinks; print(sorted(m for m in ('boto3', 'botocore') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=dict(os.environ), check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.anyio
async def test_generate_through_the_service_uploads_to_s3(s3_env, s3_admin) -> None:
    service = ImageService.create(load_settings(provider="offline"))
    try:
        outcome = await service.generate(prompt="x", delivery=Delivery(sinks=("inline", "s3")))
    finally:
        await service.aclose()

    delivered = outcome.delivered[0]
    assert delivered.inline
    inline, s3 = delivered.saved
    assert inline.sink == "inline"
    assert s3.sink == "s3"
    assert s3.uri is not None and s3.uri.startswith(f"s3://{s3_env}/gpt-image-mcp/")
    assert s3.uri.endswith(f"/{delivered.image_id}.png")
    assert s3.url is not None and "X-Amz-Signature=" in s3.url
    key = s3.uri.removeprefix(f"s3://{s3_env}/")
    stored = s3_admin.get_object(Bucket=s3_env, Key=key)
    assert stored["Body"].read() == outcome.result.images[0].data
    assert stored["ContentType"] == outcome.result.images[0].mime_type
    assert not any("sink" in note for note in outcome.notes)


@pytest.mark.anyio
async def test_s3_down_still_delivers_the_image_inline_with_a_note(s3_env, monkeypatch, closed_port_url) -> None:
    monkeypatch.setenv("S3_ENDPOINT_URL", closed_port_url)
    service = ImageService.create(load_settings(provider="offline"))
    try:
        outcome = await service.generate(prompt="x", delivery=Delivery(sinks=("inline", "s3")))
    finally:
        await service.aclose()

    assert len(outcome.result.images) == 1
    delivered = outcome.delivered[0]
    assert delivered.inline
    assert [saved.sink for saved in delivered.saved] == ["inline"]
    sink_notes = [note for note in outcome.notes if note.startswith("sink s3 could not save image 1")]
    assert len(sink_notes) == 1
    assert f"could not connect to {closed_port_url}" in sink_notes[0]
    assert "S3_ENDPOINT_URL" in sink_notes[0]
    assert delivered.stored.uri in sink_notes[0]  # core says where the image is kept instead


@pytest.mark.anyio
async def test_default_sinks_setting_selects_s3(s3_env, s3_admin, monkeypatch) -> None:
    monkeypatch.setenv("DEFAULT_SINKS", "inline,s3")
    service = ImageService.create(load_settings(provider="offline"))
    try:
        outcome = await service.generate(prompt="x", n=2)
    finally:
        await service.aclose()

    uris = [item.saved[1].uri for item in outcome.delivered]
    assert [item.saved[1].sink for item in outcome.delivered] == ["s3", "s3"]
    for uri, image in zip(uris, outcome.result.images, strict=True):
        assert uri is not None
        key = uri.removeprefix(f"s3://{s3_env}/")
        assert s3_admin.get_object(Bucket=s3_env, Key=key)["Body"].read() == image.data


@pytest.mark.anyio
async def test_unconfigured_s3_sink_is_a_note_not_a_failure() -> None:
    service = ImageService.create(load_settings(provider="offline"))
    try:
        outcome = await service.generate(prompt="x", delivery=Delivery(sinks=("inline", "s3")))
    finally:
        await service.aclose()

    assert outcome.delivered[0].inline
    assert any("sink s3" in note and "S3_BUCKET is not set" in note for note in outcome.notes)
