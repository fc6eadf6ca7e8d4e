"""The wire-format corpus (corpus.py) through the real capture path: each case parses to what it
must; a stream split anywhere (mid-event, mid-UTF-8 character, mid-eventstream-prelude), as the
tee hands it to the journal, parses exactly as the whole body does."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.proxy.exchange import RequestSnapshot
from agent.proxy.exchange import ResponseSnapshot
from agent.proxy.record import CapturedExchange
from agent.proxy.record import decode
from agent.proxy.record import encode_parts
from agent.writer.parsers import parse_call
from agent.writer.rows import parse_exchange
from agent.writer.streams import EventStreamDecoder
from agent.writer.streams import SSEParser
from agent.writer.streams import parse_sse

from .corpus import CASES
from .corpus import EVENTSTREAM
from .corpus import SSE
from .corpus import STREAM_CASES
from .corpus import Case
from .wire import body_bytes
from .wire import host_list


def snapshots(case: Case) -> tuple:
    route = host_list().match(case.host, case.path, case.method)
    assert route is not None and route.endpoint != "unknown", case.name
    request = RequestSnapshot(case.method, "https", case.host, 443, case.path, (("content-type", "application/json"),),
                              body_bytes(case.request), 1_700_000_000.0)
    response = ResponseSnapshot(case.status, (("content-type", case.content_type),), case.response,
                                streamed=case.stream, error=case.disconnect)
    return route, request, response


def parsed(case: Case):
    return parse_call(*snapshots(case))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_case(case):
    call = parsed(case)
    assert call.outputs == case.outputs
    assert len(call.output_parts) == len(call.outputs)
    if case.parts is not None:
        assert call.output_parts == case.parts
    if case.usage is not None:
        assert (call.prompt_tokens, call.completion_tokens) == case.usage
    if case.error == "":
        assert call.parse_error is None
    elif case.error is not None:
        assert call.parse_error is not None and case.error in call.parse_error
    else:
        assert call.parse_error is None, call.parse_error
    if case.stream and case.status == 200:
        assert call.streamed


def test_corpus_covers_what_issue_11_asks():
    names = " ".join(c.name for c in CASES)
    for topic in ("parallel-tools", "refusal", "content-filter", "thinking", "cache", "429", "500", "batch",
                  "keepalive", "done", "no-usage", "disconnect", "cut"):
        assert topic in names, topic
    assert {c.content_type for c in STREAM_CASES} >= {SSE, EVENTSTREAM, "application/stream+json"}


def through_journal(case: Case, cuts: list[int]):
    """The tee's chunks, journaled as they came, read back by the writer and parsed."""
    route, request, response = snapshots(case)
    body = case.response
    chunks = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)])]
    exchange = CapturedExchange("01JCORPUS0000000000000000000", route, request, response, None, None, None, None,
                                1_700_000_001.0, len(request.body), len(body))
    payload = b"".join(bytes(part) for part in encode_parts(exchange, [request.body], chunks))
    return parse_exchange(decode(payload), 64 << 20)


def comparable(call) -> dict:
    return {k: v for k, v in dataclasses.asdict(call).items()}


@settings(max_examples=150, deadline=None)
@given(case=st.sampled_from(STREAM_CASES), data=st.data())
def test_any_split_of_a_stream_parses_like_the_whole(case, data):
    cuts = sorted(data.draw(st.sets(st.integers(1, len(case.response) - 1), max_size=16)))
    assert comparable(through_journal(case, cuts)) == comparable(parsed(case))


def _utf8_continuation_offsets(body: bytes) -> list[int]:
    return [i for i, b in enumerate(body) if 0x80 <= b < 0xC0]


@pytest.mark.parametrize("case", [c for c in STREAM_CASES if _utf8_continuation_offsets(c.response)],
                         ids=lambda c: c.name)
def test_split_inside_every_multibyte_character(case):
    whole = comparable(parsed(case))
    for offset in _utf8_continuation_offsets(case.response):
        assert comparable(through_journal(case, [offset])) == whole
    if case.content_type == SSE:  # and the incremental reader itself, one byte at a time
        parser = SSEParser()
        events = [e for i in range(len(case.response)) for e in parser.feed(case.response[i:i + 1])]
        tail, clean = parser.close()
        assert (events + tail, clean) == parse_sse(case.response)


@pytest.mark.parametrize("case", [c for c in STREAM_CASES if c.content_type == EVENTSTREAM], ids=lambda c: c.name)
def test_split_inside_every_eventstream_prelude(case):
    whole_messages = EventStreamDecoder().feed(case.response)
    starts = [m.offset for m in whole_messages]
    for start in starts:
        for inside in range(1, 12):  # total_len, headers_len and prelude CRC: 12 bytes
            decoder = EventStreamDecoder()
            got = decoder.feed(case.response[: start + inside]) + decoder.feed(case.response[start + inside:])
            assert [(m.headers, m.payload) for m in got] == [(m.headers, m.payload) for m in whole_messages]
            assert comparable(through_journal(case, [start + inside])) == comparable(parsed(case))


def test_tiny_empty_and_huge_streams():
    base = next(c for c in STREAM_CASES if c.name == "openai-chat-stream-keepalive-done")
    empty = parsed(dataclasses.replace(base, response=b""))
    assert empty.outputs == [] and empty.parse_error == "response: empty body"
    only_done = parsed(dataclasses.replace(base, response=b"data: [DONE]\n\n"))
    assert only_done.outputs == [] and only_done.parse_error.startswith("response: no output found")
    keepalives = parsed(dataclasses.replace(base, response=b": ping\n\n" * 1000))
    assert keepalives.outputs == [] and keepalives.parse_error is not None
    event = b'data: {"choices": [{"index": 0, "delta": {"content": "\xc3\xa9"}}]}\n\n'
    huge = parsed(dataclasses.replace(base, response=event * 50_000 + b"data: [DONE]\n\n"))
    assert huge.outputs == ["é" * 50_000] and huge.parse_error is None
