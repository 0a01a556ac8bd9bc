"""The workspace sink writes only inside its root, never overwrites, and refuses symlinked folders."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from gpt_image_mcp import safe_files
from gpt_image_mcp.default_plugins.workspace_sink import WorkspaceSink
from gpt_image_mcp.errors import SinkError
from gpt_image_mcp.safe_files import sanitize_component, sanitize_subfolder, write_new_file
from gpt_image_mcp.sink import SaveContext
from gpt_image_mcp.types import GeneratedImage

from tests.helpers import png_bytes

pytestmark = pytest.mark.anyio

HOSTILE = [
    "../escape",
    "../../etc/passwd",
    "/etc/passwd",
    "/tmp/abs.png",
    "..",
    ".",
    "...",
    "./../x",
    "a/../../b",
    "..\\..\\windows\\system32",
    "C:\\Windows\\evil.png",
    "C:evil",
    "\\\\server\\share\\x",
    "%2e%2e%2fescape",
    "%2e%2e/%2e%2e/x",
    "..%2f..%2fx",
    "\x00hidden",
    "name\x00.png",
    "nul",
    "CON",
    "com1.png",
    "lpt9",
    "aux.txt",
    "~/.ssh/authorized_keys",
    "~root",
    "$HOME/x",
    "`rm -rf /`",
    "a\nb",
    "tab\tname",
    "\u202eexe.png",
    "\u2024\u2024/x",
    "\uff0e\uff0e\uff0fescape",
    "．．／escape",
    "folder/",
    "////",
    "\\",
    " ",
    "",
    ".hidden",
    "-rf",
    "x" * 500,
    "emoji-🦊.png",
    "日本語の名前",
    "a:b:c",
    "question?.png",
    "star*.png",
    "pipe|name",
    'quote"name',
    "<tag>",
    "file:///etc/passwd",
    "image://0123456789abcdef",
]


def test_the_corpus_is_large_enough() -> None:
    assert len(HOSTILE) >= 40


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_and_subfolders_never_write_outside_the_root(tmp_path: Path, name: str) -> None:
    root = tmp_path / "root"
    outside_before = {p for p in tmp_path.rglob("*")} - {root}
    try:
        path = write_new_file(root, sanitize_subfolder(name), name, "png", b"data")
    except Exception as exc:  # refusing is fine; writing outside is not
        assert isinstance(exc, SinkError | ValueError) or "subfolder" in str(exc)
    else:
        assert Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))
        assert path.read_bytes() == b"data"
        assert oct(path.stat().st_mode & 0o777) == "0o600"
    created = {p for p in tmp_path.rglob("*")} - outside_before
    assert all(p == root or p.is_relative_to(root) for p in created)


@pytest.mark.parametrize("name", HOSTILE)
async def test_sink_with_hostile_filename_and_subfolder(tmp_path: Path, name: str) -> None:
    root = tmp_path / "root"
    image = GeneratedImage.from_bytes(png_bytes())
    context = SaveContext(
        provider="p", model="m", image_id="0" * 16, workspace=str(root), filename=name, subfolder=name, prompt=name
    )
    saved = await WorkspaceSink().save(image, context)
    assert saved.path is not None
    assert Path(os.path.realpath(saved.path)).is_relative_to(os.path.realpath(root))
    assert saved.path.endswith(".png") and saved.uri == Path(saved.path).as_uri()


def test_component_sanitising_examples() -> None:
    assert sanitize_component("../../etc/passwd") == "etc_passwd"
    assert sanitize_component("CON") == "_CON"
    assert sanitize_component("\u202eexe.png") == "exe.png"
    assert sanitize_component("emoji-🦊.png") == "emoji-_.png"
    assert sanitize_subfolder("a/../b\\c") == ["a", "b", "c"]
    with pytest.raises(Exception, match="levels deep"):
        sanitize_subfolder("a/b/c/d/e")


def test_a_symlinked_folder_is_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "link").symlink_to(outside)
    with pytest.raises(SinkError, match="not a plain folder"):
        write_new_file(root, ["link"], "x", "png", b"data")
    assert not list(outside.iterdir())


def test_a_symlink_swapped_in_for_the_file_name_is_not_followed(tmp_path: Path) -> None:
    root, target = tmp_path / "root", tmp_path / "victim.txt"
    root.mkdir()
    target.write_text("precious")
    (root / "image.png").symlink_to(target)
    path = write_new_file(root, [], "image", "png", b"data")
    assert path.name == "image-1.png" and target.read_text() == "precious"


def test_a_symlink_swapped_in_for_a_folder_between_calls(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    outside.mkdir()
    write_new_file(root, ["sub"], "first", "png", b"1")
    (root / "sub" / "first.png").unlink()
    (root / "sub").rmdir()
    (root / "sub").symlink_to(outside)
    with pytest.raises(SinkError):
        write_new_file(root, ["sub"], "second", "png", b"2")
    assert not list(outside.iterdir())


def test_never_overwrites_and_leaves_no_temp_files(tmp_path: Path) -> None:
    first = write_new_file(tmp_path, [], "same", "png", b"1")
    second = write_new_file(tmp_path, [], "same", "png", b"2")
    assert (first.name, second.name) == ("same.png", "same-1.png")
    assert first.read_bytes() == b"1" and second.read_bytes() == b"2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["same-1.png", "same.png"]


def test_concurrent_saves_never_overwrite(tmp_path: Path) -> None:
    results: list[Path] = []
    lock = threading.Lock()

    def save(i: int) -> None:
        path = write_new_file(tmp_path, ["c"], "race", "png", str(i).encode())
        with lock:
            results.append(path)

    threads = [threading.Thread(target=save, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({p.name for p in results}) == 40
    assert sorted(p.read_bytes() for p in results) == sorted(str(i).encode() for i in range(40))


def test_without_descriptor_calls_names_are_still_unique_and_symlinks_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The by-path fallback (platforms without dir_fd calls) keeps the same promises."""
    monkeypatch.setattr(safe_files, "supports_descriptor_writes", lambda: False)
    root, outside = tmp_path / "root", tmp_path / "outside"
    first = write_new_file(root, ["a", "b"], "same", "png", b"1")
    second = write_new_file(root, ["a", "b"], "same", "png", b"2")
    assert (first, second) == (root / "a" / "b" / "same.png", root / "a" / "b" / "same-1.png")
    assert first.read_bytes() == b"1" and second.read_bytes() == b"2"
    outside.mkdir()
    (root / "link").symlink_to(outside)
    with pytest.raises(SinkError, match="symlink"):
        write_new_file(root, ["link"], "x", "png", b"data")
    assert not list(outside.iterdir())


def test_create_unique_file_reports_a_full_range_and_write_errors(tmp_path: Path) -> None:
    (tmp_path / "x.png").write_bytes(b"taken")
    (tmp_path / "x-1.png").write_bytes(b"taken")
    assert safe_files.create_unique_file(tmp_path, "x", ".png", b"new", attempts=2) is None
    with pytest.raises(OSError) as info:
        safe_files.create_unique_file(tmp_path / "missing", "x", ".png", b"new")
    assert info.value.filename == str(tmp_path / "missing" / "x.png")
