"""Turning tool arguments that carry images (base64, data URLs, image:// ids, paths) into `InputImage`s."""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote

from gpt_image_mcp.errors import InvalidRequestError, brief
from gpt_image_mcp.imaging import inspect_image
from gpt_image_mcp.safe_files import UnreadableFile, read_regular_file
from gpt_image_mcp.store import IMAGE_URI_PREFIX, ImageStore, parse_image_uri
from gpt_image_mcp.types import InputImage

MAX_INPUT_IMAGE_BYTES = 50 * 1024 * 1024
ACCEPTED_INPUT_TYPES = ("image/png", "image/jpeg", "image/webp")
_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?:;[\w-]+=[\w-]+)*;base64,", re.IGNORECASE)


def decode_image_argument(value: str, *, label: str) -> InputImage:
    """Decode base64 or a `data:` URL into a checked image; `label` names the argument in errors."""
    text = value.strip()
    if match := _DATA_URL.match(text):
        text = text[match.end() :]
    elif text.lower().startswith(("http://", "https://", "file:")):
        raise InvalidRequestError(f"{label}: pass the image as base64 or a data: URL; URLs are not accepted here")
    text = re.sub(r"\s+", "", text)
    if len(text) * 3 // 4 > MAX_INPUT_IMAGE_BYTES:
        raise InvalidRequestError(f"{label}: image is larger than {MAX_INPUT_IMAGE_BYTES // (1024 * 1024)} MiB")
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequestError(f"{label}: not valid base64 ({exc})") from exc
    return _checked(data, label)


def _checked(data: bytes, label: str, *, filename: str | None = None) -> InputImage:
    if not data:
        raise InvalidRequestError(f"{label}: the image is empty")
    try:
        info = inspect_image(data, error=InvalidRequestError)
    except InvalidRequestError as exc:
        raise InvalidRequestError(f"{label}: {exc.message}") from exc
    if info.mime_type not in ACCEPTED_INPUT_TYPES:
        raise InvalidRequestError(f"{label}: {info.mime_type} is not accepted; use PNG, JPEG or WebP")
    extension = info.mime_type.split("/")[1].replace("jpeg", "jpg")
    stem = Path(filename).stem if filename else re.sub(r"\W+", "_", label).strip("_")
    return InputImage(
        data=data,
        mime_type=info.mime_type,
        width=info.width,
        height=info.height,
        has_alpha=info.has_alpha,
        filename=f"{stem}.{extension}",
    )


MAX_REFERENCE_CHARS = 4096


class InputResolver:
    """Accepts an image argument in every form an LLM can reasonably emit.

    base64 or a data: URL; `image://<id>` of an image this server made (so "generate, then edit that
    image" takes two short calls); a file path or file:// URI inside `allowed_dirs` (the workspace roots
    and the output folder). Remote URLs and paths elsewhere are refused.
    """

    def __init__(self, store: ImageStore, allowed_dirs: Sequence[Path]) -> None:
        self.store = store
        self.allowed_dirs = [Path(os.path.realpath(directory.expanduser())) for directory in allowed_dirs]

    def resolve(self, value: str, *, label: str) -> InputImage:
        text = value.strip()
        if text.startswith(IMAGE_URI_PREFIX):
            return self._from_store(text, label)
        if text.lower().startswith(("http://", "https://")):
            raise InvalidRequestError(
                f"{label}: remote URLs are not accepted; pass an image:// id, a file path in the workspace, or base64"
            )
        if _DATA_URL.match(text) or not looks_like_path(text):
            return decode_image_argument(text, label=label)
        return self._from_file(text, label)

    def _from_store(self, uri: str, label: str) -> InputImage:
        image_id = parse_image_uri(uri)
        found = self.store.read(image_id) if image_id else None
        if found is None:
            raise InvalidRequestError(
                f"{label}: {brief(uri)} is not an image of this server (it may have been evicted)"
            )
        record, data = found
        return _checked(data, label, filename=record.filename)

    def _from_file(self, text: str, label: str) -> InputImage:
        raw = _file_uri_path(text) if text.startswith("file://") else text
        if "\x00" in raw:
            raise InvalidRequestError(f"{label}: a file path cannot contain a NUL character")
        candidate = Path(raw).expanduser()
        if not candidate.is_absolute():
            if not self.allowed_dirs:
                raise InvalidRequestError(f"{label}: relative path {raw!r} but no workspace folder is known")
            candidate = self.allowed_dirs[0] / candidate
        real = Path(os.path.realpath(candidate))
        if not any(real.is_relative_to(directory) for directory in self.allowed_dirs):
            allowed = ", ".join(str(directory) for directory in self.allowed_dirs) or "none configured"
            raise InvalidRequestError(
                f"{label}: {raw} is outside the folders images may be read from ({allowed}); "
                "pass base64 or an image:// id instead"
            )
        try:
            data = read_regular_file(real, MAX_INPUT_IMAGE_BYTES)
        except FileNotFoundError as exc:
            raise InvalidRequestError(f"{label}: file {raw} does not exist") from exc
        except UnreadableFile as exc:
            raise InvalidRequestError(f"{label}: {raw} {exc}") from None
        except OSError as exc:
            raise InvalidRequestError(f"{label}: cannot read {raw}: {exc.strerror}") from exc
        return _checked(data, label, filename=real.name)


def _file_uri_path(uri: str) -> str:
    """The path of a file:// URI (`file:///x`, `file://localhost/x`, percent-escapes undone); another host's
    file is refused."""
    host, slash, path = uri[len("file://") :].partition("/")  # not urlsplit: '#' and '?' are part of a file name
    if host.lower() not in ("", "localhost"):
        raise InvalidRequestError(f"{brief(uri)} names a file on another host ({host}); pass base64 instead")
    return unquote(slash + path)


def looks_like_path(text: str) -> bool:
    """Paths have a dot, a backslash, a ~, a file: scheme or a leading slash; base64 has none of these
    except the leading slash of JPEG data ("/9j/...")."""
    if len(text) > MAX_REFERENCE_CHARS:
        return False
    if text.startswith("/"):
        return not text.startswith("/9j/")
    return text.startswith(("file://", "~")) or "." in text or "\\" in text
