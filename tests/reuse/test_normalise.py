from __future__ import annotations

import unicodedata

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.reuse import fingerprint
from agent.reuse import normalise
from agent.reuse import tokens
from agent.reuse.normalise import _FULL_WIDTH_PUNCTUATION
from agent.reuse.normalise import _PUNCTUATION
from agent.reuse.normalise import ASCII_FOLD
from agent.reuse.normalise import _common_full_width
from agent.reuse.normalise import prepare
from agent.reuse.scripts import word_bounds


@pytest.mark.parametrize(("text", "expected"), [
    ("Hello, World!", "hello world"),
    ("ÀÉÎ straße", "àéî strasse"),  # casefold, not lower: ß -> ss
    ("ＡＢＣ １２３", "abc 123"),  # NFKC folds full-width forms
    ("it\u2019s \u201cquoted\u201d \u2014 dash", "it s quoted dash"),
    ("non\u00a0breaking\u202fspace", "non breaking space"),
    ("zero\u200bwidth\u200d joiner\ufeff", "zerowidth joiner"),
    ("soft\u00adhyphen", "softhyphen"),
    ("Fish &amp; chips &lt;3 &#8217;", "fish chips 3"),
    ("<p>Some <b>bold</b> text</p><br/>", "some bold text"),
    ("**bold** _italic_ `code` # Heading\n> quote\n| a | b |\n|---|---|", "bold italic code heading quote a b"),
    ("see [the docs](https://example.com/x \"title\") now", "see the docs now"),
    ("```python\nprint(1)\n```", "print"),  # "1)" reads as a list marker: dropped on both sides
    ("```python\nprint(12, x)\n```", "print 12 x"),
    ("version 3.14 has 2,048 items", "version 3 14 has 2 048 items"),
    ("snake_case and kebab-case", "snake case and kebab case"),
    ("東京タワーへ行く", "東 京 タワー へ 行 く"),  # a katakana word is one token (scripts.py)
    ("ภาษาไทย", "ภ า ษ า ไ ท ย"),
    ("Mixed 中文 text", "mixed 中 文 text"),
    ("한국어 문장", "한국 어 문장"),  # Hangul words are cut inside too (scripts.py)
    ("", ""),
    ("  \n\t ", ""),
])
def test_normalise(text, expected):
    assert normalise(text) == expected


@pytest.mark.parametrize(("a", "b"), [
    ("The Quick brown fox.", "the quick BROWN fox"),
    ("## Title\n\n- item one\n- item two", "Title item one item two"),
    ("He said \u201chi\u201d", 'he said "hi"'),
    ("<em>emphasis</em> here", "*emphasis* here"),
    ("tab\tseparated\nlines", "tab separated lines"),
])
def test_formatting_does_not_change_the_exact_layer(a, b):
    assert fingerprint(a).exact == fingerprint(b).exact
    assert fingerprint(a).text_hash != fingerprint(b).text_hash


@pytest.mark.parametrize(("a", "b"), [
    ("one two three", "one two four"),
    ("one two three", "three two one"),
    ("version 3", "version 4"),  # digits are kept
])
def test_different_words_change_the_exact_layer(a, b):
    assert fingerprint(a).exact != fingerprint(b).exact


def test_tokens_are_what_word_count_counts():
    text = "Déjà vu: 3 cafés, 東京!"
    assert tokens(text) == ["déjà", "vu", "3", "cafés", "東", "京"]
    assert fingerprint(text).word_count == 6


def test_lone_surrogates_do_not_raise():
    assert normalise("bad \ud800 half") == "bad half"


# Characters around which NFKC composes or reorders, and the punctuation prepare() handles itself.
_TRICKY = (list("，（）：；！？．\u3000ＡＢａｂ１２ｶﾞﾟ") + ["\u0301", "\u0308", "\u3099", "\u309a", "\u1161", "\u11a8"]
           + list("aeAEuU東京カタ가한ー 。、") + [chr(c) for c in _PUNCTUATION])


@given(st.text(st.sampled_from(_TRICKY), max_size=60))
def test_full_width_punctuation_replaced_before_nfkc_changes_nothing(text):
    assert unicodedata.normalize("NFKC", _common_full_width(text)) == unicodedata.normalize("NFKC", text)


def test_the_replaced_punctuation_is_what_nfkc_makes_of_it():
    for char, replacement in _FULL_WIDTH_PUNCTUATION:
        assert unicodedata.normalize("NFKC", char) == replacement and replacement.isascii()


@given(st.text(st.sampled_from(_TRICKY), max_size=60))
def test_typographic_punctuation_left_in_place_cuts_as_its_ascii_form(text):
    # prepare() translates only the characters that change tokens (deleted ones, ʼ); before, it
    # translated all of _PUNCTUATION between NFKC and case folding
    before = unicodedata.normalize("NFKC", text).translate(_PUNCTUATION).casefold().encode("utf-8", "surrogatepass")
    folded = b" " + before.translate(ASCII_FOLD) + b" "
    starts, ends = word_bounds(np.frombuffer(folded, dtype=np.uint8))
    assert tokens(text) == [folded[a:b].decode("utf-8", "surrogatepass") for a, b in zip(starts, ends)]


@pytest.mark.parametrize(("numbered", "bulleted"), [
    ("1. Flour\n2. Water\n10. Salt", "- Flour\n- Water\n- Salt"),
    ("Steps: 1) flour 2) water", "Steps: - flour - water"),
    ("<ol><li>1. flour</li><li>2. water</li></ol>", "* flour * water"),
    ("1. Flour\n2. Water", "1.Flour 2. Water".replace("1.F", "1. F")),
    ("1.1. Purpose\n1.2. Scope\n2.3.1. Tools", "- Purpose\n- Scope\n- Tools"),  # outline numbers
    ("1.1. Purpose", "1. Purpose"),
])
def test_ordered_list_markers_are_markup(numbered, bulleted):
    assert tokens(numbered) == tokens(bulleted)


@pytest.mark.parametrize(("text", "expected"), [
    ("costs 1.5 dollars", ["costs", "1", "5", "dollars"]),  # a decimal: no separator after the point
    ("version v2. next", ["version", "v2", "next"]),
    ("in 2026. Then", ["in", "2026", "then"]),  # four digits: a year, not a list marker
    ("call f(x1) now", ["call", "f", "x1", "now"]),
    ("see 1.1 and 2.3.1 below", ["see", "1", "1", "and", "2", "3", "1", "below"]),  # no point after
    ("host 10.0.0.1 up", ["host", "10", "0", "0", "1", "up"]),
    ("v1.2. next", ["v1", "next"]),  # a letter: no outline number, its last part a marker as before
])
def test_numbers_that_are_no_list_markers_stay(text, expected):
    assert tokens(text) == expected


@given(st.lists(st.sampled_from(["1.", "2)", "(3)", "12.", "999.", "1000.", "1.5", "1.2.", "2.3.1.", "1.2.3.4.5.",
                                 "1000.1.", "a.", "x", "word", "\n", " ", "第",
                                 "．", "。", "1", "-"]), max_size=30))
def test_list_markers_leave_the_same_words_on_one_line_or_many(parts):
    """A marker is told by the bytes around it only: collapsing the whitespace between the parts
    (what CSV and JSON exports do to a list) gives the same tokens."""
    text = " ".join(parts)
    assert tokens(text) == tokens(" ".join(text.split()))
    starts, ends = word_bounds(np.frombuffer(b" " + prepare(text).translate(ASCII_FOLD) + b" ",
                                             dtype=np.uint8))
    assert (starts < ends).all() and (starts[1:] >= ends[:-1]).all()


@pytest.mark.parametrize(("markdown", "rendered"), [
    ("**D**on't do that", "Don't do that"),  # emphasis on one letter of a word
    ("use `str`s and `int`s", "use strs and ints"),
    ("un*believ*able", "unbelievable"),
    ("x*a + y**2", "xa + y2"),  # a formula: "*" dropped on both sides, whatever renders it
    ("a &ast;b&ast;c", "a bc"),  # an entity decoding to one
])
def test_markdown_delimiters_inside_a_word_are_deleted(markdown, rendered):
    """What a Markdown renderer prints (the delimiters take no room) has the markdown's tokens."""
    assert tokens(markdown) == tokens(rendered)
    assert fingerprint(markdown).exact == fingerprint(rendered).exact


@pytest.mark.parametrize(("text", "expected"), [
    ("**Note**: a * b", ["note", "a", "b"]),  # at a word's edge or between spaces: a separator
    ("*args and **kwargs*", ["args", "and", "kwargs"]),
    ("snake_case", ["snake", "case"]),  # "_" inside a word is literal, not emphasis
    ("*", []),
    ("a*", ["a"]),
    ("***", []),
])
def test_delimiters_elsewhere_separate(text, expected):
    assert tokens(text) == expected


_WORD = st.text(alphabet="abcXYZ09\u00e9\u4e2d", min_size=1, max_size=6)


@given(st.lists(st.tuples(_WORD, st.sampled_from(["", "*", "**", "`", "*`"]), _WORD), max_size=12),
       st.sampled_from([" ", "\n", ", "]))
def test_a_rendered_copy_has_the_markdown_tokens(words, between):
    """Delimiters put inside words (emphasis on part of a word, a code span followed by letters)
    and then deleted, as rendering does, leave the same tokens."""
    markdown = between.join(f"{head}{mark}{tail}" for head, mark, tail in words)
    rendered = between.join(f"{head}{tail}" for head, _, tail in words)
    assert tokens(markdown) == tokens(rendered)
