"""The built-in offline provider: deterministic, honours every option, edits only the masked area."""

from __future__ import annotations

import hashlib
import io

import pytest
from gpt_image_mcp.default_plugins.offline import OFFLINE_NOTE, OfflineProvider
from gpt_image_mcp.inputs import decode_image_argument
from gpt_image_mcp.progress import Progress
from gpt_image_mcp.types import EditRequest, GenerateRequest, VariationRequest
from PIL import Image

from tests.helpers import b64, png_bytes

pytestmark = pytest.mark.anyio
provider = OfflineProvider()


def colours(image: Image.Image) -> set[tuple[int, ...]]:
    return {colour for _, colour in image.getcolors(1 << 20) or []}


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


async def test_generate_honours_size_count_and_is_deterministic() -> None:
    request = GenerateRequest(model="gpt-image-2", prompt="a fox", n=3, size="1536x1024", seed=7)
    first = await provider.generate(request, Progress())
    again = await provider.generate(request, Progress())
    assert [img.sha256 for img in first.images] == [img.sha256 for img in again.images]
    assert len({img.sha256 for img in first.images}) == 3  # each index differs
    assert all((img.width, img.height, img.mime_type) == (1536, 1024, "image/png") for img in first.images)
    other_seed = await provider.generate(request.model_copy(update={"seed": 8}), Progress())
    assert other_seed.images[0].sha256 != first.images[0].sha256
    assert first.notes == [OFFLINE_NOTE] and first.provider == "offline" and first.model == "gpt-image-2"


@pytest.mark.parametrize(("fmt", "mime"), [("png", "image/png"), ("jpeg", "image/jpeg"), ("webp", "image/webp")])
async def test_generate_honours_output_format(fmt: str, mime: str) -> None:
    result = await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p", output_format=fmt), Progress())
    assert result.images[0].mime_type == mime
    assert opened(result.images[0].data).format == {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}[fmt]


async def test_compression_changes_the_bytes() -> None:
    def request(level: int) -> GenerateRequest:
        return GenerateRequest(model="gpt-image-2", prompt="p", output_format="jpeg", output_compression=level)

    small = await provider.generate(request(10), Progress())
    large = await provider.generate(request(95), Progress())
    assert len(small.images[0].data) < len(large.images[0].data)


@pytest.mark.parametrize("fmt", ["png", "webp"])
async def test_transparent_background_has_transparent_pixels(fmt: str) -> None:
    request = GenerateRequest(model="gpt-image-1.5", prompt="p", background="transparent", output_format=fmt)
    image = (await provider.generate(request, Progress())).images[0]
    assert image.has_alpha
    alpha = opened(image.data).getchannel("A")
    assert alpha.getextrema()[0] == 0


async def test_edit_with_mask_changes_only_the_transparent_area() -> None:
    source = decode_image_argument(b64(png_bytes((256, 256), (10, 200, 10))), label="image")
    mask_image = Image.new("RGBA", (256, 256), (0, 0, 0, 255))
    mask_image.paste((0, 0, 0, 0), (0, 0, 128, 256))  # left half transparent: may change
    buffer = io.BytesIO()
    mask_image.save(buffer, format="PNG")
    mask = decode_image_argument(b64(buffer.getvalue()), label="mask")
    request = EditRequest(model="gpt-image-2", prompt="paint", images=[source], mask=mask)
    edited = opened((await provider.edit(request, Progress())).images[0].data).convert("RGB")
    right = edited.crop((128, 0, 256, 256))
    assert colours(right) == {(10, 200, 10)}  # untouched
    left = edited.crop((0, 0, 128, 256))
    assert colours(left) != {(10, 200, 10)}


async def test_edit_without_mask_changes_the_whole_image_at_the_requested_size() -> None:
    source = decode_image_argument(b64(png_bytes((256, 256), (10, 200, 10))), label="image")
    request = EditRequest(model="gpt-image-2", prompt="paint", images=[source], size="1024x1024")
    image = (await provider.edit(request, Progress())).images[0]
    assert (image.width, image.height) == (1024, 1024)
    assert opened(image.data).convert("RGB").getpixel((5, 5)) != (10, 200, 10)


async def test_variation_keeps_size_and_differs_per_index() -> None:
    source = decode_image_argument(b64(png_bytes((128, 128), (40, 90, 200))), label="image")
    result = await provider.variation(VariationRequest(model="gpt-image-2", image=source, n=2), Progress())
    assert [(img.width, img.height) for img in result.images] == [(128, 128), (128, 128)]
    assert hashlib.sha256(source.data).hexdigest() not in {img.sha256 for img in result.images}
    assert result.images[0].sha256 != result.images[1].sha256


async def test_a_palette_png_mask_works() -> None:
    source = decode_image_argument(b64(png_bytes((64, 64), (10, 200, 10))), label="image")
    palette = Image.new("P", (64, 64), 0)
    palette.putpalette([0, 0, 0, 255, 255, 255])
    palette.paste(1, (32, 0, 64, 64))
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG", transparency=0)  # left half transparent
    mask = decode_image_argument(b64(buffer.getvalue()), label="mask")
    assert mask.has_alpha
    result = await provider.edit(EditRequest(model="gpt-image-2", prompt="p", images=[source], mask=mask), Progress())
    right = opened(result.images[0].data).convert("RGB").crop((32, 0, 64, 64))
    assert colours(right) == {(10, 200, 10)}


def test_decompression_bombs_are_refused() -> None:
    import pytest as _pytest
    from gpt_image_mcp.errors import InvalidRequestError

    bomb = io.BytesIO()
    Image.new("1", (8000, 6000)).save(bomb, format="PNG")  # 48 MP in a few KB
    assert len(bomb.getvalue()) < 100_000
    with _pytest.raises(InvalidRequestError, match="more than 40,000,000 pixels"):
        decode_image_argument(b64(bomb.getvalue()), label="image")
