"""Small Pillow helpers: sniff image bytes. Pillow is imported on first use, not at start-up."""

from __future__ import annotations

import io
from dataclasses import dataclass

from gpt_image_mcp.errors import BadUpstreamResponseError

MIME_BY_PIL_FORMAT = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
PIL_FORMAT_BY_OUTPUT = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP"}
MIME_BY_OUTPUT = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg", "webp": "image/webp"}

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
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            fmt = image.format or ""
            size = image.size
            has_alpha = image.mode in {"RGBA", "LA", "PA"} or (image.mode == "P" and "transparency" in image.info)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise error(f"the bytes are not a readable image ({type(exc).__name__})") from exc
    mime = MIME_BY_PIL_FORMAT.get(fmt)
    if mime is None:
        raise error(f"unsupported image format {fmt or 'unknown'}; expected PNG, JPEG or WebP")
    return ImageInfo(mime_type=mime, width=size[0], height=size[1], has_alpha=has_alpha)
