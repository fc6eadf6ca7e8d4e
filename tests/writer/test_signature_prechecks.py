"""The signature's prechecks skip a mask only where it could not have matched: the skeleton is
the one every mask and the space regex, run unconditionally, give."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.writer import signature

# characters every mask and precheck turns on, and their Unicode look-alikes
_PIECES = st.sampled_from(["```", "://", "http://x.io/a", "@", "a@b.co", '"', "\u201c", "\u201d", "`", "'", "x" * 24,
                           "y" * 23, "0", "7", "\u0663", "\u00b2", "-", "+", ":", " ", "  ", "\t", "\f", "\v", "\n",
                           "\n\n", "\x1c", "\u00a0", "\u3000", "word", "Q", "<v>", "é"])
TEXTS = st.one_of(st.text(max_size=300), st.lists(st.one_of(_PIECES, st.text(max_size=4)), max_size=80).map("".join))


_ORIGINAL_MASKS = [re.compile(p, f) for p, f in [
    (r"```.*?(?:```|$)", re.S), (r"\b(?:https?|ftp|s3|gs)://\S+", 0), (r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b", 0),
    (r"\"[^\"\n]{0,2000}\"|“[^”\n]{0,2000}”|`[^`\n]{0,2000}`|(?<!\w)'[^'\n]{0,2000}'(?!\w)", 0), (r"\S{24,}", 0),
    (r"[-+]?\d[\d,._:/-]*", 0)]]
_ORIGINAL_SLOT_RUN = re.compile(r"(?:<v>[ \t]*){2,}")


def _reference_skeleton(text: str) -> tuple[str, bool]:
    """_skeleton as it was before the prechecks: the original regexes on every text."""
    original_mask, original_collapse, original_run = signature._mask, signature._collapse_spaces, signature._SLOT_RUN

    def mask_all(t: str) -> str:
        for pattern in _ORIGINAL_MASKS:
            t = pattern.sub(signature.SLOT, t)
        return t

    signature._mask, signature._collapse_spaces = mask_all, lambda line: signature._SPACES.sub(" ", line)
    signature._SLOT_RUN = _ORIGINAL_SLOT_RUN
    try:
        return signature._skeleton(text)
    finally:
        signature._mask, signature._collapse_spaces, signature._SLOT_RUN = original_mask, original_collapse, original_run


@settings(max_examples=600, deadline=None)
@given(TEXTS)
def test_prechecks_never_change_a_skeleton(text):
    assert signature._skeleton(text) == _reference_skeleton(text)


@given(st.integers(min_value=0, max_value=5), TEXTS)
def test_a_skipped_mask_has_nothing_to_match(index, text):
    if not signature._may_match(index, text):
        assert _ORIGINAL_MASKS[index].search(text) is None


def test_empty_and_huge_segments():
    assert signature._skeleton("") == _reference_skeleton("")
    huge = ("Question: what is 42 at http://a.b/c?  \"quoted\" it's\t" + "z" * 30 + "\n") * 3000
    assert signature._skeleton(huge) == _reference_skeleton(huge)
    assert re.search(r"<v>", signature._skeleton(huge)[0])


@settings(max_examples=400, deadline=None)
@given(st.integers(min_value=0, max_value=5), TEXTS)
def test_each_rewritten_mask_matches_what_the_original_matched(index, text):
    """The masks were rewritten to open with a character or set (a fast scan): same spans."""
    assert signature._MASKS[index].sub(signature.SLOT, text) == _ORIGINAL_MASKS[index].sub(signature.SLOT, text)


@given(TEXTS)
def test_the_slot_run_rewrite_merges_the_same_runs(text):
    assert signature._SLOT_RUN.sub("<v> ", text) == _ORIGINAL_SLOT_RUN.sub("<v> ", text)


def test_long_run_precheck_on_ascii_whitespace_as_regex_sees_it():
    for sep in (" ", "\t", "\x1c", "\x1f", "\n", "\v"):
        text = ("a" * 12 + sep + "b" * 12)
        assert signature._may_match(4, text) is False
        assert signature._may_match(4, text.replace(sep, "c")) is True
    assert signature._may_match(4, "") is False


def _reference_prompt_sha256(segments):
    import hashlib
    import unicodedata

    parts = [f"{role.lower()}\x1f{' '.join(unicodedata.normalize('NFC', text).split())}" for role, text in segments if text]
    return hashlib.sha256("\x1e".join(parts).encode("utf-8")).hexdigest() if parts else None


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["user", "System", "assistant"]), TEXTS), max_size=4))
def test_prompt_hash_skips_the_split_only_where_it_changes_nothing(segments):
    assert signature.prompt_sha256(segments) == _reference_prompt_sha256(segments)
    for _, text in segments:
        if signature._is_collapsed(text):
            assert " ".join(text.split()) == text


def test_ascii_number_mask_on_digits_signs_and_separators():
    for text in ("-5", "+-5", "a-b", "v1.2.3-rc", "2025-01-02", "x+7y", "--", "+", "-", "12:30/4,5"):
        assert signature._mask(text) == _ORIGINAL_MASKS[5].sub(signature.SLOT, text)


_ROLES = st.sampled_from(["system", "user", "developer", "assistant", "User"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_ROLES, st.one_of(TEXTS, st.sampled_from(["Question: x", "Summarise:\nabc", "a\uff1ab"]))),
                max_size=4))
def test_a_question_without_a_colon_skips_the_masks_and_keeps_its_signature(segments):
    """template_signature's shortcut for the question under a system prompt (no colon, so no
    structure): the signature that masking every segment gives."""
    original = signature._may_be_structured
    signature._may_be_structured = lambda text: True  # every segment through _skeleton, as before
    try:
        expected = signature.template_signature(segments)
    finally:
        signature._may_be_structured = original
    assert signature.template_signature(segments) == expected


@given(TEXTS)
def test_no_structure_without_a_colon(text):
    if not signature._may_be_structured(text):
        assert signature._skeleton(text)[1] is False


_ASCII_PIECES = st.sampled_from(["0", "7", "42", "-", "+", ",", ".", "_", ":", "/", "-3", "+1.5", "2024-05-01", " ",
                                 "a", "word", "\n", "x1", "1x", "--", "+-2", "9:30", "1,000,000"])


@settings(max_examples=600, deadline=None)
@given(st.lists(_ASCII_PIECES, max_size=40).map("".join))
def test_the_ascii_number_mask_over_the_digits_span_is_the_whole_texts(text):
    """_mask_ascii_numbers runs the number mask from the first digit to the last number's end only."""
    assert signature._mask_ascii_numbers(text) == signature._ASCII_NUMBER.sub(signature.SLOT, text)
    assert signature._mask_ascii_numbers(text) == _ORIGINAL_MASKS[5].sub(signature.SLOT, text)
