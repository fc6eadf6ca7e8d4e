"""The fingerprints of a whole writer batch in one numpy pass, equal to `fingerprint()` of each.

`fingerprint(text, prompts)` of a 1.5 KB answer under a 4 KB prompt took 37 % of the writer's CPU
per call (py-spy on bench/writer_capacity.py), a good part of it the fixed price of the 30-odd
numpy calls it makes whatever their size. Here the outputs of a group of calls and their prompts
are joined into one buffer and go through each step once: one tokenise and hash, one 5-gram
pass, one row-wise sort for the echo marks of every output against its own call's prompt, one
mark pass; then the arrays are cut at each output's offsets (about a third less CPU, see
_PASS_BYTES).

Why the result is the same, bit for bit (tests/reuse/test_fingerprint_batch.py pins it):
- a token's hash depends on its bytes only, a space ends every token, and each part is joined
  with a space, so the tokens of a part are those it has alone; texts of _JOINED_MAX or more take
  `fingerprint()` itself, so no token is ever long enough to be cut where the buffer is pieced;
- a 5-gram counts only if its five tokens lie in one part (the others straddle two texts);
- "in the prompt of its own call" is a lookup of (item, hash) pairs: the item's number goes in
  the top bits of a sort key and the hash's top bits below it, and a key shared by two different
  hashes (two hashes alike in their top 56 bits, or so, within one item) sends that lookup to the
  exact per-item search, so no collision can mark what `fingerprint()` would not.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agent.reuse.fingerprint import _JOINED_MAX
from agent.reuse.fingerprint import Fingerprint
from agent.reuse.fingerprint import _member
from agent.reuse.fingerprint import exact_hash
from agent.reuse.fingerprint import fingerprint
from agent.reuse.normalise import prepare_with_hash
from agent.reuse.shingles import K
from agent.reuse.shingles import mark_echo
from agent.reuse.shingles import ngram_hashes
from agent.reuse.shingles import token_hashes

# Bytes of parts joined into one pass. Measured on the issue-#12 mix (200 calls of 4 KB prompts and
# 1.5 KB answers): 89-92 us a call at 128-256 KiB, 114 us at 1-8 MiB (the scratch arrays leave the
# cache, and fresh pages of large arrays cost faults), 130 us for fingerprint() per call.
_PASS_BYTES = 256 << 10


def fingerprint_many(items: Sequence[tuple[str, Sequence[str]]]) -> list[Fingerprint]:
    """`[fingerprint(text, prompts) for text, prompts in items]`, computed batch-wise."""
    out: list[Fingerprint | None] = [None] * len(items)
    group: list[tuple[int, list[bytes], int]] = []  # (position, prepared parts, raw text hash)
    size = 0
    for position, (text, prompts) in enumerate(items):
        prepared, raw_hash = prepare_with_hash(text)
        parts = [prepared, *(prepare_with_hash(p)[0] for p in prompts)]
        length = sum(map(len, parts)) + len(parts)
        if length >= _JOINED_MAX:  # fingerprint() hashes such texts apart: let it
            out[position] = fingerprint(text, prompts)
            continue
        if size + length > _PASS_BYTES and group:
            _fill(group, out)
            group, size = [], 0
        group.append((position, parts, raw_hash))
        size += length
    if group:
        _fill(group, out)
    return out  # type: ignore[return-value]


def _fill(group: list[tuple[int, list[bytes], int]], out: list) -> None:
    parts = [part for _, item_parts, _ in group for part in item_parts]
    part_count = np.array([len(item_parts) for _, item_parts, _ in group], dtype=np.int64)
    starts, tokens = token_hashes(b" ".join(parts))
    offsets = np.cumsum([0] + [len(p) + 1 for p in parts[:-1]], dtype=np.int64)
    first_token = np.searchsorted(starts, offsets)  # of each part; parts that hold none repeat it
    bounds = np.append(first_token, len(tokens))
    part_tokens = np.diff(bounds)
    part_item = np.repeat(np.arange(len(group), dtype=np.int64), part_count)
    is_output = np.zeros(len(parts), dtype=bool)
    is_output[np.cumsum(part_count) - part_count] = True  # each item's first part is its output

    token_part = np.repeat(np.arange(len(parts), dtype=np.int64), part_tokens)
    token_item = part_item[token_part]
    token_out = is_output[token_part]
    ngrams = ngram_hashes(tokens)
    gram_part = token_part[: len(ngrams)]
    whole = gram_part == token_part[K - 1 :]  # the 5 tokens lie in one part
    gram_out = whole & token_out[: len(ngrams)]
    gram_asked = whole & ~token_out[: len(ngrams)]

    # restated: an output 5-gram among the 5-grams of its own call's prompts
    restated = _pair_member(token_item[: len(ngrams)][gram_out], ngrams[gram_out],
                            token_item[: len(ngrams)][gram_asked], ngrams[gram_asked])
    # prompt words: an output 5-gram whose five tokens are all among its own call's prompt words
    in_prompt = np.zeros(len(tokens), dtype=bool)
    in_prompt[token_out] = _pair_member(token_item[token_out], tokens[token_out],
                                        token_item[~token_out], tokens[~token_out])
    unset = np.concatenate(([0], np.cumsum(~in_prompt, dtype=np.int64)))
    own = (unset[K:] == unset[:-K])[gram_out]
    shingles = mark_echo(ngrams[gram_out], restated, own)

    out_parts = np.flatnonzero(is_output)
    first = bounds[out_parts].tolist()
    counts = part_tokens[out_parts].tolist()
    gram_counts = np.maximum(part_tokens[out_parts] - K + 1, 0)
    gram_at = np.concatenate(([0], np.cumsum(gram_counts))).tolist()
    token_bytes = np.ascontiguousarray(tokens, dtype="<u8")
    for n, (position, _, raw_hash) in enumerate(group):
        begin, count = first[n], counts[n]
        out[position] = Fingerprint(count, exact_hash(token_bytes[begin : begin + count]), raw_hash,
                                    shingles[gram_at[n] : gram_at[n + 1]])


def _pair_member(item: np.ndarray, values: np.ndarray, pool_item: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """For each (item, value): whether (item, value) is among the (pool_item, pool) pairs.
    `pool_item` is non-decreasing (each item's pool is one run), as _fill builds it."""
    if not len(values) or not len(pool):
        return np.zeros(len(values), dtype=bool)
    items = int(max(item.max(), pool_item.max())) + 1
    sizes = np.bincount(pool_item, minlength=items)
    width = int(sizes.max())
    if items * width > 2 * len(pool) + 4096:  # pools too uneven to pad: one sort of them all
        order = np.argsort(pool_item.astype(np.uint64) << np.uint64(64 - _bits(items)) | pool >> np.uint64(_bits(items)))
        sorted_pool, size_of = pool[order], None
    else:
        # each item's pool in one row, padded with the largest hash, and the rows sorted: a
        # row-wise sort of small rows measured ~4x faster than an argsort of the whole pool
        rows = np.full((items, width), np.iinfo(np.uint64).max, dtype=np.uint64)
        run_start = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        rows[pool_item, np.arange(len(pool)) - run_start[pool_item]] = pool
        rows.sort(axis=1)
        sorted_pool, size_of = rows.ravel(), sizes
    # Sorted by (item, hash), so sorted by a key of the item over the hash's top bits too. The
    # search finds the first entry of a query's key: the hash itself when it is there, unless
    # two different hashes of the item share the key (alike in their top bits); a query whose key
    # is found with another hash is then looked up exactly, item by item.
    bits = _bits(items)
    row_of = np.repeat(np.arange(items, dtype=np.uint64), width) if size_of is not None \
        else np.sort(pool_item).astype(np.uint64)
    top, shift = np.uint64(64 - bits), np.uint64(bits)
    keys = (row_of << top) | (sorted_pool >> shift)
    wanted = (item.astype(np.uint64) << top) | (values >> shift)
    at = np.searchsorted(keys, wanted)
    np.minimum(at, len(keys) - 1, out=at)
    same_key = keys[at] == wanted
    found = same_key & (sorted_pool[at] == values)
    if size_of is not None:  # a hit on the padding is no hit (a real largest hash comes first)
        found &= at - item * width < size_of[item]
    unsure = np.flatnonzero(same_key & ~found)
    if len(unsure):
        found[unsure] = _member_by_item(item[unsure], values[unsure], pool_item, pool)
    return found


def _bits(items: int) -> int:
    return max(1, (items - 1).bit_length())


def _member_by_item(item: np.ndarray, values: np.ndarray, pool_item: np.ndarray, pool: np.ndarray) -> np.ndarray:
    found = np.zeros(len(values), dtype=bool)
    for one in np.unique(item).tolist():
        mine = item == one
        found[mine] = _member(values[mine], pool[pool_item == one])
    return found
