"""Severity weighs the rule level by the vendor's stance; team risk ranks teams the way a
compliance officer would."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select

from agent.store.models import Finding
from rules.engine.evaluate import evaluate
from rules.engine.model import Level
from rules.engine.model import Stance
from rules.engine.severity import combine
from rules.engine.severity import finding_score
from rules.engine.severity import risk_level
from rules.engine.severity import severity_of
from rules.engine.severity import team_risk

from .conftest import seed
from .scenario import CALLS
from .scenario import SINCE
from .scenario import UNTIL
from .scenario import reuse_entries


def test_permitting_vendor_rates_lower_than_prohibiting_one_for_the_same_rule():
    prohibits = finding_score(Level.HIGH, Stance.PROHIBITS)
    unknown = finding_score(Level.HIGH, Stance.UNKNOWN)
    restricts = finding_score(Level.HIGH, Stance.RESTRICTS)
    permits = finding_score(Level.HIGH, Stance.PERMITS)
    assert prohibits > unknown > restricts > permits
    assert severity_of(prohibits) is Level.HIGH
    assert severity_of(unknown) is Level.MEDIUM
    assert severity_of(permits) is Level.LOW
    assert severity_of(finding_score(Level.CRITICAL, Stance.PROHIBITS)) is Level.CRITICAL


def test_rules_about_our_own_hygiene_ignore_the_stance():
    assert finding_score(Level.LOW, Stance.PERMITS, weigh_by_stance=False) == finding_score(Level.LOW, Stance.PROHIBITS, weigh_by_stance=False)


def test_excess_over_threshold_adds_but_never_a_whole_level():
    assert finding_score(Level.HIGH, Stance.PROHIBITS, value=1200, threshold=500) > finding_score(Level.HIGH, Stance.PROHIBITS)
    huge = finding_score(Level.HIGH, Stance.PROHIBITS, value=10**9, threshold=1)
    assert severity_of(huge) is Level.HIGH


def test_combining_findings():
    assert combine([]) == 0 and risk_level(0) == "none"
    assert combine([70]) == 70 and risk_level(70) == "high"
    assert 70 < combine([70, 70]) < 80
    assert combine([10] * 50) == 0 and risk_level(combine([10] * 50)) == "none"  # informational: context only
    assert combine([70, 10]) == 70
    assert risk_level(combine([93])) == "critical"


def test_team_risk_accepts_frames_dicts_and_rows():
    rows = [
        {"id": "f1", "rule_id": "r", "rule_name": "x", "title": "X", "severity": "high", "score": 70.0,
         "team": "a", "vendor": "openai", "stance": "prohibits", "clause": "no competing models",
         "clause_reviewed": "2026-11-29", "window_start": None, "count": 3},
        {"id": "f2", "rule_id": "r", "rule_name": "x", "title": "X", "severity": "low", "score": 21.0,
         "team": "b", "vendor": "deepseek", "stance": "permits", "clause": "may train", "clause_reviewed": "2026-11-29",
         "window_start": None, "count": 1},
    ]
    for findings in (rows, pd.DataFrame(rows)):
        ranked = team_risk(findings, teams=["c"])
        assert [(r.team, r.level) for r in ranked] == [("a", "high"), ("b", "low"), ("c", "none")]
        assert ranked[0].clauses == ["no competing models"]
        assert ranked[0].findings[0].count == 3


def test_team_ranking_as_a_compliance_officer_expects(store):
    seed(store, calls=CALLS, reuse_findings=reuse_entries())
    evaluate(store, SINCE, UNTIL)
    with store.session() as session:
        findings = session.execute(select(Finding)).scalars().all()
    ranked = team_risk(findings, teams=["harvest", "distill", "permitted", "normal"])
    by_team = {r.team: r for r in ranked}
    order = [r.team for r in ranked]

    assert {f.rule_name for f in by_team["harvest"].findings} >= {"bulk_outputs_harvesting"}
    assert {f.rule_name for f in by_team["distill"].findings} == {"outputs_in_dataset"}
    assert {f.rule_name for f in by_team["permitted"].findings} == {"outputs_in_dataset"}
    assert by_team["normal"].findings == [] and by_team["normal"].level == "none"

    # the harvesting team and the team routing a prohibiting vendor's outputs into a dataset come
    # first, above the team reusing a permitting vendor's outputs the same way, above a normal team
    assert set(order[:2]) == {"harvest", "distill"}
    assert order[2:] == ["permitted", "normal"]
    assert by_team["distill"].level in ("high", "critical")
    assert by_team["harvest"].level in ("high", "critical")
    assert by_team["permitted"].level == "low"

    # the same rule, the same reuse: the vendor's stance makes the difference, and says why
    distill = by_team["distill"].findings[0]
    permitted = by_team["permitted"].findings[0]
    assert distill.rule_id == permitted.rule_id
    assert distill.score > permitted.score
    assert (distill.stance, permitted.stance) == ("prohibits", "permits")
    assert "distillation" in distill.clause and distill.clause_reviewed
    assert "distillation" in permitted.clause  # DeepSeek: expressly allowed
