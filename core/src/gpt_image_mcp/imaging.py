"""Small Pillow helpers: sniff image bytes. Pillow is imported on first use, not at start-up."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gpt_image_mcp.errors import BadUpstreamResponseError

if TYPE_CHECKING:
    from PIL import Image

MIME_BY_PIL_FORMAT = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
PIL_FORMAT_BY_OUTPUT = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP"}

# Refuse decompression bombs well above the largest image any model makes (3840x2160 and 4096x4096).
MAX_DECODE_PIXELS = 40_000_000


@dataclass(frozen=True)
class ImageInfo:
    mime_type: str
    width: int
    height: int
    has_alpha: bool


def inspect_image(data: bytes, error: type[Exception] = BadUpstreamResponseError) -> ImageInfo:
    """Identify the format, size and alpha of image bytes, or raise `error` when they are no image."""
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_DECODE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused explicitly below
            with Image.open(io.BytesIO(data)) as image:
                image.verify()
            with Image.open(io.BytesIO(data)) as image:
                fmt = image.format or ""
                size = image.size
                has_alpha = image.mode in {"RGBA", "LA", "PA"} or (image.mode == "P" and "transparency" in image.info)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise error(f"the bytes are not a readable image ({type(exc).__name__})") from exc
    if size[0] * size[1] > MAX_DECODE_PIXELS:
        # Pillow itself only refuses at twice its limit; a few KB of PNG can claim gigabytes.
        raise error(f"the image is {size[0]}x{size[1]}: more than {MAX_DECODE_PIXELS:,} pixels")
    mime = MIME_BY_PIL_FORMAT.get(fmt)
    if mime is None:
        raise error(f"unsupported image format {fmt or 'unknown'}; expected PNG, JPEG or WebP")
    return ImageInfo(mime_type=mime, width=size[0], height=size[1], has_alpha=has_alpha)


@dataclass(frozen=True)
class Preview:
    data: bytes
    mime_type: str
    width: int
    height: int


PREVIEW_MAX_EDGE = 1024
PREVIEW_MIN_EDGE = 32


def make_preview(data: bytes, *, has_alpha: bool, max_bytes: int) -> Preview | None:
    """A downscaled copy under `max_bytes`: JPEG for opaque images, PNG when alpha matters.

    Shrinks step by step (and lowers JPEG quality) until it fits; None when even the smallest does not.
    """
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_DECODE_PIXELS
    mode = "RGBA" if has_alpha else "RGB"
    with Image.open(io.BytesIO(data)) as source:
        source.load()
        # convert() copies even when the mode is already right: one decoded copy less (25 MB for a 4K RGB image).
        image = source if source.mode == mode else source.convert(mode)
        return _shrink(image, has_alpha=has_alpha, max_bytes=max_bytes)


def _shrink(image: Image.Image, *, has_alpha: bool, max_bytes: int) -> Preview | None:
    from PIL import Image

    scale = min(1.0, PREVIEW_MAX_EDGE / max(image.size))
    while True:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        if max(size) < PREVIEW_MIN_EDGE:
            return None
        resized = image.resize(size, Image.Resampling.LANCZOS) if size != image.size else image
        for quality in (None,) if has_alpha else (85, 70, 55):
            buffer = io.BytesIO()
            if has_alpha:
                resized.save(buffer, format="PNG", optimize=True)
            else:
                resized.save(buffer, format="JPEG", quality=quality, optimize=True)
            if buffer.tell() <= max_bytes:
                mime = "image/png" if has_alpha else "image/jpeg"
                return Preview(data=buffer.getvalue(), mime_type=mime, width=size[0], height=size[1])
        scale *= 0.7
