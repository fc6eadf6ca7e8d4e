"""Re-evaluating an open window revises its finding; the chain keeps every version verifiable."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from agent.store.chain import prune_chain_before
from agent.store.chain import verify
from agent.store.engine import open_store
from agent.store.models import ChainRevision
from agent.store.models import Evidence
from agent.store.models import Finding
from rules.engine.evaluate import evaluate
from rules.engine.evaluate import write_findings

from .conftest import seed
from .scenario import CALLS
from .scenario import DAY

HARVEST = "bulk_outputs_harvesting"


def harvest_findings(store):
    with store.session() as s:
        return s.execute(select(Finding).where(Finding.rule_name == HARVEST, Finding.team == "harvest")).scalars().all()


def aggregate_of(store, finding_id):
    with store.session() as s:
        return s.execute(select(Evidence).where(Evidence.finding_id == finding_id, Evidence.kind == "aggregate")).scalar_one()


def test_an_open_window_is_updated_until_it_closes_then_frozen(store):
    seed(store, calls=CALLS)
    # 9:00 + 2h30 of harvesting at one call (2 outputs) per 30 s: 600 outputs, past the floor of 500
    first = evaluate(store, DAY, DAY + dt.timedelta(hours=11, minutes=30))
    [finding] = harvest_findings(store)
    assert finding.count == 300 and aggregate_of(store, finding.id).detail["window_complete"] is False
    assert any(c.finding_id == finding.id and c.event == "new" for c in first.changes)

    later = evaluate(store, DAY, DAY + dt.timedelta(hours=13))
    [revised] = harvest_findings(store)
    assert revised.id == finding.id and revised.count == 480 and revised.value == 960
    assert revised.chain_seq > finding.chain_seq
    assert any(c.finding_id == finding.id and c.event == "updated" for c in later.changes)
    assert later.new_findings == 0 and later.updated_findings >= 1

    earlier = evaluate(store, DAY, DAY + dt.timedelta(hours=12))  # a look back at less data changes nothing
    assert not [c for c in earlier.changes if c.finding_id == finding.id]
    assert harvest_findings(store)[0].count == 480

    closed = evaluate(store, DAY, DAY + dt.timedelta(days=1))
    [final] = harvest_findings(store)
    assert final.count == 600 and aggregate_of(store, final.id).detail["window_complete"] is True
    assert any(c.finding_id == final.id for c in closed.changes)

    again = evaluate(store, DAY, DAY + dt.timedelta(days=2))
    assert not [c for c in again.changes if c.finding_id == final.id]
    assert harvest_findings(store)[0].chain_seq == final.chain_seq

    with store.session() as s:
        kept = s.execute(select(ChainRevision).where(ChainRevision.row_id == final.id)
                         .order_by(ChainRevision.chain_seq)).scalars().all()
    assert [json.loads(k.canonical)["count"] for k in kept] == [300, 480]
    result = verify(store)
    assert result.ok, result.first_break


def test_a_changed_earlier_version_breaks_the_chain_there(store):
    seed(store, calls=CALLS)
    evaluate(store, DAY, DAY + dt.timedelta(hours=11, minutes=30))
    evaluate(store, DAY, DAY + dt.timedelta(hours=13))
    with store.write_session() as s:
        kept = s.execute(select(ChainRevision).where(ChainRevision.table_name == "findings")).scalars().first()
        content = json.loads(kept.canonical)
        content["count"] = 1  # make the harvesting look smaller than it was
        s.execute(update(ChainRevision).where(ChainRevision.chain_seq == kept.chain_seq)
                  .values(canonical=json.dumps(content, sort_keys=True, separators=(",", ":"))))
    result = verify(store)
    assert not result.ok and f"seq {kept.chain_seq} findings" in result.first_break
    assert "earlier version" in result.first_break


def test_a_revision_moved_to_another_seq_is_caught(store):
    seed(store, calls=CALLS)
    evaluate(store, DAY, DAY + dt.timedelta(hours=11, minutes=30))
    evaluate(store, DAY, DAY + dt.timedelta(hours=13))
    with store.write_session() as s:
        kept = s.execute(select(ChainRevision)).scalars().first()
        s.execute(update(ChainRevision).where(ChainRevision.chain_seq == kept.chain_seq).values(row_id="0" * 26))
    assert "does not belong" in verify(store).first_break


def test_escalation_is_reported_and_a_closed_window_is_never_revised(store):
    seed(store, calls=CALLS)
    result = evaluate(store, DAY, DAY + dt.timedelta(hours=11, minutes=30))
    draft = next(d for d in result.findings if d.rule_id and d.team == "harvest" and d.rule_name == HARVEST)
    hotter = dataclasses.replace(draft, severity="critical", score=88.0, count=draft.count + 1)
    wrote = write_findings(store, [hotter])
    assert [(c.event, c.previous_severity, c.severity) for c in wrote.changes] == [("escalated", draft.severity, "critical")]
    assert harvest_findings(store)[0].severity == "critical"

    evaluate(store, DAY, DAY + dt.timedelta(days=1))  # the window closes
    frozen = harvest_findings(store)[0]
    colder = dataclasses.replace(draft, severity="low", score=30.0, count=1)
    assert write_findings(store, [colder]).changes == []
    assert harvest_findings(store)[0].count == frozen.count
    assert verify(store).ok


def test_pruning_keeps_a_revised_finding_with_its_older_evidence(store):
    seed(store, calls=CALLS)
    evaluate(store, DAY, DAY + dt.timedelta(hours=11, minutes=30))
    evaluate(store, DAY, DAY + dt.timedelta(days=1))
    [finding] = harvest_findings(store)
    with store.session() as s:
        oldest_evidence = s.execute(select(func.min(Evidence.chain_seq)).where(Evidence.finding_id == finding.id)).scalar()
    assert oldest_evidence < finding.chain_seq
    prune_chain_before(store, finding.chain_seq)  # a cut between its older evidence and its new link
    with store.session() as s:
        left = s.execute(select(func.count()).select_from(Evidence).where(Evidence.finding_id == finding.id)).scalar()
    assert harvest_findings(store) and left > 1
    assert verify(store).ok, verify(store).first_break


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(min_value=0, max_value=24 * 60), min_size=0, max_size=5))
def test_evaluating_as_the_day_goes_ends_where_one_evaluation_at_the_end_does(tmp_path_factory, cuts):
    """However often the open windows are evaluated on the way (none, once, the same minute twice,
    many), the final findings equal those of one evaluation after the day, and the chain verifies."""
    base = tmp_path_factory.mktemp("incremental")
    stepped, once = open_store(f"sqlite:///{base / 'stepped.db'}"), open_store(f"sqlite:///{base / 'once.db'}")
    for store in (stepped, once):
        seed(store, calls=CALLS)
    for minute in sorted(cuts):
        evaluate(stepped, DAY, DAY + dt.timedelta(minutes=max(1, minute)))
    evaluate(stepped, DAY, DAY + dt.timedelta(days=1))
    evaluate(once, DAY, DAY + dt.timedelta(days=1))

    def summary(store):
        with store.session() as s:
            rows = s.execute(select(Finding.dedupe_key, Finding.count, Finding.value, Finding.severity)).all()
            aggregates = s.execute(select(Finding.dedupe_key, Evidence.detail).join(Evidence, Evidence.finding_id == Finding.id)
                                   .where(Evidence.kind == "aggregate")).all()
        return sorted(rows), sorted((k, d["events"], d["window_complete"]) for k, d in aggregates)

    assert summary(stepped) == summary(once)
    assert verify(stepped).ok, verify(stepped).first_break
    stepped.dispose()
    once.dispose()
