"""Exports: calls and findings in the contract's field order, times in UTC with a Z, a finding's
evidence carried as kind, ref and its stored details as they are, CSV cells flat (lists as JSON, booleans as
true/false)."""

from __future__ import annotations

import csv
import io
import json

from agent.store.engine import open_store
from agent.store.export import CALL_FIELDS
from agent.store.export import FINDING_FIELDS
from agent.store.export import iter_calls
from agent.store.export import iter_findings
from agent.store.export import write_csv
from agent.store.export import write_jsonl
from agent.store.models import Evidence
from dashboard.weeks import IsoWeek
from tests.support.sample import seed_sample_store

WEEK = IsoWeek(2026, 47)


def test_calls_and_findings_export_in_the_contracts_shape(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'audit.db'}")
    seed_sample_store(store, WEEK, scale=0.01)
    calls = list(iter_calls(store, WEEK.start, WEEK.end, with_text=False))
    assert calls and list(calls[0]) == [f for f in CALL_FIELDS if f != "output_text"]
    assert all(c["ts"].endswith("Z") for c in calls) and [c["ts"] for c in calls] == sorted(c["ts"] for c in calls)
    assert "output_text" in next(iter_calls(store, WEEK.start, WEEK.end, with_text=True))

    findings = list(iter_findings(store, WEEK.start, WEEK.end))
    assert findings and list(findings[0]) == list(FINDING_FIELDS)
    with store.session() as s:
        stored = {(e.finding_id, e.ref): e.detail for e in s.query(Evidence)}
    for finding in findings:
        for item in finding["evidence"]:
            # the stored details as they are, beside the evidence's own kind: a call's `kind`
            # ("generation") must not take the place of the evidence kind ("call")
            assert set(item) == {"kind", "ref", "detail"}
            assert item["detail"] == stored[(finding["id"], item["ref"])]
            assert item["kind"] in ("call", "reuse", "upload", "aggregate")
        kinds = {item["kind"] for item in finding["evidence"]}
        assert kinds <= {"call", "reuse", "upload", "aggregate"}
    assert any(item["kind"] == "call" and item["detail"].get("kind") == "generation"
               for f in findings for item in f["evidence"])

    out = io.StringIO()
    assert write_jsonl(iter(findings), out) == len(findings)
    assert [json.loads(line)["id"] for line in out.getvalue().splitlines()] == [f["id"] for f in findings]
    table = io.StringIO()
    assert write_csv(iter(findings), FINDING_FIELDS, table) == len(findings)
    rows = list(csv.DictReader(io.StringIO(table.getvalue())))
    assert json.loads(rows[0]["evidence"]) == findings[0]["evidence"]
    store.dispose()


def test_booleans_are_words_and_unknown_keys_are_left_out():
    table = io.StringIO()
    write_csv(iter([{"id": "c1", "streamed": True, "logprobs": False, "surprise": 1}]), ("id", "streamed", "logprobs"), table)
    assert table.getvalue().splitlines() == ["id,streamed,logprobs", "c1,true,false"]
