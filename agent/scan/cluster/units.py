"""Work units of a cluster scan: whole files, nominal byte ranges of plain JSONL, Parquet row groups.

The client plans without reading data: a JSONL, CSV or TSV file larger than `range_bytes` is cut
at nominal offsets (multiples of `range_bytes`), and each worker aligns its range to line starts
itself (a line belongs to the range its first byte is in), Hadoop-style. Its records are numbered
from 1 within the range and the worker counts the lines (rows) of the range; the client renumbers
once the ranges before it are known (agent.scan.cluster.run). A CSV range's start is a guess, as
a quoted field may hold newlines: the client accepts it only where the range before it ended and
otherwise runs the range again from there (`exact_start`; agent.scan.formats.csv_ranges). A
Parquet file is cut at its row groups, read from the footer only. Everything else (compressed
files, which cannot be entered mid-stream; JSON, text, Arrow) is one unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import replace
from pathlib import Path

from agent.scan.formats.parquet_groups import plan_row_groups
from agent.scan.readers import file_format

WHOLE, BYTES, ROWS = "file", "bytes", "rows"
SPLIT_BY_BYTES = ("jsonl", "csv", "tsv")
TABLES = ("csv", "tsv")  # byte ranges whose starts the client checks


def is_table(path: str | Path) -> bool:
    try:
        return file_format(Path(path))[0] in TABLES
    except Exception:  # an unsupported name is never split
        return False


@dataclass(frozen=True, slots=True)
class WorkUnit:
    path: str
    kind: str  # WHOLE | BYTES | ROWS
    start: int = 0  # BYTES: nominal first offset; ROWS: row group index
    end: int = 0  # BYTES: nominal end offset (exclusive); ROWS: rows in the group
    first_row: int = 1  # ROWS: number of the group's first row in the file
    nbytes: int = 0  # bytes the unit reads, for progress and scheduling
    exact_start: int | None = None  # CSV range run again: the row start the range before it ended at
    file_size: int = 0  # the whole file's size (an object's, so a worker need not ask the store)
    tag: str = ""  # an object's content tag as listed (sources.content_tag): the version its units read
    scan: str = ""  # the scan's id: a worker keeps one filesystem per scan (agent.scan.cluster.filesystems)

    @property
    def key(self) -> str:
        """Names the unit within its file (stored in the resume table)."""
        if self.kind == BYTES:
            return f"bytes:{self.start}-{self.end}"
        if self.kind == ROWS:
            return f"rows:{self.start}"
        return WHOLE


def plan_units(path: Path | str, size: int, range_bytes: int, source=None) -> list[WorkUnit]:
    """The units of one file of `size` bytes (a local path, or an object's URL with `source`
    opening it for its Parquet footer), in file order. A Parquet footer that cannot be read makes
    the file one unit: the worker's read then reports why, like a local scan."""
    if range_bytes <= 0:
        raise ValueError("range_bytes must be positive")
    name = str(path)
    kind, compression = file_format(Path(name))
    if kind in SPLIT_BY_BYTES and compression is None and size > range_bytes:
        cuts = list(range(0, size, range_bytes)) + [size]
        return [WorkUnit(name, BYTES, a, b, nbytes=b - a, file_size=size) for a, b in zip(cuts, cuts[1:])]
    if kind == "parquet" and compression is None and size > range_bytes:
        try:
            groups = plan_row_groups(Path(name), source() if source is not None else None)
        except Exception:  # unreadable footer: one unit, whose read names the problem
            groups = []
        if len(groups) > 1:
            return [WorkUnit(name, ROWS, g.index, g.rows, g.first_row, g.nbytes, file_size=size) for g in groups]
    return [WorkUnit(name, WHOLE, nbytes=size, file_size=size)]


TAIL_UNITS_PER_WORKER = 2  # how many of the scan's last units, per worker, are cut smaller
TAIL_PIECES = 4  # into how many pieces each
MIN_PIECE = 1 << 20  # no piece is smaller than this (a task's fixed costs stay small beside it)


def _cuttable(unit: WorkUnit, min_piece: int) -> bool:
    """A plain JSONL unit, which any nominal byte range can split (CSV ranges are left as they
    are: their guessed starts are checked and may run again, the last thing a tail needs)."""
    try:
        kind, compression = file_format(Path(unit.path))
    except Exception:
        return False
    return kind == "jsonl" and compression is None and unit.kind in (WHOLE, BYTES) \
        and unit.exact_start is None and unit.nbytes >= 2 * min_piece


def _pieces(unit: WorkUnit, min_piece: int) -> list[WorkUnit]:
    start, end = (unit.start, unit.end) if unit.kind == BYTES else (0, unit.file_size or unit.nbytes)
    count = max(1, min(TAIL_PIECES, (end - start) // min_piece))
    cuts = [start + (end - start) * i // count for i in range(count)] + [end]
    size = unit.file_size or unit.nbytes
    return [replace(unit, kind=BYTES, start=a, end=b, nbytes=b - a, file_size=size) for a, b in zip(cuts, cuts[1:])]


def split_tail(units: list[WorkUnit], workers: int, min_piece: int = MIN_PIECE) -> list[WorkUnit]:
    """`units` (the whole scan's, in the order they run) with the last TAIL_UNITS_PER_WORKER per
    worker cut into TAIL_PIECES smaller byte ranges where they are plain JSONL. The scan ends when
    its last task does: with whole units, one worker may run a last unit alone while the others
    idle; pieces let them share it. The cut depends only on the units and the number of workers,
    so a scan started again on the same cluster plans the same units and finds its marks; where
    the files still to scan end differently (an interrupted run completed the last ones), a unit
    cut one way and marked the other is run again: its findings are never recorded twice."""
    tail = max(0, len(units) - TAIL_UNITS_PER_WORKER * max(1, workers))
    if workers < 2:  # one worker has nobody to share the tail with
        return list(units)
    out = list(units[:tail])
    for unit in units[tail:]:
        out.extend(_pieces(unit, min_piece) if _cuttable(unit, min_piece) else [unit])
    return out
