"""Reading dataset files as records of (field path, text) pairs, streaming and bounded.

Formats: JSONL (.jsonl, .ndjson), JSON (.json: a top-level array is streamed element by element;
a single object is one record; several values one after another are read as JSON lines), CSV and
TSV (per cell, the header names the fields), Parquet (string columns, nested lists/structs too),
plain text and Markdown (.txt, .md, .markdown), Arrow IPC (.arrow, as `datasets` save_to_disk writes it;
agent.watch.formats.arrow), each also gzip (.gz), zstd (.zst), bzip2 (.bz2) or xz (.xz) compressed.

Record numbers are 1-based as DESIGN.md defines them: the physical line of a JSONL file (blank
lines are counted but yield nothing), the data row after the header of CSV/TSV (blank lines are not
rows), the Parquet row, the element of a top-level JSON array, and 1 for a text file. A text file
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

import bz2
import codecs
import csv
import gzip
import hashlib
import json
import json.scanner
import lzma
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import BinaryIO

import zstandard

from agent.fingerprint.roles import FieldPath

MAX_RECORD_BYTES = 16 << 20
TEXT_RECORD_BYTES = 4 << 20
_CHUNK = 1 << 20
_SNIFF = 8192

_BASE_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "tsv",
                  ".parquet": "parquet", ".txt": "text", ".md": "text", ".markdown": "text",
                  ".arrow": "arrow"}
_COMPRESSIONS = {".gz": "gzip", ".zst": "zstd", ".bz2": "bzip2", ".xz": "xz"}
SUPPORTED_SUFFIXES = frozenset(
    [*_BASE_SUFFIXES, *(base + comp for base in _BASE_SUFFIXES for comp in _COMPRESSIONS)])
# Short labels that name a speaker rather than hold text.
_ROLE_KEYS = frozenset({"role", "from"})


class Record:
    """One record: its number, its (field path, text) pairs, the offset after it, and the sha256
    of its raw bytes. Readers may hand over the raw bytes instead of the digest: it is then
    computed on first use, since only records that become findings need it (hashing every line
    cost 0.016 s per 12.6 MB of JSONL, ~4 % of the scan)."""

    __slots__ = ("number", "fields", "end_offset", "_sha256", "_raw")

    def __init__(self, number: int, fields: list[tuple[str, str]], end_offset: int, sha256: str | None = None,
                 *, raw: bytes | None = None) -> None:
        if sha256 is None and raw is None:
            raise ValueError("a Record needs its sha256 or its raw bytes")
        self.number = number
        self.fields = fields
        self.end_offset = end_offset
        self._sha256 = sha256
        self._raw = raw

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            self._sha256 = hashlib.sha256(self._raw).hexdigest()
            self._raw = None
        return self._sha256

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return (self.number, self.fields, self.end_offset, self.sha256) == \
            (other.number, other.fields, other.end_offset, other.sha256)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Record(number={self.number!r}, fields={self.fields!r}, end_offset={self.end_offset!r}, " \
               f"sha256={self.sha256!r})"


@dataclass(frozen=True, slots=True)
class RecordError:
    number: int
    message: str
    end_offset: int = 0


class FileReadError(Exception):
    def __init__(self, path: Path | str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = str(path)
        self.reason = message


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
            from agent.watch.formats.arrow import read_arrow

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


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


# ---- byte streams ---------------------------------------------------------------------------


class _Stream:
    """A binary stream over the decompressed content, counting bytes consumed."""

    def __init__(self, path: Path, compression: str | None, raw: BinaryIO, inner: BinaryIO, seekable: bool):
        self.path = path
        self.compression = compression
        self._raw = raw
        self._inner = inner
        # read1 hands over what one decompression step produced, so records before a corrupt
        # or truncated tail are still delivered before the error.
        self._read = getattr(inner, "read1", inner.read)
        self.seekable = seekable
        self._head = b""
        self.position = 0

    def peek_head(self) -> bytes:
        if not self._head:
            self._head = self._inner.read(_SNIFF)
        return self._head

    def read(self, size: int = _CHUNK) -> bytes:
        if self._head:
            data, self._head = self._head[:size], self._head[size:]
        else:
            data = self._read(size)
        self.position += len(data)
        return data

    def skip_to(self, offset: int) -> None:
        """Continue reading at `offset` (uncompressed bytes from the start)."""
        if offset <= self.position:
            return
        if self.seekable:
            self._inner.seek(offset)
            self._head = b""
            self.position = offset
            return
        while self.position < offset:
            if not self.read(min(_CHUNK, offset - self.position)):
                break

    def restart_at(self, offset: int) -> None:
        """Read again from `offset`, dropping anything read ahead (reopens compressed files)."""
        if self.seekable:
            self._inner.seek(offset)
            self._head = b""
            self.position = offset
            return
        self._inner.close()
        self._raw.close()
        fresh = _open(self.path, self.compression)
        self._raw, self._inner, self._read = fresh._raw, fresh._inner, fresh._read
        self._head, self.position = b"", 0
        self.skip_to(offset)

    def __enter__(self) -> _Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self._inner.close()
        self._raw.close()


class _ZstdFrames:
    """zstd frames one after another, decompressed as read. Unlike zstandard's stream_reader, a
    file that ends inside a frame is an error (stream_reader returns what it has, or nothing, and
    a truncated .zst would read as a shorter or empty file). Input is fed in small pieces because
    one decompress call is unbounded: an RLE block of 4 bytes expands to 128 KiB, so a piece of
    _ZSTD_FEED bytes makes at most 128 MiB even in a crafted bomb (real data: a few times the piece)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._frame = zstandard.ZstdDecompressor().decompressobj()
        self._fed = False  # the current frame has been given input
        self._pending = b""  # input left over after a frame ended

    def read(self, size: int = _CHUNK) -> bytes:
        while True:
            piece = self._pending or self._raw.read(_ZSTD_FEED)
            self._pending = b""
            if not piece:
                if self._fed and not self._frame.eof:
                    raise zstandard.ZstdError("the file ends inside a zstd frame (truncated)")
                return b""
            self._fed = True
            data = self._frame.decompress(piece)
            if self._frame.eof:  # the next frame, if any, starts in what this one left
                self._pending = self._frame.unused_data
                self._frame, self._fed = zstandard.ZstdDecompressor().decompressobj(), False
            if data:
                return data

    read1 = read

    def close(self) -> None:
        pass


_ZSTD_FEED = 4096


def _open(path: Path, compression: str | None) -> _Stream:
    raw = open(path, "rb")
    if compression == "gzip":
        return _Stream(path, compression, raw, gzip.GzipFile(fileobj=raw), seekable=False)
    if compression == "zstd":
        return _Stream(path, compression, raw, _ZstdFrames(raw), seekable=False)
    if compression == "bzip2":
        return _Stream(path, compression, raw, bz2.BZ2File(raw), seekable=False)
    if compression == "xz":
        return _Stream(path, compression, raw, lzma.LZMAFile(raw), seekable=False)
    return _Stream(path, compression, raw, raw, seekable=True)


# One line: (bytes without the newline, or None when longer than MAX_RECORD_BYTES and skipped;
# stream offset after the line and its newline; whether a newline ended it; its length). A plain
# tuple because one is made per line: a dataclass instance per line cost ~0.02 s per 12.6 MB.
_Line = tuple[bytes | None, int, bool, int]


def _lines(stream: _Stream) -> Iterator[_Line]:
    """Lines (without the newline) with bounded memory: an over-long line is dropped as it streams."""
    pending = b""
    offset = stream.position
    skipping = 0  # bytes of an over-long line dropped so far
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            break
        if skipping:
            cut = chunk.find(b"\n")
            if cut < 0:
                skipping += len(chunk)
                continue
            skipping += cut
            offset += skipping + 1
            yield None, offset, True, skipping
            skipping = 0
            chunk = chunk[cut + 1:]
        data = pending + chunk if pending else chunk
        pieces = data.split(b"\n")
        pending = pieces.pop()
        for piece in pieces:
            offset += len(piece) + 1
            if len(piece) > MAX_RECORD_BYTES:
                yield None, offset, True, len(piece)
            else:
                yield piece, offset, True, len(piece)
        if len(pending) > MAX_RECORD_BYTES:
            skipping, pending = len(pending), b""
    if skipping:
        yield None, offset + skipping, False, skipping
    elif pending:
        yield pending, offset + len(pending), False, len(pending)


class _Decoder:
    """UTF-8 decoding that falls back to replacement characters and reports that once."""

    def __init__(self) -> None:
        self.reported = False

    def decode(self, data: bytes, number: int) -> tuple[str, RecordError | None]:
        try:
            return data.decode("utf-8"), None
        except UnicodeDecodeError as error:
            text = data.decode("utf-8", "replace")
            if self.reported:
                return text, None
            self.reported = True
            return text, RecordError(number, f"not valid UTF-8 (byte {error.start}: {error.reason}); "
                                             "decoded with replacement characters, reported once per file")


def _too_long(number: int, length: int, end: int, what: str = "line") -> RecordError:
    return RecordError(number, f"{what} of {length} bytes is over the {MAX_RECORD_BYTES >> 20} MiB record "
                               "limit; skipped", end)


# ---- JSON ----------------------------------------------------------------------------------


def string_fields(value: Any, path: str = "") -> list[tuple[str, str]]:
    """Every non-empty string leaf with its path (`messages[2].content`), role labels excepted."""
    out: list[tuple[str, str]] = []
    _walk(value, path, out)
    return out


def _walk(value: Any, path: str, out: list[tuple[str, str]], speaker: str | None = None) -> None:
    if isinstance(value, str):
        if value and not value.isspace():
            out.append((FieldPath(path or "$", speaker) if speaker else path or "$", value))
    elif isinstance(value, dict):
        # a message's speaker label ("role": "assistant", "from": "gpt") says which side of the
        # record its text is on (agent.fingerprint.roles); it holds no text itself
        label = next((item for key, item in value.items()
                      if key in _ROLE_KEYS and isinstance(item, str) and len(item) < 32), None)
        if label is not None:
            speaker = label
        for key, item in value.items():
            if isinstance(item, str):
                if key in _ROLE_KEYS and len(item) < 32:
                    continue
                if item and not item.isspace():
                    name = f"{path}.{key}" if path else str(key)
                    out.append((FieldPath(name, speaker) if speaker else name, item))
            elif isinstance(item, (dict, list)):
                _walk(item, f"{path}.{key}" if path else str(key), out, speaker)
    elif isinstance(value, list):
        for position, item in enumerate(value):
            if isinstance(item, (str, dict, list)):
                _walk(item, f"{path}[{position}]", out, speaker)


def _json_error(error: json.JSONDecodeError, expected: str) -> str:
    return f"invalid JSON, expected {expected}: {error.msg} at column {error.colno}"


_scan_json = json.scanner.make_scanner(json.JSONDecoder())


def _parse_json_line(text: str) -> Any:
    """json.loads(text), calling the decoder's scanner directly for the common line (a value with
    nothing around it): json.loads' Python wrapper cost more than a third of the parse (0.20 s
    against 0.13 s for 31.8 k chat records). Anything else goes through json.loads, for its
    handling of surrounding whitespace and its error messages."""
    try:
        value, end = _scan_json(text, 0)
    except StopIteration:
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


def _read_jsonl(stream: _Stream, start_offset: int, start_record: int) -> Iterator[Record | RecordError]:
    decoder = _Decoder()
    number = start_record if start_offset else 0
    stream.skip_to(start_offset)
    consumed = stream.position
    for data, end, terminated, length in _lines(stream):
        number += 1
        if number <= start_record:
            consumed = end
            continue
        if data is None:
            if terminated:
                consumed = end
            yield _too_long(number, length, consumed)
            continue
        if data.endswith(b"\r"):
            data = data[:-1]
        if terminated:
            consumed = end
        if not data or data.isspace():
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text, warning = decoder.decode(data, number)
            if warning:
                yield RecordError(warning.number, warning.message, consumed)
        try:
            value = _parse_json_line(text)
        except json.JSONDecodeError as error:
            if not terminated:
                yield RecordError(number, "incomplete last line (no newline yet): not consumed", consumed)
            else:
                yield RecordError(number, _json_error(error, "one JSON value per line"), consumed)
            continue
        yield Record(number, string_fields(value), consumed, raw=data)


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


class _RowTooLarge(Exception):
    pass


class _LineFeed:
    """Decoded lines for csv.reader, remembering the bytes behind the current row."""

    def __init__(self, lines: Iterator[_Line], decoder: _Decoder):
        self._lines = lines
        self.decoder = decoder
        self.row_bytes: list[bytes] = []
        self.row_size = 0
        self.end = 0
        self.warnings: list[RecordError] = []
        self.number = 0

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        data, end, terminated, length = next(self._lines)
        if data is None or self.row_size + length > MAX_RECORD_BYTES:
            self.end = end
            raise _RowTooLarge(length + self.row_size)
        if terminated:
            self.end = end
        self.row_bytes.append(data)
        self.row_size += length + 1
        text, warning = self.decoder.decode(data, self.number + 1)
        if warning:
            self.warnings.append(warning)
        return text + "\n" if terminated else text

    def take_row(self) -> bytes:
        raw = b"\n".join(self.row_bytes)
        self.row_bytes, self.row_size = [], 0
        return raw


def _header_names(cells: list[str]) -> list[str]:
    names: list[str] = []
    for position, cell in enumerate(cells):
        name = cell.strip().lstrip("\ufeff") or f"column{position + 1}"
        while name in names:
            name = f"{name}_{position + 1}"
        names.append(name)
    return names


def _read_table(stream: _Stream, delimiter: str, start_offset: int,
                start_record: int) -> Iterator[Record | RecordError]:
    csv.field_size_limit(MAX_RECORD_BYTES)  # process-wide; the stdlib default (128 KiB) is too small
    decoder = _Decoder()
    feed = _LineFeed(_lines(stream), decoder)
    reader = csv.reader(feed, delimiter=delimiter)
    try:
        header = next(reader)
        while not header:
            header = next(reader)
    except StopIteration:
        raise FileReadError("", "no header row") from None
    except (csv.Error, _RowTooLarge) as error:
        raise FileReadError("", f"unreadable header row: {_one_line(error)}") from None
    names = _header_names(header)
    feed.take_row()
    yield from feed.warnings
    feed.warnings.clear()
    number = 0
    if start_offset:
        # The header was read from the start; continue at the first unconsumed row.
        stream.restart_at(start_offset)
        feed = _LineFeed(_lines(stream), decoder)
        reader = csv.reader(feed, delimiter=delimiter)
        number = start_record
    feed.number = number
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except _RowTooLarge as error:
            yield _too_long(number + 1, int(str(error)), feed.end, "row")
            yield RecordError(number + 1, "cannot find the next row after an over-long row; "
                                          "the rest of the file is not read", feed.end)
            return
        except csv.Error as error:
            number += 1
            feed.take_row()
            feed.number = number
            yield RecordError(number, f"malformed row: {_one_line(error)}", feed.end)
            continue
        raw = feed.take_row()
        yield from feed.warnings
        feed.warnings.clear()
        if not row:
            continue
        number += 1
        feed.number = number
        if number <= start_record:
            continue
        if len(row) != len(names):
            yield RecordError(number, f"expected {len(names)} cells (one per header column), "
                                      f"found {len(row)}", feed.end)
            continue
        fields = [(name, cell) for name, cell in zip(names, row) if cell and not cell.isspace()]
        yield Record(number, fields, feed.end, raw=raw)


# ---- text / Markdown ------------------------------------------------------------------------


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


def _has_strings(arrow_type: Any) -> bool:
    import pyarrow as pa

    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return True
    if pa.types.is_struct(arrow_type):
        return any(_has_strings(arrow_type.field(i).type) for i in range(arrow_type.num_fields))
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type) or pa.types.is_fixed_size_list(arrow_type):
        return _has_strings(arrow_type.value_type)
    if pa.types.is_map(arrow_type):
        return _has_strings(arrow_type.key_type) or _has_strings(arrow_type.item_type)
    if pa.types.is_dictionary(arrow_type):
        return _has_strings(arrow_type.value_type)
    return False


def _read_parquet(path: Path, compression: str | None, start_record: int) -> Iterator[Record | RecordError]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    with open(path, "rb") as raw:  # PermissionError surfaces here, before any temp file
        magic = raw.read(4)
    if compression is None and magic != b"PAR1":
        raise FileReadError(path, "not a Parquet file (no PAR1 magic)")
    with tempfile.TemporaryDirectory(prefix="aiaudit-parquet-") as scratch:
        source = path
        if compression is not None:
            # Parquet needs random access: decompress to a scratch file, streaming.
            source = Path(scratch) / "data.parquet"
            with _open(path, compression) as stream, open(source, "wb") as out:
                shutil.copyfileobj(stream, out, _CHUNK)
        try:
            parquet = pq.ParquetFile(source)
        except (pa.ArrowException, OSError) as error:
            raise FileReadError(path, f"not a readable Parquet file: {_one_line(error)}") from None
        columns = [field.name for field in parquet.schema_arrow if _has_strings(field.type)]
        number = 0
        if not columns:
            return
        try:
            for batch in parquet.iter_batches(batch_size=512, columns=columns):
                for row in batch.to_pylist():
                    number += 1
                    if number <= start_record:
                        continue
                    raw = json.dumps(row, sort_keys=True, ensure_ascii=False, default=str)
                    yield Record(number, string_fields(row), 0,
                                 hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest())
        except (pa.ArrowException, OSError) as error:
            raise FileReadError(path, f"corrupt Parquet data after row {number}: {_one_line(error)}") from None


__all__ = ["FileReadError", "MAX_RECORD_BYTES", "Record", "RecordError", "SUPPORTED_SUFFIXES",
           "file_format", "read_records", "string_fields"]
