"""The outbox: one alert per finding, sink and severity; retries with backoff through an outage
and a restart; nothing lost, nothing sent twice; no secret in the store or the log."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlalchemy import select

from agent.alerts.dispatcher import Dispatcher
from agent.alerts.outbox import backoff_seconds
from agent.alerts.outbox import claim_due
from agent.alerts.outbox import sink_health
from agent.alerts.scheduler import Scheduler
from agent.alerts.settings import load_alert_settings
from agent.store.engine import open_store
from agent.store.models import AlertOutbox
from agent.store.models import Finding
from tests.rules.conftest import seed
from tests.rules.scenario import CALLS
from tests.rules.scenario import DAY

from .conftest import config_with

TOKEN = "outbox-secret-token-5be1"


@pytest.fixture
def alerting(http, tmp_path, db_url, monkeypatch):
    monkeypatch.setenv("AIAUDIT_TEST_TOKEN", TOKEN)
    config = config_with(f"""
    alerts:
      retry_seconds: 0.2
      retry_max_seconds: 0.5
      min_severity: high
      sinks:
        - {{name: hook, type: webhook, url: "{http.url}/hook", token_env: AIAUDIT_TEST_TOKEN}}
        - {{name: ocsf, type: ocsf_file, path: ocsf.jsonl}}
    """, tmp_path, db_url)
    store = open_store(db_url)
    seed(store, calls=CALLS)
    settings = load_alert_settings(config)
    lines: list[str] = []
    yield store, settings, lines, tmp_path / "ocsf.jsonl"
    store.dispose()


def high_findings(store):
    with store.session() as s:
        return s.execute(select(Finding).where(Finding.severity.in_(["high", "critical"]))).scalars().all()


def deliver_all(dispatcher, store, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dispatcher.run_once()
        with store.session() as s:
            if not s.execute(select(func.count()).select_from(AlertOutbox).where(AlertOutbox.delivered_at.is_(None))).scalar():
                return
        time.sleep(0.05)
    raise AssertionError("the outbox did not drain")


def test_evaluating_again_and_again_alerts_each_finding_once_per_sink(alerting, http):
    store, settings, lines, ocsf = alerting
    scheduler = Scheduler(store, settings, on_line=lines.append)
    dispatcher = Dispatcher(store, settings, on_line=lines.append)
    for minutes in (11 * 60 + 30, 12 * 60, 13 * 60, 13 * 60 + 5):  # the harvesting day's window is open throughout
        scheduler.run_once(DAY + dt.timedelta(minutes=minutes))
        deliver_all(dispatcher, store)
    findings = high_findings(store)
    assert findings, "the scenario's harvesting is a high finding"
    assert sorted(r["body"]["finding"]["id"] for r in http.received) == sorted(f.id for f in findings)
    keys = [r["headers"]["Idempotency-Key"] for r in http.received]
    assert len(keys) == len(set(keys))
    lines_out = [json.loads(line) for line in ocsf.read_text().splitlines()]
    assert sorted(o["finding_info"]["uid"] for o in lines_out) == sorted(f.id for f in findings)
    assert scheduler.stats["updated"] >= 1  # the open window was revised, and that alone sent nothing more


def test_an_escalation_is_a_second_alert_with_the_earlier_severity(alerting, http):
    import dataclasses

    from rules.engine.evaluate import write_findings

    store, settings, lines, _ = alerting
    scheduler = Scheduler(store, settings, on_line=lines.append)
    dispatcher = Dispatcher(store, settings, on_line=lines.append)
    result = scheduler.run_once(DAY + dt.timedelta(hours=11, minutes=30))
    deliver_all(dispatcher, store)
    harvest = next(d for d in result.findings if d.severity == "high")
    write_findings(store, [dataclasses.replace(harvest, severity="critical", score=85.0)])
    from agent.alerts.outbox import enqueue

    assert enqueue(store, settings, [harvest.dedupe_key]) == 2  # one per sink
    assert enqueue(store, settings, [harvest.dedupe_key]) == 0
    deliver_all(dispatcher, store)
    escalated = [r["body"] for r in http.received if r["body"]["event"] == "escalated"]
    assert len(escalated) == 1 and escalated[0]["previous_severity"] == "high"
    assert escalated[0]["finding"]["severity"] == "critical"


def test_a_sink_outage_loses_nothing_shows_down_and_sends_each_alert_once(alerting, http):
    store, settings, lines, ocsf = alerting
    scheduler = Scheduler(store, settings, on_line=lines.append)
    dispatcher = Dispatcher(store, settings, on_line=lines.append)
    http.status = 503  # the receiver answers but refuses
    scheduler.run_once(DAY + dt.timedelta(hours=11, minutes=30))
    dispatcher.run_once()
    assert ocsf.exists() and not http.received  # the other sink is served meanwhile
    http.down()  # then it stops listening altogether, while traffic goes on
    for minutes in (12 * 60, 13 * 60, 14 * 60):
        scheduler.run_once(DAY + dt.timedelta(minutes=minutes))
        deadline = time.monotonic() + 1.2
        while time.monotonic() < deadline:
            dispatcher.run_once()
            time.sleep(0.05)
    health = {h["name"]: h for h in sink_health(store, settings)}
    assert health["hook"]["state"] == "down" and health["hook"]["pending"] >= 1
    assert health["hook"]["failed_attempts"] >= settings.down_after_attempts
    assert health["hook"]["last_error"] and "127.0.0.1" not in health["hook"]["last_error"]
    assert health["ocsf"]["state"] == "ok" and health["ocsf"]["pending"] == 0
    attempts = dispatcher.stats[("hook", "failed")]
    assert attempts <= 12  # backoff: a few attempts for the sink in ~4 s, not one per alert per pass
    http.status = 200
    http.up()
    deliver_all(dispatcher, store)
    findings = high_findings(store)
    assert sorted(r["body"]["finding"]["id"] for r in http.received) == sorted(f.id for f in findings)
    assert {h["name"]: h["state"] for h in sink_health(store, settings)}["hook"] == "ok"


def test_undelivered_alerts_survive_a_restart(alerting, http, db_url):
    store, settings, lines, _ = alerting
    http.down()
    Scheduler(store, settings, on_line=lines.append).run_once(DAY + dt.timedelta(hours=11, minutes=30))
    Dispatcher(store, settings, on_line=lines.append).run_once()  # fails: nothing listening
    store.dispose()  # the watcher stops (or is killed) with alerts still in the outbox

    http.up()
    reopened = open_store(db_url)
    try:
        time.sleep(0.6)  # past the retry time of the failed attempt
        deliver_all(Dispatcher(reopened, settings), reopened)
        Dispatcher(reopened, settings).run_once()  # a second start finds nothing left to send
        assert sorted(r["body"]["finding"]["id"] for r in http.received) == sorted(f.id for f in high_findings(reopened))
    finally:
        reopened.dispose()


def test_two_dispatchers_never_claim_the_same_alert(alerting, db_url):
    store, settings, lines, _ = alerting
    Scheduler(store, settings).run_once(DAY + dt.timedelta(hours=11, minutes=30))
    other = open_store(db_url)
    try:
        now = dt.datetime.now(dt.timezone.utc)
        first = claim_due(store, now, limit=1)
        second = claim_due(other, now)
        assert first and not {r.id for r in first} & {r.id for r in second}
        assert claim_due(other, now) == []  # all leased
    finally:
        other.dispose()


def test_no_secret_reaches_the_store_or_the_log(alerting, http, caplog):
    store, settings, lines, ocsf = alerting
    caplog.set_level(logging.DEBUG)
    http.status = 401
    scheduler = Scheduler(store, settings, on_line=lines.append)
    scheduler.run_once(DAY + dt.timedelta(hours=11, minutes=30))
    dispatcher = Dispatcher(store, settings, on_line=lines.append)
    dispatcher.run_once()
    http.status = 200
    time.sleep(0.6)
    deliver_all(dispatcher, store)
    assert any(r["headers"].get("Authorization") == f"Bearer {TOKEN}" for r in http.received)  # it was used
    with store.session() as s:
        rows = s.execute(select(AlertOutbox)).scalars().all()
    stored = json.dumps([[r.payload, r.last_error] for r in rows], default=str)
    assert any("HTTP 401" in line for line in lines)
    for text in (stored, "\n".join(lines), caplog.text, ocsf.read_text()):
        assert TOKEN not in text


@hsettings(max_examples=300, deadline=None)
@given(attempts=st.integers(min_value=-5, max_value=10**6), base=st.floats(1e-3, 1e4), cap=st.floats(1e-3, 1e6),
       key=st.text(max_size=80))
def test_backoff_grows_is_capped_and_never_overflows(attempts, base, cap, key):
    cap = max(cap, base)
    wait = backoff_seconds(attempts, key, base, cap)
    assert 0.75 * min(base, cap) * 0.999 <= wait <= 1.25 * cap * 1.001
    assert backoff_seconds(attempts + 1, key, base, cap) >= wait  # never shorter after another failure
    assert backoff_seconds(attempts, key, base, cap) == wait  # the spread is fixed per alert


def test_a_hanging_sink_holds_back_only_its_own_alerts(tmp_path, db_url):
    import socket

    silent = socket.socket()  # accepts connections (the kernel does) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    try:
        config = config_with(f"""
        alerts:
          sinks:
            - {{name: stuck, type: webhook, url: "http://127.0.0.1:{silent.getsockname()[1]}/", timeout_seconds: 2}}
            - {{name: ocsf, type: ocsf_file, path: ocsf.jsonl}}
        """, tmp_path, db_url)
        store = open_store(db_url)
        seed(store, calls=CALLS)
        settings = load_alert_settings(config)
        Scheduler(store, settings).run_once(DAY + dt.timedelta(hours=11, minutes=30))
        started = time.time()
        Dispatcher(store, settings).run_once()
        took = time.time() - started
        written = (tmp_path / "ocsf.jsonl").stat().st_mtime - started
        assert took >= 1.9 and written < 1.0, (took, written)
        health = {h["name"]: h for h in sink_health(store, settings)}
        assert health["stuck"]["last_error"].startswith("timed out") and health["ocsf"]["pending"] == 0
        store.dispose()
    finally:
        silent.close()
