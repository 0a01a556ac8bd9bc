"""images.generate: the exact JSON sent for several models, and how responses become results."""

from __future__ import annotations

import pytest
from gpt_image_mcp.errors import BadUpstreamResponseError
from gpt_image_mcp.types import GenerateRequest, Usage

pytestmark = pytest.mark.anyio


def sent_json(server) -> list[dict]:
    return [request.get_json() for request, _ in server.log]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # Only what is set goes out; n is always set (default 1).
        ({"model": "gpt-image-2"}, {"model": "gpt-image-2", "prompt": "a red fox", "n": 1}),
        (
            {
                "model": "gpt-image-2.5-flare",
                "n": 2,
                "size": "2560x1440",
                "quality": "xhigh",
                "background": "opaque",
                "output_format": "webp",
                "output_compression": 70,
                "moderation": "low",
                "user": "user-42",
            },
            {
                "model": "gpt-image-2.5-flare",
                "prompt": "a red fox",
                "n": 2,
                "size": "2560x1440",
                "quality": "xhigh",
                "background": "opaque",
                "output_format": "webp",
                "output_compression": 70,
                "moderation": "low",
                "user": "user-42",
            },
        ),
        (
            {"model": "gpt-image-1.5", "size": "1536x1024", "background": "transparent", "output_format": "png"},
            {
                "model": "gpt-image-1.5",
                "prompt": "a red fox",
                "n": 1,
                "size": "1536x1024",
                "background": "transparent",
                "output_format": "png",
            },
        ),
        (
            {"model": "gpt-image-1-mini", "size": "auto", "quality": "low"},
            {"model": "gpt-image-1-mini", "prompt": "a red fox", "n": 1, "size": "auto", "quality": "low"},
        ),
        # A model missing from the capability table is passed through as named.
        ({"model": "gpt-image-3-preview"}, {"model": "gpt-image-3-preview", "prompt": "a red fox", "n": 1}),
    ],
)
async def test_generate_sends_exactly_the_fields_that_are_set(
    openai_env, provider, progress, response_body, images, fields, expected
) -> None:
    openai_env.expect_request("/v1/images/generations", method="POST").respond_with_json(
        response_body(*[images.png()] * fields.get("n", 1))
    )

    result = await provider.generate(GenerateRequest(prompt="a red fox", **fields), progress)

    assert sent_json(openai_env) == [expected]
    assert len(result.images) == fields.get("n", 1)


async def test_generate_json_body_and_headers(openai_env, provider, progress, response_body, images, api_key) -> None:
    openai_env.expect_request("/v1/images/generations", method="POST").respond_with_json(
        response_body(images.png(), images.png())
    )
    request = GenerateRequest(model="gpt-image-2", prompt="a red fox", n=2, size="1024x1536", quality="high")
    result = await provider.generate(request, progress)

    (http_request, _), *_ = openai_env.log
    assert http_request.get_json() == {
        "model": "gpt-image-2",
        "prompt": "a red fox",
        "n": 2,
        "size": "1024x1536",
        "quality": "high",
    }
    assert "response_format" not in http_request.get_json()
    assert http_request.headers["Authorization"] == f"Bearer {api_key}"
    assert http_request.headers["Content-Type"] == "application/json"
    assert len(result.images) == 2


async def test_generate_parses_usage_request_id_and_sniffs_real_format(
    openai_env, provider, progress, response_body, images, usage_body
) -> None:
    body = response_body(images.jpeg((48, 40)), usage=usage_body, output_format="png", size="48x40")
    body["data"][0]["revised_prompt"] = "a red fox in snow"
    openai_env.expect_request("/v1/images/generations").respond_with_json(body, headers={"x-request-id": "req_abc"})

    result = await provider.generate(
        GenerateRequest(model="gpt-image-2", prompt="a red fox", output_format="png"), progress
    )

    image = result.images[0]
    assert (image.mime_type, image.width, image.height) == ("image/jpeg", 48, 40)
    assert image.revised_prompt == "a red fox in snow"
    assert result.request_id == "req_abc"
    assert result.provider == "openai"
    assert result.model == "gpt-image-2"
    assert result.usage == Usage(
        input_tokens=50,
        output_tokens=4160,
        total_tokens=4210,
        input_text_tokens=40,
        input_image_tokens=10,
        output_image_tokens=4160,
        output_text_tokens=0,
    )
    assert "openai returned jpeg although png was requested" in result.notes


async def test_seed_and_extra_options(openai_env, provider, progress, response_body, images) -> None:
    openai_env.expect_request("/v1/images/generations").respond_with_json(response_body(images.png()))
    request = GenerateRequest(model="gpt-image-2", prompt="p", seed=7, extra={"style_hint": "flat"})

    result = await provider.generate(request, progress)

    body = openai_env.log[0][0].get_json()
    assert "seed" not in body
    assert body["style_hint"] == "flat"
    assert "seed is not supported by openai and was not sent" in result.notes
    assert result.usage is None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([{"b64_json": "%%%not-base64%%%"}], "corrupt base64"),
        ([{"url": "https://files.example/image.png"}], "as a URL instead of image data"),
        ([], "without any image data"),
        (None, "without any image data"),
        ([{"b64_json": "aGVsbG8gd29ybGQ="}], "the bytes are not a readable image"),
        ([{"revised_prompt": "x"}], "without image data"),
    ],
)
async def test_unusable_responses_are_bad_upstream_responses(openai_env, provider, progress, data, expected) -> None:
    body = {"created": 1, "data": data}
    openai_env.expect_request("/v1/images/generations").respond_with_json(body, headers={"x-request-id": "req_bad"})

    with pytest.raises(BadUpstreamResponseError) as info:
        await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)

    assert expected in info.value.message
    assert info.value.provider == "openai"
    assert info.value.model == "gpt-image-2"
    assert info.value.request_id == "req_bad"
    assert len(openai_env.log) == 1  # never retried: the same call would be billed again


@pytest.mark.parametrize("bad", [{"b64_json": "%%%not-base64%%%"}, {"url": "https://files.example/2.png"}])
async def test_one_unusable_image_does_not_lose_the_good_ones(openai_env, provider, progress, images, bad) -> None:
    good = images.png((20, 10))
    body = {"created": 1, "data": [{"b64_json": images.b64(good)}, bad, {"b64_json": images.b64(good)}]}
    openai_env.expect_request("/v1/images/generations").respond_with_json(body)

    result = await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p", n=3), progress)

    assert [image.data for image in result.images] == [good, good]
    assert any("openai sent image 2" in note or "returned image 2" in note for note in result.notes)
    assert any(note.endswith("the other images are kept") for note in result.notes)


async def test_data_url_base64_is_accepted(openai_env, provider, progress, images) -> None:
    body = {"created": 1, "data": [{"b64_json": "data:image/png;base64," + images.b64(images.png((20, 10)))}]}
    openai_env.expect_request("/v1/images/generations").respond_with_json(body)

    result = await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)

    assert (result.images[0].width, result.images[0].height) == (20, 10)


async def test_json_that_is_not_json_is_a_bad_upstream_response(openai_env, provider, progress) -> None:
    openai_env.expect_request("/v1/images/generations").respond_with_data(
        "<html>proxy error</html>", content_type="application/json"
    )

    with pytest.raises(BadUpstreamResponseError, match="not valid JSON"):
        await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)


async def test_a_web_page_instead_of_json_names_the_base_url(openai_env, provider, progress) -> None:
    openai_env.expect_request("/v1/images/generations").respond_with_data(
        "<html>sign in to the proxy</html>", content_type="text/html; charset=utf-8"
    )

    with pytest.raises(BadUpstreamResponseError, match="answered with text/html instead of JSON") as info:
        await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)
    assert "OPENAI_BASE_URL" in info.value.message and openai_env.url_for("/v1") in info.value.message
    assert not info.value.retryable
