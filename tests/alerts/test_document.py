"""Alert documents: one idempotency key per (finding, sink, severity), times in UTC with a Z, the
test alert recognisable as one, and one sentence for chat and syslog."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from agent.alerts.document import SCHEMA
from agent.alerts.document import alert_document
from agent.alerts.document import finding_summary
from agent.alerts.document import idempotency_key
from agent.alerts.document import one_line
from agent.alerts.document import sample_summary

NOW = dt.datetime(2026, 11, 18, 14, 5, tzinfo=dt.timezone.utc)


def finding(**changes):
    row = dict(id="F1", dedupe_key="d" * 64, rule_id="r1", rule_name="bulk_outputs_harvesting", title="Bulk",
               level="high", severity="high", score=78.0, team="growth", vendor="openai",
               group_key={"team": "growth", "vendor": "openai"}, window_start=dt.datetime(2026, 11, 18),
               window_end=dt.datetime(2026, 11, 19), count=600, value=2400.0, clause="No.", clause_reviewed="2026-11-01",
               stance="prohibits", created_at=NOW, chain_seq=7, chain_hash="h")
    return SimpleNamespace(**{**row, **changes})


def test_the_summary_takes_the_window_facts_from_the_aggregate():
    summary = finding_summary(finding(), {"window_complete": False, "threshold": 500, "models": ["gpt-4o"]})
    assert summary["window_start"] == "2026-11-18T00:00:00Z" and summary["created_at"] == "2026-11-18T14:05:00Z"
    assert (summary["window_complete"], summary["threshold"], summary["models"]) == (False, 500, ["gpt-4o"])
    assert finding_summary(finding(), None)["models"] == [] and finding_summary(finding(), None)["threshold"] is None


def test_the_key_differs_by_sink_and_severity_and_the_line_says_what_happened():
    summary = finding_summary(finding(), {"window_complete": False})
    document = alert_document(summary, "chat", "escalated", previous_severity="medium")
    assert document["schema"] == SCHEMA and document["idempotency_key"] == idempotency_key("d" * 64, "chat", "high")
    assert len({idempotency_key("d" * 64, s, v) for s in ("chat", "syslog") for v in ("high", "critical")}) == 4
    assert one_line(document) == ("[aiaudit escalated to high] Bulk: team growth at openai, 600 events so far "
                                  "2026-11-18T00:00:00Z..2026-11-19T00:00:00Z (rule bulk_outputs_harvesting, score 78.0)")


def test_the_test_alert_is_marked_as_a_test():
    summary = sample_summary(NOW)
    line = one_line(alert_document(summary, "chat", "test"))
    assert line.startswith("[aiaudit test] aiaudit test alert (not a finding)") and summary["team"] == "aiaudit-test"
    assert summary["window_start"] == "2026-11-18T14:00:00Z" and len(summary["id"]) <= 26
