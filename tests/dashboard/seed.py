"""Rows for hand-made stores, inserted with the store's models (no proxy, no rules engine)."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools

from sqlalchemy import insert

from agent.store.models import Call
from agent.store.models import Evidence
from agent.store.models import Finding
from agent.store.models import ReuseFinding

_ids = itertools.count()


def _id(prefix: str) -> str:
    return f"{prefix}{next(_ids):0{26 - len(prefix)}d}"


def call(ts: dt.datetime, team: str = "research", vendor: str = "openai", model: str | None = "gpt-4o",
         outputs: int = 1, tokens: int | None = 100, **extra) -> dict:
    row = {"id": _id("C"), "ts": ts, "vendor": vendor, "host": f"api.{vendor}.com", "endpoint": "chat.completions",
           "kind": "generation", "model": model, "team": team, "user": "alice", "client_ip": "10.0.0.1",
           "status": 200, "outputs": outputs, "output_chars": 4 * (tokens or 0), "completion_tokens": tokens,
           "prompt_tokens": 20}
    row.update(extra)
    return row


def finding(start: dt.datetime, team: str = "research", vendor: str | None = "openai", severity: str = "high",
            score: float = 70.0, rule_name: str = "bulk_outputs_harvesting", hours: int = 24, **extra) -> dict:
    fid = _id("F")
    row = {"id": fid, "dedupe_key": hashlib.sha256(fid.encode()).hexdigest(), "rule_id": f"id-{rule_name}",
           "rule_name": rule_name, "title": f"Title of {rule_name}", "level": severity, "severity": severity,
           "score": score, "team": team, "vendor": vendor, "group_key": {"team": team, "vendor": vendor},
           "window_start": start, "window_end": start + dt.timedelta(hours=hours), "count": 3, "value": 3.0,
           "clause": "Do not train competing models.", "clause_reviewed": "2026-11-01", "stance": "prohibits",
           "created_at": start}
    row.update(extra)
    return row


def evidence(finding_row: dict, kind: str, detail: dict, ref: str | None = None, seq: int | None = None) -> dict:
    return {"id": _id("E"), "finding_id": finding_row["id"], "kind": kind, "ref": ref, "detail": detail,
            "created_at": finding_row["created_at"], "chain_seq": seq}


def reuse(found_at: dt.datetime, path: str, record: int, teams=("research",), vendors=("openai",), **extra) -> dict:
    row = {"id": _id("R"), "found_at": found_at, "source": "dataset", "path": path, "record": record,
           "record_sha256": hashlib.sha256(f"{path}{record}".encode()).hexdigest(), "call_ids": [], "output_ids": [],
           "vendors": list(vendors), "teams": list(teams), "output_coverage": 0.9, "record_coverage": 0.8,
           "matched_words": 50}
    row.update(extra)
    return row


def insert_rows(store, calls=(), findings=(), evidence_rows=(), reuse_rows=()) -> None:
    with store.write_session() as session:
        for model, rows in ((Call, calls), (Finding, findings), (Evidence, evidence_rows), (ReuseFinding, reuse_rows)):
            if rows:
                session.execute(insert(model), list(rows))
