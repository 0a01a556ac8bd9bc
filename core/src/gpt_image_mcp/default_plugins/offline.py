"""The built-in `offline` provider: draws placeholder images locally, so everything works with no key.

Images are deterministic for a given prompt, seed, size and index. The provider serves the models of the
capability table and is held to their rules, so validation behaves as it will with a real provider.
"""

from __future__ import annotations

import hashlib
import io
import random
from typing import TYPE_CHECKING, ClassVar

import anyio

from gpt_image_mcp.capabilities import ModelCapabilities
from gpt_image_mcp.hookspecs import hookimpl
from gpt_image_mcp.imaging import PIL_FORMAT_BY_OUTPUT
from gpt_image_mcp.progress import Progress
from gpt_image_mcp.provider import ImageProvider
from gpt_image_mcp.types import (
    EditRequest,
    GeneratedImage,
    GenerateRequest,
    ImageOptions,
    ImageResult,
    InputImage,
    Operation,
    VariationRequest,
)

if TYPE_CHECKING:
    from PIL import Image as PILImage

OFFLINE_NOTE = (
    "This image is an offline placeholder drawn locally, not a generated picture. To generate real images, "
    "set PROVIDER=openai with OPENAI_API_KEY (or configure Azure, Together or a custom endpoint)."
)


class OfflineProvider(ImageProvider):
    name = "offline"
    description = "Draws placeholder images locally; no key, no network. The default when nothing is configured."
    operations: ClassVar[frozenset[Operation]] = frozenset(Operation)
    vendors: ClassVar[frozenset[str]] = frozenset({"*"})

    def serves(self, model: ModelCapabilities) -> bool:
        return True

    def adapt_capabilities(self, model: ModelCapabilities) -> ModelCapabilities:
        # Variations are retired upstream, but the placeholder can still show what the tool does.
        if Operation.VARIATION in model.operations:
            return model
        return model.model_copy(update={"operations": model.operations | {Operation.VARIATION}})

    # Drawing is CPU work: it runs in a worker thread so the event loop keeps serving other calls.
    async def generate(self, request: GenerateRequest, progress: Progress) -> ImageResult:
        await progress.stage("drawing offline placeholder")
        images = await anyio.to_thread.run_sync(
            lambda: [_encode(_draw(request.prompt, request, index), request) for index in range(request.n)]
        )
        return self._result(request, images)

    async def edit(self, request: EditRequest, progress: Progress) -> ImageResult:
        await progress.stage("editing offline placeholder")
        return self._result(request, await anyio.to_thread.run_sync(_edit, request))

    async def variation(self, request: VariationRequest, progress: Progress) -> ImageResult:
        await progress.stage("varying offline placeholder")
        return self._result(request, await anyio.to_thread.run_sync(_vary, request))

    def _result(self, request: ImageOptions, images: list[GeneratedImage]) -> ImageResult:
        return ImageResult(images=images, provider=self.name, model=request.model, notes=[OFFLINE_NOTE])


def _edit(request: EditRequest) -> list[GeneratedImage]:
    from PIL import Image

    base = _open(request.images[0])
    size = request.dimensions() or base.size
    mask = _open(request.mask).resize(size) if request.mask else None
    images = []
    for index in range(request.n):
        original = base.resize(size).convert("RGBA")
        drawn = _draw(request.prompt, request, index, size=size).convert("RGBA")
        if mask is None:
            edited = Image.blend(original, drawn, 0.6)
        else:
            # Change only where the mask is transparent, as the real edit endpoint does.
            changeable = mask.convert("RGBA").getchannel("A").point(lambda alpha: 255 if alpha == 0 else 0)
            edited = original.copy()
            edited.paste(drawn, (0, 0), changeable)
        images.append(_encode(edited, request))
    return images


def _vary(request: VariationRequest) -> list[GeneratedImage]:
    from PIL import ImageOps

    base = _open(request.image).convert("RGB")
    size = request.dimensions() or base.size
    images = []
    for index in range(request.n):
        rng = _rng(request.image.data.hex()[:64], request, index)
        shifted = ImageOps.posterize(base.resize(size), rng.randint(2, 5))
        images.append(_encode(ImageOps.colorize(ImageOps.grayscale(shifted), _colour(rng), _colour(rng)), request))
    return images


def _rng(text: str, request: ImageOptions, index: int) -> random.Random:
    key = f"{text}\0{request.seed}\0{request.size}\0{index}".encode()
    return random.Random(hashlib.sha256(key).digest())


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255)


def _draw(prompt: str, request: ImageOptions, index: int, size: tuple[int, int] | None = None) -> PILImage.Image:
    from PIL import Image, ImageDraw

    width, height = size or request.dimensions() or (1024, 1024)
    rng = _rng(prompt, request, index)
    transparent = request.background == "transparent"
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if not transparent:
        top, bottom = _colour(rng), _colour(rng)
        for y in range(0, height, max(1, height // 64)):
            t = y / max(1, height - 1)
            colour = tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
            draw.rectangle((0, y, width, y + max(1, height // 64)), fill=(*colour, 255))
    for _ in range(rng.randint(4, 9)):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        extent = rng.randint(min(width, height) // 10, min(width, height) // 3)
        box = (x0 - extent, y0 - extent, x0 + extent, y0 + extent)
        fill = (*_colour(rng), 255)
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=fill)
    caption = f"offline placeholder #{index + 1}: {prompt[:60]}"
    draw.rectangle((0, height - 28, width, height), fill=(0, 0, 0, 160))
    draw.text((8, height - 22), caption, fill=(255, 255, 255, 255))
    return image


def _open(source: InputImage) -> PILImage.Image:
    from PIL import Image

    image = Image.open(io.BytesIO(source.data))
    image.load()
    return image


def _encode(image: PILImage.Image, request: ImageOptions) -> GeneratedImage:
    fmt = request.output_format or "png"
    pil_format = PIL_FORMAT_BY_OUTPUT[fmt]
    keep_alpha = request.background == "transparent" and pil_format in {"PNG", "WEBP"}
    image = image.convert("RGBA" if keep_alpha else "RGB")
    buffer = io.BytesIO()
    options: dict[str, object] = {}
    if pil_format in {"JPEG", "WEBP"}:
        options["quality"] = request.output_compression if request.output_compression is not None else 90
    image.save(buffer, format=pil_format, **options)
    return GeneratedImage.from_bytes(buffer.getvalue())


@hookimpl
def register_providers(register) -> None:  # noqa: ANN001 - pluggy passes the registry's callable
    register(OfflineProvider())
