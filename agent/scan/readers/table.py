"""CSV and TSV: one record per data row, each cell a field named by the header."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from agent.scan.readers.common import MAX_RECORD_BYTES
from agent.scan.readers.common import FileReadError
from agent.scan.readers.common import Record
from agent.scan.readers.common import RecordError
from agent.scan.readers.common import _Decoder
from agent.scan.readers.common import _Line
from agent.scan.readers.common import _lines
from agent.scan.readers.common import _one_line
from agent.scan.readers.common import _Stream
from agent.scan.readers.common import _too_long


class _RowTooLarge(Exception):
    pass


class _LineFeed:
    """Decoded lines for csv.reader, remembering the bytes behind the current row."""

    def __init__(self, lines: Iterator[_Line], decoder: _Decoder):
        self._lines = lines
        self.decoder = decoder
        self.row_bytes: list[bytes] = []
        self.row_size = 0
        self.end = 0
        self.warnings: list[RecordError] = []
        self.number = 0

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        data, end, terminated, length = next(self._lines)
        if data is None or self.row_size + length > MAX_RECORD_BYTES:
            self.end = end
            raise _RowTooLarge(length + self.row_size)
        if terminated:
            self.end = end
        self.row_bytes.append(data)
        self.row_size += length + 1
        text, warning = self.decoder.decode(data, self.number + 1)
        if warning:
            self.warnings.append(warning)
        return text + "\n" if terminated else text

    def take_row(self) -> bytes:
        raw = b"\n".join(self.row_bytes)
        self.row_bytes, self.row_size = [], 0
        return raw


def _header_names(cells: list[str]) -> list[str]:
    names: list[str] = []
    for position, cell in enumerate(cells):
        name = cell.strip().lstrip("\ufeff") or f"column{position + 1}"
        while name in names:
            name = f"{name}_{position + 1}"
        names.append(name)
    return names


class RowBoundary:
    """Where a read that stops early stopped (agent.scan.formats.csv_ranges): it stops before the
    first row (or blank line) starting at or after `stop_at`, and notes that row's offset
    (`reached`; the file's size once nothing is left), the last record number used, and whether
    an over-long row ended the read of the whole file (`rest_unread`, as in a whole-file read)."""

    def __init__(self, stop_at: int) -> None:
        self.stop_at = stop_at
        self.reached: int | None = None
        self.rows = 0
        self.rest_unread = False


def _read_table(stream: _Stream, delimiter: str, start_offset: int,
                start_record: int, boundary: RowBoundary | None = None) -> Iterator[Record | RecordError]:
    csv.field_size_limit(MAX_RECORD_BYTES)  # process-wide; the stdlib default (128 KiB) is too small
    decoder = _Decoder()
    feed = _LineFeed(_lines(stream), decoder)
    reader = csv.reader(feed, delimiter=delimiter)
    try:
        header = next(reader)
        while not header:
            header = next(reader)
    except StopIteration:
        raise FileReadError("", "no header row") from None
    except (csv.Error, _RowTooLarge) as error:
        raise FileReadError("", f"unreadable header row: {_one_line(error)}") from None
    names = _header_names(header)
    feed.take_row()
    yield from feed.warnings
    feed.warnings.clear()
    number = 0
    if start_offset:
        # The header was read from the start; continue at the first unconsumed row.
        stream.restart_at(start_offset)
        feed = _LineFeed(_lines(stream), decoder)
        feed.end = start_offset
        reader = csv.reader(feed, delimiter=delimiter)
        number = start_record
    feed.number = number
    while True:
        # between rows the reader is never inside a quoted field: feed.end is where a row starts
        if boundary is not None and feed.end >= boundary.stop_at:
            boundary.reached, boundary.rows = feed.end, number
            return
        try:
            row = next(reader)
        except StopIteration:
            if boundary is not None:
                boundary.reached, boundary.rows = stream.position, number
            return
        except _RowTooLarge as error:
            yield _too_long(number + 1, int(str(error)), feed.end, "row")
            yield RecordError(number + 1, "cannot find the next row after an over-long row; "
                                          "the rest of the file is not read", feed.end)
            if boundary is not None:  # a local read stops here too: no later range is read
                boundary.rest_unread, boundary.rows = True, number
            return
        except csv.Error as error:
            number += 1
            feed.take_row()
            feed.number = number
            yield RecordError(number, f"malformed row: {_one_line(error)}", feed.end)
            continue
        raw = feed.take_row()
        yield from feed.warnings
        feed.warnings.clear()
        if not row:
            continue
        number += 1
        feed.number = number
        if number <= start_record:
            continue
        if len(row) != len(names):
            yield RecordError(number, f"expected {len(names)} cells (one per header column), "
                                      f"found {len(row)}", feed.end)
            continue
        fields = [(name, cell) for name, cell in zip(names, row) if cell and not cell.isspace()]
        yield Record(number, fields, feed.end, raw=raw)


# ---- text / Markdown ------------------------------------------------------------------------
