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


def _reference_skeleton(text: str) -> tuple[str, bool]:
    """_skeleton as it was before the prechecks: the original regexes on every text."""
    original_mask, original_collapse = signature._mask, signature._collapse_spaces

    def mask_all(t: str) -> str:
        for pattern in _ORIGINAL_MASKS:
            t = pattern.sub(signature.SLOT, t)
        return t

    signature._mask, signature._collapse_spaces = mask_all, lambda line: signature._SPACES.sub(" ", line)
    try:
        return signature._skeleton(text)
    finally:
        signature._mask, signature._collapse_spaces = original_mask, original_collapse


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
