"""Helpers shared by tests: tiny images and base64."""

from __future__ import annotations

import base64
import io

from PIL import Image


def png_bytes(size: tuple[int, int] = (64, 64), colour: tuple[int, ...] = (200, 30, 30), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def decode_image(data_b64: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(data_b64)))
    image.load()
    return image
