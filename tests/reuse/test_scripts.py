from __future__ import annotations

import random

import numpy as np
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.reuse import fingerprint
from agent.reuse import tokens
from agent.reuse.scripts import CUT_SHARE
from agent.reuse.scripts import HAN
from agent.reuse.scripts import HANGUL
from agent.reuse.scripts import HIRAGANA
from agent.reuse.scripts import KATAKANA
from agent.reuse.scripts import OTHER
from agent.reuse.scripts import SEPARATOR
from agent.reuse.scripts import TOKENISER
from agent.reuse.scripts import _points_by_codec
from agent.reuse.scripts import _points_by_numpy
from agent.reuse.scripts import cut_positions
from agent.reuse.scripts import script_class
from agent.reuse.scripts import word_bounds

HAN_CHARS = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
HIRAGANA_CHARS = [chr(c) for c in range(0x3041, 0x3097)]
KATAKANA_CHARS = [chr(c) for c in range(0x30A1, 0x30FB)] + ["ー"]
HANGUL_CHARS = [chr(c) for c in range(0xAC00, 0xAC00 + 300)]
cjk_text = st.text(st.sampled_from(HAN_CHARS[:200] + HIRAGANA_CHARS + KATAKANA_CHARS + HANGUL_CHARS), max_size=300)


def points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def test_script_classes():
    assert script_class(points("漢ひカーa 한々・")).tolist() == [HAN, HIRAGANA, KATAKANA, KATAKANA, OTHER, SEPARATOR,
                                                              HANGUL, HAN, SEPARATOR]


def test_a_katakana_loanword_is_one_token_and_scripts_are_cut_apart():
    assert tokens("ファイルシステム") == ["ファイルシステム"]
    found = tokens("設定ファイルを編集します")
    assert "ファイル" in found and "を" in found
    assert "".join(found) == "設定ファイルを編集します"


def test_latin_terms_and_code_inside_japanese_are_their_own_words():
    found = tokens("Linuxカーネルの設定は/etc/sysctl.confにあり、sysctl -pで読み込みます。")
    for word in ("linux", "カーネル", "etc", "sysctl", "conf", "p"):
        assert word in found
    assert "の" in found


def test_hangul_words_are_cut_inside_and_thai_is_cut_per_character():
    found = tokens("파일 시스템을 만듭니다")
    assert " ".join(found).replace(" ", "") == "파일시스템을만듭니다"
    assert len(found) > 3  # the particle of 시스템을 is not glued to every word
    assert tokens("ภาษา") == ["ภ", "า", "ษ", "า"]


def test_han_tokens_average_two_to_three_characters():
    r = random.Random(7)
    text = "".join(r.choice(HAN_CHARS) for _ in range(20_000))
    found = tokens(text)
    assert "".join(found) == text
    mean = len(text) / len(found)
    assert abs(mean - 8 / CUT_SHARE) < 0.15 * 8 / CUT_SHARE


@given(cjk_text)
@settings(max_examples=200, deadline=None)
def test_segmenting_keeps_every_character_in_order(text):
    assert "".join(tokens(text)) == text
    assert all(tokens(text))


@given(cjk_text, st.integers(min_value=0), st.sampled_from(HAN_CHARS + HIRAGANA_CHARS + HANGUL_CHARS))
@settings(max_examples=200, deadline=None)
def test_an_edit_moves_only_the_cuts_beside_it(text, where, replacement):
    if not text:
        return
    at = where % len(text)
    edited = text[:at] + replacement + text[at + 1:]
    before, after = set(cut_positions(points(text)).tolist()), set(cut_positions(points(edited)).tolist())
    assert before - {at, at + 1} == after - {at, at + 1}


@given(cjk_text, cjk_text)
@settings(max_examples=100, deadline=None)
def test_punctuation_separates_like_a_space(left, right):
    assert tokens(left + "。" + right) == tokens(left) + tokens(right)
    assert tokens(left + "、" + right) == tokens(left + " " + right)


def test_tiny_and_empty_inputs():
    assert tokens("漢") == ["漢"]
    assert [b.tolist() for b in word_bounds(np.frombuffer(b"  ", dtype=np.uint8))] == [[], []]
    assert cut_positions(points("")).tolist() == []
    assert tokens("") == [] and tokens("。、") == []


def test_a_huge_record_is_segmented_in_one_pass():
    text = "これはファイルシステムの設定です。" * 60_000  # ~3 MB of UTF-8
    found = fingerprint(text)
    assert found.word_count == len(tokens("これはファイルシステムの設定です。")) * 60_000


@given(cjk_text)
@settings(max_examples=200, deadline=None)
def test_bytes_and_code_points_are_cut_alike(text):
    """word_bounds (UTF-8, the scanner's path) and cut_positions (code points) agree."""
    expected = np.split(np.array(list(text), dtype=object), cut_positions(points(text)))
    assert tokens(text) == ["".join(part) for part in expected if len(part)]


def test_a_character_cut_off_at_the_end_of_a_buffer_does_not_raise():
    folded = b" " + "漢字".encode()[:-1] + b" "
    starts, ends = word_bounds(np.frombuffer(folded, dtype=np.uint8))
    assert len(starts) == len(ends) >= 1


def test_the_same_phrase_is_cut_the_same_way_in_any_context():
    phrase = "ファイルシステムを作成する"
    assert " ".join(tokens(phrase)) in " ".join(tokens("まず、" + phrase + "。"))


@given(st.text(st.sampled_from(HAN_CHARS[:50] + KATAKANA_CHARS[:20] + HANGUL_CHARS[:20]
                               + list("aZ9 é\u0e01\U00020000\ud800\u3001"))))
def test_the_codec_and_the_byte_by_byte_decoder_agree(text):
    """word_bounds decodes with Python's codecs and falls back to numpy on bytes they refuse."""
    folded = np.frombuffer(b" " + text.encode("utf-8", "surrogatepass") + b" ", dtype=np.uint8)
    lead = np.flatnonzero(folded >= 0xC0)
    first = folded[lead].astype(np.uint32)
    length = np.where(first >= 0xF0, 4, np.where(first >= 0xE0, 3, 2))
    assert _points_by_codec(folded).tolist() == _points_by_numpy(folded, lead, first, length).tolist()


def test_stray_bytes_take_the_byte_by_byte_decoder():
    # prepare() never makes them (only a token cut at shingles._CHUNK ends mid-character)
    folded = np.frombuffer(b" \xff\xc0 " + "漢字".encode() * 10 + b" \x80 ", dtype=np.uint8)
    starts, ends = word_bounds(folded)
    assert len(starts) == len(ends) >= 1 and (starts < ends).all()


def test_tokeniser_4_cuts_as_tokeniser_2_did_where_there_is_no_list_marker_or_joined_word():
    # Made by tokeniser 2 before the scan-speed work of issue #18 (commit 3afa1c8): fingerprints
    # stored then must still match, so a change here needs a new scripts.TOKENISER. Tokeniser 3
    # drops ordered-list markers only, tokeniser 4 Markdown delimiters inside words only
    # (test_normalise.py), so this text cuts as it did.
    text = ("“配置文件”（见 /etc/apt）：使用 apt-get 命令，安装软件包！ファイルシステムを「ｅｘｔ４」で作成する？"
            "한국어 문장입니다．don\u02bct\u00a0soft\u00adhyphen")
    assert TOKENISER == 4
    assert tokens(text) == ["配", "置", "文", "件", "见", "etc", "apt", "使", "用", "apt", "get", "命令", "安", "装",
                            "软", "件", "包", "ファイルシステム", "を", "ext4", "で", "作", "成", "す", "る", "한국", "어",
                            "문장", "입니", "다", "don", "t", "softhyphen"]
