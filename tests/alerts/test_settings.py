"""Parsing the alerts: and metrics: settings, and shaping any finding as OCSF: never a crash,
always a clear line or a well-formed record."""

from __future__ import annotations

import datetime as dt
import json

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.alerts.document import alert_document
from agent.alerts.document import sample_summary
from agent.alerts.ocsf import detection_finding
from agent.alerts.settings import load_alert_settings
from agent.config import load_config_text
from agent.errors import UserError

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
                    st.text(max_size=40), st.just(""), st.just("0"), st.just("1e309"))


@settings(max_examples=200, deadline=None)
@given(minutes=scalars, retry=scalars, name=scalars, port=scalars, severity=scalars)
def test_any_alerts_section_loads_or_is_one_line_naming_the_setting(minutes, retry, name, port, severity):
    text = (f"alerts:\n  evaluate_minutes: {json.dumps(minutes)}\n  retry_seconds: {json.dumps(retry)}\n"
            f"  sinks:\n    - name: {json.dumps(name)}\n      type: syslog\n      host: 127.0.0.1\n"
            f"      port: {json.dumps(port)}\n      min_severity: {json.dumps(severity)}\n"
            f"metrics:\n  watch_port: {json.dumps(port)}\n")
    try:
        config = load_config_text(text, "a.yaml")
        alerts = load_alert_settings(config)
    except UserError as e:
        message = str(e)
        assert message.startswith("a.yaml:") or message.startswith("(config)")
        assert "\n" not in message
        return
    assert alerts.evaluate_minutes > 0 and alerts.retry_seconds > 0
    assert 0 < alerts.sinks[0].port < 65536 and alerts.sinks[0].min_severity in (
        "informational", "low", "medium", "high", "critical")


@settings(max_examples=200, deadline=None)
@given(title=st.text(max_size=500), team=st.text(max_size=100), count=st.integers(0, 2**63 - 1),
       score=st.one_of(st.none(), st.floats(0, 100)), severity=st.sampled_from(
           ["informational", "low", "medium", "high", "critical", "", "weird"]),
       event=st.sampled_from(["new", "escalated", "test"]), vendor=st.one_of(st.none(), st.text(max_size=20)))
def test_any_finding_maps_to_a_well_formed_detection_finding(title, team, count, score, severity, event, vendor):
    summary = {**sample_summary(), "title": title, "team": team, "count": count, "score": score,
               "severity": severity, "vendor": vendor}
    document = alert_document(summary, "ocsf", event)
    record = detection_finding(document, dt.datetime.now(dt.timezone.utc))
    json.dumps(record, allow_nan=False)
    assert record["class_uid"] == 2004 and record["type_uid"] == 2004 * 100 + record["activity_id"]
    assert record["severity_id"] in (1, 2, 3, 4, 5) and 0 <= record["risk_score"] <= 100
    assert record["metadata"]["uid"] == document["idempotency_key"]
    assert record["finding_info"]["first_seen_time"] <= record["finding_info"]["last_seen_time"]
