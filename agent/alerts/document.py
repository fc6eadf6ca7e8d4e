"""The alert about one finding, as every sink receives it (before its own shaping).

The idempotency key is sha256(finding dedupe key, sink, severity): the same finding at the same
severity is one alert per sink however often it is evaluated, enqueued or re-sent after a crash
(receivers dedupe on it), while an escalation to a higher severity is a new alert.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import socket
from importlib import metadata

SCHEMA = "aiaudit.alert/1"


def idempotency_key(dedupe_key: str, sink: str, severity: str) -> str:
    return hashlib.sha256(f"aiaudit-alert|{dedupe_key}|{sink}|{severity}".encode()).hexdigest()


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def version() -> str:
    try:
        return metadata.version("aiaudit")
    except metadata.PackageNotFoundError:  # running from a checkout
        return "0"


def finding_summary(finding, aggregate_detail: dict | None) -> dict:
    """The finding's fields an analyst needs to act, from a stored Finding row."""
    detail = aggregate_detail or {}
    return {
        "id": finding.id, "dedupe_key": finding.dedupe_key, "rule_id": finding.rule_id,
        "rule_name": finding.rule_name, "title": finding.title, "level": finding.level,
        "severity": finding.severity, "score": finding.score, "team": finding.team, "vendor": finding.vendor,
        "group": finding.group_key, "window_start": _iso(finding.window_start), "window_end": _iso(finding.window_end),
        "window_complete": detail.get("window_complete"), "count": finding.count, "value": finding.value,
        "threshold": detail.get("threshold"), "models": detail.get("models") or [], "clause": finding.clause,
        "clause_reviewed": finding.clause_reviewed, "stance": finding.stance, "created_at": _iso(finding.created_at),
        "chain_seq": finding.chain_seq, "chain_hash": finding.chain_hash,
    }


def alert_document(summary: dict, sink: str, event: str, previous_severity: str | None = None) -> dict:
    """What is stored in the outbox; `sent_at` is added at each delivery attempt."""
    return {
        "schema": SCHEMA,
        "idempotency_key": idempotency_key(summary["dedupe_key"], sink, summary["severity"]),
        "event": event,  # new | escalated | test
        "previous_severity": previous_severity,
        "sink": sink,
        "finding": summary,
        "source": {"product": "aiaudit", "version": version(), "host": socket.gethostname()},
    }


def sample_summary(now: dt.datetime | None = None) -> dict:
    """A made-up finding for `aiaudit alerts test`, recognisable as a test everywhere."""
    now = now or dt.datetime.now(dt.timezone.utc)
    start = now.replace(minute=0, second=0, microsecond=0)
    stamp = now.strftime("%Y%m%dT%H%M%S%f")
    return {
        "id": f"TEST{stamp}"[:26], "dedupe_key": hashlib.sha256(f"aiaudit-test|{stamp}".encode()).hexdigest(),
        "rule_id": "aiaudit-test", "rule_name": "alert_test",
        "title": "aiaudit test alert (not a finding)", "level": "high", "severity": "high", "score": 70.0,
        "team": "aiaudit-test", "vendor": "openai", "group": {"team": "aiaudit-test", "vendor": "openai"},
        "window_start": _iso(start), "window_end": _iso(start + dt.timedelta(hours=1)), "window_complete": False,
        "count": 1, "value": 1.0, "threshold": 1, "models": [], "clause": None, "clause_reviewed": None,
        "stance": None, "created_at": _iso(now), "chain_seq": None, "chain_hash": None,
    }


def one_line(document: dict) -> str:
    """A sentence for chat messages and syslog: what, who, how much."""
    f = document["finding"]
    what = {"escalated": f"escalated to {f['severity']}", "test": "test"}.get(document["event"], f["severity"])
    vendor = f" at {f['vendor']}" if f.get("vendor") else ""
    window = "so far" if f.get("window_complete") is False else "in the window"
    return (f"[aiaudit {what}] {f['title']}: team {f['team']}{vendor}, {f['count']} events {window} "
            f"{f['window_start']}..{f['window_end']} (rule {f['rule_name']}, score {f['score']})")
