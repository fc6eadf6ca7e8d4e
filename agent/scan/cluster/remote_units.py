"""A worker's read of a unit of an object in an object store (`s3://`, `gs://`, `az://`, ...).

The client lists the bucket and plans units by the listing (sizes, Parquet footers); each
worker opens the object itself through fsspec, with its own cloud's standard credential chain
(environment, profiles, instance roles): no credential is in a task, a result or a log line, and
the URL a unit names is the public one (agent.scan.sources.public_url). Byte ranges and row
groups are read through the object's seekable file, fetching only what the range needs; a
whole-object unit (compressed, JSON, text) is copied to a scratch file first, as a local scan
of an object does (agent.scan.remote). Any failure is the unit's FileReadError, one line with
the secrets of the URL scrubbed.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from pathlib import PurePosixPath

from agent.errors import UserError
from agent.scan.cluster.filesystems import scan_filesystem
from agent.scan.cluster.task import UnitResult
from agent.scan.cluster.task import _csv_range
from agent.scan.cluster.task import aligned_range
from agent.scan.cluster.units import BYTES
from agent.scan.cluster.units import ROWS
from agent.scan.cluster.units import WorkUnit
from agent.scan.cluster.units import is_table
from agent.scan.formats.jsonl_ranges import read_range
from agent.scan.formats.parquet_groups import RowGroup
from agent.scan.formats.parquet_groups import read_row_group
from agent.scan.readers import FileReadError
from agent.scan.readers import Record
from agent.scan.readers import RecordError
from agent.scan.readers import read_records
from agent.scan.sources import content_tag
from agent.scan.sources import scrub

_BLOCK = 8 << 20


CHANGED = "changed while scanning"


def _changed(unit: WorkUnit) -> FileReadError:
    return FileReadError(unit.path, f"{CHANGED} (not the version listed when the scan began; read again next scan)")


def _items(unit: WorkUnit, result: UnitResult, fs, key: str) -> Iterator[Record | RecordError]:
    def opener():
        raw = fs.open(key, "rb", block_size=_BLOCK)
        # the version listed by the client, or nothing: every unit of an object reads the same
        # content. s3fs sends each ranged GET with If-Match on the ETag it opened (a change while
        # reading is its FileExpired); other backends' files carry what they were opened at too.
        seen = content_tag(getattr(raw, "details", None) or fs.info(key)) if unit.tag else ""
        if seen and seen != unit.tag:
            raw.close()
            raise _changed(unit)
        return raw

    name = Path(PurePosixPath(key).name)  # the name gives the format
    if unit.kind == BYTES and is_table(name):
        yield from _csv_range(name, unit, result, opener, unit.file_size)
    elif unit.kind == BYTES:
        with opener() as raw:
            byte_range, result.lines = aligned_range(name, unit, raw, unit.file_size)
        yield from read_range(name, byte_range, opener())
    elif unit.kind == ROWS:
        yield from read_row_group(name, RowGroup(unit.start, unit.first_row, unit.end, unit.nbytes), opener())
    else:
        with tempfile.TemporaryDirectory(prefix="aiaudit-object-") as scratch:
            copy = Path(scratch) / name.name
            with opener() as src, open(copy, "wb") as dst:
                shutil.copyfileobj(src, dst, _BLOCK)
            yield from read_records(copy)


def read_object_unit(unit: WorkUnit, result: UnitResult) -> Iterator[Record | RecordError]:
    """The records of one unit of the object at `unit.path` (its public URL)."""
    try:
        fs, key = scan_filesystem(unit.scan, unit.path)
    except UserError as e:
        raise FileReadError(unit.path, str(e)) from None
    try:
        yield from _items(unit, result, fs, key)
    except FileReadError as e:
        raise FileReadError(unit.path, scrub(e.reason, unit.path)) from None
    except Exception as e:  # the store refused, the network failed: this unit's one line
        if type(e).__name__ == "FileExpired":  # s3fs: replaced between two ranged reads of the unit
            raise _changed(unit) from None
        reason = e.strerror if isinstance(e, OSError) and e.strerror else " ".join(str(e).split())[:300]
        raise FileReadError(unit.path, scrub(f"cannot read the object ({type(e).__name__}: {reason})",
                                             unit.path)) from None
