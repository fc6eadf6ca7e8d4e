"""evaluate(): idempotent findings with evidence, site overrides, concurrent evaluators."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text

from agent.store.chain import verify
from agent.store.models import Evidence
from agent.store.models import Finding
from rules.engine.drafts import EVIDENCE_CAP
from rules.engine.evaluate import evaluate
from rules.engine.model import RuleError

from .conftest import seed
from .scenario import CALLS
from .scenario import DAY
from .scenario import SINCE
from .scenario import UNTIL
from .scenario import reuse_entries

REPO = Path(__file__).resolve().parents[2]


def stored(store):
    with store.session() as session:
        findings = session.execute(select(Finding).order_by(Finding.rule_name, Finding.team)).scalars().all()
        evidence = session.execute(select(func.count()).select_from(Evidence)).scalar()
    return findings, evidence


def test_evaluating_twice_gives_the_same_findings_and_no_duplicates(store):
    seed(store, calls=CALLS, reuse_findings=reuse_entries())
    first = evaluate(store, SINCE, UNTIL)
    findings, evidence = stored(store)
    assert first.new_findings == len(findings) > 0 and first.new_evidence == evidence

    again = evaluate(store, SINCE, UNTIL)
    assert again.new_findings == 0 and again.existing_findings == first.new_findings
    assert sorted(d.dedupe_key for d in again.findings) == sorted(d.dedupe_key for d in first.findings)

    # a period that starts mid-day or spans more days still lands on the same aligned windows
    later = evaluate(store, DAY + dt.timedelta(hours=10), UNTIL + dt.timedelta(days=2))
    wider = evaluate(store, DAY - dt.timedelta(days=1), UNTIL)
    assert later.new_findings == 0
    assert {d.dedupe_key for d in first.findings} <= {d.dedupe_key for d in wider.findings}
    assert stored(store)[0].__len__() == len(findings) + wider.new_findings
    assert verify(store).ok


def test_findings_carry_their_evidence(store):
    data = seed(store, calls=CALLS, reuse_findings=reuse_entries())
    evaluate(store, SINCE, UNTIL)
    with store.session() as session:
        harvest = session.execute(select(Finding).where(Finding.rule_name == "bulk_outputs_harvesting")).scalar_one()
        items = session.execute(select(Evidence).where(Evidence.finding_id == harvest.id)
                                .order_by(Evidence.chain_seq)).scalars().all()
        dataset = session.execute(select(Finding).where(Finding.rule_name == "outputs_in_dataset",
                                                        Finding.team == "distill")).scalar_one()
        reuse = session.execute(select(Evidence).where(Evidence.finding_id == dataset.id,
                                                       Evidence.kind == "reuse")).scalars().all()
    assert (harvest.team, harvest.vendor, harvest.count, harvest.value) == ("harvest", "openai", 600, 1200.0)
    assert harvest.window_start.replace(tzinfo=dt.timezone.utc) == DAY
    assert harvest.stance == "prohibits" and harvest.clause_reviewed and "compete" in harvest.clause
    aggregate, *calls = items
    assert aggregate.kind == "aggregate"
    assert aggregate.detail["value"] == 1200 and aggregate.detail["events"] == 600
    assert aggregate.detail["threshold"] == 500 and aggregate.detail["baseline"] == 40
    assert aggregate.detail["window_complete"] is True and aggregate.detail["terms_url"].startswith("https://")
    assert aggregate.detail["events_listed"] == EVIDENCE_CAP == len(calls)
    harvest_ids = {c["id"] for c in data["calls"] if c["id"].startswith("hv")}
    assert all(c.kind == "call" and c.ref in harvest_ids for c in calls)
    assert len(reuse) == 25 and dataset.count == 30
    assert {r.detail["path"] for r in reuse} == {"/data/sft/distill.jsonl"}
    assert all(r.detail["output_coverage"] == 0.95 and r.detail["call_ids"][0].startswith("da") for r in reuse)


def test_site_overrides_disable_relevel_and_exclude(store, tmp_path):
    seed(store, calls=CALLS, reuse_findings=reuse_entries())
    site = tmp_path / "rules.d"
    site.mkdir()
    (site / "local.yml").write_text(
        "override:\n  rule: bulk_outputs_harvesting\n  disabled: true\n---\n"
        "override:\n  rule: outputs_in_dataset\n  exclude_teams: [permitted]\n  level: medium\n"
    )
    result = evaluate(store, SINCE, UNTIL, extra_rule_paths=[site])
    names = {(d.rule_name, d.team) for d in result.findings}
    assert ("bulk_outputs_harvesting", "harvest") not in names
    assert ("outputs_in_dataset", "permitted") not in names
    distill = next(d for d in result.findings if d.rule_name == "outputs_in_dataset")
    assert distill.level == "medium" and distill.severity == "medium"


def test_two_evaluators_at_once_write_each_finding_once(db_url):
    from agent.store.engine import open_store

    store = open_store(db_url)
    seed(store, calls=CALLS, reuse_findings=reuse_entries())
    script = (
        "import datetime as dt, sys\n"
        "from agent.store.engine import open_store\n"
        "from rules.engine.evaluate import evaluate\n"
        "day = dt.datetime(2026, 11, 16, tzinfo=dt.timezone.utc)\n"
        "r = evaluate(open_store(sys.argv[1]), day, day + dt.timedelta(days=1))\n"
        "print(r.new_findings)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    procs = [subprocess.Popen([sys.executable, "-c", script, db_url], stdout=subprocess.PIPE, env=env, text=True)
             for _ in range(3)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    findings, _ = stored(store)
    assert sum(int(o.strip()) for o in outputs) == len(findings) > 0
    assert len({f.dedupe_key for f in findings}) == len(findings)
    assert verify(store).ok


def test_rules_over_outputs(store, tmp_path):
    """The outputs log source (one row per generated text, with its call's team and vendor)."""
    site = tmp_path / "rules.d"
    site.mkdir()
    (site / "long_outputs.yml").write_text(
        "title: Long Outputs At Volume\n"
        "id: 3f0b8f5e-8a57-4a8e-9a0e-6f7d9c1b2a33\n"
        "name: long_outputs_volume\n"
        "status: experimental\n"
        "level: low\n"
        "description: Many long generated texts in a day.\n"
        "logsource:\n  category: outputs\n"
        "detection:\n  selection:\n    kind: generated\n    word_count|gte: 300\n  condition: selection\n"
        "correlation:\n  type: value_sum\n  field: word_count\n  group-by: [team, vendor, model]\n"
        "  timespan: 1d\n  condition:\n    gte: 3000\n"
    )
    seed(store,
         calls=[{"ts": DAY + dt.timedelta(hours=1), "team": "writers", "vendor": "mistral", "model": "mistral-large",
                 "id": "w{i}", "repeat": 12, "every": "1m"}],
         outputs=[{"call_id": "w{i}", "ts": DAY + dt.timedelta(hours=1), "word_count": 400, "repeat": 12},
                  {"call_id": "w0", "idx": 1, "ts": DAY + dt.timedelta(hours=1), "word_count": 100}])
    result = evaluate(store, SINCE, UNTIL, extra_rule_paths=[site])
    finding = next(d for d in result.findings if d.rule_name == "long_outputs_volume")
    assert finding.group_key == {"team": "writers", "vendor": "mistral", "model": "mistral-large"}
    assert finding.value == 4800 and finding.count == 12 and finding.stance == "restricts"
    calls = [e for e in finding.evidence if e.kind == "call"]
    assert len(calls) == 12 and all(e.ref.startswith("w") and e.detail.word_count == 400 for e in calls)
    assert calls[0].detail.endpoint == "chat.completions"  # completed from the call


def test_a_value_of_an_unexpected_type_still_loads(sqlite_url):
    """SQLite is dynamically typed: a text value in an integer column must not break a run."""
    from agent.store.engine import open_store

    store = open_store(sqlite_url)
    seed(store, calls=[{"ts": DAY + dt.timedelta(hours=3), "team": "unattributed", "vendor": "groq", "id": "odd1"},
                       {"ts": DAY + dt.timedelta(hours=3), "team": "unattributed", "vendor": "groq", "id": "odd2"}])
    with store.write_session() as session:
        session.execute(text("UPDATE calls SET status = 'n/a', outputs = '1' WHERE id = 'odd1'"))
    result = evaluate(store, SINCE, UNTIL)
    finding = next(d for d in result.findings if d.rule_name == "unattributed_ai_traffic")
    assert finding.count == 2 and finding.stance is None  # hygiene rule: no vendor clause at stake


def test_a_broken_site_rule_stops_evaluation_with_its_line(store, tmp_path):
    (tmp_path / "bad.yml").write_text("override:\n  rule: bulk_outputs_harvesting\n  level: loud\n")
    with pytest.raises(RuleError) as raised:
        evaluate(store, SINCE, UNTIL, extra_rule_paths=[tmp_path])
    assert str(raised.value) == f"{tmp_path / 'bad.yml'}:3: invalid level 'loud' (one of: informational, low, medium, high, critical)"
