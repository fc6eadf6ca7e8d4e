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


_RECORD_ORIGIN = '''
from pathlib import Path

class RecordOrigin:
    def response(self, flow):
        with open({path!r}, "a") as f:
            f.write(f"{{flow.request.host}} {{flow.request.port}} {{flow.server_conn.sni}}\\n")

addons = [RecordOrigin()]
'''


@pytest.mark.parametrize("keep_alive", [True, False])
def test_kept_alive_upstream_connection_is_reused_and_the_request_keeps_its_origin(tmp_path: Path,
                                                                                  keep_alive: bool) -> None:
    """A keep-alive stand-in and the route addon: one client connection's calls share one upstream
    connection (one TLS handshake, as with a real vendor), and addons after the route addon still
    see the host, port and SNI the client asked for. Without keep-alive, one connection a call."""
    seen = tmp_path / "seen.txt"
    script = tmp_path / "record_origin.py"
    script.write_text(_RECORD_ORIGIN.format(path=str(seen)))
    with StandinServer(keep_alive=keep_alive) as vendor, \
            standin_proxy(tmp_path / "conf", vendor.port, scripts=[script], keep_alive=keep_alive) as proxy, \
            httpx_client(proxy.url, proxy.ca_path) as client:
        texts = [_chat(client, f"kept alive {i}").json()["choices"][0]["message"]["content"] for i in range(3)]
        with client.stream("POST", "https://api.openai.com/v1/chat/completions",
                           json={"model": "m", "stream": True,
                                 "messages": [{"role": "user", "content": "kept alive streamed"}]}) as r:
            streamed = b"".join(r.iter_raw())
        stats = vendor.stats()
        hosts = {entry.host for entry in vendor.requests}
    assert texts == [expected_text(f"kept alive {i}") for i in range(3)]
    assert b"data: [DONE]" in streamed
    assert stats == {"connections": 1 if keep_alive else 4, "requests": 4}
    assert hosts == {"api.openai.com"}
    assert seen.read_text().splitlines() == ["api.openai.com 443 api.openai.com"] * 4


def test_standin_closes_after_one_request_unless_kept_alive() -> None:
    for keep_alive, connections in ((False, 2), (True, 1)):
        with StandinServer(keep_alive=keep_alive) as vendor, \
                httpx.Client(verify=False, base_url=vendor.url) as client:
            replies = [client.post("/v1/chat/completions", headers={"host": "api.openai.com"},
                                   json={"model": "m", "messages": [{"role": "user", "content": "x"}]})
                       for _ in range(2)]
            assert [r.headers.get("connection") for r in replies] == ["close" if not keep_alive else None] * 2
            assert vendor.stats() == {"connections": connections, "requests": 2}
