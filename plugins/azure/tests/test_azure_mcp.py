"""The Azure provider through core's MCP server, in-memory, in both protocol eras."""

from __future__ import annotations

import base64

import pytest
from gpt_image_mcp.server import build_server
from gpt_image_mcp.service import ImageService
from gpt_image_mcp.settings import load_settings
from mcp import Client
from mcp_types import ImageContent

pytestmark = pytest.mark.anyio

MODES = ["auto", "legacy"]


def server():
    service = ImageService.create(load_settings(provider="azure"))
    assert service.default_provider == "azure"
    return build_server(service)


@pytest.mark.parametrize("mode", MODES)
async def test_image_generate_with_managed_identity(azure, managed_identity, cfg, png, response_body, mode) -> None:
    identity = managed_identity()
    picture = png((64, 48), (20, 90, 200))
    azure.expect_request(
        f"/openai/deployments/{cfg.deployment}/images/generations",
        method="POST",
        query_string={"api-version": cfg.api_version},
    ).respond_with_json(response_body(picture))

    async with Client(server(), mode=mode) as client:
        result = await client.call_tool("image_generate", {"prompt": "a blue kite", "size": "1024x1536"})

    assert not result.is_error, result.content
    assert azure.log[0][0].headers["Authorization"] == f"Bearer {identity.issued[0]}"
    assert azure.log[0][0].get_json() == {"model": cfg.deployment, "prompt": "a blue kite", "n": 1, "size": "1024x1536"}
    (image,) = [block for block in result.content if isinstance(block, ImageContent)]
    assert base64.b64decode(image.data) == picture
    assert (result.structured_content["provider"], result.structured_content["model"]) == ("azure", "gpt-image-2")


@pytest.mark.parametrize("mode", MODES)
async def test_provider_validate_with_the_key(azure_key, cfg, mode) -> None:
    azure_key.expect_request(
        "/openai/models", method="GET", query_string={"api-version": cfg.api_version}
    ).respond_with_json({"object": "list", "data": []})

    async with Client(server(), mode=mode) as client:
        result = await client.call_tool("provider_validate", {})

    assert not result.is_error, result.content
    assert result.structured_content["provider"] == "azure"
    assert result.structured_content["ok"] is True
    assert cfg.api_key not in str(result.model_dump())


@pytest.mark.parametrize("mode", MODES)
async def test_content_filter_refusal_is_a_tool_error(azure_key, cfg, mode) -> None:
    body = {
        "error": {
            "code": "content_policy_violation",
            "message": "Your request was rejected as a result of our safety system.",
            "inner_error": {
                "code": "ResponsibleAIPolicyViolation",
                "content_filter_results": {"violence": {"filtered": True, "severity": "high"}},
            },
        }
    }
    azure_key.expect_request(f"/openai/deployments/{cfg.deployment}/images/generations").respond_with_json(
        body, status=400
    )

    async with Client(server(), mode=mode) as client:
        result = await client.call_tool("image_generate", {"prompt": "p"})

    assert result.is_error
    error = result.structured_content["error"]
    assert (error["code"], error["retryable"], error["provider"]) == ("refused", False, "azure")
    assert "violence (high)" in error["message"]
    assert len(azure_key.log) == 1


async def test_variation_and_other_models_fail_before_the_network(azure_key, png) -> None:
    async with Client(server(), mode="auto") as client:
        variation = await client.call_tool("image_variation", {"image": base64.b64encode(png()).decode()})
        other_model = await client.call_tool("image_generate", {"prompt": "p", "model": "gpt-image-1.5"})
        webp = await client.call_tool("image_generate", {"prompt": "p", "output_format": "webp"})
        listing = await client.call_tool("provider_list", {})

    assert variation.structured_content["error"]["code"] == "unsupported_operation"
    assert "not served by provider azure" in other_model.structured_content["error"]["message"]
    assert "output_format 'webp'" in webp.structured_content["error"]["message"]
    assert azure_key.log == []
    (provider,) = listing.structured_content["providers"]
    assert provider["operations"] == ["edit", "generate"]
    assert [model["name"] for model in provider["models"]] == ["gpt-image-2"]
    assert provider["models"][0]["output_formats"] == ["png", "jpeg"]
