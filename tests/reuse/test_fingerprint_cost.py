"""The per-call shortcuts in fingerprint(): the same membership and windows as numpy's general
functions, so the echo marks (and every stored fingerprint) are unchanged."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from agent.reuse.fingerprint import _all_in_window
from agent.reuse.fingerprint import _member
from agent.reuse.fingerprint import fingerprint
from agent.reuse.normalise import prepare_with_hash
from agent.reuse.shingles import K
from agent.reuse.shingles import mark_echo
from agent.reuse.shingles import ngram_hashes
from agent.reuse.shingles import token_hashes

U64 = st.integers(min_value=0, max_value=2**64 - 1)
# small value ranges give duplicates and collisions; the extremes test the ends of the sort
HASHES = st.one_of(st.lists(st.integers(0, 6), max_size=40), st.lists(U64, max_size=300),
                   st.lists(st.sampled_from([0, 1, 2**63, 2**64 - 1]), max_size=20))


@given(HASHES, HASHES)
def test_member_is_isin(values, pool):
    v, p = np.array(values, dtype=np.uint64), np.array(pool, dtype=np.uint64)
    assert np.array_equal(_member(v, p), np.isin(v, p))


@given(st.lists(st.booleans(), max_size=200), st.integers(1, 8))
def test_all_in_window_is_sliding_all(flags, k):
    f = np.array(flags, dtype=bool)
    expected = sliding_window_view(f, k).all(axis=1) if len(f) >= k else np.zeros(0, dtype=bool)
    assert np.array_equal(_all_in_window(f, k), expected)


def _reference(text: str, prompts: list[str]):
    """fingerprint() with np.isin and sliding_window_view, as it was written first."""
    _, tokens = token_hashes(prepare_with_hash(text)[0])
    shingles = ngram_hashes(tokens)
    if prompts and len(shingles):
        words = [token_hashes(prepare_with_hash(p)[0])[1] for p in prompts]
        asked = np.concatenate([ngram_hashes(w) for w in words])
        own = sliding_window_view(np.isin(tokens, np.concatenate(words)), K).all(axis=1)
        shingles = mark_echo(shingles, np.isin(shingles, asked), own)
    return shingles


WORDS = st.lists(st.sampled_from("the a median list of numbers sort x y key value é 42".split()), max_size=120).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(WORDS, st.lists(st.one_of(WORDS, st.text(max_size=50)), max_size=3))
def test_fingerprint_marks_unchanged(text, prompts):
    assert np.array_equal(fingerprint(text, prompts).shingles, _reference(text, prompts))


def test_huge_prompt_and_empty_prompt():
    text = "the median of a list of numbers is the middle value " * 200
    prompts = ["what is the median of a list of numbers " * 2000, ""]
    got = fingerprint(text, prompts).shingles
    assert np.array_equal(got, _reference(text, prompts))
    assert not np.array_equal(got, fingerprint(text).shingles)  # the echoes are marked
