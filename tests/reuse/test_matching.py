from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.reuse import Fingerprint
from agent.reuse import fingerprint
from agent.reuse.index import OutputIndex
from agent.reuse.matching import ReuseDetector
from agent.reuse.roles import role_of
from agent.reuse.roles import role_of_fields
from agent.reuse.scoring import MIN_EVIDENCE_WORDS
from agent.reuse.scoring import SHORT as SHORT_TIER
from agent.reuse.scoring import TIERS
from tests.reuse.texts import BOILERPLATE
from tests.reuse.texts import answer
from tests.reuse.texts import answers
from tests.reuse.texts import edit

OUTPUTS = answers(100, 60)  # ids 1..60
SHORT = "Positive sentiment, confidence high, no further review needed."  # id 61 (9 words)
TINY = "Yes."  # id 62


@pytest.fixture(scope="module", params=["full", "winnowed"])
def detector(request, tmp_path_factory):
    directory = tmp_path_factory.mktemp(request.param)
    index = OutputIndex.open(directory, winnow_above=0 if request.param == "winnowed" else 1_000_000)
    index.add([(i + 1, fingerprint(t)) for i, t in enumerate(OUTPUTS)])
    index.add([(61, fingerprint(SHORT)), (62, fingerprint(TINY))])
    return ReuseDetector(index)


def other(seed: int, words: int = 200) -> str:
    return answer(random.Random(seed), words)


def reformat(text: str) -> str:
    sentences = text.split(". ")
    return "## ANSWER\n\n" + "\n".join(f"- **{s.upper()}**" for s in sentences).replace("'", "\u2019")


def ids(found) -> list[int]:
    return sorted(m.output_id for m in found)


@pytest.mark.parametrize(("make", "reuse_class"), [
    (lambda t: [("messages[0].content", "question?"), ("messages[1].content", t)], "exact"),
    (lambda t: [("messages[1].content", reformat(t))], "reformatted"),
    (lambda t: [("messages[1].content", " ".join(t.split()[: len(t.split()) * 6 // 10]))], "truncated"),
    (lambda t: [("text", other(1, 80) + " " + " ".join(t.split()[30:75]) + " " + other(2, 60))], "excerpt"),
    (lambda t: [("text", other(3, 300) + "\n\n" + t + "\n\n" + other(4, 200))], "embedded"),
    (lambda t: [("completion", edit(t, 0.10, seed=len(t)))], "edited"),
])
def test_each_reuse_class_is_found_and_named(detector, make, reuse_class):
    for output_id in (3, 17, 42):
        found = detector.match(make(OUTPUTS[output_id - 1]))
        assert ids(found) == [output_id]
        assert found[0].reuse_class == reuse_class


def test_exact_copy_scores(detector):
    text = OUTPUTS[9]
    found = detector.match([("q", "short question here"), ("a", text)])[0]
    words = fingerprint(text).word_count
    assert found.output_coverage == 1.0 and found.matched_words == words and found.longest_run == words
    assert found.record_coverage == pytest.approx(words / (words + 3))
    assert found.fields == ("a",)


def test_excerpt_scores_its_run(detector):
    words = OUTPUTS[20].split()
    excerpt = " ".join(words[40:90])
    text = other(5, 100) + " " + excerpt + " " + other(6, 100)
    found = detector.match([("text", text)])
    assert ids(found) == [21]
    assert found[0].longest_run == found[0].matched_words == 50
    assert found[0].record_coverage == pytest.approx(50 / fingerprint(text).word_count)
    assert found[0].output_coverage == pytest.approx(46 / len(fingerprint(OUTPUTS[20]).shingles))


def test_a_passage_shared_inside_an_answer_following_the_output_throughout_is_not_enough(detector):
    # Two versions of one model answering one question: one repeats a 45-word passage of the other
    # word for word, and the rest keeps some of its wording, in order (40 % of words changed).
    # The same passage alone in other text is an excerpt (test_excerpt_scores_its_run).
    for i in range(4):
        words = OUTPUTS[i].split()
        record = (edit(" ".join(words[:50]), 0.4, seed=i) + " " + " ".join(words[50:95]) + " "
                  + edit(" ".join(words[95:]), 0.4, seed=i + 7))
        assert detector.match([("a", record)]) == []
        alone = other(i, 80) + " " + " ".join(words[50:95]) + " " + other(i + 7, 80)
        assert ids(detector.match([("a", alone)])) == [i + 1]


# 25 % edits: 18 of 20 before the same-prompt precision work (bench/same_prompt.py), which
# demands aligned hits all along the output; heavily edited copies pay for it. 15 until the
# long-hole limit of session 6 (scoring.LONG_HOLES_SPACED, DRIFT_SPACED: a quarter of the words
# edited can leave long holes and drift as an independent answer does), 14 since.
@pytest.mark.parametrize(("share", "minimum"), [(0.10, 20), (0.25, 14)])
def test_edited_copies(detector, share, minimum):
    hits = sum(ids(detector.match([("a", edit(OUTPUTS[i], share, seed=i))])) == [i + 1] for i in range(20))
    assert hits >= minimum


def test_two_outputs_in_one_record_are_both_reported(detector):
    record = [("messages[1].content", OUTPUTS[4]), ("messages[2].content", "and then?"),
              ("messages[3].content", " ".join(OUTPUTS[50].split()[:60]))]
    found = detector.match(record)
    assert ids(found) == [5, 51]
    by_id = {m.output_id: m for m in found}
    assert by_id[5].fields == ("messages[1].content",)
    assert by_id[51].reuse_class == "truncated"
    assert by_id[5].record_coverage + by_id[51].record_coverage == pytest.approx(1.0, abs=0.05)


def test_output_split_across_fields_is_found(detector):
    words = OUTPUTS[7].split()
    found = detector.match([("part1", " ".join(words[:70])), ("part2", " ".join(words[70:]))])
    assert ids(found) == [8]
    assert found[0].output_coverage == 1.0


@pytest.mark.parametrize("seed", range(10))
def test_unrelated_same_vocabulary_text_is_not_flagged(detector, seed):
    assert detector.match([("a", other(1000 + seed, 250)), ("b", other(2000 + seed, 40))]) == []


def test_boilerplate_only_record_is_not_flagged(detector):
    record = [("a", f"{BOILERPLATE} Sure. {BOILERPLATE}"), ("b", "Let me know if you have any other questions.")]
    assert detector.match(record) == []


@pytest.mark.parametrize(("fields", "expected"), [
    ([("label", SHORT)], [61]),
    ([("label", "positive SENTIMENT — confidence: high; no further review needed")], [61]),
    ([("text", f"Reviewer notes: {SHORT} Then more words follow here.")], []),  # inside a longer field
    ([("a", "Positive sentiment, confidence high,"), ("b", "no further review needed.")], [61]),  # whole record
    ([("answer", "Yes.")], []),  # one- and two-word outputs are too common to mean anything
])
def test_short_outputs_match_whole_fields_only(detector, fields, expected):
    assert ids(detector.match(fields)) == expected


def test_short_exact_and_reformatted_are_told_apart(detector):
    assert detector.match([("x", SHORT)])[0].reuse_class == "exact"
    assert detector.match([("x", SHORT.upper())])[0].reuse_class == "reformatted"


def test_batches_give_the_same_answers_as_single_records(detector):
    records = [[("a", OUTPUTS[i])] if i % 3 == 0 else [("a", other(i, 120))] for i in range(30)]
    one_by_one = [detector.match(r) for r in records]
    small_batches = ReuseDetector(detector.index, batch_bytes=2000)
    assert small_batches.match_many(records) == one_by_one
    assert [ids(f) for f in one_by_one] == [[i + 1] if i % 3 == 0 else [] for i in range(30)]


def test_empty_records_and_fields(detector):
    assert detector.match_many([[], [("a", "")], [("a", "   ")]]) == [[], [], []]


def test_verification_can_use_the_callers_fingerprints(tmp_path):
    texts = answers(300, 10)
    blobs = {i + 1: fingerprint(t).to_blob() for i, t in enumerate(texts)}
    index = OutputIndex.open(tmp_path)
    index.add((i, Fingerprint.from_blob(b)) for i, b in blobs.items())
    asked: list[int] = []

    def load(output_ids):
        asked.extend(output_ids)
        return {i: Fingerprint.from_blob(blobs[i]) for i in output_ids}

    record = [("a", " ".join(texts[6].split()[10:70]))]
    with_callback = ReuseDetector(index, load_fingerprints=load).match(record)
    assert ids(with_callback) == [7] and 7 in asked
    assert with_callback == ReuseDetector(index).match(record)


def test_a_text_file_holding_many_outputs_reports_them_all(detector):
    paragraphs = [(f"paragraph[{i}]", OUTPUTS[i]) for i in range(45)]
    found = detector.match(paragraphs)
    assert ids(found) == list(range(1, 46))
    assert {m.reuse_class for m in found} == {"exact"}
    shouted = detector.match([(p, t.upper()) for p, t in paragraphs])  # found by the shingle layer
    assert ids(shouted) == list(range(1, 46))
    assert {m.reuse_class for m in shouted} == {"reformatted"}


SINGLE_FIELD_RECORDS = [
    OUTPUTS[2],  # exact
    reformat(OUTPUTS[16]),  # reformatted
    " ".join(OUTPUTS[41].split()[:50]),  # truncated
    other(1, 80) + " " + " ".join(OUTPUTS[9].split()[30:75]) + " " + other(2, 60),  # excerpt
    other(3, 300) + "\n\n" + OUTPUTS[10] + "\n\n" + other(4, 200),  # embedded
    edit(OUTPUTS[11], 0.10, seed=11),  # edited
    OUTPUTS[4] + "\n\n" + " ".join(OUTPUTS[50].split()[:60]),  # two outputs
    SHORT,  # short output, exact
    SHORT.upper(),  # short output, reformatted
    other(1000, 250), other(1001, 40), f"{BOILERPLATE} Sure. {BOILERPLATE}", "Yes.", "", "two words",
]


def test_fingerprints_match_like_the_texts_they_were_made_from(detector):
    by_fingerprint = detector.match_fingerprints([fingerprint(t) for t in SINGLE_FIELD_RECORDS], path="f")
    by_text = [detector.match([("f", t)]) for t in SINGLE_FIELD_RECORDS]
    assert by_fingerprint == by_text
    classes = [sorted(m.reuse_class for m in found) for found in by_fingerprint]
    assert classes[:9] == [["exact"], ["reformatted"], ["truncated"], ["excerpt"], ["embedded"], ["edited"],
                           ["embedded", "truncated"], ["exact"], ["reformatted"]]
    assert by_fingerprint[9:] == [[]] * 6


def test_fingerprints_in_small_batches(detector):
    fingerprints = [fingerprint(t) for t in SINGLE_FIELD_RECORDS]
    small = ReuseDetector(detector.index, batch_bytes=8 * 400 * 2)  # two records per batch
    assert small.match_fingerprints(fingerprints) == detector.match_fingerprints(fingerprints)
    assert detector.match_fingerprints([]) == []


# ---- where the reused text sits, and answers to the same prompt -------------------------------

QUESTION = answer(random.Random(900), 60)  # a long question, e.g. one that pastes a code block


@pytest.fixture(scope="module")
def same_prompt(tmp_path_factory):
    """Output 1 answers QUESTION by repeating it and adding its own 120 words; output 2 is an
    unrelated answer captured without its prompt."""
    index = OutputIndex.open(tmp_path_factory.mktemp("same-prompt"))
    own = other(901, 120)
    index.add([(1, fingerprint(QUESTION + " " + own, [QUESTION])), (2, fingerprint(OUTPUTS[7]))])
    return ReuseDetector(index), QUESTION + " " + own


def chat(prompt: str, response: str) -> list[tuple[str, str]]:
    from agent.scan.readers import string_fields

    return string_fields({"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]})


def test_a_copy_names_its_fields_side_and_tier(same_prompt):
    detector, output = same_prompt
    found = detector.match(chat(QUESTION, output))
    assert ids(found) == [1]
    assert (found[0].fields, found[0].role, found[0].tier) == (("messages[1].content",), "response", "verbatim")
    edited = detector.match(chat("q", edit(OUTPUTS[7], 0.10, seed=3)))
    assert ids(edited) == [2] and edited[0].role == "response" and edited[0].tier == "near-verbatim"


def test_a_short_output_is_reported_in_the_short_tier_only(tmp_path):
    """Outputs under MIN_EVIDENCE_WORDS words match as whole fields and are never rated verbatim;
    from that length on the same whole-field copy is."""
    words = other(903, 100).split()
    short, long = " ".join(words[:MIN_EVIDENCE_WORDS - 1]), " ".join(words[50:50 + MIN_EVIDENCE_WORDS])
    assert (fingerprint(short).word_count, fingerprint(long).word_count) == (MIN_EVIDENCE_WORDS - 1, MIN_EVIDENCE_WORDS)
    index = OutputIndex.open(tmp_path)
    index.add([(1, fingerprint(short)), (2, fingerprint(long))])
    detector = ReuseDetector(index)
    found = detector.match(chat("q", short))
    assert ids(found) == [1] and found[0].tier == SHORT_TIER
    assert [m.tier for m in detector.match(chat("q", short.upper() + " !"))] == [SHORT_TIER]  # reformatted
    assert [m.tier for m in detector.match(chat("q", long))] == ["verbatim"]


def test_another_answer_repeating_the_same_question_is_not_reuse(same_prompt):
    detector, output = same_prompt
    independent = QUESTION + " " + other(902, 120)
    assert detector.match(chat(QUESTION, independent)) == []  # the record's own prompt holds the echo
    assert detector.match([("text", independent)]) == []  # the capture marked it: no prompt needed
    assert ids(detector.match([("text", output)])) == [1]


def test_an_output_only_in_the_prompt_is_a_prompt_side_match(same_prompt):
    detector, _ = same_prompt
    found = detector.match(chat("Rate this answer: " + OUTPUTS[7], "It is fine, 7 of 10."))
    assert ids(found) == [2] and found[0].role == "prompt" and found[0].fields == ("messages[0].content",)
    both = detector.match(chat(OUTPUTS[7], OUTPUTS[7]))  # the response side is preferred
    assert ids(both) == [2] and both[0].role == "response"


PATHS = ["messages[0].content", "messages[1].content", "instruction", "output", "text", "conversations[1].value"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(PATHS), st.sampled_from(["", "tiny", "question", "copy", "half", "huge",
                                                                   "other"])), max_size=6),
       st.integers(0, 1000))
def test_any_record_gives_matches_that_name_real_fields(same_prompt, fields, seed):
    """Empty, tiny, duplicate and huge fields on either side: every match names fields the record
    has, its side follows from them, and its figures stay in range."""
    detector, output = same_prompt
    words = output.split()
    texts = {"": "", "tiny": "ok", "question": QUESTION, "copy": output, "half": " ".join(words[: len(words) // 2]),
             "huge": other(seed, 20_000) + " " + output, "other": other(seed, 150)}
    record = [(path, texts[kind]) for path, kind in fields]
    for match in detector.match(record):
        assert set(match.fields) <= {p for p, _ in record}
        assert match.role == role_of_fields(match.fields) and match.tier in TIERS
        assert 0 < match.output_coverage <= 1 and 0 < match.record_coverage <= 1 and match.matched_words > 0
        if match.output_id == 1 and match.role == "prompt":
            assert all(role_of(p) == "prompt" for p in match.fields)


def _statements(seed: int, count: int = 12) -> list[str]:
    words = other(seed, 7 * count).split()
    return [" ".join(words[7 * i:7 * i + 7]) + "." for i in range(count)]


def test_a_numbered_restatement_of_the_question_is_no_evidence(tmp_path):
    """Two answers number the statements the question listed ("1. ... 2. ...") and then reason
    differently: the 5-grams around each number are the question's words but one, and must not
    make a verbatim run of the answer's own. An excerpt of that answer holding 45 words of its own
    reasoning next to the list is still found, as an excerpt."""
    statements = _statements(905)
    question = "Read the statements and answer: " + " ".join(statements)
    listed = " ".join(f"{n}. {s}" for n, s in enumerate(statements, 1))
    own = other(906, 120)
    captured = "Here is the reasoning: " + listed + " " + own
    index = OutputIndex.open(tmp_path)
    index.add([(1, fingerprint(captured, [question]))])
    detector = ReuseDetector(index)
    independent = "Here is the reasoning: " + listed + " " + other(907, 120)
    assert ids(detector.match(chat(question, independent))) == []
    excerpt = listed + " " + " ".join(own.split()[:45])
    found = detector.match(chat(question, other(908, 60) + " " + excerpt + " " + other(909, 60)))
    assert ids(found) == [1] and found[0].reuse_class == "excerpt"


def test_records_are_spaced_unless_mostly_cjk(detector):
    """The long-hole limit (scoring.LONG_HOLES_SPACED) is for space-delimited text: a record of
    Japanese, Chinese or Korean prose is not spaced, English with a quoted name in kanji is."""
    records = [[("text", OUTPUTS[0])], [("text", "設定ファイルを編集してから、サービスを再起動してください。" * 3)],
               [("a", "这个软件包提供了一个简单的工具。"), ("b", "ok")], [("text", "패키지를 설치하려면 다음 명령을 실행하십시오.")],
               [("text", OUTPUTS[1] + " 東京")], [("text", "")]]
    batch = detector._tokenise(records)
    assert batch.spaced.tolist() == [True, False, False, False, True, False]
    assert detector._from_fingerprints([fingerprint(OUTPUTS[0])], "upload").spaced is None


def _rewritten_in_places(text: str) -> str:
    """Ten words of the output kept, the next twelve written anew in eighteen, all along it: what
    an independent answer that shares phrases in step with the output looks like."""
    words = text.split()
    kept = []
    for block, start in enumerate(range(0, len(words), 22)):
        kept += words[start:start + 10] + [f"zq{block}x{n}" for n in range(18)]
    return " ".join(kept)


def test_long_holes_that_drift_refuse_spaced_text_but_not_fingerprints_without_it(detector):
    """The record's text tells the detector it is space-delimited, and then long holes that drift
    are an independent answer (scoring.LONG_HOLES_SPACED); an uploaded fingerprint carries no
    text, so it is judged as CJK text is, and the same alignment is still an edited copy."""
    record = _rewritten_in_places(OUTPUTS[3])
    assert detector.match([("a", record)]) == []
    found = detector.match_fingerprints([fingerprint(record)])
    assert ids(found[0]) == [4] and found[0][0].reuse_class == "edited"


_CJK = st.sampled_from([chr(c) for c in (*range(0x3041, 0x3097), *range(0x4E00, 0x4E80), *range(0xAC00, 0xAC80))])
_PIECE = st.one_of(st.text(_CJK, min_size=1, max_size=12),
                   st.text(st.sampled_from("abcdefghij"), min_size=1, max_size=8))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.lists(_PIECE, max_size=8).map(" ".join), min_size=1, max_size=3), min_size=1, max_size=5))
def test_a_record_is_spaced_when_it_has_fewer_cjk_characters_than_half_its_tokens(detector, records):
    batch = detector._tokenise([[(f"f{i}", text) for i, text in enumerate(fields)] for fields in records])
    tokens = (batch.record_tokens[:, 1] - batch.record_tokens[:, 0]).tolist()
    cjk = [sum(0x3000 <= ord(ch) < 0xD800 for text in fields for ch in text) for fields in records]
    assert batch.spaced.tolist() == [c * 2 < t for c, t in zip(cjk, tokens)]


def test_a_short_output_with_one_passage_written_differently_is_not_a_copy(tmp_path):
    # Two versions of one model answering one prompt (a 60-word spec): alike but one sentence, which
    # each wrote in its own words at about the same length. Its pieces around that sentence are
    # under MIN_RUN_WORDS; a copy with edits spread at random, or with that passage cut out, is reuse.
    rng = random.Random(7)
    outputs = [answer(rng, 60) for _ in range(6)]
    index = OutputIndex.open(tmp_path)
    index.add([(i + 1, fingerprint(t)) for i, t in enumerate(outputs)])
    found_by = ReuseDetector(index)
    for i, text in enumerate(outputs):
        words = text.split()
        middle = len(words) // 2
        rewritten = " ".join(words[: middle - 4] + other(100 + i, 8).split()[:8] + words[middle + 4:])
        assert found_by.match([("a", rewritten)]) == []
        cut = " ".join(words[: middle - 4] + words[middle + 4:])
        assert ids(found_by.match([("a", cut)])) == [i + 1]
    assert sum(ids(found_by.match([("a", edit(t, 0.10, seed=i))])) == [i + 1] for i, t in enumerate(outputs)) >= 5


def test_a_similar_match_inside_a_stronger_one_of_another_output_is_explained_by_it(tmp_path):
    """Output 2 holds 90 words of output 1. A 25 %-edited copy of output 1 holds those words
    edited too, and alone output 2 is then matched as similar for some copies; with output 1
    indexed, output 1 explains them (scoring.explained) and output 2 is not named."""
    rng = random.Random(7)
    whole = answer(rng, 300)
    part = " ".join(whole.split()[100:190]) + " " + answer(rng, 20)
    both = OutputIndex.open(tmp_path / "both")
    both.add([(1, fingerprint(whole)), (2, fingerprint(part))])
    alone = OutputIndex.open(tmp_path / "alone")
    alone.add([(2, fingerprint(part))])
    copies = [[("completion", edit(whole, 0.25, seed=seed))] for seed in range(24)]
    alone_found = [ids(found) for found in ReuseDetector(alone).match_many(copies)]
    assert alone_found.count([2]) >= 1
    for found in ReuseDetector(both).match_many(copies):
        assert 2 not in ids(found)
    # a record holding both texts apart names both
    apart = [("completion", edit(whole, 0.1, seed=1) + "\n\n" + other(9, 80) + "\n\n" + part)]
    assert ids(ReuseDetector(both).match(apart)) == [1, 2]
