"""The custom provider through core's MCP server, in-memory, in both protocol eras."""

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
    service = ImageService.create(load_settings(provider="custom"))
    assert service.default_provider == "custom"
    return build_server(service)


@pytest.fixture
def configured(custom, monkeypatch):
    monkeypatch.setenv("CUSTOM_OPENAI_MODELS", "flux-dev,sdxl-turbo")
    monkeypatch.setenv("CUSTOM_OPENAI_SIZE_STYLE", "width_height")
    return custom


@pytest.mark.parametrize("mode", MODES)
async def test_image_generate(configured, images, response_body, mode) -> None:
    picture = images.png((72, 40), (30, 160, 60))
    configured.expect_request("/v1/images/generations", method="POST").respond_with_json(response_body(picture))

    async with Client(server(), mode=mode) as client:
        result = await client.call_tool("image_generate", {"prompt": "a meadow", "size": "1280x720", "n": 1})

    assert not result.is_error, result.content
    assert configured.log[0][0].get_json() == {
        "model": "flux-dev",
        "prompt": "a meadow",
        "n": 1,
        "response_format": "b64_json",
        "width": 1280,
        "height": 720,
    }
    (image,) = [block for block in result.content if isinstance(block, ImageContent)]
    assert base64.b64decode(image.data) == picture
    assert (result.structured_content["provider"], result.structured_content["model"]) == ("custom", "flux-dev")


@pytest.mark.parametrize("mode", MODES)
async def test_provider_validate(configured, mode) -> None:
    configured.expect_request("/v1/models", method="GET").respond_with_json({"data": [{"id": "flux-dev"}]})

    async with Client(server(), mode=mode) as client:
        result = await client.call_tool("provider_validate", {})

    assert not result.is_error, result.content
    assert (result.structured_content["provider"], result.structured_content["ok"]) == ("custom", True)


@pytest.mark.parametrize("mode", MODES)
async def test_url_answer_refused_by_default_is_a_tool_error(configured, mode) -> None:
    configured.expect_request("/v1/images/generations").respond_with_json(
        {"created": 1, "data": [{"url": configured.url_for("/files/x.png")}]}
    )

    async with Client(server(), mode=mode) as client:
        result = await client.call_tool("image_generate", {"prompt": "p"})

    assert result.is_error
    error = result.structured_content["error"]
    assert (error["code"], error["provider"]) == ("bad_upstream_response", "custom")
    assert "CUSTOM_OPENAI_FETCH_URLS=true" in error["message"]


async def test_edits_disabled_fail_before_the_network(configured, monkeypatch, images) -> None:
    monkeypatch.setenv("CUSTOM_OPENAI_SUPPORTS_EDITS", "false")

    async with Client(server(), mode="auto") as client:
        edit = await client.call_tool("image_edit", {"prompt": "p", "image": images.b64(images.png())})
        listing = await client.call_tool("provider_list", {})

    assert edit.structured_content["error"]["code"] == "unsupported_operation"
    assert configured.log == []
    (provider,) = listing.structured_content["providers"]
    assert provider["operations"] == ["generate"]
    assert [(m["name"], m["operations"]) for m in provider["models"]] == [
        ("flux-dev", ["generate"]),
        ("sdxl-turbo", ["generate"]),
    ]


async def test_unknown_model_passes_with_generic_checks(configured, images, response_body) -> None:
    configured.expect_request("/v1/images/generations").respond_with_json(response_body(images.png()))

    async with Client(server(), mode="auto") as client:
        result = await client.call_tool("image_generate", {"prompt": "p", "model": "brand-new-model"})

    assert not result.is_error, result.content
    assert configured.log[0][0].get_json()["model"] == "brand-new-model"
    assert any("generic checks" in note for note in result.structured_content["notes"])
