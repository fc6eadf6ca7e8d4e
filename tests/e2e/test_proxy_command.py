"""`aiaudit proxy` as a service manager runs it: config from the file, mitmdump options after --,
SIGTERM stores what was captured, and the database password never shows in the process list."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import aiaudit_command
from tests.support.client_side import client_side
from tests.support.standin import StandinServer
from tests.support.standin import expected_text
from tests.support.standin.harness import ROUTE_SCRIPT
from tests.support.standin.harness import free_port

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


@client_side
def hello_answer(proxy, ca):
    client = clients.openai_client(proxy, ca)
    return client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hello"}]) \
        .choices[0].message.content


def test_aiaudit_proxy_captures_and_stops_cleanly(tmp_path, run_cli):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    port = free_port()
    config = tmp_path / "aiaudit.yaml"
    config.write_text(f"database_url: {url}\nprivacy:\n  store_text: full\ncapture:\n  journal_dir: {tmp_path / 'j'}\n"
                      f"proxy:\n  listen_host: 127.0.0.1\n  listen_port: {port}\n  confdir: {tmp_path / 'confdir'}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIAUDIT_")}
    env.update(PYTHONPATH=str(REPO), AIAUDIT_CONFIG=str(config))
    with StandinServer() as standin:
        proc = subprocess.Popen(
            [*aiaudit_command(), "proxy", "--", "-s", str(ROUTE_SCRIPT), "--set", f"standin_port={standin.port}",
             "--ssl-insecure", "--set", "connection_strategy=lazy"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            ca = tmp_path / "confdir" / "mitmproxy-ca-cert.pem"
            # The writer (nice 19) takes its SIGTERM handler right after it locks the journal; a
            # stop before that, in its first second or so, leaves the call in the journal for the
            # next start instead of the store. This test is about a proxy that is up.
            writer_up = tmp_path / "j" / "writer.lock"
            deadline = time.monotonic() + 30
            while not (ca.exists() and writer_up.exists()) and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1.0)
            ps = [line for line in subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True).stdout.splitlines()
                  if "mitmdump" in line and str(port) in line]
            assert ps and "sqlite:///" not in ps[0]  # the URL travels in the environment, not argv
            text = hello_answer(f"http://127.0.0.1:{port}", ca)
            assert text == expected_text("hello", vendor="openai")
        finally:
            os.killpg(proc.pid, signal.SIGTERM)  # what systemd does on stop
            output = proc.communicate(timeout=60)[0].decode(errors="replace")
    assert proc.returncode == 0, output[-2000:]
    exported = run_cli("--config", str(config), "export", "calls")
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [r["output_text"] for r in rows] == [text], output[-3000:]


def test_bad_config_stops_the_proxy_with_one_line(tmp_path, run_cli):
    config = tmp_path / "aiaudit.yaml"
    config.write_text("proxy:\n  listen_prot: 8080\n")
    result = run_cli("--config", str(config), "proxy")
    assert result.returncode == 2
    assert result.stderr.strip() == f"aiaudit: {config}:2: unknown setting proxy.listen_prot (expected one of: confdir, listen_host, listen_port)"
    assert sys.executable  # the check above ran without starting mitmdump
