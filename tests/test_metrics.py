"""`aiaudit status --format prometheus`: the status report as Prometheus text, proxies told apart
by their identity, a sink down reads 0, findings by severity when the store was asked."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from agent.metrics import exposition
from agent.metrics import status_metrics

REPORT = {
    "captured": 12, "stored": 9, "pending": 1, "dropped": {"journal_full": 2}, "journal": {"bytes": 4096},
    "proxies": [{"host": "gw", "id": "a" * 32, "updated_at": "2026-11-18T09:00:00+00:00", "last_error": "down",
                 "current_error": None},
                {"host": "gw", "id": "b" * 32, "updated_at": None, "last_error": "refused"}],
    "watchers": [{"host": "scan-1", "updated_at": "2026-11-18T09:00:00+00:00"}],
    "alerts": {"findings_by_severity": {"high": 3}, "sinks": [{"name": "chat", "state": "down", "pending": 4,
                                                                "delivered": 10}]},
}


def samples(text: str) -> dict:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_the_status_report_reads_as_prometheus_text():
    got = samples(exposition(status_metrics(REPORT)))
    assert got[("aiaudit_calls_captured_total", ())] == 12 and got[("aiaudit_calls_pending", ())] == 1
    assert got[("aiaudit_calls_dropped_total", (("reason", "journal_full"),))] == 2
    assert got[("aiaudit_journal_pending_bytes", ())] == 4096
    # two proxies on one host stay apart; a cleared error is 0, a current one 1
    assert got[("aiaudit_proxy_store_error", (("host", "gw"), ("id", "a" * 32)))] == 0
    assert got[("aiaudit_proxy_store_error", (("host", "gw"), ("id", "b" * 32)))] == 1
    assert ("aiaudit_component_last_seen_timestamp_seconds", (("component", "proxy"), ("host", "gw"),
                                                               ("id", "b" * 32))) not in got  # never seen
    assert got[("aiaudit_findings", (("severity", "high"),))] == 3
    assert got[("aiaudit_alert_sink_up", (("sink", "chat"),))] == 0
    assert got[("aiaudit_alert_outbox_delivered_total", (("sink", "chat"),))] == 10


def test_without_alerts_there_are_no_finding_metrics():
    text = exposition(status_metrics({**REPORT, "alerts": None}))
    assert "aiaudit_findings" not in text and "aiaudit_calls_stored_total 9.0" in text
