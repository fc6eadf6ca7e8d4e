"""Scanning dataset files for reused outputs, remembering what was scanned.

Each file's identity and progress live in `dataset_files`: a file whose size, mtime, inode and
first bytes are unchanged, scanned when the index held the same outputs, is not read again; an
appended JSONL/CSV file is read from where the last scan stopped; anything else is read from the
start. Findings are unique per (path, record, record hash), so scanning again adds nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from agent.errors import internal_reason
from agent.ids import new_id
from agent.reuse.findings import finding_row
from agent.reuse.outputs import SyncedOutputIndex
from agent.reuse.scoring import SHORT
from agent.reuse.spans import attach_spans
from agent.scan import incremental
from agent.scan.formats.delta import table_of as delta_table_of
from agent.scan.readers import FileReadError
from agent.scan.readers import Record
from agent.scan.readers import RecordError
from agent.scan.readers import file_format
from agent.scan.sources import is_url
from agent.scan.walk import iter_files
from agent.scan.walk import regular_file
from agent.store.engine import Store
from agent.store.models import DatasetFile
from agent.store.models import ReuseFinding

log = logging.getLogger(__name__)

HEAD_BYTES = 4096
COMMIT_EVERY = 5000  # records per transaction on big files
RESUMABLE = {"jsonl", "csv", "tsv"}


@dataclass
class FileResult:
    path: str
    state: str = "scanned"  # scanned | resumed | checked (against new outputs, by sketch) | unchanged | error | skipped
    records: int = 0
    bad_records: int = 0
    bytes: int = 0
    findings: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    new_findings: int = 0


def _head_hash(path: Path, length: int = HEAD_BYTES) -> str:
    """Identity of a file's content: its first bytes (as many as it had when last scanned, so
    that appending to a small file does not make it a different file)."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read(min(length, HEAD_BYTES))).hexdigest()


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Scanner:
    def __init__(self, store: Store, output_index: SyncedOutputIndex, *, on_error: Callable[[str], None] | None = None,
                 on_progress: Callable[[int], None] | None = None) -> None:
        self.store = store
        self.output_index = output_index
        self.on_error = on_error or (lambda line: log.warning("%s", line))
        self.on_progress = on_progress or (lambda n: None)
        # 5-gram hashes of the outputs new since an index version, shared by every file that
        # version left behind (agent.scan.incremental); reset when the index moves on
        self.new_output_hashes: dict[tuple[int, int], object] = {}

    # -- walking --

    def scan_paths(self, paths: list[Path | str]) -> Iterator[FileResult]:
        self.output_index.sync()
        for root in paths:
            if isinstance(root, str) and is_url(root):  # an object store: agent.scan.remote
                from agent.scan.remote import scan_url

                yield from scan_url(self, root)
                continue
            root = root.absolute()  # a file's identity must not depend on where scan was run from
            if not root.is_dir() and (why := self._not_scannable(root)) is not None:
                yield self._file_error(FileResult(str(root)), f"{root}: {why}")  # named, so said
                continue
            unlisted: list[str] = []  # directories of the tree that could not be listed
            seen: set[str] = set()
            for path in iter_files(root, unlisted):
                yield from self._unlisted(unlisted)
                seen.add(str(path))
                yield self.scan_file(path, root if root.is_dir() else root.parent)
            yield from self._unlisted(unlisted)
            yield from self.forget_missing_reported(root, seen)

    @staticmethod
    def _not_scannable(path: Path) -> str | None:
        """Why a file named on the command line would not be scanned (a walk skips it quietly)."""
        try:
            file_format(path)
        except FileReadError as e:
            return e.reason
        return regular_file(path, path.parent)

    def _unlisted(self, lines: list[str]) -> Iterator[FileResult]:
        while lines:
            line = lines.pop(0)
            yield self._file_error(FileResult(line.split(": ", 1)[0]), line)

    # -- one file --

    def scan_file(self, path: Path, root: Path) -> FileResult:
        """Scan one file. Never raises: whatever goes wrong is reported as `path: reason`,
        stored on the file's row and counted (state "error"), and the caller goes on."""
        result = FileResult(str(path))
        try:
            table = delta_table_of(path, root)
            if table is not None:  # a Delta table is read whole, at its current version
                from agent.scan.remote import scan_delta

                return scan_delta(self, str(table), str(root))
            return self._scan_file(path, root, result)
        except Exception as e:  # a bug or a store failure: this file only
            self._file_error(result, f"{path}: {internal_reason(e, f'scanning {path}')}")
            self._store_error(path, root, result)
            return result

    def _scan_file(self, path: Path, root: Path, result: FileResult) -> FileResult:
        why = regular_file(path, root)
        if why is not None:
            result.state = "skipped"
            result.errors.append(f"{path}: {why}")
            self.on_error(result.errors[-1])
            return result
        with self.store.session() as s:
            state = s.scalars(select(DatasetFile).where(DatasetFile.path == str(path))).first()
        try:
            st = path.stat()
            head = _head_hash(path, state.size if state is not None else HEAD_BYTES)
        except OSError as e:
            self._file_error(result, f"{path}: {e.strerror or e}")
            self._store_error(path, root, result)
            return result
        version = self.output_index.version
        start_offset = start_record = 0
        if state is not None and state.index_generation not in (version, -1) and state.state == "ok" \
                and state.inode == st.st_ino and state.head_sha256 == head and state.size == st.st_size \
                and state.mtime_ns == st.st_mtime_ns:
            # the same file, read before new outputs were captured: check them against its sketch
            checked = self._check_new_outputs(path, root, state, st, head, version, result)
            if checked is not None:
                return checked
        if state is not None and state.index_generation == version and state.inode == st.st_ino \
                and state.head_sha256 == head:
            if state.size == st.st_size and state.mtime_ns == st.st_mtime_ns and state.state == "ok":
                result.state = "unchanged"
                result.findings = self.stored_findings(str(path))
                return result
            fmt, _ = file_format(path)
            if st.st_size > state.size and fmt in RESUMABLE and state.offset:
                start_offset, start_record = state.offset, state.records
                result.state = "resumed"
        if state is None or head != state.head_sha256 or st.st_size < HEAD_BYTES:
            try:
                head = _head_hash(path, st.st_size)
            except OSError as e:
                self._file_error(result, f"{path}: {e.strerror or e}")
                self._store_error(path, root, result)
                return result
        return self._read(path, root, st, head, version, result, start_offset, start_record, sketched=True)

    def _check_new_outputs(self, path: Path, root: Path, state: DatasetFile, st: os.stat_result, head: str,
                           version: int, result: FileResult) -> FileResult | None:
        """Only the records the sketch names as sharing 5-grams with new outputs are read back;
        None when the file has no usable sketch (it is then read in full)."""
        found = incremental.candidates(self, path, state, st, head)
        if found is None:
            return None
        spans, span_bytes = found
        result.state = "checked"
        self._read(path, root, st, head, version, result, state.offset, state.records,
                   source=incremental.read_back(path, spans))
        result.bytes = span_bytes
        # like an unchanged file, a checked one reports every finding it holds, not only the new
        result.findings = self.stored_findings(str(path))
        return result

    def _read(self, path: Path, root: Path | str, st: os.stat_result, head: str, version: int, result: FileResult,
              start_offset: int, start_record: int, *, name: str | None = None,
              source: Iterator[Record | RecordError] | None = None, sketched: bool = False) -> FileResult:
        """Read records (from `path`, or from `source` when given) and store what reuses outputs,
        all under `name` (default: the path): a downloaded object's is its URL, not the copy's."""
        from agent.scan.readers import read_records

        name = name or str(path)
        # a full or resumed read of a local file leaves a sketch for later checks (agent.scan.sketch)
        builder = incremental.builder_for(self.output_index, name, start_offset) if sketched else None
        detector = self.output_index.detector()
        offset, records_done = start_offset, start_record
        pending: list[dict] = []
        pending_fields: list[list[tuple[str, str]]] = []  # their records' fields, for their spans
        records: deque[Record] = deque()  # read ahead by the detector, one batch at most

        def records_only() -> Iterator[list[tuple[str, str]]]:
            nonlocal offset, records_done
            try:
                items = source if source is not None else read_records(path, start_offset, start_record)
                for item in items:
                    if isinstance(item, RecordError):
                        result.bad_records += 1
                        line = f"{name}:{item.number}: {item.message}"
                        result.errors.append(line)
                        self.on_error(line)
                        continue
                    records.append(item)
                    if builder is not None:
                        builder.add(item.number, item.fields, item.end_offset)
                    yield item.fields
            except FileReadError as e:
                line = f"{name}: {e.reason}"
                result.errors.append(line)
                self.on_error(line)
                result.state = "error"

        try:
            for matches in detector.match_stream(records_only()):
                record = records.popleft()
                result.records += 1
                offset = max(offset, record.end_offset)
                records_done = max(records_done, record.number)
                if matches:
                    infos = self.output_index.describe({m.output_id for m in matches})
                    row = finding_row(name, record, matches, infos)
                    if row is not None:
                        pending.append(row)
                        pending_fields.append(record.fields)
                if result.records % COMMIT_EVERY == 0:
                    attach_spans(pending, pending_fields, detector)  # batched: per record it cost more than matching
                    pending_fields = []
                    self._commit(name, root, st, head, version, offset, records_done, result, pending, partial=True)
                    pending = []
                    self.on_progress(0)
            attach_spans(pending, pending_fields, detector)
        except Exception as e:
            # Findings up to here are kept; the file stays marked for a full scan next time.
            reason = (e.strerror or str(e)) if isinstance(e, OSError) else internal_reason(e, f"scanning {path}")
            self._file_error(result, f"{name}: {reason}")
            for row in pending:
                row.setdefault("spans", [])
            self._commit(name, root, st, head, version, offset, records_done, result, pending, partial=True)
            return result
        result.bytes = max(0, st.st_size - start_offset)
        if builder is not None:
            if result.state == "error":
                incremental.forget(self.output_index, name)
            else:
                incremental.keep(self.output_index, builder, name, st, head)
        self._commit(name, root, st, head, version, offset, records_done, result, pending, partial=False)
        return result

    def _commit(self, path: Path | str, root: Path | str, st: os.stat_result, head: str, version: int, offset: int,
                records_done: int, result: FileResult, rows: list[dict], *, partial: bool,
                also: Callable | None = None) -> None:
        """`also(session)`, when given, writes in the same transaction (a cluster scan's unit
        progress, agent.scan.cluster.resume: recorded exactly when its findings are)."""
        now = _utcnow()
        with self.store.write_session() as s:
            if also is not None:
                also(s)
            if rows:
                for row in rows:
                    row.setdefault("id", new_id())
                    row.setdefault("found_at", now)
                    row.setdefault("source", "dataset")
                ins = (postgresql.insert if self.store.dialect == "postgresql" else sqlite.insert)(ReuseFinding)
                stmt = ins.on_conflict_do_nothing(index_elements=["path", "record", "record_sha256"])
                inserted = s.connection().execute(stmt.returning(ReuseFinding.id), rows).all()
                result.new_findings += len(inserted)
                result.findings.extend(rows)
            values = {
                "path": str(path), "root": str(root), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                "inode": st.st_ino, "device": st.st_dev, "head_sha256": head, "offset": offset,
                "records": records_done, "bad_records": result.bad_records,
                # a partial commit keeps the old version, so an interrupted scan is redone in full
                "index_generation": -1 if partial else version,
                "state": "error" if result.state == "error" else "ok",
                "error": result.errors[-1][:2000] if result.errors else None, "scanned_at": now,
            }
            ins = (postgresql.insert if self.store.dialect == "postgresql" else sqlite.insert)(DatasetFile)
            s.execute(ins.values(**values).on_conflict_do_update(
                index_elements=["path"], set_={k: v for k, v in values.items() if k != "path"}))

    def _file_error(self, result: FileResult, line: str) -> FileResult:
        result.state = "error"
        result.errors.append(line)
        self.on_error(line)
        return result

    def _store_error(self, path: Path, root: Path, result: FileResult) -> None:
        """The file's row says it could not be scanned (and why), so it is read again in full."""
        values = {"path": str(path), "root": str(root), "index_generation": -1, "state": "error",
                  "error": result.errors[-1][:2000], "scanned_at": _utcnow()}
        try:
            with self.store.write_session() as s:
                ins = (postgresql.insert if self.store.dialect == "postgresql" else sqlite.insert)(DatasetFile)
                s.execute(ins.values(**values).on_conflict_do_update(
                    index_elements=["path"], set_={k: v for k, v in values.items() if k != "path"}))
        except Exception as e:  # the store itself is failing: the line on stderr has to do
            log.warning("aiaudit: could not record the error of %s in the store: %s", path, e)

    def forget(self, path: Path) -> int:
        """A file or a directory that is gone (a watcher's delete event): see forget_missing."""
        return self.forget_missing(path, ())

    def forget_missing_reported(self, root: Path | str, seen: Collection[str],
                                exists: Callable[[str], bool] = os.path.lexists) -> Iterator[FileResult]:
        """forget_missing after a walk or listing; a failure (the store) is one counted error line
        for the root, after every file of it was scanned, not the end of the scan."""
        try:
            self.forget_missing(root, seen, exists)
        except Exception as e:
            yield self._file_error(FileResult(str(root)), f"{root}: files deleted since the last scan could not be "
                                   f"marked gone: {internal_reason(e, f'marking deleted files under {root}')}")

    def forget_missing(self, root: Path | str, seen: Collection[str],
                       exists: Callable[[str], bool] = os.path.lexists) -> int:
        """Files (or objects) recorded at or under `root` that a walk (or a complete listing) did
        not see and that no longer exist: their rows say "gone" (their findings stay, as evidence)
        and their sketches are removed, so a deleted file or tree leaves no sketch behind. A file
        not seen but still there (in a directory that could not be listed, said already) is left
        as it is. Returns how many."""
        root = str(root)
        prefix = root.rstrip("/" if is_url(root) else os.sep) + ("/" if is_url(root) else os.sep)
        with self.store.write_session() as s:
            rows = s.scalars(select(DatasetFile).where(
                or_(DatasetFile.path == root, DatasetFile.path.startswith(prefix, autoescape=True)),
                DatasetFile.state != "gone")).all()
            gone = [row for row in rows if not _still_there(row.path, seen, exists)]
            names = [row.path for row in gone]
            for row in gone:
                row.state = "gone"
                row.scanned_at = _utcnow()
        for name in names:
            incremental.forget(self.output_index, name)
        return len(names)

    def stored_findings(self, path: str) -> list[dict]:
        with self.store.session() as s:
            rows = s.scalars(select(ReuseFinding).where(ReuseFinding.path == path,
                                                        ReuseFinding.source == "dataset")
                             .order_by(ReuseFinding.record)).all()
        return [{c: getattr(r, c) for c in ("path", "record", "call_ids", "output_ids", "vendors", "teams",
                                            "output_coverage", "record_coverage", "matched_words",
                                            "longest_run", "reuse_class", "fields", "role", "tier", "spans")}
                for r in rows]


def _still_there(path: str, seen: Collection[str], exists: Callable[[str], bool]) -> bool:
    """A Delta table's rows are named TABLE@vN (formats.delta.versioned_name): the table is there."""
    if path in seen or exists(path):
        return True
    table, at, version = path.rpartition("@v")
    return bool(at) and version.isdigit() and (table in seen or exists(table))


def scan_summary(results: list[FileResult], seconds: float) -> dict:
    total_bytes = sum(r.bytes for r in results)
    return {
        "files": len(results),
        "scanned": sum(r.state in ("scanned", "resumed") for r in results),
        "checked": sum(r.state == "checked" for r in results),
        "unchanged": sum(r.state == "unchanged" for r in results),
        "errors": sum(r.state == "error" for r in results),
        "skipped": sum(r.state == "skipped" for r in results),
        "records": sum(r.records for r in results),
        "bad_records": sum(r.bad_records for r in results),
        # a match of outputs under MIN_EVIDENCE_WORDS only is reported, never reuse on its own
        "records_reusing_outputs": sum(f.get("tier") != SHORT for r in results for f in r.findings),
        "records_matching_short_outputs": sum(f.get("tier") == SHORT for r in results for f in r.findings),
        "new_findings": sum(r.new_findings for r in results),
        "megabytes": total_bytes / 1e6,
        "mb_per_s": total_bytes / 1e6 / seconds if seconds > 0 else 0.0,
        "seconds": seconds,
    }


def now() -> float:
    return time.perf_counter()
