"""bench/same_prompt.py's own measure of a negative that holds the captured text (holds): the line
its false positives are split by must say what it claims, apart from the detector."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bench.same_prompt import MIN_EXCERPT
from bench.same_prompt import Sample
from bench.same_prompt import Tally
from bench.same_prompt import held_others
from bench.same_prompt import holds

WORDS = st.lists(st.sampled_from([f"w{n}" for n in range(400)]), min_size=0, max_size=300)


def _text(prefix: str, n: int) -> str:
    return " ".join(f"{prefix}{i}" for i in range(n))


@given(WORDS)
def test_a_text_holds_itself_unless_it_has_no_words(words):
    text = " ".join(words)
    assert holds(text, text, "") is bool(words)


@given(size=st.integers(MIN_EXCERPT - 5, MIN_EXCERPT + 5), around=st.integers(0, 200))
def test_a_verbatim_passage_of_min_excerpt_words_is_held(size, around):
    captured = _text("own", size) + " " + _text("tail", 200)
    negative = _text("mine", around) + " " + _text("own", size) + " " + _text("other", 200)
    assert holds(negative, captured, "") is (size >= MIN_EXCERPT)


def test_words_restating_the_prompt_are_not_the_passages_own():
    prompt = _text("asked", 30)
    passage = prompt + " " + _text("own", MIN_EXCERPT - 10)  # 30 asked words + 30 own ones
    captured, negative = passage + " " + _text("a", 100), _text("b", 100) + " " + passage
    assert holds(negative, captured, "") and not holds(negative, captured, prompt)


@given(edits=st.integers(0, 30))
def test_a_whole_answer_within_ten_percent_of_word_edits_is_held(edits):
    captured = _text("w", 100).split()
    edited = [f"x{i}" if i % (100 // max(1, edits)) == 0 and i // (100 // max(1, edits)) < edits else w
              for i, w in enumerate(captured)]
    changed = sum(a != b for a, b in zip(captured, edited))
    # runs between the edits stay under MIN_EXCERPT from 3 edits on, so only the ratio can hold it
    if changed >= 3:
        assert holds(" ".join(edited), " ".join(captured), "") is (changed <= 10)


def test_a_positive_match_of_another_output_is_no_wrong_id_when_the_record_holds_it():
    stock = "I am sorry but I cannot help with that request " * 3
    sample = Sample("exact", "report", "q", stock, output_id=1)
    tally = Tally.new()
    kept = held_others(sample, {1: None, 2: None, 3: None}, {1: stock, 2: stock, 3: _text("z", 80)}, tally)
    assert set(kept) == {1, 3} and tally.other_held["report"] == 1
    negative = Sample("negative", "report", "q", stock, captured=stock)
    assert held_others(negative, {2: None}, {2: stock}, tally) == {2: None}
