"""Echo marks: 5-grams of an output that restate its call's prompt, or use only its words."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.reuse import Fingerprint
from agent.reuse import fingerprint
from agent.reuse.shingles import is_echo
from agent.reuse.shingles import is_restated
from agent.reuse.shingles import mark_echo
from agent.reuse.shingles import mix64
from agent.reuse.shingles import ngram_hashes

WORDS = st.lists(st.sampled_from("alpha beta gamma delta the of list median sort value code x y".split()),
                 max_size=60).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), max_size=300))
def test_plain_5gram_hashes_never_look_marked(tokens):
    hashes = ngram_hashes(mix64(np.array(tokens, dtype=np.uint64)))
    assert not is_echo(hashes).any()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), max_size=200), st.data())
def test_marks_keep_the_top_bits_the_matcher_pairs_on(values, data):
    hashes = np.array(values, dtype=np.uint64)
    restated = np.array(data.draw(st.lists(st.booleans(), min_size=len(values), max_size=len(values))), dtype=bool)
    words = np.array(data.draw(st.lists(st.booleans(), min_size=len(values), max_size=len(values))), dtype=bool)
    marked = mark_echo(hashes, restated, words)
    assert np.array_equal(marked >> np.uint64(24), hashes >> np.uint64(24))
    assert np.array_equal(is_echo(marked), restated | words | is_echo(hashes))
    assert np.array_equal(is_restated(marked)[restated], np.ones(restated.sum(), bool))


def test_an_answer_restating_its_question_is_marked_where_it_does():
    question = "How do I calculate the median of a list in Python?"
    output = ("To calculate the median of a list you sort it first. Then the middle element, or the mean "
              "of the two middle elements, is the median.")
    marked = fingerprint(output, [question]).shingles
    plain = fingerprint(output).shingles
    # "calculate the median of a", "the median of a list"; "to ..." and "... you" hold other words
    assert is_restated(marked)[:4].tolist() == [False, True, True, False]
    assert not is_echo(plain).any() and not is_echo(marked)[10:].any()
    assert np.array_equal(marked[~is_echo(marked)], plain[~is_echo(marked)])
    assert Fingerprint.from_blob(fingerprint(output, [question]).to_blob()) == fingerprint(output, [question])


@settings(max_examples=100, deadline=None)
@given(WORDS, st.lists(WORDS, max_size=3))
def test_prompts_only_mark_never_change_the_rest(output, prompts):
    marked, plain = fingerprint(output, prompts), fingerprint(output)
    assert (marked.word_count, marked.exact, marked.text_hash) == (plain.word_count, plain.exact, plain.text_hash)
    assert len(marked.shingles) == len(plain.shingles)
    assert np.array_equal(marked.shingles[~is_echo(marked.shingles)], plain.shingles[~is_echo(marked.shingles)])
    if not any(p.strip() for p in prompts):
        assert np.array_equal(marked.shingles, plain.shingles)


def test_empty_tiny_and_huge_texts_with_prompts():
    assert len(fingerprint("", ["a question"]).shingles) == 0
    assert len(fingerprint("one two three", ["one two three four five"]).shingles) == 0
    huge = " ".join(f"w{i}" for i in range(200_000))
    asked = huge[:50_000]
    marked = fingerprint(huge, [asked]).shingles
    restated = len(asked.split()) - 5  # the prompt's 5-grams, less the one cut at its end
    assert is_restated(marked)[:restated].all() and not is_echo(marked)[restated + 5:].any()
