"""A compact dataset-side sketch of what a scan read, so new captures are checked without rereading.

While a file is read in full, each record's text is cut into the same word 5-grams the detector
uses, winnowed with a window of SKETCH_WINDOW (any run of K + SKETCH_WINDOW - 1 = 20 shared words
keeps at least one 5-gram on both sides), and the top 32 bits of each kept hash are stored with
the record it came from (its number and byte span). When outputs are captured later, their 5-grams
are looked up in the sketch; only the records that share one are read back and matched, the rest
of the file is not touched. 32 bits: a 5-gram of the new outputs hits an unrelated record with
probability ~ sketch size / 2^32, so false candidates cost a few extra reads, never a finding.

Stored: the hashes (uint32, in record order) and, per record, its number, start and end offsets
and how many hashes it has (delta-encoded, zstd-compressed). A sketch is bound to the store
(store id and removal epoch: agent/store/identity.py) and to the file's identity and the output
index version it was read at; a sketch bound to anything else is not used and the file is read.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import zstandard

from agent.reuse.normalise import ASCII_FOLD
from agent.reuse.normalise import prepare_with_hash
from agent.reuse.shingles import K
from agent.reuse.shingles import folded_token_hashes
from agent.reuse.shingles import ngram_hashes
from agent.reuse.shingles import winnow

SKETCH_WINDOW = 16  # K + 16 - 1 = 20 words: the reuse length the sketch guarantees to see
MIN_WORDS = K + SKETCH_WINDOW - 1
_MAGIC = b"AIAUDIT-SKETCH-1\n"


def top32(hashes: np.ndarray) -> np.ndarray:
    """The high half of 64-bit 5-gram hashes (echo marks live in the low byte: both sides agree)."""
    return (np.asarray(hashes, dtype=np.uint64) >> np.uint64(32)).astype(np.uint32)


def record_hashes(records: Sequence[Sequence[tuple[str, str]]]) -> list[np.ndarray]:
    """Per record, its winnowed 5-gram hashes (top 32 bits, unique): a batch tokenised at once."""
    texts = [text for fields in records for _, text in fields]
    if not texts:
        return [np.empty(0, np.uint32) for _ in records]
    prepared = [prepare_with_hash(t)[0] for t in texts]
    per_record = np.fromiter(map(len, records), np.int64, len(records))
    lengths = np.fromiter(map(len, prepared), np.int64, len(prepared))
    field_start = np.cumsum(lengths + 1) - (lengths + 1)
    starts, tokens = folded_token_hashes(b" ".join((b"", *prepared, b"")).translate(ASCII_FOLD))
    first_token = np.searchsorted(starts, field_start)
    # token bounds of each record: from its first field's first token to the next record's
    field_index = np.concatenate(([0], np.cumsum(per_record)))
    bounds = np.concatenate((first_token, [len(tokens)]))[field_index]
    grams = ngram_hashes(tokens)
    # a 5-gram belongs to a record when it does not run past the record's last token; the others
    # (K - 1 between records) are made unpickable, so the whole batch is winnowed in one pass
    valid = np.ones(len(grams), dtype=bool)
    tails = (bounds[1:, None] - np.arange(1, K)).ravel()
    valid[tails[(tails >= 0) & (tails < len(grams))]] = False
    if not valid.any():
        return [np.empty(0, np.uint32) for _ in records]
    keyed = grams.copy()
    keyed[~valid] = np.uint64(np.iinfo(np.uint64).max)
    picks = winnow(keyed, SKETCH_WINDOW)
    picks = picks[valid[picks]]
    owner = np.searchsorted(bounds, picks, side="right") - 1
    pairs = np.unique((owner.astype(np.uint64) << np.uint64(32)) | top32(grams[picks]).astype(np.uint64))
    owner = (pairs >> np.uint64(32)).astype(np.int64)
    values = (pairs & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    cuts = np.searchsorted(owner, np.arange(1, len(records)))
    return np.split(values, cuts)


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """np.unique by sort and neighbour compare: numpy 2's hash-based np.unique took about 0.7 s
    on 400k uint32 here, the sort takes milliseconds (bench/data_lake.py)."""
    if not len(values):
        return values
    ordered = np.sort(values, kind="stable")
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


@dataclass
class SketchData:
    binding: dict
    hashes: np.ndarray  # uint32, grouped by record
    counts: np.ndarray  # int64 per record
    numbers: np.ndarray  # int64 record numbers
    starts: np.ndarray  # int64 byte offset where the record's span starts (after the previous one)
    ends: np.ndarray  # int64 byte offset after the record

    @property
    def nbytes(self) -> int:
        return self.hashes.nbytes + 4 * 8 * len(self.counts)

    def candidates(self, query: np.ndarray) -> np.ndarray:
        """Indices (into numbers/starts/ends) of records holding any of the `query` hashes."""
        if not len(self.hashes) or not len(query):
            return np.empty(0, np.int64)
        wanted = sorted_unique(np.asarray(query, dtype=np.uint32))
        at = np.searchsorted(wanted, self.hashes)
        at[at == len(wanted)] = 0
        hit = np.flatnonzero(wanted[at] == self.hashes)
        if not len(hit):
            return np.empty(0, np.int64)
        record_of = np.searchsorted(np.cumsum(self.counts), hit, side="right")
        return sorted_unique(record_of)  # hit is ascending, so record_of is sorted already


class SketchBuilder:
    """Collects a file's records as they are read, in batches (one tokenising pass per batch)."""

    BATCH = 2000

    def __init__(self, base: SketchData | None = None) -> None:
        self._fields: list[list[tuple[str, str]]] = []
        self._meta: list[tuple[int, int, int]] = []
        self._hashes: list[np.ndarray] = [base.hashes] if base is not None else []
        self._counts: list[np.ndarray] = [base.counts] if base is not None else []
        self._rows: list[np.ndarray] = [np.stack((base.numbers, base.starts, base.ends), 1)] \
            if base is not None and len(base.counts) else []
        self.last_end = int(base.ends[-1]) if base is not None and len(base.ends) else 0

    def add(self, number: int, fields: list[tuple[str, str]], end_offset: int, start_offset: int | None = None) -> None:
        start = self.last_end if start_offset is None else start_offset
        self._fields.append(fields)
        self._meta.append((number, start, end_offset))
        self.last_end = end_offset
        if len(self._fields) >= self.BATCH:
            self._flush()

    def _flush(self) -> None:
        if not self._fields:
            return
        hashed = record_hashes(self._fields)
        self._hashes.extend(hashed)
        self._counts.append(np.fromiter(map(len, hashed), np.int64, len(hashed)))
        self._rows.append(np.asarray(self._meta, dtype=np.int64).reshape(-1, 3))
        self._fields, self._meta = [], []

    def finish(self, binding: dict) -> SketchData:
        self._flush()
        rows = np.concatenate(self._rows) if self._rows else np.empty((0, 3), np.int64)
        return SketchData(binding, np.concatenate(self._hashes).astype(np.uint32) if self._hashes else
                          np.empty(0, np.uint32), np.concatenate(self._counts) if self._counts else
                          np.empty(0, np.int64), rows[:, 0].copy(), rows[:, 1].copy(), rows[:, 2].copy())


def sketch_path(directory: Path, name: str) -> Path:
    return Path(directory) / (hashlib.sha256(name.encode()).hexdigest()[:32] + ".sketch")


def save(data: SketchData, path: Path) -> int:
    """Write atomically; returns the bytes written."""
    table = np.stack((data.counts, np.diff(data.numbers, prepend=0), np.diff(data.starts, prepend=0),
                      data.ends - data.starts)).astype(np.int64)
    packed = zstandard.ZstdCompressor(level=3).compress(table.tobytes())
    header = json.dumps({"binding": data.binding, "records": len(data.counts), "hashes": len(data.hashes),
                         "table_bytes": len(packed)}).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(_MAGIC + len(header).to_bytes(4, "little") + header)
        f.write(data.hashes.astype("<u4").tobytes())
        f.write(packed)
    os.replace(tmp, path)
    return path.stat().st_size


def load(path: Path) -> SketchData | None:
    """The sketch in `path`, or None when it is missing or unreadable (the file is read instead)."""
    try:
        raw = Path(path).read_bytes()
        if not raw.startswith(_MAGIC):
            return None
        at = len(_MAGIC)
        size = int.from_bytes(raw[at:at + 4], "little")
        header = json.loads(raw[at + 4:at + 4 + size])
        at += 4 + size
        n_hashes, n_records = int(header["hashes"]), int(header["records"])
        hashes = np.frombuffer(raw, "<u4", n_hashes, at).astype(np.uint32)
        at += 4 * n_hashes
        table = np.frombuffer(zstandard.ZstdDecompressor().decompress(raw[at:at + int(header["table_bytes"])]),
                              np.int64).reshape(4, n_records)
        counts, numbers, starts = table[0], np.cumsum(table[1]), np.cumsum(table[2])
        if int(counts.sum()) != n_hashes:
            return None
        return SketchData(header["binding"], hashes, counts.copy(), numbers, starts, starts + table[3])
    except (OSError, ValueError, KeyError, TypeError, zstandard.ZstdError):
        return None


__all__ = ["MIN_WORDS", "SKETCH_WINDOW", "SketchBuilder", "SketchData", "load", "record_hashes", "save",
           "sketch_path", "top32"]
