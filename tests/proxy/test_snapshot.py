"""A flow becomes one redacted journal record: secrets never reach it, a body over the cap is cut
and says so, the tee passes every chunk on unchanged and journals a call before its last byte."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from hypothesis import given
from hypothesis import strategies as st
from mitmproxy import http
from mitmproxy.test import tflow
from mitmproxy.test import tutils

from agent.proxy.hosts import Route
from agent.proxy.record import decode
from agent.proxy.snapshot import StreamTee
from agent.proxy.snapshot import field_value
from agent.proxy.snapshot import pretty_host
from agent.proxy.snapshot import snapshot

ROUTE = Route("openai", "chat.completions", "generation", "openai")


def record_of(flow, cap=1 << 20, team_header=None):
    parts = snapshot(flow, ROUTE, "C1", cap=cap, extra_secret_headers=frozenset({"x-internal-token"}),
                     team_header=team_header)
    return decode(b"".join(bytes(p) for p in parts))


def test_the_record_is_redacted_and_keeps_the_bodies():
    flow = tflow.tflow(resp=True)
    flow.request.headers["Authorization"] = "Bearer sk-secret-value-1234567890"
    flow.request.headers["X-Internal-Token"] = "hush"
    flow.request.headers["X-Team"] = "search\x00\x07"
    flow.request.content = b'{"model": "gpt-4o"}'
    flow.response.content = b'{"choices": []}'
    ex = record_of(flow, team_header="x-team")
    shown = repr(ex)
    assert "sk-secret-value" not in shown and "hush" not in shown and ex.key_sha256
    assert ex.request.body == b'{"model": "gpt-4o"}' and ex.response.body == b'{"choices": []}'
    assert ex.header_team == "search" and ex.call_id == "C1" and ex.route == ROUTE
    assert ex.request_bytes == len(b'{"model": "gpt-4o"}') and ex.response_bytes == len(b'{"choices": []}')


def test_a_body_over_the_cap_is_cut_and_marked():
    flow = tflow.tflow(resp=True)
    flow.response.content = b"x" * 100
    ex = record_of(flow, cap=10)
    assert ex.response.body == b"x" * 10 and ex.response.truncated and ex.response_bytes == 100


def test_a_flow_without_a_response_is_recorded_with_its_error():
    ex = decode(b"".join(bytes(p) for p in snapshot(tflow.tflow(), ROUTE, "C2", cap=100, extra_secret_headers=frozenset(),
                                                    team_header=None, error="connection reset")))
    assert ex.response.status is None and ex.response.error == "connection reset" and ex.response.body == b""


@given(st.lists(st.binary(max_size=30), max_size=8), st.integers(0, 120))
def test_the_tee_passes_every_chunk_and_keeps_at_most_its_cap(chunks, cap):
    done = []
    total = sum(len(c) for c in chunks)
    tee = StreamTee(cap, expected_length=total, on_complete=lambda: done.append(tee.seen))
    assert [tee(c) for c in chunks] == chunks
    assert tee.seen == total and tee.size <= cap and b"".join(tee.chunks) == b"".join(chunks)[:tee.size]
    assert tee.truncated == (total > cap and any(chunks))
    if any(chunks):
        assert done == [total]  # called once, when the last byte passed


_NAMES = st.sampled_from([b"Content-Type", b"content-type", b"CONTENT-TYPE", b"Host", b"host", b"X-Team",
                          b"x-team", b"Accept", b"Content-Length"])
_FIELDS = st.lists(st.tuples(_NAMES, st.binary(max_size=20)), max_size=8)


@given(_FIELDS, _NAMES)
def test_field_value_reads_a_header_as_mitmproxy_does(fields, name):
    headers = http.Headers(fields)
    assert field_value(headers, name.lower()) == headers.get(name.decode())


@given(st.sampled_from(["api.openai.com", "API.OpenAI.com:443", "[::1]:8080", "bücher.example", "bad host!",
                        "api.anthropic.com.", ""]),
       st.sampled_from([b"HTTP/1.1", b"HTTP/2.0"]), st.sampled_from([b"", b"other.example:443"]))
def test_pretty_host_is_mitmproxys_and_stays_so_when_cached(host_header, version, authority):
    req = tutils.treq(http_version=version, authority=authority,
                      headers=http.Headers([(b"Host", host_header.encode())] if host_header else []))
    assert pretty_host(req) == req.pretty_host
    assert pretty_host(req) == req.pretty_host  # the second time from the cache


def test_a_target_byte_that_is_not_utf8_is_kept_as_the_byte_a_url_writes():
    """mitmproxy hands such a byte on as a lone surrogate, which no journal record can hold: the
    call used to be dropped as a failed hook."""
    flow = tflow.tflow(resp=True)
    flow.request.data.path = b"/v1/chat/completions?tag=caf\xe9&key=s\xffcret"
    ex = record_of(flow)
    assert ex.request.path == "/v1/chat/completions?tag=caf%E9&key=REDACTED"


@given(st.binary(max_size=40).filter(lambda b: not set(b) & set(b"?#@")))
def test_any_target_bytes_make_a_record_whose_path_reads_back_to_them(raw):
    flow = tflow.tflow(resp=True)
    flow.request.data.path = b"/v1/" + raw
    ex = record_of(flow)
    assert unquote_to_bytes(ex.request.path) == unquote_to_bytes(b"/v1/" + raw)
