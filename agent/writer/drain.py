"""The writer: moves captured calls from the journal into the store.

It runs in its own process beside mitmdump (`python -m agent.writer.drain`), started and
supervised by the addon, so that parsing, fingerprinting and the database never compete with
the proxy's event loop for the interpreter lock; tests may run it as a thread. It owns the
database; the proxy never waits for it. Batches are inserted with
`ON CONFLICT DO NOTHING` on the call id, so a batch replayed after a crash or an outage is stored
once. While the store is unreachable the writer backs off (capped, exponential) and the journal
holds the calls. A record that the store refuses on its own (a poison record) is quarantined to a
file beside the journal and counted, and never holds back the others.

The writer speaks for its proxy: counters and heartbeats carry the proxy's identity (kept in the
journal directory, agent.writer.proxy_identity), and every few seconds it reports its backlog, its lag
and the store error it is living with, if any (agent.writer.heartbeat).
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import logging
import threading
import time
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import InterfaceError
from sqlalchemy.exc import OperationalError

from agent.proxy import droplog
from agent.proxy.counters import CaptureCounters
from agent.proxy.journal import Journal
from agent.proxy.journal import bind_journal
from agent.proxy.record import decode
from agent.reuse import Fingerprint
from agent.reuse.fingerprint_batch import fingerprint_many
from agent.store.bulk import insert_rows
from agent.store.engine import _safe
from agent.store.models import Call
from agent.store.models import CaptureCounter
from agent.store.models import Output
from agent.writer.attribution import Attributor
from agent.writer.backlog import Backlog
from agent.writer.heartbeat import INTERVAL_S as HEARTBEAT_S
from agent.writer.heartbeat import ErrorHistory
from agent.writer.heartbeat import Report
from agent.writer.heartbeat import StoreError
from agent.writer.heartbeat import describe
from agent.writer.heartbeat import read_local
from agent.writer.heartbeat import write_local
from agent.writer.heartbeat import write_store
from agent.writer.parsed import ParsedCall
from agent.writer.proxy_identity import proxy_identity
from agent.writer.rows import build_rows
from agent.writer.rows import fingerprint_items
from agent.writer.rows import parse_exchange

log = logging.getLogger(__name__)

BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 30.0
IDLE_WAIT_S = 0.2
# After a batch smaller than batch_size, calls gather before the next one is read: each batch
# costs a transaction, a counter update and an ack whatever its size (about 1.5 ms of CPU,
# bench/writer_capacity.py). A fixed 0.25 s pause made batches of 20-odd calls at 100 calls a
# second, and the writer cost 0.42 ms of CPU per call where a full batch costs 0.30. The window
# ends as soon as about a full batch is journaled past the writer's position (the segment sizes,
# a stat each, polled every GATHER_POLL_S), on a stop request, and after GATHER_S at the latest: a
# call waits at most GATHER_S (plus the batch's own time) to be stored. The proxy never waits for
# the writer; this only delays when a call shows up in the store.
GATHER_S = 1.0
GATHER_POLL_S = 0.1
LINGER_BELOW_BYTES = 4 << 20  # a batch cut by the journal's byte limit is not a sign of a quiet journal


# The writer makes a dozen short-lived containers per call (parsed JSON, SSE events, row dicts)
# that reference counting frees, and hardly any reference cycles; at the default threshold (700)
# a young collection ran every call or two, and the older ones walked all that SQLAlchemy, numpy
# and the parsers keep alive from startup. Freezing what startup made and collecting the young
# every 10,000 allocations saved 10 to 20 us of CPU a call (bench/writer_capacity.py capacity,
# 0.28-0.29 against 0.27 ms); cycles are still collected.
GC_THRESHOLDS = (10_000, 20, 20)


def tune_gc() -> None:
    """The writer process's collector settings, once its startup is done (main, and the bench)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class CaptureWriter(threading.Thread):
    def __init__(self, journal: Journal, counters: CaptureCounters, store_url: str, attributor: Attributor, *,
                 store_text: str, excerpt_chars: int, max_body_bytes: int, batch_size: int = 200) -> None:
        super().__init__(name="aiaudit-writer", daemon=True)
        self.journal = journal
        self.counters = counters
        self.store_url = store_url
        self.attributor = attributor
        self.store_text = store_text
        self.excerpt_chars = excerpt_chars
        self.max_body_bytes = max_body_bytes
        self.batch_size = batch_size
        self.identity = proxy_identity(journal.dir)
        self.proxy_host = self.identity.host
        self._stopping = threading.Event()
        self._drain_deadline = float("inf")
        self._store_label = _safe(store_url)
        previous = read_local(journal.dir)
        self.errors = ErrorHistory.restore(previous if previous and previous.get("store") == self._store_label else None)
        self.restarts = 0  # set by the writer process from what its supervisor says
        self.started_at = time.time()
        self._last_beat = -float("inf")
        self.store_errors = 0  # for agent.metrics
        self.caught_up_at = time.time()  # last time the journal was drained (writer lag)
        self._store = None
        self.last_batch = self.last_batch_bytes = 0  # records and bytes read by the last step
        self._position = journal.acked()
        self._backlog = Backlog(journal, self._position)
        self._quarantine = Path(journal.dir) / "quarantine.jsonl"

    @property
    def last_error(self) -> str | None:
        """The store error happening now, else the last one that cleared."""
        e = self.errors.current or self.errors.last
        return e.message if e else None

    # -- lifecycle --

    def request_stop(self, timeout: float = 20.0) -> None:
        """Drain what is journaled (within `timeout`), then stop."""
        self._drain_deadline = time.monotonic() + timeout
        self._stopping.set()

    def stop(self, timeout: float = 20.0) -> None:
        self.request_stop(timeout)
        self.join(timeout + 5)

    def run(self) -> None:
        backoff = BACKOFF_START_S
        while True:
            stopping = self._stopping.is_set()
            if stopping and time.monotonic() > self._drain_deadline:
                log.error("aiaudit: stopping with %d calls still in the journal; they are stored on the next start",
                          self._backlog.records())
                break
            try:
                progressed = self._step()
                self._beat_if_due()  # after an error this is the write that proves recovery
                backoff = BACKOFF_START_S
            except Exception as e:  # the store is down or refused us: keep the journal, retry later
                self._note_error(e)
                log.error("aiaudit: store unavailable (%s); retrying in %.1fs", self.last_error, backoff)
                if self._pause(backoff):
                    break
                backoff = min(backoff * 2, BACKOFF_MAX_S)
                self._reset_store()
                continue
            if not progressed:
                if stopping:
                    break
                self._stopping.wait(IDLE_WAIT_S)
            elif self.last_batch < self.batch_size and self.last_batch_bytes < LINGER_BELOW_BYTES and not stopping:
                self._gather()
        self._flush_counters_quietly()
        self._final_beat()
        if self._store is not None:
            self._store.dispose()

    def _pause(self, seconds: float) -> bool:
        """Wait before a retry, keeping the local state fresh; True once the drain time is up.

        A stop request ends the wait early once; while draining, retries keep their pace (a store
        that is away would otherwise be hammered until the drain deadline)."""
        end = time.monotonic() + seconds
        while (left := min(end, self._drain_deadline) - time.monotonic()) > 0:
            if self._stopping.is_set():
                time.sleep(min(left, HEARTBEAT_S))
            elif self._stopping.wait(min(left, HEARTBEAT_S)):
                return False  # retry now: what is journaled may still be stored before the deadline
            self._write_local_quietly()
        return time.monotonic() > self._drain_deadline

    def _gather(self) -> None:
        """Wait for calls to gather after a short batch (GATHER_S at most, see there)."""
        full = min(self.batch_size * self.last_batch_bytes / max(1, self.last_batch), LINGER_BELOW_BYTES)
        end = time.monotonic() + GATHER_S
        while (left := end - time.monotonic()) > 0:
            if self._stopping.wait(min(left, GATHER_POLL_S)):
                return  # draining: store what is journaled now
            try:
                if self._backlog.bytes_after(self._position) >= full:
                    return
            except OSError:  # the read that follows reports what is wrong with the journal
                return

    # -- work --

    def _get_store(self):
        if self._store is None:
            from agent.store.engine import open_store
            from agent.store.identity import read_identity

            store = open_store(self.store_url)
            try:
                # never drain a journal into a store it was not written for (raises; retried
                # with the backoff, logged each time, while the records wait in the journal)
                empty = not self.journal.read(self._position, max_records=1)[0]
                bind_journal(self.journal.dir, read_identity(store).store_id, empty=empty)
            except BaseException:
                store.dispose()
                raise
            self._store = store
        return self._store

    def _reset_store(self) -> None:
        from agent.store.engine import forget_migrated

        forget_migrated(self.store_url)  # the next open re-checks the schema (a recreated database)
        if self._store is not None:
            try:
                self._store.dispose()
            except Exception:  # disposing a broken pool must not kill the writer
                pass
            self._store = None

    def _note_error(self, e: Exception) -> None:
        self.errors.failed(describe(e), time.time())
        self._write_local_quietly()
        self.store_errors += 1

    def _step(self) -> bool:
        payloads, end = self.journal.read(self._position, max_records=self.batch_size)
        self.last_batch, self.last_batch_bytes = len(payloads), sum(map(len, payloads))
        if not payloads:
            self.caught_up_at = time.time()
            if end != self._position:  # moved past a finished segment
                self.journal.ack(end)
                self._position = end
                self._backlog.consumed(0, end)
            if (Path(self.journal.dir) / droplog.NAME).exists() or (Path(self.journal.dir) / "drops.taken").exists():
                self._insert(self._get_store(), [], [], 0)
            return False
        calls, outputs, bad = [], [], 0
        read = []
        for payload in payloads:
            try:
                ex = decode(payload)
            except Exception as e:
                bad += 1
                self._quarantine_raw(payload, f"undecodable journal record: {e}")
                continue
            read.append((payload, ex, parse_exchange(ex, self.max_body_bytes)))
        for (payload, ex, parsed), fps in zip(read, _batch_fingerprints([parsed for _, _, parsed in read])):
            try:
                # the prompt as the parse read it: reading the request again cost a second JSON
                # decode and parse of every generation request
                call, outs = build_rows(ex, parsed, self.attributor, store_text=self.store_text,
                                        excerpt_chars=self.excerpt_chars, proxy_host=self.proxy_host,
                                        prompts=parsed.prompt_texts, fingerprints=fps)
            except Exception as e:
                bad += 1
                self._quarantine_raw(payload, f"could not build rows: {type(e).__name__}: {e}")
                continue
            calls.append(call)
            outputs.extend(outs)
        store = self._get_store()
        try:
            self._insert(store, calls, outputs, bad)
        except OperationalError:
            raise  # connection trouble: the whole batch waits in the journal
        except DBAPIError:
            self._insert_one_by_one(store, calls, outputs, bad)
        self.journal.ack(end)
        self._position = end
        self._backlog.consumed(len(payloads), end)
        return True

    def _insert(self, store, calls: list[dict], outputs: list[dict], bad: int) -> None:
        mine = self.counters.take_unflushed()
        hook_deltas = dict(mine)
        for reason, n in self._take_drops().items():  # lost by the proxy process
            for name in ("captured", f"dropped:{reason}"):
                hook_deltas[name] = hook_deltas.get(name, 0) + n
        try:
            with store.write_session() as s:
                conn = s.connection()  # Core executemany: the ORM's bulk path costs more than the insert
                inserted = 0
                if calls:
                    inserted = _insert_counted(conn, store.dialect, calls)
                if outputs:
                    insert_rows(conn, _insert_ignore(store.dialect, Output, ("call_id", "kind", "idx")), outputs)
                batch = {"captured": inserted + bad, "stored": inserted, "dropped:poison": bad,
                         "replayed": len(calls) - inserted}
                persisted = dict(hook_deltas)
                for name in ("captured", "stored", "dropped:poison"):
                    persisted[name] = persisted.get(name, 0) + batch[name]
                self._write_counters(s, store.dialect, persisted)
        except Exception:
            self.counters.restore_unflushed(mine)  # the drop log's share stays in drops.taken
            raise
        droplog.forget_taken(self.journal.dir)
        self.counters.add_committed({k: v for k, v in batch.items() if v})

    def _take_drops(self) -> dict[str, int]:
        """The proxy's drop counts, if it logged any: two stats where a rename that fails for want
        of a file cost a millisecond of system time per batch on a busy disk."""
        here = Path(self.journal.dir)
        if (here / droplog.NAME).exists() or (here / "drops.taken").exists():
            return droplog.take_drops(here)
        return {}

    def _insert_one_by_one(self, store, calls: list[dict], outputs: list[dict], bad: int) -> None:
        by_call: dict[str, list[dict]] = {}
        for out in outputs:
            by_call.setdefault(out["call_id"], []).append(out)
        for call in calls:
            try:
                self._insert(store, [call], by_call.get(call["id"], []), 0)
            except OperationalError:
                raise
            except DBAPIError as e:
                bad += 1
                self._quarantine_row(call, str(e).splitlines()[0])
        if bad:
            self._insert(store, [], [], bad)

    def _write_counters(self, session, dialect: str, deltas: dict[str, int]) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        rows = [{"proxy_id": self.identity.id, "name": name, "proxy_host": self.identity.host, "value": delta,
                 "updated_at": now} for name, delta in deltas.items() if delta]
        if rows:  # one statement with bound values, compiled once: literal values made a new one per counter
            session.connection().execute(_counter_upsert(dialect), rows)

    def _flush_counters_quietly(self) -> None:
        deltas = self.counters.take_unflushed()
        if not any(deltas.values()):
            return
        try:
            store = self._get_store()
            with store.write_session() as s:
                self._write_counters(s, store.dialect, deltas)
        except Exception as e:
            log.error("aiaudit: could not save capture counters on shutdown: %s", e)

    # -- heartbeats --

    def _report(self, *, clearing: bool = False, stopped: bool = False) -> Report:
        """The heartbeat as of now; `clearing` reports the current error as cleared."""
        at = time.time()
        records = self._backlog.records()
        current, last = self.errors.current, self.errors.last
        if clearing and current is not None:
            current, last = None, StoreError(current.message, current.since, current.seen_at, current.count, at)
        return Report(self.identity, str(self.journal.dir), self._store_label, self.started_at, at,
                      records, self._backlog.bytes_after(self._position), self._backlog.complete,
                      self._backlog.oldest_captured_at(self._position) if records else None, current, last,
                      stopped_at=at if stopped else None,
                      extra={"corrupt_frames": self.journal.corrupt_frames, "writer_restarts": self.restarts,
                             "totals": self.counters.totals()})

    def _beat_if_due(self) -> None:
        recovering = self.errors.current is not None
        if not recovering and time.monotonic() - self._last_beat < HEARTBEAT_S:
            return
        report = self._report(clearing=recovering)
        try:
            write_store(self._get_store(), report)
        except (OperationalError, InterfaceError, OSError):
            raise  # the store is away: the caller notes it and backs off, the journal keeps the calls
        except Exception as e:  # the store answered: a fault of the heartbeat must not hold up the data
            log.warning("aiaudit: heartbeat not written: %s", describe(e))
        if recovering:
            self.errors.cleared(report.at)
            log.info("aiaudit: the store is reachable again")
        self._last_beat = time.monotonic()
        self._write_local_quietly(report)

    def _final_beat(self) -> None:
        try:
            report = self._report(stopped=True)
            write_local(self.journal.dir, report)
            if self.errors.current is None:  # a store known to be away would only delay the exit
                write_store(self._get_store(), report)
        except Exception as e:  # informative only: the data is safe in the store or the journal
            log.warning("aiaudit: last heartbeat not written: %s", describe(e))

    def _write_local_quietly(self, report: Report | None = None) -> None:
        """The local state file is informative: nothing about it may stop the writer."""
        try:
            write_local(self.journal.dir, report or self._report())
        except Exception as e:
            log.warning("aiaudit: cannot write the writer state in %s: %s", self.journal.dir, describe(e))

    def _quarantine_raw(self, payload: bytes, why: str) -> None:
        log.error("aiaudit: quarantined a journal record: %s", why)
        with open(self._quarantine, "a", encoding="utf-8") as f:
            f.write(json.dumps({"why": why, "size": len(payload), "at": time.time()}) + "\n")

    def _quarantine_row(self, call: dict, why: str) -> None:
        log.error("aiaudit: the store refused call %s: %s; quarantined", call["id"], why)
        row = {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in call.items()}
        with open(self._quarantine, "a", encoding="utf-8") as f:
            f.write(json.dumps({"why": why, "call": row}, default=str) + "\n")


def _batch_fingerprints(parsed: list[ParsedCall]) -> list[list[Fingerprint] | None]:
    """Each call's output fingerprints, computed for the whole batch in one pass (a third less
    CPU than one pass per output); None for every call if that fails, so that build_rows
    fingerprints each call on its own and a bad one is quarantined alone."""
    try:
        items = [fingerprint_items(p, p.prompt_texts) for p in parsed]
        flat = fingerprint_many([item for call_items in items for item in call_items])
    except Exception as e:  # a bug here must not hold up the batch
        log.warning("aiaudit: batch fingerprinting failed (%s); fingerprinting call by call", describe(e))
        return [None] * len(parsed)
    out, at = [], 0
    for call_items in items:
        out.append(flat[at : at + len(call_items)])
        at += len(call_items)
    return out


_INSERTS: dict[tuple, object] = {}


def _insert_ignore(dialect: str, model, conflict_columns: tuple[str, ...], returning: bool = False):
    """An insert that skips rows already stored; built once per dialect and table, so that
    SQLAlchemy finds it in its compiled cache without building a cache key from a new object."""
    key = (dialect, model, conflict_columns, returning)
    if key not in _INSERTS:
        if dialect == "postgresql":
            stmt = postgresql.insert(model).on_conflict_do_nothing(index_elements=list(conflict_columns))
        elif dialect == "sqlite":
            stmt = sqlite.insert(model).on_conflict_do_nothing(index_elements=list(conflict_columns))
        else:
            stmt = insert(model)
        _INSERTS[key] = stmt.returning(model.id) if returning else stmt
    return _INSERTS[key]


# Drivers whose summed executemany row count came back unknown once: RETURNING from then on.
_NO_ROWCOUNT: set[str] = set()


def _insert_counted(conn, dialect: str, calls: list[dict]) -> int:
    """Insert the call rows, skipping those already stored; returns how many were new.

    A plain executemany, counted by the driver's summed rowcount (psycopg and sqlite3 add up the
    rows each statement inserted; an ON CONFLICT DO NOTHING row counts 0; preserve_rowcount
    keeps it past the cursor's close). With RETURNING, SQLAlchemy renders one INSERT of the
    batch's 200 rows of 40 columns, a new string each time, which psycopg re-parses to convert
    its placeholders: 20 % of the writer's CPU on PostgreSQL (py-spy, bench/writer_capacity.py),
    where executemany sends one prepared statement in pipeline mode."""
    driver = conn.dialect.driver
    if conn.dialect.supports_sane_multi_rowcount and driver not in _NO_ROWCOUNT:
        inserted = insert_rows(conn, _insert_ignore(dialect, Call, ("id",)), calls)
        if inserted is not None:
            return inserted
        _NO_ROWCOUNT.add(driver)  # the batch rolls back and is retried with RETURNING
        raise RuntimeError(f"the {driver} driver reported no row count for the call rows")
    return len(conn.execute(_insert_ignore(dialect, Call, ("id",), returning=True), calls).all())


_COUNTER_UPSERTS: dict[str, object] = {}


def _counter_upsert(dialect: str):
    """Add each row's value to its counter (insert it when new); the same statement object every
    time, so SQLAlchemy compiles it once."""
    if dialect not in _COUNTER_UPSERTS:
        ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(CaptureCounter)
        _COUNTER_UPSERTS[dialect] = ins.on_conflict_do_update(
            index_elements=["proxy_id", "name"],
            set_={"value": CaptureCounter.value + ins.excluded.value, "proxy_host": ins.excluded.proxy_host,
                  "updated_at": ins.excluded.updated_at},
        )
    return _COUNTER_UPSERTS[dialect]


def main(argv: list[str] | None = None) -> int:
    """`python -m agent.writer.drain --journal DIR`: the writer process the addon supervises.

    Configuration comes from AIAUDIT_CONFIG / AIAUDIT_DB as for every command. One writer per
    journal (a lock file); it drains and exits on SIGTERM, or when the proxy that started it is
    gone.
    """
    import argparse
    import fcntl
    import os
    import signal

    from agent.config import load_config

    parser = argparse.ArgumentParser(prog="python -m agent.writer.drain")
    parser.add_argument("--journal", required=True, type=Path)
    parser.add_argument("--parent", type=int, default=os.getppid())
    parser.add_argument("--restarts", type=int, default=0, help="how often the supervisor restarted the writer")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[aiaudit writer] %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # Traffic first: the lowest priority, so that under CPU pressure the journal grows and the
    # writer catches up when the pressure eases (measured: at nice 10 the writer's share cost
    # the proxy a tenth of its throughput on 2 saturated cores; at 19 none that could be measured).
    os.nice(19)
    stop_asked = threading.Event()
    writer: CaptureWriter | None = None

    def on_stop(*_) -> None:
        stop_asked.set()
        if writer is not None:
            writer.request_stop()

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})  # blocked by the supervisor
    config = load_config()
    journal = Journal(args.journal, config.journal_max_bytes, readonly=True)
    lock = open(args.journal / "writer.lock", "a")
    fcntl.flock(lock, fcntl.LOCK_EX)  # a writer still draining for a previous proxy goes first
    writer = CaptureWriter(journal, CaptureCounters(), config.database_url,
                           Attributor(config.teams, config.team_header), store_text=config.store_text,
                           excerpt_chars=config.excerpt_chars, max_body_bytes=config.max_body_bytes)
    writer.restarts = args.restarts
    if stop_asked.is_set():  # asked to stop while starting: store what is journaled, then exit
        writer.request_stop()

    def orphan_watch() -> None:
        while not writer._stopping.wait(1.0):
            if os.getppid() != args.parent:
                log.info("aiaudit: the proxy is gone; storing what it journaled, then exiting")
                writer.request_stop(timeout=60)

    threading.Thread(target=orphan_watch, daemon=True).start()
    from agent.metrics import serve_writer

    serve_writer(config, writer)
    tune_gc()
    writer.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
