"""Turning tool arguments that carry images (base64, data URLs) into checked `InputImage`s."""

from __future__ import annotations

import base64
import binascii
import re

from gpt_image_mcp.errors import InvalidRequestError
from gpt_image_mcp.imaging import inspect_image
from gpt_image_mcp.types import InputImage

MAX_INPUT_IMAGE_BYTES = 50 * 1024 * 1024
ACCEPTED_INPUT_TYPES = ("image/png", "image/jpeg", "image/webp")
_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?:;[\w-]+=[\w-]+)*;base64,", re.IGNORECASE)


def decode_image_argument(value: str, *, label: str) -> InputImage:
    """Decode base64 or a `data:` URL into a checked image; `label` names the argument in errors."""
    text = value.strip()
    if match := _DATA_URL.match(text):
        text = text[match.end() :]
    elif text.startswith(("http://", "https://", "file:", "/", "./", "~")):
        raise InvalidRequestError(
            f"{label}: pass the image as base64 or a data: URL; URLs and file paths are not accepted here"
        )
    text = re.sub(r"\s+", "", text)
    if len(text) * 3 // 4 > MAX_INPUT_IMAGE_BYTES:
        raise InvalidRequestError(f"{label}: image is larger than {MAX_INPUT_IMAGE_BYTES // (1024 * 1024)} MiB")
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequestError(f"{label}: not valid base64 ({exc})") from exc
    if not data:
        raise InvalidRequestError(f"{label}: the image is empty")
    try:
        info = inspect_image(data, error=InvalidRequestError)
    except InvalidRequestError as exc:
        raise InvalidRequestError(f"{label}: {exc.message}") from exc
    if info.mime_type not in ACCEPTED_INPUT_TYPES:
        raise InvalidRequestError(f"{label}: {info.mime_type} is not accepted; use PNG, JPEG or WebP")
    extension = info.mime_type.split("/")[1].replace("jpeg", "jpg")
    return InputImage(
        data=data,
        mime_type=info.mime_type,
        width=info.width,
        height=info.height,
        has_alpha=info.has_alpha,
        filename=f"{label.replace('[', '_').replace(']', '')}.{extension}",
    )
