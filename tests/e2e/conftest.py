"""A real mitmdump with the capture addon (and its writer process) in front of the stand-in
vendor, shared by the end-to-end capture tests, and a way to wait for calls to be stored."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from agent.store.engine import open_store
from agent.store.models import Call
from agent.store.models import Output
from tests.support.standin import StandinServer
from tests.support.standin.harness import ProxyProcess
from tests.support.standin.harness import standin_proxy

REPO = Path(__file__).resolve().parents[2]
CAPTURE = REPO / "agent" / "proxy" / "script.py"
TEAM_KEY = "sk-proj-team-research-key-0001"
CAP = 8 << 20  # capture.max_body_bytes for these tests: large bodies are cut here


@dataclass
class Audit:
    proxy: ProxyProcess
    standin: StandinServer
    url: str
    work: Path

    def proxy_url(self, user: str = "nobody", password: str = "pw") -> str:
        return self.proxy.url_with_auth(user, password)

    def marker(self) -> str:
        """The newest stored call id, so a test can wait for the calls it makes afterwards."""
        store = open_store(self.url)
        with store.session() as s:
            return s.scalar(select(Call.id).order_by(Call.id.desc()).limit(1)) or ""

    def wait_calls(self, after: str, n: int, timeout: float = 20.0) -> list[Call]:
        store = open_store(self.url)
        deadline = time.monotonic() + timeout
        while True:
            with store.session() as s:
                calls = s.scalars(select(Call).where(Call.id > after).order_by(Call.id)).all()
            if len(calls) >= n or time.monotonic() > deadline:
                assert len(calls) == n, f"expected {n} stored calls, got {len(calls)}: {[c.endpoint for c in calls]}"
                return calls
            time.sleep(0.1)

    def outputs(self, call_id: str) -> list[Output]:
        store = open_store(self.url)
        with store.session() as s:
            return s.scalars(select(Output).where(Output.call_id == call_id).order_by(Output.kind, Output.idx)).all()


@pytest.fixture(scope="session")
def standin() -> Iterator[StandinServer]:
    with StandinServer() as server:
        yield server


@pytest.fixture(scope="session")
def audit(standin, tmp_path_factory) -> Iterator[Audit]:
    work = tmp_path_factory.mktemp("audit")
    url = f"sqlite:///{work / 'audit.db'}"
    key_hash = hashlib.sha256(TEAM_KEY.encode()).hexdigest()
    config = work / "aiaudit.yaml"
    config.write_text(
        f"""database_url: {url}
privacy:
  store_text: full
capture:
  journal_dir: {work / 'journal'}
  max_body_bytes: {CAP}
team_header: X-Team
teams:
  - name: research
    api_key_sha256: [{key_hash}]
  - name: support
    proxy_users: [carol]
  - name: finance
    cidrs: [127.0.0.2/32]
"""
    )
    env = {"AIAUDIT_CONFIG": str(config), "PYTHONPATH": str(REPO), "AIAUDIT_DB": url}
    proxy = standin_proxy(work / "mitmproxy", standin.port, scripts=[CAPTURE], options={"proxyauth": "any"},
                          env=env)
    with proxy:
        yield Audit(proxy, standin, url, work)
    assert not proxy.group_alive()


@pytest.fixture
def prompt(request) -> str:
    return f"Tell me about {request.node.name} in plain words"


def all_files(root: Path) -> Iterator[Path]:
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            yield Path(dirpath) / name
