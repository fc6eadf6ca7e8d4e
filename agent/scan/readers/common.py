"""What every reader shares: the record types, bounded streaming of (de)compressed bytes and
lines, and the walk that turns a decoded value into (field path, text) pairs."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import BinaryIO

import zstandard

from agent.reuse.roles import FieldPath

MAX_RECORD_BYTES = 16 << 20
TEXT_RECORD_BYTES = 4 << 20
_CHUNK = 1 << 20
_SNIFF = 8192

_BASE_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "tsv",
                  ".parquet": "parquet", ".txt": "text", ".md": "text", ".markdown": "text"}
_COMPRESSIONS = {".gz": "gzip", ".zst": "zstd"}
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


def _open(path: Path, compression: str | None) -> _Stream:
    raw = open(path, "rb")
    if compression == "gzip":
        return _Stream(path, compression, raw, gzip.GzipFile(fileobj=raw), seekable=False)
    if compression == "zstd":
        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        return _Stream(path, compression, raw, reader, seekable=False)
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
        # record its text is on (agent.reuse.roles); it holds no text itself
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
