"""Matched spans: for records the real detector matched, where each output's words sit in each
field, as code-point ranges of the text as read."""

from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.reuse import fingerprint
from agent.reuse.index import OutputIndex
from agent.reuse.matching import ReuseDetector
from agent.reuse.normalise import normalise
from agent.reuse.spans import OutputWords
from agent.reuse.spans import detector_outputs
from agent.reuse.spans import record_spans
from agent.reuse.spans import spans_json
from tests.reuse.texts import WORDS
from tests.reuse.texts import answers
from tests.reuse.texts import edit

OUTPUTS = answers(31, 6, words=120)
SHORT = "Positive, confidence high."
SAME_AS_FIRST = OUTPUTS[0]  # a second output with the same words (an alias)


@pytest.fixture(scope="module")
def detector(tmp_path_factory) -> ReuseDetector:
    index = OutputIndex.open(tmp_path_factory.mktemp("spans-index"))
    entries = [(i + 1, fingerprint(t)) for i, t in enumerate(OUTPUTS)]
    entries += [(50, fingerprint(SHORT)), (60, fingerprint(SAME_AS_FIRST))]
    index.add(entries)
    return ReuseDetector(index)


def spans_of(detector: ReuseDetector, fields: list[tuple[str, str]]) -> tuple[list, list[dict]]:
    matches = detector.match(fields)
    outputs = detector_outputs(detector, [m.output_id for m in matches])
    return matches, spans_json(fields, outputs)


def covered_text(fields, spans, field) -> str:
    return " ".join(fields[s["field_index"]][1][s["start"]:s["end"]] for s in spans if s["field"] == field)


def assert_well_formed(fields: list[tuple[str, str]], spans: list[dict], allowed: set[int]) -> None:
    keys = [(s["field_index"], s["start"]) for s in spans]
    assert keys == sorted(keys)
    for before, after in zip(spans, spans[1:]):
        if before["field_index"] == after["field_index"]:
            assert before["end"] <= after["start"]  # never overlapping
    for s in spans:
        assert s["field"] == str(fields[s["field_index"]][0])
        text = fields[s["field_index"]][1]
        assert 0 <= s["start"] < s["end"] <= len(text)
        assert s["words"] >= 1 and s["outputs"] == sorted(set(s["outputs"])) and set(s["outputs"]) <= allowed
        assert s["text_sha256"] == hashlib.sha256(text[s["start"]:s["end"]].encode("utf-8", "surrogatepass")).hexdigest()


def test_exact_copy_covers_the_whole_answer_and_names_both_aliases(detector):
    fields = [("messages[0].content", "Explain the cache"), ("messages[1].content", OUTPUTS[0])]
    matches, spans = spans_of(detector, fields)
    assert {m.output_id for m in matches} == {1, 60}
    [span] = spans
    assert span["field"] == "messages[1].content" and span["outputs"] == [1, 60]
    assert span["start"] == 0 and span["end"] == len(OUTPUTS[0].rstrip(".")) and span["words"] == len(normalise(OUTPUTS[0]).split())
    assert_well_formed(fields, spans, {1, 60})


def test_reformatted_copy_points_at_the_reformatted_text(detector):
    text = "## Answer\n\n**" + OUTPUTS[1].upper().replace(". ", ".\n\n- ") + "**"
    fields = [("output", text)]
    matches, spans = spans_of(detector, fields)
    assert [m.output_id for m in matches] == [2]
    assert normalise(covered_text(fields, spans, "output")) == normalise(OUTPUTS[1])
    assert_well_formed(fields, spans, {2})


def test_truncated_and_embedded_copies_are_located(detector):
    words = OUTPUTS[2].split()
    truncated = " ".join(words[: len(words) * 2 // 3])
    prefix, suffix = "Here is what the assistant said last week: ", " That was all, thanks."
    fields = [("a", truncated), ("b", prefix + OUTPUTS[3] + suffix)]
    matches, spans = spans_of(detector, fields)
    assert {m.output_id for m in matches} == {3, 4}
    by_field = {s["field"]: s for s in spans}
    assert (by_field["a"]["start"], by_field["a"]["end"], by_field["a"]["outputs"]) == (0, len(truncated.rstrip(".")), [3])
    assert by_field["b"]["start"] == len(prefix) and by_field["b"]["outputs"] == [4]
    assert by_field["b"]["end"] == len(prefix) + len(OUTPUTS[3].rstrip("."))
    assert_well_formed(fields, spans, {3, 4})


def test_an_edited_copy_gives_ranges_inside_the_edited_text(detector):
    text = edit(OUTPUTS[4], 0.1, seed=3)
    fields = [("completion", text)]
    matches, spans = spans_of(detector, fields)
    assert [m.output_id for m in matches] == [5]
    assert len(spans) >= 2  # the edits cut the copy into several runs
    covered = sum(s["words"] for s in spans)
    assert 0.5 * len(normalise(text).split()) <= covered <= len(normalise(text).split())
    assert_well_formed(fields, spans, {5})


def test_two_outputs_in_one_field_are_told_apart(detector):
    text = OUTPUTS[4] + "\n\n" + OUTPUTS[5]
    fields = [("text", text)]
    _, spans = spans_of(detector, fields)
    assert [s["outputs"] for s in spans] == [[5], [6]]
    assert spans[0]["end"] <= len(OUTPUTS[4]) < spans[1]["start"]
    assert_well_formed(fields, spans, {5, 6})


def test_a_copy_split_across_fields_is_located_in_each(detector):
    words = OUTPUTS[5].split()
    half = len(words) // 2
    fields = [("instruction", " ".join(words[:half])), ("output", " ".join(words[half:]))]
    _, spans = spans_of(detector, fields)
    assert [s["field"] for s in spans] == ["instruction", "output"]
    assert all(s["outputs"] == [6] for s in spans)
    assert_well_formed(fields, spans, {6})


def test_a_short_output_matched_whole_covers_its_field(detector):
    fields = [("label", "  positive;  CONFIDENCE high!  "), ("other", "something else entirely")]
    matches, spans = spans_of(detector, fields)
    assert [m.output_id for m in matches] == [50]
    assert spans == [{"field": "label", "field_index": 0, "start": 2, "end": 28, "outputs": [50], "words": 3,
                      "text_sha256": hashlib.sha256(b"positive;  CONFIDENCE high").hexdigest()}]


def test_repeated_field_paths_are_kept_apart(detector):
    fields = [("text", "nothing reused here at all"), ("text", OUTPUTS[2])]
    _, spans = spans_of(detector, fields)
    assert len(spans) == 1 and spans[0]["end"] == len(OUTPUTS[2].rstrip("."))
    assert spans[0]["text_sha256"] == hashlib.sha256(OUTPUTS[2].rstrip(".").encode()).hexdigest()


def test_nothing_to_locate():
    assert record_spans([], {1: OutputWords(fingerprint(OUTPUTS[0]).shingles, b"")}) == []
    assert record_spans([("a", OUTPUTS[0])], {}) == []
    assert record_spans([("a", ""), ("b", "   ")], {1: OutputWords(fingerprint(OUTPUTS[0]).shingles, b"x")}) == []


def test_unknown_outputs_are_left_out(detector):
    assert detector_outputs(detector, [1, 999_999]).keys() == {1}


def test_fingerprints_from_the_store_give_the_same_spans(detector):
    """The scanner verifies with the store's fingerprints when it has them: same spans."""
    prints = {i + 1: fingerprint(t) for i, t in enumerate(OUTPUTS)}
    from_store = ReuseDetector(detector.index, load_fingerprints=lambda ids: {i: prints[i] for i in ids if i in prints})
    fields = [("text", "Intro words here. " + OUTPUTS[3])]
    assert spans_json(fields, detector_outputs(from_store, [4])) == spans_json(fields, detector_outputs(detector, [4]))


# ---- any record ------------------------------------------------------------------------------

_PIECE = st.one_of(
    st.builds(lambda i, a, b: " ".join(OUTPUTS[i].split()[min(a, b):max(a, b)]),
              st.integers(0, len(OUTPUTS) - 1), st.integers(0, 140), st.integers(0, 140)),
    st.lists(st.sampled_from(WORDS), max_size=20).map(" ".join),
    st.text(max_size=30),
    st.sampled_from([SHORT, "<b>", "&amp;", "\u00bd\ufb01", "e\u0301", "\u4e2d\u6587", "", "   "]),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "messages[1].content", "a"]),
                          st.lists(_PIECE, max_size=4).map(" ".join)), max_size=5),
       st.sampled_from(["none", "upper", "markdown", "edit"]))
def test_any_record_gives_sorted_disjoint_spans_inside_its_fields(detector, fields, change):
    if change == "upper":
        fields = [(p, t.upper()) for p, t in fields]
    elif change == "markdown":
        fields = [(p, t.replace(" ", " **", 1).replace(". ", ".\n\n* ")) for p, t in fields]
    elif change == "edit":
        fields = [(p, edit(t, 0.15, seed=len(t))) for p, t in fields]
    matches = detector.match(fields) if fields else []
    outputs = detector_outputs(detector, [m.output_id for m in matches] or list(range(1, 7)))
    spans = spans_json(fields, outputs)
    assert_well_formed(fields, spans, set(outputs))
    # the ranges hold the words they count, and only words of the outputs they name
    for s in spans:
        assert len(normalise(fields[s["field_index"]][1][s["start"]:s["end"]]).split()) >= 1


def test_spans_of_a_large_record_stay_cheap(detector):
    rng = random.Random(5)
    filler = " ".join(rng.choice(WORDS) for _ in range(30_000))
    fields = [("text", filler + " " + OUTPUTS[1] + " " + filler)]
    _, spans = spans_of(detector, fields)
    assert any(s["outputs"] == [2] and s["words"] >= 100 for s in spans)


def test_a_batch_of_records_gives_each_record_its_own_spans(detector):
    """spans_many over several records (as the scanner calls it) equals one record at a time."""
    from agent.reuse.spans import spans_many

    records = [[("a", "intro " + OUTPUTS[1])], [("b", "nothing here")], [("t", OUTPUTS[0].upper() + "\n\n" + OUTPUTS[2])],
               [("x", ""), ("y", edit(OUTPUTS[3], 0.1, seed=9))]]
    wanted = [[2], [], [1, 3, 60], [4]]
    outputs = detector_outputs(detector, [i for ids in wanted for i in ids])
    together = spans_many(records, wanted, outputs)
    alone = [spans_many([r], [w], outputs)[0] for r, w in zip(records, wanted)]
    assert together == alone
    assert [s.outputs for s in together[2]] == [(1, 60), (3,)]


def test_a_record_matching_very_many_outputs_names_them_all():
    """More outputs than bits in an integer: the sets of outputs are told apart another way."""
    first, second = fingerprint(OUTPUTS[0]), fingerprint(OUTPUTS[1])
    outputs = {i: OutputWords(first.shingles, first.exact) for i in range(1, 71)}
    outputs[100] = OutputWords(second.shingles, second.exact)
    spans = record_spans([("text", OUTPUTS[0] + " " + OUTPUTS[1])], outputs)
    assert [s.outputs for s in spans] == [tuple(range(1, 71)), (100,)]
    assert spans[0].end <= len(OUTPUTS[0]) < spans[1].start
