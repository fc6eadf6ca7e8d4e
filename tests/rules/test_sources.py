"""The files a finding was judged by: each draft's aggregate names its rule file, override files
and the terms by SHA-256; the bytes are stored once per content, and a vanished file is no source."""

from __future__ import annotations

import datetime as dt
import hashlib
from types import SimpleNamespace

from agent.store.engine import open_store
from agent.store.models import SourceSnapshot
from rules.engine.collection import load_rules
from rules.engine.details import AggregateDetails
from rules.engine.details import CallDetails
from rules.engine.drafts import EvidenceDraft
from rules.engine.sources import attach_sources
from rules.engine.sources import store_snapshots
from rules.engine.terms import TERMS_PATH

NOW = dt.datetime(2026, 11, 18, tzinfo=dt.timezone.utc)


def draft(rule_id: str):
    return SimpleNamespace(rule_id=rule_id, evidence=[EvidenceDraft("aggregate", rule_id, AggregateDetails.from_json({"value": 1})),
                                                      EvidenceDraft("call", "C1", CallDetails.from_json({"ts": "t"}))])


def test_each_aggregate_names_its_rule_file_and_the_terms(tmp_path):
    rule = next(r for r in load_rules() if r.name == "multi_sampling")
    drafts = [draft(rule.id), draft(rule.id)]
    used = attach_sources(drafts, [rule], TERMS_PATH)
    aggregate = drafts[0].evidence[0].detail
    assert [s["kind"] for s in aggregate.sources] == ["rule", "terms"] and aggregate.value == 1
    assert aggregate.sources[0]["sha256"] == hashlib.sha256(rule.location.path.read_bytes()).hexdigest()
    assert drafts[0].evidence[1].detail.to_json() == {"ts": "t"}  # events carry no sources
    assert set(used) == {s["sha256"] for s in aggregate.sources}

    store = open_store(f"sqlite:///{tmp_path / 'audit.db'}")
    with store.write_session() as s:
        assert store_snapshots(s, used.values(), NOW) == 2
    with store.write_session() as s:
        assert store_snapshots(s, used.values(), NOW) == 0  # once per content
    with store.session() as s:
        assert {row.kind for row in s.query(SourceSnapshot)} == {"rule", "terms"}
    store.dispose()


def test_a_file_gone_since_loading_is_no_source(tmp_path):
    rule = next(r for r in load_rules() if r.name == "multi_sampling")
    one = draft(rule.id)
    assert attach_sources([one], [rule], tmp_path / "gone.yaml") and [s["kind"] for s in one.evidence[0].detail.sources] == ["rule"]
