"""Each sink against a real receiver on 127.0.0.1: what arrives, in the shape receivers expect."""

from __future__ import annotations

import datetime as dt
import json
import re
import time

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.alerts.document import alert_document
from agent.alerts.document import sample_summary
from agent.alerts.settings import load_alert_settings
from agent.alerts.sinks import SinkError
from agent.alerts.sinks import send
from agent.alerts.sinks.syslog import UDP_MAX_BYTES
from agent.alerts.sinks.syslog import message

from .conftest import config_with
from .conftest import sinks_yaml

HOOK_TOKEN, HEC_TOKEN = "hook-secret-3f9a1c", "hec-secret-77d2e0"
# RFC 5424: <PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG
RFC5424 = re.compile(rb'^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d) (\S+) aiaudit (\d+) finding '
                     rb'\[aiaudit@32473 ((?:[a-z_]+="(?:[^"\\\]]|\\.)*" ?)+)\] \xef\xbb\xbf(.*)$', re.S)


@pytest.fixture
def sinks(http, udp, tcp, tls, tls_cert, tmp_path, monkeypatch):
    monkeypatch.setenv("AIAUDIT_TEST_HOOK_TOKEN", HOOK_TOKEN)
    monkeypatch.setenv("AIAUDIT_TEST_HEC_TOKEN", HEC_TOKEN)
    config = config_with(sinks_yaml(http, udp, tcp, tls, tls_cert[0], tmp_path / "out" / "findings.ocsf.jsonl"), tmp_path)
    return load_alert_settings(config)


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def doc(sink: str, **changes):
    summary = {**sample_summary(), **changes}
    return alert_document(summary, sink, "new")


def test_webhook_json_carries_the_key_header_and_bearer_token(sinks, http):
    document = doc("hook")
    send(sinks.sink("hook"), document)
    [got] = http.received
    assert got["path"] == "/hook" and got["headers"]["Idempotency-Key"] == document["idempotency_key"]
    assert got["headers"]["Authorization"] == f"Bearer {HOOK_TOKEN}"
    assert got["body"]["idempotency_key"] == document["idempotency_key"]
    assert got["body"]["finding"]["title"] == document["finding"]["title"] and "sent_at" in got["body"]


def test_slack_and_teams_bodies(sinks, http):
    send(sinks.sink("slack"), doc("slack"))
    send(sinks.sink("teams"), doc("teams"))
    slack, teams = http.received
    assert slack["body"]["text"].startswith("[aiaudit high] aiaudit test alert") and slack["body"]["blocks"][0]["type"] == "header"
    card = teams["body"]["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["type"] == "AdaptiveCard" and any(b["type"] == "FactSet" for b in card["content"]["body"])
    assert "Authorization" not in slack["headers"]


def test_splunk_hec_event(sinks, http):
    document = doc("hec")
    send(sinks.sink("hec"), document)
    [got] = http.received
    assert got["path"] == "/services/collector/event"
    assert got["headers"]["Authorization"] == f"Splunk {HEC_TOKEN}"
    body = got["body"]
    assert body["index"] == "security" and body["sourcetype"] == "aiaudit:finding" and body["source"] == "aiaudit"
    assert body["fields"]["idempotency_key"] == document["idempotency_key"]
    assert body["event"]["finding"]["id"] == document["finding"]["id"] and isinstance(body["time"], float)


def parse_syslog(raw: bytes) -> dict:
    m = RFC5424.match(raw)
    assert m, raw[:200]
    params = dict(re.findall(rb'([a-z_]+)="((?:[^"\\\]]|\\.)*)"', m.group(5)))
    return {"pri": int(m.group(1)), "params": {k.decode(): v.decode() for k, v in params.items()},
            "msg": m.group(6).decode()}


@pytest.mark.parametrize("name", ["syslog-udp", "syslog-tcp", "syslog-tls"])
def test_syslog_rfc5424_over_each_transport(sinks, udp, tcp, tls, name):
    server = {"syslog-udp": udp, "syslog-tcp": tcp, "syslog-tls": tls}[name]
    document = doc(name, severity="critical", title='quote " and ] and \\ survive')
    send(sinks.sink(name), document)
    assert wait_for(lambda: server.received)
    [raw] = server.received
    parsed = parse_syslog(raw)
    assert parsed["pri"] == 13 * 8 + 2  # facility log audit, severity crit
    assert parsed["params"]["key"] == document["idempotency_key"] and parsed["params"]["severity"] == "critical"
    assert 'quote " and ] and \\ survive' in parsed["msg"]


def test_tls_syslog_refuses_a_receiver_it_cannot_verify(sinks, tls, tmp_path):
    import dataclasses

    from tests.alerts.listeners import self_signed

    other_ca, _ = self_signed(tmp_path / "..", name="localhost")  # a different self-signed certificate
    sink = dataclasses.replace(sinks.sink("syslog-tls"), ca_file=other_ca)
    with pytest.raises(SinkError, match="TLS"):
        send(sink, doc("syslog-tls"))
    time.sleep(0.2)
    assert tls.received == []


def test_ocsf_file_is_a_detection_finding_per_line(sinks, tmp_path):
    first, second = doc("ocsf"), doc("ocsf", severity="critical")
    second["event"] = "escalated"
    send(sinks.sink("ocsf"), first)
    send(sinks.sink("ocsf"), second)
    lines = (tmp_path / "out" / "findings.ocsf.jsonl").read_text().splitlines()
    a, b = (json.loads(line) for line in lines)
    assert (a["class_uid"], a["category_uid"], a["type_uid"], a["activity_id"]) == (2004, 2, 200401, 1)
    assert (b["type_uid"], b["severity_id"], b["severity"]) == (200402, 5, "Critical")
    assert a["metadata"]["uid"] == first["idempotency_key"] and a["metadata"]["version"] == "1.1.0"
    assert a["finding_info"]["uid"] == first["finding"]["id"]
    assert a["finding_info"]["analytic"] == {"uid": "aiaudit-test", "name": "alert_test", "type_id": 1, "type": "Rule"}
    assert a["finding_info"]["first_seen_time"] < a["finding_info"]["last_seen_time"]


def test_a_missing_token_is_a_clear_error_that_names_no_secret(sinks, monkeypatch):
    monkeypatch.delenv("AIAUDIT_TEST_HEC_TOKEN")
    with pytest.raises(SinkError, match="AIAUDIT_TEST_HEC_TOKEN.*not set"):
        send(sinks.sink("hec"), doc("hec"))


def test_token_file_is_read_at_each_delivery(http, tmp_path):
    token = tmp_path / "token"
    token.write_text("first-token\n")
    config = config_with(f"""
    alerts:
      sinks:
        - {{name: hook, type: webhook, url: "{http.url}/", token_file: token}}
    """, tmp_path)
    sink = load_alert_settings(config).sink("hook")
    send(sink, doc("hook"))
    token.write_text("rotated-token")
    send(sink, doc("hook"))
    assert [r["headers"]["Authorization"] for r in http.received] == ["Bearer first-token", "Bearer rotated-token"]


def test_receiver_errors_name_no_url_or_token(sinks, http):
    http.status = 503
    with pytest.raises(SinkError) as raised:
        send(sinks.sink("hook"), doc("hook"))
    assert str(raised.value) == "HTTP 503"
    http.down()
    with pytest.raises(SinkError) as raised:
        send(sinks.sink("hook"), doc("hook"))
    assert "127.0.0.1" not in str(raised.value) and HOOK_TOKEN not in str(raised.value)


@settings(max_examples=60, deadline=None)
@given(title=st.text(max_size=3000), team=st.text(min_size=0, max_size=200), count=st.integers(0, 2**62))
def test_syslog_messages_always_parse_and_udp_ones_fit(title, team, count):
    """Any title or team (quotes, brackets, newlines, huge, empty) gives a parseable message with
    its structured data intact, and a UDP datagram never exceeds what receivers accept."""
    from agent.alerts.settings import Sink

    sink = Sink(name="s", type="syslog", min_severity="low", host="127.0.0.1", port=514)
    document = doc("s", title=title, team=team, count=count)
    now = dt.datetime.now(dt.timezone.utc)
    for limit in (None, UDP_MAX_BYTES):
        raw = message(sink, document, now, limit)
        parsed = parse_syslog(raw)
        assert parsed["params"]["team"].replace('\\"', '"').replace("\\]", "]").replace("\\\\", "\\") == team
        assert parsed["params"]["count"] == str(count)
        if limit:  # the structured data of these fits, so the message is cut to make the datagram fit
            assert len(raw) <= limit
        else:
            assert parsed["msg"].startswith("[aiaudit high] ") and title.replace("\r", "") in parsed["msg"].replace("\r", "")
