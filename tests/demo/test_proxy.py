"""The demo's proxy: the `aiaudit proxy` command line (agent.proxy.launch) plus the demo's route
addon, a real mitmdump in front of the demo's vendor over TLS, the capture addon journalling the
call, and the whole process group gone afterwards."""

from __future__ import annotations

import os
import time

import pytest

from agent.config import load_config
from agent.demo.http import ProxyClient
from agent.demo.proxy import DemoProxy
from agent.demo.vendor import DemoVendorServer
from agent.demo.vendor import answer

pytestmark = pytest.mark.e2e


def test_a_call_through_the_demo_proxy_reaches_the_vendor_and_the_journal(tmp_path):
    config_path = tmp_path / "aiaudit.yaml"
    config_path.write_text(f"database_url: sqlite:///{tmp_path / 'audit.db'}\n"
                           f"proxy:\n  confdir: {tmp_path / 'mitmproxy'}\n"
                           f"capture:\n  journal_dir: {tmp_path / 'journal'}\n")
    config = load_config(config_path)
    with DemoVendorServer() as vendor, DemoProxy(config, vendor.port, tmp_path / "mitmdump.log") as proxy:
        client = ProxyClient(proxy.url, proxy.ca_path, "alice")
        status, body = client.post_json("https://api.openai.com/v1/chat/completions",
                                        {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}]},
                                        {"authorization": "Bearer sk-demo"})
        assert status == 200, body
        assert body["choices"][0]["message"]["content"] == answer("hello")  # the vendor answered, not the internet
        group = proxy.proc.pid
        deadline = time.monotonic() + 30
        while not any((tmp_path / "journal").glob("*")) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert any((tmp_path / "journal").glob("*")), "the capture addon journalled nothing"
    with pytest.raises(ProcessLookupError):
        os.killpg(group, 0)  # mitmdump and its writer are gone
