"""Done when (#16): a harvesting pattern sent through the real proxy reaches every configured
sink within `alerts.evaluate_minutes`, once — with the real `aiaudit watch` service evaluating
the open window, the real writer storing the calls, and real receivers on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from agent.store.engine import open_store
from agent.store.models import Finding
from tests.alerts.listeners import HTTPCollector
from tests.alerts.listeners import TCPSyslog
from tests.alerts.listeners import UDPSyslog
from tests.alerts.listeners import self_signed
from tests.conftest import aiaudit_command
from tests.e2e.test_durability import wait_drained
from tests.support.remote_clients import clients
from tests.support.standin.harness import standin_proxy

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
CAPTURE = REPO / "agent" / "proxy" / "script.py"
EVALUATE_MINUTES = 0.05  # 3 s
TOKEN = "e2e-hec-token-90be"


def received(http, udp, tcp, tls, ocsf: Path) -> dict[str, list[str]]:
    """The idempotency keys each sink received so far."""
    by_path: dict[str, list[str]] = {}
    for r in list(http.received):
        by_path.setdefault(r["path"], []).append(r["headers"].get("Idempotency-Key") or r["headers"].get("X-Idempotency-Key"))

    def syslog_keys(server):
        return [raw.split(b'key="', 1)[1].split(b'"', 1)[0].decode() for raw in list(server.received)]

    return {
        "hook": by_path.get("/hook", []), "slack": by_path.get("/slack", []), "teams": by_path.get("/teams", []),
        "hec": by_path.get("/services/collector/event", []), "syslog-udp": syslog_keys(udp),
        "syslog-tcp": syslog_keys(tcp), "syslog-tls": syslog_keys(tls),
        "ocsf": [json.loads(line)["metadata"]["uid"] for line in ocsf.read_text().splitlines()] if ocsf.exists() else [],
    }


def test_harvesting_through_the_proxy_reaches_every_sink_once(standin, tmp_path):
    http, udp, tcp = HTTPCollector(), UDPSyslog(), TCPSyslog()
    cert, key = self_signed(tmp_path)
    tls = TCPSyslog(cert, key)
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    ocsf = tmp_path / "findings.ocsf.jsonl"
    data = tmp_path / "datasets"
    data.mkdir()
    config = tmp_path / "aiaudit.yaml"
    config.write_text(f"""database_url: {url}
capture:
  journal_dir: {tmp_path / 'journal'}
scanner:
  index_dir: {tmp_path / 'index'}
teams:
  - name: harvest-lab
    proxy_users: [harvester]
alerts:
  evaluate_minutes: {EVALUATE_MINUTES}
  retry_seconds: 0.5
  retry_max_seconds: 2
  min_severity: high
  sinks:
    - {{name: hook, type: webhook, url: "{http.url}/hook"}}
    - {{name: slack, type: webhook, url: "{http.url}/slack", format: slack}}
    - {{name: teams, type: webhook, url: "{http.url}/teams", format: teams}}
    - {{name: hec, type: splunk_hec, url: "{http.url}", token_env: E2E_HEC_TOKEN}}
    - {{name: syslog-udp, type: syslog, host: 127.0.0.1, port: {udp.port}, transport: udp}}
    - {{name: syslog-tcp, type: syslog, host: 127.0.0.1, port: {tcp.port}, transport: tcp}}
    - {{name: syslog-tls, type: syslog, host: localhost, port: {tls.port}, transport: tls, ca_file: "{cert}"}}
    - {{name: ocsf, type: ocsf_file, path: "{ocsf}"}}
""")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AIAUDIT_")}, "AIAUDIT_CONFIG": str(config),
           "PYTHONPATH": str(REPO), "XDG_DATA_HOME": str(tmp_path / "xdg"), "E2E_HEC_TOKEN": TOKEN}
    watch_log = open(tmp_path / "watch.log", "w")
    watch = subprocess.Popen([*aiaudit_command(), "watch", str(data)], env=env, stdout=watch_log,
                             stderr=subprocess.STDOUT, start_new_session=True)
    proxy = standin_proxy(tmp_path / "mitmproxy", standin.port, scripts=[CAPTURE], options={"proxyauth": "any"},
                          env={"AIAUDIT_CONFIG": str(config), "PYTHONPATH": str(REPO)})
    try:
        with proxy:
            client = clients.openai_client(proxy.url_with_auth("harvester"), proxy.ca_path)
            for i in range(70):  # 70 calls x 8 samples = 560 outputs in a day, with no history: harvesting
                client.chat.completions.create(model="gpt-4o-mini", n=8,
                                               messages=[{"role": "user", "content": f"Write answer {i} for the set"}])
            wait_drained(tmp_path / "journal")
            stored_at = time.monotonic()
            interval = EVALUATE_MINUTES * 60
            deadline = stored_at + interval + 3.0  # one evaluation interval, plus delivery
            while time.monotonic() < deadline:
                got = received(http, udp, tcp, tls, ocsf)
                if all(got.values()):
                    break
                time.sleep(0.05)
            latency = time.monotonic() - stored_at
            got = received(http, udp, tcp, tls, ocsf)
            assert all(got.values()), (got, (tmp_path / "watch.log").read_text()[-3000:])
            print(f"alert on every sink {latency:.2f} s after the calls were stored (evaluate every {interval:g} s)")

            # the window stays open: more harvesting updates the finding, a few more evaluations run
            for i in range(10):
                client.chat.completions.create(model="gpt-4o-mini", n=8,
                                               messages=[{"role": "user", "content": f"Write more {i}"}])
            wait_drained(tmp_path / "journal")
            time.sleep(interval * 3)
    finally:
        os.killpg(watch.pid, signal.SIGTERM)
        watch.wait(30)
        watch_log.close()
        for server in (http, tcp, tls):
            server.down()
        udp.close()

    store = open_store(url)
    with store.session() as s:
        high = s.execute(select(Finding).where(Finding.severity.in_(["high", "critical"]))).scalars().all()
    store.dispose()
    assert high and {f.team for f in high} == {"harvest-lab"}
    assert any(f.rule_name == "bulk_outputs_harvesting" and f.count == 80 for f in high)  # updated, not added
    final = received(http, udp, tcp, tls, ocsf)
    for sink, keys in final.items():
        assert len(keys) == len(set(keys)) == len(high), (sink, keys)  # once per finding, on every sink
    assert len({frozenset(keys) for keys in final.values()}) == len(final)  # keys are per sink
    assert TOKEN not in (tmp_path / "watch.log").read_text()


def start_watch(env, data: Path, log_path: Path):
    log = open(log_path, "a")
    process = subprocess.Popen([*aiaudit_command(), "watch", str(data)], env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    return process, log


def stop_watch(process, log) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(30)
    log.close()


def test_a_sink_down_during_traffic_and_a_restart_lose_nothing_and_send_once(standin, tmp_path):
    """The webhook receiver is down while the harvesting goes through the proxy; the watcher is
    restarted with the alerts undelivered; the receiver comes back: each alert arrives once."""
    http, tcp = HTTPCollector(), TCPSyslog()
    http.down()
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    data = tmp_path / "datasets"
    data.mkdir()
    config = tmp_path / "aiaudit.yaml"
    config.write_text(f"""database_url: {url}
capture:
  journal_dir: {tmp_path / 'journal'}
scanner:
  index_dir: {tmp_path / 'index'}
teams:
  - name: harvest-lab
    proxy_users: [harvester]
alerts:
  evaluate_minutes: {EVALUATE_MINUTES}
  retry_seconds: 0.3
  retry_max_seconds: 1
  down_after_attempts: 2
  sinks:
    - {{name: hook, type: webhook, url: "{http.url}/hook"}}
    - {{name: syslog-tcp, type: syslog, host: 127.0.0.1, port: {tcp.port}, transport: tcp}}
""")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AIAUDIT_")}, "AIAUDIT_CONFIG": str(config),
           "PYTHONPATH": str(REPO), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    log_path = tmp_path / "watch.log"
    watch, log = start_watch(env, data, log_path)
    proxy = standin_proxy(tmp_path / "mitmproxy", standin.port, scripts=[CAPTURE], options={"proxyauth": "any"},
                          env={"AIAUDIT_CONFIG": str(config), "PYTHONPATH": str(REPO)})
    try:
        with proxy:
            client = clients.openai_client(proxy.url_with_auth("harvester"), proxy.ca_path)
            for i in range(70):
                client.chat.completions.create(model="gpt-4o-mini", n=8,
                                               messages=[{"role": "user", "content": f"Collect answer {i}"}])
            wait_drained(tmp_path / "journal")
        deadline = time.monotonic() + 20
        while not tcp.received and time.monotonic() < deadline:
            time.sleep(0.1)
        assert tcp.received, log_path.read_text()[-2000:]  # the sink that is up was served meanwhile
        time.sleep(3)  # a few failed attempts at the webhook
        status = subprocess.run([*aiaudit_command(), "status"], env=env, capture_output=True, text=True, timeout=60)
        assert "sink hook: DOWN, 0 delivered" in status.stdout, status.stdout + status.stderr
        stop_watch(watch, log)  # restart with the webhook's alerts undelivered
        http.up()
        watch, log = start_watch(env, data, log_path)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(http.received) < len({k for k in tcp.received}):
            time.sleep(0.1)
        time.sleep(EVALUATE_MINUTES * 60 * 2)  # more evaluations: nothing is sent again
    finally:
        stop_watch(watch, log)
        http.down()
        tcp.down()
    store = open_store(url)
    with store.session() as s:
        high = s.execute(select(Finding.id).where(Finding.severity.in_(["high", "critical"]))).scalars().all()
    store.dispose()
    hook_findings = [r["body"]["finding"]["id"] for r in http.received]
    assert high and sorted(hook_findings) == sorted(high), log_path.read_text()[-2000:]
    assert len(tcp.received) == len(high)
    assert "delivery failed (Connection refused)" in log_path.read_text()
