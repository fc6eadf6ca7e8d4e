"""Capture accounting: captured = stored + pending + dropped{reason}, at every moment.

A call counts as captured once: when the writer stores it, when it is dropped (by the hook: full
journal, hook error; by the writer: a poison record), never for a replay of a call already
stored. Pending is what the journal holds and the writer has not yet stored. Persisted counts
are written in the same transaction as the rows they describe, so they never run ahead of or
behind the data; `journaled` is a live count of the running process only.
"""

from __future__ import annotations

import threading
from collections import Counter


class CaptureCounters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals: Counter[str] = Counter()
        self._unflushed: Counter[str] = Counter()

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._totals[name] += n
            self._unflushed[name] += n

    def drop(self, reason: str, n: int = 1) -> None:
        """A call lost before the writer saw it: captured, and dropped for `reason`."""
        with self._lock:
            for name in ("captured", f"dropped:{reason}"):
                self._totals[name] += n
                self._unflushed[name] += n

    def live(self, name: str, n: int = 1) -> None:
        """A count for this process only (never persisted), such as `journaled`."""
        with self._lock:
            self._totals[name] += n

    def totals(self) -> dict[str, int]:
        with self._lock:
            return dict(self._totals)

    def take_unflushed(self) -> dict[str, int]:
        with self._lock:
            out, self._unflushed = dict(self._unflushed), Counter()
            return out

    def add_committed(self, deltas: dict[str, int]) -> None:
        """Counts the writer already persisted with its rows: totals only."""
        with self._lock:
            self._totals.update(deltas)

    def restore_unflushed(self, deltas: dict[str, int]) -> None:
        """A flush that did not commit: its deltas go back to be written with the next one."""
        with self._lock:
            self._unflushed.update(deltas)

    def pending(self) -> int:
        """Journaled by this process and not yet stored or dropped by the writer."""
        t = self.totals()
        done = t.get("stored", 0) + t.get("dropped:poison", 0) + t.get("replayed", 0)
        return max(0, t.get("journaled", 0) - done)
