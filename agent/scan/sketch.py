"""A compact dataset-side sketch of what a scan read, so new captures are checked without rereading.

While a file is read in full, each record's text is cut into the same word 5-grams the detector
uses, winnowed with a window of SKETCH_WINDOW, and the top HASH_BITS bits of each kept 5-gram are
stored with the record it came from (its number and byte span). When outputs are captured later,
a record is read back and matched only when at least GUARANTEED_HITS of its kept 5-grams belong to
one and the same new output; the rest of the file is not touched.

The guarantee (tested with hypothesis in tests/scan/test_sketch.py): a run of REUSE_WORDS = 20
words shared by a record and an output holds REUSE_WORDS - K + 1 = 16 consecutive 5-grams of the
record, all of them 5-grams of the output. Winnowing keeps the minimum of every window of
SKETCH_WINDOW consecutive 5-grams, so each of the 16 // SKETCH_WINDOW = 2 disjoint windows inside
the run keeps a position of its own: the record has GUARANTEED_HITS = 2 kept positions whose
5-grams are in that output, whatever the text around the run. One shared 5-gram is not enough to
read a record back: common phrases gave 12 % of the records of bench/data_lake.py one, two in the
same output are rare. Positions are kept with repeats (a 5-gram kept twice counts twice), so the
guarantee does not depend on the run's 5-grams being distinct.

24 bits: a kept 5-gram of an unrelated record is in one given output of ~200 5-grams with
probability ~ 200 / 2^24; two of them in the same output ~ 10^-7 per record and output, so false
candidates cost a few extra reads, never a finding. 24 bits also let the lookup be one array
index per kept hash (a table of 2^24 flags built from the new outputs) instead of a binary search.

Stored: the hashes (3 bytes each, in record order) and, per record, its number, start and end
offsets and how many hashes it has (delta-encoded, zstd-compressed). A sketch is bound to the store
(store id and removal epoch: agent/store/identity.py) and to the file's identity and the output
index version it was read at; a sketch bound to anything else is not used and the file is read.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
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

REUSE_WORDS = 20  # the shortest reuse the sketch is guaranteed to see (issue 14)
SKETCH_WINDOW = 8
GUARANTEED_HITS = (REUSE_WORDS - K + 1) // SKETCH_WINDOW  # 2: kept 5-grams of one output in such a run
MIN_WORDS = REUSE_WORDS
HASH_BITS = 24
_MAGIC = b"AIAUDIT-SKETCH-2\n"  # 1 stored 32-bit hashes of a window of 16: not read (the file is)


def sketch_hash(hashes: np.ndarray) -> np.ndarray:
    """The top HASH_BITS bits of 64-bit 5-gram hashes (echo marks live in the low byte: both sides agree)."""
    return (np.asarray(hashes, dtype=np.uint64) >> np.uint64(64 - HASH_BITS)).astype(np.uint32)


def record_hashes(records: Sequence[Sequence[tuple[str, str]]]) -> list[np.ndarray]:
    """Per record, the hashes (sketch_hash) of its winnowed 5-grams, one per kept position, in
    position order: a batch tokenised at once."""
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
    owner = np.searchsorted(bounds, picks, side="right") - 1  # picks ascend, so owners do
    values = sketch_hash(grams[picks])
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
        return 3 * len(self.hashes) + 4 * 8 * len(self.counts)

    def candidates(self, query: NewOutputs, need: int = GUARANTEED_HITS) -> np.ndarray:
        """Indices (into numbers/starts/ends) of records with at least `need` kept 5-grams in one
        and the same output of `query`, ascending."""
        if not len(self.hashes) or not len(query.hashes):
            return np.empty(0, np.int64)
        hit = np.flatnonzero(query.present[self.hashes])  # one array index per kept hash
        if not len(hit):
            return np.empty(0, np.int64)
        record = np.searchsorted(np.cumsum(self.counts), hit, side="right")
        # sorted by hash, the binary searches below walk query.hashes in order: unsorted, they
        # took 0.19 s a file of 125 MB (cache misses), sorted 0.02 s plus the sort's 0.03 s
        keyed = np.sort((self.hashes[hit].astype(np.uint64) << np.uint64(32)) | record.astype(np.uint64))
        values, record = (keyed >> np.uint64(32)).astype(np.uint32), (keyed & np.uint64(0xFFFFFFFF)).astype(np.int64)
        first = np.searchsorted(query.hashes, values, "left")
        many = np.searchsorted(query.hashes, values, "right") - first  # outputs holding each hit
        # every (record, output) pair a hit makes, laid out flat: hit i gives many[i] of them
        total = int(many.sum())
        at = np.arange(total) - np.repeat(np.cumsum(many) - many - first, many)
        pairs = np.sort((np.repeat(record, many).astype(np.uint64) << np.uint64(32))
                        | query.outputs[at].astype(np.uint64))
        run_starts = np.flatnonzero(np.concatenate(([True], pairs[1:] != pairs[:-1])))
        runs = np.diff(np.append(run_starts, total))
        return sorted_unique((pairs[run_starts[runs >= need]] >> np.uint64(32)).astype(np.int64))


@dataclass
class NewOutputs:
    """The 5-grams of outputs captured since a scan, as `SketchData.candidates` looks them up:
    one (hash, output) pair per distinct 5-gram of each output, sorted by hash, and a flag per
    possible hash saying whether any output has it."""

    hashes: np.ndarray  # uint32 sketch hashes, ascending
    outputs: np.ndarray  # uint32: which output (0..n-1 in the order given) each pair is from
    present: np.ndarray  # bool[2**HASH_BITS]

    @classmethod
    def of(cls, shingles: Iterable[np.ndarray]) -> NewOutputs:
        """From each output's 64-bit 5-gram hashes (all of them, as the index holds them)."""
        parts = [sketch_hash(v) for v in shingles if len(v)]
        present = np.zeros(1 << HASH_BITS, dtype=bool)
        if not parts:
            return cls(np.empty(0, np.uint32), np.empty(0, np.uint32), present)
        owner = np.repeat(np.arange(len(parts), dtype=np.uint64), [len(p) for p in parts])
        keyed = sorted_unique((np.concatenate(parts).astype(np.uint64) << np.uint64(32)) | owner)
        hashes = (keyed >> np.uint64(32)).astype(np.uint32)
        present[hashes] = True
        return cls(hashes, (keyed & np.uint64(0xFFFFFFFF)).astype(np.uint32), present)


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


def _three_bytes(hashes: np.ndarray) -> bytes:
    """HASH_BITS = 24: the low three bytes of each little-endian uint32."""
    return np.ascontiguousarray(hashes.astype("<u4").view(np.uint8).reshape(-1, 4)[:, :3]).tobytes()


def _from_three_bytes(raw: np.ndarray) -> np.ndarray:
    wide = np.zeros((len(raw) // 3, 4), dtype=np.uint8)
    wide[:, :3] = raw.reshape(-1, 3)
    return wide.view("<u4").ravel().astype(np.uint32)


def sketch_of_unit(records: Iterable, start_offset: int, binding: dict | None = None) -> SketchData:
    """The sketch of one unit of a file (a byte range, a row group) from its records in order
    (agent.scan.readers.Record: number, fields, end_offset), for a worker that read only that
    unit; `start_offset` is where the unit's first record starts. `merge` joins the units' sketches."""
    builder = SketchBuilder()
    builder.last_end = start_offset
    for record in records:
        builder.add(record.number, record.fields, record.end_offset)
    return builder.finish(binding or {})


def merge(parts: Sequence[SketchData], binding: dict, shifts: Sequence[int] | None = None) -> SketchData:
    """The sketch of a whole file from the sketches of its units, given in file order.

    `shifts[i]` is added to part i's record numbers, for a worker that numbered its unit's
    records from 1 (the client knows how many came before). Each part's first span is made to
    start where the previous part's last record ended, as a one-pass builder starts it: a worker
    can only start it at its own range, and lines between records (blank, broken) would be lost."""
    hashes, counts, numbers, starts, ends = [], [], [], [], []
    last_end = 0
    for i, part in enumerate(parts):
        if not len(part.counts):
            continue
        part_starts = part.starts.copy()
        part_starts[0] = last_end
        hashes.append(part.hashes)
        counts.append(part.counts)
        numbers.append(part.numbers + (shifts[i] if shifts is not None else 0))
        starts.append(part_starts)
        ends.append(part.ends)
        last_end = int(part.ends[-1])

    def joined(arrays: list[np.ndarray], dtype) -> np.ndarray:
        return np.concatenate(arrays).astype(dtype) if arrays else np.empty(0, dtype)

    return SketchData(binding, joined(hashes, np.uint32), joined(counts, np.int64), joined(numbers, np.int64),
                      joined(starts, np.int64), joined(ends, np.int64))


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
        f.write(_three_bytes(data.hashes))
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
        hashes = _from_three_bytes(np.frombuffer(raw, np.uint8, 3 * n_hashes, at))
        at += 3 * n_hashes
        table = np.frombuffer(zstandard.ZstdDecompressor().decompress(raw[at:at + int(header["table_bytes"])]),
                              np.int64).reshape(4, n_records)
        counts, numbers, starts = table[0], np.cumsum(table[1]), np.cumsum(table[2])
        if int(counts.sum()) != n_hashes:
            return None
        return SketchData(header["binding"], hashes, counts.copy(), numbers, starts, starts + table[3])
    except (OSError, ValueError, KeyError, TypeError, zstandard.ZstdError):
        return None


__all__ = ["GUARANTEED_HITS", "HASH_BITS", "MIN_WORDS", "REUSE_WORDS", "SKETCH_WINDOW", "NewOutputs", "SketchBuilder",
           "SketchData", "load", "merge", "record_hashes", "save", "sketch_hash", "sketch_of_unit", "sketch_path"]
