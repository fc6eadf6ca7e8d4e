"""The writer's report on itself: identity, backlog, lag and store errors, every few seconds.

It goes two ways. Into the store (`proxy_heartbeats`), so `aiaudit status` on any host sees every
proxy; while the store cannot be reached that row simply stops moving, and status calls it stale.
And into `writer-state.json` in the journal directory, rewritten even while the store is away, so
status on the proxy's own host can show the error that is happening now.

An error has a time it began, a time it was last seen and a count; it is current until a write
to the store succeeds again, and then it becomes the last error, kept with the time it cleared.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from agent.store.models import ProxyHeartbeat
from agent.writer.proxy_identity import ProxyIdentity

STATE_FILE = "writer-state.json"
INTERVAL_S = 5.0
MAX_MESSAGE = 500


@dataclass
class StoreError:
    message: str
    since: float
    seen_at: float
    count: int = 1
    cleared_at: float | None = None


class ErrorHistory:
    def __init__(self) -> None:
        self.current: StoreError | None = None
        self.last: StoreError | None = None

    def failed(self, message: str, now: float) -> None:
        message = message[:MAX_MESSAGE]
        if self.current is None:
            self.current = StoreError(message, now, now)
        else:  # the same outage goes on: keep when it began, show what it says now
            self.current.message, self.current.seen_at = message, now
            self.current.count += 1

    @classmethod
    def restore(cls, state: dict | None) -> ErrorHistory:
        """Errors as the previous writer of this journal left them (it may have died mid-outage:
        its error stays current until this writer reaches the store)."""
        history = cls()
        if state:
            history.current = _parse_error(state.get("error"))
            history.last = _parse_error(state.get("last_error"))
            if history.current is not None:
                history.current.cleared_at = None
        return history

    def cleared(self, now: float) -> None:
        if self.current is not None:
            self.current.cleared_at = now
            self.current, self.last = None, self.current


def _parse_error(e) -> StoreError | None:
    if not isinstance(e, dict) or not e.get("message"):
        return None
    try:
        since, seen = _epoch(e.get("since")), _epoch(e.get("seen_at"))
        cleared = _epoch(e.get("cleared_at")) if e.get("cleared_at") else None
        return StoreError(str(e["message"])[:MAX_MESSAGE], since, seen or since, int(e.get("count") or 1), cleared)
    except (TypeError, ValueError):  # a state file we cannot read is only history lost
        return None


def _epoch(iso) -> float:
    return dt.datetime.fromisoformat(iso).timestamp()


def describe(e: BaseException) -> str:
    text = str(e).strip()
    first = text.splitlines()[0] if text else type(e).__name__
    return f"{type(e).__name__}: {first}"[:MAX_MESSAGE]


def _utc(t: float | None) -> dt.datetime | None:
    return None if t is None else dt.datetime.fromtimestamp(t, dt.timezone.utc)


def _iso(t: float | None) -> str | None:
    return None if t is None else _utc(t).isoformat()


@dataclass
class Report:
    """One heartbeat; times are epoch seconds."""

    identity: ProxyIdentity
    journal_dir: str
    store: str  # the store URL without its password: whose heartbeat this is
    started_at: float
    at: float
    backlog_records: int
    backlog_bytes: int
    backlog_complete: bool
    oldest_pending_at: float | None
    error: StoreError | None
    last_error: StoreError | None
    stopped_at: float | None = None
    extra: dict | None = None

    @property
    def lag_s(self) -> float | None:
        if self.oldest_pending_at is None:
            return 0.0 if self.backlog_records == 0 else None
        return max(0.0, self.at - self.oldest_pending_at)

    def to_json(self) -> dict:
        def err(e: StoreError | None) -> dict | None:
            if e is None:
                return None
            return {"message": e.message, "since": _iso(e.since), "seen_at": _iso(e.seen_at), "count": e.count,
                    "cleared_at": _iso(e.cleared_at), "current": e.cleared_at is None}

        return {"proxy_id": self.identity.id, "host": self.identity.host, "journal_dir": self.journal_dir,
                "store": self.store, "pid": os.getpid(), "started_at": _iso(self.started_at), "at": _iso(self.at),
                "stopped_at": _iso(self.stopped_at), "interval_s": INTERVAL_S,
                "backlog": {"records": self.backlog_records, "bytes": self.backlog_bytes,
                            "complete": self.backlog_complete},
                "oldest_pending_at": _iso(self.oldest_pending_at), "lag_s": self.lag_s,
                "error": err(self.error), "last_error": err(self.last_error), **(self.extra or {})}


def write_local(journal_dir: Path, report: Report) -> None:
    """writer-state.json, replaced whole so a reader never sees half of it."""
    path = Path(journal_dir) / STATE_FILE
    tmp = path.with_name(f".{STATE_FILE}.tmp")
    tmp.write_text(json.dumps(report.to_json(), indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_local(journal_dir: Path) -> dict | None:
    try:
        data = json.loads((Path(journal_dir) / STATE_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def write_store(store, report: Report) -> None:
    """Upsert the proxy's row; raises if the store cannot take it (the caller notes the error)."""
    e, last = report.error, report.last_error
    row = {
        "host": report.identity.host, "journal_dir": report.journal_dir,
        "started_at": _utc(report.started_at), "seen_at": _utc(report.at), "stopped_at": _utc(report.stopped_at),
        "interval_s": INTERVAL_S, "backlog_records": report.backlog_records, "backlog_bytes": report.backlog_bytes,
        "oldest_pending_at": _utc(report.oldest_pending_at), "lag_s": report.lag_s,
        "error": e.message if e else None, "error_since": _utc(e.since) if e else None,
        "error_seen_at": _utc(e.seen_at) if e else None, "error_count": e.count if e else 0,
        "last_error": last.message if last else None, "last_error_since": _utc(last.since) if last else None,
        "last_error_cleared_at": _utc(last.cleared_at) if last else None,
        "last_error_count": last.count if last else 0,
        "state": {"pid": os.getpid(), "backlog_complete": report.backlog_complete, **(report.extra or {})},
    }
    ins = (postgresql.insert if store.dialect == "postgresql" else sqlite.insert)(ProxyHeartbeat)
    stmt = ins.values(proxy_id=report.identity.id, **row).on_conflict_do_update(index_elements=["proxy_id"], set_=row)
    with store.write_session() as s:
        s.execute(stmt)
