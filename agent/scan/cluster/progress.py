"""Progress of a cluster scan on stderr: tasks done of all, records and MB read on every worker,
and the cluster's MB/s. Redrawn in place on a terminal; otherwise one line every
`PLAIN_EVERY` seconds (logs of a batch job), and always a last line."""

from __future__ import annotations

import sys
import time

PLAIN_EVERY = 30.0


class ClusterProgress:
    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.start = time.perf_counter()
        self.last = 0.0

    def line(self, state) -> str:
        seconds = max(1e-9, time.perf_counter() - self.start)
        mb = state.bytes / 1e6
        return (f"cluster: {state.tasks_done}/{state.tasks_total} tasks, {state.records} records, "
                f"{mb:.1f} MB, {mb / seconds:.1f} MB/s")

    def update(self, state, force: bool = False) -> None:
        now = time.perf_counter()
        if self.tty:
            if force or now - self.last >= 0.2:
                self.stream.write(f"\r\x1b[K{self.line(state)}")
                self.stream.flush()
                self.last = now
        elif force or now - self.last >= PLAIN_EVERY:
            self.stream.write(self.line(state) + "\n")
            self.stream.flush()
            self.last = now

    def clear(self) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
