"""Scanning what lives behind a URL: objects listed from an object store, and Delta tables.

An object is downloaded to a scratch file (streamed, deleted after) and read by the same readers
as a local file; its findings and scan state are stored under its public URL (agent.scan.sources).
Its identity in the scan state is its listing (ETag or version, size, modified time): an object
listed the same as when it was scanned, when the index held the same outputs, is not fetched.
Objects are immutable, so a changed one is read again in full. A listing that fails is one
`URL: cannot list ...` line and a result in state "error": the caller goes on, and tries again.

An object or Delta table version read in full leaves a sketch (agent.scan.sketch) bound to the
store and to its identity (ETag or version, size, modified time; for Delta the table version).
When outputs are captured later and the listing still gives that identity, the new outputs are
checked against the sketch: only candidate records are read back. Of plain JSONL objects only
their byte spans are fetched (ranged GETs, near spans fetched together); other formats, and Delta
tables, are read again but only candidate records are matched.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from pathlib import PurePosixPath
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select

from agent.errors import UserError
from agent.errors import internal_reason
from agent.scan import incremental
from agent.scan.formats import delta
from agent.scan.readers import FileReadError
from agent.scan.readers import file_format
from agent.scan.scan import FileResult
from agent.scan.scan import Scanner
from agent.scan.sources import RemoteObject
from agent.scan.sources import list_objects
from agent.scan.sources import open_filesystem
from agent.scan.sources import public_url
from agent.scan.sources import scrub
from agent.scan.walk import supported
from agent.store.models import DatasetFile

_COPY_CHUNK = 8 << 20
_SPAN_GAP = 1 << 20  # spans closer than this are fetched in one ranged GET


def _identity(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()


def _state(scanner: Scanner, name: str) -> DatasetFile | None:
    with scanner.store.session() as s:
        return s.scalars(select(DatasetFile).where(DatasetFile.path == name)).first()


def _unchanged(scanner: Scanner, name: str, identity: str) -> FileResult | None:
    state = _state(scanner, name)
    if state is not None and state.state == "ok" and state.head_sha256 == identity \
            and state.index_generation == scanner.output_index.version:
        return FileResult(name, state="unchanged", findings=scanner.stored_findings(name))
    return None


def _stat(size: int, mtime_ns: int) -> SimpleNamespace:
    return SimpleNamespace(st_size=size, st_mtime_ns=mtime_ns, st_ino=0, st_dev=0)


def scan_url(scanner: Scanner, url: str) -> Iterator[FileResult]:
    root = public_url(url)
    try:
        fs, base = open_filesystem(url)
        objects = list_objects(fs, base)
    except UserError as e:
        yield scanner._file_error(FileResult(root), scrub(str(e), url))
        return
    except Exception as e:  # no bucket, denied, network: said, and the next scan tries again
        reason = e.strerror if isinstance(e, OSError) and e.strerror else " ".join(str(e).split())[:300]
        yield scanner._file_error(FileResult(root), scrub(f"{root}: cannot list objects ({type(e).__name__}: "
                                                          f"{reason})", url))
        return
    tables = sorted({str(PurePosixPath(o.key).parent.parent) for o in objects
                     if PurePosixPath(o.key).parent.name == delta.LOG_DIR})
    for table in tables:
        yield scan_delta(scanner, fs.unstrip_protocol(table), root, remote=True)
    for obj in objects:
        if any(obj.key == t or obj.key.startswith(t + "/") for t in tables):
            continue  # read through its table's log, not file by file
        if supported(Path(PurePosixPath(obj.key).name)):
            yield scan_object(scanner, fs, obj, root)
    # the listing was complete: what was read under this prefix before and is not listed now is gone
    listed = {o.url for o in objects} | {public_url(fs.unstrip_protocol(t)) for t in tables}
    yield from scanner.forget_missing_reported(root, listed, exists=lambda _url: False)


def scan_object(scanner: Scanner, fs: Any, obj: RemoteObject, root: str) -> FileResult:
    """One listed object; never raises (like Scanner.scan_file)."""
    result = FileResult(obj.url)
    try:
        identity = _identity("object", obj.etag, obj.size, obj.mtime_ns)
        unchanged = _unchanged(scanner, obj.url, identity)
        if unchanged is not None:
            return unchanged
        st = _stat(obj.size, obj.mtime_ns)
        state = _state(scanner, obj.url)
        found = incremental.candidates(scanner, obj.url, state, st, identity) if _checkable(scanner, state, identity) \
            else None
        with tempfile.TemporaryDirectory(prefix="aiaudit-object-") as scratch:
            copy = Path(scratch) / PurePosixPath(obj.key).name  # the name keeps the format's suffix
            kind, compression = file_format(copy)
            spans_only = found is not None and kind == "jsonl" and compression is None
            # a checked Parquet object is read in place: its footer and the candidates' row groups
            groups_only = found is not None and kind == "parquet" and compression is None
            try:
                if groups_only:
                    with fs.open(obj.key, "rb") as source:
                        return _checked(scanner, copy, root, st, identity, state, result, found,
                                        incremental.read_back(copy, found[0], source=source))
                if spans_only:
                    _fetch_spans(fs, obj.key, found[0], copy)
                else:
                    with fs.open(obj.key, "rb", block_size=_COPY_CHUNK) as src, open(copy, "wb") as dst:
                        shutil.copyfileobj(src, dst, _COPY_CHUNK)
            except Exception as e:
                reason = e.strerror if isinstance(e, OSError) and e.strerror else " ".join(str(e).split())[:300]
                scanner._file_error(result, f"{obj.url}: cannot fetch ({type(e).__name__}: {reason})")
                scanner._store_error(obj.url, root, result)
                return result
            if found is None:
                return scanner._read(copy, root, st, identity, scanner.output_index.version, result, 0, 0, name=obj.url,
                                     sketched=True)
            return _checked(scanner, copy, root, st, identity, state, result, found,
                            incremental.read_back(copy, found[0]))
    except Exception as e:
        scanner._file_error(result, f"{obj.url}: {internal_reason(e, f'scanning {obj.url}')}")
        scanner._store_error(obj.url, root, result)
        return result


def scan_delta(scanner: Scanner, table: str, root: str, *, remote: bool = False) -> FileResult:
    """A Delta table at its current version; never raises."""
    shown = public_url(table) if remote else table
    result = FileResult(shown)
    try:
        try:
            opened = delta.open_table(table)
            version = opened.version()
        except FileReadError as e:
            scanner._file_error(result, f"{shown}: {e.reason}")
            scanner._store_error(shown, root, result)
            return result
        name = delta.versioned_name(shown, version)
        result.path = name
        identity = _identity("delta", version)
        unchanged = _unchanged(scanner, name, identity)
        if unchanged is not None:
            return unchanged
        size = sum(int(a.get("size_bytes", 0) or 0) for a in _sizes(opened))
        st, state = _stat(size, 0), _state(scanner, name)
        found = incremental.candidates(scanner, name, state, st, identity) if _checkable(scanner, state, identity) \
            else None
        if found is not None:  # this version was read before new outputs: only candidates are matched
            wanted = {number for _, _, number in found[0]}
            rows = (r for r in delta.read_table(opened, name) if r.number in wanted)
            return _checked(scanner, Path(shown), root, st, identity, state, result, found, rows)
        return scanner._read(Path(shown), root, st, identity, scanner.output_index.version, result, 0, 0,
                             name=name, source=delta.read_table(opened, name), sketched=True)
    except Exception as e:
        scanner._file_error(result, f"{shown}: {internal_reason(e, f'scanning {shown}')}")
        scanner._store_error(result.path, root, result)
        return result


def _checkable(scanner: Scanner, state: DatasetFile | None, identity: str) -> bool:
    """Read in full before, as it is now listed, at an index version since outdated."""
    return state is not None and state.state == "ok" and state.head_sha256 == identity \
        and state.index_generation not in (scanner.output_index.version, -1)


def _checked(scanner: Scanner, path: Path, root: str, st: Any, identity: str, state: DatasetFile,
             result: FileResult, found: tuple[list, int], source: Iterator) -> FileResult:
    """Match only the candidate records `source` gives; the result is "checked" (as for a file)."""
    spans, span_bytes = found
    result.state = "checked"
    scanner._read(path, root, st, identity, scanner.output_index.version, result, state.offset, state.records,
                  name=result.path, source=source)
    result.bytes = span_bytes
    result.findings = scanner.stored_findings(result.path)
    return result


def _fetch_spans(fs: Any, key: str, spans: list[tuple[int, int, int]], copy: Path) -> None:
    """A sparse local copy holding only the byte spans of the candidate records, at their offsets
    (so they are read back as from the whole object), fetched by ranged GETs."""
    ordered = sorted((start, end) for start, end, _ in spans if end > start)
    groups: list[list[int]] = []
    for start, end in ordered:
        if groups and start - groups[-1][1] <= _SPAN_GAP:
            groups[-1][1] = max(groups[-1][1], end)
        else:
            groups.append([start, end])
    with open(copy, "wb") as out:
        for start, end in groups:
            out.seek(start)
            out.write(fs.cat_file(key, start=start, end=end))


def _sizes(table: Any) -> list[dict]:
    try:
        return delta.add_actions(table)
    except Exception:  # the size is for the MB/s line only
        return []
