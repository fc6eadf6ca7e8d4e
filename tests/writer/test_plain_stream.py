"""A chat stream in the plain shape is read in one orjson pass (parsers.common.plain_stream_values):
whenever that pass answers, it gives the values the event-by-event reader (sse_json) gives, and a
parsed call is the same either way."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.json_exact import fits_orjson
from agent.writer.parsers import common
from agent.writer.parsers import openai
from agent.writer.parsers.common import plain_stream_values
from agent.writer.parsers.common import sse_json
from tests.support.json_values import same_value
from tests.writer.wire import run
from tests.writer.wire import sse

_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
                     st.floats(allow_nan=False), st.text(max_size=8))
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                       max_leaves=8)
# an event's data: JSON as encoders write it, or near-JSON that must send the body the slow way
_ODD = st.sampled_from(["", " ", "1,2", "[DONE]", "null", "NaN", "1e400", '"\\ud800"', "{", "}", '"a"\n', "\x0c1",
                        " 1 ", "\t{}", "12345678901234567890", "é", "[1,", "2]", "data: 1", '"\\u00e9"'])
_DATA = st.one_of(_VALUES.map(json.dumps), _VALUES.map(lambda v: json.dumps(v, ensure_ascii=False, separators=(",", ":"))),
                  _ODD)
_TAILS = st.sampled_from([b"data: [DONE]\n\n", b"", b"data: [DONE]\n", b"data: [DONE]\r\n\r\n", b"data: [DONE] \n\n"])


@st.composite
def bodies(draw) -> bytes:
    events = [f"data: {data}\n\n".encode("utf-8", "surrogatepass") for data in draw(st.lists(_DATA, max_size=8))]
    body = b"".join(events) + draw(_TAILS)
    if draw(st.booleans()) and body:  # a stray byte somewhere: invalid UTF-8, a CR, a newline, a BOM
        at = draw(st.integers(min_value=0, max_value=len(body)))
        body = body[:at] + draw(st.sampled_from([b"\xff", b"\r", b"\n", b"\xef\xbb\xbf", b"\xc3"])) + body[at:]
    return body


def _event_by_event(body: bytes):
    x = SimpleNamespace(response_body=body, notes=[])
    events, clean = sse_json(x)
    return [data for _, data in events], clean, x.notes


@settings(max_examples=1500, deadline=None)
@given(bodies())
def test_the_one_pass_gives_what_the_event_by_event_reader_gives(body):
    fast = plain_stream_values(body)
    if fast is None:
        return
    values, clean, notes = _event_by_event(body)
    assert clean and notes == [] and values[-1] is None  # a plain stream ends with its [DONE]
    assert len(fast) == len(values) - 1 and all(map(same_value, fast, values[:-1]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(st.text(max_size=5), _VALUES, max_size=3), min_size=1, max_size=30))
def test_a_plain_stream_of_objects_takes_the_one_pass(chunks):
    """Not only agreeing when it answers: it answers for every stream an encoder writes plainly."""
    body = sse(*chunks, done=True)
    if "\\ud" in body.decode() or not fits_orjson(body):
        return  # a lone surrogate escape or a long integer: json's way, by design
    assert plain_stream_values(body) == chunks


@pytest.mark.parametrize("body", [
    b"",
    b"data: [DONE]\n\n",
    b'data: {"a": 1}\n\n',  # no [DONE]: the truncation check needs the event-by-event reader
    b'data: {"a": 1}\n\ndata: [DONE]\n\ndata: [DONE]\n\n',
    b'data: {"a": 1}\n\n\ndata: [DONE]\n\n',
    b'event: x\ndata: {"a": 1}\n\ndata: [DONE]\n\n',
    b'data: 1,2\n\ndata: [DONE]\n\n',
    b'data: [1,\n\ndata: 2]\n\ndata: [DONE]\n\n',
    b'data: {"n": 123456789012345678901}\n\ndata: [DONE]\n\n',
])
def test_other_shapes_are_left_to_the_event_by_event_reader(body):
    assert plain_stream_values(body) is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0, 1, "1", None]),
                          st.sampled_from([{"content": "Hi "}, {"role": "assistant", "content": ""}, {},
                                           {"content": "x", "refusal": "no"}, {"reasoning_content": "hm"},
                                           {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}]),
                          st.sampled_from([None, "stop", "error"])), max_size=12),
       st.booleans(), st.sampled_from(["", "event: x\n", ": keep-alive\n\n"]))
def test_a_chat_stream_parses_the_same_either_way(pieces, done, odd):
    chunks = [{"id": "c", "model": "m", "choices": [{"index": i, "delta": d, "finish_reason": f}]} for i, d, f in pieces]
    body = sse(*chunks, done=done)
    if odd:
        body = odd.encode() + body

    def parse():
        return run("api.openai.com", "/v1/chat/completions", request={"model": "m", "messages": [], "stream": True},
                   response=body, content_type="text/event-stream")

    taken = parse()
    original = openai.plain_stream_values
    openai.plain_stream_values = lambda _body: None  # the event-by-event reader only
    try:
        slow = parse()
    finally:
        openai.plain_stream_values = original
    assert taken == slow
    assert common.plain_stream_values(body) is not None or odd or not done or not pieces


def test_the_mix_of_the_benchmark_takes_the_one_pass():
    """The stand-in's streams, cut as the real API cuts them, are plain."""
    from tests.support.standin.text import split_deltas

    deltas = split_deltas("The median of a list is the middle value once the list is sorted. " * 8)
    body = sse(chunk := {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
                         "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]},
               *({**chunk, "choices": [{"index": 0, "delta": {"content": d}, "finish_reason": None}]} for d in deltas),
               done=True)
    values = plain_stream_values(body)
    assert values is not None and len(values) == len(deltas) + 1
