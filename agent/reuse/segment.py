"""One immutable segment of the output index: sorted numpy arrays saved as .npy files.

Files of a segment directory (memory-mapped read-only when opened):
  ids.npy        uint64  output id per ordinal, ascending within the segment; a later delta
                         can hold lower ids than earlier ones (outputs that committed late)
  words.npy      uint32  normalised word count per ordinal
  flags.npy      uint8   SHORT (exact layer only) | ALIAS (same words as an earlier output)
  exact.npy      uint64  (n, 2) exact hash per ordinal
  exact_key.npy  uint64  first half of the exact hash, sorted;  exact_ord.npy uint32
  text_key.npy   uint64  raw-text hash, sorted;                text_ord.npy  uint32
  post_hash.npy  uint64  posting hashes, sorted;               post_ord.npy  uint32
  offsets.npy    uint64  (n + 1) start of each output's shingles in shingles.npy
  shingles.npy   uint64  every 5-gram hash of every output in position order: the verification
                         store, read only for candidates, so it stays on disk, not in RAM
Postings hold each output's distinct 5-gram hashes, or only the winnowed ones in a winnowed
segment; SHORT and ALIAS outputs have none.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent.reuse.fingerprint import Fingerprint
from agent.reuse.scoring import SHORT_WORDS
from agent.reuse.shingles import winnow

SHORT = 1  # fewer words than SHORT_WORDS: matched as whole fields only
ALIAS = 2  # normalised text equal to an earlier output: found through that output's postings

_ARRAYS = ("ids", "words", "flags", "exact", "exact_key", "exact_ord", "text_key", "text_ord",
           "post_hash", "post_ord", "offsets", "shingles")
# Structures consulted for every lookup (the RAM budget); the shingle store is read per candidate.
RAM_ARRAYS = tuple(name for name in _ARRAYS if name != "shingles")


@dataclass(frozen=True, slots=True)
class SegmentData:
    ids: np.ndarray
    words: np.ndarray
    flags: np.ndarray
    exact: np.ndarray
    exact_key: np.ndarray
    exact_ord: np.ndarray
    text_key: np.ndarray
    text_ord: np.ndarray
    post_hash: np.ndarray
    post_ord: np.ndarray
    offsets: np.ndarray
    shingles: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def shingles_of(self, ordinal: int) -> np.ndarray:
        return self.shingles[int(self.offsets[ordinal]):int(self.offsets[ordinal + 1])]

    def ram_bytes(self) -> int:
        return sum(getattr(self, name).nbytes for name in RAM_ARRAYS)


def _sorted_by(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(keys, kind="stable")
    return keys[order], order.astype(np.uint32)


def _postings(shingles: np.ndarray, offsets: np.ndarray, flags: np.ndarray,
              winnowed: bool) -> tuple[np.ndarray, np.ndarray]:
    hashes, ordinals = [], []
    for ordinal in np.flatnonzero(flags == 0):
        own = shingles[int(offsets[ordinal]):int(offsets[ordinal + 1])]
        chosen = np.unique(own[winnow(own)] if winnowed else own)
        hashes.append(chosen)
        ordinals.append(np.full(len(chosen), ordinal, dtype=np.uint32))
    if not hashes:
        return np.empty(0, np.uint64), np.empty(0, np.uint32)
    post_hash, order = _sorted_by(np.concatenate(hashes))
    return post_hash, np.concatenate(ordinals)[order]


def build(entries: Sequence[tuple[int, Fingerprint]], indexed_before: np.ndarray,
          winnowed: bool) -> SegmentData:
    """A segment for new outputs; `indexed_before[i]`: entry i's words are already indexed."""
    count = len(entries)
    seen: set[bytes] = set()
    ids = np.fromiter((output_id for output_id, _ in entries), dtype=np.uint64, count=count)
    words = np.fromiter((fp.word_count for _, fp in entries), dtype=np.uint32, count=count)
    flags = np.zeros(count, dtype=np.uint8)
    for ordinal, (_, fp) in enumerate(entries):
        if fp.word_count < SHORT_WORDS:
            flags[ordinal] |= SHORT
        elif indexed_before[ordinal] or fp.exact in seen:
            flags[ordinal] |= ALIAS
        seen.add(fp.exact)
    exact = np.frombuffer(b"".join(fp.exact for _, fp in entries), dtype="<u8").astype(np.uint64)
    exact = exact.reshape(count, 2)
    text = np.fromiter((fp.text_hash for _, fp in entries), dtype=np.uint64, count=count)
    lengths = np.fromiter((len(fp.shingles) for _, fp in entries), dtype=np.uint64, count=count)
    offsets = np.zeros(count + 1, dtype=np.uint64)
    np.cumsum(lengths, out=offsets[1:])
    shingles = (np.concatenate([fp.shingles for _, fp in entries]).astype(np.uint64)
                if count else np.empty(0, np.uint64))
    return _assemble(ids, words, flags, exact, text, offsets, shingles, winnowed)


def _assemble(ids, words, flags, exact, text, offsets, shingles, winnowed) -> SegmentData:
    exact_key, exact_ord = _sorted_by(exact[:, 0].copy())
    text_key, text_ord = _sorted_by(text)
    post_hash, post_ord = _postings(shingles, offsets, flags, winnowed)
    return SegmentData(ids, words, flags, exact, exact_key, exact_ord, text_key, text_ord,
                       post_hash, post_ord, offsets, shingles)


def merge(segments: Sequence[SegmentData], winnowed: bool, same_mode: bool) -> SegmentData:
    """One segment holding all outputs of `segments`, in id order."""
    ids = np.concatenate([s.ids for s in segments])
    words = np.concatenate([s.words for s in segments])
    flags = np.concatenate([s.flags for s in segments])
    exact = np.concatenate([s.exact for s in segments])
    text = np.concatenate([_text_by_ordinal(s) for s in segments])
    shingles = np.concatenate([s.shingles for s in segments])
    lengths = np.concatenate([np.diff(s.offsets) for s in segments])
    bases = np.cumsum([0] + [len(s) for s in segments[:-1]])
    post_ord = np.concatenate([s.post_ord.astype(np.uint32) + np.uint32(base) for s, base in zip(segments, bases)])
    if np.any(ids[1:] < ids[:-1]):
        # late ids sit in later segments: reorder every per-output array by id
        order = np.argsort(ids, kind="stable")
        ids, words, flags, exact, text = ids[order], words[order], flags[order], exact[order], text[order]
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)[order]
        lengths = lengths[order]
        moved = np.repeat(starts - np.cumsum(lengths).astype(np.int64) + lengths.astype(np.int64),
                          lengths.astype(np.int64)) + np.arange(int(lengths.sum()))
        shingles = shingles[moved]
        new_ordinal = np.empty(len(order), dtype=np.uint32)
        new_ordinal[order] = np.arange(len(order), dtype=np.uint32)
        post_ord = new_ordinal[post_ord]
    offsets = np.zeros(len(ids) + 1, dtype=np.uint64)
    np.cumsum(lengths, out=offsets[1:])
    if not same_mode:
        return _assemble(ids, words, flags, exact, text, offsets, shingles, winnowed)
    # Same posting density everywhere: merge the sorted postings instead of recomputing them.
    post_hash, order = _sorted_by(np.concatenate([s.post_hash for s in segments]))
    post_ord = post_ord[order]
    exact_key, exact_ord = _sorted_by(exact[:, 0].copy())
    text_key, text_ord = _sorted_by(text)
    return SegmentData(ids, words, flags, exact, exact_key, exact_ord, text_key, text_ord,
                       post_hash, post_ord, offsets, shingles)


def _text_by_ordinal(segment: SegmentData) -> np.ndarray:
    text = np.empty(len(segment), dtype=np.uint64)
    text[segment.text_ord] = segment.text_key
    return text


def write(data: SegmentData, directory: Path, name: str) -> None:
    """Write to a temporary directory and rename, so readers never see half a segment."""
    staging = directory / f".tmp-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        for array_name in _ARRAYS:
            with open(staging / f"{array_name}.npy", "wb") as handle:
                np.save(handle, np.ascontiguousarray(getattr(data, array_name)))
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(staging, directory / name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def load(path: Path) -> SegmentData:
    arrays = {}
    for name in _ARRAYS:
        file = path / f"{name}.npy"
        # np.load refuses to memory-map an empty array's file; those are tiny anyway.
        # np.asarray drops the memmap subclass (slow to slice) but keeps the mapping alive.
        arrays[name] = np.asarray(np.load(file, mmap_mode="r")) if file.stat().st_size > 256 else np.load(file)
    return SegmentData(**arrays)
