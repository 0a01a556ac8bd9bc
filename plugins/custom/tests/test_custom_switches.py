"""Each compatibility switch changes the exact request the server receives."""

from __future__ import annotations

import io

import pytest
from gpt_image_mcp.errors import UnsupportedOperationError
from gpt_image_mcp.types import EditRequest, GenerateRequest, InputImage, Operation
from PIL import Image

pytestmark = pytest.mark.anyio

PATH = "/v1/images/generations"


def request(**fields) -> GenerateRequest:
    return GenerateRequest(**({"model": "flux-dev", "prompt": "a cat"} | fields))


async def test_defaults_send_b64_json_and_size_without_authorization(custom, provider, progress, images, response_body):
    custom.expect_request(PATH, method="POST").respond_with_json(response_body(images.png()))

    result = await provider.generate(request(size="1024x768", n=2), progress)

    sent = custom.log[0][0]
    assert sent.get_json() == {
        "model": "flux-dev",
        "prompt": "a cat",
        "n": 2,
        "size": "1024x768",
        "response_format": "b64_json",
    }
    assert "Authorization" not in sent.headers
    assert result.provider == "custom"


async def test_key_is_sent_as_bearer(custom, monkeypatch, api_key, provider, progress, images, response_body):
    monkeypatch.setenv("CUSTOM_OPENAI_API_KEY", api_key)
    custom.expect_request(PATH, headers={"Authorization": f"Bearer {api_key}"}).respond_with_json(
        response_body(images.png())
    )

    await provider.generate(request(), progress)

    assert len(custom.log) == 1


async def test_openai_key_of_the_environment_never_reaches_the_custom_server(
    custom, monkeypatch, provider, progress, images, response_body
):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-must-not-leak-123456")
    custom.expect_request(PATH).respond_with_json(response_body(images.png()))

    await provider.generate(request(), progress)

    assert "Authorization" not in custom.log[0][0].headers


@pytest.mark.parametrize("value", ["none", "off", "false"])
async def test_response_format_can_be_left_out(custom, monkeypatch, provider, progress, images, response_body, value):
    monkeypatch.setenv("CUSTOM_OPENAI_RESPONSE_FORMAT", value)
    custom.expect_request(PATH).respond_with_json(response_body(images.png()))

    await provider.generate(request(), progress)

    assert custom.log[0][0].get_json() == {"model": "flux-dev", "prompt": "a cat", "n": 1}


async def test_width_height_size_style(custom, monkeypatch, provider, progress, images, response_body):
    monkeypatch.setenv("CUSTOM_OPENAI_SIZE_STYLE", "width_height")
    custom.expect_request(PATH).respond_with_json(response_body(images.png()))

    await provider.generate(request(size="1280x720"), progress)
    await provider.generate(request(size="auto"), progress)

    first, second = (entry[0].get_json() for entry in custom.log)
    assert first == {
        "model": "flux-dev",
        "prompt": "a cat",
        "n": 1,
        "response_format": "b64_json",
        "width": 1280,
        "height": 720,
    }
    assert "size" not in second and "width" not in second


async def test_extra_body_is_merged_into_generate_and_edit(
    custom, monkeypatch, provider, progress, images, response_body
):
    monkeypatch.setenv("CUSTOM_OPENAI_EXTRA_BODY", '{"guidance_scale": 7.5, "num_inference_steps": 20}')
    custom.expect_request(PATH).respond_with_json(response_body(images.png()))
    custom.expect_request("/v1/images/edits").respond_with_json(response_body(images.png()))
    source = InputImage(data=images.png(), mime_type="image/png", width=32, height=32)

    await provider.generate(request(extra={"num_inference_steps": 30}), progress)
    await provider.edit(EditRequest(model="flux-dev", prompt="p", images=[source]), progress)

    generated = custom.log[0][0].get_json()
    assert (generated["guidance_scale"], generated["num_inference_steps"]) == (7.5, 30)  # the call's own wins
    edit_form = custom.log[1][0].form
    assert (edit_form["guidance_scale"], edit_form["num_inference_steps"]) == ("7.5", "20")


async def test_edits_disabled_fail_before_the_network(custom, monkeypatch, provider, progress, images):
    monkeypatch.setenv("CUSTOM_OPENAI_SUPPORTS_EDITS", "false")
    source = InputImage(data=images.png(), mime_type="image/png", width=32, height=32)

    assert provider.operations == frozenset({Operation.GENERATE})
    with pytest.raises(UnsupportedOperationError, match="CUSTOM_OPENAI_SUPPORTS_EDITS=false"):
        await provider.edit(EditRequest(model="flux-dev", prompt="p", images=[source]), progress)

    assert custom.log == []


@pytest.mark.parametrize(("inverted", "expected"), [("false", (0, 255)), ("true", (255, 0))])
async def test_mask_inversion(custom, monkeypatch, provider, progress, images, response_body, inverted, expected):
    monkeypatch.setenv("CUSTOM_OPENAI_MASK_INVERTED", inverted)
    custom.expect_request("/v1/images/edits").respond_with_json(response_body(images.png()))
    # Left half transparent (the area to change, OpenAI's convention), right half opaque.
    mask_image = Image.new("RGBA", (32, 32), (0, 0, 0, 255))
    mask_image.paste((0, 0, 0, 0), (0, 0, 16, 32))
    buffer = io.BytesIO()
    mask_image.save(buffer, format="PNG")
    mask = InputImage(data=buffer.getvalue(), mime_type="image/png", width=32, height=32, has_alpha=True)
    source = InputImage(data=images.png(), mime_type="image/png", width=32, height=32)

    await provider.edit(EditRequest(model="flux-dev", prompt="p", images=[source], mask=mask), progress)

    uploaded = custom.log[0][0].files["mask"]
    assert (uploaded.filename, uploaded.mimetype) == ("mask.png", "image/png")
    with Image.open(io.BytesIO(uploaded.read())) as image:
        alpha = image.convert("RGBA").getchannel("A")
        assert (alpha.getpixel((4, 4)), alpha.getpixel((28, 4))) == expected
