"""Request validation against the capability table, each size rule at its exact boundaries."""

from __future__ import annotations

import pytest
from gpt_image_mcp.capabilities import ModelTable
from gpt_image_mcp.errors import InvalidRequestError, UnsupportedOperationError
from gpt_image_mcp.types import EditRequest, GenerateRequest, InputImage, Operation
from gpt_image_mcp.validation import check_request, normalise_size

TABLE = ModelTable.default()
GPT_IMAGE_2 = TABLE.get("gpt-image-2")


def generate(model: str = "gpt-image-2", **fields: object) -> GenerateRequest:
    fields.setdefault("prompt", "a red fox")
    if "size" in fields:
        fields["size"] = normalise_size(fields["size"])  # type: ignore[arg-type]
    return GenerateRequest(model=model, **fields)  # type: ignore[arg-type]


def problems(request: GenerateRequest | EditRequest, operation: Operation = Operation.GENERATE) -> str:
    with pytest.raises(InvalidRequestError) as info:
        check_request(request, operation, TABLE.get(request.model))
    return info.value.message


def accepted(request: GenerateRequest) -> bool:
    check_request(request, Operation.GENERATE, TABLE.get(request.model))
    return True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1536x1024", "1536x1024"),
        ("1536×1024", "1536x1024"),
        (" 1536 X 1024 ", "1536x1024"),
        ("auto", "auto"),
        ("AUTO", "auto"),
        (None, None),
    ],
)
def test_sizes_are_normalised(text: str | None, expected: str | None) -> None:
    assert normalise_size(text) == expected


@pytest.mark.parametrize("text", ["big", "1024", "1024x", "x1024", "-16x16", "1024x1024x3", "1e3x1000"])
def test_malformed_sizes_are_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(InvalidRequestError, match="WIDTHxHEIGHT"):
        normalise_size(text)


# Each rule of gpt-image-2 just inside and just outside its boundary.
@pytest.mark.parametrize(
    ("size", "rule"),
    [
        ("1024x1040", None),  # multiple of 16
        ("1024x1032", "height 1032 must be a multiple of 16"),
        ("1040x1024", None),
        ("1032x1024", "width 1032 must be a multiple of 16"),
        ("3840x1280", None),  # max edge 3840 exactly, ratio exactly 3
        ("3856x1296", "each edge must be at most 3840 px"),
        ("3072x1024", None),  # ratio 3:1 exactly
        ("3088x1024", "the long edge may be at most 3x the short edge"),
        ("1024x3072", None),
        ("1024x3088", "the long edge may be at most 3x the short edge"),
        ("1024x640", None),  # 655,360 pixels exactly
        ("1024x624", "at least 655,360 pixels"),
        ("3840x2160", None),  # 8,294,400 pixels exactly
        ("3840x2176", "at most 8,294,400 pixels"),
    ],
)
def test_gpt_image_2_size_rules_at_their_boundaries(size: str, rule: str | None) -> None:
    request = generate(size=size)
    if rule is None:
        assert accepted(request)
    else:
        assert rule in problems(request)


def test_size_error_suggests_the_nearest_valid_size() -> None:
    message = problems(generate(size="1920x1080"))
    assert "the nearest valid size is 1920x1088" in message


def test_preset_models_accept_only_their_presets() -> None:
    assert accepted(generate("gpt-image-1.5", size="1536x1024"))
    assert accepted(generate("gpt-image-1.5", size="auto"))
    message = problems(generate("gpt-image-1.5", size="2048x2048"))
    assert "use one of 1024x1024, 1536x1024, 1024x1536, auto" in message


@pytest.mark.parametrize(("n", "ok"), [(0, False), (1, True), (10, True), (11, False)])
def test_n_boundaries(n: int, ok: bool) -> None:
    if ok:
        assert accepted(generate(n=n))
    else:
        assert f"n must be between 1 and 10 (got {n})" in problems(generate(n=n))


def test_prompt_length_boundaries() -> None:
    assert accepted(generate(prompt="x" * 32000))
    assert "prompt has 32,001 characters; the maximum is 32,000" in problems(generate(prompt="x" * 32001))
    assert "prompt is empty" in problems(generate(prompt="   \n"))


def test_choices_name_what_is_accepted() -> None:
    message = problems(generate(quality="ultra", output_format="gif", moderation="strict"))
    assert "quality 'ultra' is not accepted by gpt-image-2; use one of auto, low, medium, high" in message
    assert "output_format 'gif'" in message
    assert "moderation 'strict'" in message


def test_flare_accepts_higher_qualities_gpt_image_2_does_not() -> None:
    assert accepted(generate("gpt-image-2.5-flare", quality="max"))
    assert "quality 'max'" in problems(generate(quality="max"))


def test_transparency_and_compression_rules() -> None:
    assert accepted(generate("gpt-image-1.5", background="transparent", output_format="webp"))
    assert "jpeg has no alpha" in problems(generate("gpt-image-1.5", background="transparent", output_format="jpeg"))
    assert "background 'transparent' is not accepted by gpt-image-2" in problems(generate(background="transparent"))
    assert accepted(generate(output_format="jpeg", output_compression=0))
    assert accepted(generate(output_format="webp", output_compression=100))
    assert "between 0 and 100 (got 101)" in problems(generate(output_format="webp", output_compression=101))
    assert "applies only to output_format jpeg or webp" in problems(generate(output_compression=50))


def test_all_problems_are_reported_at_once() -> None:
    message = problems(generate(n=11, size="1000x1000", quality="ultra"))
    assert "n must be between" in message and "size 1000x1000" in message and "quality 'ultra'" in message


def test_retired_model_fails_naming_the_replacement() -> None:
    message = problems(generate("dall-e-3"))
    assert "dall-e-3 was shut down" in message and "gpt-image-2" in message


def test_variation_is_unsupported_with_a_hint() -> None:
    with pytest.raises(UnsupportedOperationError, match="image_edit"):
        check_request(generate(), Operation.VARIATION, GPT_IMAGE_2)


def test_unknown_models_get_generic_checks_only() -> None:
    check_request(generate("gpt-image-9", size="1000x1000", quality="anything"), Operation.GENERATE, None)
    with pytest.raises(InvalidRequestError, match="n must be between 1 and 10"):
        check_request(generate("gpt-image-9", n=11), Operation.GENERATE, None)


def _image(width: int = 64, height: int = 64, *, alpha: bool = True, mime: str = "image/png") -> InputImage:
    return InputImage(data=b"x", mime_type=mime, width=width, height=height, has_alpha=alpha)


def test_edit_rules() -> None:
    def edit(**fields: object) -> EditRequest:
        base = {"model": "gpt-image-2", "prompt": "add a hat", "images": [_image()]}
        return EditRequest(**(base | fields))  # type: ignore[arg-type]

    check_request(edit(images=[_image()] * 16), Operation.EDIT, GPT_IMAGE_2)
    assert "at most 16 input images" in problems(edit(images=[_image()] * 17), Operation.EDIT)
    assert "at least one input image" in problems(edit(images=[]), Operation.EDIT)
    assert "mask is 32x32 but the first image is 64x64" in problems(edit(mask=_image(32, 32)), Operation.EDIT)
    assert "mask must be a PNG with an alpha channel" in problems(edit(mask=_image(alpha=False)), Operation.EDIT)
    assert "input_fidelity is not supported by gpt-image-2" in problems(edit(input_fidelity="high"), Operation.EDIT)


@pytest.mark.parametrize(("value", "ok"), [(-1, False), (0, True), (3, True), (4, False)])
def test_partial_images_range(value: int, ok: bool) -> None:
    request = generate(partial_images=value)
    if ok:
        assert accepted(request)
    else:
        assert "partial_images must be between 0 and 3" in problems(request)
