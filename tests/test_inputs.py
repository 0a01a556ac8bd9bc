"""Input images by path: only regular files of a bounded size are read; anything else is refused at once."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from gpt_image_mcp.errors import InvalidRequestError
from gpt_image_mcp.inputs import InputResolver
from gpt_image_mcp.store import ImageStore

from tests.helpers import png_bytes


@pytest.fixture
def resolver(tmp_path: Path) -> InputResolver:
    return InputResolver(ImageStore(tmp_path / "store"), [tmp_path, Path("/dev")])


def resolve_soon(resolver: InputResolver, value: str) -> BaseException | object:
    """Resolve in a thread; a read that blocks fails the test instead of hanging it."""
    outcome: list[BaseException | object] = []

    def run() -> None:
        try:
            outcome.append(resolver.resolve(value, label="image"))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(5)
    assert outcome, f"resolving {value!r} blocked"
    return outcome[0]


def test_a_pipe_a_device_and_a_folder_are_refused_without_reading(resolver: InputResolver, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.png")
    (tmp_path / "folder.png").mkdir()
    for value, shown in ((str(tmp_path / "pipe.png"), "pipe.png"), ("/dev/zero", "/dev/zero"), ("folder.png", "")):
        error = resolve_soon(resolver, value)
        assert isinstance(error, InvalidRequestError), error
        assert "is not a regular file" in error.message and shown in error.message


def test_a_file_too_large_is_refused(resolver: InputResolver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gpt_image_mcp import inputs

    (tmp_path / "big.png").write_bytes(png_bytes())
    monkeypatch.setattr(inputs, "MAX_INPUT_IMAGE_BYTES", 100)
    error = resolve_soon(resolver, "big.png")
    assert isinstance(error, InvalidRequestError) and "is larger than" in error.message


def test_a_nul_in_a_path_is_a_clear_error(resolver: InputResolver, tmp_path: Path) -> None:
    (tmp_path / "good.png").write_bytes(png_bytes())
    error = resolve_soon(resolver, f"{tmp_path / 'good.png'}\x00.txt")
    assert isinstance(error, InvalidRequestError) and "cannot contain a NUL character" in error.message
    image = resolve_soon(resolver, "good.png")
    assert not isinstance(image, BaseException) and image.width == 64


def test_file_uris_with_localhost_and_escapes_name_local_files(resolver: InputResolver, tmp_path: Path) -> None:
    (tmp_path / "my image.png").write_bytes(png_bytes())
    (tmp_path / "frame#12?.png").write_bytes(png_bytes())
    for uri in (
        f"file://{tmp_path}/my%20image.png",
        f"file://localhost{tmp_path}/my%20image.png",
        f"file://LOCALHOST{tmp_path}/frame#12?.png",
    ):
        image = resolve_soon(resolver, uri)
        assert not isinstance(image, BaseException), image
    error = resolve_soon(resolver, f"file://other.host{tmp_path}/my%20image.png")
    assert isinstance(error, InvalidRequestError) and "names a file on another host" in error.message
