"""Plain text and Markdown: paragraph fields, one record (split when over TEXT_RECORD_BYTES)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from agent.scan.readers.common import TEXT_RECORD_BYTES
from agent.scan.readers.common import Record
from agent.scan.readers.common import RecordError
from agent.scan.readers.common import _Decoder
from agent.scan.readers.common import _lines
from agent.scan.readers.common import _Stream
from agent.scan.readers.common import _too_long


def _read_text(stream: _Stream, start_record: int) -> Iterator[Record | RecordError]:
    if start_record >= 1:
        return
    decoder = _Decoder()
    fields: list[tuple[str, str]] = []
    digest = hashlib.sha256()
    paragraph: list[str] = []
    size = 0
    count = 0

    def close_paragraph() -> None:
        nonlocal count
        if paragraph:
            fields.append((f"paragraph[{count}]", "".join(paragraph)))
            paragraph.clear()
            count += 1

    for data, _, terminated, length in _lines(stream):
        if data is None:
            yield _too_long(1, length, 0)
            continue
        digest.update(data + (b"\n" if terminated else b""))
        text, warning = decoder.decode(data, 1)
        if warning:
            yield warning
        if not text.strip():
            close_paragraph()
        else:
            paragraph.append(text + "\n")
            size += len(data)
        if size >= TEXT_RECORD_BYTES:  # bounded memory: a huge file is several records numbered 1
            close_paragraph()
            yield Record(1, fields, 0, digest.hexdigest())
            fields, digest, size = [], hashlib.sha256(), 0
    close_paragraph()
    if fields:
        yield Record(1, fields, 0, digest.hexdigest())


# ---- Parquet ------------------------------------------------------------------------------
