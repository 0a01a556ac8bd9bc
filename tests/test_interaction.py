"""Elicitation, sampling and progress with every kind of client, in both protocol eras."""

from __future__ import annotations

import anyio
import pytest
from gpt_image_mcp import GeneratedImage, GenerateRequest, ImageProvider, ImageResult, Progress, hookimpl
from gpt_image_mcp.server import build_server
from gpt_image_mcp.service import ImageService
from gpt_image_mcp.settings import load_settings
from mcp import Client
from mcp.client.session import ClientRequestContext as RequestContext
from mcp_types import CreateMessageResult, ElicitRequestParams, ElicitResult, ErrorData, TextContent

from tests.helpers import png_bytes

pytestmark = pytest.mark.anyio
MODES = ["auto", "legacy"]


class Recorder(ImageProvider):
    """Records what reached the provider; optionally slow."""

    name = "recorder"
    delay = 0.0

    def __init__(self) -> None:
        self.requests: list[GenerateRequest] = []

    async def generate(self, request: GenerateRequest, progress: Progress) -> ImageResult:
        self.requests.append(request)
        await progress.stage("rendering")
        await anyio.sleep(self.delay)
        return ImageResult(images=[GeneratedImage.from_bytes(png_bytes())], provider=self.name, model=request.model)


def server_with(provider: Recorder, **settings: object):
    class Plugin:
        @hookimpl
        def register_providers(self, register):
            register(provider)

    service = ImageService.create(load_settings(provider="recorder", **settings), extra_plugins=[("t", Plugin())])
    return build_server(service)


def elicitation(action: str, content: dict | None = None, asked: list | None = None):
    async def callback(context: RequestContext, params: ElicitRequestParams) -> ElicitResult:
        if asked is not None:
            asked.append(params)
        return ElicitResult(action=action, content=content)

    return callback


@pytest.mark.parametrize("mode", MODES)
async def test_accepted_answers_are_used(mode: str) -> None:
    provider, asked = Recorder(), []
    callback = elicitation("accept", {"size": "1536x1024", "quality": "high"}, asked)
    async with Client(server_with(provider), mode=mode, elicitation_callback=callback) as client:
        result = await client.call_tool("image_generate", {"prompt": "fox"})
    assert not result.is_error, result.content[0].text
    assert (provider.requests[0].size, provider.requests[0].quality) == ("1536x1024", "high")
    schema = asked[0].requested_schema["properties"]
    assert "1536x1024" in schema["size"]["enum"] and "1920x1080" not in schema["size"]["enum"]
    assert schema["quality"]["enum"] == ["auto", "low", "medium", "high"]


@pytest.mark.parametrize("mode", MODES)
async def test_only_missing_settings_are_asked(mode: str) -> None:
    provider, asked = Recorder(), []
    callback = elicitation("accept", {"quality": "low"}, asked)
    async with Client(server_with(provider), mode=mode, elicitation_callback=callback) as client:
        await client.call_tool("image_generate", {"prompt": "fox", "size": "1024x1024"})
        await client.call_tool("image_generate", {"prompt": "fox", "size": "1024x1024", "quality": "high"})
    assert list(asked[0].requested_schema["properties"]) == ["quality"]
    assert len(asked) == 1  # nothing missing the second time
    assert [(r.size, r.quality) for r in provider.requests] == [("1024x1024", "low"), ("1024x1024", "high")]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("content", [{"size": "99x99", "quality": 5}, {"size": ["x"]}, {"nonsense": True}])
async def test_an_invalid_answer_keeps_the_offered_defaults_instead_of_failing(mode: str, content: dict) -> None:
    provider, asked = Recorder(), []
    callback = elicitation("accept", content, asked)
    async with Client(server_with(provider), mode=mode, elicitation_callback=callback) as client:
        result = await client.call_tool("image_generate", {"prompt": "fox"})
    assert not result.is_error, result.content[0].text
    offered = asked[0].requested_schema["properties"]
    assert (provider.requests[0].size, provider.requests[0].quality) == (
        offered["size"]["default"],
        offered["quality"]["default"],
    )


@pytest.mark.parametrize("mode", MODES)
async def test_decline_goes_on_with_defaults(mode: str) -> None:
    provider = Recorder()
    async with Client(server_with(provider), mode=mode, elicitation_callback=elicitation("decline")) as client:
        result = await client.call_tool("image_generate", {"prompt": "fox"})
    assert not result.is_error
    assert (provider.requests[0].size, provider.requests[0].quality) == (None, None)


@pytest.mark.parametrize("mode", MODES)
async def test_cancel_stops_before_any_upstream_call(mode: str) -> None:
    provider = Recorder()
    async with Client(server_with(provider), mode=mode, elicitation_callback=elicitation("cancel")) as client:
        result = await client.call_tool("image_generate", {"prompt": "fox"})
    assert result.is_error and "cancelled" in result.content[0].text
    assert result.structured_content["error"]["code"] == "cancelled"
    assert provider.requests == []


@pytest.mark.parametrize("mode", MODES)
async def test_no_question_when_skipped_disabled_or_unsupported(mode: str) -> None:
    provider, asked = Recorder(), []
    callback = elicitation("accept", {"size": "1536x1024"}, asked)
    async with Client(server_with(provider), mode=mode, elicitation_callback=callback) as client:
        await client.call_tool("image_generate", {"prompt": "fox", "skip_elicitation": True})
    async with Client(server_with(provider, use_elicitation=False), mode=mode, elicitation_callback=callback) as c:
        await c.call_tool("image_generate", {"prompt": "fox"})
    async with Client(server_with(provider), mode=mode) as client:  # no elicitation capability at all
        await client.call_tool("image_generate", {"prompt": "fox"})
    assert asked == [] and len(provider.requests) == 3


def sampler(text: str | None = None, fail: bool = False, calls: list | None = None):
    async def callback(context: RequestContext, params) -> CreateMessageResult | ErrorData:
        if calls is not None:
            calls.append(params)
        if fail:
            return ErrorData(code=-32603, message="the model is unavailable")
        return CreateMessageResult(role="assistant", content=TextContent(type="text", text=text or ""), model="m")

    return callback


@pytest.mark.parametrize("mode", MODES)
async def test_sampling_enhances_the_prompt_when_asked(mode: str) -> None:
    provider, calls = Recorder(), []
    callback = sampler('"A red fox in fresh snow, golden hour, 85mm photo"', calls=calls)
    async with Client(server_with(provider), mode=mode, sampling_callback=callback) as client:
        plain = await client.call_tool("image_generate", {"prompt": "fox", "skip_elicitation": True})
        result = await client.call_tool(
            "image_generate", {"prompt": "fox", "enhance_prompt": True, "skip_elicitation": True}
        )
    assert len(calls) == 1 and "fox" in calls[0].messages[0].content.text
    assert plain.structured_content["prompt"] == "fox"
    assert provider.requests[1].prompt == "A red fox in fresh snow, golden hour, 85mm photo"
    assert result.structured_content["prompt"] == provider.requests[1].prompt
    assert result.structured_content["original_prompt"] == "fox"


@pytest.mark.parametrize("mode", MODES)
async def test_sampling_failure_or_absence_falls_back_to_the_original(mode: str) -> None:
    provider = Recorder()
    # A handshake-era client answers the server's request with an error; a 2026 client that refuses to
    # sample aborts the call itself (SDK behaviour), so there the failure is an unusable answer.
    failing = sampler(fail=True) if mode == "legacy" else sampler('""')
    async with Client(server_with(provider), mode=mode, sampling_callback=failing) as client:
        failed = await client.call_tool("image_generate", {"prompt": "fox", "enhance_prompt": True})
    async with Client(server_with(provider), mode=mode) as client:
        absent = await client.call_tool("image_generate", {"prompt": "fox", "enhance_prompt": True})
    async with Client(server_with(provider, use_sampling=False), mode=mode, sampling_callback=sampler("x")) as c:
        disabled = await c.call_tool("image_generate", {"prompt": "fox", "enhance_prompt": True})
    for result in (failed, absent, disabled):
        assert not result.is_error, result.content[0].text
        assert result.structured_content["prompt"] == "fox"
        assert any("enhancement was not available" in note for note in result.structured_content["notes"])
    assert [r.prompt for r in provider.requests] == ["fox"] * 3


@pytest.mark.parametrize("mode", MODES)
async def test_slow_calls_send_progress_every_interval(mode: str) -> None:
    provider = Recorder()
    provider.delay = 1.0
    updates: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append((progress, message))

    async with Client(server_with(provider, progress_interval_seconds=0.2), mode=mode) as client:
        result = await client.call_tool("image_generate", {"prompt": "fox"}, progress_callback=on_progress)
    assert not result.is_error
    rendering = [message for _, message in updates if message and message.startswith("rendering")]
    assert len(rendering) >= 4, updates
    assert [p for p, _ in updates] == sorted(p for p, _ in updates)
    assert any(message and message.startswith("saving images") for _, message in updates)


async def test_prompts_are_sanitised_and_options_passed_through() -> None:
    provider = Recorder()
    async with Client(server_with(provider)) as client:
        result = await client.call_tool(
            "image_generate",
            {"prompt": "a fox\u202e in snow\x00 🦊\u200d🔥", "options": {"steps": 4, "negative_prompt": "blur"}},
        )
    assert not result.is_error
    assert provider.requests[0].prompt == "a fox in snow 🦊\u200d🔥"
    assert provider.requests[0].extra == {"steps": 4, "negative_prompt": "blur"}
