"""Configuration, model entries, provider_validate (GET /models) and the installed plugin."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import distribution

import pytest
from gpt_image_mcp.capabilities import ModelTable
from gpt_image_mcp.errors import ConfigurationError
from gpt_image_mcp.plugins import load_registry
from gpt_image_mcp.types import Operation
from gpt_image_mcp_custom import CustomProvider


def test_base_url_is_required() -> None:
    provider = CustomProvider()

    assert provider.has_credentials() is False
    (problem,) = provider.configuration_problems()
    assert problem.startswith("CUSTOM_OPENAI_BASE_URL is not set")
    assert provider.model_table_layer() == {}
    with pytest.raises(ConfigurationError, match="custom provider is not configured"):
        provider.client_config()


def test_invalid_switches_name_their_variables(monkeypatch) -> None:
    monkeypatch.setenv("CUSTOM_OPENAI_BASE_URL", "localhost:8080")
    monkeypatch.setenv("CUSTOM_OPENAI_SIZE_STYLE", "pixels")
    monkeypatch.setenv("CUSTOM_OPENAI_EXTRA_BODY", "[1, 2]")
    monkeypatch.setenv("CUSTOM_OPENAI_SUPPORTS_EDITS", "perhaps")
    provider = CustomProvider()

    problems = provider.configuration_problems()
    for variable in (
        "CUSTOM_OPENAI_BASE_URL",
        "CUSTOM_OPENAI_SIZE_STYLE",
        "CUSTOM_OPENAI_EXTRA_BODY",
        "CUSTOM_OPENAI_SUPPORTS_EDITS",
    ):
        assert any(problem.startswith(f"{variable}:") for problem in problems), (variable, problems)
    assert provider.has_credentials() is True  # the user meant this provider: selected, then reported
    assert provider.model_table_layer() == {}


def test_key_file(monkeypatch, tmp_path, api_key) -> None:
    (tmp_path / "key").write_text(api_key, encoding="utf-8")
    monkeypatch.setenv("CUSTOM_OPENAI_BASE_URL", "http://localhost:4000/v1/")
    monkeypatch.setenv("CUSTOM_OPENAI_API_KEY_FILE", str(tmp_path / "key"))

    config = CustomProvider().client_config()

    assert (config.base_url, config.api_key, config.key_variable) == (
        "http://localhost:4000/v1",
        api_key,
        "CUSTOM_OPENAI_API_KEY_FILE",  # messages name the variable the key came from
    )


def test_listed_models_get_generic_entries_and_known_ones_keep_theirs(monkeypatch) -> None:
    monkeypatch.setenv("CUSTOM_OPENAI_BASE_URL", "http://localhost:4000/v1")
    monkeypatch.setenv("CUSTOM_OPENAI_MODELS", "flux-dev, gpt-image-2, sdxl-turbo")
    monkeypatch.setenv("CUSTOM_OPENAI_SUPPORTS_EDITS", "false")
    provider = CustomProvider()

    layer = provider.model_table_layer()
    assert sorted(layer) == ["flux-dev", "sdxl-turbo"]
    table = ModelTable.default().with_layer(layer, source="custom")
    flux = table.get("flux-dev")
    assert (flux.vendor, flux.operations, flux.max_n) == ("custom", frozenset({Operation.GENERATE}), 10)
    assert table.get("gpt-image-2").vendor == "openai"
    assert [model.name for model in table if provider.serves(model)] == ["gpt-image-2", "flux-dev", "sdxl-turbo"]
    assert provider.adapt_capabilities(table.get("gpt-image-2")).operations == frozenset({Operation.GENERATE})
    assert provider.default_model() == "flux-dev"

    monkeypatch.setenv("CUSTOM_OPENAI_DEFAULT_MODEL", "sdxl-turbo")
    assert CustomProvider().default_model() == "sdxl-turbo"


def test_the_table_layer_reads_the_settings_only_when_a_model_variable_is_set(monkeypatch) -> None:
    monkeypatch.setenv("CUSTOM_OPENAI_BASE_URL", "http://localhost:4000/v1")
    monkeypatch.setenv("CUSTOM_OPENAI_TIMEOUT", "not a number")
    provider = CustomProvider()
    assert provider.model_table_layer() == {}  # as with the settings read: invalid ones add no model either
    assert provider._problems is None  # not read at start-up: nothing could come of them for the table
    assert any(problem.startswith("CUSTOM_OPENAI_TIMEOUT:") for problem in provider.configuration_problems())

    monkeypatch.delenv("CUSTOM_OPENAI_TIMEOUT")
    monkeypatch.setenv("custom_openai_default_model", "flux-dev")  # the settings match names case-insensitively
    layer = CustomProvider().model_table_layer()
    assert list(layer) == ["flux-dev"] and layer["flux-dev"]["vendor"] == "custom"


def test_without_a_model_list_it_serves_openai_models(monkeypatch) -> None:
    monkeypatch.setenv("CUSTOM_OPENAI_BASE_URL", "http://localhost:4000/v1")
    provider = CustomProvider()
    table = ModelTable.default()

    assert provider.serves(table.get("gpt-image-2"))
    assert provider.default_model() is None


@pytest.mark.anyio
async def test_validate_lists_models(custom, monkeypatch, api_key, provider) -> None:
    monkeypatch.setenv("CUSTOM_OPENAI_API_KEY", api_key)
    monkeypatch.setenv("CUSTOM_OPENAI_MODELS", "flux-dev")
    custom.expect_request("/v1/models", method="GET", headers={"Authorization": f"Bearer {api_key}"}).respond_with_json(
        {"object": "list", "data": [{"id": "flux-dev", "object": "model"}]}
    )

    report = await provider.validate()

    assert report.ok is True, report
    assert [(c.name, c.ok) for c in report.checks] == [
        ("configuration", True),
        ("reachable", True),
        ("credentials", True),
        ("model", True),
    ]


@pytest.mark.anyio
async def test_validate_without_key_sends_no_authorization_and_reports_a_missing_model(custom, monkeypatch) -> None:
    monkeypatch.setenv("CUSTOM_OPENAI_MODELS", "flux-dev")
    custom.expect_request("/v1/models").respond_with_json({"data": [{"id": "sdxl"}, {"id": "whisper-1"}]})

    report = await CustomProvider().validate()

    assert "Authorization" not in custom.log[0][0].headers
    assert report.ok is False
    assert report.checks[-1].detail == "model flux-dev is not listed by the server (it lists sdxl, whisper-1)"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "name", "ok"), [(401, "credentials", False), (404, "model", True), (500, "upstream", False)]
)
async def test_validate_failures(custom, monkeypatch, status, name, ok) -> None:
    monkeypatch.setenv("MAX_RETRIES", "0")
    custom.expect_request("/v1/models").respond_with_json({"error": {"message": "nope"}}, status=status)

    report = await CustomProvider().validate()

    assert (report.checks[-1].name, report.checks[-1].ok, report.ok) == (name, ok, ok)
    assert f"HTTP {status}" in report.checks[1].detail


def test_installed_metadata_and_registry() -> None:
    dist = distribution("gpt-image-mcp-custom")
    assert dist.version == "0.1.0"
    entry_points = [(ep.name, ep.value) for ep in dist.entry_points if ep.group == "gpt_image_mcp"]
    assert entry_points == [("custom", "gpt_image_mcp_custom.plugin")]
    assert {"gpt-image-mcp-core==0.1.0", "gpt-image-mcp-openai==0.1.0"} <= set(dist.requires or [])

    registry = load_registry()
    assert isinstance(registry.providers["custom"], CustomProvider)
    assert registry.owner("provider", "custom") == "custom"
    info = next(info for info in registry.plugins if info.name == "custom")
    assert (info.distribution, info.version, info.status) == ("gpt-image-mcp-custom", "0.1.0", "loaded")


def test_loading_the_plugin_does_not_import_openai() -> None:
    code = (
        "import sys; from gpt_image_mcp.plugins import load_registry; p = load_registry().providers['custom']; "
        "p.model_table_layer(); p.has_credentials(); p.operations; "
        "print('openai' in sys.modules)"
    )
    env = dict(os.environ, CUSTOM_OPENAI_BASE_URL="http://localhost:1/v1", CUSTOM_OPENAI_MODELS="flux-dev")
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env, check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
