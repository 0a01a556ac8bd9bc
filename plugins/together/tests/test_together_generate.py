"""Together's request body exactly: width/height, steps, seed, negative_prompt, n, response_format,
output_format; options checked before any call; edits refused without one."""

from __future__ import annotations

import pytest
from gpt_image_mcp.errors import InvalidRequestError, UnsupportedOperationError
from gpt_image_mcp.types import EditRequest, GenerateRequest, InputImage

pytestmark = pytest.mark.anyio

SCHNELL = "black-forest-labs/FLUX.1-schnell"
PATH = "/v1/images/generations"


async def test_body_maps_size_and_options(together, api_key, provider, progress, images, response_body) -> None:
    picture = images.jpeg((64, 48))
    together.expect_request(PATH, method="POST", headers={"Authorization": f"Bearer {api_key}"}).respond_with_json(
        response_body(picture, picture)
    )
    request = GenerateRequest(
        model=SCHNELL,
        prompt="a fox in the snow",
        n=2,
        size="1024x768",
        seed=42,
        output_format="jpeg",
        extra={"steps": 4, "negative_prompt": "blurry, text"},
    )

    result = await provider.generate(request, progress)

    assert together.log[0][0].get_json() == {
        "model": SCHNELL,
        "prompt": "a fox in the snow",
        "n": 2,
        "response_format": "base64",
        "output_format": "jpeg",
        "width": 1024,
        "height": 768,
        "steps": 4,
        "seed": 42,
        "negative_prompt": "blurry, text",
    }
    assert [image.data for image in result.images] == [picture, picture]
    assert (result.provider, result.model, result.usage, result.notes) == ("together", SCHNELL, None, [])
    assert result.images[0].mime_type == "image/jpeg"


async def test_minimal_body_sends_no_size(together, provider, progress, images, response_body) -> None:
    together.expect_request(PATH, method="POST").respond_with_json(response_body(images.png()))

    await provider.generate(GenerateRequest(model=SCHNELL, prompt="p", size="auto"), progress)

    assert together.log[0][0].get_json() == {"model": SCHNELL, "prompt": "p", "n": 1, "response_format": "base64"}


async def test_guidance_passes_and_unknown_or_mistyped_options_fail_before_the_call(
    together, provider, progress, images, response_body
) -> None:
    together.expect_request(PATH).respond_with_json(response_body(images.png()))
    await provider.generate(
        GenerateRequest(model="black-forest-labs/FLUX.1-dev", prompt="p", extra={"guidance": 3.5}), progress
    )
    assert together.log[0][0].get_json()["guidance"] == 3.5

    bad = GenerateRequest(model=SCHNELL, prompt="p", extra={"steps": "many", "sampler": "euler"})
    with pytest.raises(InvalidRequestError) as info:
        await provider.generate(bad, progress)

    assert "unknown option(s) sampler; Together accepts steps, seed, negative_prompt, guidance" in info.value.message
    assert "steps must be int (got 'many')" in info.value.message
    assert len(together.log) == 1


@pytest.mark.parametrize(("model", "steps", "limit"), [(SCHNELL, 13, 12), ("black-forest-labs/FLUX.1-dev", 51, 50)])
async def test_steps_are_limited_per_model(together, provider, progress, model, steps, limit) -> None:
    with pytest.raises(InvalidRequestError, match=f"steps must be between 1 and {limit} for {model}"):
        await provider.generate(GenerateRequest(model=model, prompt="p", extra={"steps": steps}), progress)

    assert together.log == []


async def test_edit_is_refused_without_a_call(together, provider, progress, images) -> None:
    source = InputImage(data=images.png(), mime_type="image/png", width=32, height=32)

    with pytest.raises(UnsupportedOperationError, match="provider together cannot edit images"):
        await provider.edit(EditRequest(model=SCHNELL, prompt="p", images=[source]), progress)

    assert together.log == []


async def test_url_only_answer_is_a_clear_error(together, provider, progress) -> None:
    from gpt_image_mcp.errors import BadUpstreamResponseError

    body = {"id": "x", "object": "list", "data": [{"index": 0, "url": "https://api.together.ai/shrt/abc"}]}
    together.expect_request(PATH).respond_with_json(body)

    with pytest.raises(BadUpstreamResponseError, match="as a URL instead of image data"):
        await provider.generate(GenerateRequest(model=SCHNELL, prompt="p"), progress)


async def test_unknown_model_options_not_taken_are_noted(together, provider, progress, images, response_body) -> None:
    together.expect_request(PATH).respond_with_json(response_body(images.png()))

    result = await provider.generate(
        GenerateRequest(model="some-org/new-image-model", prompt="p", quality="high"), progress
    )

    assert "quality" not in together.log[0][0].get_json()
    assert result.notes == ["quality not supported by together and not sent"]
