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
from agent.reuse.scripts import TOKENISER
from agent.reuse.shingles import K
from agent.reuse.shingles import mark_echo
from agent.reuse.shingles import ngram_hashes
from agent.reuse.shingles import token_hashes

BLOB_VERSION = 2
# version, k, word_count, text_hash, exact, shingle count; from version 2 the tokeniser follows
_HEADER_V1 = struct.Struct("<BBIQ16sI")
_HEADER = struct.Struct("<BBIQ16sIB")
LEGACY_TOKENISER = 1  # what a version-1 blob was made with: one token per CJK character


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
    tokeniser: int = TOKENISER  # how the words were cut (scripts.TOKENISER when it was made)

    def to_blob(self) -> bytes:
        header = _HEADER.pack(BLOB_VERSION, K, self.word_count, self.text_hash, self.exact,
                              len(self.shingles), self.tokeniser)
        return header + np.ascontiguousarray(self.shingles, dtype="<u8").tobytes()

    @classmethod
    def from_blob(cls, blob: bytes) -> Fingerprint:
        version = blob[0] if blob else None
        header = _HEADER_V1 if version == 1 else _HEADER
        if len(blob) < header.size:
            raise ValueError(f"fingerprint blob too short ({len(blob)} bytes)")
        if version == 1:
            _, k, word_count, raw_hash, exact, count = header.unpack_from(blob)
            tokeniser = LEGACY_TOKENISER
        else:
            version, k, word_count, raw_hash, exact, count, tokeniser = header.unpack_from(blob)
        if version not in (1, BLOB_VERSION) or k != K:
            raise ValueError(f"fingerprint blob version {version} (k={k}) is not {BLOB_VERSION} (k={K})")
        if len(blob) != header.size + 8 * count:
            raise ValueError(f"fingerprint blob holds {len(blob)} bytes, expected {header.size + 8 * count}")
        shingles = np.frombuffer(blob, dtype="<u8", count=count, offset=header.size).astype(np.uint64)
        return cls(word_count, exact, raw_hash, shingles, tokeniser)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Fingerprint):
            return NotImplemented
        return (self.word_count == other.word_count and self.exact == other.exact
                and self.text_hash == other.text_hash and self.tokeniser == other.tokeniser
                and np.array_equal(self.shingles, other.shingles))

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
    if prompts:
        parts = [prepared, *(prepare_with_hash(p)[0] for p in prompts)]
        if sum(map(len, parts)) + len(parts) < _JOINED_MAX:
            return _fingerprint_joined(parts, raw_hash)
    _, tokens = token_hashes(prepared)
    shingles = ngram_hashes(tokens)
    if prompts and len(shingles):
        words = [token_hashes(p)[1] for p in parts[1:]]
        asked = np.concatenate([ngram_hashes(w) for w in words])
        # also a 5-gram made only of the prompt's own words: the JSON keys of the schema it gave,
        # its variables in a worked equation, its identifiers in code
        own = _all_in_window(_member(tokens, np.concatenate(words)), K)
        shingles = mark_echo(shingles, _member(shingles, asked), own)
    return Fingerprint(len(tokens), exact_hash(tokens), raw_hash, shingles)


# The output and its prompts are hashed in one pass when they fit one piece of token_hashes
# (a token's hash does not depend on where it lies, and a space ends every token): each numpy
# call costs a few microseconds whatever its size, and a pass per text made the prompt's echo
# marks cost three times the output's own fingerprint (bench/writer_capacity.py).
_JOINED_MAX = 128 << 10


def _fingerprint_joined(parts: list[bytes], raw_hash: int) -> Fingerprint:
    starts, all_tokens = token_hashes(b" ".join(parts))
    offsets = np.cumsum([0] + [len(p) + 1 for p in parts[:-1]])
    cuts = np.searchsorted(starts, offsets[1:])  # the index of each prompt's first token
    tokens = all_tokens[: cuts[0]]
    count = max(0, len(tokens) - K + 1)
    all_ngrams = ngram_hashes(all_tokens)
    shingles = all_ngrams[:count]
    if count:
        inside = np.ones(len(all_ngrams), dtype=bool)  # 5-grams within one prompt
        for cut in cuts:
            inside[max(0, cut - K + 1) : cut] = False
        asked = all_ngrams[cuts[0] :][inside[cuts[0] :]]
        own = _all_in_window(_member(tokens, all_tokens[cuts[0] :]), K)
        shingles = mark_echo(shingles, _member(shingles, asked), own)
    return Fingerprint(len(tokens), exact_hash(tokens), raw_hash, shingles.copy() if not count else shingles)
