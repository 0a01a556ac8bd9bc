"""The image store: durable, bounded, and it survives a restart."""

from __future__ import annotations

from pathlib import Path

import pytest
from gpt_image_mcp.store import ImageStore, parse_image_uri
from gpt_image_mcp.types import GeneratedImage

from tests.helpers import png_bytes


def image(colour: int = 0) -> GeneratedImage:
    return GeneratedImage.from_bytes(png_bytes((32, 32), (colour, 0, 0)))


def test_put_read_and_restart(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "s")
    record = store.put(image(), provider="offline", model="gpt-image-2")
    assert record.uri == f"image://{record.id}" and parse_image_uri(record.uri) == record.id
    again = ImageStore(tmp_path / "s")  # a restart
    found = again.read(record.id)
    assert found is not None and found[1] == image().data and found[0] == record
    assert oct((tmp_path / "s" / record.filename).stat().st_mode & 0o777) == "0o600"


def test_eviction_by_count_and_bytes(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "s", max_count=3)
    records = [store.put(image(i), provider="p", model="m") for i in range(5)]
    assert [r.id for r in store.recent()] == [r.id for r in reversed(records[2:])]
    assert store.read(records[0].id) is None and not (tmp_path / "s" / records[0].filename).exists()
    small = ImageStore(tmp_path / "b", max_bytes=records[0].bytes * 2)
    kept = [small.put(image(), provider="p", model="m") for _ in range(4)]
    assert len(small.recent()) == 2 and small.get(kept[-1].id) is not None


def test_the_newest_image_is_kept_even_when_alone_over_budget(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "s", max_bytes=10)
    record = store.put(image(), provider="p", model="m")
    assert store.read(record.id) is not None


@pytest.mark.parametrize("uri", ["image://../../etc/passwd", "image://ABC", "file:///x", "image://0123456789abcdef/x"])
def test_malformed_uris_are_not_ids(uri: str) -> None:
    assert parse_image_uri(uri) is None


def test_a_file_in_the_way_falls_back_to_a_private_folder(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("not a folder")
    store = ImageStore(tmp_path / "blocker" / "s")
    assert store.folder != tmp_path / "blocker" / "s"
    assert store.folder_problem == f"image store folder {tmp_path / 'blocker' / 's'} is not writable"
    assert ImageStore(tmp_path / "fine").folder_problem is None
    record = store.put(image(), provider="p", model="m")
    assert store.read(record.id) is not None


def test_corrupt_sidecars_are_ignored(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "s")
    store.put(image(), provider="p", model="m")
    (tmp_path / "s" / "0000000000000000.json").write_text("{not json")
    assert len(ImageStore(tmp_path / "s").recent()) == 1


def test_images_written_by_another_process_on_the_same_folder_are_found(tmp_path: Path) -> None:
    first, second = ImageStore(tmp_path / "s"), ImageStore(tmp_path / "s")
    record = second.put(image(), provider="p", model="m")
    found = first.read(record.id)
    assert found is not None and found[0] == record
    assert first.get("0123456789abcdef") is None


def test_an_image_whose_sidecar_was_lost_is_rebuilt_on_start(tmp_path: Path) -> None:
    # Sidecars are written without fsync: after a crash one may be missing or empty, the image not.
    store = ImageStore(tmp_path / "s")
    lost, emptied = (store.put(image(i), provider="openai", model="gpt-image-2") for i in range(2))
    (tmp_path / "s" / f"{lost.id}.json").unlink()
    (tmp_path / "s" / f"{emptied.id}.json").write_text("")
    again = ImageStore(tmp_path / "s")
    for record in (lost, emptied):
        found = again.read(record.id)
        assert found is not None and found[1] == image(int(record is emptied)).data
        rebuilt = found[0]
        assert (rebuilt.mime_type, rebuilt.width, rebuilt.height, rebuilt.sha256) == (
            "image/png",
            32,
            32,
            record.sha256,
        )
        assert (rebuilt.provider, rebuilt.model) == ("unknown", "unknown")
    assert (tmp_path / "s" / f"{lost.id}.json").is_file()  # written back


def test_files_that_are_not_images_of_the_store_are_left_alone(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "0123456789abcdef.png").write_bytes(b"not a png")
    (folder / "notes.txt").write_text("mine")
    (folder / "fedcba9876543210.jpg").write_bytes(png_bytes((8, 8)))  # a PNG under a JPEG name
    store = ImageStore(folder)
    assert store.recent() == []
    assert (folder / "notes.txt").read_text() == "mine"


def test_eviction_after_a_restart_takes_the_oldest_first(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "s")
    records = [store.put(image(i), provider="p", model="m") for i in range(4)]
    smaller = ImageStore(tmp_path / "s", max_count=2)
    assert [r.id for r in smaller.recent()] == [records[3].id, records[2].id]
    newest = smaller.put(image(9), provider="p", model="m")
    assert [r.id for r in smaller.recent()] == [newest.id, records[3].id]
    assert smaller.recent(1) == [newest] and smaller.recent(0) == []


def test_images_written_without_sync_are_synced_in_the_background(tmp_path: Path, monkeypatch) -> None:
    from gpt_image_mcp import store as store_module

    synced: list[int] = []
    real = store_module._sync
    monkeypatch.setattr(store_module, "_sync", lambda fd: (synced.append(fd), real(fd)))
    store = ImageStore(tmp_path / "s")
    records = [store.put(image(i), provider="p", model="m", sync=False) for i in range(3)]
    (tmp_path / "s" / records[1].filename).unlink(missing_ok=True)  # gone before its sync: the others still synced
    assert store.wait_synced(timeout=10)
    assert len(synced) >= 2
    assert all(store.read(r.id) is not None for r in (records[0], records[2]))
    assert ImageStore(tmp_path / "s").read(records[2].id) is not None


def test_the_sync_thread_outlives_an_unexpected_failure(tmp_path: Path, monkeypatch) -> None:
    from gpt_image_mcp import store as store_module

    calls: list[int] = []

    def flaky(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 1:
            raise RuntimeError("no sync on this platform")

    monkeypatch.setattr(store_module, "_sync", flaky)
    store = ImageStore(tmp_path / "s")
    store.put(image(1), provider="p", model="m", sync=False)
    assert store.wait_synced(timeout=10)
    store.put(image(2), provider="p", model="m", sync=False)
    assert store.wait_synced(timeout=10) and len(calls) == 2


def test_an_image_cut_short_is_not_served_under_its_old_record(tmp_path: Path) -> None:
    # A power loss before the background sync can leave the sidecar but an empty image.
    store = ImageStore(tmp_path / "s")
    emptied, cut = (store.put(image(i), provider="p", model="m") for i in range(2))
    (tmp_path / "s" / emptied.filename).write_bytes(b"")
    (tmp_path / "s" / cut.filename).write_bytes(image(1).data[:40])
    again = ImageStore(tmp_path / "s")
    assert again.read(emptied.id) is None and again.read(cut.id) is None
    assert again.recent() == []


def test_links_fifos_and_huge_files_are_not_taken_for_lost_images(tmp_path: Path, monkeypatch) -> None:
    import os

    from gpt_image_mcp import store as store_module

    folder = tmp_path / "s"
    folder.mkdir()
    target = tmp_path / "elsewhere.png"
    target.write_bytes(image().data)
    (folder / "00000000000000aa.png").symlink_to(target)
    os.mkfifo(folder / "00000000000000bb.png")  # reading it would block the start for ever
    (folder / "00000000000000cc.png").write_bytes(image().data)
    monkeypatch.setattr(store_module, "MAX_REBUILD_BYTES", len(image().data) - 1)
    assert ImageStore(folder).recent() == []


def test_concurrent_puts_keep_the_index_in_creation_order(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    store = ImageStore(tmp_path / "s", max_count=1000)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: store.put(image(i % 7), provider="p", model="m", sync=i % 2 == 0), range(80)))
    created = [record.created for record in reversed(store.recent(1000))]
    assert len(created) == 80 and created == sorted(created)
    assert store.wait_synced(timeout=10)


@pytest.mark.anyio
async def test_small_images_are_stored_on_the_event_loop_and_large_ones_in_a_worker_thread(
    make_service, monkeypatch
) -> None:
    import anyio
    from gpt_image_mcp import service as service_module
    from gpt_image_mcp.types import ImageResult

    hops: list[str] = []
    real = anyio.to_thread.run_sync

    async def counting(function, *args, **kwargs):
        hops.append("hop")
        return await real(function, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    service = make_service(provider="offline")
    small = image()
    result = ImageResult(images=[small], provider="offline", model="gpt-image-2")
    record = await service._store(small, result)
    assert hops == [] and service.store.read(record.id) is not None
    monkeypatch.setattr(service_module, "STORE_ON_LOOP_BYTES", len(small.data) - 1)
    record = await service._store(small, result)
    assert hops == ["hop"] and service.store.read(record.id) is not None
    assert service.store.wait_synced(timeout=10)


def _disk_full(monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from gpt_image_mcp import store as store_module

    def full(path, data, *, sync):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_module, "_write", full)


def test_an_image_the_folder_cannot_take_is_kept_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ImageStore(tmp_path / "s")
    monkeypatch.undo()
    _disk_full(monkeypatch)
    record = store.put(image(3), provider="p", model="m")
    assert record.in_memory and "No space left on device" in (store.write_problem or "")
    found = store.read(record.id)
    assert found is not None and found[1] == image(3).data and store.recent() == [record]
    assert not list((tmp_path / "s").iterdir())  # nothing half-written left behind
    monkeypatch.undo()
    on_disk = store.put(image(4), provider="p", model="m")
    assert not on_disk.in_memory and store.write_problem is None
    assert ImageStore(tmp_path / "s").read(on_disk.id) is not None


def test_images_kept_in_memory_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gpt_image_mcp import store as store_module

    store = ImageStore(tmp_path / "s")
    _disk_full(monkeypatch)
    monkeypatch.setattr(store_module, "MEMORY_MAX_BYTES", max(len(image(i).data) for i in range(4)) * 2)
    records = [store.put(image(i), provider="p", model="m") for i in range(4)]
    assert [r.id for r in store.recent()] == [r.id for r in reversed(records[2:])]
    assert store.read(records[0].id) is None and store.read(records[3].id) is not None


@pytest.mark.anyio
async def test_a_call_whose_images_stay_in_memory_says_so(make_service, monkeypatch: pytest.MonkeyPatch) -> None:
    from gpt_image_mcp.http import readiness_warnings

    service = make_service(provider="offline")
    _disk_full(monkeypatch)
    outcome = await service.generate(prompt="fox", size="1024x1024")
    (delivered,) = outcome.delivered
    assert delivered.stored.in_memory and service.store.read(delivered.image_id) is not None
    assert any("No space left on device: the images are kept in memory" in note for note in outcome.notes)
    assert any("new images are kept in memory only" in warning for warning in readiness_warnings(service))


def test_a_damaged_image_with_a_valid_sidecar_is_set_aside_not_rebuilt(tmp_path: Path) -> None:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(buffer, format="JPEG")
    jpeg = GeneratedImage.from_bytes(buffer.getvalue())
    store = ImageStore(tmp_path / "s")
    record = store.put(jpeg, provider="p", model="m")
    path = tmp_path / "s" / record.filename
    path.write_bytes(jpeg.data[: len(jpeg.data) // 2])  # JPEG headers survive: it would pass a rebuild
    again = ImageStore(tmp_path / "s")
    assert again.read(record.id) is None and again.recent() == []
    assert (tmp_path / "s" / f".{record.filename}.damaged").read_bytes() == jpeg.data[: len(jpeg.data) // 2]
    assert again.get(record.id) is None


def test_a_sidecar_with_wrong_field_types_is_rebuilt_from_its_image(tmp_path: Path) -> None:
    import json

    store = ImageStore(tmp_path / "s")
    records = [store.put(image(i), provider="p", model="m") for i in range(2)]
    sidecar = tmp_path / "s" / f"{records[0].id}.json"
    sidecar.write_text(json.dumps(json.loads(sidecar.read_text()) | {"created": "yesterday", "mime_type": ["x"]}))
    again = ImageStore(tmp_path / "s")
    assert {r.id for r in again.recent()} == {r.id for r in records}
    assert again.get(records[0].id).provider == "unknown"


def test_old_leftovers_are_removed_at_start_young_ones_kept(tmp_path: Path) -> None:
    import os
    import time

    store = ImageStore(tmp_path / "s")
    kept = store.put(image(), provider="p", model="m")
    folder = tmp_path / "s"
    old_temp, young_temp = folder / ".x.png.0a0b.tmp", folder / ".y.png.0c0d.tmp"
    orphan = folder / "00000000000000ff.json"
    for path in (old_temp, young_temp, orphan):
        path.write_text("{}")
    past = time.time() - 2 * 3600
    for path in (old_temp, orphan):
        os.utime(path, (past, past))
    ImageStore(folder)
    assert not old_temp.exists() and not orphan.exists() and young_temp.exists()
    assert ImageStore(folder).read(kept.id) is not None


def test_a_failed_background_sync_is_reported(tmp_path: Path, monkeypatch, caplog: pytest.LogCaptureFixture) -> None:
    import errno

    from gpt_image_mcp import store as store_module

    def broken(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(store_module, "_sync", broken)
    store = ImageStore(tmp_path / "s")
    store.put(image(), provider="p", model="m", sync=False)
    assert store.wait_synced(timeout=10) is False
    assert "Could not sync image" in caplog.text and "Input/output error" in caplog.text


@pytest.mark.anyio
async def test_no_image_of_a_call_is_evicted_for_another_of_the_same_call(make_service) -> None:
    service = make_service(provider="offline", image_store_max_count="1")
    outcome = await service.generate(prompt="fox", n=3, size="1024x1024")
    assert all(service.store.read(item.image_id) is not None for item in outcome.delivered)
    later = await service.generate(prompt="fox", size="1024x1024")  # the next call makes room again
    assert [r.id for r in service.store.recent()] == [later.delivered[0].image_id]
