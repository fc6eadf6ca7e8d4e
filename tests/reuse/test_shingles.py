"""Token hashes: one per space-separated token at its byte offset, equal for equal tokens only (as
far as a test can tell), and the same whatever the size of the pieces the buffer is hashed in;
winnowing as its definition says."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.reuse import shingles
from agent.reuse.shingles import token_hashes
from agent.reuse.shingles import winnow

# a prepared buffer (normalise.prepare) holds words of letters and digits; punctuation folds to space
words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=12)


def test_one_hash_per_token_at_its_offset():
    starts, hashes = token_hashes(b"the cat the dog")
    assert starts.tolist() == [0, 4, 8, 12]
    assert hashes[0] == hashes[2] and len(set(hashes.tolist())) == 3
    assert token_hashes(b"The")[1][0] == token_hashes(b"the")[1][0]  # ASCII case is folded


@settings(max_examples=60, deadline=None)
@given(st.lists(words, min_size=1, max_size=60), st.integers(8, 64))
def test_hashing_in_pieces_gives_the_one_pass_result(tokens, piece):
    text = " ".join(tokens).encode()
    whole_starts, whole = token_hashes(text)
    saved = shingles._PIECE
    shingles._PIECE = piece  # what a buffer larger than a piece goes through
    try:
        starts, hashes = token_hashes(text)
    finally:
        shingles._PIECE = saved
    assert np.array_equal(starts, whole_starts) and np.array_equal(hashes, whole)
    assert len(whole) == len(tokens)

def chosen_by_definition(hashes: list[int], window: int) -> list[int]:
    """Each window's minimum, the rightmost on ties, each position once, ascending."""
    if len(hashes) <= window:
        return [len(hashes) - 1 - hashes[::-1].index(min(hashes))] if hashes else []
    picked = set()
    for start in range(len(hashes) - window + 1):
        part = hashes[start:start + window]
        picked.add(start + window - 1 - part[::-1].index(min(part)))
    return sorted(picked)


@given(st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 3), max_size=80), st.integers(1, 10))
def test_winnow_keeps_each_windows_rightmost_minimum_once(hashes, window):
    found = winnow(np.array(hashes, dtype=np.uint64), window)
    assert found.dtype == np.int64
    assert found.tolist() == chosen_by_definition(hashes, window)
