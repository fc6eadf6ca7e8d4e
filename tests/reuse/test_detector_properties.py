"""Property tests of the detector over tiny, sparse, hot-only and empty indexes and arbitrary
records: whatever a record holds, matching returns (never raises) and what it returns is sane."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.reuse import fingerprint
from agent.reuse.index import OutputIndex
from agent.reuse.matching import ReuseDetector
from agent.reuse.shingles import K
from tests.reuse.texts import BOILERPLATE
from tests.reuse.texts import RARE
from tests.reuse.texts import WORDS
from tests.reuse.texts import answer
from tests.reuse.texts import answers

OUTPUTS = answers(7, 4, words=90)
# sparse ids: far apart, one near 2^40 (the packed (record, output) key then overflows a
# smaller width and _count_pairs takes its lexsort path)
SPARSE_IDS = [1, 997, 1_000_003, (1 << 40) + 5]
HOT_WORDS = 5


def _hot_outputs() -> list[str]:
    """Ten outputs sharing one sentence: with hot_outputs=3 it is boilerplate."""
    rng = random.Random(11)
    return [f"{answer(rng, 40)} {BOILERPLATE}" for _ in range(10)]


HOT = _hot_outputs()


@pytest.fixture(scope="module")
def indexes(tmp_path_factory) -> dict[str, OutputIndex]:
    made = {}

    def make(name: str, entries, **kw) -> None:
        index = OutputIndex.open(tmp_path_factory.mktemp(name), **kw)
        if entries:
            index.add(entries)
        made[name] = index

    make("empty", [])
    make("tiny", [(1, fingerprint(OUTPUTS[0]))])
    make("short_only", [(1, fingerprint("Positive, confidence high.")), (2, fingerprint("Yes."))])
    make("sparse", [(i, fingerprint(t)) for i, t in zip(SPARSE_IDS, OUTPUTS)])
    make("sparse_winnowed", [(i, fingerprint(t)) for i, t in zip(SPARSE_IDS, OUTPUTS)], winnow_above=0)
    make("hot", [(i + 1, fingerprint(t)) for i, t in enumerate(HOT)], hot_outputs=3)
    make("empty_output", [(3, fingerprint("")), (4, fingerprint(OUTPUTS[1]))])
    return made


def _fragment(draw_text: str, start: int, length: int) -> str:
    words = draw_text.split()
    return " ".join(words[start:start + length])


WORD = st.sampled_from(WORDS + RARE + BOILERPLATE.split())
PIECE = st.one_of(
    st.just(""),
    st.text(max_size=40),  # arbitrary unicode, control characters included
    st.lists(WORD, max_size=60).map(" ".join),
    st.builds(_fragment, st.sampled_from(OUTPUTS + HOT), st.integers(0, 120), st.integers(0, 120)),
    st.sampled_from(OUTPUTS + HOT),
    st.just(BOILERPLATE),
)
FIELD_TEXT = st.lists(PIECE, max_size=4).map(" ".join)
FIELDS = st.lists(st.tuples(st.sampled_from(["prompt", "completion", "messages[1].content", "text"]),
                            FIELD_TEXT), max_size=5)
RECORDS = st.lists(FIELDS, max_size=8)


def _check_sane(index: OutputIndex, records, results) -> None:
    assert len(results) == len(records)
    indexed = {int(i) for s in index.segments for i in s.ids}
    for fields, matches in zip(records, results):
        paths = {p for p, _ in fields}
        found = [m.output_id for m in matches]
        assert len(found) == len(set(found)), "an output is reported once per record"
        for m in matches:
            assert m.output_id in indexed
            assert 0.0 <= m.output_coverage <= 1.0
            assert 0.0 <= m.record_coverage <= 1.0
            assert m.matched_words >= 0 and m.longest_run >= 0
            assert set(m.fields) <= paths and m.fields


@pytest.mark.parametrize("name", ["empty", "tiny", "short_only", "sparse", "sparse_winnowed", "hot",
                                  "empty_output"])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(records=RECORDS)
def test_any_records_match_without_error_and_batching_changes_nothing(indexes, name, records):
    index = indexes[name]
    detector = ReuseDetector(index)
    together = detector.match_many(records)
    _check_sane(index, records, together)
    alone = [detector.match(fields) for fields in records]
    assert together == alone, "a record's matches must not depend on the records batched with it"


@pytest.mark.parametrize("name", ["tiny", "sparse", "sparse_winnowed", "hot"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(FIELD_TEXT, max_size=6))
def test_fingerprint_records_match_like_their_text(indexes, name, texts):
    detector = ReuseDetector(indexes[name])
    by_fingerprint = detector.match_fingerprints([fingerprint(t) for t in texts])
    by_text = [detector.match([("upload", t)]) for t in texts]
    assert by_fingerprint == by_text


def test_one_shared_five_gram_is_no_candidate_and_no_error(indexes):
    """The #10 crash: postings were hit, but no (record, output) pair reached the bucket
    threshold, which left no keys to count."""
    detector = ReuseDetector(indexes["tiny"])
    words = OUTPUTS[0].split()
    note = f"Meeting notes. We agreed that {' '.join(words[10:10 + K])} is fine; nothing else to add here."
    assert detector.match([("text", note)]) == []
    assert detector.match_many([[("text", note)], [("text", "unrelated words only")]]) == [[], []]


@pytest.mark.parametrize("name", ["tiny", "sparse", "sparse_winnowed"])
def test_verbatim_output_is_found_once_however_often_it_repeats(indexes, name):
    detector = ReuseDetector(indexes[name])
    first = int(indexes[name].segments[0].ids[0])
    text = OUTPUTS[0]
    for record in ([("completion", text)],
                   [("completion", f"{text} {text} {text}")],  # duplicate hits of one output
                   [("prompt", text), ("completion", text)]):
        assert [m.output_id for m in detector.match(record)] == [first]


def test_many_outputs_in_one_record_are_all_found(indexes):
    detector = ReuseDetector(indexes["sparse"])
    joined = "\n\n".join(OUTPUTS)
    assert sorted(m.output_id for m in detector.match([("text", joined)])) == SPARSE_IDS


def test_only_hot_five_grams_find_nothing(indexes):
    detector = ReuseDetector(indexes["hot"])
    assert len(indexes["hot"].hot) > 0
    record = [("completion", " ".join([BOILERPLATE] * 30))]
    assert detector.match(record) == []
    assert [m.output_id for m in detector.match([("completion", HOT[2])])] == [3]


def test_empty_and_huge_fields(indexes):
    detector = ReuseDetector(indexes["sparse_winnowed"])
    rng = random.Random(5)
    huge = " ".join(rng.choice(WORDS) for _ in range(400_000))
    records = [[], [("a", "")], [("a", ""), ("b", "   \n\t")], [("a", huge)],
               [("a", huge + " " + OUTPUTS[2] + " " + huge)]]
    found = detector.match_many(records)
    assert found[:4] == [[], [], [], []]
    assert [m.output_id for m in found[4]] == [SPARSE_IDS[2]]


# records up to 5e6 with outputs near 2^40 overflow the packed key: _count_pairs then sorts
HITS = st.lists(st.tuples(st.one_of(st.integers(0, 40), st.just(5_000_000)),
                          st.sampled_from([1, 2, 3, 997, (1 << 40) + 5]), st.booleans()), max_size=300)


@settings(max_examples=200, deadline=None)
@given(hits=HITS, winnowed_run=st.booleans())
def test_count_pairs_counts_exactly_every_pair_that_can_be_a_candidate(hits, winnowed_run):
    """_count_pairs against a plain count: every (record, output) pair with enough hits for a
    candidate is returned, every pair returned has its exact count; empty and all-below-threshold
    batches (the #10 crash) included, on both the bucket path and the sort path."""
    from collections import Counter

    import numpy as np

    from agent.reuse.matching import MIN_HITS_DENSE
    from agent.reuse.matching import MIN_HITS_WINNOWED
    from agent.reuse.matching import _count_pairs

    # an output lives in one segment: its winnowed flag is the same on all its hits
    flag = {o: (winnowed_run and o % 2 == 1) for _, o, _ in hits}
    record = np.array([r for r, _, _ in hits], dtype=np.int64)
    output = np.array([o for _, o, _ in hits], dtype=np.uint64)
    winnowed = np.array([flag[o] for _, o, _ in hits], dtype=bool)
    max_id = int(output.max()) if len(output) else 0
    got_record, got_output, got_count, got_thin = _count_pairs(record, output, winnowed, max_id)
    exact = Counter(zip(record.tolist(), output.tolist()))
    got = {(int(r), int(o)): (int(c), bool(t)) for r, o, c, t in
           zip(got_record.tolist(), got_output.tolist(), got_count.tolist(), got_thin.tolist())}
    assert len(got) == len(got_record), "each pair once"
    for pair, (count, thin) in got.items():
        assert count == exact[pair] and thin == flag[pair[1]]
    for pair, count in exact.items():
        if count >= (MIN_HITS_WINNOWED if flag[pair[1]] else MIN_HITS_DENSE):
            assert pair in got
