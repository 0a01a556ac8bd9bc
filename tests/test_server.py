"""The MCP surface through the SDK's in-memory client, in both protocol eras."""

from __future__ import annotations

import io

import pytest
from mcp import Client
from mcp_types import ImageContent, TextContent
from PIL import Image

from tests.helpers import b64, decode_image, png_bytes

pytestmark = pytest.mark.anyio
MODES = ["auto", "legacy"]
TOOLS = {"image_generate", "image_edit", "image_variation", "provider_list", "provider_validate"}


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


async def test_exactly_five_tools_with_schemas(offline_server, mode: str) -> None:
    async with Client(offline_server, mode=mode) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    generate = tools["image_generate"]
    assert generate.input_schema["required"] == ["prompt"]
    properties = generate.input_schema["properties"]
    for name in (
        "prompt",
        "model",
        "n",
        "size",
        "quality",
        "background",
        "output_format",
        "output_compression",
        "moderation",
        "save_to_workspace",
        "response_format",
        "provider",
    ):
        assert name in properties and properties[name].get("description"), name
    assert set(tools["image_edit"].input_schema["properties"]) >= {"image", "images", "mask", "input_fidelity"}
    for name in TOOLS:
        assert tools[name].output_schema is not None, name
        assert tools[name].description
    assert generate.output_schema["properties"]["images"]
    assert generate.annotations is not None and generate.annotations.read_only_hint is False
    assert tools["provider_list"].annotations.read_only_hint is True


async def test_generate_returns_decodable_images_of_the_requested_size_and_count(offline_server, mode: str) -> None:
    async with Client(offline_server, mode=mode) as client:
        result = await client.call_tool("image_generate", {"prompt": "a red fox", "size": "1536×1024", "n": 3})
    assert not result.is_error
    text, *images = result.content
    assert isinstance(text, TextContent) and "Generated 3 images with offline / gpt-image-2" in text.text
    assert "offline placeholder" in text.text
    assert len(images) == 3
    for block in images:
        assert isinstance(block, ImageContent) and block.mime_type == "image/png"
        assert decode_image(block.data).size == (1536, 1024)
    structured = result.structured_content
    assert structured["ok"] is True and structured["provider"] == "offline" and structured["model"] == "gpt-image-2"
    assert [(i["width"], i["height"], i["inline"]) for i in structured["images"]] == [(1536, 1024, True)] * 3
    assert structured["prompt"] == "a red fox"


async def test_default_is_a_1024_square_png(offline_server, mode: str) -> None:
    async with Client(offline_server, mode=mode) as client:
        result = await client.call_tool("image_generate", {"prompt": "a lighthouse"})
    image = decode_image(result.content[1].data)
    assert image.size == (1024, 1024) and image.format == "PNG"


@pytest.mark.parametrize(
    ("arguments", "rule"),
    [
        ({"size": "1920x1080"}, "height 1080 must be a multiple of 16; the nearest valid size is 1920x1088"),
        ({"size": "3856x1296"}, "each edge must be at most 3840 px"),
        ({"size": "banana"}, "write it as WIDTHxHEIGHT"),
        ({"n": 0}, "n must be between 1 and 10 (got 0)"),
        ({"n": 11}, "n must be between 1 and 10 (got 11)"),
        ({"prompt": " "}, "prompt is empty"),
        ({"prompt": "x" * 32001}, "the maximum is 32,000"),
        ({"model": "dall-e-3"}, "dall-e-3 was shut down"),
        ({"model": "no-such-model"}, "unknown model 'no-such-model'"),
        ({"provider": "nope"}, "provider 'nope' is not enabled"),
        ({"quality": "ultra"}, "use one of auto, low, medium, high"),
        ({"sinks": ["nowhere"]}, "output sink 'nowhere' is not available"),
    ],
)
async def test_invalid_arguments_are_tool_errors_naming_the_rule(offline_server, mode: str, arguments, rule) -> None:
    async with Client(offline_server, mode=mode) as client:
        result = await client.call_tool("image_generate", {"prompt": "a fox"} | arguments)
    assert result.is_error
    assert rule in result.content[0].text
    error = result.structured_content["error"]
    assert error["code"] in {"invalid_request", "unsupported_operation"} and error["retryable"] is False
    assert result.structured_content["ok"] is False


@pytest.mark.parametrize("field", ["model", "size", "provider", "quality"])
async def test_a_huge_argument_is_not_echoed_back_whole(offline_server, mode: str, field: str) -> None:
    async with Client(offline_server, mode=mode) as client:
        result = await client.call_tool("image_generate", {"prompt": "a fox", field: "x" * 500_000})
    assert result.is_error
    assert "500,000 characters" in result.content[0].text
    assert len(result.model_dump_json()) < 3000


async def test_wrong_argument_types_are_tool_errors(offline_server, mode: str) -> None:
    async with Client(offline_server, mode=mode) as client:
        result = await client.call_tool("image_generate", {"prompt": "a fox", "n": "many"})
        missing = await client.call_tool("image_generate", {})
    assert result.is_error and "n" in result.content[0].text
    assert missing.is_error and "prompt" in missing.content[0].text


async def test_json_response_format_is_the_structured_content(offline_server, mode: str) -> None:
    import json

    async with Client(offline_server, mode=mode) as client:
        result = await client.call_tool("image_generate", {"prompt": "a fox", "response_format": "json"})
    assert json.loads(result.content[0].text) == result.structured_content


def _mask(size: tuple[int, int]) -> str:
    mask = Image.new("RGBA", size, (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, size[0] // 2, size[1]))
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    return b64(buffer.getvalue())


async def test_edit_with_images_and_mask(offline_server, mode: str) -> None:
    source = b64(png_bytes((1024, 1024)))
    async with Client(offline_server, mode=mode) as client:
        result = await client.call_tool(
            "image_edit",
            {
                "prompt": "add a hat",
                "image": f"data:image/png;base64,{source}",
                "images": [source] * 2,
                "mask": _mask((1024, 1024)),
            },
        )
    assert not result.is_error, result.content[0].text
    assert decode_image(result.content[1].data).size == (1024, 1024)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"image": "not base64!!"}, "image: not valid base64"),
        ({"image": b64(b"hello world")}, "image: the bytes are not a readable image"),
        ({"image": "https://example.com/cat.png"}, "remote URLs are not accepted"),
        ({"images": [b64(png_bytes())] * 17}, "at most 16 input images"),
        ({"image": b64(png_bytes((64, 64))), "mask": _mask((32, 32))}, "mask is 32x32 but the first image is 64x64"),
        ({}, "give at least one input image"),
    ],
)
async def test_edit_input_errors(offline_server, mode: str, arguments, message: str) -> None:
    async with Client(offline_server, mode=mode) as client:
        result = await client.call_tool("image_edit", {"prompt": "hat"} | arguments)
    assert result.is_error and message in result.content[0].text


async def test_variation_on_offline(offline_server, mode: str) -> None:
    async with Client(offline_server, mode=mode) as client:
        result = await client.call_tool("image_variation", {"image": b64(png_bytes((256, 256))), "n": 2})
    assert not result.is_error
    assert [decode_image(block.data).size for block in result.content[1:]] == [(256, 256), (256, 256)]


async def test_provider_list_and_validate(offline_server, mode: str) -> None:
    async with Client(offline_server, mode=mode) as client:
        listing = (await client.call_tool("provider_list", {})).structured_content
        valid = await client.call_tool("provider_validate", {})
        unknown = await client.call_tool("provider_validate", {"provider": "nope"})
    assert listing["default_provider"] == "offline"
    offline = listing["providers"][0]
    models = {model["name"]: model for model in offline["models"]}
    assert "gpt-image-2" in models and "dall-e-3" not in models
    assert models["gpt-image-2"]["size_rules"].startswith("edges multiples of 16")
    assert valid.structured_content["ok"] is True and valid.structured_content["provider"] == "offline"
    assert unknown.is_error and "provider 'nope' is not enabled" in unknown.content[0].text


async def test_the_first_image_call_moves_what_it_loaded_out_of_the_collectors_way(offline_server, monkeypatch) -> None:
    import gc

    from gpt_image_mcp import server as server_module

    freezes: list[int] = []
    monkeypatch.setattr(server_module, "_first_call_done", False)
    monkeypatch.setattr(server_module.gc, "freeze", lambda: freezes.append(gc.get_count()[0]))
    async with Client(offline_server) as client:
        monkeypatch.setattr(server_module, "_calls_in_flight", 1)  # another call under way: not now
        assert not (await client.call_tool("image_generate", {"prompt": "a fox", "size": "1024x1024"})).is_error
        assert freezes == []
        monkeypatch.setattr(server_module, "_calls_in_flight", 0)
        for _ in range(2):
            assert not (await client.call_tool("image_generate", {"prompt": "a fox", "size": "1024x1024"})).is_error
            assert len(freezes) == 1  # after the first call alone, once only
