"""Configuration checks and provider_validate: one cheap call that generates nothing, on either route."""

from __future__ import annotations

import pytest
from gpt_image_mcp.errors import ConfigurationError
from gpt_image_mcp_azure import AzureOpenAIProvider

MODELS = {"object": "list", "data": [{"id": "gpt-image-2", "object": "model"}]}


def test_nothing_set_is_not_configured_and_names_every_variable() -> None:
    provider = AzureOpenAIProvider()

    assert provider.has_credentials() is False
    problems = provider.configuration_problems()
    assert any(p.startswith("AZURE_OPENAI_ENDPOINT is not set") for p in problems)
    assert any(p.startswith("AZURE_OPENAI_DEPLOYMENT is not set") for p in problems)
    with pytest.raises(ConfigurationError, match="azure provider is not configured"):
        provider.client_config()


def test_endpoint_and_deployment_are_enough_with_entra(monkeypatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com")
    monkeypatch.setenv("AZURE_OPENAI_DEPLOYMENT", "images")
    provider = AzureOpenAIProvider()

    assert provider.has_credentials() is True
    assert provider.configuration_problems() == []
    config = provider.client_config()
    assert config.api_key is None
    assert config.token_provider is not None
    assert config.token_provider.label == "DefaultAzureCredential"


def test_key_mode_without_a_key_is_a_problem(monkeypatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com")
    monkeypatch.setenv("AZURE_OPENAI_DEPLOYMENT", "images")
    monkeypatch.setenv("AZURE_OPENAI_AUTH", "key")
    provider = AzureOpenAIProvider()

    assert provider.has_credentials() is False
    assert provider.configuration_problems() == [
        "AZURE_OPENAI_AUTH=key but no key is set: set AZURE_OPENAI_API_KEY (or _FILE)"
    ]


def test_key_file_and_invalid_values(monkeypatch, tmp_path, cfg) -> None:
    key_file = tmp_path / "azure.key"
    key_file.write_text(f"{cfg.api_key}\n", encoding="utf-8")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com/")
    monkeypatch.setenv("AZURE_OPENAI_DEPLOYMENT", "images")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY_FILE", str(key_file))
    assert AzureOpenAIProvider().client_config().api_key == cfg.api_key

    monkeypatch.setenv("AZURE_OPENAI_ROUTE", "v2")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "res.openai.azure.com")
    provider = AzureOpenAIProvider()
    problems = provider.configuration_problems()
    assert any(p.startswith("AZURE_OPENAI_ROUTE:") and "'v2'" in p for p in problems)
    assert any(p.startswith("AZURE_OPENAI_ENDPOINT:") and "http(s) URL" in p for p in problems)
    assert provider.has_credentials() is True  # the user meant Azure: selected, then reported


@pytest.mark.anyio
async def test_validate_on_the_deployment_route_lists_models_with_the_key(azure_key, cfg, provider) -> None:
    azure_key.expect_request(
        "/openai/models", method="GET", query_string={"api-version": cfg.api_version}, headers={"api-key": cfg.api_key}
    ).respond_with_json(MODELS)

    report = await provider.validate()

    assert report.ok is True, report
    assert [check.name for check in report.checks] == ["configuration", "reachable", "credentials", "deployment"]
    assert report.checks[2].detail == "api-key accepted"
    assert cfg.deployment in report.checks[3].detail
    assert len(azure_key.log) == 1
    assert azure_key.log[0][0].method == "GET"


@pytest.mark.anyio
async def test_validate_on_the_v1_route_with_managed_identity(azure, managed_identity, monkeypatch, provider) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ROUTE", "v1")
    identity = managed_identity()
    azure.expect_request("/openai/v1/models", method="GET").respond_with_json(MODELS)

    report = await provider.validate()

    assert report.ok is True, report
    assert [check.name for check in report.checks] == [
        "configuration",
        "identity",
        "reachable",
        "credentials",
        "deployment",
    ]
    assert "ManagedIdentityCredential" in report.checks[1].detail
    assert azure.log[0][0].headers["Authorization"] == f"Bearer {identity.issued[0]}"


@pytest.mark.anyio
async def test_validate_reports_a_refused_key_precisely(azure_key, cfg, provider) -> None:
    body = {"error": {"code": "401", "message": "Access denied due to invalid subscription key."}}
    azure_key.expect_request("/openai/models").respond_with_json(body, status=401)

    report = await provider.validate()

    assert report.ok is False
    reachable, credentials = report.checks[1:]
    assert (reachable.ok, credentials.name, credentials.ok) == (True, "credentials", False)
    assert "AZURE_OPENAI_API_KEY" in credentials.detail
    assert "HTTP 401" in reachable.detail


@pytest.mark.anyio
async def test_validate_reports_an_unreachable_endpoint(monkeypatch, cfg, provider) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("AZURE_OPENAI_DEPLOYMENT", cfg.deployment)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", cfg.api_key)

    report = await provider.validate()

    assert report.ok is False
    assert report.checks[-1].name == "reachable"
    assert "127.0.0.1:9" in report.checks[-1].detail
    assert "AZURE_OPENAI_ENDPOINT" in report.checks[-1].detail
