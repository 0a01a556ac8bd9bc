"""images.edit: the multipart request (part names, file names, content types, form fields)."""

from __future__ import annotations

import pytest
from gpt_image_mcp.types import EditRequest, InputImage, Operation
from gpt_image_mcp_openai import OpenAIProvider

pytestmark = pytest.mark.anyio


def input_image(data: bytes, mime: str, size: tuple[int, int], filename: str, alpha: bool = False) -> InputImage:
    return InputImage(data=data, mime_type=mime, width=size[0], height=size[1], has_alpha=alpha, filename=filename)


async def test_edit_sends_two_images_and_a_mask_as_named_typed_parts(
    openai_env, provider, progress, response_body, images, api_key
) -> None:
    first = images.png((32, 32))
    second = images.jpeg((16, 16))
    mask = images.png((32, 32), (0, 0, 0, 0), mode="RGBA")
    openai_env.expect_request("/v1/images/edits", method="POST").respond_with_json(
        response_body(images.png((32, 32))), headers={"x-request-id": "req_edit"}
    )
    request = EditRequest(
        model="gpt-image-1.5",
        prompt="put a hat on the fox",
        images=[
            input_image(first, "image/png", (32, 32), "image.png"),
            input_image(second, "image/jpeg", (16, 16), "images_0.jpg"),
        ],
        mask=input_image(mask, "image/png", (32, 32), "mask.png", alpha=True),
        input_fidelity="high",
        size="1024x1024",
        quality="medium",
        output_format="png",
    )

    result = await provider.edit(request, progress)

    (http_request, _), *_ = openai_env.log
    assert http_request.mimetype == "multipart/form-data"
    assert http_request.headers["Authorization"] == f"Bearer {api_key}"
    assert sorted(http_request.files.keys()) == ["image[]", "mask"]
    parts = http_request.files.getlist("image[]")
    assert [(part.filename, part.mimetype) for part in parts] == [
        ("image.png", "image/png"),
        ("images_0.jpg", "image/jpeg"),
    ]
    assert [part.read() for part in parts] == [first, second]
    mask_part = http_request.files["mask"]
    assert (mask_part.filename, mask_part.mimetype, mask_part.read()) == ("mask.png", "image/png", mask)
    assert http_request.form.to_dict() == {
        "prompt": "put a hat on the fox",
        "model": "gpt-image-1.5",
        "n": "1",
        "size": "1024x1024",
        "quality": "medium",
        "output_format": "png",
        "input_fidelity": "high",
    }
    assert result.request_id == "req_edit"
    assert result.images[0].width == 32


async def test_edit_without_mask_and_with_moderation_left_out(
    openai_env, provider, progress, response_body, images
) -> None:
    openai_env.expect_request("/v1/images/edits").respond_with_json(response_body(images.png()))
    # Two images with the same file name and a name whose extension lies about the type.
    request = EditRequest(
        model="gpt-image-2",
        prompt="make it night",
        images=[
            input_image(images.jpeg(), "image/jpeg", (32, 32), "photo.png"),
            input_image(images.jpeg(), "image/jpeg", (32, 32), "photo.png"),
        ],
        moderation="low",
        extra={"complexity": "low"},
    )

    result = await provider.edit(request, progress)

    http_request = openai_env.log[0][0]
    assert "mask" not in http_request.files
    names = [(part.filename, part.mimetype) for part in http_request.files.getlist("image[]")]
    assert names == [("photo.jpg", "image/jpeg"), ("photo_1.jpg", "image/jpeg")]
    assert http_request.form.to_dict() == {
        "prompt": "make it night",
        "model": "gpt-image-2",
        "n": "1",
        "complexity": "low",  # provider-specific extras travel as form fields
    }
    assert "moderation is not accepted by openai's edit endpoint and was not sent" in result.notes


def test_openai_provider_declares_generate_and_edit_but_not_variation() -> None:
    assert OpenAIProvider.operations == frozenset({Operation.GENERATE, Operation.EDIT})
    assert OpenAIProvider.accepts_unknown_models is True
