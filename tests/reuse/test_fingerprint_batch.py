"""A writer batch fingerprinted in one pass gives, item for item, what fingerprint() gives: the
stored blobs must stay bit-identical (agent/reuse/fingerprint_batch.py)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.reuse.fingerprint import fingerprint
from agent.reuse.fingerprint_batch import _pair_member
from agent.reuse.fingerprint_batch import fingerprint_many

_WORDS = st.sampled_from(["the", "river", "north", "a", "42", "it's", "東京", "naïve", "<b>", "&amp;", "x" * 30, "",
                          "Straße", "한국어", "“quoted”", "```py", "\u200b", "ｆｕｌｌ", "3.14"])
_TEXT = st.one_of(st.text(max_size=60), st.lists(_WORDS, max_size=40).map(" ".join),
                  st.lists(_WORDS, max_size=40).map("\n".join))


@st.composite
def _items(draw):
    prompts = draw(st.lists(_TEXT, max_size=3))
    text = draw(_TEXT)
    if prompts and draw(st.booleans()):  # the answer restates part of its prompt
        words = prompts[0].split()
        text = " ".join(words[: draw(st.integers(0, len(words)))]) + " " + text
    return text, prompts


def _blobs(fps):
    return [(fp.to_blob(), fp.word_count, fp.exact, fp.text_hash) for fp in fps]


@settings(max_examples=300, deadline=None)
@given(st.lists(_items(), max_size=8))
def test_batch_equals_one_call_per_item(items):
    assert _blobs(fingerprint_many(items)) == _blobs(fingerprint(text, prompts) for text, prompts in items)


def test_a_prompt_marks_only_its_own_call():
    answer = "one two three four five six seven eight nine ten"
    items = [(answer, []), (answer, [answer]), (answer, ["say one two three four five"]), ("", [answer]),
             (answer, ["word " * 40000]),  # past the one-pass size: fingerprint() itself
             (answer, ["", ""])]
    batch = fingerprint_many(items)
    assert _blobs(batch) == _blobs(fingerprint(t, p) for t, p in items)
    assert batch[0].to_blob() != batch[1].to_blob()  # the second call's prompt marked its answer only
    assert batch[0].to_blob() == batch[5].to_blob()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 7)), max_size=30),
       st.lists(st.tuples(st.integers(0, 3), st.integers(0, 7)), max_size=30),
       st.sampled_from([0, 1, 2 ** 40, 2 ** 63]))
def test_pair_lookup_is_exact_when_hashes_share_their_top_bits(queries, pool, base):
    # values that differ only in their low bits share a sort key: the exact path must answer
    as_arrays = [(np.array([i for i, _ in pairs], dtype=np.int64),
                  np.array([base + v for _, v in pairs], dtype=np.uint64)) for pairs in (queries, pool)]
    (item, values), (pool_item, pool_values) = as_arrays
    order = np.argsort(pool_item, kind="stable")  # each item's pool is one run, as _fill builds it
    pool_item, pool_values = pool_item[order], pool_values[order]
    expected = [(i, base + v) in {(j, base + w) for j, w in pool} for i, v in queries]
    assert _pair_member(item, values, pool_item, pool_values).tolist() == expected
