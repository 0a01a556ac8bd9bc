"""Writing files inside a root folder, safe by construction; reading small files without surprises.

Names from callers are sanitised to a single harmless path component; folders are walked one component
at a time with `O_NOFOLLOW` relative to the previous folder's descriptor, so a symlinked folder (even one
swapped in mid-way) is refused instead of followed; the file is written to a private temp name and
published with `link()`, which fails rather than overwrite an existing file.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import unicodedata
from pathlib import Path

from gpt_image_mcp.errors import InvalidRequestError, SinkError

MAX_NAME_CHARS = 100
MAX_SUBFOLDER_DEPTH = 4
_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", re.IGNORECASE)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
_FILE_MODE = 0o600
_DIR_MODE = 0o700


def sanitize_component(name: str) -> str:
    """One safe path component ('' when nothing usable is left): no separators, controls or dot names."""
    text = unicodedata.normalize("NFKC", name)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = _UNSAFE.sub("_", text.replace("/", "_").replace("\\", "_"))
    text = re.sub(r"_+", "_", text).strip(" ._")
    if _WINDOWS_RESERVED.match(text):
        text = f"_{text}"
    return text[:MAX_NAME_CHARS].rstrip(" .")


def sanitize_subfolder(subfolder: str | None) -> list[str]:
    """Split a caller's subfolder into safe components; '..', '.', drive letters and roots vanish."""
    if not subfolder:
        return []
    parts = [sanitize_component(part) for part in re.split(r"[/\\]+", subfolder)]
    parts = [part for part in parts if part]
    if len(parts) > MAX_SUBFOLDER_DEPTH:
        raise InvalidRequestError(f"subfolder may be at most {MAX_SUBFOLDER_DEPTH} levels deep")
    return parts


def write_new_file(root: Path, subfolder: list[str], stem: str, extension: str, data: bytes) -> Path:
    """Write `data` as a new file under `root`/`subfolder`, never overwriting; returns its absolute path.

    The stem gets `-1`, `-2`... when the name is taken. Raises `SinkError` when the folder cannot be used.
    """
    base = Path(os.path.realpath(root))
    stem = sanitize_component(stem) or "image"
    extension = sanitize_component(extension) or "bin"
    if not supports_descriptor_writes():
        return _write_by_path(base, subfolder, stem, extension, data)
    try:
        base.mkdir(parents=True, exist_ok=True, mode=_DIR_MODE)
        folder_fd = os.open(base, _DIR_FLAGS)
    except OSError as exc:
        raise SinkError(f"cannot use output folder {base}: {exc.strerror}") from exc
    try:
        for part in subfolder:
            child_fd = _enter(folder_fd, part, base)
            os.close(folder_fd)
            folder_fd = child_fd
        return base.joinpath(*subfolder, _publish(folder_fd, stem, extension, data))
    finally:
        os.close(folder_fd)


def supports_descriptor_writes() -> bool:
    return os.link in os.supports_dir_fd and os.open in os.supports_dir_fd and bool(getattr(os, "O_NOFOLLOW", 0))


def _enter(parent_fd: int, part: str, base: Path) -> int:
    """Open (creating if needed) the folder `part` below `parent_fd`; refuse symlinks and files."""
    try:
        os.mkdir(part, _DIR_MODE, dir_fd=parent_fd)
    except FileExistsError:
        pass
    except OSError as exc:
        raise SinkError(f"cannot create folder {part!r} in {base}: {exc.strerror}") from exc
    try:
        return os.open(part, _DIR_FLAGS, dir_fd=parent_fd)
    except OSError as exc:
        raise SinkError(f"refusing to write through {part!r} in {base}: it is not a plain folder") from exc


def _publish(folder_fd: int, stem: str, extension: str, data: bytes) -> str:
    temp = f".{stem[:40]}.{secrets.token_hex(6)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(temp, flags, _FILE_MODE, dir_fd=folder_fd)
    except OSError as exc:
        raise SinkError(f"cannot write in the output folder: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        for attempt in range(10_000):
            name = f"{stem}.{extension}" if attempt == 0 else f"{stem}-{attempt}.{extension}"
            try:
                os.link(temp, name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd, follow_symlinks=False)
            except FileExistsError:
                continue
            return name
        raise SinkError(f"no free file name for {stem}.{extension}")
    except OSError as exc:
        raise SinkError(f"cannot write in the output folder: {exc.strerror}") from exc
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temp, dir_fd=folder_fd)


def _write_by_path(base: Path, subfolder: list[str], stem: str, extension: str, data: bytes) -> Path:
    """Fallback for platforms without descriptor-relative calls: check every component explicitly."""
    folder = base
    try:
        base.mkdir(parents=True, exist_ok=True, mode=_DIR_MODE)
        for part in subfolder:
            folder = folder / part
            if folder.is_symlink():
                raise SinkError(f"refusing to write through {part!r} in {base}: it is a symlink")
            folder.mkdir(exist_ok=True, mode=_DIR_MODE)
    except OSError as exc:
        raise SinkError(f"cannot create folder {folder}: {exc.strerror}") from exc
    if not Path(os.path.realpath(folder)).is_relative_to(base):
        raise SinkError(f"refusing to write outside {base}")
    try:
        path = create_unique_file(folder, stem, f".{extension}", data)
    except OSError as exc:
        raise SinkError(f"cannot write {exc.filename}: {exc.strerror}") from exc
    if path is None:
        raise SinkError(f"no free file name for {stem}.{extension}")
    return path


def create_unique_file(folder: Path, stem: str, suffix: str, data: bytes, *, attempts: int = 10_000) -> Path | None:
    """Write `data` to the first free name of `stem + suffix`, `stem-1 + suffix`, ...; never overwrites.

    None when `attempts` names are all taken; an `OSError` (naming the file) when writing fails.
    """
    for attempt in range(attempts):
        path = folder / (f"{stem}{suffix}" if attempt == 0 else f"{stem}-{attempt}{suffix}")
        try:
            with path.open("xb") as handle:
                handle.write(data)
        except FileExistsError:
            continue
        return path
    return None


class UnreadableFile(ValueError):
    """A file that is not a regular file, or larger than allowed (the text says which, without the path)."""


def read_regular_file(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes, else `UnreadableFile`; OSErrors (a missing file)
    pass through. A FIFO, a device (/dev/zero) or a folder is refused without reading from it: a read could block
    for ever or never end."""
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise UnreadableFile("is not a regular file (a folder, a device or a pipe)")
        if status.st_size > limit:
            raise UnreadableFile(f"is larger than {_size(limit)}")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:  # it grew while read
        raise UnreadableFile(f"is larger than {_size(limit)}")
    return data


def read_text_file(path: Path, *, limit: int = 1024 * 1024) -> str:
    """The UTF-8 text of a regular file of at most `limit` bytes (a key file, a .env, a TOML file).

    Raises `ValueError` with a message naming the file and what is wrong with it: missing, not a regular file
    (a FIFO or /dev/zero would hang or never end), too large, unreadable, not UTF-8.
    """
    try:
        data = read_regular_file(path, limit)
    except FileNotFoundError:
        raise ValueError(f"{path} does not exist") from None
    except UnreadableFile as exc:
        raise ValueError(f"{path} {exc}") from None
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text: is it the right file?") from None


def _size(limit: int) -> str:
    return f"{limit // 2**20} MiB" if limit >= 2**20 else f"{limit // 1024} KiB"
