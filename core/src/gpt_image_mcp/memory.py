"""Large images go straight back to the system when freed (glibc only; elsewhere a no-op).

A 4K image passes through the server as ~25 MB of bytes and as many of decoded pixels. glibc serves blocks that
large with mmap and unmaps them when freed, but each such free raises its mmap threshold (up to 32 MB), so the
next image's blocks come from the heap, whose freed memory glibc keeps: the resident size grows with every large
image. Fixing the threshold keeps large blocks on mmap. Measured with `bench/run.py --only images`: peak growth
over six 4K images 90 MiB (3.8x the image) with glibc's default, 68 MiB (2.9x, no more than the first image's)
with the threshold fixed, at the same speed.
"""

from __future__ import annotations

import ctypes
import logging
import sys

logger = logging.getLogger(__name__)

#: Blocks from this size on are mmapped (glibc's own default starts at 128 KiB and moves).
MMAP_THRESHOLD_BYTES = 8 * 1024 * 1024
_M_MMAP_THRESHOLD = -3  # from glibc's malloc.h


def keep_large_blocks_on_mmap(threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Fix glibc's mmap threshold at `threshold` bytes; True when done (False: not glibc, or refused).

    An operator's `MALLOC_MMAP_THRESHOLD_` in the environment wins: nothing is changed then.
    """
    import os

    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process runs on
    except (OSError, AttributeError):  # e.g. musl, which has no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    done = mallopt(_M_MMAP_THRESHOLD, threshold) == 1
    if not done:
        logger.debug("mallopt(M_MMAP_THRESHOLD, %d) was refused", threshold)
    return done
