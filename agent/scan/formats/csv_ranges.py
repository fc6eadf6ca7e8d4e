"""CSV and TSV read in byte ranges, so one large table can be split across workers.

A range can only be entered where a row starts, and a quoted field may hold newlines: the byte
after a newline is not always a row start, and no local test tells (a quote count is wrong for
the `5" screen` cells the csv module reads literally). So a range is entered by a guess that is
checked afterwards. Reading a range that started at a true row start, the reader passes only
true row starts between rows; it stops before the first row (or blank line) starting at or after
the range's nominal end and reports that offset, the range's true end. The next range guesses
its start (the first line start at or after its nominal start) and reports the guess; the
caller, who gets the ranges in file order, accepts a range only when its start is the true end
of the range before it, and reads it again from that end otherwise (`start_is_known`). The first
range starts at 0 and is always right, so by induction every accepted range is. Every range
reads the header again from the start of the file; its records are numbered from 1, and
`RangeRows.rows` says how many record numbers it used, so the caller can renumber them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from agent.scan.readers import FileReadError
from agent.scan.readers import Record
from agent.scan.readers import RecordError
from agent.scan.readers.common import _open
from agent.scan.readers.common import _Stream
from agent.scan.readers.table import RowBoundary
from agent.scan.readers.table import _read_table


@dataclass(slots=True)
class RangeRows:
    """What a range read found out about its bounds (filled in as the read ends)."""

    start: int = 0  # where it started (0, a guessed line start, or a start it was given)
    end: int | None = None  # the true start of the next range (the file's size at the end)
    rows: int = 0  # record numbers used (data rows, malformed ones too; blank lines are none)


def delimiter_of(path: Path) -> str:
    return "\t" if Path(path).name.lower().endswith(".tsv") else ","


def start_is_known(start: int, previous_end: int, first: bool) -> bool:
    """Whether a range that started at `start` is one to accept: the first range always (it
    starts at 0), any other only where the range before it really ended. A range before it
    that could not be read (`previous_end` 0) leaves nothing to check against; the file is then
    recorded as an error and read again by the next scan."""
    return first or not previous_end or start == previous_end


def read_csv_range(path: Path, start: int, nominal_end: int, bounds: RangeRows, raw=None,
                   size: int | None = None) -> Iterator[Record | RecordError]:
    """The records of the rows that start in [start, nominal_end) (uncompressed CSV/TSV),
    numbered from 1; `bounds` gets the true end and the rows used when the iterator ends. `raw`
    and `size`: the file already open (seekable, binary; an object store's file) and its size."""
    size = Path(path).stat().st_size if size is None else size
    bounds.start = start
    boundary = RowBoundary(nominal_end)
    try:
        stream = _open(Path(path), None) if raw is None else _Stream(Path(path), None, raw, raw, seekable=True)
    except OSError as e:
        raise FileReadError(path, e.strerror or str(e)) from None
    with stream:
        try:
            yield from _read_table(stream, delimiter_of(path), start, 0, boundary)
        except FileReadError as error:
            raise FileReadError(path, error.reason) from None
    bounds.rows = boundary.rows
    bounds.end = size if boundary.rest_unread or boundary.reached is None else min(boundary.reached, size)
