"""Run the rules over a period and record findings with their evidence, idempotently.

`run_rules()` is pure (frames in, finding drafts out) so fixtures and benchmarks can call it
without a store; `evaluate()` loads frames from the store, runs the rules and writes what is
new. A finding's `dedupe_key` is sha256(rule id, group values, window start, timespan): windows
are aligned to fixed boundaries (correlations.py), so evaluating the same data again — or an
overlapping period — finds the same keys and writes nothing twice.

A window that has not closed yet (it ends after `until`) is judged on the data so far and its
aggregate evidence says `window_complete: false`. Evaluating it again revises that finding
instead of adding one: its counts, score and severity, its aggregate evidence and any newly
listed events, until a run sees the window closed. The chain keeps every version
(chain.revise()); a finding whose window had closed when it was stored is never changed.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from typing import Iterable

import numpy as np
import pandas as pd
from sqlalchemy import select

from agent.ids import new_id
from agent.store import chain
from agent.store.models import Evidence
from agent.store.models import Finding
from rules.engine.collection import load_rules
from rules.engine.conditions import evaluate_condition
from rules.engine.correlations import NS
from rules.engine.correlations import aggregate
from rules.engine.correlations import history_windows
from rules.engine.correlations import window_of
from rules.engine.drafts import EVENT_DETAIL_FIELDS
from rules.engine.drafts import EVIDENCE_CAP
from rules.engine.drafts import FindingDraft
from rules.engine.drafts import build_drafts
from rules.engine.drafts import enrich_call_evidence
from rules.engine.drafts import rule_fields
from rules.engine.fields import FIELDS
from rules.engine.frames import TS
from rules.engine.frames import load_store_frames
from rules.engine.frames import to_ns
from rules.engine.frames import utc
from rules.engine.model import Logsource
from rules.engine.model import Rule
from rules.engine.modifiers import Columns
from rules.engine.modifiers import match_mask
from rules.engine.sources import attach_sources
from rules.engine.sources import store_snapshots
from rules.engine.terms import TERMS_PATH
from rules.engine.terms import load_terms


@dataclass
class EvaluateResult:
    since: dt.datetime | None
    until: dt.datetime
    rules: int  # rules run
    findings: list[FindingDraft]  # every finding of the period, new or already stored
    new_findings: int
    existing_findings: int
    new_evidence: int
    events: dict[str, int]  # rows loaded per log source (history included)
    load_seconds: float
    evaluate_seconds: float
    write_seconds: float
    updated_findings: int = 0
    changes: list["FindingChange"] = field(default_factory=list)  # new, updated and escalated findings


@dataclass(frozen=True)
class FindingChange:
    finding_id: str
    dedupe_key: str
    event: str  # new | updated | escalated
    severity: str
    previous_severity: str | None = None


@dataclass
class WriteResult:
    new_findings: int = 0
    new_evidence: int = 0
    updated_findings: int = 0
    changes: list[FindingChange] = field(default_factory=list)


SEVERITY_RANK = {"informational": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
# the finding columns a re-evaluation of its open window may change (the rest make up its key)
REVISABLE = ("title", "level", "severity", "score", "count", "value", "clause", "clause_reviewed", "stance")


def _detection_mask(rule: Rule, columns: Columns) -> pd.Series:
    cache: dict[str, pd.Series] = {}

    def selection_mask(name: str) -> pd.Series:
        if name not in cache:
            result = None
            for alternative in rule.detection.selections[name].alternatives:
                mask = None
                for match in alternative:
                    part = match_mask(columns, match.field, match.modifiers, match.values)
                    mask = part if mask is None else mask & part
                if mask is None:
                    mask = ~columns.false()
                result = mask if result is None else result | mask
            cache[name] = result if result is not None else columns.false()
        return cache[name]

    return evaluate_condition(rule.detection.condition_ast, selection_mask, rule.detection.selections)


def run_rules(rules: Iterable[Rule], frames: dict[Logsource, pd.DataFrame], since: dt.datetime | None,
              until: dt.datetime, terms: dict | None = None, evidence_cap: int = EVIDENCE_CAP) -> list[FindingDraft]:
    """Finding drafts for the windows starting in [floor(since), until), in a stable order."""
    terms = load_terms() if terms is None else terms
    until = utc(until)
    until_ns = to_ns(until)
    columns_by_source = {source: Columns(frame) for source, frame in frames.items()}
    drafts: list[FindingDraft] = []
    for rule in rules:
        if not rule.active:
            continue
        frame = frames[rule.logsource]
        columns = columns_by_source[rule.logsource]
        mask = _detection_mask(rule, columns) if len(frame) else columns.false()
        mask = mask & (frame[TS] < until_ns).to_numpy()
        if rule.exclude_teams:
            mask = mask & ~frame["team"].isin(rule.exclude_teams).to_numpy()
        selected = np.asarray(mask, dtype=bool)
        correlation = rule.correlation
        # only the columns this rule and its evidence use: copying all of them is the main cost
        wanted = [c for c in dict.fromkeys(["id", TS, "model", "upload_call_id", *correlation.group_by,
                                            *([correlation.field] if correlation.field else []),
                                            *EVENT_DETAIL_FIELDS[rule.logsource], *rule_fields(rule)])
                  if c in frame.columns]
        matched = frame.loc[selected, wanted]
        key_codes = [(codes[selected], size) for codes, size in map(columns.codes, correlation.group_by)]
        first_window = int(window_of([to_ns(since)], correlation.timespan_s)[0]) if since is not None else None
        aggregation = aggregate(matched, correlation, first_window, until_ns, key_codes)
        if aggregation.table.empty:
            continue
        drafts.extend(build_drafts(rule, matched, aggregation, terms, until, evidence_cap))
    return drafts


def _needs(rules: list[Rule], since: dt.datetime | None, until: dt.datetime) -> dict:
    """Per log source: (earliest time any rule needs — baseline history included —, until, fields)."""
    starts: dict[Logsource, dt.datetime | None] = {}
    fields: dict[Logsource, set[str]] = {}
    for rule in rules:
        correlation = rule.correlation
        start = None
        if since is not None:
            span = correlation.timespan_s
            first = int(window_of([to_ns(since)], span)[0])
            start_ns = first - history_windows(correlation) * span * NS
            start = pd.Timestamp(start_ns, unit="ns", tz="UTC").to_pydatetime()
        if rule.logsource not in starts:
            starts[rule.logsource] = start
        elif starts[rule.logsource] is None or start is None:
            starts[rule.logsource] = None
        else:
            starts[rule.logsource] = min(starts[rule.logsource], start)
        wanted = fields.setdefault(rule.logsource, set())
        wanted |= set(correlation.group_by) | set(rule_fields(rule))
        for selection in rule.detection.selections.values():
            for alternative in selection.alternatives:
                for match in alternative:
                    if "fieldref" in match.modifiers:
                        wanted.update(v for v in match.values if isinstance(v, str))
    return {source: (starts[source], until, {f for f in wanted if f in FIELDS[source]})
            for source, wanted in fields.items()}


def evaluate(store, since: dt.datetime | None = None, until: dt.datetime | None = None,
             extra_rule_paths: list[Path] = (), *, rules: list[Rule] | None = None, terms: dict | None = None,
             evidence_cap: int = EVIDENCE_CAP) -> EvaluateResult:
    """Run the shipped rules plus `extra_rule_paths` (config `rules.paths`) over [since, until)
    and store new findings with their evidence, hash-chained. `until` defaults to now, `since` to
    the beginning of the data. Raises rules.engine.model.RuleError for a bad rule file."""
    until = utc(until) if until is not None else dt.datetime.now(dt.timezone.utc)
    since = utc(since)
    rules = [r for r in (rules if rules is not None else load_rules(list(extra_rule_paths))) if r.active]
    terms_path = TERMS_PATH if terms is None else None  # a catalogue handed in has no file to keep
    terms = load_terms() if terms is None else terms

    started = time.perf_counter()
    frames = load_store_frames(store, _needs(rules, since, until)) if rules else {}
    loaded = time.perf_counter()
    drafts = run_rules(rules, frames, since, until, terms, evidence_cap)
    enrich_call_evidence(store, drafts)
    sources = attach_sources(drafts, rules, terms_path)
    evaluated = time.perf_counter()
    wrote = write_findings(store, drafts, sources)
    written = time.perf_counter()
    return EvaluateResult(
        since=since, until=until, rules=len(rules), findings=drafts, new_findings=wrote.new_findings,
        existing_findings=len(drafts) - wrote.new_findings, new_evidence=wrote.new_evidence,
        events={source.value: len(frame) for source, frame in frames.items()},
        load_seconds=loaded - started, evaluate_seconds=evaluated - loaded, write_seconds=written - evaluated,
        updated_findings=wrote.updated_findings, changes=wrote.changes,
    )


def write_findings(store, drafts: list[FindingDraft], sources: dict | None = None) -> WriteResult:
    """Insert the drafts whose dedupe_key is not stored yet, with evidence, chained, revise the
    stored findings of windows that were still open, and keep the rule and terms files the
    written findings name (`sources`, sources.attach_sources). Safe when two processes do it at
    once: the check and the write happen under the chain lock."""
    result = WriteResult()
    if not drafts:
        return result
    now = dt.datetime.now(dt.timezone.utc)
    with store.write_session() as session:
        chain.lock(session)
        stored = _stored_findings(session, [d.dedupe_key for d in drafts])
        open_state = _open_windows(session, [f.id for f in stored.values()])
        links: list[tuple[str, Any]] = []
        written: list[FindingDraft] = []  # inserted or revised: their sources are kept
        for draft in drafts:
            finding = stored.get(draft.dedupe_key)
            if finding is None:
                finding = _insert_draft(draft, now, links, result)
                written.append(draft)
                stored[draft.dedupe_key] = finding
                open_state[finding.id] = (None, set())  # a duplicate draft in one batch: nothing to revise
                result.changes.append(FindingChange(finding.id, draft.dedupe_key, "new", draft.severity))
                continue
            aggregate, listed = open_state.get(finding.id, (None, set()))
            if aggregate is None:
                continue  # its window had closed: the finding is final
            change = _revise(session, finding, aggregate, listed, draft, now, links, result)
            if change is not None:
                result.changes.append(change)
                written.append(draft)
                open_state[finding.id] = (None, set())
        if written and sources:
            named = {ref["sha256"] for d in written for e in d.evidence
                     if e.kind == "aggregate" for ref in (e.detail.sources or [])}
            store_snapshots(session, [sources[digest] for digest in named if digest in sources], now)
        chain.append(session, links, now)
    return result


def _stored_findings(session, keys: list[str]) -> dict[str, Finding]:
    found: dict[str, Finding] = {}
    for offset in range(0, len(keys), 500):
        chunk = keys[offset:offset + 500]
        found.update((f.dedupe_key, f) for f in session.execute(select(Finding).where(Finding.dedupe_key.in_(chunk))).scalars())
    return found


def _open_windows(session, finding_ids: list[str]) -> dict[str, tuple[Evidence | None, set]]:
    """For the findings whose window was still open when last evaluated: their aggregate
    evidence row and the (kind, ref) of the events already listed."""
    aggregates: dict[str, Evidence] = {}
    for offset in range(0, len(finding_ids), 500):
        chunk = finding_ids[offset:offset + 500]
        for row in session.execute(select(Evidence).where(Evidence.finding_id.in_(chunk),
                                                          Evidence.kind == "aggregate")).scalars():
            if isinstance(row.detail, dict) and row.detail.get("window_complete") is False:
                aggregates[row.finding_id] = row
    listed: dict[str, set] = {fid: set() for fid in aggregates}
    ids = list(aggregates)
    for offset in range(0, len(ids), 500):
        chunk = ids[offset:offset + 500]
        for fid, kind, ref in session.execute(select(Evidence.finding_id, Evidence.kind, Evidence.ref)
                                              .where(Evidence.finding_id.in_(chunk), Evidence.kind != "aggregate")):
            listed[fid].add((kind, ref))
    return {fid: (aggregates[fid], listed[fid]) for fid in aggregates}


def _insert_draft(draft: FindingDraft, now: dt.datetime, links: list, result: WriteResult) -> Finding:
    finding = Finding(
        id=new_id(), dedupe_key=draft.dedupe_key, rule_id=draft.rule_id, rule_name=draft.rule_name,
        title=draft.title, level=draft.level, severity=draft.severity, score=draft.score,
        team=draft.team, vendor=draft.vendor, group_key=draft.group_key,
        window_start=draft.window_start, window_end=draft.window_end, count=draft.count,
        value=draft.value, clause=draft.clause, clause_reviewed=draft.clause_reviewed,
        stance=draft.stance, created_at=now,
    )
    links.append(("findings", finding))
    result.new_findings += 1
    for item in draft.evidence:
        links.append(("evidence", Evidence(id=new_id(), finding_id=finding.id, kind=item.kind, ref=item.ref,
                                           detail=item.detail.to_json(), created_at=now)))
        result.new_evidence += 1
    return finding


def _same(stored: Any, new: Any) -> bool:
    """Equal as the chain would hash them (so 3 and 3.0, or a tuple and a list, are the same)."""
    return chain.canonical("evidence", {"detail": stored}) == chain.canonical("evidence", {"detail": new})


def _revise(session, finding: Finding, aggregate: Evidence, listed: set, draft: FindingDraft, now: dt.datetime,
            links: list, result: WriteResult) -> FindingChange | None:
    """Bring a stored finding of an open window up to date with `draft`; None when nothing changed.
    A run that saw fewer of the window's events than the stored version (an earlier `--until`)
    leaves it alone: revisions only move forward."""
    if draft.count < (finding.count or 0):
        return None
    new_aggregate = next((e for e in draft.evidence if e.kind == "aggregate"), None)
    new_events = [e for e in draft.evidence if e.kind != "aggregate" and (e.kind, e.ref) not in listed]
    values = {name: getattr(draft, name) for name in REVISABLE}
    finding_changed = any(not _same(getattr(finding, name), value) for name, value in values.items())
    detail = new_aggregate.detail.to_json() if new_aggregate is not None else aggregate.detail
    aggregate_changed = not _same(aggregate.detail, detail)
    if not (finding_changed or aggregate_changed or new_events):
        return None
    previous = finding.severity
    chain.revise(session, "findings", finding, now)
    for name, value in values.items():
        setattr(finding, name, value)
    links.append(("findings", finding))
    if aggregate_changed:
        chain.revise(session, "evidence", aggregate, now)
        aggregate.detail = detail
        links.append(("evidence", aggregate))
    for item in new_events:
        links.append(("evidence", Evidence(id=new_id(), finding_id=finding.id, kind=item.kind, ref=item.ref,
                                           detail=item.detail.to_json(), created_at=now)))
        result.new_evidence += 1
    result.updated_findings += 1
    escalated = SEVERITY_RANK.get(draft.severity, 0) > SEVERITY_RANK.get(previous, 0)
    return FindingChange(finding.id, draft.dedupe_key, "escalated" if escalated else "updated", draft.severity, previous)
