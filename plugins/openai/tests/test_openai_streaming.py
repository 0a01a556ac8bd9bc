"""Streaming partial images (SSE, as the Images API sends them) and streams that fail midway."""

from __future__ import annotations

import json

import anyio
import pytest
from gpt_image_mcp.errors import BadUpstreamResponseError, RefusedError, UpstreamUnavailableError
from gpt_image_mcp.types import EditRequest, GenerateRequest, InputImage, Usage
from werkzeug import Request, Response

pytestmark = pytest.mark.anyio

STREAM_USAGE = {
    "input_tokens": 12,
    "output_tokens": 272,
    "total_tokens": 284,
    "input_tokens_details": {"text_tokens": 12, "image_tokens": 0},
}


def sse(kind: str, **data: object) -> str:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n"


def partial(prefix: str, picture: str, index: int) -> str:
    return sse(
        f"{prefix}.partial_image",
        b64_json=picture,
        partial_image_index=index,
        background="opaque",
        created_at=1,
        output_format="png",
        quality="low",
        size="1024x1024",
    )


def completed(prefix: str, picture: str) -> str:
    return sse(
        f"{prefix}.completed",
        b64_json=picture,
        background="opaque",
        created_at=2,
        output_format="png",
        quality="low",
        size="1024x1024",
        usage=STREAM_USAGE,
    )


def error_event(code: str, message: str) -> str:
    return sse("error", error={"type": "image_generation_error", "code": code, "message": message, "param": None})


async def test_two_partial_images_then_the_final_image(openai_env, provider, progress, images) -> None:
    body = (
        partial("image_generation", images.b64(images.png((8, 8))), 0)
        + partial("image_generation", images.b64(images.png((16, 16))), 1)
        + completed("image_generation", images.b64(images.png((64, 64))))
    )
    openai_env.expect_request("/v1/images/generations").respond_with_data(
        body, content_type="text/event-stream", headers={"x-request-id": "req_stream"}
    )
    request = GenerateRequest(model="gpt-image-2", prompt="a fox", partial_images=2, quality="low")

    result = await provider.generate(request, progress)

    assert openai_env.log[0][0].get_json() == {
        "model": "gpt-image-2",
        "prompt": "a fox",
        "n": 1,
        "quality": "low",
        "stream": True,
        "partial_images": 2,
    }
    assert [(index, image.width) for index, image in progress.partials] == [(0, 8), (1, 16)]
    assert [image.width for image in result.images] == [64]
    assert result.usage == Usage(
        input_tokens=12, output_tokens=272, total_tokens=284, input_text_tokens=12, input_image_tokens=0
    )
    assert result.request_id == "req_stream"


async def test_edit_streams_image_edit_events(openai_env, provider, progress, images) -> None:
    body = partial("image_edit", images.b64(images.png((8, 8))), 0) + completed(
        "image_edit", images.b64(images.png((32, 32)))
    )
    openai_env.expect_request("/v1/images/edits").respond_with_data(body, content_type="text/event-stream")
    picture = images.png((32, 32))
    request = EditRequest(
        model="gpt-image-2",
        prompt="night",
        images=[InputImage(data=picture, mime_type="image/png", width=32, height=32)],
        partial_images=1,
    )

    result = await provider.edit(request, progress)

    form = openai_env.log[0][0].form
    assert (form["stream"], form["partial_images"]) == ("true", "1")
    assert [index for index, _ in progress.partials] == [0]
    assert result.images[0].width == 32


async def test_error_event_midway_is_classified_and_retried(openai_env, provider, progress, images, sleeps) -> None:
    failing = partial("image_generation", images.b64(images.png((8, 8))), 0) + error_event(
        "server_error", "The server had an error while processing your request."
    )
    openai_env.expect_ordered_request("/v1/images/generations").respond_with_data(
        failing, content_type="text/event-stream", headers={"x-request-id": "req_1"}
    )
    openai_env.expect_ordered_request("/v1/images/generations").respond_with_data(
        completed("image_generation", images.b64(images.png((64, 64)))), content_type="text/event-stream"
    )
    request = GenerateRequest(model="gpt-image-2", prompt="a fox", partial_images=1)

    result = await provider.generate(request, progress)

    assert len(openai_env.log) == 2
    assert len(sleeps.waits) == 1
    assert result.images[0].width == 64
    assert any("retry 1 of 3" in stage for stage in progress.stages)


async def test_error_event_that_persists_gives_a_retryable_unavailable_error(
    openai_env, provider, progress, images, monkeypatch
) -> None:
    monkeypatch.setenv("MAX_RETRIES", "1")
    failing = partial("image_generation", images.b64(images.png((8, 8))), 0) + error_event("server_error", "boom")
    openai_env.expect_request("/v1/images/generations").respond_with_data(
        failing, content_type="text/event-stream", headers={"x-request-id": "req_mid"}
    )

    with pytest.raises(UpstreamUnavailableError) as info:
        await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p", partial_images=1), progress)

    assert info.value.retryable
    assert "(server_error): boom" in info.value.message
    assert "Gave up after 2 attempts" in info.value.message
    assert info.value.request_id == "req_mid"
    assert len(openai_env.log) == 2


async def test_moderation_error_event_is_a_refusal_and_not_retried(openai_env, provider, progress, images) -> None:
    body = partial("image_generation", images.b64(images.png((8, 8))), 0) + error_event(
        "moderation_blocked", "Your request was rejected by the safety system."
    )
    openai_env.expect_request("/v1/images/generations").respond_with_data(body, content_type="text/event-stream")

    with pytest.raises(RefusedError, match="rejected by the safety system") as info:
        await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p", partial_images=1), progress)

    assert "Rephrasing" in info.value.message
    assert len(openai_env.log) == 1


@pytest.mark.parametrize("declared_length", [True, False])
async def test_connection_dropped_midway_is_upstream_unavailable_not_a_hang(
    openai_env, provider, progress, images, monkeypatch, declared_length
) -> None:
    monkeypatch.setenv("MAX_RETRIES", "0")
    first = partial("image_generation", images.b64(images.png((8, 8))), 0).encode()

    def handler(request: Request) -> Response:
        def body():
            yield first
            raise ConnectionResetError("upstream went away")  # the server drops the connection here

        response = Response(body(), content_type="text/event-stream")
        if declared_length:  # the client knows bytes are missing: a transport error
            response.headers["Content-Length"] = str(len(first) + 5000)
        return response

    openai_env.expect_request("/v1/images/generations").respond_with_handler(handler)

    with anyio.fail_after(20):
        with pytest.raises(UpstreamUnavailableError) as info:
            await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p", partial_images=1), progress)

    expected = "the connection to openai at" if declared_length else "stream ended before the final image arrived"
    assert expected in info.value.message
    assert info.value.retryable
    assert [index for index, _ in progress.partials] == [0]


async def test_stream_without_a_completed_event_is_retried(openai_env, provider, progress, images, sleeps) -> None:
    openai_env.expect_ordered_request("/v1/images/generations").respond_with_data(
        partial("image_generation", images.b64(images.png((8, 8))), 0), content_type="text/event-stream"
    )
    openai_env.expect_ordered_request("/v1/images/generations").respond_with_data(
        completed("image_generation", images.b64(images.png((64, 64)))), content_type="text/event-stream"
    )

    result = await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p", partial_images=1), progress)

    assert len(openai_env.log) == 2
    assert result.images[0].width == 64


async def test_corrupt_final_image_in_a_stream_is_a_bad_response(openai_env, provider, progress) -> None:
    body = completed("image_generation", "!!!corrupt!!!")
    openai_env.expect_request("/v1/images/generations").respond_with_data(body, content_type="text/event-stream")

    with pytest.raises(BadUpstreamResponseError, match="corrupt base64"):
        await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p", partial_images=1), progress)
    assert len(openai_env.log) == 1


async def test_unreadable_partial_image_is_skipped_but_the_final_image_arrives(
    openai_env, provider, progress, images
) -> None:
    body = partial("image_generation", images.b64(b"not an image"), 0) + completed(
        "image_generation", images.b64(images.png((64, 64)))
    )
    openai_env.expect_request("/v1/images/generations").respond_with_data(body, content_type="text/event-stream")

    result = await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p", partial_images=1), progress)

    assert progress.partials == []
    assert result.images[0].width == 64


async def test_a_streamed_call_answered_at_once_keeps_the_image_without_a_retry(
    openai_env, provider, progress, images, response_body
) -> None:
    # A proxy (or a compatible server) that ignores `stream` sends the whole answer as JSON.
    picture = images.png((64, 64))
    openai_env.expect_request("/v1/images/generations").respond_with_json(response_body(picture))

    result = await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p", partial_images=2), progress)

    assert [image.data for image in result.images] == [picture] and len(openai_env.log) == 1
    assert any("answered without streaming" in note for note in result.notes)
    assert json.loads(openai_env.log[0][0].data)["stream"] is True


async def test_a_web_page_answering_a_streamed_call_is_a_bad_response_not_a_cut_stream(
    openai_env, provider, progress
) -> None:
    openai_env.expect_request("/v1/images/generations").respond_with_data("<html>hi</html>", content_type="text/html")

    with pytest.raises(BadUpstreamResponseError, match="answered with text/html instead of JSON"):
        await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p", partial_images=1), progress)
    assert len(openai_env.log) == 1


@pytest.mark.parametrize("content_type", ["text/plain", None])
async def test_events_under_another_label_are_still_read_as_events(
    openai_env, provider, progress, images, content_type
) -> None:
    body = completed("image_generation", images.b64(images.png((64, 64))))
    response = Response(body)
    if content_type is None:
        del response.headers["content-type"]
    else:
        response.headers["content-type"] = content_type
    openai_env.expect_request("/v1/images/generations").respond_with_response(response)

    result = await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p", partial_images=1), progress)

    assert result.images[0].width == 64 and len(openai_env.log) == 1


async def test_a_corrupt_final_image_in_a_stream_does_not_lose_the_good_one(openai_env, provider, progress, images):
    good = images.png((64, 64))
    body = completed("image_generation", images.b64(good)) + completed("image_generation", "!!!corrupt!!!")
    openai_env.expect_request("/v1/images/generations").respond_with_data(body, content_type="text/event-stream")

    result = await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p", n=2, partial_images=1), progress)

    assert [image.data for image in result.images] == [good]
    assert any("image 2 as corrupt base64; the other images are kept" in note for note in result.notes)


async def test_a_whole_body_without_events_is_a_bad_response_not_retried(openai_env, provider, progress, images):
    # JSON labelled text/plain answering a streamed call: it cannot be read as events, and retrying bills again.
    body = json.dumps({"created": 1, "data": [{"b64_json": images.b64(images.png((8, 8)))}]})
    openai_env.expect_request("/v1/images/generations").respond_with_data(body, content_type="text/plain")

    with pytest.raises(BadUpstreamResponseError, match="answered a streamed call with text/plain and no events"):
        await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p", partial_images=1), progress)
    assert len(openai_env.log) == 1
