from __future__ import annotations

import random
import time

import numpy as np
import pytest

from agent.reuse import Fingerprint
from agent.reuse import fingerprint
from agent.reuse import shingles
from agent.reuse.fingerprint import BLOB_VERSION
from agent.reuse.shingles import K
from agent.reuse.shingles import ngram_hashes
from agent.reuse.shingles import token_hashes
from agent.reuse.shingles import winnow
from tests.reuse.texts import answer


@pytest.mark.parametrize("words", [0, 1, 4, 5, 6, 300])
def test_one_shingle_per_five_word_window(words):
    text = " ".join(f"w{i}" for i in range(words))
    fp = fingerprint(text)
    assert fp.word_count == words
    assert len(fp.shingles) == max(0, words - K + 1)
    assert fp.shingles.dtype == np.uint64
    assert len(fp.exact) == 16


def test_shingles_are_in_position_order_and_depend_only_on_their_words():
    fp_a = fingerprint("alpha beta gamma delta epsilon zeta eta")
    fp_b = fingerprint("omega beta gamma delta epsilon zeta psi")
    # windows 1 (beta..zeta) are the same words in both texts; the others differ
    assert fp_a.shingles[1] == fp_b.shingles[1]
    assert fp_a.shingles[0] != fp_b.shingles[0]
    assert fp_a.shingles[2] != fp_b.shingles[2]
    assert len(set(fp_a.shingles.tolist())) == 3


def test_word_order_inside_a_shingle_matters():
    assert fingerprint("a b c d e").shingles[0] != fingerprint("e d c b a").shingles[0]


@pytest.mark.parametrize("text", ["", "one", "Some words here and there, " * 40, "東京タワー " * 50])
def test_blob_round_trip(text):
    fp = fingerprint(text)
    blob = fp.to_blob()
    assert blob[0] == BLOB_VERSION
    again = Fingerprint.from_blob(blob)
    assert again == fp
    assert again.word_count == fp.word_count and again.exact == fp.exact
    assert np.array_equal(again.shingles, fp.shingles)


@pytest.mark.parametrize("mutate", [
    lambda b: b[:10],
    lambda b: bytes([99]) + b[1:],
    lambda b: b + b"\x00",
    lambda b: b[:-1],
])
def test_damaged_blob_is_refused(mutate):
    blob = fingerprint("a few words to make some shingles here").to_blob()
    with pytest.raises(ValueError):
        Fingerprint.from_blob(mutate(blob))


@pytest.mark.parametrize("text", [
    answer(random.Random(5), 400).encode(),
    b"  lead " + b"x" * 300 + b" and " + answer(random.Random(6), 100).encode() + b" " + b"y" * 150,
])
def test_hashing_in_pieces_matches_one_pass(monkeypatch, text):
    starts, hashes = token_hashes(text)
    monkeypatch.setattr(shingles, "_PIECE", 97)  # tokens longer than a piece are taken whole
    pieced_starts, pieced_hashes = token_hashes(text)
    assert np.array_equal(starts, pieced_starts)
    assert np.array_equal(hashes, pieced_hashes)


def test_a_token_longer_than_a_chunk_is_cut(monkeypatch):
    monkeypatch.setattr(shingles, "_PIECE", 16)
    monkeypatch.setattr(shingles, "_CHUNK", 64)
    starts, hashes = token_hashes(b"ab " + b"z" * 200 + b" cd")
    assert starts.tolist() == [0, 3, 66, 130, 194, 204]  # 63 + 64 + 64 + 9 z's
    assert hashes[1] == token_hashes(b"z" * 63)[1][0] and hashes[4] == token_hashes(b"z" * 9)[1][0]
    assert hashes[2] == hashes[3] != hashes[1]
    assert hashes[0] == token_hashes(b"ab")[1][0] and hashes[-1] == token_hashes(b"cd")[1][0]


def test_winnowing_keeps_a_hash_in_every_window():
    rng = np.random.default_rng(1)
    hashes = rng.integers(0, 2**63, size=500, dtype=np.uint64)
    chosen = winnow(hashes, 8)
    assert 0.15 < len(chosen) / len(hashes) < 0.3  # ~2/(w+1)
    windows = np.lib.stride_tricks.sliding_window_view(hashes, 8)
    minimum_at = np.arange(len(windows)) + windows.argmin(axis=1)
    assert set(minimum_at.tolist()) == set(chosen.tolist())  # exactly the window minima


def test_shared_run_of_twelve_words_shares_a_winnowed_hash():
    rng = random.Random(9)
    for trial in range(30):
        shared = [f"s{trial}_{i}" for i in range(12)]
        left = [f"l{rng.random()}" for _ in range(30)] + shared + [f"m{rng.random()}" for _ in range(30)]
        right = [f"r{rng.random()}" for _ in range(7)] + shared + [f"q{rng.random()}" for _ in range(9)]
        a, b = fingerprint(" ".join(left)).shingles, fingerprint(" ".join(right)).shingles
        assert set(a[winnow(a)].tolist()) & set(b[winnow(b)].tolist())


def test_ngram_hashes_of_too_few_tokens_is_empty():
    assert len(ngram_hashes(np.arange(4, dtype=np.uint64))) == 0


def test_fingerprint_is_fast_enough_for_the_capture_writer():
    text = answer(random.Random(2), 300)
    fingerprint(text)
    runs = 200
    start = time.process_time()  # CPU time: other processes on a shared CI machine do not count
    for _ in range(runs):
        fingerprint(text)
    per_call = (time.process_time() - start) / runs
    assert per_call < 1e-3  # ~60 µs measured; generous for slow CI machines
