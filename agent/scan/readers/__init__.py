"""Reading dataset files as records of (field path, text) pairs, streaming and bounded.

Formats: JSONL (.jsonl, .ndjson), JSON (.json: a top-level array is streamed element by element;
a single object is one record; several values one after another are read as JSON lines), CSV and
TSV (per cell, the header names the fields), Parquet (string columns, nested lists/structs too),
plain text and Markdown (.txt, .md, .markdown), Arrow IPC (.arrow, as `datasets` save_to_disk writes it;
agent.scan.formats.arrow), each also gzip (.gz), zstd (.zst), bzip2 (.bz2) or xz (.xz) compressed.

One module per format (jsonl, json_array, table, text, parquet) over what they share (common);
this module picks the reader from the file name.

Record numbers are 1-based as docs/architecture.md ("Scan fields") defines them: the physical
line of a JSONL file (blank lines are counted but yield nothing), the data row after the header of
CSV/TSV (blank lines are not rows), the Parquet row, the element of a top-level JSON array, and 1 for a text file. A text file
is split into paragraph fields (`paragraph[i]`); one bigger than TEXT_RECORD_BYTES is yielded as
several records that all carry number 1.

Resuming: `end_offset` is the count of (uncompressed) bytes consumed through complete records of a
JSONL/CSV/TSV file; other formats report 0 and resume by record number. Pass the last
`end_offset` and record number back as `start_offset` / `start_record`: records numbered up to
`start_record` are not yielded again. An unterminated last JSONL line is not consumed: if it
already parses it is yielded with the offset before it (so it is read again once complete; its
sha256 keeps findings idempotent), otherwise a RecordError says it is incomplete.

Bad data never raises: a malformed line or row is a RecordError (a one-line message saying what
was expected) and reading goes on; a line or record over MAX_RECORD_BYTES (16 MiB) is skipped with
a RecordError while holding at most that much; text that is not UTF-8 is decoded with replacement
characters and reported once per file as a RecordError. Problems with the file as a whole
(missing, unreadable, empty, binary, unsupported type, corrupt compression) raise FileReadError
from the iterator, after any records read before the problem was found.
"""

from __future__ import annotations

import codecs
import lzma
import zlib
from collections.abc import Iterator
from pathlib import Path

import zstandard

from agent.scan.readers.common import _BASE_SUFFIXES
from agent.scan.readers.common import _COMPRESSIONS
from agent.scan.readers.common import MAX_RECORD_BYTES
from agent.scan.readers.common import SUPPORTED_SUFFIXES
from agent.scan.readers.common import TEXT_RECORD_BYTES
from agent.scan.readers.common import FileReadError
from agent.scan.readers.common import Record
from agent.scan.readers.common import RecordError
from agent.scan.readers.common import _one_line
from agent.scan.readers.common import _open
from agent.scan.readers.common import string_fields
from agent.scan.readers.json_array import _read_json
from agent.scan.readers.jsonl import _read_jsonl
from agent.scan.readers.parquet import _read_parquet
from agent.scan.readers.table import _read_table
from agent.scan.readers.text import _read_text


def file_format(path: Path) -> tuple[str, str | None]:
    """(format, compression) from the file name; FileReadError if unsupported."""
    suffixes = [s.lower() for s in path.suffixes]
    compression = _COMPRESSIONS.get(suffixes[-1]) if suffixes else None
    base = suffixes[-2] if compression and len(suffixes) >= 2 else (suffixes[-1] if suffixes else "")
    if base not in _BASE_SUFFIXES:
        raise FileReadError(path, f"unsupported file type (expected one of {', '.join(sorted(_BASE_SUFFIXES))}"
                                  ", optionally .gz, .zst, .bz2 or .xz)")
    return _BASE_SUFFIXES[base], compression


def read_records(path: Path, start_offset: int = 0, start_record: int = 0) -> Iterator[Record | RecordError]:
    path = Path(path)
    kind, compression = file_format(path)
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise FileReadError(path, "is a directory, not a dataset file")
        if size == 0:
            raise FileReadError(path, "empty file")
        if compression is None and start_offset > size:
            raise FileReadError(path, f"resume offset {start_offset} is past the end ({size} bytes); "
                                      "the file was truncated or replaced")
        if kind == "parquet":
            yield from _read_parquet(path, compression, start_record)
            return
        if kind == "arrow":
            from agent.scan.formats.arrow import read_arrow

            yield from read_arrow(path, compression, start_record)
            return
        with _open(path, compression) as stream:
            head = stream.peek_head()
            if not head:  # a compressed file holding nothing is as empty as a zero-byte one
                raise FileReadError(path, f"empty file (nothing after {compression} decompression)")
            if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                raise FileReadError(path, "binary data (NUL bytes), not a text dataset")
            if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                raise FileReadError(path, "UTF-16 encoded; only UTF-8 (or ASCII) text is read")
            if kind == "jsonl":
                yield from _read_jsonl(stream, start_offset, start_record)
            elif kind == "json":
                yield from _read_json(stream, start_record)
            elif kind in ("csv", "tsv"):
                yield from _read_table(stream, "\t" if kind == "tsv" else ",", start_offset, start_record)
            else:
                yield from _read_text(stream, start_record)
    except FileReadError as error:
        if error.path != str(path):
            raise FileReadError(path, error.reason) from None
        raise
    except PermissionError:
        raise FileReadError(path, "permission denied") from None
    except FileNotFoundError:
        raise FileReadError(path, "no such file") from None
    except (OSError, EOFError, zlib.error, zstandard.ZstdError, lzma.LZMAError) as error:
        raise FileReadError(path, f"cannot read ({compression or 'file'}): {_one_line(error)}") from None


__all__ = ["FileReadError", "MAX_RECORD_BYTES", "Record", "RecordError", "SUPPORTED_SUFFIXES", "TEXT_RECORD_BYTES",
           "file_format", "read_records", "string_fields"]
