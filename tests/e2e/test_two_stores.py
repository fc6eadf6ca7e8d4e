"""Two `aiaudit proxy` services with different databases on one host, default journal settings:
each journals to its own directory, found before its database is reached (one starts while its
database cannot be opened), and each store gets only its own calls."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from agent.proxy.journal import journal_store
from agent.store.engine import open_store
from agent.store.identity import read_identity
from agent.store.models import Call
from tests.conftest import aiaudit_command
from tests.support.remote_clients import clients
from tests.support.standin import StandinServer
from tests.support.standin.harness import ROUTE_SCRIPT
from tests.support.standin.harness import free_port

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


def start_proxy(tmp_path: Path, name: str, url: str, standin_port: int, xdg: Path):
    port = free_port()
    config = tmp_path / f"{name}.yaml"
    config.write_text(f"database_url: {url}\nprivacy:\n  store_text: full\n"
                      f"proxy:\n  listen_host: 127.0.0.1\n  listen_port: {port}\n  confdir: {tmp_path / name}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIAUDIT_")}
    env.update(PYTHONPATH=str(REPO), AIAUDIT_CONFIG=str(config), XDG_DATA_HOME=str(xdg))
    proc = subprocess.Popen([*aiaudit_command(), "proxy", "--", "-s", str(ROUTE_SCRIPT), "--set",
                             f"standin_port={standin_port}", "--ssl-insecure", "--set", "connection_strategy=lazy"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    ca = tmp_path / name / "mitmproxy-ca-cert.pem"
    deadline = time.monotonic() + 30
    while not ca.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()[0].decode(errors="replace")[-3000:]
    return proc, clients.openai_client(f"http://127.0.0.1:{port}", ca)


def stored_prompts(url: str, n: int, timeout: float = 45.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            store = open_store(url)
            with store.session() as s:
                texts = list(s.scalars(select(Call.output_text).order_by(Call.id)))
            store.dispose()
        except Exception:  # the database cannot be opened yet
            texts = []
        if len(texts) >= n or time.monotonic() > deadline:
            return texts
        time.sleep(0.2)


def test_two_proxies_with_different_databases_on_one_host(tmp_path):
    xdg = tmp_path / "xdg"
    url_a = f"sqlite:///{tmp_path / 'a.db'}"
    url_b = f"sqlite:///{tmp_path / 'later' / 'b.db'}"  # its directory does not exist yet
    procs = []
    with StandinServer() as standin:
        try:
            proc_a, client_a = start_proxy(tmp_path, "a", url_a, standin.port, xdg)
            procs.append(proc_a)
            proc_b, client_b = start_proxy(tmp_path, "b", url_b, standin.port, xdg)
            procs.append(proc_b)
            answers: dict[str, set[str]] = {"a": set(), "b": set()}
            for i in range(3):
                for name, client in (("a", client_a), ("b", client_b)):
                    reply = client.chat.completions.create(
                        model="gpt-4o", messages=[{"role": "user", "content": f"question {i} for proxy {name}"}])
                    answers[name].add(reply.choices[0].message.content)
            from_a = stored_prompts(url_a, 3)
            time.sleep(1.0)
            (tmp_path / "later").mkdir()  # B's database can be opened now; its journal held the calls
            from_b = stored_prompts(url_b, 3)
        finally:
            for proc in procs:
                os.killpg(proc.pid, signal.SIGTERM)
            outputs = [proc.communicate(timeout=60)[0].decode(errors="replace") for proc in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs[-1][-3000:]
    assert len(answers["a"] | answers["b"]) == 6  # six different answers: each call is told apart
    assert set(from_a) == answers["a"], outputs[0][-3000:]
    assert set(from_b) == answers["b"], outputs[1][-3000:]
    journals = sorted((xdg / "aiaudit" / "journals").iterdir())
    assert len(journals) == 2
    ids = {read_identity(open_store(url)).store_id for url in (url_a, url_b)}
    assert {journal_store(j) for j in journals} == ids
