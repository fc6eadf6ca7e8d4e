"""JSONL read in byte ranges, so one multi-gigabyte file can be split across workers.

`plan_ranges` cuts a file at line boundaries into ranges of about `target_bytes`, in one pass that
only counts newlines (no parsing), and gives each range the 1-based number of its first line:
records read from a range alone carry the numbers a whole-file read gives them. `read_range`
reads one range with the same parser, errors and limits as agent.scan.readers (it stops at the
range's end; offsets stay absolute). `read_spans` reads back single records by the byte spans a
scan noted (agent.scan.sketch), without touching the rest of the file.

Stable API (the distributed scan, issue 15, builds on it; change it only compatibly):
- `ByteRange(start, end, first_line)`: frozen; `start` is 0 or just after a newline, `end` just
  after a newline or the file's end, `first_line` the 1-based number of the line at `start`.
  The ranges of one plan are contiguous, in order, and cover the file; a file without newlines
  (or an empty one) is one range.
- `plan_ranges(path, target_bytes) -> list[ByteRange]`: ValueError when target_bytes <= 0.
- `read_range(path, byte_range)`: yields Record / RecordError exactly as
  `agent.scan.readers.read_records(path)` yields them for the lines of that range (numbers,
  fields, sha256, absolute `end_offset`); FileReadError when the file cannot be opened.
  Uncompressed JSONL only (a compressed stream cannot be entered at an offset).
- `read_spans(path, [(start, end, number), ...])`: one Record (or RecordError) per span.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from agent.scan.readers import FileReadError
from agent.scan.readers import Record
from agent.scan.readers import RecordError
from agent.scan.readers.common import _Stream
from agent.scan.readers.common import string_fields
from agent.scan.readers.jsonl import _parse_json_line
from agent.scan.readers.jsonl import _read_jsonl

_COUNT_CHUNK = 8 << 20


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int  # offset of the first byte of a line (0, or just after a newline)
    end: int  # offset just after the range's last newline (or the file's end)
    first_line: int  # 1-based number of the line starting at `start`


def plan_ranges(path: Path, target_bytes: int) -> list[ByteRange]:
    """Ranges covering the whole file, each ending at a line end at or after `target_bytes` into it."""
    if target_bytes <= 0:
        raise ValueError("target_bytes must be positive")
    ranges: list[ByteRange] = []
    start, first_line, lines, position = 0, 1, 0, 0
    cut_after = target_bytes
    with open(path, "rb") as f:
        while chunk := f.read(_COUNT_CHUNK):
            at = 0
            while position + len(chunk) > cut_after:
                newline = chunk.find(b"\n", max(at, cut_after - position))
                if newline < 0:
                    break
                lines += chunk.count(b"\n", at, newline + 1)
                end = position + newline + 1
                ranges.append(ByteRange(start, end, first_line))
                start, first_line, at = end, lines + 1, newline + 1
                cut_after = end + target_bytes
            lines += chunk.count(b"\n", at)
            position += len(chunk)
    if position > start or not ranges:
        ranges.append(ByteRange(start, position, first_line))
    return ranges


class _Window:
    """A file seen only up to `end` (reads stop there), seekable."""

    def __init__(self, raw, end: int) -> None:
        self.raw, self.end = raw, end

    def seek(self, offset: int) -> None:
        self.raw.seek(offset)

    def read(self, size: int = -1) -> bytes:
        left = self.end - self.raw.tell()
        if left <= 0:
            return b""
        return self.raw.read(left if size < 0 else min(size, left))

    read1 = read

    def close(self) -> None:
        self.raw.close()


def read_range(path: Path, byte_range: ByteRange, raw=None) -> Iterator[Record | RecordError]:
    """The records of one range (uncompressed JSONL), numbered as in the whole file. `raw`: the
    file already open (seekable, binary; an object store's file), closed at the end."""
    try:
        raw = raw if raw is not None else open(path, "rb")
    except OSError as e:
        raise FileReadError(path, e.strerror or str(e)) from None
    with _Stream(Path(path), None, raw, _Window(raw, byte_range.end), seekable=True) as stream:
        yield from _read_jsonl(stream, byte_range.start, byte_range.first_line - 1)


def read_spans(path: Path, spans: Iterable[tuple[int, int, int]]) -> Iterator[Record | RecordError]:
    """Records read back by (start, end, number): the record is the last non-blank line of its span
    (a span starts after the previous record, so blank lines before it are in it too)."""
    try:
        raw = open(path, "rb")
    except OSError as e:
        raise FileReadError(path, e.strerror or str(e)) from None
    with raw:
        for start, end, number in spans:
            raw.seek(start)
            data = raw.read(max(0, end - start))
            line = next((piece for piece in reversed(data.split(b"\n")) if piece.strip()), b"")
            if line.endswith(b"\r"):
                line = line[:-1]
            try:
                value = _parse_json_line(line.decode("utf-8", "replace"))
            except json.JSONDecodeError:
                yield RecordError(number, "record changed since it was scanned (no longer one JSON value)", end)
                continue
            yield Record(number, string_fields(value), end, raw=line)
