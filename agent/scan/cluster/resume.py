"""Which work units of a cluster scan are recorded already, kept in the store (table scan_units).

A unit is marked in the same transaction that records its findings, so "marked" means
"recorded": a client killed at any point and started again redoes only unmarked units, and a
unit redone anyway (its mark was lost with the transaction) adds no finding twice, because
findings are unique per (path, record, record sha256). Marks count only for the file as it was
(size, mtime, first bytes) and the index as it was (SyncedOutputIndex.version); the table lives in
the store, so it is bound to that store by construction. A file's marks are dropped when its
scan completes.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from agent.store.engine import Store
from agent.store.models import ScanUnit


@dataclass(frozen=True, slots=True)
class DoneUnit:
    key: str
    lines: int
    records: int
    bad_records: int
    max_record: int
    max_end: int


def recorded(store: Store, path: str, st: os.stat_result, head: str, version: int) -> dict[str, DoneUnit]:
    """Units of `path` recorded while the file and the index were as they are now."""
    with store.session() as s:
        rows = s.scalars(select(ScanUnit).where(
            ScanUnit.path == path, ScanUnit.size == st.st_size, ScanUnit.mtime_ns == st.st_mtime_ns,
            ScanUnit.head_sha256 == head, ScanUnit.index_generation == version)).all()
    return {r.unit: DoneUnit(r.unit, r.lines, r.records, r.bad_records, r.max_record, r.max_end) for r in rows}


def mark(session, dialect: str, path: str, st: os.stat_result, head: str, version: int, done: DoneUnit) -> None:
    values = {"path": path, "unit": done.key, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "head_sha256": head,
              "index_generation": version, "lines": done.lines, "records": done.records,
              "bad_records": done.bad_records, "max_record": done.max_record, "max_end": done.max_end,
              "done_at": dt.datetime.now(dt.timezone.utc)}
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(ScanUnit)
    session.execute(ins.values(**values).on_conflict_do_update(
        index_elements=["path", "unit"], set_={k: v for k, v in values.items() if k not in ("path", "unit")}))


def clear(session, path: str) -> None:
    session.execute(delete(ScanUnit).where(ScanUnit.path == path))
