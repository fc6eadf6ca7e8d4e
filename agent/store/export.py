"""Streaming stored calls and findings out as JSON lines or CSV (the export contract, docs/architecture.md)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from typing import IO

from sqlalchemy import select

from agent.store.engine import Store
from agent.store.models import Call
from agent.store.models import Evidence
from agent.store.models import Finding

# The public contract: order and names are what SIEM integrations read. Extend only; the
# optional output_text stays last (`aiaudit export` drops it unless store_text is full).
CALL_FIELDS = (
    "id", "ts", "vendor", "host", "endpoint", "model", "team", "user", "client_ip", "status",
    "streamed", "request_n", "logprobs", "prompt_tokens", "completion_tokens", "outputs",
    "output_chars", "parse_error", "output_parts", "output_text",
)
FINDING_FIELDS = (
    "id", "created_at", "rule_id", "rule_name", "title", "level", "severity", "team", "vendor",
    "window_start", "window_end", "count", "value", "clause", "clause_reviewed", "stance",
    "chain_seq", "chain_hash", "evidence",
)
BATCH = 2000


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _period(stmt, column, since, until):
    if since is not None:
        stmt = stmt.where(column >= since)
    if until is not None:
        stmt = stmt.where(column < until)
    return stmt


def iter_calls(store: Store, since=None, until=None, *, with_text: bool) -> Iterator[dict]:
    stmt = _period(select(Call), Call.ts, since, until).order_by(Call.ts, Call.id)
    with store.session() as s:
        for call in s.scalars(stmt.execution_options(yield_per=BATCH)):
            row = {name: getattr(call, name) for name in CALL_FIELDS if name != "output_text"}
            row["ts"] = _iso(call.ts)
            if with_text:
                row["output_text"] = call.output_text
            yield row


def iter_findings(store: Store, since=None, until=None) -> Iterator[dict]:
    stmt = _period(select(Finding), Finding.window_start, since, until).order_by(Finding.window_start, Finding.id)
    with store.session() as s:
        for chunk in s.scalars(stmt.execution_options(yield_per=BATCH)).partitions():
            ids = [f.id for f in chunk]
            evidence: dict[str, list] = {i: [] for i in ids}
            for ev in s.scalars(select(Evidence).where(Evidence.finding_id.in_(ids)).order_by(Evidence.id)):
                # nested, as in evidence bundles: spread into the item, a detail's own key (a call's
                # `kind`, "generation") would take the place of the evidence's kind ("call")
                evidence[ev.finding_id].append({"kind": ev.kind, "ref": ev.ref, "detail": ev.detail or {}})
            for f in chunk:
                row = {name: getattr(f, name) for name in FINDING_FIELDS if name != "evidence"}
                for key in ("created_at", "window_start", "window_end"):
                    row[key] = _iso(row[key])
                row["evidence"] = evidence[f.id]
                yield row


def write_jsonl(rows: Iterator[dict], out: IO[str]) -> int:
    n = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
        out.write("\n")
        n += 1
    return n


def write_csv(rows: Iterator[dict], fields: tuple[str, ...], out: IO[str]) -> int:
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    n = 0
    for row in rows:
        flat = {k: (json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v) for k, v in row.items()}
        for key, value in flat.items():
            if isinstance(value, bool):
                flat[key] = "true" if value else "false"
        writer.writerow(flat)
        n += 1
    return n
