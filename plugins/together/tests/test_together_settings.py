"""Configuration, the FLUX capability entries, provider_validate (GET /models) and the installed plugin."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import distribution

import pytest
from gpt_image_mcp.capabilities import ModelTable
from gpt_image_mcp.errors import ConfigurationError
from gpt_image_mcp.plugins import load_registry
from gpt_image_mcp.types import GenerateRequest, Operation
from gpt_image_mcp.validation import check_request
from gpt_image_mcp_together import TogetherProvider

SCHNELL = "black-forest-labs/FLUX.1-schnell"
MODELS = [
    {"id": SCHNELL, "object": "model", "type": "image"},
    {"id": "black-forest-labs/FLUX.1-dev", "object": "model", "type": "image"},
    {"id": "meta-llama/Llama-3.3-70B-Instruct-Turbo", "object": "model", "type": "chat"},
]


def test_without_a_key_it_is_not_configured() -> None:
    provider = TogetherProvider()

    assert provider.has_credentials() is False
    (problem,) = provider.configuration_problems()
    assert "TOGETHER_API_KEY" in problem and "TOGETHER_API_KEY_FILE" in problem
    with pytest.raises(ConfigurationError, match="together provider is not configured"):
        provider.client_config()


def test_key_file_base_url_and_default_model(monkeypatch, tmp_path, api_key) -> None:
    (tmp_path / "key").write_text(api_key + "\n", encoding="utf-8")
    monkeypatch.setenv("TOGETHER_API_KEY_FILE", str(tmp_path / "key"))
    provider = TogetherProvider()

    assert provider.has_credentials() is True
    config = provider.client_config()
    assert (config.api_key, config.base_url) == (api_key, "https://api.together.xyz/v1")
    assert provider.default_model() == SCHNELL

    monkeypatch.setenv("TOGETHER_DEFAULT_MODEL", "black-forest-labs/FLUX.1-dev")
    monkeypatch.setenv("TOGETHER_BASE_URL", "ftp://nope")
    broken = TogetherProvider()
    assert any(p.startswith("TOGETHER_BASE_URL:") for p in broken.configuration_problems())


def test_flux_entries_join_the_capability_table() -> None:
    table = ModelTable.default().with_layer(TogetherProvider().model_table_layer(), source="together")
    provider = TogetherProvider()

    served = [model.name for model in table if provider.serves(model)]
    assert served == [SCHNELL, "black-forest-labs/FLUX.1-dev", "black-forest-labs/FLUX.1.1-pro"]
    schnell = table.get(SCHNELL)
    assert schnell.vendor == "together"
    assert schnell.operations == frozenset({Operation.GENERATE})
    assert (schnell.sizes.multiple_of, schnell.sizes.max_edge, schnell.max_n) == (16, 1792, 4)
    assert table.get("black-forest-labs/FLUX.1.1-pro").sizes.multiple_of == 32
    assert not provider.serves(table.get("gpt-image-2"))

    with pytest.raises(Exception, match="multiple of 16"):
        check_request(GenerateRequest(model=SCHNELL, prompt="p", size="1000x1000"), Operation.GENERATE, schnell)
    with pytest.raises(Exception, match="quality is not supported"):
        check_request(GenerateRequest(model=SCHNELL, prompt="p", quality="high"), Operation.GENERATE, schnell)


@pytest.mark.anyio
async def test_validate_lists_models_with_the_key(together, api_key, provider) -> None:
    together.expect_request(
        "/v1/models", method="GET", headers={"Authorization": f"Bearer {api_key}"}
    ).respond_with_json(MODELS)

    report = await provider.validate()

    assert report.ok is True, report
    assert [(c.name, c.ok) for c in report.checks] == [
        ("configuration", True),
        ("reachable", True),
        ("credentials", True),
        ("model", True),
    ]
    assert len(together.log) == 1


@pytest.mark.anyio
async def test_validate_reports_a_bad_key_and_a_missing_model(together, monkeypatch, provider) -> None:
    together.expect_ordered_request("/v1/models").respond_with_json(
        {"error": {"message": "Invalid API key", "code": "invalid_api_key"}}, status=401
    )
    together.expect_ordered_request("/v1/models").respond_with_json(MODELS)

    bad_key = await provider.validate()
    monkeypatch.setenv("TOGETHER_DEFAULT_MODEL", "black-forest-labs/FLUX.2-max")
    missing_model = await TogetherProvider().validate()

    assert bad_key.ok is False
    assert bad_key.checks[-1].name == "credentials"
    assert "TOGETHER_API_KEY" in bad_key.checks[-1].detail
    assert missing_model.ok is False
    assert missing_model.checks[-1].detail == (
        "model black-forest-labs/FLUX.2-max is not in Together's model list; image models offered include "
        "black-forest-labs/FLUX.1-dev, black-forest-labs/FLUX.1-schnell"
    )


def test_installed_metadata_and_registry() -> None:
    dist = distribution("gpt-image-mcp-together")
    assert dist.version == "0.1.0"
    entry_points = [(ep.name, ep.value) for ep in dist.entry_points if ep.group == "gpt_image_mcp"]
    assert entry_points == [("together", "gpt_image_mcp_together.plugin")]
    assert {"gpt-image-mcp-core==0.1.0", "gpt-image-mcp-openai==0.1.0"} <= set(dist.requires or [])

    registry = load_registry()
    assert isinstance(registry.providers["together"], TogetherProvider)
    assert registry.owner("provider", "together") == "together"
    info = next(info for info in registry.plugins if info.name == "together")
    assert (info.distribution, info.version, info.status) == ("gpt-image-mcp-together", "0.1.0", "loaded")


def test_loading_the_plugin_does_not_import_openai() -> None:
    code = (
        "import sys; from gpt_image_mcp.plugins import load_registry; p = load_registry().providers['together']; "
        "p.model_table_layer(); p.has_credentials(); print('openai' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=dict(os.environ), check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
