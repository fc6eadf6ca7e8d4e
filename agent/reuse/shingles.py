"""Token hashes, word n-gram hashes and winnowing, all in numpy.

A token's hash is a polynomial hash of its bytes computed for a whole buffer at once with a
prefix sum (hash(token) = (H[end] - H[start]) * P^-start mod 2^64), then scrambled with the
splitmix64 finaliser. Measured at ~220 MB/s including boundary detection (hashed in cache-sized
pieces, see token_hashes), against ~23 MB/s for splitting into Python byte strings and hashing
each through a dict cache: per-token Python calls were the bottleneck, so no Python object is
made per token.

N-gram hashes combine K consecutive token hashes polynomially and finalise again. All arithmetic
is uint64 and wraps on purpose; numpy does not warn for array overflow, and scalars are only
ever used as operands of array operations.
"""

from __future__ import annotations

import threading

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from agent.reuse.normalise import ASCII_FOLD
from agent.reuse.scripts import word_bounds

K = 5  # words per shingle: the field norm (datatrove, BigCode, decon); k=4 added false positives
WINNOW_WINDOW = 8  # keeps ~22 % of shingles; any shared run of >= K + W - 1 = 12 words keeps one

_MASK64 = (1 << 64) - 1
_P = 0x9E3779B97F4A7C15  # odd, so invertible mod 2^64
_P_INV = pow(_P, -1, 1 << 64)
_NGRAM_MULT = np.array([pow(0xC2B2AE3D27D4EB4F, K - 1 - i, 1 << 64) for i in range(K)], dtype=np.uint64)
_NGRAM_SEED = np.uint64(0x27D4EB2F165667C5)
_SPACE = 0x20
_PIECE = 128 << 10  # bytes hashed per numpy pass (measured best of 64 KiB-4 MiB)
_CHUNK = 4 << 20  # a token longer than this is cut (bounds the power tables)

_powers_lock = threading.Lock()
_powers: tuple[np.ndarray, np.ndarray] = (np.ones(1, np.uint64), np.ones(1, np.uint64))


def _power_table(base: int, length: int) -> np.ndarray:
    table = np.empty(length, dtype=np.uint64)
    table[0] = 1
    filled = 1
    while filled < length:
        step = min(filled, length - filled)
        # table[filled + i] = table[i] * base^filled, done by doubling to stay vectorised
        table[filled:filled + step] = table[:step] * np.uint64(pow(base, filled, 1 << 64))
        filled += step
    return table


def _powers_for(length: int) -> tuple[np.ndarray, np.ndarray]:
    global _powers
    forward, inverse = _powers
    if len(forward) >= length:
        return forward, inverse
    with _powers_lock:
        forward, inverse = _powers
        if len(forward) < length:
            size = max(length, 2 * len(forward), 1 << 16)
            _powers = (_power_table(_P, size), _power_table(_P_INV, size))
        return _powers


_SHIFTS = (np.uint64(30), np.uint64(27), np.uint64(31))
_MIX = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))


def mix64(values: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, in place on a uint64 array (returned for chaining)."""
    values ^= values >> _SHIFTS[0]
    values *= _MIX[0]
    values ^= values >> _SHIFTS[1]
    values *= _MIX[1]
    values ^= values >> _SHIFTS[2]
    return values


_scratch = threading.local()


def _prefix_buffer(size: int) -> np.ndarray:
    """A per-thread reusable uint64 buffer: a fresh multi-megabyte array per batch measured
    ~6x slower to fill than a reused one."""
    buffer = getattr(_scratch, "prefix", None)
    if buffer is None or len(buffer) < size:
        buffer = np.empty(max(size, 1 << 16), dtype=np.uint64)
        _scratch.prefix = buffer
    return buffer[:size]


def _hash_piece(folded: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Token (start, end, hash) for a byte array that begins and ends with a space."""
    # separators and the cuts inside Chinese, Japanese and Korean runs (scripts.word_bounds)
    starts, ends = word_bounds(folded)
    forward, inverse = _powers_for(len(folded) + 1)
    prefix = _prefix_buffer(len(folded) + 1)
    prefix[0] = 0
    np.multiply(folded, forward[: len(folded)], out=prefix[1:])
    np.cumsum(prefix[1:], out=prefix[1:])
    hashes = prefix[ends] - prefix[starts]
    hashes *= inverse[starts]
    hashes += (ends - starts).astype(np.uint64)  # the length keeps "a" and "a\0" apart
    return starts, ends, mix64(hashes)


def token_hashes(prepared: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(token start byte offsets, token hashes) of a prepared buffer (see normalise.prepare).

    The buffer is hashed in pieces of about _PIECE bytes cut at spaces, each a view: the prefix
    sums and power tables of a piece stay in cache: a 2 MiB batch hashed in 9.2 ms instead of
    18.5 ms in one pass. A token longer than a piece is taken whole, up to _CHUNK bytes."""
    return folded_token_hashes(b" " + prepared.translate(ASCII_FOLD) + b" ")


def folded_token_hashes(folded: bytes) -> tuple[np.ndarray, np.ndarray]:
    """token_hashes of a buffer already translated with ASCII_FOLD and with a space added at both
    ends (offsets are those of the buffer without the leading space): the batch matcher builds
    it in one join and one translate instead of three more copies."""
    array = np.frombuffer(folded, dtype=np.uint8)
    last = len(folded) - 1
    if last <= _PIECE:
        starts, _, hashes = _hash_piece(array)
        return starts - 1, hashes
    all_starts, all_hashes = [], []
    begin = 0  # a space, except inside a token cut at _CHUNK
    while begin < last:
        cut = folded.rfind(b" ", begin + 1, begin + _PIECE + 1) if begin + _PIECE < last else last
        end = cut + 1  # the piece ends with the space at `cut`, which also starts the next one
        if cut <= begin:
            cut = folded.find(b" ", begin + 1, begin + _CHUNK + 1)
            end = cut + 1
            if cut < 0:  # a token longer than a chunk is cut rather than held whole
                cut = end = min(last, begin + _CHUNK)
        piece, lead = array[begin:end], 0
        if piece[0] != _SPACE or piece[-1] != _SPACE:  # only around a cut token: rare, so copied
            lead = int(piece[0] != _SPACE)
            piece = np.concatenate(([_SPACE] * lead, piece, [_SPACE] * int(piece[-1] != _SPACE))).astype(np.uint8)
        starts, _, hashes = _hash_piece(piece)
        all_starts.append(starts + (begin - 1 - lead))
        all_hashes.append(hashes)
        begin = cut
    return np.concatenate(all_starts), np.concatenate(all_hashes)


# Echo marks, in the low byte of an output's 5-gram hash (see mark_echo): RESTATED, the 5-gram is
# in the prompt of the output's own call; PROMPT_WORDS, it is made only of that prompt's words
# (the keys of a JSON schema the prompt gave, its variables in a worked equation). Every other
# 5-gram hash is kept off the marks' byte values, so a marked 5-gram never equals a dataset
# 5-gram in the postings, yet the matcher, which pairs 5-grams on their top 40 bits, still
# aligns it.
_LOW_BYTE = np.uint64(0xFF)
_MARKS = np.uint64(0xFC)  # low bytes 0xA4-0xA7 are reserved for marks
_MARKED = np.uint64(0xA4)
RESTATED = np.uint64(0xA5)
PROMPT_WORDS = np.uint64(0xA6)


def mark_echo(hashes: np.ndarray, restated: np.ndarray, prompt_words: np.ndarray) -> np.ndarray:
    """The hashes with echo marks where `restated` (wins) or `prompt_words` is true."""
    marked = hashes.copy()
    words = prompt_words & ~restated
    marked[words] = (marked[words] & ~_LOW_BYTE) | PROMPT_WORDS
    marked[restated] = (marked[restated] & ~_LOW_BYTE) | RESTATED
    return marked


def is_echo(hashes: np.ndarray) -> np.ndarray:
    """Either mark."""
    return (hashes & _MARKS) == _MARKED


def is_restated(hashes: np.ndarray) -> np.ndarray:
    return (hashes & _LOW_BYTE) == RESTATED


def ngram_hashes(token_hash: np.ndarray, k: int = K) -> np.ndarray:
    """Hash of every run of k consecutive tokens, in position order (len = max(0, n - k + 1)).
    None has an echo mark's low byte (1 in 64 hashes is moved off them by one bit)."""
    count = len(token_hash) - k + 1
    if count <= 0:
        return np.empty(0, dtype=np.uint64)
    mult = _NGRAM_MULT if k == K else np.array(
        [pow(0xC2B2AE3D27D4EB4F, k - 1 - i, 1 << 64) for i in range(k)], dtype=np.uint64)
    combined = np.full(count, _NGRAM_SEED, dtype=np.uint64)
    term = np.empty(count, dtype=np.uint64)
    for i in range(k):
        np.multiply(token_hash[i:i + count], mult[i], out=term)
        combined += term
    mix64(combined)
    combined[is_echo(combined)] ^= np.uint64(8)
    return combined


def winnow(hashes: np.ndarray, window: int = WINNOW_WINDOW) -> np.ndarray:
    """Positions chosen by winnowing (minimum per window, rightmost on ties), ascending, unique."""
    if len(hashes) <= window:
        if len(hashes) == 0:
            return np.empty(0, dtype=np.int64)
        return np.array([len(hashes) - 1 - int(np.argmin(hashes[::-1]))], dtype=np.int64)
    windows = sliding_window_view(hashes, window)
    rightmost = window - 1 - np.argmin(windows[:, ::-1], axis=1)
    chosen = np.arange(len(windows)) + rightmost
    # Non-decreasing: the next window's minimum is this one's or the new last hash (rightmost on
    # ties), or later when this one falls out. So a neighbour comparison, not np.unique, whose
    # hash pass (numpy 2.3+) measured 30x slower than sorting on 200k int64.
    return chosen[np.concatenate(([True], chosen[1:] != chosen[:-1]))]
