"""Memory management tuned for scanning: freed memory kept for reuse, fewer full GC passes.

keep_freed_memory: matching a batch allocates and frees the same temporaries over and over (prepared bytes, token
and 5-gram hash arrays, per-piece hashing arrays), many between 128 KiB and a few MiB. glibc
serves those with fresh mmap()s or trims them off the heap on free, so every batch faulted its
working set in again, zero-filled by the kernel: ~25,000 page faults and 0.06 s of system time
per 12 MB scanned, and 20-25 % of the scan's CPU time. With allocations under 8 MiB served from
the heap and up to 32 MiB of free heap kept, the page faults disappear (same benchmark: scan
24-25 MB/s -> 29-31 MB/s). The cost is that much freed memory staying mapped per malloc arena.

Only glibc has mallopt; elsewhere this does nothing.

fewer_full_collections: a scan holds a batch of records (a few thousand Record objects, field
lists and tuples) while matching it, so they outlive the young generations and are promoted;
every ~25 % growth of the old generation then triggers a full collection that walks every live
object of the process. In a process holding ~140 k objects (the benchmark; a watcher with
SQLAlchemy loaded holds more) that was ~20 % of the scan's CPU time: 26 MB/s, against 33 MB/s
with full collections ten times rarer and 35 MB/s with the collector off. While any scan runs,
the third threshold is raised to 100 (from 10); young collections are unchanged, so garbage
cycles are still found, only the full passes come later.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 8 << 20
TRIM_THRESHOLD = 32 << 20

_lock = threading.Lock()
_done = False


def keep_freed_memory() -> bool:
    """Tune glibc malloc for the scanner's allocation pattern, once per process; True if applied."""
    global _done
    with _lock:
        if _done:
            return True
        if not sys.platform.startswith("linux"):
            return False
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            mallopt = libc.mallopt
        except (OSError, AttributeError):
            return False  # not glibc (e.g. musl has no mallopt)
        mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        mallopt.restype = ctypes.c_int
        _done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
        return _done


FULL_COLLECTION_THRESHOLD = 100
_scans = 0
_saved_threshold: tuple[int, ...] | None = None


@contextmanager
def fewer_full_collections() -> Iterator[None]:
    """Raise the full-collection threshold while any scan is running (nests across threads)."""
    global _scans, _saved_threshold
    with _lock:
        if _scans == 0:
            _saved_threshold = gc.get_threshold()
            young, middle, old = _saved_threshold
            gc.set_threshold(young, middle, max(old, FULL_COLLECTION_THRESHOLD))
        _scans += 1
    try:
        yield
    finally:
        with _lock:
            _scans -= 1
            if _scans == 0 and _saved_threshold is not None:
                gc.set_threshold(*_saved_threshold)
                _saved_threshold = None
