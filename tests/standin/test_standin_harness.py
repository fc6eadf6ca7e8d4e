"""The process harness: proxy auth, graceful stop versus kill, the stand-in as a process."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.support.raw_http import httpx_client
from tests.support.standin import StandinServer
from tests.support.standin import expected_text
from tests.support.standin.harness import ProxyProcess
from tests.support.standin.harness import StandinProcess
from tests.support.standin.harness import standin_proxy

pytestmark = pytest.mark.e2e

_FLUSH_ON_SHUTDOWN = '''
from pathlib import Path

class FlushOnShutdown:
    def done(self):
        Path({marker!r}).write_text("flushed")

addons = [FlushOnShutdown()]
'''


def _chat(client: httpx.Client, prompt: str) -> httpx.Response:
    return client.post("https://api.openai.com/v1/chat/completions",
                       json={"model": "m", "messages": [{"role": "user", "content": prompt}]})


def test_proxy_auth_user_reaches_mitmproxy_not_the_vendor(standin: StandinServer,
                                                          tmp_path: Path) -> None:
    with standin_proxy(tmp_path / "conf", standin.port, options={"proxyauth": "any"}) as proxy:
        with httpx_client(proxy.url_with_auth("alice", "pw"), proxy.ca_path) as client:
            response = _chat(client, "auth")
        assert response.json()["choices"][0]["message"]["content"] == expected_text("auth")
        assert standin.requests[-1].header("proxy-authorization") is None
        with httpx_client(proxy.url, proxy.ca_path) as anonymous:
            with pytest.raises(httpx.ProxyError, match="407"):
                _chat(anonymous, "auth")
    assert not proxy.group_alive()


def test_stop_waits_for_shutdown_hooks_and_kill_does_not(standin: StandinServer,
                                                         tmp_path: Path) -> None:
    markers = []
    for how in ("stop", "kill"):
        marker = tmp_path / f"{how}.flushed"
        script = tmp_path / f"flush_{how}.py"
        script.write_text(_FLUSH_ON_SHUTDOWN.format(marker=str(marker)))
        proxy = standin_proxy(tmp_path / how, standin.port, scripts=[script]).start()
        with httpx_client(proxy.url, proxy.ca_path) as client:
            assert _chat(client, how).status_code == 200
        if how == "stop":
            assert proxy.stop() == 0
        else:
            proxy.kill()
        assert not proxy.group_alive()
        markers.append(marker.exists())
    assert markers == [True, False]
    assert (tmp_path / "stop" / "mitmdump.log").exists()


def test_proxy_on_a_given_port_and_failed_start(standin: StandinServer, tmp_path: Path) -> None:
    from tests.support.standin.harness import free_port

    port = free_port()
    with standin_proxy(tmp_path / "a", standin.port, listen_port=port,
                       extra_args=["-q"]) as proxy:  # quiet: readiness by port and liveness
        assert proxy.url == f"http://127.0.0.1:{port}"
        with pytest.raises(RuntimeError, match="did not start"):
            ProxyProcess(tmp_path / "b", listen_port=port).start()  # port taken


def test_standin_in_its_own_process(tmp_path: Path) -> None:
    with StandinProcess(log_path=tmp_path / "standin.log") as vendor:
        with standin_proxy(tmp_path / "conf", vendor.port) as proxy:
            with httpx_client(proxy.url, proxy.ca_path) as client:
                response = _chat(client, "separate process")
        assert response.json()["choices"][0]["message"]["content"] == expected_text(
            "separate process")
    assert vendor.pid is not None and not vendor.group_alive()


def test_route_addon_streams_only_when_asked(standin: StandinServer, tmp_path: Path) -> None:
    """With standin_stream=false mitmproxy buffers: the first event arrives with the last."""
    options = {"standin_stream": "false"}
    with standin_proxy(tmp_path / "conf", standin.port, options=options) as proxy, \
            httpx_client(proxy.url, proxy.ca_path) as client:
        start = time.monotonic()
        with client.stream("POST", "https://api.openai.com/v1/chat/completions",
                           headers={"x-standin-delay-ms": "20"},
                           json={"model": "m", "stream": True,
                                 "messages": [{"role": "user", "content": "buffered"}]}) as r:
            first = None
            for _ in r.iter_raw():
                first = first or time.monotonic() - start
        total = time.monotonic() - start
    assert first is not None and first > 0.8 * total
