"""The normalisation of width variants (issue #18 item 4): the same Japanese, Chinese or Korean
text typed in full-width or half-width forms has the same words, so a copy in other widths
matches as `reformatted`."""

from __future__ import annotations

import unicodedata

from hypothesis import HealthCheck
from hypothesis import assume
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.reuse import fingerprint
from agent.reuse import tokens
from agent.reuse.index import MIN_EXACT_WORDS
from agent.reuse.index import OutputIndex
from agent.reuse.matching import ReuseDetector

# half-width katakana and the full-width katakana NFKC makes of each
_HALF = {unicodedata.normalize("NFKC", chr(c)): chr(c) for c in range(0xFF66, 0xFF9E)}
_VOICED = {"\u3099": "\uff9e", "\u309a": "\uff9f"}


def half_width_katakana(text: str) -> str:
    out = []
    for ch in text:
        base = unicodedata.normalize("NFD", ch)
        if ch in _HALF:
            out.append(_HALF[ch])
        elif len(base) == 2 and base[0] in _HALF and base[1] in _VOICED:
            out.append(_HALF[base[0]] + _VOICED[base[1]])  # ガ -> ｶﾞ
        else:
            out.append(ch)
    return "".join(out)


def full_width_ascii(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else "\u3000" if ch == " " else ch for ch in text)


def ideographic_punctuation(text: str) -> str:
    return text.replace(",", "、").replace(".", "。").replace("(", "（").replace(")", "）")


WIDTHS = (half_width_katakana, full_width_ascii, ideographic_punctuation,
          lambda t: half_width_katakana(full_width_ascii(t)))

KANA = [chr(c) for c in range(0x30A1, 0x30F7)] + ["ー"]
HIRAGANA = [chr(c) for c in range(0x3041, 0x3094)]
HAN = [chr(c) for c in range(0x4E00, 0x4E00 + 400)]
HANGUL = [chr(c) for c in range(0xAC00, 0xAC00 + 200)]
LATIN = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
pieces = st.one_of(
    st.text(st.sampled_from(KANA), min_size=1, max_size=8),
    st.text(st.sampled_from(HIRAGANA), min_size=1, max_size=4),
    st.text(st.sampled_from(HAN), min_size=1, max_size=6),
    st.text(st.sampled_from(HANGUL), min_size=1, max_size=5),
    st.text(st.sampled_from(LATIN), min_size=1, max_size=8),
    st.sampled_from([" ", ", ", ". ", "(", ")", "-", "/", "3.14"]),
)
texts = st.lists(pieces, max_size=80).map("".join)


@given(texts, st.sampled_from(WIDTHS))
@settings(max_examples=300, deadline=None)
def test_other_widths_have_the_same_words(text, widen):
    assert tokens(widen(text)) == tokens(text)
    assert fingerprint(widen(text)).exact == fingerprint(text).exact


@given(st.lists(pieces, min_size=60, max_size=120).map("".join), st.sampled_from(WIDTHS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
def test_a_copy_in_other_widths_is_found_as_reformatted(tmp_path_factory, text, widen):
    other = widen(text)
    assume(other.strip() != text.strip() and fingerprint(text).word_count >= MIN_EXACT_WORDS)
    index = OutputIndex.open(tmp_path_factory.mktemp("widths"))
    index.add([(1, fingerprint(text))])
    found = ReuseDetector(index).match([("messages[1].content", other)])
    assert [(m.output_id, m.reuse_class) for m in found] == [(1, "reformatted")]


def test_a_real_sentence_in_half_and_full_width():
    text = "ファイルシステムをmkfs.ext4で作成し、/etc/fstabに1行追加します。"
    typed = "ﾌｧｲﾙｼｽﾃﾑをｍｋｆｓ．ｅｘｔ４で作成し、／ｅｔｃ／ｆｓｔａｂに１行追加します。"
    assert tokens(typed) == tokens(text)
    assert fingerprint(typed).exact == fingerprint(text).exact
    assert fingerprint(typed).text_hash != fingerprint(text).text_hash


def test_markup_typed_in_full_width_is_markup_too():
    text = "约定 <foo> 版本号的格式，参见 <osamu@debian.org> 的说明。"
    assert tokens(full_width_ascii(text)) == tokens(text)


def test_a_list_marker_ended_by_an_ideographic_full_stop_is_dropped_as_its_ascii_form():
    """"0。 " is "0. " written with ideographic punctuation (hypothesis found the marker kept)."""
    assert tokens("0. ") == tokens("0。 ") == []
    assert tokens("1。 项目 2。 测试") == tokens("1. 项目 2. 测试")
    assert tokens("价格是3。然后") == tokens("价格是3.然后")  # not a marker: no separator after it
    assert tokens("1&#12290; item") == tokens("1. item") == ["item"]  # an entity decodes to one too
