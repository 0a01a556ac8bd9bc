"""glibc's mmap threshold is fixed at start, so large images do not leave the resident size higher."""

from __future__ import annotations

import ctypes
import sys
from types import SimpleNamespace

import pytest
from gpt_image_mcp.memory import keep_large_blocks_on_mmap


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux-only")
def test_the_threshold_is_fixed_on_glibc(monkeypatch) -> None:
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    seen: list[tuple[int, int]] = []

    def mallopt(option: int, value: int) -> int:
        seen.append((option, value))
        return 1

    monkeypatch.setattr(ctypes, "CDLL", lambda name: SimpleNamespace(mallopt=mallopt))
    assert keep_large_blocks_on_mmap(8 << 20)
    assert seen == [(-3, 8 << 20)]


def test_an_operators_setting_wins_and_other_c_libraries_are_left_alone(monkeypatch) -> None:
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "1048576")
    assert not keep_large_blocks_on_mmap()
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_")

    class NoMallopt:  # musl, for one
        pass

    monkeypatch.setattr(ctypes, "CDLL", lambda name: NoMallopt())
    assert not keep_large_blocks_on_mmap()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux-only")
def test_glibc_takes_the_setting() -> None:
    try:
        ctypes.CDLL(None).mallopt  # noqa: B018
    except AttributeError:
        pytest.skip("not glibc")
    assert keep_large_blocks_on_mmap()
