"""The OpenAI provider through the real MCP server, in-memory, in both protocol eras."""

from __future__ import annotations

import base64
import io

import pytest
from gpt_image_mcp.server import build_server
from gpt_image_mcp.service import ImageService
from gpt_image_mcp.settings import load_settings
from mcp import Client
from mcp_types import ImageContent, TextContent
from PIL import Image

pytestmark = pytest.mark.anyio

MODES = ["auto", "legacy"]


def server():
    service = ImageService.create(load_settings(provider="openai"))
    assert service.default_provider == "openai"
    return build_server(service)


@pytest.mark.parametrize("mode", MODES)
async def test_image_generate_returns_the_upstream_image_and_usage(
    openai_env, response_body, images, usage_body, mode
) -> None:
    picture = images.png((96, 64), (10, 200, 90))
    openai_env.expect_request("/v1/images/generations").respond_with_json(
        response_body(picture, usage=usage_body), headers={"x-request-id": "req_mcp"}
    )

    async with Client(server(), mode=mode) as client:
        result = await client.call_tool("image_generate", {"prompt": "a green field", "size": "1536x1024"})

    assert not result.is_error
    assert openai_env.log[0][0].get_json() == {
        "model": "gpt-image-2",
        "prompt": "a green field",
        "n": 1,
        "size": "1536x1024",
    }
    (image_block,) = [block for block in result.content if isinstance(block, ImageContent)]
    assert image_block.mime_type == "image/png"
    assert base64.b64decode(image_block.data) == picture
    with Image.open(io.BytesIO(base64.b64decode(image_block.data))) as decoded:
        assert decoded.size == (96, 64)
    structured = result.structured_content
    assert structured["ok"] is True
    assert (structured["provider"], structured["model"], structured["request_id"]) == (
        "openai",
        "gpt-image-2",
        "req_mcp",
    )
    assert structured["usage"]["input_tokens"] == 50
    assert structured["usage"]["output_image_tokens"] == 4160
    assert structured["images"][0]["width"] == 96
    text = next(block.text for block in result.content if isinstance(block, TextContent))
    assert "Request id: req_mcp" in text


@pytest.mark.parametrize("mode", MODES)
async def test_authentication_failure_is_a_tool_error(openai_env, api_key, mode) -> None:
    body = {"error": {"message": f"Incorrect API key provided: {api_key}.", "code": "invalid_api_key"}}
    openai_env.expect_request("/v1/images/generations").respond_with_json(body, status=401)

    async with Client(server(), mode=mode) as client:
        result = await client.call_tool("image_generate", {"prompt": "a green field"})

    assert result.is_error
    error = result.structured_content["error"]
    assert error["code"] == "authentication"
    assert (error["provider"], error["model"], error["http_status"], error["retryable"]) == (
        "openai",
        "gpt-image-2",
        401,
        False,
    )
    assert "OPENAI_API_KEY" in error["message"]
    assert api_key not in str(result.model_dump())
    assert len(openai_env.log) == 1


@pytest.mark.parametrize("mode", MODES)
async def test_edit_through_the_server(openai_env, response_body, images, mode) -> None:
    openai_env.expect_request("/v1/images/edits").respond_with_json(response_body(images.png((32, 32))))
    source = images.png((32, 32))

    async with Client(server(), mode=mode) as client:
        result = await client.call_tool(
            "image_edit",
            {
                "prompt": "add a moon",
                "images": [images.b64(source), "data:image/jpeg;base64," + images.b64(images.jpeg())],
            },
        )

    assert not result.is_error, result.content
    parts = openai_env.log[0][0].files.getlist("image[]")
    assert [(p.filename, p.mimetype) for p in parts] == [("images_0.png", "image/png"), ("images_1.jpg", "image/jpeg")]


@pytest.mark.parametrize("mode", MODES)
async def test_variation_is_refused_before_any_network_call(openai_env, images, mode) -> None:
    async with Client(server(), mode=mode) as client:
        result = await client.call_tool("image_variation", {"image": images.b64(images.png())})

    assert result.is_error
    assert result.structured_content["error"]["code"] == "unsupported_operation"
    assert openai_env.log == []


@pytest.mark.parametrize("mode", MODES)
async def test_retry_progress_reaches_the_client(openai_env, response_body, images, mode) -> None:
    openai_env.expect_ordered_request("/v1/images/generations").respond_with_json(
        {"error": {"message": "slow down", "code": "rate_limit_exceeded"}}, status=429, headers={"Retry-After": "0"}
    )
    openai_env.expect_ordered_request("/v1/images/generations").respond_with_json(response_body(images.png()))
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    async with Client(server(), mode=mode) as client:
        result = await client.call_tool("image_generate", {"prompt": "p"}, progress_callback=on_progress)

    assert not result.is_error
    assert any("retry 1 of 3" in message for message in messages), messages


async def test_provider_list_shows_openai_models(openai_env) -> None:
    async with Client(server(), mode="auto") as client:
        result = await client.call_tool("provider_list", {})

    (provider,) = result.structured_content["providers"]
    assert provider["name"] == "openai"
    assert provider["configured"] is True
    assert provider["operations"] == ["edit", "generate"]
    names = [model["name"] for model in provider["models"]]
    assert {"gpt-image-2", "gpt-image-2.5-flare", "gpt-image-1.5", "gpt-image-1-mini"} <= set(names)
    assert "dall-e-2" not in names


@pytest.mark.parametrize("mode", MODES)
async def test_partial_images_are_announced_as_resources_while_streaming(openai_env, images, mode) -> None:
    import json

    def event(kind: str, **data: object) -> str:
        return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n"

    body = "".join(
        event("image_generation.partial_image", b64_json=images.b64(images.png((8 + 8 * i, 8))), partial_image_index=i)
        for i in range(2)
    ) + event("image_generation.completed", b64_json=images.b64(images.png((64, 64))))
    openai_env.expect_request("/v1/images/generations").respond_with_data(body, content_type="text/event-stream")
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    async with Client(server(), mode=mode) as client:
        result = await client.call_tool(
            "image_generate", {"prompt": "fox", "partial_images": 2}, progress_callback=on_progress
        )
        announced = [m.split(": ")[1].split(" ")[0] for m in messages if m.startswith("partial image")]
        assert len(announced) == 2 and all(uri.startswith("image://") for uri in announced)
        partial = await client.read_resource(announced[1])
    assert not result.is_error, result.content[0].text
    sent = openai_env.log[0][0].get_json()
    assert (sent["stream"], sent["partial_images"]) == (True, 2)
    assert result.structured_content["images"][0]["width"] == 64
    with Image.open(io.BytesIO(base64.b64decode(partial.contents[0].blob))) as decoded:
        assert decoded.size == (16, 8)


@pytest.mark.parametrize("mode", MODES)
async def test_fallback_to_a_healthy_provider_is_reported(openai_env, monkeypatch, mode) -> None:
    monkeypatch.setenv("MAX_RETRIES", "0")
    openai_env.expect_request("/v1/images/generations").respond_with_json(
        {"error": {"message": "The server is overloaded.", "type": "server_error", "code": None, "param": None}},
        status=503,
    )
    service = ImageService.create(load_settings(provider="openai", fallback_providers="offline"))
    async with Client(build_server(service), mode=mode) as client:
        result = await client.call_tool("image_generate", {"prompt": "a lighthouse"})
    assert not result.is_error, result.content[0].text
    structured = result.structured_content
    assert (structured["provider"], structured["model"]) == ("offline", "gpt-image-2")
    assert any(
        note.startswith("fell back from openai failed with upstream_unavailable") for note in structured["notes"]
    )
    assert "fell back from openai" in result.content[0].text
    assert len(openai_env.log) == 1
