"""How much the writer still has to store: records and bytes past its position, and how old the
oldest of them is.

Counting records means reading frames, so it is done incrementally: a cursor runs ahead of the
writer over what the proxy has appended since the last count, and the writer's own progress is
subtracted as it goes. Each record is read once by the count and once by the writer, both from
the page cache; the bytes come from the segment sizes alone.
"""

from __future__ import annotations

from agent.proxy.journal import Journal
from agent.proxy.journal import Position
from agent.proxy.record import decode

COUNT_BATCH_RECORDS = 5_000
COUNT_BATCH_BYTES = 8 << 20
COUNT_MAX_BYTES_PER_CALL = 256 << 20  # a beat never reads more than this; the next one goes on


class Backlog:
    def __init__(self, journal: Journal, position: Position) -> None:
        self.journal = journal
        self._cursor = position
        self._ahead = 0  # records between the writer's position and the cursor
        self.complete = True  # False while the count has not caught up with the journal's end

    def consumed(self, records: int, end: Position) -> None:
        """The writer read `records` records and is now at `end`."""
        if end >= self._cursor:
            self._cursor, self._ahead = end, 0
        else:
            self._ahead = max(0, self._ahead - records)

    def records(self) -> int:
        read = 0
        self.complete = False
        while read < COUNT_MAX_BYTES_PER_CALL:
            payloads, end = self.journal.read(self._cursor, max_records=COUNT_BATCH_RECORDS,
                                              max_bytes=COUNT_BATCH_BYTES)
            self._cursor = end
            if not payloads:
                self.complete = True
                break
            self._ahead += len(payloads)
            read += sum(len(p) for p in payloads)
        return self._ahead

    def bytes_after(self, position: Position) -> int:
        total = 0
        for seq in self.journal.segments():
            if seq < position.segment:
                continue
            try:
                size = self.journal._seg_path(seq).stat().st_size  # the journal's own naming
            except FileNotFoundError:
                continue
            total += max(0, size - position.offset) if seq == position.segment else size
        return total

    def oldest_captured_at(self, position: Position) -> float | None:
        """When the oldest call still waiting was captured (None when none is waiting)."""
        payloads, _ = self.journal.read(position, max_records=1, max_bytes=64 << 10)  # one record, not 16 MB
        if not payloads:
            return None
        try:
            ex = decode(payloads[0])
        except Exception:  # an undecodable record is quarantined by the writer; no time to give
            return None
        return ex.finished or ex.request.ts
