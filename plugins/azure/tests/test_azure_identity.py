"""Entra ID end to end, offline: a fake App Service managed identity endpoint issues the token that the fake
Azure resource then receives as a bearer token; expiry triggers a refresh; no identity gives a clear error."""

from __future__ import annotations

import pytest
from gpt_image_mcp.errors import ConfigurationError
from gpt_image_mcp.types import GenerateRequest
from pytest_httpserver import HTTPServer

pytestmark = pytest.mark.anyio

SCOPE_RESOURCE = "https://cognitiveservices.azure.com"


def generations(cfg) -> str:
    return f"/openai/deployments/{cfg.deployment}/images/generations"


def bearer_tokens(server: HTTPServer) -> list[str]:
    return [request.headers.get("Authorization", "") for request, _ in server.log]


async def test_managed_identity_token_reaches_azure_as_bearer(
    azure, managed_identity, cfg, provider, progress, png, response_body
):
    identity = managed_identity(lifetime=3600)
    azure.expect_request(
        generations(cfg), method="POST", query_string={"api-version": cfg.api_version}
    ).respond_with_json(response_body(png()))

    result = await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)

    assert result.images
    assert bearer_tokens(azure) == [f"Bearer {identity.issued[0]}"]
    assert "api-key" not in azure.log[0][0].headers
    (token_request,) = identity.requests
    assert token_request["headers"]["X-Identity-Header"] == cfg.identity_secret
    assert token_request["args"]["resource"] == SCOPE_RESOURCE
    assert token_request["args"]["api-version"] == "2019-08-01"


async def test_user_assigned_identity_sends_its_client_id(
    azure, managed_identity, monkeypatch, cfg, provider, progress, png, response_body
):
    monkeypatch.setenv("AZURE_OPENAI_CREDENTIAL", "managed_identity")
    monkeypatch.setenv("AZURE_CLIENT_ID", "11111111-2222-3333-4444-555555555555")
    identity = managed_identity()
    azure.expect_request(generations(cfg), method="POST").respond_with_json(response_body(png()))

    await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)

    assert identity.requests[0]["args"]["client_id"] == "11111111-2222-3333-4444-555555555555"
    assert bearer_tokens(azure) == [f"Bearer {identity.issued[0]}"]


async def test_a_valid_token_is_reused(azure, managed_identity, cfg, provider, progress, png, response_body):
    identity = managed_identity(lifetime=3600)
    azure.expect_request(generations(cfg), method="POST").respond_with_json(response_body(png()))

    for _ in range(3):
        await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)

    assert len(identity.requests) == 1
    assert bearer_tokens(azure) == [f"Bearer {identity.issued[0]}"] * 3


async def test_a_token_close_to_expiry_is_refreshed(
    azure, managed_identity, cfg, provider, progress, png, response_body
):
    identity = managed_identity(lifetime=60)  # inside the 5-minute refresh margin: stale on the next call
    azure.expect_request(generations(cfg), method="POST").respond_with_json(response_body(png()))

    await provider.generate(GenerateRequest(model="gpt-image-2", prompt="first"), progress)
    await provider.generate(GenerateRequest(model="gpt-image-2", prompt="second"), progress)

    assert len(identity.issued) == 2
    assert identity.issued[0] != identity.issued[1]
    assert bearer_tokens(azure) == [f"Bearer {identity.issued[0]}", f"Bearer {identity.issued[1]}"]


async def test_v1_route_with_managed_identity(
    azure, managed_identity, monkeypatch, cfg, provider, progress, png, response_body
):
    monkeypatch.setenv("AZURE_OPENAI_ROUTE", "v1")
    identity = managed_identity()
    azure.expect_request("/openai/v1/images/generations", method="POST").respond_with_json(response_body(png()))

    await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)

    assert bearer_tokens(azure) == [f"Bearer {identity.issued[0]}"]
    assert azure.log[0][0].get_json()["model"] == cfg.deployment


async def test_auto_prefers_the_key_and_entra_can_be_forced(
    azure, managed_identity, monkeypatch, cfg, progress, png, response_body
):
    from gpt_image_mcp_azure import AzureOpenAIProvider

    identity = managed_identity()
    azure.expect_request(generations(cfg), method="POST").respond_with_json(response_body(png()))
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", cfg.api_key)

    await AzureOpenAIProvider().generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)
    assert azure.log[-1][0].headers["api-key"] == cfg.api_key
    assert identity.requests == []

    monkeypatch.setenv("AZURE_OPENAI_AUTH", "entra")
    await AzureOpenAIProvider().generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)
    assert azure.log[-1][0].headers["Authorization"] == f"Bearer {identity.issued[0]}"
    assert "api-key" not in azure.log[-1][0].headers


@pytest.fixture
def no_identity(monkeypatch, tmp_path, httpserver) -> HTTPServer:
    """A machine with no identity at all: IMDS (a local fake) says none is assigned, no CLI is on PATH."""
    imds = HTTPServer(host="127.0.0.1", port=0)
    imds.start()
    imds.expect_request("/metadata/identity/oauth2/token").respond_with_json(
        {"error": "invalid_request", "error_description": "Identity not found"}, status=400
    )
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", imds.url_for("/").rstrip("/"))
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    yield imds
    imds.clear()
    imds.stop()


async def test_no_identity_is_a_clear_error_before_any_azure_call(azure, no_identity, provider, progress):
    with pytest.raises(ConfigurationError) as info:
        await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)

    message = info.value.message
    assert "no Entra ID credential is available" in message
    for tried in ("EnvironmentCredential", "ManagedIdentityCredential", "AzureCliCredential"):
        assert tried in message
    for fix in ("AZURE_OPENAI_API_KEY", "az login", "AZURE_CLIENT_ID", "Cognitive Services OpenAI User"):
        assert fix in message
    assert "https://" not in message  # troubleshooting links are dropped; the fix is spelled out
    assert azure.log == []
    assert len(no_identity.log) >= 1


async def test_no_identity_fails_validation_with_the_same_details(azure, no_identity, provider):
    report = await provider.validate()

    assert report.ok is False
    names = [check.name for check in report.checks]
    assert names == ["configuration", "identity"]
    assert "ManagedIdentityCredential" in report.checks[1].detail
    assert "AZURE_OPENAI_API_KEY" in report.checks[1].detail
    assert azure.log == []


async def test_identity_endpoint_refusing_the_header_is_reported_with_what_was_tried(
    azure, managed_identity, monkeypatch, provider, progress
):
    identity = managed_identity()
    monkeypatch.setenv("IDENTITY_HEADER", "the-wrong-secret")
    monkeypatch.setenv("AZURE_OPENAI_CREDENTIAL", "managed_identity")

    with pytest.raises(ConfigurationError) as info:
        await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)

    message = info.value.message
    assert "(ManagedIdentityCredential)" in message
    assert "App Service managed identity" in message
    assert "the-wrong-secret" not in message
    assert identity.requests and identity.issued == []
    assert azure.log == []
