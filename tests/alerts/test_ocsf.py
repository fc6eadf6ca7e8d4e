"""An alert as an OCSF Detection Finding: class and type ids, times in milliseconds, severity and
risk from the finding's severity, the test alert labelled, the vendor a resource."""

from __future__ import annotations

import datetime as dt

from agent.alerts.document import alert_document
from agent.alerts.document import sample_summary
from agent.alerts.ocsf import detection_finding

NOW = dt.datetime(2026, 11, 18, 14, 5, tzinfo=dt.timezone.utc)


def test_a_test_alert_maps_to_a_labelled_detection_finding():
    document = alert_document(sample_summary(NOW), "siem", "test")
    event = detection_finding(document, NOW)
    assert event["class_name"] == "Detection Finding" and event["type_uid"] == event["class_uid"] * 100 + event["activity_id"]
    assert event["time"] == event["metadata"]["logged_time"] == int(NOW.timestamp() * 1000)
    assert event["severity"] == "High" and event["risk_score"] == 70 and event["metadata"]["labels"] == ["test"]
    assert event["finding_info"]["first_seen_time"] == int(dt.datetime(2026, 11, 18, 14, tzinfo=dt.timezone.utc).timestamp() * 1000)
    assert "(window still open)" in event["finding_info"]["desc"]
    assert [r["type"] for r in event["resources"]] == ["Team", "AI Vendor"]
    assert event["metadata"]["uid"] == document["idempotency_key"]


def test_an_unknown_severity_is_informational_and_no_vendor_no_resource():
    summary = {**sample_summary(NOW), "severity": "weird", "vendor": None, "score": None}
    event = detection_finding(alert_document(summary, "siem", "new"), NOW)
    assert event["severity"] == "Informational" and event["risk_level"] == "Info" and event["risk_score"] == 0
    assert [r["type"] for r in event["resources"]] == ["Team"] and event["metadata"]["labels"] == []
