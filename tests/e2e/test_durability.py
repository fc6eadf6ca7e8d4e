"""Durability through the real proxy: kill -9 under steady traffic, a locked SQLite store, a
stopped PostgreSQL server. Every call whose response a client received is stored exactly once,
and traffic is not slowed while the store is away."""

from __future__ import annotations

import json
import os
import random
import sqlite3
import statistics
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func
from sqlalchemy import select

from agent.store.engine import open_store
from agent.store.models import Call
from tests.conftest import reset_postgres
from tests.support.raw_http import httpx_client
from tests.support.standin import StandinServer
from tests.support.standin import expected_text
from tests.support.standin.harness import free_port
from tests.support.standin.harness import standin_proxy

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
CAPTURE = REPO / "agent" / "proxy" / "script.py"
CHAT = "https://api.openai.com/v1/chat/completions"


class Traffic:
    """One client sending unique prompts back to back; remembers which responses arrived whole."""

    def __init__(self, proxy_url_fn, ca_path, tag: str) -> None:
        self.proxy_url_fn, self.ca_path, self.tag = proxy_url_fn, ca_path, tag
        self.delivered: list[str] = []
        self.latencies: list[tuple[float, float]] = []  # (start time, seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Traffic:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            i += 1
            prompt = f"{self.tag} durable prompt {i}"
            stream = i % 2 == 0
            payload = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}]}
            if stream:
                payload["stream"] = True
            try:
                with httpx_client(self.proxy_url_fn(), self.ca_path, timeout=10) as http:
                    t0 = time.perf_counter()
                    r = http.post(CHAT, json=payload, headers={"authorization": "Bearer sk-durable"})
                    elapsed = time.perf_counter() - t0
                ok = r.status_code == 200 and (b"[DONE]" in r.content if stream else "choices" in r.json())
            except (httpx.HTTPError, json.JSONDecodeError):
                time.sleep(0.05)  # the proxy is down: try again
                continue
            if ok:
                self.delivered.append(prompt)
                self.latencies.append((time.time(), elapsed))


def write_config(work: Path, url: str) -> Path:
    config = work / "aiaudit.yaml"
    config.write_text(f"database_url: {url}\nprivacy:\n  store_text: full\ncapture:\n  journal_dir: {work / 'journal'}\n")
    return config


def wait_drained(journal_dir: Path, timeout: float = 120) -> None:
    """Until the writer has stored everything journaled (it runs niced, so it may lag traffic)."""
    from agent.writer.fleet import journal_pending

    deadline = time.monotonic() + timeout
    while journal_pending(journal_dir)[0] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert journal_pending(journal_dir)[0] == 0, "the writer did not drain the journal"


def wait_until_stored(url: str, prompts: list[str], timeout: float = 60) -> dict[str, int]:
    texts = {expected_text(p, vendor="openai"): p for p in prompts}
    store = open_store(url)
    deadline = time.monotonic() + timeout
    while True:
        with store.session() as s:
            rows = s.execute(select(Call.output_text, func.count()).group_by(Call.output_text)).all()
        counts = {texts[t]: n for t, n in rows if t in texts}
        if len(counts) == len(texts) or time.monotonic() > deadline:
            return counts
        time.sleep(0.2)


def test_kill_9_three_times_loses_and_duplicates_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    config = write_config(tmp_path, url)
    env = {"AIAUDIT_CONFIG": str(config), "PYTHONPATH": str(REPO)}
    port = free_port()
    rng = random.Random(7)
    with StandinServer() as standin:
        def proxy():
            return standin_proxy(tmp_path / "mitmproxy", standin.port, scripts=[CAPTURE], env=env,
                                 listen_port=port)

        current = proxy().start()
        traffic = Traffic(lambda: f"http://127.0.0.1:{port}", current.ca_path, "chaos").start()
        try:
            for _ in range(3):
                time.sleep(rng.uniform(1.5, 3.0))
                current.kill()  # SIGKILL to mitmdump and its writer: no shutdown code runs
                current = proxy().start()
            time.sleep(1.5)
            traffic.stop()
            wait_drained(tmp_path / "journal")
        finally:
            traffic.stop()
            current.stop()
    assert len(traffic.delivered) > 20
    counts = wait_until_stored(url, traffic.delivered)
    missing = [p for p in traffic.delivered if p not in counts]
    dupes = {p: n for p, n in counts.items() if n != 1}
    assert missing == [] and dupes == {}


def _hold_sqlite_lock(path: Path, seconds: float) -> threading.Thread:
    def hold() -> None:
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        time.sleep(seconds)
        conn.execute("ROLLBACK")
        conn.close()

    t = threading.Thread(target=hold)
    t.start()
    return t


def _median(latencies, start, end) -> float:
    values = [d for t, d in latencies if start <= t < end]
    assert len(values) >= 5, "too few requests in the window to compare"
    return statistics.median(values)


def test_locked_sqlite_store_neither_slows_traffic_nor_loses_calls(tmp_path):
    db = tmp_path / "audit.db"
    url = f"sqlite:///{db}"
    config = write_config(tmp_path, url)
    open_store(url)  # schema in place before the lock is taken
    env = {"AIAUDIT_CONFIG": str(config), "PYTHONPATH": str(REPO)}
    with StandinServer() as standin:
        with standin_proxy(tmp_path / "mitmproxy", standin.port, scripts=[CAPTURE], env=env) as proxy:
            traffic = Traffic(lambda: proxy.url, proxy.ca_path, "locked").start()
            time.sleep(3)
            t_lock = time.time()
            holder = _hold_sqlite_lock(db, 6)  # the writer cannot write for 6 s
            time.sleep(6)
            t_unlock = time.time()
            holder.join()
            time.sleep(2)
            traffic.stop()
            wait_drained(tmp_path / "journal")
    before = _median(traffic.latencies, 0, t_lock)
    during = _median(traffic.latencies, t_lock, t_unlock)
    assert during <= before * 1.5 + 0.02, f"median latency {before * 1000:.1f} ms -> {during * 1000:.1f} ms"
    counts = wait_until_stored(url, traffic.delivered)
    assert len(counts) == len(traffic.delivered) and set(counts.values()) == {1}


def _pg_ctl(action: str) -> None:
    cluster = os.environ.get("AIAUDIT_TEST_PG_CLUSTER", "")
    result = subprocess.run(["pg_ctlcluster", *cluster.split(), action], capture_output=True, text=True, timeout=60)
    said = (result.stdout + result.stderr).strip()
    if result.returncode != 0 and "already running" not in said:
        raise RuntimeError(f"pg_ctlcluster {action}: {said}")


@pytest.mark.postgres
def test_postgres_outage_under_traffic(tmp_path, pg_url):
    if not os.environ.get("AIAUDIT_TEST_PG_CLUSTER") or os.geteuid() != 0:
        pytest.skip("needs AIAUDIT_TEST_PG_CLUSTER (e.g. '15 main') and root to stop and start the server")
    config = write_config(tmp_path, pg_url)
    env = {"AIAUDIT_CONFIG": str(config), "PYTHONPATH": str(REPO)}
    try:
        with StandinServer() as standin:
            with standin_proxy(tmp_path / "mitmproxy", standin.port, scripts=[CAPTURE], env=env) as proxy:
                traffic = Traffic(lambda: proxy.url, proxy.ca_path, "outage").start()
                time.sleep(3)
                t_down = time.time()
                _pg_ctl("stop")
                time.sleep(6)
                t_up = time.time()
                _pg_ctl("start")
                time.sleep(3)
                traffic.stop()
                wait_drained(tmp_path / "journal")
    finally:
        _pg_ctl("start")  # never leave the suite without its server
    before = _median(traffic.latencies, 0, t_down)
    during = _median(traffic.latencies, t_down + 0.5, t_up)
    assert during <= before * 1.5 + 0.02, f"median latency {before * 1000:.1f} ms -> {during * 1000:.1f} ms"
    counts = wait_until_stored(pg_url, traffic.delivered, timeout=90)
    assert len(counts) == len(traffic.delivered) and set(counts.values()) == {1}
    reset_postgres(pg_url)
