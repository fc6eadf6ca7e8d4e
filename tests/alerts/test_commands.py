"""`aiaudit alerts test`, `aiaudit status` with sinks and `--format prometheus`, and the writer's
and watcher's Prometheus endpoints, scraped for real."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from agent.alerts.dispatcher import Dispatcher
from agent.alerts.scheduler import Scheduler
from agent.alerts.settings import load_alert_settings
from agent.proxy.journal import Journal
from agent.store.engine import open_store
from tests.rules.conftest import seed
from tests.rules.scenario import CALLS
from tests.rules.scenario import DAY
from tests.writer.test_drain import fill

from .conftest import config_with

TOKEN = "cli-secret-token-a41c9"


def samples(text: str) -> dict[tuple, float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(tmp_path, body: str) -> str:
    path = tmp_path / "aiaudit.yaml"
    path.write_text(body)
    return str(path)


def test_alerts_test_sends_one_sample_to_each_sink_and_says_which_failed(run_cli, tmp_path, http, tcp):
    cfg = write_config(tmp_path, f"""database_url: sqlite:///{tmp_path / 'a.db'}
alerts:
  sinks:
    - {{name: hook, type: webhook, url: "{http.url}/hook", token_env: HOOK_TOKEN}}
    - {{name: hec, type: splunk_hec, url: "{http.url}", token_env: HOOK_TOKEN}}
    - {{name: siem, type: syslog, host: 127.0.0.1, port: {tcp.port}, transport: tcp}}
    - {{name: ocsf, type: ocsf_file, path: out.jsonl}}
""")
    result = run_cli("--config", cfg, "alerts", "test", env={"HOOK_TOKEN": TOKEN})
    assert result.returncode == 0, result.stderr
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == ["hook", "hec", "siem", "ocsf"]
    assert [r["path"] for r in http.received] == ["/hook", "/services/collector/event"]
    assert http.received[0]["body"]["event"] == "test"
    deadline = time.monotonic() + 5
    while not tcp.received and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(tcp.received) == 1 and b'event="test"' in tcp.received[0]
    assert json.loads((tmp_path / "out.jsonl").read_text())["metadata"]["labels"] == ["test"]

    http.down()
    result = run_cli("--config", cfg, "alerts", "test", env={"HOOK_TOKEN": TOKEN})
    assert result.returncode == 3
    failed = [line for line in result.stderr.splitlines() if "FAILED" in line]
    assert [line.split(":")[0] for line in failed] == ["hook", "hec"]
    assert "siem: sent" in result.stdout and "ocsf: sent" in result.stdout
    assert TOKEN not in result.stdout + result.stderr


def test_alerts_test_without_sinks_or_with_a_token_in_the_yaml_is_a_usage_error(run_cli, tmp_path):
    cfg = write_config(tmp_path, f"database_url: sqlite:///{tmp_path / 'a.db'}\n")
    result = run_cli("--config", cfg, "alerts", "test")
    assert result.returncode == 2 and "no sink is configured" in result.stderr and len(result.stderr.splitlines()) == 1
    cfg = write_config(tmp_path, "alerts:\n  sinks:\n    - name: hec\n      type: splunk_hec\n"
                                 "      url: https://splunk:8088\n      token: abcd-super-secret\n")
    result = run_cli("--config", cfg, "alerts", "test")
    assert result.returncode == 2 and f"{cfg}:6: alerts.sinks[0].token" in result.stderr
    assert "abcd-super-secret" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("body, message", [
    ("- {name: a, type: webhook}", "needs exactly one of url, url_env, url_file"),
    ("- {name: a, type: splunk_hec, url: 'https://x'}", "needs its HEC token"),
    ("- {name: a, type: syslog}", "needs host"),
    ("- {name: a, type: ocsf_file}", "needs path"),
    ("- {name: a, type: ocsf_file, path: x}\n    - {name: a, type: ocsf_file, path: y}", "used twice"),
    ("- {name: a, type: webhook, url: 'ftp://x'}", "must start with http"),
])
def test_sink_settings_that_cannot_work_are_refused_with_the_sink_named(tmp_path, body, message):
    from agent.errors import UserError

    config = config_with(f"alerts:\n  sinks:\n    {body}\n", tmp_path)
    with pytest.raises(UserError, match=message) as raised:
        load_alert_settings(config)
    assert "alerts.sinks[" in str(raised.value)


def test_status_shows_a_down_sink_in_text_json_and_prometheus(run_cli, tmp_path, http):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    cfg = write_config(tmp_path, f"""database_url: {url}
alerts:
  retry_seconds: 0.05
  retry_max_seconds: 0.05
  sinks:
    - {{name: hook, type: webhook, url: "{http.url}/hook"}}
    - {{name: ocsf, type: ocsf_file, path: out.jsonl}}
""")
    from agent.config import load_config

    config = load_config(cfg)
    store = open_store(url)
    seed(store, calls=CALLS)
    settings = load_alert_settings(config)
    http.down()
    Scheduler(store, settings).run_once(DAY + dt.timedelta(hours=11, minutes=30))
    dispatcher = Dispatcher(store, settings)
    for _ in range(4):
        dispatcher.run_once()
        time.sleep(0.1)
    store.dispose()

    text = run_cli("--config", cfg, "status")
    assert text.returncode == 0, text.stderr
    assert "sink hook: DOWN, 0 delivered" in text.stdout and "last error: " in text.stdout
    assert "sink ocsf: ok, " in text.stdout and "alerts " in text.stdout

    report = json.loads(run_cli("--config", cfg, "status", "--format", "json").stdout)
    sinks = {s["name"]: s for s in report["alerts"]["sinks"]}
    assert sinks["hook"]["state"] == "down" and sinks["hook"]["pending"] == sinks["ocsf"]["delivered"] > 0

    prom = run_cli("--config", cfg, "status", "--format", "prometheus")
    assert prom.returncode == 0, prom.stderr
    values = samples(prom.stdout)
    assert values[("aiaudit_alert_sink_up", (("sink", "hook"),))] == 0
    assert values[("aiaudit_alert_sink_up", (("sink", "ocsf"),))] == 1
    assert values[("aiaudit_alert_outbox_pending", (("sink", "hook"),))] == sinks["hook"]["pending"]
    assert values[("aiaudit_findings", (("severity", "high"),))] >= 1
    assert values[("aiaudit_calls_captured_total", ())] == report["captured"]


def test_the_writer_process_serves_its_health(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    port = free_port()
    journal_dir = tmp_path / "journal"
    cfg = write_config(tmp_path, f"database_url: {url}\ncapture:\n  journal_dir: {journal_dir}\n"
                                 f"metrics:\n  writer_port: {port}\n")
    journal = Journal(journal_dir, 1 << 30)
    fill(journal, 5)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AIAUDIT_")}, "AIAUDIT_CONFIG": cfg,
           "XDG_DATA_HOME": str(tmp_path / "xdg")}
    process = subprocess.Popen([sys.executable, "-m", "agent.writer.drain", "--journal", str(journal_dir),
                                "--parent", str(os.getpid())], env=env, stderr=subprocess.PIPE, text=True)
    try:
        values = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                    values = samples(response.read().decode())
                if values.get(("aiaudit_calls_stored_total", ())) == 5:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert values.get(("aiaudit_calls_stored_total", ())) == 5, values
        assert values[("aiaudit_calls_pending", ())] == 0 and values[("aiaudit_store_up", ())] == 1
        assert values[("aiaudit_writer_store_errors_total", ())] == 0
        assert ("aiaudit_journal_bytes", ()) in values and ("aiaudit_writer_lag_seconds", ()) in values
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


def test_the_writer_reports_a_store_outage_with_what_waits_in_the_journal(tmp_path):
    port = free_port()
    journal_dir = tmp_path / "journal"
    dead = f"postgresql+psycopg://aiaudit:aiaudit@127.0.0.1:{free_port()}/none"  # nothing listens there
    cfg = write_config(tmp_path, f"database_url: {dead}\ncapture:\n  journal_dir: {journal_dir}\n"
                                 f"metrics:\n  writer_port: {port}\n")
    fill(Journal(journal_dir, 1 << 30), 4)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AIAUDIT_")}, "AIAUDIT_CONFIG": cfg,
           "XDG_DATA_HOME": str(tmp_path / "xdg")}
    process = subprocess.Popen([sys.executable, "-m", "agent.writer.drain", "--journal", str(journal_dir),
                                "--parent", str(os.getpid())], env=env, stderr=subprocess.DEVNULL)
    try:
        values = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
                    values = samples(response.read().decode())
                if values.get(("aiaudit_writer_store_errors_total", ()), 0) >= 2:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert values[("aiaudit_store_up", ())] == 0 and values[("aiaudit_writer_store_errors_total", ())] >= 2
        assert values[("aiaudit_calls_pending", ())] == 4 and values[("aiaudit_journal_pending_bytes", ())] > 0
        assert values[("aiaudit_writer_lag_seconds", ())] > 0.5
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)


def test_the_watcher_serves_scanning_and_alert_counts(tmp_path):
    from agent.alerts.scheduler import AlertService
    from agent.commands.scan import open_output_index
    from agent.config import load_config
    from agent.metrics import serve_watch
    from agent.scan.observer import Root
    from agent.scan.observer import Watcher

    url = f"sqlite:///{tmp_path / 'a.db'}"
    port = free_port()
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.jsonl").write_text('{"text": "hello"}\n{"text": "world"}\n')
    cfg = write_config(tmp_path, f"database_url: {url}\nscanner:\n  index_dir: {tmp_path / 'index'}\n"
                                 f"metrics:\n  watch_port: {port}\nalerts:\n  evaluate_minutes: 0.01\n"
                                 f"  sinks:\n    - {{name: ocsf, type: ocsf_file, path: out.jsonl}}\n")
    config = load_config(cfg)
    store = open_store(url)
    watcher = Watcher(store, open_output_index(config, store), [Root(data)], quiet_seconds=1, rescan_seconds=300,
                      on_line=lambda line: None)
    service = AlertService(config, store).start()
    server = serve_watch(config, watcher, service, store)
    try:
        watcher.reconcile()
        time.sleep(1.5)  # a few scheduled evaluations
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            values = samples(response.read().decode())
        assert values[("aiaudit_watch_files_scanned_total", ())] == 1
        assert values[("aiaudit_watch_records_scanned_total", ())] == 2
        assert values[("aiaudit_alert_evaluations_total", (("outcome", "ok"),))] >= 1
        assert values[("aiaudit_findings", (("severity", "critical"),))] == 0
        assert values[("aiaudit_alert_sink_up", (("sink", "ocsf"),))] == 1
    finally:
        service.stop()
        server.shutdown()
        store.dispose()
