"""Rule fixtures: sample events a rule must fire on (positive) or must stay quiet on (negative).

A fixture file (rules/fixtures/<rule name>/positive.yml) is one YAML mapping:

    since: 2026-11-02T00:00:00Z          # the period evaluated
    until: 2026-11-03T00:00:00Z
    expect: {team: research, vendor: openai}   # positive only: group values of the finding
    calls:
      - {ts: 2026-11-02T10:00:00Z, team: research, repeat: 600, every: 5s, prompt_sha256: "p{i}"}
    outputs: [...]
    reuse_findings:
      - {found_at: 2026-11-02T12:00:00Z, source: dataset, call_ids: [c1]}

Events are shaped like store rows; omitted columns get the defaults below. `repeat: N` makes N
events, `every` spaces their times, and `{i}` in a string is replaced by the event's number
(0..N-1). Reuse findings get `teams`/`vendors` from the calls they name unless given.
The same records can be turned into frames (`frames_from_records`) or inserted into a store
(`insert_records`), so a fixture checks the engine with and without the database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from agent.store.models import Call
from agent.store.models import Output
from agent.store.models import ReuseFinding
from rules.engine.document import parse_timespan
from rules.engine.loader import read_documents
from rules.engine.model import Problem
from rules.engine.model import RuleError

CALL_DEFAULTS: dict[str, Any] = {
    "vendor": "openai", "host": "api.openai.com", "endpoint": "chat.completions", "kind": "generation",
    "method": "POST", "path": "/v1/chat/completions", "model": "gpt-4o-mini", "team": "research",
    "attributed_by": "proxy_user", "user": "alice", "client_ip": "10.20.0.5", "status": 200,
    "streamed": False, "request_n": None, "logprobs": False, "top_logprobs": None, "outputs": 1,
    "output_chars": 400, "prompt_tokens": 50, "completion_tokens": 100, "request_bytes": 800,
    "response_bytes": 1600,
}
OUTPUT_DEFAULTS: dict[str, Any] = {"idx": 0, "kind": "generated", "word_count": 80, "char_count": 400}
REUSE_DEFAULTS: dict[str, Any] = {
    "source": "dataset", "upload_call_id": None, "path": "/data/datasets/train.jsonl",
    "output_coverage": 0.95, "record_coverage": 0.9, "matched_words": 60, "longest_run": 60,
    "reuse_class": "exact", "output_ids": [], "fields": ["messages[2].content"], "role": "response",
    "tier": "verbatim",
}
_TABLES = ("calls", "outputs", "reuse_findings")
_KEYS = {"since", "until", "expect", "description", *_TABLES}


@dataclass
class Fixture:
    path: Path
    since: dt.datetime
    until: dt.datetime
    expect: dict
    records: dict[str, list[dict]]


def _time(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def expand_entries(entries: list[dict], table: str, path: Path) -> list[dict]:
    rows: list[dict] = []
    time_key = "found_at" if table == "reuse_findings" else "ts"
    for entry in entries:
        entry = dict(entry)
        repeat = int(entry.pop("repeat", 1))
        every = entry.pop("every", None)
        step = parse_timespan(every) if every is not None else 0
        if every is not None and step is None:
            raise RuleError(Problem(path, getattr(entry, "line", 0), f"invalid 'every' {every!r}"))
        for i in range(repeat):
            row = {k: (v.replace("{i}", str(i)) if isinstance(v, str) else v) for k, v in entry.items()}
            if time_key in row:
                row[time_key] = _time(row[time_key]) + dt.timedelta(seconds=step * i)
            rows.append(row)
    return rows


def load_fixture(path: Path) -> Fixture:
    documents, problems = read_documents(path)
    if problems:
        raise RuleError(problems[0])
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise RuleError(Problem(path, 1, "a fixture is one mapping with since, until and events"))
    doc = documents[0]
    unknown = set(doc) - _KEYS
    if unknown:
        raise RuleError(Problem(path, doc.line_of(sorted(unknown)[0]), f"unknown field {sorted(unknown)[0]!r} in fixture"))
    for key in ("since", "until"):
        if key not in doc:
            raise RuleError(Problem(path, doc.line, f"fixture needs {key!r}"))
    raw = {table: expand_entries(doc.get(table) or [], table, path) for table in _TABLES}
    return Fixture(path, _time(doc["since"]), _time(doc["until"]), dict(doc.get("expect") or {}), complete(raw))


def complete(raw: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Fill store defaults: ids, hashes, and reuse teams/vendors from the calls they name."""
    calls = []
    for n, row in enumerate(raw.get("calls", [])):
        call = {**CALL_DEFAULTS, **row}
        call.setdefault("id", f"fxc{n:08d}")
        calls.append(call)
    by_id = {c["id"]: c for c in calls}
    outputs = []
    for n, row in enumerate(raw.get("outputs", [])):
        output = {**OUTPUT_DEFAULTS, **row}
        output.setdefault("id", n + 1)
        output.setdefault("ts", by_id.get(output.get("call_id"), {}).get("ts"))
        output.setdefault("exact_hash", hashlib.md5(f"{output['call_id']}/{n}".encode()).digest())
        output.setdefault("fingerprint", b"")
        outputs.append(output)
    reuse = []
    for n, row in enumerate(raw.get("reuse_findings", [])):
        finding = {**REUSE_DEFAULTS, **row}
        finding.setdefault("id", f"fxr{n:08d}")
        finding.setdefault("record", n + 1)
        finding.setdefault("record_sha256", hashlib.sha256(f"{finding['path']}:{finding['record']}".encode()).hexdigest())
        finding["call_ids"] = list(finding.get("call_ids") or [])
        named = [by_id[c] for c in finding["call_ids"] if c in by_id]
        finding.setdefault("teams", sorted({c["team"] for c in named}))
        finding.setdefault("vendors", sorted({c["vendor"] for c in named}))
        reuse.append(finding)
    return {"calls": calls, "outputs": outputs, "reuse_findings": reuse}


def insert_records(session, records: dict[str, list[dict]]) -> None:
    """Insert fixture (or synthetic) records into the store's tables, in bulk."""
    for model, table in ((Call, "calls"), (Output, "outputs"), (ReuseFinding, "reuse_findings")):
        rows = records.get(table) or []
        if not rows:
            continue
        names = {c.name for c in model.__table__.columns}
        session.execute(insert(model), [{k: v for k, v in row.items() if k in names} for row in rows])


def matches_expectation(draft_group: dict, team: str, vendor: str | None, expect: dict) -> bool:
    values = {**draft_group, "team": team, "vendor": vendor}
    return all(values.get(k) == v for k, v in expect.items())
