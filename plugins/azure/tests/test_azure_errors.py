"""Azure failures become core errors that say what to do: content filters, keys, roles, deployments."""

from __future__ import annotations

import pytest
from gpt_image_mcp.errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RefusedError,
)
from gpt_image_mcp.types import GenerateRequest

pytestmark = pytest.mark.anyio


def generations(cfg) -> str:
    return f"/openai/deployments/{cfg.deployment}/images/generations"


def content_filter_body(**categories: dict) -> dict:
    results = {
        "hate": {"filtered": False, "severity": "safe"},
        "self_harm": {"filtered": False, "severity": "safe"},
        "sexual": {"filtered": False, "severity": "safe"},
        "violence": {"filtered": False, "severity": "safe"},
    } | categories
    return {
        "error": {
            "code": "content_policy_violation",
            "inner_error": {
                "code": "ResponsibleAIPolicyViolation",
                "content_filter_results": results,
                "revised_prompt": None,
            },
            "message": "Your request was rejected as a result of our safety system. Your prompt may contain text "
            "that is not allowed by our safety system.",
            "type": "invalid_request_error",
        }
    }


async def test_content_filter_is_a_refusal_naming_the_categories(azure_key, cfg, provider, progress):
    body = content_filter_body(
        violence={"filtered": True, "severity": "medium"}, hate={"filtered": True, "severity": "high"}
    )
    azure_key.expect_request(generations(cfg)).respond_with_json(body, status=400)

    with pytest.raises(RefusedError) as info:
        await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)

    message = info.value.message
    assert "content filter blocked this request in the categories hate (high), violence (medium)" in message
    assert "content_policy_violation" in message
    assert "sexual" not in message
    assert (info.value.http_status, info.value.provider, info.value.retryable) == (400, "azure", False)
    assert len(azure_key.log) == 1  # never retried


async def test_inner_error_code_alone_is_a_refusal(azure_key, cfg, provider, progress):
    body = {
        "error": {
            "code": "invalid_request",
            "message": "blocked",
            "inner_error": {
                "code": "ResponsibleAIPolicyViolation",
                "content_filter_results": {"jailbreak": {"filtered": True, "detected": True}},
            },
        }
    }
    azure_key.expect_request(generations(cfg)).respond_with_json(body, status=400)

    with pytest.raises(RefusedError, match=r"in the categories jailbreak \(ResponsibleAIPolicyViolation"):
        await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)


async def test_generated_image_filtered_is_a_refusal(azure_key, cfg, provider, progress):
    body = {"error": {"code": "contentFilter", "message": "Generated image was filtered as a result of our safety"}}
    azure_key.expect_request(generations(cfg)).respond_with_json(body, status=400)

    with pytest.raises(RefusedError, match="contentFilter"):
        await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)


async def test_401_with_a_key_names_the_key_and_masks_it(azure_key, cfg, provider, progress):
    body = {"error": {"code": "401", "message": f"Access denied due to invalid subscription key {cfg.api_key}."}}
    azure_key.expect_request(generations(cfg)).respond_with_json(body, status=401)

    with pytest.raises(AuthenticationError) as info:
        await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)

    assert "Check AZURE_OPENAI_API_KEY" in info.value.message
    assert cfg.api_key not in info.value.message


async def test_401_with_an_identity_names_the_identity(azure, managed_identity, cfg, provider, progress):
    managed_identity()
    body = {"error": {"code": "PermissionDenied", "message": "Token is invalid for this tenant."}}
    azure.expect_request(generations(cfg)).respond_with_json(body, status=401)

    with pytest.raises(AuthenticationError) as info:
        await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)

    assert "Entra ID token from DefaultAzureCredential was refused" in info.value.message
    assert "AZURE_CLIENT_ID" in info.value.message
    assert "entra-token-" not in info.value.message


async def test_403_names_the_role_and_limited_access(azure, managed_identity, cfg, provider, progress):
    managed_identity()
    body = {
        "error": {
            "code": "PermissionDenied",
            "message": "The principal lacks the required data action Microsoft.CognitiveServices/accounts/OpenAI/"
            "deployments/images/generations/action.",
        }
    }
    azure.expect_request(generations(cfg)).respond_with_json(body, status=403)

    with pytest.raises(PermissionDeniedError) as info:
        await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)

    message = info.value.message
    assert "'Cognitive Services OpenAI User'" in message
    assert "limited-access" in message
    assert f"deployment {cfg.deployment}" in message


async def test_404_names_the_deployment_and_api_version(azure_key, cfg, provider, progress):
    body = {"error": {"code": "DeploymentNotFound", "message": "The API deployment for this resource does not exist."}}
    azure_key.expect_request(generations(cfg)).respond_with_json(body, status=404)

    with pytest.raises(NotFoundError) as info:
        await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)

    assert "AZURE_OPENAI_DEPLOYMENT" in info.value.message
    assert f"AZURE_OPENAI_API_VERSION={cfg.api_version}" in info.value.message


async def test_unknown_model_on_v1_suggests_the_deployment_route(azure_key, monkeypatch, cfg, provider, progress):
    monkeypatch.setenv("AZURE_OPENAI_ROUTE", "v1")
    body = {"error": {"code": "unknown_model", "message": f"Unknown model: {cfg.deployment}"}}
    azure_key.expect_request("/openai/v1/images/generations").respond_with_json(body, status=400)

    with pytest.raises(NotFoundError, match="AZURE_OPENAI_ROUTE=deployment"):
        await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)


async def test_unsupported_api_version(azure_key, monkeypatch, cfg, provider, progress):
    monkeypatch.setenv("AZURE_OPENAI_API_VERSION", "2023-05-15")
    body = {"error": {"code": "BadRequest", "message": "API version not supported"}}
    azure_key.expect_request(generations(cfg)).respond_with_json(body, status=400)

    with pytest.raises(InvalidRequestError, match="Set AZURE_OPENAI_API_VERSION"):
        await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)


async def test_429_is_retried_with_retry_after(azure_key, cfg, provider, progress, png, response_body):
    body = {"error": {"code": "429", "message": "Requests to the Images_Generations Operation have exceeded"}}
    azure_key.expect_ordered_request(generations(cfg)).respond_with_json(
        body, status=429, headers={"retry-after-ms": "1500"}
    )
    azure_key.expect_ordered_request(generations(cfg)).respond_with_json(response_body(png()))

    result = await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)

    assert result.images
    assert provider._sleep.waits == [1.5]
    assert any("retry 1 of 3" in stage for stage in progress.stages)


async def test_429_exhausted_is_rate_limited(azure_key, monkeypatch, cfg, provider, progress):
    monkeypatch.setenv("MAX_RETRIES", "0")
    azure_key.expect_request(generations(cfg)).respond_with_json({"error": {"message": "busy"}}, status=429)

    with pytest.raises(RateLimitedError):
        await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)
