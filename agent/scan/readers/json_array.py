"""JSON (.json): a top-level array streamed element by element, one object as one record, or
several values one after another read as JSON lines."""

from __future__ import annotations

import codecs
import hashlib
import json
import json.scanner
from collections.abc import Iterator
from typing import Any

from agent.scan.readers.common import _CHUNK
from agent.scan.readers.common import MAX_RECORD_BYTES
from agent.scan.readers.common import Record
from agent.scan.readers.common import RecordError
from agent.scan.readers.common import _Stream
from agent.scan.readers.common import string_fields
from agent.scan.readers.jsonl import _json_error
from agent.scan.readers.jsonl import _read_jsonl


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at


def _read_json(stream: _Stream, start_record: int) -> Iterator[Record | RecordError]:
    head = stream.peek_head().lstrip(codecs.BOM_UTF8).lstrip()
    if head.startswith(b"["):
        yield from _read_json_array(stream, start_record)
        return
    # One value (a record), or JSON lines under a .json name: decide after the first value.
    text_reader = _JsonText(stream)
    at = text_reader.skip_bom_and_space(0)
    value, end, raw = text_reader.decode_at(at)
    if isinstance(value, RecordError):
        yield RecordError(1, value.message)
        return
    rest = _skip_space(text_reader.buffer, end)
    while rest >= len(text_reader.buffer) and text_reader.more():
        rest = _skip_space(text_reader.buffer, rest)
    if rest < len(text_reader.buffer):
        stream.restart_at(0)
        yield from _read_jsonl(stream, 0, start_record)
        return
    if start_record < 1:
        yield Record(1, string_fields(value), 0, hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest())


class _JsonText:
    """Incrementally decoded text of a JSON stream, for raw_decode of one value at a time."""

    def __init__(self, stream: _Stream):
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.buffer = ""
        self.eof = False
        self.json = json.JSONDecoder()

    def more(self) -> bool:
        if self.eof:
            return False
        chunk = self.stream.read(_CHUNK)
        if not chunk:
            self.eof = True
            self.buffer += self.decoder.decode(b"", final=True)
            return False
        self.buffer += self.decoder.decode(chunk)
        return True

    def skip_bom_and_space(self, at: int) -> int:
        while True:
            if at < len(self.buffer) and self.buffer[at] == "\ufeff":
                at += 1
            at = _skip_space(self.buffer, at)
            if at < len(self.buffer) or not self.more():
                return at

    def decode_at(self, at: int) -> tuple[Any, int, str]:
        """(value, end, raw text) of the value starting at `at`, reading more text as needed."""
        while True:
            try:
                value, end = self.json.raw_decode(self.buffer, at)
                if end < len(self.buffer) or self.eof:
                    return value, end, self.buffer[at:end]
                if not self.more():  # a number may continue in the next chunk
                    continue
            except json.JSONDecodeError as error:
                if len(self.buffer) - at > MAX_RECORD_BYTES:
                    return RecordError(0, f"JSON value over the {MAX_RECORD_BYTES >> 20} MiB record limit"), at, ""
                if not self.more():
                    return RecordError(0, _json_error(error, "a complete JSON value")), at, ""

    def drop_before(self, at: int) -> int:
        if at > _CHUNK:
            self.buffer = self.buffer[at:]
            return 0
        return at


def _read_json_array(stream: _Stream, start_record: int) -> Iterator[Record | RecordError]:
    text = _JsonText(stream)
    at = text.skip_bom_and_space(0) + 1  # past "["
    number = 0
    while True:
        at = text.skip_bom_and_space(at)
        if at >= len(text.buffer):
            yield RecordError(number + 1, "JSON array is not closed with ']' (file truncated?)")
            return
        if text.buffer[at] == "]":
            return
        if number:
            if text.buffer[at] != ",":
                yield RecordError(number + 1, f"expected ',' or ']' between array elements, found "
                                              f"{text.buffer[at]!r}; the rest of the file is not read")
                return
            at = text.skip_bom_and_space(at + 1)
        number += 1
        value, end, raw = text.decode_at(at)
        if isinstance(value, RecordError):
            yield RecordError(number, f"array element: {value.message}; the rest of the file is not read")
            return
        if number > start_record:
            yield Record(number, string_fields(value), 0,
                         hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest())
        at = text.drop_before(end)


# ---- CSV / TSV ------------------------------------------------------------------------------
