"""The fleet as the store and this host's journal see it: one entry per proxy identity.

Stored and dropped come from the store, written in the same transactions as the rows. Pending is
each proxy's journal backlog as its last heartbeat reported it, except for the proxy whose
journal is on this host: that one is counted from the journal itself, and its writer's state file
says what it is living through even while the store is away. Everything read from a heartbeat or
a state file is read defensively: a reader must survive whatever is in them.
"""

from __future__ import annotations

import datetime as dt
import socket

DEFAULT_STALE_AFTER_S = 60.0


def journal_pending(journal_dir) -> tuple[int, int]:
    """(records, bytes) in the journal that the writer has not acknowledged."""
    from agent.proxy.journal import Journal

    if not journal_dir.is_dir():
        return 0, 0
    journal = Journal(journal_dir, 0, readonly=True)
    pos, records, size = journal.acked(), 0, 0
    while True:
        got, end = journal.read(pos, max_records=10_000)
        if not got:
            break
        records += len(got)
        size += sum(len(g) for g in got)
        pos = end
    return records, size


def _time(value) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _error(message, since, seen_at, count, cleared_at=None) -> dict | None:
    if not message:
        return None
    return {"message": message, "since": _iso(_time(since)), "seen_at": _iso(_time(seen_at)), "count": count or 0,
            "cleared_at": _iso(_time(cleared_at)), "current": cleared_at is None}


def _local_state(config) -> tuple[dict | None, str | None]:
    """The local writer's state file if it reports on the store this command looks at, else
    (None, the store it names): that journal's calls are not this store's to count."""
    from agent.store.engine import _safe
    from agent.writer.heartbeat import read_local

    state = read_local(config.journal_dir)
    if state is None:
        return None, None
    store = state.get("store")
    if store != _safe(config.database_url):
        return None, store if isinstance(store, str) else "an unknown store"
    return state, None


def _from_row(b) -> dict:
    return {"host": b.host, "journal_dir": b.journal_dir, "started_at": b.started_at, "seen_at": b.seen_at,
            "stopped_at": b.stopped_at, "interval_s": b.interval_s,
            "backlog": {"records": b.backlog_records, "bytes": b.backlog_bytes,
                        "complete": (b.state or {}).get("backlog_complete", True)},
            "oldest_pending_at": b.oldest_pending_at, "lag_s": b.lag_s,
            "current_error": _error(b.error, b.error_since, b.error_seen_at, b.error_count),
            "previous_error": _error(b.last_error, b.last_error_since, None, b.last_error_count,
                                     b.last_error_cleared_at or b.seen_at),
            "writer_restarts": int(_number((b.state or {}).get("writer_restarts"), 0))}


def _number(value, default=None):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or abs(value) == float("inf"):
        return default
    return value


def _from_local(state: dict) -> dict:
    """The state file read defensively: it is the writer's, but a reader must survive any content."""
    def get(d, key, kind=None):
        value = d.get(key) if isinstance(d, dict) else None
        return value if kind is None or isinstance(value, kind) else None

    def err(e, current: bool) -> dict | None:
        if not isinstance(e, dict) or not isinstance(e.get("message"), str):
            return None
        count = _number(e.get("count"), 1)
        return _error(e["message"], get(e, "since", str), get(e, "seen_at", str), int(count),
                      None if current else (get(e, "cleared_at", str) or get(state, "at", str) or "unknown"))

    backlog = get(state, "backlog", dict) or {}
    return {"host": get(state, "host", str), "journal_dir": get(state, "journal_dir", str),
            "started_at": _time(get(state, "started_at", str)), "seen_at": _time(get(state, "at", str)),
            "stopped_at": _time(get(state, "stopped_at", str)), "interval_s": _number(state.get("interval_s"), 0),
            "backlog": {"records": int(_number(backlog.get("records"), 0)), "bytes": int(_number(backlog.get("bytes"), 0)),
                        "complete": backlog.get("complete") is not False},
            "oldest_pending_at": _time(get(state, "oldest_pending_at", str)), "lag_s": _number(state.get("lag_s")),
            "current_error": err(state.get("error"), True), "previous_error": err(state.get("last_error"), False),
            "writer_restarts": int(_number(state.get("writer_restarts"), 0))}


def _health(beat: dict | None, now: dt.datetime, stale_after: float) -> tuple[str, float | None]:
    if beat is None or beat["seen_at"] is None:
        return "unknown", None
    age = (now - beat["seen_at"]).total_seconds()
    if beat["stopped_at"] is not None:
        return "stopped", age
    return ("stale" if age > max(stale_after, 3 * (beat["interval_s"] or 0)) else "running"), age


def collect(config, store, *, stale_after: float = DEFAULT_STALE_AFTER_S) -> dict:
    from sqlalchemy import select

    from agent.store.models import CaptureCounter
    from agent.store.models import Heartbeat
    from agent.store.models import ProxyHeartbeat
    from agent.writer.proxy_identity import is_identity
    from agent.writer.proxy_identity import read_identity

    counts: dict[str, dict[str, int]] = {}
    hosts: dict[str, str] = {}
    beats: dict[str, dict] = {}
    watchers = []
    if store is not None:
        with store.session() as s:
            for row in s.scalars(select(CaptureCounter)):
                counts.setdefault(row.proxy_id, {})[row.name] = row.value
                hosts[row.proxy_id] = row.proxy_host
            beats = {b.proxy_id: _from_row(b) for b in s.scalars(select(ProxyHeartbeat))}
            watchers = [{"host": b.host, "updated_at": b.updated_at.isoformat(), **b.state}
                        for b in s.scalars(select(Heartbeat).where(Heartbeat.component == "watch"))]
    now = dt.datetime.now(dt.timezone.utc)
    local_id = read_identity(config.journal_dir)
    try:
        local_records, local_bytes = journal_pending(config.journal_dir)
        journal_error = None
    except OSError as e:  # e.g. run as a user who may not read the service's journal
        local_records, local_bytes, journal_error = 0, 0, e.strerror or str(e)
    local_state, other_store = _local_state(config) if journal_error is None else (None, None)
    store_id, refused = None, 0
    if store is not None:
        from agent.proxy.journal import journal_refusals
        from agent.proxy.journal import journal_store
        from agent.store.identity import read_identity as read_store_identity

        store_id, bound_to = read_store_identity(store).store_id, journal_store(config.journal_dir)
        if bound_to is not None and bound_to != store_id:  # its records are another store's calls
            other_store = other_store or f"store {bound_to}"
            refused = journal_refusals(config.journal_dir).get("count", 0)

    this_host = {local_id} if (local_id or local_records) and not other_store else set()
    ids = sorted(set(counts) | set(beats) | this_host,
                 key=lambda i: (hosts.get(i) or (beats.get(i) or {}).get("host") or "", i or ""))
    proxies = []
    for pid in ids:
        beat = beats.get(pid)
        health, age = _health(beat, now, stale_after)
        local = pid == local_id
        view = beat
        if local and local_state is not None:
            written_here = _from_local(local_state)
            if view is None or (written_here["seen_at"] and view["seen_at"]
                                and written_here["seen_at"] > view["seen_at"]):
                view = written_here  # fresher than the store's copy: the writer may be cut off from it
            local_health, _ = _health(written_here, now, stale_after)
            if health in ("stale", "unknown") and local_health == "running":
                health = "cut_off"  # the writer is alive here but its heartbeats do not reach the store
            elif local_health == "stopped" and health != "stopped":
                health = "stopped"
        c = counts.get(pid, {})
        if local and other_store:
            pending, pending_bytes, source = 0, 0, "unknown"
        elif local and journal_error is None:
            pending, pending_bytes, source = local_records, local_bytes, "journal"
        elif beat is not None:
            pending, pending_bytes, source = beat["backlog"]["records"], beat["backlog"]["bytes"], "heartbeat"
        else:
            pending, pending_bytes, source = 0, 0, "unknown"
        dropped = {n.split(":", 1)[1]: v for n, v in sorted(c.items()) if n.startswith("dropped:")}
        entry = {
            "id": pid, "host": hosts.get(pid) or (view or {}).get("host") or (socket.gethostname() if local else None),
            "this_host": local, "legacy": bool(pid) and not is_identity(pid),
            "health": health, "heartbeat_age_s": round(age, 3) if age is not None else None,
            "captured": c.get("captured", 0) + pending, "stored": c.get("stored", 0), "pending": pending,
            "pending_bytes": pending_bytes, "pending_from": source, "dropped": dropped,
            "started_at": _iso((view or {}).get("started_at")), "seen_at": _iso((view or {}).get("seen_at")),
            "stopped_at": _iso((view or {}).get("stopped_at")),
            "backlog": (view or {}).get("backlog"), "lag_s": (view or {}).get("lag_s"),
            "oldest_pending_at": _iso((view or {}).get("oldest_pending_at")),
            "current_error": (view or {}).get("current_error"), "previous_error": (view or {}).get("previous_error"),
            "writer_restarts": (view or {}).get("writer_restarts", 0), "counts": c,
        }
        # fields of earlier versions, kept for scripts that read them
        entry["updated_at"] = entry["seen_at"]
        entry["journal_bytes"] = (entry["backlog"] or {}).get("bytes")
        latest = entry["current_error"] or entry["previous_error"]
        entry["last_error"] = latest["message"] if latest else None
        proxies.append(entry)

    dropped_total: dict[str, int] = {}
    for p in proxies:
        for reason, n in p["dropped"].items():
            dropped_total[reason] = dropped_total.get(reason, 0) + n
    return {"captured": sum(p["captured"] for p in proxies), "stored": sum(p["stored"] for p in proxies),
            "pending": sum(p["pending"] for p in proxies), "dropped": dict(sorted(dropped_total.items())),
            "journal": {"dir": str(config.journal_dir), "error": journal_error, "other_store": other_store,
                        "records": local_records, "bytes": local_bytes, "proxy_id": local_id,
                        "refused": refused},
            "store_id": store_id,
            "proxies": proxies, "watchers": watchers, "stale_after_s": stale_after,
            "store_error": None, "generated_at": now.isoformat()}


