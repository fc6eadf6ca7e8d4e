"""The evidence chain: verify passes on untouched data and names the first broken link when a
row is changed, inserted or deleted; pruning keeps the rest verifiable."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text

from agent.ids import new_id
from agent.store.chain import prune_chain_before
from agent.store.chain import prune_chain_older_than
from agent.store.chain import verify
from agent.store.models import ChainCheckpoint
from agent.store.models import Evidence
from agent.store.models import Finding
from rules.engine.evaluate import evaluate
from tests.rules.conftest import seed
from tests.rules.scenario import CALLS
from tests.rules.scenario import SINCE
from tests.rules.scenario import UNTIL
from tests.rules.scenario import reuse_entries


@pytest.fixture
def chained(store):
    seed(store, calls=CALLS, reuse_findings=reuse_entries())
    evaluate(store, SINCE, UNTIL)
    return store


def links(store):
    with store.session() as session:
        rows = [("findings", s, i) for s, i in session.execute(select(Finding.chain_seq, Finding.id))]
        rows += [("evidence", s, i) for s, i in session.execute(select(Evidence.chain_seq, Evidence.id))]
    return sorted(rows, key=lambda r: r[1])


def execute(store, sql, **params):
    with store.write_session() as session:
        session.execute(text(sql), params)


def test_untouched_chain_verifies(chained):
    result = verify(chained)
    assert result.ok and result.first_break is None
    assert result.checked == len(links(chained)) > 10


def test_changed_finding_is_named(chained):
    table, seq, row_id = next(link for link in links(chained) if link[0] == "findings" and link[1] > 1)
    execute(chained, "UPDATE findings SET severity = 'low' WHERE id = :id", id=row_id)
    result = verify(chained)
    assert not result.ok
    assert result.first_break == f"seq {seq} findings {row_id}: hash mismatch (row changed, or inserted into the chain)"
    assert result.checked == seq - 1


def test_changed_evidence_detail_is_named(chained):
    table, seq, row_id = links(chained)[5]
    assert table == "evidence"
    execute(chained, "UPDATE evidence SET ref = 'someone-else' WHERE id = :id", id=row_id)
    assert verify(chained).first_break.startswith(f"seq {seq} evidence {row_id}: hash mismatch")


def test_row_inserted_outside_the_chain_is_named(chained):
    finding_id = links(chained)[0][2]
    forged = new_id()
    execute(chained, "INSERT INTO evidence (id, finding_id, kind, ref, detail, created_at) "
                     "VALUES (:id, :fid, 'call', 'x', '{}', :now)", id=forged, fid=finding_id,
            now=dt.datetime.now(dt.timezone.utc))
    assert verify(chained).first_break == f"evidence {forged}: row is not in the chain (inserted outside the engine?)"


def test_row_inserted_into_the_chain_is_named(chained):
    last = links(chained)[-1]
    forged = new_id()
    execute(chained, "INSERT INTO evidence (id, finding_id, kind, ref, detail, created_at, chain_seq, chain_hash) "
                     "VALUES (:id, :fid, 'call', 'x', '{}', :now, :seq, :hash)", id=forged,
            fid=links(chained)[0][2], now=dt.datetime.now(dt.timezone.utc), seq=last[1] + 1, hash="0" * 64)
    assert verify(chained).first_break == f"seq {last[1] + 1} evidence {forged}: hash mismatch (row changed, or inserted into the chain)"


def test_deleted_row_is_named(chained):
    table, seq, row_id = links(chained)[3]
    after = links(chained)[4]
    execute(chained, "DELETE FROM evidence WHERE id = :id", id=row_id)
    result = verify(chained)
    assert result.first_break == f"seq {after[1]} {after[0]} {after[2]}: link(s) {seq}..{seq} missing (deleted?)"
    assert result.checked == seq - 1


def test_deleted_newest_links_are_caught_by_the_head_checkpoint(chained):
    last = links(chained)[-1]
    execute(chained, "DELETE FROM evidence WHERE chain_seq >= :seq", seq=last[1] - 2)
    result = verify(chained)
    assert not result.ok
    assert result.first_break.startswith(f"seq {last[1] - 2}: links {last[1] - 2}..{last[1]} missing")


def test_deleted_first_links_are_named(chained):
    first_finding = links(chained)[0]
    execute(chained, "DELETE FROM evidence WHERE finding_id = :id", id=first_finding[2])
    execute(chained, "DELETE FROM findings WHERE id = :id", id=first_finding[2])
    result = verify(chained)
    assert not result.ok and "missing and no prune checkpoint covers them (deleted?)" in result.first_break


def test_deleting_whole_first_findings_is_not_taken_for_a_prune(chained):
    """Each finding ends at a checkpoint; deleting the findings before one must not pass as pruning."""
    findings = [link for link in links(chained) if link[0] == "findings"]
    second = findings[1]
    execute(chained, "DELETE FROM evidence WHERE chain_seq < :seq", seq=second[1])
    execute(chained, "DELETE FROM findings WHERE chain_seq < :seq", seq=second[1])
    with chained.session() as session:
        assert session.get(ChainCheckpoint, second[1] - 1).reason == "finding"
    result = verify(chained)
    assert not result.ok and result.first_break.startswith(f"seq {second[1]} findings {second[2]}: links 1..")


def test_pruning_keeps_the_rest_verifiable(chained):
    all_links = links(chained)
    # cut in the middle of a finding's evidence: the finding is kept whole
    second_finding = [link for link in all_links if link[0] == "findings"][1]
    result = prune_chain_before(chained, second_finding[1] + 2)
    assert result.checkpoint_seq == second_finding[1] - 1
    remaining = links(chained)
    assert remaining[0] == second_finding and len(remaining) == len(all_links) - result.checkpoint_seq
    check = verify(chained)
    assert check.ok and check.checked == len(remaining)
    with chained.session() as session:
        checkpoint = session.get(ChainCheckpoint, result.checkpoint_seq)
    assert checkpoint.reason == "prune"

    # tampering after a prune is still caught, and undoing it makes the chain whole again
    with chained.session() as session:
        team = session.get(Finding, second_finding[2]).team
    execute(chained, "UPDATE findings SET team = 'nobody' WHERE id = :id", id=second_finding[2])
    assert verify(chained).first_break.startswith(f"seq {second_finding[1]} findings {second_finding[2]}: hash mismatch")
    execute(chained, "UPDATE findings SET team = :team WHERE id = :id", team=team, id=second_finding[2])
    assert verify(chained).ok


def test_prune_everything_then_append(chained):
    everything = prune_chain_older_than(chained, dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1))
    assert everything.findings > 0
    assert links(chained) == [] and verify(chained).ok
    evaluate(chained, SINCE + dt.timedelta(days=1), UNTIL + dt.timedelta(days=1))  # nothing new
    seed(chained, calls=[{"ts": UNTIL + dt.timedelta(hours=1), "team": "unattributed", "vendor": "xai",
                          "id": "late1"}])
    evaluate(chained, UNTIL, UNTIL + dt.timedelta(days=1))
    remaining = links(chained)
    assert remaining and remaining[0][1] == everything.checkpoint_seq + 1
    assert verify(chained).ok
    with chained.session() as session:
        assert session.execute(select(func.count()).select_from(Finding)).scalar() == 1


def test_rows_relying_on_column_defaults_still_verify(store):
    import datetime as dt

    from agent.ids import new_id
    from agent.store.chain import append
    from agent.store.chain import verify
    from agent.store.models import Finding

    now = dt.datetime(2026, 11, 23, tzinfo=dt.timezone.utc)
    with store.write_session() as s:  # score, rule_name, count left to their defaults
        append(s, [("findings", Finding(id=new_id(), dedupe_key="e" * 64, rule_id="r", title="t", level="low",
                                        severity="low", team="a", group_key={}, window_start=now,
                                        window_end=now, created_at=now))])
    assert verify(store).ok
