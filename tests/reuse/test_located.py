"""Tokens located in the text as read: the same tokens (and token hashes) as the normaliser gives,
each pointing at the characters it came from."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.reuse.located import locate_tokens
from agent.reuse.normalise import normalise
from agent.reuse.normalise import prepare
from agent.reuse.normalise import tokens
from agent.reuse.shingles import token_hashes


def _pieces(text: str) -> list[str]:
    located = locate_tokens(text)
    return [text[s:e] for s, e in zip(located.starts.tolist(), located.ends.tolist())]


def _check_invariants(text: str) -> None:
    located = locate_tokens(text)
    # the matcher's hashes, exactly: spans are made of the 5-grams the matcher compares
    assert np.array_equal(located.hashes, token_hashes(prepare(text))[1])
    assert len(located.starts) == len(located.ends) == len(located.hashes)
    assert np.all(located.starts >= 0) and np.all(located.ends <= len(text))
    assert np.all(located.starts <= located.ends)
    assert np.all(np.diff(located.starts) >= 0)  # in text order


def test_plain_ascii_points_at_each_word():
    text = "Restart the Server, then check: cache_hits=42!"
    assert _pieces(text) == ["Restart", "the", "Server", "then", "check", "cache", "hits", "42"]
    _check_invariants(text)


def test_markup_is_skipped_and_words_keep_their_place():
    text = "Use <b>bold</b> &amp; [the docs](https://x.example/a) then ```python\nrun()```"
    assert [normalise(p) for p in _pieces(text)] == tokens(text)
    pieces = _pieces(text)
    assert "bold" in pieces and "docs" in pieces and "https" not in pieces and "python" not in pieces
    _check_invariants(text)


def test_a_word_joined_across_markdown_delimiters_spans_them():
    text = "We **D**on't pass `str`s"
    located = locate_tokens(text)
    assert [text[a:b] for a, b in zip(located.starts, located.ends)] == ["We", "D**on", "t", "pass", "str`s"]
    assert located.hashes.tolist() == token_hashes(b" we don t pass strs ")[1].tolist()


def test_entities_map_to_the_whole_entity():
    text = "&eacute;l&egrave;ve &lt;b&gt;x&lt;/b&gt;"
    located = locate_tokens(text)
    assert tokens(text) == ["élève", "x"]
    assert text[located.starts[0]:located.ends[0]] == "&eacute;l&egrave;ve"
    _check_invariants(text)


def test_unicode_forms_point_at_the_original_characters():
    text = "Caf\u00e9 e\u0301t\u00e9 \uff21\uff22C \ufb01ne stra\u00dfe \u4e2d\u6587 \u201cquoted\u201d"
    pieces = _pieces(text)
    assert "e\u0301t\u00e9" in pieces  # a combining accent stays with its letter
    assert "\uff21\uff22C" in pieces  # full-width letters, one token
    assert "\ufb01ne" in pieces and "stra\u00dfe" in pieces
    assert "\u4e2d" in pieces and "\u6587" in pieces  # one token per CJK character
    _check_invariants(text)


def test_empty_and_separator_only_texts():
    for text in ("", " ", "!!! ---", "\u200b\u00ad", "<br/>"):
        assert len(locate_tokens(text)) == 0
        _check_invariants(text)


def test_a_huge_field():
    text = ("The restart of the cache server " * 20_000).strip()
    located = locate_tokens(text)
    assert len(located) == 120_000
    assert text[located.starts[-1]:located.ends[-1]] == "server"


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(list("ab Z9_-&;<>/[]()`~#x\u00e9\u0301\u00bd\u4e2d\ufb01\u00df\u200b\u2019")
                                + ["&amp;", "&lt;b&gt;", "<i>", "](u)", "```py", "\uac00", "\u1161", "*", "**",
                                   "&ast;"]),
                max_size=40).map("".join))
def test_any_text_gives_the_normaliser_tokens_inside_its_bounds(text):
    _check_invariants(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_unicode_text(text):
    _check_invariants(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=40), st.sampled_from(["", " ", "plain ascii words", "Caf\u00e9 <b>x</b>",
                                                                 "a" * 50, "!!"])), max_size=8))
def test_many_fields_at_once_are_each_located_as_alone(texts):
    from agent.reuse.located import locate_fields

    starts, ends, hashes, bounds = locate_fields(texts)
    assert len(bounds) == len(texts) + 1 and bounds[0] == 0 and bounds[-1] == len(hashes)
    for number, text in enumerate(texts):
        alone = locate_tokens(text)
        low, high = bounds[number], bounds[number + 1]
        assert np.array_equal(starts[low:high], alone.starts) and np.array_equal(ends[low:high], alone.ends)
        assert np.array_equal(hashes[low:high], alone.hashes)


_CJK_MIX = st.text(alphabet=st.sampled_from(list("ファイルシステムを作成しますジャーナリング中文分词测试包括한국어문서입니다테스트"
                                                 "ＡＢＣ１２３ｶﾀｶﾅ　、。「」 abcXYZ09-_.")), max_size=200)


@settings(max_examples=300, deadline=None)
@given(_CJK_MIX)
def test_chinese_japanese_korean_tokens_are_cut_as_the_matcher_cuts_them(text):
    # each located token must be exactly the matcher's token at that place (scripts.word_bounds),
    # found by cutting, not by aligning to the reference afterwards
    located = locate_tokens(text)
    words = [normalise(text[a:b]) for a, b in zip(located.starts.tolist(), located.ends.tolist())]
    assert len(located) == len(tokens(text))
    assert "".join(words) == "".join(tokens(text))


def test_a_character_folding_to_several_tokens_next_to_markup_keeps_text_order():
    _check_invariants("\u00bd```py\u00bd \u00bd")  # found by hypothesis: "½" is "1⁄2" after NFKC
