from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.writer.streams import EventStreamDecoder
from agent.writer.streams import EventStreamError
from agent.writer.streams import JSONStreamError
from agent.writer.streams import SSEParser
from agent.writer.streams import iter_json_array
from agent.writer.streams import iter_ndjson
from agent.writer.streams import parse_sse
from tests.support.client_side import client_side
from tests.support.standin.eventstream import encode_frame as encode_event_message


def feed_in_pieces(body: bytes, size: int):
    parser = SSEParser()
    events = []
    for i in range(0, len(body), size):
        events += parser.feed(body[i : i + size])
    tail, clean = parser.close()
    return events + tail, clean


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("piece", [1, 2, 3, 7, 1000])
def test_sse_line_endings_and_chunk_boundaries(newline, piece):
    text = (
        ": keep-alive comment\n"
        "event: message_start\nid: 1\nretry: 500\ndata: {\"a\": 1}\n\n"
        "data: first line\ndata: second line\n\n"
        "data:no-space\n\n"
        "data: [DONE]\n\n"
    ).replace("\n", newline)
    events, clean = feed_in_pieces(text.encode(), piece)
    assert [(e.event, e.data) for e in events] == [
        ("message_start", '{"a": 1}'),
        ("message", "first line\nsecond line"),
        ("message", "no-space"),
        ("message", "[DONE]"),
    ]
    assert events[0].id == "1"
    assert clean


def test_sse_utf8_split_across_chunks():
    body = "data: héllo wörld ✓\n\n".encode()
    events, _ = feed_in_pieces(body, 1)
    assert events[0].data == "héllo wörld ✓"


def test_sse_leading_bom_is_ignored():
    events, _ = feed_in_pieces(b"\xef\xbb\xbfdata: x\n\n", 1)
    assert [e.data for e in events] == ["x"]


def test_sse_comment_lines_are_counted_and_skipped():
    parser = SSEParser()
    events = parser.feed(b": OPENROUTER PROCESSING\n\n: OPENROUTER PROCESSING\n\ndata: x\n\n")
    assert [e.data for e in events] == ["x"] and parser.comments == 2


def test_sse_unterminated_last_event_is_kept_but_flagged():
    events, clean = parse_sse(b"data: one\n\ndata: two")
    assert [e.data for e in events] == ["one", "two"]
    assert not clean


def test_sse_empty_data_events_are_not_dispatched():
    events, clean = parse_sse(b"event: ping\n\n\n\n")
    assert events == [] and clean


# --- AWS event stream ----------------------------------------------------------------------------

HEADER_VALUES = st.one_of(
    st.booleans(), st.integers(-(2**31), 2**31 - 1), st.binary(max_size=40), st.text(max_size=40)
)


def botocore_decode(data: bytes) -> list[tuple[dict, bytes]]:
    """botocore's own decoding of `data` (run in the SDK clients' venv: botocore wants another
    python-dateutil than the product)."""
    return [(headers, payload) for headers, payload in _botocore_messages(data)]


@client_side
def _botocore_messages(data):
    from botocore.eventstream import EventStreamBuffer

    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return [[m.headers, m.payload] for m in buffer]


@settings(max_examples=60, deadline=None)
@given(
    messages=st.lists(
        st.tuples(
            st.dictionaries(st.text(min_size=1, max_size=20).filter(lambda s: len(s.encode()) < 256), HEADER_VALUES, max_size=4),
            st.binary(max_size=300),
        ),
        min_size=1,
        max_size=4,
    ),
    piece=st.integers(1, 64),
)
def test_event_stream_encoder_and_decoder_agree_with_botocore(messages, piece):
    data = b"".join(encode_event_message(h, p) for h, p in messages)
    expected = botocore_decode(data)
    decoder = EventStreamDecoder()
    got = []
    for i in range(0, len(data), piece):
        got += decoder.feed(data[i : i + piece])
    assert decoder.pending == 0
    assert [(m.headers, m.payload) for m in got] == expected
    assert [p for _, p in expected] == [p for _, p in messages]


def test_event_stream_decodes_botocore_typed_headers():
    # Header types the encoder does not produce: int8, int16, int64, timestamp, uuid.
    import binascii
    import struct

    raw_headers = (
        b"\x02i8\x02\x7f" + b"\x03i16\x03" + struct.pack(">h", -2) + b"\x03i64\x05" + struct.pack(">q", 2**40)
        + b"\x02ts\x08" + struct.pack(">q", 1_700_000_000_000) + b"\x04uuid\x09" + bytes(range(16))
    )
    payload = b'{"x":1}'
    total = 16 + len(raw_headers) + len(payload)
    prelude = struct.pack(">II", total, len(raw_headers))
    prelude += struct.pack(">I", binascii.crc32(prelude))
    message = prelude + raw_headers + payload
    message += struct.pack(">I", binascii.crc32(message))
    (ours,) = EventStreamDecoder().feed(message)
    (theirs_headers, theirs_payload) = botocore_decode(message)[0]
    assert ours.payload == theirs_payload
    assert ours.headers == {"i8": 127, "i16": -2, "i64": 2**40, "ts": 1_700_000_000_000, "uuid": bytes(range(16))}
    assert theirs_headers["i64"] == 2**40


def test_event_stream_prelude_crc_failure():
    good = encode_event_message({":event-type": "chunk"}, b"{}")
    bad = bytearray(good * 2)
    bad[len(good) + 9] ^= 0xFF
    decoder = EventStreamDecoder()
    with pytest.raises(EventStreamError, match=f"prelude CRC mismatch in frame at byte {len(good)}"):
        decoder.feed(bytes(bad))


def test_event_stream_message_crc_failure():
    bad = bytearray(encode_event_message({":event-type": "chunk"}, b'{"bytes": "AAAA"}'))
    bad[-6] ^= 0x01  # payload byte
    with pytest.raises(EventStreamError, match="message CRC mismatch in frame at byte 0"):
        EventStreamDecoder().feed(bytes(bad))


def test_event_stream_garbage_and_truncation():
    with pytest.raises(EventStreamError):
        EventStreamDecoder().feed(b"<html>502 Bad Gateway</html>")
    frame = encode_event_message({":event-type": "chunk"}, b"{}")
    decoder = EventStreamDecoder()
    assert len(decoder.feed(frame + frame[:10])) == 1
    assert decoder.pending == 10 and decoder.offset == len(frame)


# --- NDJSON and incremental arrays --------------------------------------------------------------


def test_ndjson_lines_and_errors():
    assert [v for _, v in iter_ndjson(b'{"a":1}\n\n{"b":2}\r\n')] == [{"a": 1}, {"b": 2}]
    with pytest.raises(JSONStreamError, match="line 2: invalid JSON at byte 5"):
        list(iter_ndjson(b'{"a":1}\n{"b":}\n'))


def test_json_array_incremental():
    chunks = [{"candidates": [{"content": {"parts": [{"text": f"t{i}"}]}}]} for i in range(3)]
    text = "[" + ",\r\n".join(json.dumps(c) for c in chunks) + "]"
    assert list(iter_json_array(text)) == chunks
    assert list(iter_json_array(" [ ] ")) == []


@pytest.mark.parametrize(
    "text,message",
    [
        ('[{"a":1},{"b":2}', "JSON array ended before ]"),
        ('[{"a":1},{"b":', "JSON array ended before ]"),
        ('[{"a":1},', "JSON array ended before ]"),
        ('[{"a":1},{"text": "cut in the mid', "JSON array ended before ]"),
        ('[{"a":1} {"b":2}]', "expected , or ] at byte 9"),
        ('{"a":1}', "expected a JSON array at byte 0"),
        ('[{"a":1},{"b"::2}]', "invalid JSON at byte 14"),
    ],
)
def test_json_array_errors(text, message):
    with pytest.raises(JSONStreamError) as info:
        list(iter_json_array(text))
    assert str(info.value) == message
