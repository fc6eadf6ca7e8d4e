"""What a worker does with one work unit: read its records, match them, return the matches.

No database is touched here: a worker needs the fingerprint index (its plugin, see
agent.scan.cluster.index_plugin) and read access to the dataset files, nothing else. Matches
come back with the record's number, sha256 and end offset, which is all the client needs to
record them; JSONL byte ranges number their records from 1 and report how many lines start in
the range, so the client can give them their numbers in the whole file.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from agent.reuse.matching import OutputMatch
from agent.reuse.matching import ReuseDetector
from agent.reuse.spans import attach_spans
from agent.scan.cluster.units import BYTES
from agent.scan.cluster.units import ROWS
from agent.scan.cluster.units import WorkUnit
from agent.scan.cluster.units import is_table
from agent.scan.formats.csv_ranges import RangeRows
from agent.scan.formats.csv_ranges import read_csv_range
from agent.scan.formats.jsonl_ranges import ByteRange
from agent.scan.formats.jsonl_ranges import read_range
from agent.scan.formats.parquet_groups import RowGroup
from agent.scan.formats.parquet_groups import read_row_group
from agent.scan.readers import FileReadError
from agent.scan.readers import Record
from agent.scan.readers import RecordError
from agent.scan.readers import read_records
from agent.scan.sketch import SketchBuilder
from agent.scan.sources import is_url

_SCAN_CHUNK = 1 << 20


@dataclass(slots=True)
class UnitResult:
    path: str
    key: str
    local_numbers: bool  # record numbers count from 1 within a JSONL range (see `lines`)
    lines: int = 0  # JSONL range: lines whose first byte is in the range
    records: int = 0
    bad_records: int = 0
    max_record: int = 0  # highest record number read (as numbered in this result)
    max_end: int = 0  # highest end offset of a record read
    nbytes: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # CPU the task's thread used (the rest of the worker's CPU is Dask's)
    # number, sha256, end offset, matches, matched spans (spans.attach_spans) of each matched record
    matches: list[tuple[int, str, int, list[OutputMatch], list[dict]]] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)  # record number, message
    fatal: str | None = None  # the unit could not be read (further): why
    worker: str = ""
    start: int = 0  # CSV range: where it started (checked by the client against the range before)
    end: int = 0  # CSV range: where the next range must start (a row start)
    # the unit's part of the file's incremental sketch (agent.scan.sketch; local files only, as in
    # a local scan): numbered as the records here, joined by the client (agent.scan.sketch.merge)
    sketch: object = None


def line_start_at_or_after(raw, offset: int, size: int) -> int:
    """Offset of the first line that starts at or after `offset` (`size` when none does)."""
    if offset <= 0:
        return 0
    raw.seek(offset - 1)
    position = offset - 1
    while chunk := raw.read(_SCAN_CHUNK):
        at = chunk.find(b"\n")
        if at >= 0:
            return position + at + 1
        position += len(chunk)
    return size


def count_newlines(raw, start: int, end: int) -> int:
    raw.seek(start)
    count, left = 0, end - start
    while left > 0 and (chunk := raw.read(min(_SCAN_CHUNK, left))):
        count += chunk.count(b"\n")
        left -= len(chunk)
    return count


def aligned_range(path: Path, unit: WorkUnit, raw=None, size: int | None = None) -> tuple[ByteRange, int]:
    """The line-aligned range of a nominal JSONL range, and how many lines start in it (`raw`,
    `size`: the file already open, left open, and its size)."""
    size = os.stat(path).st_size if size is None else size
    with (open(path, "rb") if raw is None else nullcontext(raw)) as raw:
        start = line_start_at_or_after(raw, unit.start, size)
        end = line_start_at_or_after(raw, min(unit.end, size), size) if unit.end < size else size
        end = max(start, end)
        lines = count_newlines(raw, start, end)
        if end == size and end > start:  # a last line without a newline is a line too
            raw.seek(end - 1)
            lines += raw.read(1) != b"\n"
    return ByteRange(start, end, 1), lines


def _csv_range(path: Path, unit: WorkUnit, result: UnitResult, opener=None,
               size: int | None = None) -> Iterator[Record | RecordError]:
    """A CSV/TSV range from its given or guessed start; its bounds go into `result` at the end.
    Not the last range: `max_end` is the true end, which the next range is checked against (also
    after a resume, from the stored mark). `opener`/`size`: how to open the file (an object's)."""
    size = os.stat(path).st_size if size is None else size
    start = unit.exact_start
    if start is None:
        with (open(path, "rb") if opener is None else opener()) as raw:
            start = line_start_at_or_after(raw, unit.start, size)
    bounds = RangeRows()
    yield from read_csv_range(path, start, unit.end, bounds, None if opener is None else opener(), size)
    result.lines, result.start, result.end = bounds.rows, bounds.start, bounds.end or 0
    if unit.end < size:
        result.max_end = result.end


def read_unit(unit: WorkUnit, result: UnitResult) -> Iterator[Record | RecordError]:
    """The records of one unit; what the read learns about the unit's bounds goes into `result`."""
    if is_url(unit.path):
        from agent.scan.cluster.remote_units import read_object_unit

        return read_object_unit(unit, result)
    path = Path(unit.path)
    if unit.kind == BYTES and is_table(path):
        return _csv_range(path, unit, result)
    if unit.kind == BYTES:
        byte_range, result.lines = aligned_range(path, unit)
        return read_range(path, byte_range)
    if unit.kind == ROWS:
        return read_row_group(path, RowGroup(unit.start, unit.first_row, unit.end, unit.nbytes))
    return read_records(path)


def scan_unit(unit: WorkUnit, detector: ReuseDetector | None = None) -> UnitResult:
    """Scan one unit; never raises for bad data (the result says what went wrong)."""
    started, cpu = time.perf_counter(), time.thread_time()
    worker = ""
    if detector is None:
        from distributed import get_worker

        from agent.scan.cluster.index_plugin import worker_detector

        detector, worker = worker_detector(), get_worker().address
    result = UnitResult(unit.path, unit.key, local_numbers=unit.kind == BYTES, nbytes=unit.nbytes, worker=worker)
    records: deque[Record] = deque()
    builder = None if is_url(unit.path) else SketchBuilder()

    def fields() -> Iterator[list[tuple[str, str]]]:
        try:
            for item in read_unit(unit, result):
                if isinstance(item, RecordError):
                    result.bad_records += 1
                    result.errors.append((item.number, item.message))
                    continue
                records.append(item)
                if builder is not None:
                    builder.add(item.number, item.fields, item.end_offset)
                yield item.fields
        except FileReadError as e:
            result.fatal = e.reason
        except OSError as e:
            result.fatal = e.strerror or str(e)

    matched_fields: list[list[tuple[str, str]]] = []
    for matches in detector.match_stream(fields()):
        record = records.popleft()
        result.records += 1
        result.max_record = max(result.max_record, record.number)
        result.max_end = max(result.max_end, record.end_offset)
        if matches:
            result.matches.append((record.number, record.sha256, record.end_offset, list(matches), []))
            matched_fields.append(record.fields)
    # Spans are found here, where the record text is: the client gets no text (agent.reuse.spans)
    wanted = [{"output_ids": sorted({m.output_id for m in found[3]})} for found in result.matches]
    attach_spans(wanted, matched_fields, detector)
    result.matches = [(*found[:4], row["spans"]) for found, row in zip(result.matches, wanted)]
    if builder is not None and result.fatal is None:
        result.sketch = builder.finish({})
    result.seconds = time.perf_counter() - started
    result.cpu_seconds = time.thread_time() - cpu
    return result
