"""The fingerprint of one captured output, computed once at capture time and stored as a BLOB.

Three layers, from strictest to loosest:
- `text_hash`: xxh3-64 of the raw text's UTF-8 bytes without surrounding ASCII whitespace. Equal means the
  record holds the output byte for byte ("exact").
- `exact`: xxh3-128 of the normalised token sequence, taken over the little-endian 64-bit token
  hashes (one hash per normalised token, see shingles.token_hashes). Equal means the same words in
  the same order whatever the formatting ("reformatted"). Hashing the token hashes rather than
  the joined token text lets the scanner get it for every field from arrays it already has.
- `shingles`: the 64-bit hashes of every word 5-gram, in position order, for partial reuse. The
  5-grams an output shares with the prompt of its own call ("To calculate the median of a list",
  a code block or a poem the question quoted), or makes of the prompt's words only, carry an echo
  mark (shingles.mark_echo): any independent answer to that prompt may hold them, so they are
  weak evidence. The prompt itself
  is never stored, neither its text nor its hashes.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xxhash

from agent.reuse.normalise import prepare_with_hash
from agent.reuse.shingles import K
from agent.reuse.shingles import mark_echo
from agent.reuse.shingles import ngram_hashes
from agent.reuse.shingles import token_hashes

BLOB_VERSION = 1
_HEADER = struct.Struct("<BBIQ16sI")  # version, k, word_count, text_hash, exact, shingle count


def exact_hash(token_hash: np.ndarray) -> bytes:
    return xxhash.xxh3_128_digest(np.ascontiguousarray(token_hash, dtype="<u8").tobytes())


def text_hash(text: str) -> int:
    return prepare_with_hash(text)[1]


@dataclass(frozen=True, eq=False, slots=True)
class Fingerprint:
    word_count: int
    exact: bytes
    text_hash: int
    shingles: np.ndarray  # uint64, one per word 5-gram, position order

    def to_blob(self) -> bytes:
        header = _HEADER.pack(BLOB_VERSION, K, self.word_count, self.text_hash, self.exact,
                              len(self.shingles))
        return header + np.ascontiguousarray(self.shingles, dtype="<u8").tobytes()

    @classmethod
    def from_blob(cls, blob: bytes) -> Fingerprint:
        if len(blob) < _HEADER.size:
            raise ValueError(f"fingerprint blob too short ({len(blob)} bytes)")
        version, k, word_count, raw_hash, exact, count = _HEADER.unpack_from(blob)
        if version != BLOB_VERSION or k != K:
            raise ValueError(f"fingerprint blob version {version} (k={k}) is not {BLOB_VERSION} (k={K})")
        if len(blob) != _HEADER.size + 8 * count:
            raise ValueError(f"fingerprint blob holds {len(blob)} bytes, expected {_HEADER.size + 8 * count}")
        shingles = np.frombuffer(blob, dtype="<u8", count=count, offset=_HEADER.size).astype(np.uint64)
        return cls(word_count, exact, raw_hash, shingles)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Fingerprint):
            return NotImplemented
        return (self.word_count == other.word_count and self.exact == other.exact
                and self.text_hash == other.text_hash and np.array_equal(self.shingles, other.shingles))

    __hash__ = None  # type: ignore[assignment]


def _member(values: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """np.isin(values, pool) for the few hundred hashes of one call: a sort and a binary search
    (12 us) where np.isin's general path costs 166 us (bench/writer_capacity.py, 4 KB prompt)."""
    if not len(pool) or not len(values):
        return np.zeros(len(values), dtype=bool)
    pool = np.sort(pool)
    at = np.searchsorted(pool, values)
    np.minimum(at, len(pool) - 1, out=at)
    return pool[at] == values


def _all_in_window(flags: np.ndarray, k: int) -> np.ndarray:
    """For each run of k consecutive flags, whether all are set (len = max(0, n - k + 1)): a
    running count of unset flags, cheaper than sliding_window_view(...).all(axis=1)."""
    if len(flags) < k:
        return np.zeros(0, dtype=bool)
    unset = np.concatenate(([0], np.cumsum(~flags, dtype=np.int64)))
    return unset[k:] == unset[:-k]


def fingerprint(text: str, prompts: Sequence[str] = ()) -> Fingerprint:
    """Fingerprint one generated text (about 40 µs for 300 words); `prompts`: the texts of the
    call's prompt (messages, system prompt), whose 5-grams mark the output's echoes."""
    prepared, raw_hash = prepare_with_hash(text)
    _, tokens = token_hashes(prepared)
    shingles = ngram_hashes(tokens)
    if prompts and len(shingles):
        words = [token_hashes(prepare_with_hash(p)[0])[1] for p in prompts]
        asked = np.concatenate([ngram_hashes(w) for w in words])
        # also a 5-gram made only of the prompt's own words: the JSON keys of the schema it gave,
        # its variables in a worked equation, its identifiers in code
        own = _all_in_window(_member(tokens, np.concatenate(words)), K)
        shingles = mark_echo(shingles, _member(shingles, asked), own)
    return Fingerprint(len(tokens), exact_hash(tokens), raw_hash, shingles)
