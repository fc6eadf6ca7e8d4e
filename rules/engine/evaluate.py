"""Run the rules over a period and record findings with their evidence, idempotently.

`run_rules()` is pure (frames in, finding drafts out) so fixtures and benchmarks can call it
without a store; `evaluate()` loads frames from the store, runs the rules and writes what is
new. A finding's `dedupe_key` is sha256(rule id, group values, window start, timespan): windows
are aligned to fixed boundaries (correlations.py), so evaluating the same data again — or an
overlapping period — finds the same keys and writes nothing twice.

A window that has not closed yet (it ends after `until`) is judged on the data so far and its
aggregate evidence says `window_complete: false`; once a finding is stored it is never rewritten
(the evidence chain is append-only), so a later run does not update its counts.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
from sqlalchemy import select

from agent.ids import new_id
from agent.store.models import Evidence
from agent.store.models import Finding
from rules.engine import chain
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
    new_findings, new_evidence = write_findings(store, drafts, sources)
    written = time.perf_counter()
    return EvaluateResult(
        since=since, until=until, rules=len(rules), findings=drafts, new_findings=new_findings,
        existing_findings=len(drafts) - new_findings, new_evidence=new_evidence,
        events={source.value: len(frame) for source, frame in frames.items()},
        load_seconds=loaded - started, evaluate_seconds=evaluated - loaded, write_seconds=written - evaluated,
    )


def write_findings(store, drafts: list[FindingDraft], sources: dict | None = None) -> tuple[int, int]:
    """Insert the drafts whose dedupe_key is not stored yet, with evidence, chained, and the
    rule and terms files they name (`sources`, sources.attach_sources). Safe when two processes
    do it at once: the check and the insert happen under the chain lock."""
    if not drafts:
        return 0, 0
    now = dt.datetime.now(dt.timezone.utc)
    with store.write_session() as session:
        chain.lock(session)
        keys = [d.dedupe_key for d in drafts]
        existing: set[str] = set()
        for offset in range(0, len(keys), 500):
            chunk = keys[offset:offset + 500]
            existing |= set(session.execute(select(Finding.dedupe_key).where(Finding.dedupe_key.in_(chunk))).scalars())
        links: list[tuple[str, Any]] = []
        new_findings = new_evidence = 0
        written: list[FindingDraft] = []
        for draft in drafts:
            if draft.dedupe_key in existing:
                continue
            existing.add(draft.dedupe_key)
            written.append(draft)
            finding = Finding(
                id=new_id(), dedupe_key=draft.dedupe_key, rule_id=draft.rule_id, rule_name=draft.rule_name,
                title=draft.title, level=draft.level, severity=draft.severity, score=draft.score,
                team=draft.team, vendor=draft.vendor, group_key=draft.group_key,
                window_start=draft.window_start, window_end=draft.window_end, count=draft.count,
                value=draft.value, clause=draft.clause, clause_reviewed=draft.clause_reviewed,
                stance=draft.stance, created_at=now,
            )
            links.append(("findings", finding))
            new_findings += 1
            for item in draft.evidence:
                evidence = Evidence(id=new_id(), finding_id=finding.id, kind=item.kind, ref=item.ref,
                                    detail=item.detail, created_at=now)
                links.append(("evidence", evidence))
                new_evidence += 1
        if new_findings and sources:
            named = {ref["sha256"] for d in written for e in d.evidence
                     if e.kind == "aggregate" for ref in e.detail.get("sources", [])}
            store_snapshots(session, [sources[digest] for digest in named if digest in sources], now)
        chain.append(session, links, now)
    return new_findings, new_evidence
