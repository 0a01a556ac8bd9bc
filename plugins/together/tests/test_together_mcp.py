"""The Together provider through core's MCP server, in-memory, in both protocol eras."""

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
SCHNELL = "black-forest-labs/FLUX.1-schnell"


def service() -> ImageService:
    created = ImageService.create(load_settings(provider="together"))
    assert created.default_provider == "together"
    return created


@pytest.mark.parametrize("mode", MODES)
async def test_image_generate_maps_the_call(together, images, response_body, mode) -> None:
    picture = images.jpeg((80, 60))
    together.expect_request("/v1/images/generations", method="POST").respond_with_json(response_body(picture))

    async with Client(build_server(service()), mode=mode) as client:
        result = await client.call_tool(
            "image_generate", {"prompt": "a red barn", "size": "1280x720", "seed": 7, "output_format": "jpeg"}
        )

    assert not result.is_error, result.content
    assert together.log[0][0].get_json() == {
        "model": SCHNELL,
        "prompt": "a red barn",
        "n": 1,
        "response_format": "base64",
        "output_format": "jpeg",
        "width": 1280,
        "height": 720,
        "seed": 7,
    }
    (image,) = [block for block in result.content if isinstance(block, ImageContent)]
    assert (image.mime_type, base64.b64decode(image.data)) == ("image/jpeg", picture)
    assert (result.structured_content["provider"], result.structured_content["model"]) == ("together", SCHNELL)


@pytest.mark.parametrize("mode", MODES)
async def test_provider_validate(together, mode) -> None:
    together.expect_request("/v1/models", method="GET").respond_with_json([{"id": SCHNELL, "type": "image"}])

    async with Client(build_server(service()), mode=mode) as client:
        result = await client.call_tool("provider_validate", {})

    assert not result.is_error, result.content
    assert (result.structured_content["provider"], result.structured_content["ok"]) == ("together", True)


@pytest.mark.parametrize("mode", MODES)
async def test_edits_and_invalid_sizes_fail_before_the_network(together, images, mode) -> None:
    source = base64.b64encode(images.png()).decode()
    async with Client(build_server(service()), mode=mode) as client:
        edit = await client.call_tool("image_edit", {"prompt": "p", "image": source})
        size = await client.call_tool("image_generate", {"prompt": "p", "size": "1000x1000"})
        other = await client.call_tool("image_generate", {"prompt": "p", "model": "gpt-image-2"})

    assert edit.structured_content["error"]["code"] == "unsupported_operation"
    assert "does not support edit" in edit.structured_content["error"]["message"]
    assert "nearest valid size is 1008x1008" in size.structured_content["error"]["message"]
    assert "not served by provider together" in other.structured_content["error"]["message"]
    assert together.log == []


async def test_extra_options_reach_together_through_the_service(together, images, response_body) -> None:
    together.expect_request("/v1/images/generations").respond_with_json(response_body(images.png()))
    created = service()
    try:
        outcome = await created.generate(
            prompt="p", model="black-forest-labs/FLUX.1-dev", extra={"steps": 28, "negative_prompt": "text"}
        )
    finally:
        await created.aclose()

    body = together.log[0][0].get_json()
    assert (body["model"], body["steps"], body["negative_prompt"]) == ("black-forest-labs/FLUX.1-dev", 28, "text")
    assert outcome.result.provider == "together"


async def test_provider_list_shows_the_flux_models(together) -> None:
    async with Client(build_server(service()), mode="auto") as client:
        result = await client.call_tool("provider_list", {})

    (provider,) = result.structured_content["providers"]
    assert provider["operations"] == ["generate"]
    assert provider["default_model"] == SCHNELL
    names = [model["name"] for model in provider["models"]]
    assert names == [SCHNELL, "black-forest-labs/FLUX.1-dev", "black-forest-labs/FLUX.1.1-pro"]
    assert provider["models"][0]["size_rules"] == "edges multiples of 16, max edge 1792"
