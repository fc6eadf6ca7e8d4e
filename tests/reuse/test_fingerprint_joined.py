"""The output and its prompts hashed in one pass give the fingerprint a pass per text gives:
the same tokens, 5-grams and echo marks (agent/reuse/fingerprint.py, _fingerprint_joined)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.reuse.fingerprint import Fingerprint
from agent.reuse.fingerprint import _all_in_window
from agent.reuse.fingerprint import _member
from agent.reuse.fingerprint import exact_hash
from agent.reuse.fingerprint import fingerprint
from agent.reuse.normalise import prepare_with_hash
from agent.reuse.shingles import K
from agent.reuse.shingles import mark_echo
from agent.reuse.shingles import ngram_hashes
from agent.reuse.shingles import token_hashes


def _one_pass_per_text(text: str, prompts: list[str]) -> Fingerprint:
    """The fingerprint as it was computed before: each text hashed on its own."""
    prepared, raw_hash = prepare_with_hash(text)
    _, tokens = token_hashes(prepared)
    shingles = ngram_hashes(tokens)
    if prompts and len(shingles):
        words = [token_hashes(prepare_with_hash(p)[0])[1] for p in prompts]
        asked = np.concatenate([ngram_hashes(w) for w in words])
        own = _all_in_window(_member(tokens, np.concatenate(words)), K)
        shingles = mark_echo(shingles, _member(shingles, asked), own)
    return Fingerprint(len(tokens), exact_hash(tokens), raw_hash, shingles)


_WORDS = st.sampled_from(["the", "river", "north", "a", "42", "it's", "東京", "naïve", "<b>", "&amp;", "x" * 30, ""])
_TEXT = st.one_of(st.text(max_size=80), st.lists(_WORDS, max_size=40).map(" ".join),
                  st.lists(_WORDS, max_size=40).map("\n".join))


@settings(max_examples=500, deadline=None)
@given(_TEXT, st.lists(_TEXT, max_size=4), st.data())
def test_joined_pass_equals_a_pass_per_text(text, prompts, data):
    if prompts and data.draw(st.booleans()):  # the output restates a piece of a prompt
        words = prompts[0].split()
        text = " ".join(words[: data.draw(st.integers(0, len(words)))]) + " " + text
    assert fingerprint(text, prompts) == _one_pass_per_text(text, prompts)


def test_tiny_empty_duplicate_and_huge_prompts():
    answer = "one two three four five six seven eight nine ten"
    for prompts in ([], [""], ["", ""], [answer], [answer, answer], ["one two"], ["three four five six seven"] * 3,
                    ["word " * 40000]):  # the last is past the one-pass size: the per-text path
        assert fingerprint(answer, prompts) == _one_pass_per_text(answer, prompts)
    assert fingerprint("", ["a b c d e f"]) == _one_pass_per_text("", ["a b c d e f"])
    restated = fingerprint(answer, ["say: one two three four five six seven"])
    assert restated != fingerprint(answer)  # the marks are there
