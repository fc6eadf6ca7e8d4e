"""The SSE reader's fast paths (a C split for \\n-only input, `data: ` lines decoded without
partition) read exactly the events the general line-by-line path reads."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.writer.parsers.common import loads_stripped
from agent.writer.streams import _LINE_END
from agent.writer.streams import SSEParser
from agent.writer.streams import parse_sse


class _GeneralPath(SSEParser):
    """SSEParser with the fast paths taken out: the regex line split and the full field parse."""

    def feed(self, chunk: bytes):
        buffer = self._buffer + chunk
        if not self._started and len(buffer) >= 3:
            self._started = True
            buffer = buffer.removeprefix(b"\xef\xbb\xbf")
        events = []
        start = 0
        for match in _LINE_END.finditer(buffer):
            if match.group() == b"\r" and match.end() == len(buffer):
                break
            self._line(buffer[start:match.start()], events)
            start = match.end()
        self._buffer = buffer[start:]
        return events

    def _line(self, raw: bytes, events) -> None:
        if not raw:
            self._dispatch(events)
            return
        line = raw.decode("utf-8", "replace")
        if line.startswith(":"):
            self.comments += 1
            return
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value


_PIECES = st.sampled_from([b"data: ", b"data:", b"data:  x", b"event: e", b"id: 7", b": c", b"\n", b"\r", b"\r\n",
                           b"\n\n", b"{\"a\": 1}", b"\xc3\xa9", b"\xc3", b"\xff", b"\xef\xbb\xbf", b"[DONE]", b"x"])
BODIES = st.one_of(st.binary(max_size=200), st.lists(_PIECES, max_size=60).map(b"".join))


def _read(parser: SSEParser, body: bytes, cuts: list[int]):
    events, at = [], 0
    for cut in sorted(c % (len(body) + 1) for c in cuts) + [len(body)]:
        events += parser.feed(body[at:cut])
        at = cut
    tail, clean = parser.close()
    return [(e.event, e.data, e.id) for e in events + tail], clean, parser.comments


@settings(max_examples=800, deadline=None)
@given(BODIES, st.lists(st.integers(min_value=0), max_size=6))
def test_fast_paths_read_the_same_events(body, cuts):
    assert _read(SSEParser(), body, cuts) == _read(_GeneralPath(), body, cuts)


def test_many_events_and_empty_input():
    body = b"".join(b'data: {"n": %d}\n\n' % i for i in range(5000))
    events, clean, _ = _read(SSEParser(), body, [])
    assert clean and len(events) == 5000 and events[-1][1] == '{"n": 4999}'
    assert _read(SSEParser(), b"", []) == ([], True, 0)


def _outcome(fn, text):
    try:
        return ("value", repr(fn(text)))
    except json.JSONDecodeError as e:
        return ("error", e.msg, e.pos)
    except RecursionError:
        return ("recursion",)


_JSON_PIECES = st.sampled_from(['{', '}', '[', ']', '"', '\\"', ',', ':', '1', '-0.5e3', 'true', 'null', 'NaN',
                                'Infinity', ' ', '\n', '\ufeff', 'é', '\\u00e9', '\\ud800', '"a"', '{"a": 1}'])
_JSON_TEXTS = st.one_of(st.text(max_size=60), st.lists(_JSON_PIECES, max_size=30).map("".join),
                        st.recursive(st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(),
                                     lambda c: st.lists(c) | st.dictionaries(st.text(), c), max_leaves=20)
                        .map(json.dumps))


@settings(max_examples=800, deadline=None)
@given(_JSON_TEXTS)
def test_loads_stripped_gives_json_loads_value_or_error(text):
    text = text.strip()
    assert _outcome(loads_stripped, text) == _outcome(json.loads, text)


def test_loads_stripped_on_empty_deep_and_extra_data():
    for text in ("", "[" * 100000, '{"a": 1} {"b": 2}', '{"a": 1}x', "1 2", '"unterminated'):
        assert _outcome(loads_stripped, text) == _outcome(json.loads, text)


_CHAT_SHAPED = st.lists(st.sampled_from([b"data: {\"a\": 1}\n\n", b"data: [DONE]\n\n", b"data: \n\n", b"data: \xc3\xa9\n\n",
                                         b"data: x\n\n", b"\xef\xbb\xbf", b"\n", b"data: y", b"event: e\n", b"\r\n",
                                         b": keep\n\n", b"id: 1\n", b"data:z\n\n",
                                         # broken UTF-8 at an event's end or start: the path decodes the
                                         # whole body at once, the general parser one line at a time
                                         b"data: \xc3\n\n", b"data: \xe2\x82\n\n", b"data: a\xff\n\n",
                                         b"data: \xf0\x9f\x98\n\n", b"data: \x80b\n\n"]), max_size=40).map(b"".join)


@settings(max_examples=800, deadline=None)
@given(st.one_of(BODIES, _CHAT_SHAPED))
def test_parse_sse_whole_body_path_reads_what_the_parser_reads(body):
    """parse_sse's one-split path for single-`data:`-line streams, against the line-by-line
    general parser fed the whole body."""
    events, clean = parse_sse(body)
    assert ([(e.event, e.data, e.id) for e in events], clean) == _read(_GeneralPath(), body, [])[:2]


def test_parse_sse_chat_stream_bom_and_cut_end():
    body = b"".join(b'data: {"n": %d}\n\n' % i for i in range(80)) + b"data: [DONE]\n\n"
    assert parse_sse(body)[1] and len(parse_sse(body)[0]) == 81
    assert parse_sse(b"\xef\xbb\xbf" + body)[0] == parse_sse(body)[0]
    assert parse_sse(b"\xef\xbb\xbf\xef\xbb\xbf" + body)[0][0].data.startswith("\ufeff") is False
    assert parse_sse(body[:-1])[1] is False  # cut before the final blank line
