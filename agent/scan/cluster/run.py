"""The client side of a cluster scan: plan, submit, and record what workers return.

Files are planned in the order a local scan walks them; unchanged files are not read (as in a
local scan), and units already recorded by an interrupted run are not submitted again
(agent.scan.cluster.resume). Results are recorded as they arrive, through the local scanner's
own `_commit` (one code path for findings and file state): a JSONL or CSV range as soon as every
range before it is known (its records' numbers depend on how many lines precede it; a CSV range
whose guessed start is not where the range before it ended is run again from there), anything
else at once. A file's state is completed when its last unit is recorded. A worker lost mid-task is the
scheduler's business: it runs the task again elsewhere, and the future completes once.
Objects in an object store are listed here and read by the workers, each opening them itself
(agent.scan.cluster.remote_units); Delta tables are scanned by the client, through their log.
"""

from __future__ import annotations

import os
import uuid
from asyncio import CancelledError
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from pathlib import Path
from pathlib import PurePosixPath

from sqlalchemy import select

from agent.errors import UserError
from agent.errors import internal_reason
from agent.reuse.findings import finding_row
from agent.scan.cluster import resume
from agent.scan.cluster.task import UnitResult
from agent.scan.cluster.task import scan_unit
from agent.scan.cluster.units import BYTES
from agent.scan.cluster.units import MIN_PIECE
from agent.scan.cluster.units import WorkUnit
from agent.scan.cluster.units import is_table
from agent.scan.cluster.units import plan_units
from agent.scan.cluster.units import split_tail
from agent.scan.formats.csv_ranges import start_is_known
from agent.scan.formats.delta import table_of as delta_table_of
from agent.scan.readers import Record
from agent.scan.scan import HEAD_BYTES
from agent.scan.scan import FileResult
from agent.scan.scan import Scanner
from agent.scan.scan import _head_hash
from agent.scan.sources import is_url
from agent.scan.walk import iter_files
from agent.scan.walk import regular_file
from agent.store.models import DatasetFile

DEFAULT_RANGE_BYTES = 256 << 20


@dataclass
class FilePlan:
    path: Path | str  # an object's public URL (a str) when it is in an object store
    root: Path | str
    st: os.stat_result
    head: str
    units: list[WorkUnit]
    done: dict[str, resume.DoneUnit]  # recorded, in an earlier run or this one (settle: of these units)
    waiting: dict[str, UnitResult] = field(default_factory=dict)  # returned, not yet recordable
    failed: dict[str, str] = field(default_factory=dict)  # unit key -> why its task failed
    sketch_parts: dict[str, tuple] = field(default_factory=dict)  # unit key -> (its sketch, number shift)
    result: FileResult = None  # type: ignore[assignment]
    resumed: bool = False  # some units were recorded by an earlier run

    def __post_init__(self) -> None:
        self.result = FileResult(str(self.path))
        self.settle(self.units)

    def settle(self, units: list[WorkUnit]) -> None:
        """Run as `units`: the marks of an earlier run count where they name one of them."""
        keys = {u.key for u in units}
        self.units = units
        self.done = {k: v for k, v in self.done.items() if k in keys}
        self.resumed = bool(self.done)

    @property
    def complete(self) -> bool:
        """Every unit is recorded, failed, or waiting behind a failed range (never recordable)."""
        return len(self.done) + len(self.failed) + len(self.waiting) == len(self.units) \
            and (not self.waiting or bool(self.failed))


@dataclass
class ClusterProgressState:
    tasks_total: int = 0
    tasks_done: int = 0
    records: int = 0
    bytes: int = 0


class ClusterScan:
    def __init__(self, scanner: Scanner, client, *, range_bytes: int = DEFAULT_RANGE_BYTES,
                 on_unit: Callable[[ClusterProgressState, UnitResult], None] | None = None) -> None:
        self.scanner = scanner
        self.client = client
        self.range_bytes = range_bytes
        self.on_unit = on_unit or (lambda state, unit: None)
        self.progress = ClusterProgressState()
        self.submitted = 0  # units sent to the cluster by this run
        self.task_seconds = 0.0  # wall time the workers spent in this run's tasks, summed
        self.task_cpu_seconds = 0.0  # CPU of those tasks' threads, summed
        self.reruns = 0  # CSV ranges run again from their true start
        self._running = None  # the as_completed of this run's futures (reruns join it)
        self.units_by_task: dict[str, WorkUnit] = {}  # task key -> its unit
        self.scan_id = uuid.uuid4().hex  # names this run to the workers (one filesystem per scan each)
        self.tail_min_piece = MIN_PIECE  # smallest piece of a unit at the scan's end (units.split_tail)

    # -- planning --

    def _plan(self, path: Path, root: Path, version: int) -> FilePlan | FileResult:
        why = regular_file(path, root)
        if why is not None:
            result = FileResult(str(path), state="skipped", errors=[f"{path}: {why}"])
            self.scanner.on_error(result.errors[-1])
            return result
        with self.scanner.store.session() as s:
            state = s.scalars(select(DatasetFile).where(DatasetFile.path == str(path))).first()
        try:
            st = path.stat()
            head = _head_hash(path, state.size if state is not None else HEAD_BYTES)
            if state is not None and state.index_generation == version and state.state == "ok" \
                    and state.inode == st.st_ino and state.head_sha256 == head and state.size == st.st_size \
                    and state.mtime_ns == st.st_mtime_ns:
                return FileResult(str(path), state="unchanged", findings=self.scanner.stored_findings(str(path)))
            if state is None or head != state.head_sha256 or st.st_size < HEAD_BYTES:
                head = _head_hash(path, st.st_size)
        except OSError as e:
            result = self.scanner._file_error(FileResult(str(path)), f"{path}: {e.strerror or e}")
            self.scanner._store_error(path, root, result)
            return result
        units = plan_units(path, st.st_size, self.range_bytes)
        return FilePlan(path, root, st, head, units, resume.recorded(self.scanner.store, str(path), st, head, version))

    def _plan_objects(self, url: str, version: int, local: list[str]) -> Iterator[FilePlan | FileResult]:
        """The objects under `url`, listed here and planned for the workers (which open them
        themselves, agent.scan.cluster.remote_units); Delta tables are left to this client
        (`local`, as "table URL\0root"), as a local scan reads them through their log."""
        from agent.scan import remote
        from agent.scan.formats import delta
        from agent.scan.sources import list_objects
        from agent.scan.sources import open_filesystem
        from agent.scan.sources import public_url
        from agent.scan.sources import scrub
        from agent.scan.walk import supported

        root = public_url(url)
        try:
            fs, base = open_filesystem(url)
            objects = list_objects(fs, base)
        except UserError as e:
            yield self.scanner._file_error(FileResult(root), scrub(str(e), url))
            return
        except Exception as e:  # no bucket, denied, network: the line a local scan gives
            reason = e.strerror if isinstance(e, OSError) and e.strerror else " ".join(str(e).split())[:300]
            yield self.scanner._file_error(FileResult(root), scrub(f"{root}: cannot list objects "
                                                                   f"({type(e).__name__}: {reason})", url))
            return
        tables = sorted({str(PurePosixPath(o.key).parent.parent) for o in objects
                         if PurePosixPath(o.key).parent.name == delta.LOG_DIR})
        local.extend(f"{fs.unstrip_protocol(t)}\0{root}" for t in tables)
        for obj in objects:
            if any(obj.key == t or obj.key.startswith(t + "/") for t in tables):
                continue
            if not supported(Path(PurePosixPath(obj.key).name)):
                continue
            identity = remote._identity("object", obj.etag, obj.size, obj.mtime_ns)
            unchanged = remote._unchanged(self.scanner, obj.url, identity)
            if unchanged is not None:
                yield unchanged
                continue
            st = remote._stat(obj.size, obj.mtime_ns)
            units = [replace(u, tag=obj.tag, scan=self.scan_id) for u in  # every unit reads the version listed here
                     plan_units(obj.url, obj.size, self.range_bytes, source=lambda key=obj.key: fs.open(key, "rb"))]
            yield FilePlan(obj.url, root, st, identity, units,
                           resume.recorded(self.scanner.store, obj.url, st, identity, version))
        # as a local scan does (agent.scan.remote.scan_url): what is no longer listed is gone
        listed = {o.url for o in objects} | {public_url(fs.unstrip_protocol(t)) for t in tables}
        yield from self.scanner.forget_missing_reported(root, listed, exists=lambda _url: False)

    def _walk(self, paths: list[Path | str]) -> Iterator[tuple[Path, Path] | FileResult | str]:
        """(file, root) for local files; FileResult for what cannot be scanned; the URL or Delta
        table path (str) for what the client scans itself."""
        for root in paths:
            if isinstance(root, str) and is_url(root):
                yield root
                continue
            root = Path(root).absolute()
            if not root.is_dir() and (why := self.scanner._not_scannable(root)) is not None:
                yield self.scanner._file_error(FileResult(str(root)), f"{root}: {why}")
                continue
            unlisted: list[str] = []
            seen: set[str] = set()
            base = root if root.is_dir() else root.parent
            for path in iter_files(root, unlisted):
                yield from self.scanner._unlisted(unlisted)
                seen.add(str(path))
                if delta_table_of(path, base) is not None:
                    yield str(path)
                else:
                    yield path, base
            yield from self.scanner._unlisted(unlisted)
            yield from self.scanner.forget_missing_reported(root, seen)  # as a local scan does

    # -- running --

    def scan_paths(self, paths: list[Path | str]) -> Iterator[FileResult]:
        from distributed import as_completed

        # the caller synced the output index and put that index on the workers (connect.install_index):
        # syncing again here could record against outputs the workers do not have
        version = self.scanner.output_index.version
        plans: dict[str, FilePlan] = {}
        order: list[str] = []  # files in walk order, for the results of those done without units
        local: list[str] = []
        for item in self._walk(paths):
            if isinstance(item, FileResult):
                yield item
                continue
            if isinstance(item, str) and is_url(item):
                planned_all = list(self._plan_objects(item, version, local))
            elif isinstance(item, str):
                local.append(item)
                continue
            else:
                planned_all = [self._plan(*item, version)]
            for planned in planned_all:
                if isinstance(planned, FileResult):
                    yield planned
                else:
                    plans[str(planned.path)] = planned
                    order.append(str(planned.path))
        self._split_tail(plans)
        pending = [u for p in plans.values() for u in p.units if u.key not in p.done]
        self.progress.tasks_total = len(pending)
        self.submitted = len(pending)
        # the first files first: a file's results are recorded in order, so finishing files early
        # keeps the buffered ranges (and the rerun of an interrupted scan) small
        futures = [self.client.submit(scan_unit, unit, pure=False, priority=-i, retries=0)
                   for i, unit in enumerate(pending)]
        for name in order:  # files with nothing left to run (every unit recorded before)
            if plans[name].complete:
                yield self._finish(plans.pop(name), version)
        self.units_by_task = {future.key: unit for future, unit in zip(futures, pending)}
        self._running = as_completed(futures, loop=self.client.loop)
        for future in self._running:
            unit = self.units_by_task[future.key]
            plan = plans[unit.path]
            self.progress.tasks_done += 1
            try:
                unit_result: UnitResult = future.result()
            except (Exception, CancelledError) as e:  # the task raised, its workers kept dying, or it was lost
                plan.failed[unit.key] = internal_reason(e, f"scanning {unit.path} ({unit.key}) on the cluster")
                unit_result = UnitResult(unit.path, unit.key, local_numbers=False, fatal=plan.failed[unit.key])
            else:
                plan.waiting[unit_result.key] = unit_result
                self.task_seconds += unit_result.seconds
                self.task_cpu_seconds += unit_result.cpu_seconds
                self.progress.records += unit_result.records
                self.progress.bytes += unit_result.nbytes
                self._record_ready(plan, version)
            future.release()
            self.on_unit(self.progress, unit_result)
            if plan.complete:
                yield self._finish(plans.pop(unit.path), version)
        for target in local:
            if is_url(target):  # a Delta table in a bucket
                from agent.scan.remote import scan_delta

                table, root = target.split("\0")
                yield scan_delta(self.scanner, table, root, remote=True)
            else:
                yield self.scanner.scan_file(Path(target), Path(target).parent)

    def _split_tail(self, plans: dict[str, FilePlan]) -> None:
        """Cut the scan's last units smaller (units.split_tail) for the workers there are now.
        Planned over every unit of every file, recorded or not, so the cut does not depend on what
        an interrupted run recorded."""
        workers = sum(self.client.nthreads().values())
        everything = [u for p in plans.values() for u in p.units]
        by_file: dict[str, list[WorkUnit]] = {}
        for unit in split_tail(everything, workers, self.tail_min_piece):
            by_file.setdefault(unit.path, []).append(unit)
        for name, plan in plans.items():
            plan.settle(by_file[name])

    def _rerun(self, unit: WorkUnit) -> None:
        """Run `unit` again (a CSV range from the row start the range before it ended at)."""
        future = self.client.submit(scan_unit, unit, pure=False, priority=1, retries=0)
        self.units_by_task[future.key] = unit
        self.progress.tasks_total += 1
        self.submitted += 1
        self.reruns += 1
        self._running.add(future)

    def _record_ready(self, plan: FilePlan, version: int) -> None:
        """Record every returned unit whose record numbers are known (see the module doc). A CSV
        range that did not start where the range before it ended is run again from there."""
        lines_before, previous_end = 0, 0
        table = is_table(plan.path)
        for unit in plan.units:
            done = plan.done.get(unit.key)
            if done is not None:
                lines_before += done.lines
                previous_end = done.max_end
                continue
            returned = plan.waiting.pop(unit.key, None)
            if returned is None:
                if unit.kind == BYTES:
                    return  # later ranges wait for this one's line count
                continue
            if table and unit.kind == BYTES and returned.fatal is None \
                    and not start_is_known(returned.start, previous_end, first=unit.start == 0):
                self._rerun(replace(unit, exact_start=previous_end))
                return
            plan.done[unit.key] = self._record(plan, returned, lines_before if returned.local_numbers else 0, version)
            lines_before += returned.lines
            previous_end = plan.done[unit.key].max_end

    def _record(self, plan: FilePlan, unit: UnitResult, shift: int, version: int) -> resume.DoneUnit:
        name, result = str(plan.path), plan.result
        for number, message in unit.errors:
            line = f"{name}:{number + shift}: {message}"
            result.errors.append(line)
            self.scanner.on_error(line)
        if unit.fatal is not None:
            line = f"{name}: {unit.fatal}"
            result.errors.append(line)
            self.scanner.on_error(line)
            result.state = "error"
        result.records += unit.records
        result.bad_records += unit.bad_records
        rows = []
        # the outputs of all the unit's matches described at once: one query per unit, not one
        # per matched record (the store's round trips were most of the client's CPU)
        infos = self.scanner.output_index.describe({m.output_id for found in unit.matches for m in found[3]})
        for number, sha256, end, matches, spans in unit.matches:
            row = finding_row(name, Record(number + shift, [], end, sha256=sha256), matches, infos)
            if row is not None:
                row["spans"] = known_spans(spans, set(row["output_ids"]))
                rows.append(row)
        if unit.sketch is not None:
            plan.sketch_parts[unit.key] = (unit.sketch, shift)
        done = resume.DoneUnit(unit.key, unit.lines, unit.records, unit.bad_records,
                               unit.max_record + shift if unit.records else 0, unit.max_end)
        store = self.scanner.store
        self.scanner._commit(name, plan.root, plan.st, plan.head, version, self._offset(plan, done),
                             self._records_done(plan, done), result, rows, partial=True,
                             also=lambda s: resume.mark(s, store.dialect, name, plan.st, plan.head, version, done))
        return done

    @staticmethod
    def _offset(plan: FilePlan, extra: resume.DoneUnit | None = None) -> int:
        return max([d.max_end for d in plan.done.values()] + ([extra.max_end] if extra else []) + [0])

    @staticmethod
    def _records_done(plan: FilePlan, extra: resume.DoneUnit | None = None) -> int:
        return max([d.max_record for d in plan.done.values()] + ([extra.max_record] if extra else []) + [0])

    def _keep_sketch(self, plan: FilePlan, unusable: bool) -> None:
        """Save the file's sketch joined from its units' parts, as a local scan saves the one it
        builds; a file read with errors, or partly by an earlier run, has its old sketch dropped."""
        from agent.scan import incremental
        from agent.scan import sketch

        output_index, name = self.scanner.output_index, str(plan.path)
        parts = None if unusable else _sketch_of(plan)
        if parts is None:
            incremental.forget(output_index, name)
            return
        try:
            joined = sketch.merge([part for part, _ in parts], incremental.binding(output_index, name, plan.st, plan.head),
                                  shifts=[shift for _, shift in parts])
            sketch.save(joined, sketch.sketch_path(incremental.sketch_dir(output_index), name))
        except OSError:  # no sketch: the file is read in full when it must be checked again
            incremental.forget(output_index, name)

    def _finish(self, plan: FilePlan, version: int) -> FileResult:
        """The file's state as a local scan leaves it. Its unit marks are dropped once it is
        complete; a file with failed units is an error (read again next time) and keeps the
        marks of the units that were recorded."""
        result = plan.result
        name = str(plan.path)
        for key, why in plan.failed.items():
            self.scanner._file_error(result, f"{name}: {key}: {why}")
        if plan.waiting:
            self.scanner._file_error(result, f"{name}: {len(plan.waiting)} later byte ranges not recorded "
                                             "(their record numbers follow from a range that failed)")
        result.bytes = plan.st.st_size
        result.bad_records = sum(d.bad_records for d in plan.done.values())
        failed = bool(plan.failed)
        if not is_url(name):
            self._keep_sketch(plan, failed or result.state == "error")
        self.scanner._commit(name, plan.root, plan.st, plan.head, version, self._offset(plan),
                             self._records_done(plan), result, [], partial=failed,
                             also=None if failed else (lambda s: resume.clear(s, name)))
        if plan.resumed:  # what the earlier run recorded counts too
            result.findings = self.scanner.stored_findings(name)
        return result


def _sketch_of(plan: FilePlan):
    """The parts of the file's sketch in file order, or None when a unit has none."""
    parts = [plan.sketch_parts.get(u.key) for u in plan.units]
    return None if any(p is None for p in parts) else parts


def known_spans(spans: list[dict], known: set[int]) -> list[dict]:
    """The worker's spans, naming only outputs the store still describes (finding_row drops the
    others: pruned while the scan ran); a span left with none is dropped."""
    kept = []
    for span in spans:
        outputs = [i for i in span.get("outputs", []) if i in known]
        if outputs:
            kept.append({**span, "outputs": outputs})
    return kept
