"""`aiaudit proxy -- MITMDUMP_ARGS`: what the user passes after -- wins over what aiaudit sets from
aiaudit.yaml (confdir, listen host and port, flow detail), whichever form mitmdump accepts it in.
Each test runs the real `aiaudit proxy` command in front of the stand-in vendor and checks where
the proxy really listens, which CA it really uses and what it really prints."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.proxy.launch import options_set
from tests.conftest import REPO
from tests.conftest import aiaudit_command
from tests.support.standin import StandinServer
from tests.support.standin import expected_text
from tests.support.standin.harness import ROUTE_SCRIPT
from tests.support.standin.harness import free_port

pytestmark = pytest.mark.e2e
CA = "mitmproxy-ca-cert.pem"


@dataclass
class RunningProxy:
    proc: subprocess.Popen[bytes]
    lines: list[str] = field(default_factory=list)

    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, needle: str, timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.output():
                return True
            if self.proc.poll() is not None:
                time.sleep(0.2)  # let the reader thread take the last lines
                return needle in self.output()
            time.sleep(0.05)
        return False


@pytest.fixture(scope="module")
def standin() -> Iterator[StandinServer]:
    with StandinServer() as server:
        yield server


@pytest.fixture
def config(tmp_path) -> Path:
    """aiaudit.yaml with its own listen port and confdir, which the tests override after --."""
    path = tmp_path / "aiaudit.yaml"
    path.write_text(f"database_url: sqlite:///{tmp_path / 'audit.db'}\ncapture:\n  journal_dir: {tmp_path / 'j'}\n"
                    f"proxy:\n  listen_host: 127.0.0.1\n  listen_port: {free_port()}\n"
                    f"  confdir: {tmp_path / 'config-confdir'}\n")
    return path


@pytest.fixture
def aiaudit_proxy(config, standin) -> Iterator:
    started: list[RunningProxy] = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIAUDIT_")}
    env.update(PYTHONPATH=str(REPO), AIAUDIT_CONFIG=str(config))

    def start(*passthrough: str) -> RunningProxy:
        routed = ["-s", str(ROUTE_SCRIPT), "--set", f"standin_port={standin.port}", "--ssl-insecure",
                  "--set", "connection_strategy=lazy"]
        proc = subprocess.Popen([*aiaudit_command(), "proxy", "--", *routed, *passthrough], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        running = RunningProxy(proc)
        threading.Thread(target=lambda: running.lines.extend(
            line.decode(errors="replace").rstrip() for line in proc.stdout), daemon=True).start()
        started.append(running)
        return running

    yield start
    for running in started:
        if running.proc.poll() is None:
            os.killpg(running.proc.pid, signal.SIGTERM)
        running.proc.wait(30)


def config_port(config: Path) -> int:
    return int(config.read_text().split("listen_port: ")[1].split()[0])


def chat_through(host: str, port: int, ca: Path, prompt: str = "hello") -> str:
    """What a client receives for one chat completion through the proxy (curl, verifying `ca`)."""
    body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}]})
    result = subprocess.run(
        ["curl", "-sS", "--max-time", "20", "-x", f"http://{host}:{port}", "--cacert", str(ca),
         "-H", "content-type: application/json", "-H", "authorization: Bearer sk-x", "-d", body,
         "https://api.openai.com/v1/chat/completions"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["choices"][0]["message"]["content"]


def test_confdir_after_dashes_wins_over_the_configured_one(aiaudit_proxy, config, tmp_path):
    mine = tmp_path / "my-confdir"
    proxy = aiaudit_proxy("--set", f"confdir={mine}")
    assert proxy.wait_for("listening at"), proxy.output()
    assert "multiple values" not in proxy.output()
    assert (mine / CA).is_file()
    assert not (tmp_path / "config-confdir").exists()
    assert chat_through("127.0.0.1", config_port(config), mine / CA) == expected_text("hello", vendor="openai")


@pytest.mark.parametrize("form", ["--listen-port", "-p", "--set"])
def test_listen_port_after_dashes_wins(aiaudit_proxy, config, tmp_path, form):
    port = free_port()
    args = ["--set", f"listen_port={port}"] if form == "--set" else [form, str(port)]
    proxy = aiaudit_proxy(*args)
    assert proxy.wait_for(f"listening at 127.0.0.1:{port}"), proxy.output()
    assert f":{config_port(config)}" not in proxy.output()
    assert chat_through("127.0.0.1", port, tmp_path / "config-confdir" / CA) == expected_text("hello", vendor="openai")


@pytest.mark.parametrize("form", ["--listen-host", "--set"])
def test_listen_host_after_dashes_wins(aiaudit_proxy, config, tmp_path, form):
    args = ["--set", "listen_host=127.0.0.2"] if form == "--set" else [form, "127.0.0.2"]
    proxy = aiaudit_proxy(*args)
    port = config_port(config)
    assert proxy.wait_for(f"listening at 127.0.0.2:{port}"), proxy.output()
    ca = tmp_path / "config-confdir" / CA
    assert chat_through("127.0.0.2", port, ca) == expected_text("hello", vendor="openai")
    with pytest.raises(AssertionError):
        chat_through("127.0.0.1", port, ca)  # aiaudit's own 127.0.0.1 is not listened on


@pytest.mark.parametrize("form", ["--flow-detail", "--set"])
def test_flow_detail_after_dashes_wins(aiaudit_proxy, config, tmp_path, form):
    args = ["--set", "flow_detail=1"] if form == "--set" else [form, "1"]
    proxy = aiaudit_proxy(*args)
    assert proxy.wait_for("listening at"), proxy.output()
    chat_through("127.0.0.1", config_port(config), tmp_path / "config-confdir" / CA)
    # flow_detail 1 prints one line per flow with its URL; aiaudit's default 0 prints none
    assert proxy.wait_for("/v1/chat/completions", timeout=10), proxy.output()


def test_default_flow_detail_prints_no_urls(aiaudit_proxy, config, tmp_path):
    proxy = aiaudit_proxy()
    assert proxy.wait_for("listening at"), proxy.output()
    chat_through("127.0.0.1", config_port(config), tmp_path / "config-confdir" / CA)
    assert not proxy.wait_for("/v1/chat/completions", timeout=2)


def test_replacing_the_scripts_list_is_refused_in_one_line(aiaudit_proxy):
    proxy = aiaudit_proxy("--set", "scripts=other.py")
    assert proxy.proc.wait(30) == 2
    assert proxy.wait_for("-s PATH", timeout=2)
    assert proxy.lines == ["aiaudit proxy: --set scripts=... cannot replace the capture addon; "
                           "load your own addons next to it with -- -s PATH"]


OPTION = st.sampled_from(["confdir", "listen_host", "listen_port", "flow_detail", "mode", "x"])
VALUE = st.text(st.characters(blacklist_categories=["Cs"]), max_size=20)
OTHER = st.sampled_from(["-s", "x.py", "--ssl-insecure", "-p", "8080", "--set", "--", "=", ""])


@given(st.lists(st.tuples(OPTION, VALUE, st.booleans()), max_size=6), st.lists(OTHER, max_size=6))
def test_options_set_finds_every_set_form(settings, noise):
    argv: list[str] = [arg for arg in noise if arg != "--set"]
    for key, value, joined in settings:
        argv += [f"--set={key}={value}"] if joined else ["--set", f"{key}={value}"]
    found = options_set(argv)
    assert set(found) == {key for key, _, _ in settings}
    for key, value, _ in settings:
        assert found[key] == [v for k, v, _ in settings if k == key][-1]


@given(st.lists(OTHER, max_size=8))
def test_options_set_never_fails_on_odd_arguments(argv):
    found = options_set(argv)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in found.items())
