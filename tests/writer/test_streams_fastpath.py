"""The SSE reader's fast paths (a C split for \\n-only input, `data: ` lines decoded without
partition) read exactly the events the general line-by-line path reads."""

from __future__ import annotations

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.writer.streams import _LINE_END
from agent.writer.streams import SSEParser


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
