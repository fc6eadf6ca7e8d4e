"""The journal record: a captured exchange and its body chunks encode into one payload and decode
back into the same exchange with the bodies attached; a record of another version or length is
refused, never misread."""

from __future__ import annotations

import json
import math
import struct

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.proxy.exchange import RequestSnapshot
from agent.proxy.exchange import ResponseSnapshot
from agent.proxy.hosts import Route
from agent.proxy.record import CapturedExchange
from agent.proxy.record import decode
from agent.proxy.record import encode_parts

text = st.text(max_size=20)
headers = st.lists(st.tuples(text, text), max_size=4).map(tuple)
chunks = st.lists(st.binary(max_size=40), max_size=4)


@st.composite
def exchanges(draw):
    route = Route(draw(text), draw(text), draw(st.sampled_from(["generation", "upload", "other"])), draw(text),
                  draw(st.booleans()), draw(st.none() | text), draw(st.none() | text),
                  draw(st.dictionaries(text, text, max_size=2)))
    request = RequestSnapshot(draw(text), "https", draw(text), draw(st.integers(1, 65535)), draw(text),
                              draw(headers), b"", draw(st.floats(0, 2e9)))
    response = ResponseSnapshot(draw(st.none() | st.integers(100, 599)), draw(headers), b"", draw(st.booleans()),
                                draw(st.booleans()), draw(st.none() | text))
    return CapturedExchange(draw(text), route, request, response, draw(st.none() | text), draw(st.none() | text),
                            draw(st.none() | text), draw(st.none() | text), draw(st.floats(0, 2e9)),
                            draw(st.integers(0, 2**40)), draw(st.integers(0, 2**40)))


def payload(parts) -> bytes:
    return b"".join(bytes(p) for p in parts)


@settings(max_examples=80, deadline=None)
@given(exchanges(), chunks, chunks)
def test_a_record_decodes_to_the_exchange_with_its_bodies(ex, request_body, response_body):
    back = decode(payload(encode_parts(ex, request_body, [memoryview(c) for c in response_body])))
    assert back.request.body == b"".join(request_body) and back.response.body == b"".join(response_body)
    assert back == CapturedExchange(**{**{f: getattr(ex, f) for f in ex.__slots__},
                                       "request": back.request, "response": back.response})
    assert back.request.headers == ex.request.headers and back.response.error == ex.response.error


@settings(max_examples=30, deadline=None)
@given(exchanges(), st.binary(min_size=1, max_size=8))
def test_a_record_with_bytes_more_or_less_than_its_header_says_is_refused(ex, extra):
    whole = payload(encode_parts(ex, [b"req"], [b"resp"]))
    for wrong in (whole + extra, whole[:-1]):
        with pytest.raises(ValueError, match="length does not match"):
            decode(wrong)


def test_a_record_of_an_unknown_version_is_refused():
    ex = CapturedExchange("id", Route("v", "e", "other", "f"), RequestSnapshot("GET", "https", "h", 443, "/", (), b"", 0.0),
                          ResponseSnapshot(200, (), b""), None, None, None, None, 0.0, 0, 0)
    whole = payload(encode_parts(ex, [], []))
    with pytest.raises(ValueError, match="unknown journal record version 2"):
        decode(whole.replace(b'"v":1', b'"v":2'))


@settings(max_examples=60, deadline=None)
@given(exchanges(), chunks, chunks)
def test_the_header_layout_the_writer_reads_is_unchanged(ex, request_body, response_body):
    """What the writer reads, spelled out here apart from the code: the proxy hook builds it from
    the fields (`encode_record`), not from the dataclasses, and writes it with orjson, not json:
    the header must read back (with json, as the writer reads it) to these values, and the bodies
    follow it byte for byte."""
    r, q, p = ex.route, ex.request, ex.response
    expected = {
        "v": 1, "id": ex.call_id,
        "route": [r.vendor, r.endpoint, r.kind, r.family, r.stream, r.model, r.deployment, dict(r.params)],
        "req": [q.method, q.scheme, q.host, q.port, q.path, [list(h) for h in q.headers], q.ts,
                sum(map(len, request_body))],
        "resp": [p.status, [list(h) for h in p.headers], p.streamed, p.truncated, p.error, sum(map(len, response_body))],
        "who": [ex.key_sha256, ex.proxy_user, ex.client_ip, ex.header_team],
        "t": ex.finished, "bytes": [ex.request_bytes, ex.response_bytes],
    }
    whole = payload(encode_parts(ex, request_body, response_body))
    (length,) = struct.unpack_from(">I", whole)
    assert json.loads(whole[4 : 4 + length]) == expected
    assert whole[4 + length :] == b"".join(request_body) + b"".join(response_body)


def _plain(ts: float = 1.5, finished: float = 2.5, path: str = "/v1/chat") -> CapturedExchange:
    return CapturedExchange("id", Route("v", "e", "other", "f"), RequestSnapshot("GET", "https", "h", 443, path, (), b"", ts),
                            ResponseSnapshot(200, (), b""), None, None, None, None, finished, 0, 0)


@pytest.mark.parametrize("ts, finished", [(math.nan, 1.0), (1.0, math.inf), (-math.inf, math.nan)])
def test_a_timestamp_orjson_would_write_as_null_is_written_the_json_way(ts, finished):
    """orjson writes NaN and infinities as null; json writes NaN and Infinity, which its reader
    reads back, so such a record keeps the value it had."""
    back = decode(payload(encode_parts(_plain(ts, finished), [], [])))
    assert (math.isnan(back.request.ts) if math.isnan(ts) else back.request.ts == ts)
    assert (math.isnan(back.finished) if math.isnan(finished) else back.finished == finished)


def test_an_integer_past_64_bits_orjson_refuses_is_written_the_json_way():
    ex = CapturedExchange("id", Route("v", "e", "other", "f"), RequestSnapshot("GET", "https", "h", 443, "/", (), b"", 0.0),
                          ResponseSnapshot(200, (), b""), None, None, None, None, 0.0, 2**70, 0)
    assert decode(payload(encode_parts(ex, [], []))).request_bytes == 2**70


def test_a_path_holding_a_lone_surrogate_is_refused_as_json_refuses_it():
    """mitmproxy decodes a request target's invalid UTF-8 with surrogateescape; neither encoder
    writes that as UTF-8. snapshot() writes such a byte as %XX before it gets here
    (test_snapshot, test_addon); a record with one is refused, never written half."""
    with pytest.raises(UnicodeEncodeError):
        encode_parts(_plain(path="/v1/\udcff"), [], [])
