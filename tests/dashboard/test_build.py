"""build_week(): the report model from a hand-made store, figure by figure."""

from __future__ import annotations

import datetime as dt

from dashboard.build import build_week
from dashboard.model import team_slug
from dashboard.weeks import IsoWeek

from .seed import call
from .seed import evidence
from .seed import finding
from .seed import insert_rows
from .seed import reuse

WEEK = IsoWeek(2026, 47)
MON = WEEK.start
AT = dt.datetime(2026, 11, 30, tzinfo=dt.timezone.utc)


def test_calls_and_output_volume_by_team_vendor_and_model(store):
    insert_rows(store, calls=[
        call(MON + dt.timedelta(hours=1), "research", "openai", "gpt-4o", outputs=2, tokens=100),
        call(MON + dt.timedelta(days=2), "research", "openai", "gpt-4o-mini", tokens=50),
        call(MON + dt.timedelta(days=6, hours=23), "research", "anthropic", "claude", tokens=None),
        call(MON + dt.timedelta(days=1), "support", "openai", None, tokens=10),
        call(MON - dt.timedelta(seconds=1), "research", "openai", "gpt-4o", tokens=1000),  # week before
        call(WEEK.end, "research", "openai", "gpt-4o", tokens=1000),  # week after
    ])
    model = build_week(store, WEEK, generated_at=AT)
    assert model.calls == 4 and model.output_tokens == 160 and model.outputs == 5
    research = next(t for t in model.teams if t.team == "research")
    assert (research.calls, research.output_tokens, research.outputs) == (3, 150, 4)
    assert [(u.vendor, u.calls, u.output_tokens) for u in research.vendors] == [("openai", 2, 150), ("anthropic", 1, 0)]
    assert [(u.vendor, u.model, u.calls) for u in research.models] == [
        ("anthropic", "claude", 1), ("openai", "gpt-4o", 1), ("openai", "gpt-4o-mini", 1)]
    support = next(t for t in model.teams if t.team == "support")
    assert support.models[0].model is None  # a call that named no model
    assert [d.calls for d in research.days] == [1, 0, 1, 0, 0, 0, 1]
    # the eight weeks before, oldest first, then this week
    assert [p.week for p in model.history] == [WEEK.shifted(-n).label for n in range(8, -1, -1)]
    assert model.history[-2].calls == 1 and model.history[-2].output_tokens == 1000
    assert model.history[-1].calls == 4
    assert model.complete


def test_teams_are_ranked_by_risk_from_this_weeks_findings(store):
    worst = finding(MON + dt.timedelta(days=1), "beta", severity="critical", score=92.0)
    insert_rows(store, calls=[call(MON, "alpha"), call(MON, "beta"), call(MON, "gamma")], findings=[
        finding(MON, "alpha", severity="low", score=30.0),
        worst,
        finding(MON - dt.timedelta(days=3), "gamma", severity="critical", score=95.0),  # last week: history only
    ])
    model = build_week(store, WEEK, teams=["quiet-team"], generated_at=AT)
    assert [(t.rank, t.team, t.risk_level) for t in model.teams] == [
        (1, "beta", "critical"), (2, "alpha", "low"), (3, "gamma", "none"), (4, "quiet-team", "none")]
    assert [f.id for f in model.findings] == [worst["id"], model.teams[1].findings[0].id]
    gamma = model.teams[2]
    assert gamma.history[-2].findings["critical"] == 1 and gamma.history[-2].risk_score > 90
    assert gamma.history[-1].risk_score == 0.0
    assert model.history[-2].findings["critical"] == 1


def test_findings_carry_evidence_in_order_and_remediation(store):
    f = finding(MON + dt.timedelta(days=2), rule_name="outputs_in_dataset")
    rows = [
        evidence(f, "reuse", {"path": "/data/b.jsonl", "record": 2}, ref="R2", seq=3),
        evidence(f, "aggregate", {"value": 2, "events": 2, "condition": "gte 1"}, ref=f["rule_id"], seq=1),
        evidence(f, "reuse", {"path": "/data/a.jsonl", "record": 1}, ref="R1", seq=2),
    ]
    insert_rows(store, findings=[f], evidence_rows=rows,
                reuse_rows=[reuse(MON + dt.timedelta(days=2), "/data/a.jsonl", 1),
                            reuse(MON + dt.timedelta(days=2), "/data/a.jsonl", 2, teams=["research", "other"]),
                            reuse(MON + dt.timedelta(days=2), "/data/b.jsonl", 1, vendors=["anthropic"])])
    model = build_week(store, WEEK, generated_at=AT)
    view = model.findings[0]
    assert [e.kind for e in view.evidence] == ["aggregate", "reuse", "reuse"]
    assert [e.ref for e in view.evidence_of("reuse")] == ["R1", "R2"]  # stored (chain) order
    assert view.remediation.headline.startswith("Remove vendor outputs")
    assert view.team_slug == team_slug("research")
    research = next(t for t in model.teams if t.team == "research")
    assert [(d.path, d.records, d.vendors) for d in research.datasets] == [
        ("/data/a.jsonl", 2, ("openai",)), ("/data/b.jsonl", 1, ("anthropic",))]
    other = next(t for t in model.teams if t.team == "other")
    assert [d.path for d in other.datasets] == ["/data/a.jsonl"]


def test_vendor_exposure_names_the_clause_that_applies(store):
    insert_rows(store, calls=[call(MON, vendor="openai"), call(MON, vendor="deepseek", model="deepseek-chat"),
                              call(MON, vendor="not-a-vendor")],
                findings=[finding(MON, vendor="deepseek", stance="permits")])
    model = build_week(store, WEEK, generated_at=AT)
    by_vendor = {v.vendor: v for v in model.vendors}
    assert model.vendors[0].vendor == "deepseek"  # vendors with findings first
    assert by_vendor["openai"].stance == "prohibits" and "compete" in by_vendor["openai"].clause
    assert by_vendor["openai"].clause_reviewed and by_vendor["openai"].terms_url.startswith("https://")
    assert by_vendor["deepseek"].stance == "permits"
    assert by_vendor["not-a-vendor"].stance == "unknown"


def test_an_empty_store_gives_an_empty_report(store):
    model = build_week(store, "2026-W47", generated_at=dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc))
    assert model.teams == [] and model.findings == [] and model.calls == 0
    assert not model.complete
    assert model.to_json()["teams"] == []
