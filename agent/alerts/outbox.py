"""The alert outbox: alerts wait in the store until their sink has taken them.

Enqueueing is idempotent (the idempotency key is unique), so evaluating the same open window
every few minutes, or two watchers doing it, queues one alert per finding, sink and severity.
A delivery is claimed with a lease (so two dispatchers never send the same alert at once, and a
dispatcher that died leaves it to the next), then marked delivered, or failed with the next
attempt pushed back: retry_seconds doubled per attempt, capped at retry_max_seconds, spread by
+-25 % (fixed per alert, so many alerts of a sink that comes back do not all retry together).
Nothing is dropped: an alert stays until delivered, across restarts and outages.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from agent.alerts.document import alert_document
from agent.alerts.document import finding_summary
from agent.alerts.document import idempotency_key
from agent.alerts.settings import SEVERITY_RANK
from agent.ids import new_id
from agent.store.models import AlertOutbox
from agent.store.models import Evidence
from agent.store.models import Finding

LEASE_SECONDS = 120
MAX_ERROR_CHARS = 300


def backoff_seconds(attempts: int, key: str, base: float, cap: float) -> float:
    """Wait after the `attempts`-th failure (1 = the first)."""
    exponent = min(max(attempts, 1) - 1, 60)  # 2**60 x any base is past every cap: no overflow
    spread = 0.75 + 0.5 * (int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF)
    return min(base * (2.0 ** exponent), cap) * spread


def _insert_ignore(dialect: str):
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(AlertOutbox).on_conflict_do_nothing(
        index_elements=["idempotency_key"])


def enqueue(store, settings, dedupe_keys: list[str], now: dt.datetime | None = None) -> int:
    """Queue, for every finding among `dedupe_keys` and every sink that wants its severity, the
    alert not queued yet. Returns how many were added."""
    if not settings.sinks or not dedupe_keys:
        return 0
    now = now or dt.datetime.now(dt.timezone.utc)
    lowest = min(SEVERITY_RANK[s.min_severity] for s in settings.sinks)
    wanted = [name for name, rank in SEVERITY_RANK.items() if rank >= lowest]
    added = 0
    with store.write_session() as session:
        for offset in range(0, len(dedupe_keys), 500):
            chunk = dedupe_keys[offset:offset + 500]
            findings = session.execute(select(Finding).where(Finding.dedupe_key.in_(chunk),
                                                             Finding.severity.in_(wanted))).scalars().all()
            if not findings:
                continue
            ids = [f.id for f in findings]
            aggregates = {e.finding_id: e.detail for e in session.execute(
                select(Evidence).where(Evidence.finding_id.in_(ids), Evidence.kind == "aggregate")).scalars()}
            queued: dict[tuple[str, str], list[tuple[str, str]]] = {}
            for fid, sink, key, severity in session.execute(
                    select(AlertOutbox.finding_id, AlertOutbox.sink, AlertOutbox.idempotency_key, AlertOutbox.severity)
                    .where(AlertOutbox.finding_id.in_(ids)).order_by(AlertOutbox.created_at)):
                queued.setdefault((fid, sink), []).append((key, severity))
            rows = []
            for finding in findings:
                summary = None
                for sink in settings.sinks:
                    if not sink.wants(finding.severity):
                        continue
                    key = idempotency_key(finding.dedupe_key, sink.name, finding.severity)
                    earlier = queued.get((finding.id, sink.name), [])
                    if any(k == key for k, _ in earlier):
                        continue
                    previous = earlier[-1][1] if earlier else None
                    if previous is not None and SEVERITY_RANK.get(previous, -1) >= SEVERITY_RANK[finding.severity]:
                        continue  # it went down and up again: that level was already sent
                    summary = summary or finding_summary(finding, aggregates.get(finding.id))
                    document = alert_document(summary, sink.name, "escalated" if earlier else "new", previous)
                    rows.append({"id": new_id(), "idempotency_key": key, "sink": sink.name, "finding_id": finding.id,
                                 "event": document["event"], "severity": finding.severity, "payload": document,
                                 "created_at": now, "attempts": 0, "next_attempt_at": now})
            if rows:
                result = session.execute(_insert_ignore(store.dialect).returning(AlertOutbox.id), rows)
                added += len(result.all())
    return added


def claim_due(store, now: dt.datetime, *, limit: int = 50, skip_sinks: set[str] = frozenset(),
              lease_seconds: float = LEASE_SECONDS) -> list[AlertOutbox]:
    """Take up to `limit` due alerts (oldest first) under a lease."""
    with store.write_session() as session:
        statement = (select(AlertOutbox).where(AlertOutbox.delivered_at.is_(None), AlertOutbox.next_attempt_at <= now,
                                               or_(AlertOutbox.lease_until.is_(None), AlertOutbox.lease_until < now))
                     .order_by(AlertOutbox.next_attempt_at, AlertOutbox.id).limit(limit))
        if skip_sinks:
            statement = statement.where(AlertOutbox.sink.not_in(sorted(skip_sinks)))
        if store.dialect == "postgresql":
            statement = statement.with_for_update(skip_locked=True)
        rows = session.execute(statement).scalars().all()
        lease = now + dt.timedelta(seconds=lease_seconds)
        for row in rows:
            row.lease_until = lease
        return rows


def mark_delivered(store, row_id: str, now: dt.datetime) -> None:
    with store.write_session() as session:
        session.execute(update(AlertOutbox).where(AlertOutbox.id == row_id).values(
            delivered_at=now, last_attempt_at=now, lease_until=None, attempts=AlertOutbox.attempts + 1))


def mark_failed(store, row: AlertOutbox, error: str, now: dt.datetime, settings) -> dt.datetime:
    attempts = (row.attempts or 0) + 1
    retry_at = now + dt.timedelta(seconds=backoff_seconds(attempts, row.idempotency_key, settings.retry_seconds,
                                                          settings.retry_max_seconds))
    with store.write_session() as session:
        session.execute(update(AlertOutbox).where(AlertOutbox.id == row.id).values(
            attempts=attempts, last_error=error[:MAX_ERROR_CHARS], last_attempt_at=now, next_attempt_at=retry_at,
            lease_until=None))
    return retry_at


def sink_health(store, settings) -> list[dict]:
    """Per sink: delivered and pending counts, the current run of failures, the last error."""
    with store.session() as session:
        totals = {(sink, delivered): n for sink, delivered, n in session.execute(
            select(AlertOutbox.sink, AlertOutbox.delivered_at.is_not(None), func.count()).group_by(
                AlertOutbox.sink, AlertOutbox.delivered_at.is_not(None)))}
        pending = {sink: (attempts, oldest) for sink, attempts, oldest in session.execute(
            select(AlertOutbox.sink, func.max(AlertOutbox.attempts), func.min(AlertOutbox.created_at))
            .where(AlertOutbox.delivered_at.is_(None)).group_by(AlertOutbox.sink))}
        last_ok = dict(session.execute(select(AlertOutbox.sink, func.max(AlertOutbox.delivered_at))
                                       .group_by(AlertOutbox.sink)).all())
        errors = {}
        for sink, error, at in session.execute(
                select(AlertOutbox.sink, AlertOutbox.last_error, AlertOutbox.last_attempt_at)
                .where(AlertOutbox.delivered_at.is_(None), AlertOutbox.last_error.is_not(None))
                .order_by(AlertOutbox.last_attempt_at)):
            errors[sink] = (error, at)
    configured = {s.name: s for s in settings.sinks}
    out = []
    for name in sorted(set(configured) | {s for s, _ in totals}):
        attempts, oldest = pending.get(name, (0, None))
        error, error_at = errors.get(name, (None, None))
        if name not in configured:
            state = "not configured"
        elif attempts >= settings.down_after_attempts:
            state = "down"
        elif attempts:
            state = "retrying"
        else:
            state = "ok"
        sink = configured.get(name)
        out.append({"name": name, "target": sink.describe() if sink else None, "state": state,
                    "delivered": totals.get((name, True), 0), "pending": totals.get((name, False), 0),
                    "failed_attempts": attempts, "oldest_pending": oldest.isoformat() if oldest else None,
                    "last_delivered_at": last_ok[name].isoformat() if last_ok.get(name) else None,
                    "last_error": error, "last_error_at": error_at.isoformat() if error_at else None})
    return out


def release(store, row_id: str) -> None:
    """Give back a claimed alert untouched (its sink is paused, or we are stopping)."""
    with store.write_session() as session:
        session.execute(update(AlertOutbox).where(AlertOutbox.id == row_id).values(lease_until=None))


def pending_sinks(store) -> set[str]:
    with store.session() as session:
        return set(session.execute(select(AlertOutbox.sink).where(AlertOutbox.delivered_at.is_(None)).distinct()).scalars())
