"""Finding drafts: a firing window turned into a finding with its evidence, before storage.

For each (group, window) a correlation fired on, the draft carries the group, the window, the
value against its threshold, the severity weighed by the vendor's stance and the clause behind
it, and evidence rows: one `aggregate` row with the full counts, then up to EVIDENCE_CAP event
rows (`call`, `upload`, `reuse`) in time order. Each row's details are typed (details.py) and
hold plain JSON values, so they hash the same before they are written and after they are read
back (chain.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from agent.store.models import Call
from rules.engine.correlations import CELL
from rules.engine.correlations import WINDOW
from rules.engine.details import AggregateDetails
from rules.engine.details import CallDetails
from rules.engine.details import Details
from rules.engine.details import details_of
from rules.engine.fields import FIELDS
from rules.engine.frames import TS
from rules.engine.frames import utc
from rules.engine.model import Logsource
from rules.engine.model import Rule
from rules.engine.severity import finding_score
from rules.engine.severity import severity_of
from rules.engine.terms import stance_for

EVIDENCE_CAP = 25  # event rows listed per finding; the aggregate row carries the full counts
CALL_IDS_CAP = 10  # call ids listed inside one reuse evidence row
EVENT_DETAIL_FIELDS: dict[Logsource, tuple[str, ...]] = {
    Logsource.CALLS: ("ts", "team", "vendor", "model", "endpoint", "kind", "outputs", "completion_tokens",
                      "user", "client_ip"),
    Logsource.UPLOADS: ("ts", "team", "vendor", "model", "endpoint", "upload_purpose", "request_bytes"),
    Logsource.OUTPUTS: ("ts", "call_id", "team", "vendor", "model", "kind", "word_count"),
    Logsource.REUSE_FINDINGS: ("ts", "source", "path", "record", "record_sha256", "spans", "output_coverage", "record_coverage",
                               "matched_words", "reuse_class", "tier", "role", "fields", "call_ids", "reused_calls", "upload_call_id",
                               "upload_vendor", "upload_purpose"),
}


@dataclass
class EvidenceDraft:
    kind: str  # call | reuse | upload | aggregate
    ref: str | None
    detail: Details


@dataclass
class FindingDraft:
    dedupe_key: str
    rule_id: str
    rule_name: str
    title: str
    level: str
    severity: str
    score: float
    team: str
    vendor: str | None
    group_key: dict
    window_start: dt.datetime
    window_end: dt.datetime
    count: int
    value: float
    stance: str | None
    clause: str | None
    clause_reviewed: str | None
    evidence: list[EvidenceDraft] = field(default_factory=list)


def plain(value: Any) -> Any:
    """JSON-safe Python values for evidence and group keys."""
    if value is None or value is pd.NA or value is pd.NaT:  # NaT is a datetime: test it first
        return None
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return pd.Timestamp(value).tz_convert("UTC").isoformat() if pd.Timestamp(value).tzinfo else pd.Timestamp(value).isoformat()
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value) or math.isinf(value):
            return None
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    return value


def dedupe_key(rule_id: str, group: dict, window_start: dt.datetime, timespan: str) -> str:
    payload = json.dumps([rule_id, group, window_start.strftime("%Y-%m-%dT%H:%M:%SZ"), timespan],
                         sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def build_drafts(rule: Rule, matched: pd.DataFrame, aggregation, terms: dict, until: dt.datetime,
            evidence_cap: int) -> list[FindingDraft]:
    correlation = rule.correlation
    keys = list(correlation.group_by)
    table = aggregation.table
    # which finding (row of `table`) each matched event belongs to, -1 for none: vectorised
    row_of_cell = np.full(int(aggregation.event_cell.max()) + 1, -1, dtype="int64")
    row_of_cell[table[CELL].to_numpy()] = np.arange(len(table))
    rows = row_of_cell[aggregation.event_cell]
    events = matched.loc[rows >= 0].assign(_row=rows[rows >= 0])
    events = events.sort_values(["_row", TS, "id"], kind="stable")
    listed = events.loc[(events.groupby("_row").cumcount() < evidence_cap).to_numpy()]
    detail_fields = [f for f in dict.fromkeys(EVENT_DETAIL_FIELDS[rule.logsource] + tuple(keys) + rule_fields(rule))
                     if f in events.columns]
    by_row: dict[int, list[dict]] = {}
    for record in listed[["_row", "id"] + detail_fields].to_dict("records"):
        by_row.setdefault(record["_row"], []).append(record)
    models: dict[int, list[str]] = {}
    if "model" in events.columns:
        for row, model in events[["_row", "model"]].drop_duplicates().itertuples(index=False):
            if isinstance(model, str):
                models.setdefault(row, []).append(model)
    uploads: dict[int, list[str]] = {}
    if rule.logsource is Logsource.REUSE_FINDINGS:
        for row, call in events[["_row", "upload_call_id"]].drop_duplicates().itertuples(index=False):
            if isinstance(call, str):
                uploads.setdefault(row, []).append(call)

    drafts = []
    for row, values in enumerate(table.to_dict("records")):
        group = {k: plain(values[k]) for k in keys}
        start = pd.Timestamp(values[WINDOW], unit="ns", tz="UTC").to_pydatetime()
        end = start + dt.timedelta(seconds=correlation.timespan_s)
        team = group.get("team") or "unattributed"
        vendor = group.get("vendor")
        window_models = sorted(models.get(row, []))
        resolved = stance_for(terms, vendor, window_models)
        value = float(values["value"])
        threshold = plain(values["threshold"])
        score = finding_score(rule.level, resolved.stance, rule.weigh_by_stance, value,
                              float(threshold) if threshold is not None else None, resolved.confidence)
        window_events = by_row.get(row, [])
        aggregate_detail = {
            "rule": rule.name, "correlation": correlation.type.value, "field": correlation.field,
            "group": group, "window_start": plain(start), "window_end": plain(end),
            "timespan": correlation.timespan, "window_complete": bool(end <= until),
            "value": plain(value), "events": plain(values["events"]), "threshold": threshold,
            "condition": _condition_text(rule), "baseline": plain(values["baseline"]),
            "baseline_windows": correlation.baseline.windows if correlation.baseline else None,
            "models": window_models[:evidence_cap], "events_listed": len(window_events),
            **resolved.citation(),
            "references": list(rule.references), "weigh_by_stance": rule.weigh_by_stance,
        }
        evidence = [EvidenceDraft("aggregate", rule.id, AggregateDetails.from_json(aggregate_detail))]
        for event in window_events:
            detail = {f: plain(event[f]) for f in detail_fields}
            if isinstance(detail.get("call_ids"), list):
                detail["call_ids_total"] = len(detail["call_ids"])
                detail["call_ids"] = detail["call_ids"][:CALL_IDS_CAP]
            if rule.logsource is Logsource.OUTPUTS:
                detail["output_id"] = plain(event["id"])
            kind = _evidence_kind(rule.logsource, event)
            evidence.append(EvidenceDraft(kind, _evidence_ref(rule.logsource, event), details_of(kind, detail)))
        for upload_call in sorted(uploads.get(row, []))[:evidence_cap]:
            evidence.append(EvidenceDraft("upload", upload_call, CallDetails.from_json({"call_id": upload_call})))
        drafts.append(FindingDraft(
            dedupe_key=dedupe_key(rule.id, group, start, correlation.timespan),
            rule_id=rule.id, rule_name=rule.name, title=rule.title, level=rule.level.value,
            severity=severity_of(score).value, score=score, team=team, vendor=vendor, group_key=group,
            window_start=start, window_end=end, count=int(values["events"]), value=value,
            stance=resolved.stance.value if rule.weigh_by_stance else None,
            clause=resolved.clause if rule.weigh_by_stance else None,
            clause_reviewed=resolved.reviewed if rule.weigh_by_stance else None,
            evidence=evidence,
        ))
    return drafts


def rule_fields(rule: Rule) -> tuple[str, ...]:
    names = [m.field for s in rule.detection.selections.values() for alt in s.alternatives for m in alt]
    if rule.correlation.field:
        names.append(rule.correlation.field)
    return tuple(n for n in dict.fromkeys(names) if n in FIELDS[rule.logsource])


def _evidence_kind(logsource: Logsource, event: dict) -> str:
    if logsource is Logsource.REUSE_FINDINGS:
        return "reuse"
    if logsource is Logsource.UPLOADS or event.get("kind") == "upload":
        return "upload"
    return "call"


def _evidence_ref(logsource: Logsource, event: dict) -> str:
    """Evidence rows name a call (or reuse finding); an output's evidence names its call."""
    if logsource is Logsource.OUTPUTS:
        return str(plain(event.get("call_id")))
    return str(plain(event["id"]))


CALL_EVIDENCE_COLUMNS = ("ts", "team", "vendor", "model", "endpoint", "kind", "status", "outputs",
                         "completion_tokens", "user", "client_ip", "upload_purpose", "request_bytes")


def enrich_call_evidence(store, drafts: list[FindingDraft]) -> None:
    """Complete call and upload evidence with the call's details (endpoint, user, client IP ...),
    read for the listed calls only — a few per finding, not every call of the period."""
    items = [e for d in drafts for e in d.evidence if e.kind in ("call", "upload") and e.ref]
    ids = sorted({e.ref for e in items})
    if not ids:
        return
    columns = [Call.__table__.c[name] for name in ("id", *CALL_EVIDENCE_COLUMNS)]
    details: dict[str, dict] = {}
    with store.session() as session:
        for offset in range(0, len(ids), 500):
            rows = session.execute(select(*columns).where(Call.id.in_(ids[offset:offset + 500]))).mappings()
            for row in rows:
                details[row["id"]] = {k: plain(utc(v) if isinstance(v, dt.datetime) else v)
                                      for k, v in row.items() if k != "id" and v is not None}
    for item in items:
        found = details.get(item.ref)
        if found:
            item.detail = item.detail.under(found)


def _condition_text(rule: Rule) -> str:
    threshold = rule.correlation.threshold
    parts = []
    for name, bound in threshold.bounds.items():
        if threshold.factor is not None and name in ("gt", "gte"):
            parts.append(f"{name} max({threshold.factor:g} x baseline, {threshold.floor:g})")
        else:
            parts.append(f"{name} {bound:g}")
    if rule.correlation.min_events:
        parts.append(f"events >= {rule.correlation.min_events}")
    return " and ".join(parts)
