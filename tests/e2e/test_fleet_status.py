"""`aiaudit status` across a fleet, through real `aiaudit proxy` processes: two proxies that share a
host name and a store are shown apart; a proxy killed with -9 goes stale while the other runs; a
store outage shows as the current error, with its time, and after recovery only as history."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from agent.config import load_config
from agent.store.engine import open_store
from agent.writer.fleet import collect
from agent.writer.heartbeat import read_local
from agent.writer.proxy_identity import read_identity
from tests.conftest import aiaudit_command
from tests.conftest import reset_postgres
from tests.support.remote_clients import clients
from tests.support.standin import StandinServer
from tests.support.standin import expected_text
from tests.support.standin.harness import ROUTE_SCRIPT
from tests.support.standin.harness import free_port

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


class AiauditProxy:
    """`aiaudit proxy` as a service manager runs it, with its own journal, confdir and port."""

    def __init__(self, work: Path, url: str, standin_port: int) -> None:
        self.work, self.port = work, free_port()
        work.mkdir(parents=True, exist_ok=True)
        self.journal = work / "journal"
        self.config = work / "aiaudit.yaml"
        self.config.write_text(f"database_url: {url}\nprivacy:\n  store_text: full\n"
                               f"capture:\n  journal_dir: {self.journal}\n"
                               f"proxy:\n  listen_host: 127.0.0.1\n  listen_port: {self.port}\n"
                               f"  confdir: {work / 'confdir'}\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIAUDIT_")}
        env.update(PYTHONPATH=str(REPO), AIAUDIT_CONFIG=str(self.config))
        self.log = open(work / "proxy.log", "wb")
        self.proc = subprocess.Popen(
            [*aiaudit_command(), "proxy", "--", "-s", str(ROUTE_SCRIPT), "--set", f"standin_port={standin_port}",
             "--ssl-insecure", "--set", "connection_strategy=lazy"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.ca = work / "confdir" / "mitmproxy-ca-cert.pem"
        wait_for(lambda: self.ca.exists() and read_identity(self.journal), 60, "the proxy to start")
        self.client = None

    @property
    def id(self) -> str:
        return read_identity(self.journal)

    def ask(self, prompt: str) -> None:
        if self.client is None:
            self.client = clients.openai_client(f"http://127.0.0.1:{self.port}", self.ca)
        reply = self.client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": prompt}])
        assert reply.choices[0].message.content == expected_text(prompt, vendor="openai")

    def signal(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self) -> int:
        self.signal(signal.SIGTERM)  # what systemd does on stop
        try:
            return self.proc.wait(60)
        finally:
            self.signal(signal.SIGKILL)
            self.log.close()


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def status(run_cli, config: Path, *extra: str) -> tuple[dict, subprocess.CompletedProcess]:
    result = run_cli("--config", str(config), "status", "--format", "json", *extra, timeout=120)
    assert result.returncode in (0, 3), result.stderr
    return json.loads(result.stdout), result


def peek(config: Path, stale_after: float = 60.0) -> dict:
    """What `status --format json` would say, computed in this process: cheap enough to poll."""
    cfg = load_config(config)
    store = open_store(cfg.database_url)
    try:
        return collect(cfg, store, stale_after=stale_after)
    finally:
        store.dispose()


def by_id(report: dict) -> dict[str, dict]:
    return {p["id"]: p for p in report["proxies"]}


def test_two_proxies_sharing_a_host_name_then_one_killed(run_cli, tmp_path, db_url):
    with StandinServer() as standin:
        a = AiauditProxy(tmp_path / "a", db_url, standin.port)
        b = AiauditProxy(tmp_path / "b", db_url, standin.port)
        try:
            for i in range(3):
                a.ask(f"fleet question {i} for the first proxy")
            for i in range(5):
                b.ask(f"fleet question {i} for the second proxy")

            def both_stored():
                p = by_id(peek(a.config))
                return p.get(a.id, {}).get("stored") == 3 and p.get(b.id, {}).get("stored") == 5
            wait_for(both_stored, 60, "both proxies' calls to be stored")
            report, _ = status(run_cli, a.config)
            pa, pb = by_id(report)[a.id], by_id(report)[b.id]
            assert a.id != b.id and pa["host"] == pb["host"]  # one host name, two proxies
            assert (pa["captured"], pa["pending"], pa["this_host"]) == (3, 0, True)
            assert (pb["captured"], pb["pending"], pb["this_host"]) == (5, 0, False)
            assert pa["health"] == pb["health"] == "running"
            assert (report["captured"], report["stored"]) == (8, 8)
            text = run_cli("--config", str(b.config), "status").stdout
            assert f"[{a.id}]: running" in text and f"[{b.id}], this host: running" in text

            os.kill(read_local(a.journal)["pid"], signal.SIGKILL)  # only a's writer process dies
            a.ask("asked while the writer was being restarted")
            report = wait_for(lambda: (r := peek(a.config)) and by_id(r)[a.id]["stored"] == 4 and
                              by_id(r)[a.id]["writer_restarts"] == 1 and r, 60, "the supervisor to restart the writer")
            assert by_id(report)[a.id]["health"] == "running" and by_id(report)[a.id]["pending"] == 0
            assert "its writer process was restarted once" in run_cli("--config", str(a.config), "status").stdout

            b.signal(signal.SIGKILL)  # mitmdump and its writer, no shutdown code runs
            b.proc.wait(10)
            wait_for(lambda: by_id(peek(a.config, stale_after=1))[b.id]["health"] == "stale", 60,
                     "the killed proxy to go stale")
            stale, _ = status(run_cli, a.config, "--stale-after", "1")
            assert by_id(stale)[b.id]["health"] == "stale"
            assert by_id(stale)[b.id]["heartbeat_age_s"] > 3 * 5  # not before three heartbeats were missed
            assert by_id(stale)[a.id]["health"] == "running" and by_id(stale)[b.id]["stored"] == 5
            text = run_cli("--config", str(a.config), "status", "--stale-after", "1").stdout
            assert f"[{b.id}]: STALE: no heartbeat for" in text
        finally:
            b.stop()
            code = a.stop()
        assert code == 0
        report, _ = status(run_cli, b.config, "--stale-after", "1")
        assert by_id(report)[a.id]["health"] == "stopped"  # a clean stop says so; it is not "stale"
        assert by_id(report)[b.id]["health"] == "stale"


def _pg_ctl(action: str) -> None:
    cluster = os.environ.get("AIAUDIT_TEST_PG_CLUSTER", "")
    result = subprocess.run(["pg_ctlcluster", *cluster.split(), action], capture_output=True, text=True, timeout=60)
    said = (result.stdout + result.stderr).strip()
    if result.returncode != 0 and "already running" not in said:
        raise RuntimeError(f"pg_ctlcluster {action}: {said}")


@pytest.mark.postgres
def test_store_outage_is_a_current_error_then_history(run_cli, tmp_path, pg_url):
    if not os.environ.get("AIAUDIT_TEST_PG_CLUSTER") or os.geteuid() != 0:
        pytest.skip("needs AIAUDIT_TEST_PG_CLUSTER (the cluster serving AIAUDIT_TEST_PG_URL) and root")
    elsewhere = tmp_path / "elsewhere.yaml"  # status as run on another host: no journal of its own
    elsewhere.write_text(f"database_url: {pg_url}\ncapture:\n  journal_dir: {tmp_path / 'none'}\n")
    try:
        with StandinServer() as standin:
            proxy = AiauditProxy(tmp_path / "p", pg_url, standin.port)
            try:
                for i in range(3):
                    proxy.ask(f"before the outage {i}")
                wait_for(lambda: peek(proxy.config)["stored"] == 3, 60, "the first calls")
                t_down = dt.datetime.now(dt.timezone.utc)
                _pg_ctl("stop")
                for i in range(4):
                    proxy.ask(f"during the outage {i}")  # traffic goes on; the journal holds the calls
                state = wait_for(lambda: (s := read_local(proxy.journal)) and s["error"] and s, 60,
                                 "the writer to notice the outage")

                report, result = status(run_cli, proxy.config)
                assert result.returncode == 3 and "cannot open the store" in result.stderr
                [p] = report["proxies"]
                assert p["id"] == proxy.id and p["pending"] == 4 and p["pending_from"] == "journal"
                assert p["health"] == "cut_off"  # its writer runs here, its heartbeats reach no store
                error = p["current_error"]
                assert error["current"] and error["message"].startswith("OperationalError")
                assert error["since"] == state["error"]["since"]  # one outage, however often it is retried
                assert dt.datetime.fromisoformat(error["since"]) >= t_down - dt.timedelta(seconds=1)
                text = run_cli("--config", str(proxy.config), "status").stdout
                assert f"store error NOW: {error['message']} (since {error['since']}" in text

                t_up = dt.datetime.now(dt.timezone.utc)
                _pg_ctl("start")

                def recovered():
                    try:
                        r = peek(proxy.config)
                    except Exception:  # the server is still starting
                        return False
                    return r["stored"] == 7 and r["proxies"][0]["current_error"] is None
                wait_for(recovered, 120, "the writer to recover and drain")
                report, result = status(run_cli, proxy.config)
                assert result.returncode == 0
                [p] = report["proxies"]
                assert (p["captured"], p["pending"], p["health"]) == (7, 0, "running")
                previous = p["previous_error"]
                assert not previous["current"] and previous["since"] == error["since"]
                assert dt.datetime.fromisoformat(previous["cleared_at"]) >= t_up - dt.timedelta(seconds=1)
                [remote] = status(run_cli, elsewhere)[0]["proxies"]  # every host sees the same history
                assert remote["current_error"] is None and remote["previous_error"]["since"] == error["since"]
                text = run_cli("--config", str(elsewhere), "status").stdout
                assert "store error NOW" not in text and f"last store error (cleared {previous['cleared_at']})" in text
            finally:
                assert proxy.stop() == 0
    finally:
        _pg_ctl("start")  # never leave the suite without its server
    reset_postgres(pg_url)
