"""The image store: every image the server receives is kept here first, on disk, bounded.

A generated image has been paid for, so it is written here before any sink runs: a sink failure or a
restart never loses it. Each image gets an id; `image://{id}` serves it back as an MCP resource and lets
a later call (an edit) refer to it without resending megabytes of base64.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import queue
import re
import secrets
import stat
import tempfile
import threading
import time
from collections.abc import Collection
from dataclasses import asdict, dataclass
from pathlib import Path

from gpt_image_mcp.types import GeneratedImage

logger = logging.getLogger(__name__)

IMAGE_URI_PREFIX = "image://"
_ID_PATTERN = re.compile(r"^[0-9a-f]{16}$")
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}
_MIME_BY_EXTENSION = {extension: mime for mime, extension in _EXTENSIONS.items()}
#: Files above this size are not taken for lost images of the store when their sidecar is missing.
MAX_REBUILD_BYTES = 256 * 1024 * 1024
#: Images kept in memory when the folder cannot be written take at most this much; the oldest go first.
MEMORY_MAX_BYTES = 256 * 1024 * 1024
#: Leftovers (temporary files of a write cut short, sidecars without their image) older than this are removed
#: at start; younger ones may belong to another server process writing right now.
LEFTOVER_AGE_SECONDS = 3600.0
_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "id": str, "mime_type": str, "width": int, "height": int, "bytes": int, "sha256": str,
    "created": (int, float), "provider": str, "model": str, "partial": bool,
}  # fmt: skip
# fdatasync skips metadata the image does not need; macOS and Windows only have fsync (which on Windows needs a
# file opened for writing).
_sync = getattr(os, "fdatasync", os.fsync)
_SYNC_OPEN_FLAGS = os.O_RDWR if os.name == "nt" else os.O_RDONLY
UNKNOWN = "unknown"


@dataclass(frozen=True)
class StoredImage:
    """Metadata of one stored image; the bytes stay on disk."""

    id: str
    mime_type: str
    width: int
    height: int
    bytes: int
    sha256: str
    created: float
    provider: str
    model: str
    partial: bool = False
    #: The folder could not be written (disk full, read-only): the image is kept in memory until the server stops.
    in_memory: bool = False

    @property
    def uri(self) -> str:
        return f"{IMAGE_URI_PREFIX}{self.id}"

    @property
    def filename(self) -> str:
        return f"{self.id}.{_EXTENSIONS.get(self.mime_type, 'bin')}"


def parse_image_uri(uri: str) -> str | None:
    """The id in `image://<id>`, or None when `uri` is not a well-formed image URI."""
    if not uri.startswith(IMAGE_URI_PREFIX):
        return None
    image_id = uri[len(IMAGE_URI_PREFIX) :].strip("/")
    return image_id if _ID_PATTERN.match(image_id) else None


class ImageStore:
    """A folder of images with JSON sidecars, evicting the oldest beyond `max_count` or `max_bytes`."""

    def __init__(self, folder: Path, *, max_count: int = 500, max_bytes: int = 2 * 1024**3) -> None:
        self.folder = _usable_folder(folder)
        #: Why the configured folder is not the one in use (it could not be written), else None.
        self.folder_problem = None if self.folder == folder else f"image store folder {folder} is not writable"
        self.max_count = max_count
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._syncer = _BackgroundSync()
        self._index: dict[str, StoredImage] = {}  # in creation order
        self._total_bytes = 0
        self._last_created = 0.0
        self._memory: dict[str, bytes] = {}  # images the folder could not take, in creation order
        #: Why the last image could not be written to the folder (None: the last write worked).
        self.write_problem: str | None = None
        self._load()

    def _load(self) -> None:
        records = []
        now = time.time()
        for path in self.folder.iterdir():
            stem, dot, extension = path.name.partition(".")
            if path.name.startswith(".") and path.name.endswith((".tmp", ".damaged")):
                _remove_leftover(path, now)
                continue
            if not (dot and _ID_PATTERN.match(stem)):
                continue
            if extension == "json":
                if not any((self.folder / f"{stem}.{ext}").exists() for ext in _MIME_BY_EXTENSION):
                    _remove_leftover(path, now)  # its image was evicted (or never arrived) by a process that stopped
                continue
            if extension not in _MIME_BY_EXTENSION:
                continue
            claimed = self._parse_sidecar(self.folder / f"{stem}.json")
            if claimed is None:
                record = self._rebuild_record(path)  # sidecars are written without fsync: one may be lost
            elif self._matches(claimed):
                record = claimed
            else:
                # A valid sidecar that its image does not match: the image was damaged (cut short by a power loss
                # before its sync); serving it, or rebuilding a record from it, would hand out broken bytes.
                _set_aside(path, "it does not match its record (cut short?)")
                continue
            if record is not None:
                records.append(record)
        for record in sorted(records, key=lambda r: r.created):
            self._index[record.id] = record
            self._total_bytes += record.bytes
            self._last_created = max(self._last_created, record.created)
        self._evict()

    def _rebuild_record(self, path: Path) -> StoredImage | None:
        """A record for an image whose sidecar is missing or unreadable (sidecars are written without fsync)."""
        from gpt_image_mcp.imaging import inspect_image

        try:
            status = path.lstat()
            # Never a link, a FIFO (it would block the start) or a file larger than any image.
            if not stat.S_ISREG(status.st_mode) or not 0 < status.st_size <= MAX_REBUILD_BYTES:
                logger.warning("Ignoring store entry %s: not an image file of this store", path.name)
                return None
            data = path.read_bytes()
            info = inspect_image(data, error=ValueError)
        except (OSError, ValueError) as exc:
            logger.warning("Ignoring unreadable store entry %s: %s", path.name, exc)
            return None
        if _MIME_BY_EXTENSION[path.suffix[1:]] != info.mime_type:
            logger.warning("Ignoring store entry %s: its content is %s", path.name, info.mime_type)
            return None
        record = StoredImage(
            id=path.name.split(".")[0],
            mime_type=info.mime_type,
            width=info.width,
            height=info.height,
            bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            created=path.stat().st_mtime,
            provider=UNKNOWN,
            model=UNKNOWN,
        )
        try:
            _write(self.folder / f"{record.id}.json", _sidecar(record), sync=False)
        except OSError as exc:
            logger.debug("Could not rewrite the sidecar of %s: %s", path.name, exc)
        return record

    def _read_sidecar(self, sidecar: Path) -> StoredImage | None:
        """The record of a sidecar whose image is there and matches it; None otherwise."""
        record = self._parse_sidecar(sidecar)
        return record if record is not None and self._matches(record) else None

    def _parse_sidecar(self, sidecar: Path) -> StoredImage | None:
        """The record a sidecar holds; None when it is missing, unreadable or not a record of this store."""
        try:
            fields = json.loads(sidecar.read_text(encoding="utf-8"))
            if not isinstance(fields, dict):
                raise ValueError("not a JSON object")
            fields.pop("in_memory", None)
            record = StoredImage(**fields)
            wrong = [name for name, kind in _FIELD_TYPES.items() if not isinstance(getattr(record, name), kind)]
            if wrong:
                raise ValueError(f"wrong type of {', '.join(wrong)}")
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as exc:
            logger.warning("Ignoring unreadable store entry %s: %s", sidecar.name, exc)
            return None
        if not (_ID_PATTERN.match(record.id) and sidecar.name == f"{record.id}.json"):
            return None
        return record if record.mime_type in _EXTENSIONS else None

    def _matches(self, record: StoredImage) -> bool:
        """Whether the record's image is a regular file of the recorded size."""
        try:
            status = (self.folder / record.filename).lstat()
        except OSError:
            return False
        # An image cut short (e.g. by a power loss before its background sync) does not match its sidecar.
        return stat.S_ISREG(status.st_mode) and status.st_size == record.bytes

    def put(
        self,
        image: GeneratedImage,
        *,
        provider: str,
        model: str,
        partial: bool = False,
        sync: bool = True,
        keep: Collection[str] = (),
    ) -> StoredImage:
        """Write the image (temp file + rename) and return its record.

        With `sync` the image is on disk (fdatasync) when this returns; without, it is in the kernel's page cache
        (safe from a crash of this process) and a background thread syncs it moments later (`wait_synced`).
        When the folder cannot take it (disk full, read-only), the image is kept in memory instead (the record
        says `in_memory`, `write_problem` says why): a paid-for image is never dropped for want of disk space.
        Eviction to make room never takes this image nor the ids in `keep` (the other images of the same call).
        """
        record = StoredImage(
            id=secrets.token_hex(8),
            mime_type=image.mime_type,
            width=image.width,
            height=image.height,
            bytes=len(image.data),
            sha256=image.sha256,
            created=self._next_timestamp(),
            provider=provider,
            model=model,
            partial=partial,
        )
        # The sidecar is never synced: a lost one is rebuilt from the image on the next start.
        path = self.folder / record.filename
        try:
            _write(path, image.data, sync=sync)
            _write(self.folder / f"{record.id}.json", _sidecar(record), sync=False)
        except OSError as exc:
            path.unlink(missing_ok=True)
            self.write_problem = f"cannot write to the image store {self.folder}: {exc.strerror or exc}"
            logger.warning("%s; image %s is kept in memory until the server stops", self.write_problem, record.id)
            record = dataclasses.replace(record, in_memory=True)
        else:
            self.write_problem = None
            if not sync:
                self._syncer.submit(path)
        with self._lock:
            if record.in_memory:
                self._memory[record.id] = image.data
            newest = next(reversed(self._index.values()), None)
            self._index[record.id] = record
            if newest is not None and newest.created > record.created:
                # Another thread's put took its timestamp later but got here first: keep creation order.
                self._index = dict(sorted(self._index.items(), key=lambda item: item[1].created))
            self._total_bytes += record.bytes
            self._evict(keep={record.id, *keep})
        return record

    def _next_timestamp(self) -> float:
        # Strictly increasing, so "oldest first" is well defined even within one clock tick.
        with self._lock:
            self._last_created = max(time.time(), self._last_created + 1e-6)
            return self._last_created

    def get(self, image_id: str) -> StoredImage | None:
        """The record of `image_id`; also finds images another server process wrote to the same folder."""
        with self._lock:
            record = self._index.get(image_id)
        if record is None and _ID_PATTERN.match(image_id):
            record = self._read_sidecar(self.folder / f"{image_id}.json")
            if record is not None:
                with self._lock:
                    if record.id not in self._index:
                        self._index[record.id] = record
                        self._total_bytes += record.bytes
                        # Keep the index in creation order: eviction takes the oldest from the front.
                        self._index = dict(sorted(self._index.items(), key=lambda item: item[1].created))
        return record

    def read(self, image_id: str) -> tuple[StoredImage, bytes] | None:
        record = self.get(image_id)
        if record is None:
            return None
        if record.in_memory:
            with self._lock:
                data = self._memory.get(record.id)
            return (record, data) if data is not None else None
        try:
            return record, (self.folder / record.filename).read_bytes()
        except OSError:
            return None

    def recent(self, limit: int = 50) -> list[StoredImage]:
        with self._lock:
            records = list(self._index.values())
        return records[: -limit - 1 : -1] if limit > 0 else []

    def _evict(self, keep: Collection[str] = ()) -> None:
        # The index is in creation order, so the oldest images are at the front.
        while len(self._index) > self.max_count or self._total_bytes > self.max_bytes or self._memory_over():
            over_memory = self._memory_over()
            oldest = next(
                (r for r in self._index.values() if r.id not in keep and (r.in_memory or not over_memory)), None
            )
            if oldest is None:
                return
            del self._index[oldest.id]
            self._total_bytes -= oldest.bytes
            if oldest.in_memory:
                del self._memory[oldest.id]
                continue
            for path in (self.folder / oldest.filename, self.folder / f"{oldest.id}.json"):
                path.unlink(missing_ok=True)

    def _memory_over(self) -> bool:
        return len(self._memory) > 1 and sum(map(len, self._memory.values())) > MEMORY_MAX_BYTES

    def wait_synced(self, timeout: float = 10.0) -> bool:
        """Wait until every image written without `sync` is on disk; False when `timeout` passed first."""
        return self._syncer.wait(timeout)


class _BackgroundSync:
    """One daemon thread that fdatasyncs the files it is handed, in order, started on first use."""

    def __init__(self) -> None:
        self._pending: queue.SimpleQueue[Path] = queue.SimpleQueue()
        self._idle = threading.Condition()
        self._unsynced = 0
        #: Syncs that failed for another reason than the file being gone (EIO, ENOSPC...).
        self.failures = 0
        self._thread: threading.Thread | None = None

    def submit(self, path: Path) -> None:
        with self._idle:
            self._unsynced += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="image-store-sync", daemon=True)
                self._thread.start()
        self._pending.put(path)

    def wait(self, timeout: float) -> bool:
        """Whether everything handed over was synced within `timeout`, and no sync failed."""
        with self._idle:
            return self._idle.wait_for(lambda: self._unsynced == 0, timeout) and self.failures == 0

    def _run(self) -> None:
        while True:
            path = self._pending.get()
            try:
                fd = os.open(path, _SYNC_OPEN_FLAGS)
                try:
                    _sync(fd)
                finally:
                    os.close(fd)
            except FileNotFoundError:  # evicted or removed meanwhile: nothing left to sync
                logger.debug("Not syncing %s: it is gone", path.name)
            except OSError as exc:
                self.failures += 1
                logger.warning("Could not sync image %s to disk: %s", path.name, exc.strerror or exc)
            except Exception:  # the thread must live on, or every later image would wait forever
                logger.exception("Could not sync %s", path.name)
            finally:
                with self._idle:
                    self._unsynced -= 1
                    self._idle.notify_all()


def _usable_folder(folder: Path) -> Path:
    """`folder`, created private; a private temp folder (with a warning) when it cannot be written."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        probe = folder / f".probe-{secrets.token_hex(4)}"
        probe.write_bytes(b"")
        probe.unlink()
        return folder
    except OSError as exc:
        # A fresh private folder: a predictable shared name in /tmp could be created first by another user.
        fallback = Path(tempfile.mkdtemp(prefix="gpt-image-mcp-store-"))
        logger.warning("Image store folder %s is not writable (%s); using %s", folder, exc.strerror, fallback)
        return fallback


def _sidecar(record: StoredImage) -> bytes:
    fields = asdict(record)
    del fields["in_memory"]
    return json.dumps(fields).encode()


def _remove_leftover(path: Path, now: float) -> None:
    try:
        status = path.lstat()
        if stat.S_ISREG(status.st_mode) and now - status.st_mtime > LEFTOVER_AGE_SECONDS:
            path.unlink()
    except OSError as exc:
        logger.debug("Could not remove store leftover %s: %s", path.name, exc)


def _set_aside(path: Path, why: str) -> None:
    """Rename a damaged image to a hidden name the store ignores (and removes after a while), keeping its bytes."""
    logger.warning("Setting store entry %s aside: %s", path.name, why)
    aside = path.with_name(f".{path.name}.damaged")
    try:
        path.rename(aside)
        os.utime(aside)  # kept for LEFTOVER_AGE_SECONDS from now, not from when the image was written
    except OSError as exc:
        logger.warning("Could not set %s aside: %s", path.name, exc.strerror or exc)


def _write(path: Path, data: bytes, *, sync: bool) -> None:
    """Write through a temporary name and rename, so a reader never sees half a file."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if sync:
                handle.flush()
                _sync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
