"""Tokens for Chinese, Japanese and Korean without a dictionary.

One character per token made a 5-gram five characters long: 「ファイルシステム」 alone gave four
5-grams, so any two texts of one technical domain shared aligned 5-grams (issue #18: 21 of 800
unrelated Japanese paragraphs reported as reuse). Tokens here are cut
- where the script changes between kanji/hanzi, hiragana and katakana (a katakana loanword is one
  token, okurigana and particles are the hiragana runs between kanji), and
- inside a run of Han characters (Chinese has nothing else to cut at), of hiragana or of Hangul
  (a Korean word holds its particles: 시스템을), between two
  characters whose pair hashes into the lower CUT_SHARE of values: a cut that depends only on
  those two characters, so an edit moves at most the cuts beside it (content-defined chunking,
  as in rsync), and both sides of a comparison cut the same text the same way.
Thai, Lao, Khmer, Myanmar, Tibetan and Bopomofo keep one token per character (normalise.py).

Dictionary segmenters were measured on the same Debian prose (bench/reuse_cjk.py --segmenters,
README): 7-100x slower than this whole normalise-cut-hash path, they would hold the scanner far
below half its English speed. word_bounds works on the UTF-8 bytes of a whole batch of fields at
once (no Python object and no numpy call per field); cut_positions is the same rule on code points.
"""

from __future__ import annotations

import re

import numpy as np

# Recorded in every fingerprint. 1: one token per CJK character; 2: the cuts below; 3: also no
# ordered-list markers (see word_bounds); 4: also Markdown delimiters inside a word deleted, not
# taken for separators (normalise.INTRAWORD_DELIMITERS).
TOKENISER = 4

# Script class of a code point: boundaries of half-open ranges, and the class of each range.
OTHER, HAN, HIRAGANA, KATAKANA, HANGUL = 0, 1, 2, 3, 4
_RANGES = (
    (0x1100, 0x1200, HANGUL),  # conjoining jamo
    (0x2E80, 0x2FE0, HAN),  # CJK radicals, Kangxi radicals
    (0x3005, 0x3008, HAN),  # 々 〆 〇: written inside kanji words
    (0x3041, 0x30A0, HIRAGANA),  # (3099-309C: voicing marks, after NFKC only the spacing ones)
    (0x30A1, 0x30FB, KATAKANA),  # 30FB ・ separates words
    (0x30FC, 0x3100, KATAKANA),  # ー ヽ ヾ ヿ
    (0x3131, 0x318F, HANGUL),  # compatibility jamo
    (0x31F0, 0x3200, KATAKANA),  # small katakana extensions
    (0x3400, 0x4DC0, HAN),
    (0x4E00, 0xA000, HAN),
    (0xAC00, 0xD7B0, HANGUL),  # syllables
    (0xF900, 0xFB00, HAN),
    (0x20000, 0x40000, HAN),
)
_EDGES = np.array([edge for start, end, _ in _RANGES for edge in (start, end)], dtype=np.uint32)
_CLASS_OF_SLOT = np.zeros(len(_EDGES) + 1, dtype=np.uint8)
_CLASS_OF_SLOT[1::2] = [cls for _, _, cls in _RANGES]


# Eighths of the adjacent pairs inside a Han, hiragana or Hangul run that are cut. Chosen on the
# calibration split of bench/reuse_cjk.py: the fewest cuts (longest tokens, the fewest chance
# matches) whose recall on copies with 10 % of their characters edited stayed >= 0.98 in every
# language (3: 0.90 ja, 0.88 zh; 5: 0.97 ja, 0.96 zh; 6: 0.97 zh; 7: 0.985 ja, 0.988 zh, 0.989 ko);
# no share made a false positive there. Han tokens then average 8/7 characters; katakana words
# and script changes keep Japanese 5-grams longer than five characters.
CUT_SHARE = 7
# Korean words are already space-separated: fewer cuts keep as much recall (calibration: 4/8 and
# 7/8 both found every 10 %-edited copy) with fewer tokens to hash and look up.
HANGUL_CUT_SHARE = 4
_CUT_BELOW = np.uint32(CUT_SHARE << 29)  # of 2^32 hash values
_CUT_BELOW_OF = np.full(7, _CUT_BELOW, dtype=np.uint32)
_CUT_BELOW_OF[4] = np.uint32(HANGUL_CUT_SHARE << 29)
_SPACE_BYTE = 0x20
# What normalise.ASCII_FOLD makes of "." and ")": separators like every other ASCII punctuation
# (a token never holds one), but told apart from a space so that word_bounds sees list markers.
POINT_BYTE, PAREN_BYTE = 0x01, 0x02
_MULT = (np.uint32(0x9E3779B1), np.uint32(0x85EBCA77), np.uint32(0x2C1B3C6D))
_SHIFT = (np.uint32(15), np.uint32(12))


# One class per code point: the scripts above, PER_CHARACTER (Thai, Lao, Tibetan, Myanmar, Khmer,
# Bopomofo, Kanbun, CJK strokes: one token per character, marks included, as before) and
# SEPARATOR (what the regex [\W_] matches: punctuation, symbols, spaces, lone surrogates).
PER_CHARACTER, SEPARATOR = 5, 6
_PER_CHARACTER_RANGES = ((0x0E00, 0x0F00), (0x0F00, 0x1000), (0x1000, 0x10A0), (0x1780, 0x1800),
                         (0x3100, 0x3130), (0x3190, 0x31F0))


_LETTERS_END = 0x32000


def _class_table() -> np.ndarray:
    # Above plane 3 nothing is a letter or digit (tags, variation selectors, private use).
    everything = "".join(map(chr, range(_LETTERS_END)))
    letters = re.sub(r"[^\W_]", "\x01", everything)  # one C-level pass, once per process
    table = np.full(0x110000, SEPARATOR, dtype=np.uint8)
    table[:_LETTERS_END] = np.where(
        np.frombuffer(letters.encode("utf-32-le", "surrogatepass"), dtype=np.uint32) == 1, OTHER, SEPARATOR)
    for start, end in _PER_CHARACTER_RANGES:
        table[start:end] = PER_CHARACTER
    for start, end, cls in _RANGES:
        table[start:end] = cls
    return table


_CLASS = _class_table()
_CUT_INSIDE = np.zeros(7, dtype=bool)
_CUT_INSIDE[[HAN, HIRAGANA, HANGUL]] = True
_ALONE = np.zeros(7, dtype=bool)  # classes that never share a token with a neighbour of another class
_ALONE[[HAN, HIRAGANA, KATAKANA, HANGUL, PER_CHARACTER]] = True


def script_class(points: np.ndarray) -> np.ndarray:
    """The class of each code point (OTHER: a letter or digit of a space-separated script)."""
    return _CLASS[np.minimum(points, 0x10FFFF)]


def _pair_hash(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    mixed = left * _MULT[0]
    mixed ^= right * _MULT[1]
    mixed ^= mixed >> _SHIFT[0]
    mixed *= _MULT[2]
    mixed ^= mixed >> _SHIFT[1]
    return mixed


def _pair_rules() -> tuple[np.ndarray, np.ndarray]:
    """Per pair of classes (left * 8 + right): whether it is always cut, and below which pair hash
    it is cut otherwise (0: never), so that a pair costs two lookups instead of eight passes."""
    always = np.zeros(64, dtype=bool)
    below = np.zeros(64, dtype=np.uint32)
    for left in range(7):
        for right in range(7):
            pair = left * 8 + right
            always[pair] = (left != right and (_ALONE[left] or _ALONE[right])) or left == PER_CHARACTER
            if not always[pair] and left == right and _CUT_INSIDE[left]:
                below[pair] = _CUT_BELOW_OF[left]
    return always, below


_ALWAYS_CUT, _CUT_BELOW_PAIR = _pair_rules()


def _cut_between(left_cls: np.ndarray, right_cls: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Whether a token boundary falls between two adjacent non-separator characters."""
    pair = (left_cls << 3) | right_cls
    # hashed for every pair, not gathered for the inside ones: in Chinese nearly all pairs are
    # inside, and two gathers and a scatter cost more than hashing the few others
    return _ALWAYS_CUT[pair] | (_pair_hash(left, right) < _CUT_BELOW_PAIR[pair])


def _points_by_numpy(folded: np.ndarray, lead: np.ndarray, first: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Code points of the characters starting at `lead`, decoded byte by byte (for buffers the
    UTF-8 codec refuses: a character cut off at the end, stray bytes)."""
    size = len(folded)

    def tail(k: int) -> np.ndarray:
        return folded[np.minimum(lead + k, size - 1)].astype(np.uint32) & 0x3F

    return np.where(length == 2, ((first & 0x1F) << 6) | tail(1),
                    np.where(length == 3, ((first & 0x0F) << 12) | (tail(1) << 6) | tail(2),
                             ((first & 0x07) << 18) | (tail(1) << 12) | (tail(2) << 6) | tail(3)))


_CODEC_DENSITY = 16


def _points_by_codec(folded: np.ndarray) -> np.ndarray:
    """Code points of the multi-byte characters of a valid UTF-8 buffer (lone surrogates allowed),
    in order: one per lead byte. Raises UnicodeDecodeError on anything else."""
    every = np.frombuffer(folded.tobytes().decode("utf-8", "surrogatepass").encode("utf-32-le", "surrogatepass"),
                          dtype=np.uint32)
    return every[every >= 0x80]


def _multi_byte_points(folded: np.ndarray, lead: np.ndarray, first: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Code points of the multi-byte characters, which start at `lead`. Python's UTF-8 and UTF-32
    codecs decode the buffer at ~1 ns a byte, against ten numpy passes over the lead bytes: faster
    once one byte in _CODEC_DENSITY starts a character (CJK prose: one in three; English with a
    few curly quotes or accents stays on numpy, measured 1.2 against 2.2 ms per 1.3 MB)."""
    if len(lead) * _CODEC_DENSITY >= len(folded):
        try:
            return _points_by_codec(folded)
        except UnicodeDecodeError:
            pass
    return _points_by_numpy(folded, lead, first, length)


def word_bounds(folded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) byte offsets of the tokens of a UTF-8 buffer translated with ASCII_FOLD that
    begins and ends with a space. Pure ASCII is cut at spaces only; other characters are decoded
    for the whole buffer at once: separators act as spaces, and Chinese, Japanese and Korean runs
    are cut as the module docstring says."""
    is_space = folded <= _SPACE_BYTE  # the space and POINT_BYTE, PAREN_BYTE: nothing else folds below it
    lead = np.flatnonzero(folded >= 0xC0)
    cuts: tuple[np.ndarray, ...] = ()
    if len(lead):
        size = len(folded)
        first = folded[lead].astype(np.uint32)
        length = np.where(first >= 0xF0, 4, np.where(first >= 0xE0, 3, 2))
        points = _multi_byte_points(folded, lead, first, length)
        classes = _CLASS[np.minimum(points, 0x10FFFF)]
        if lead[-1] + length[-1] >= size:  # a character cut off at the end of a piece stays a letter
            classes[lead + length >= size] = OTHER
        separator = classes == SEPARATOR
        for k in range(4):
            at = lead[separator & (length > k)] + k
            is_space[at] = True
        # neighbours that are both multi-byte characters, as a mask over pairs of leads
        word = ~separator
        adjacent = (lead[:-1] + length[:-1] == lead[1:]) & word[:-1] & word[1:]
        adjacent &= _cut_between(classes[:-1], classes[1:], points[:-1], points[1:])
        # an ASCII letter or digit right before or after a character of a cut script
        alone = np.flatnonzero(_ALONE[classes])
        before, after = lead[alone], lead[alone] + length[alone]
        ascii_before = (folded[before - 1] < 0x80) & ~is_space[before - 1]
        ascii_after = (folded[np.minimum(after, size - 1)] < 0x80) & ~is_space[np.minimum(after, size - 1)]
        # Three disjoint sets, none on an edge: a pair cut is at a lead byte after a continuation
        # byte, a cut before a character is at a lead byte after an ASCII letter, a cut after
        # one is at an ASCII byte; all sit between two non-space bytes. So no np.unique (its
        # hash pass was half of this function's time on Chinese text), and each set is sorted.
        cuts = (lead[1:][adjacent], before[ascii_before], after[ascii_after])
    edges = np.flatnonzero(is_space[:-1] != is_space[1:]) + 1
    if not any(map(len, cuts)):
        return _without_list_markers(folded, is_space, edges[0::2], edges[1::2])
    # a stable sort (timsort for int64) of a few ascending runs is a merge
    return _without_list_markers(folded, is_space, np.sort(np.concatenate((edges[0::2], *cuts)), kind="stable"),
                                 np.sort(np.concatenate((edges[1::2], *cuts)), kind="stable"))


def _without_list_markers(folded: np.ndarray, is_space: np.ndarray, starts: np.ndarray,
                          ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The tokens but those of ordered-list markers: one to three digits between a separator and
    "." or ")" followed by a separator ("2. ", "(3) ", "10.\n").

    Re-formatting a numbered list as bullets (or bullets as a numbered list) is re-formatting:
    with the numbers as words, every 5-gram of a list of short items held one, and a copy whose
    "1." became "- " shared none of them with the output (bench/same_prompt.py: a 21-item list,
    its one reformatted copy missed). The rule sees only the bytes around a token, so a record
    and an output drop the same numbers wherever the text around them is kept, on one line or
    many; a number ending a sentence ("costs 3.") goes too, on both sides alike. Decimals
    ("1.5") and versions ("v2.") are kept: no separator after the point, or a letter in the token.
    An outline number ("1.2. ", "2.3.1. ") is one marker: parts of one to three digits, each
    ending at a point the next part follows at once (tokeniser 3 dropped its last part only, so
    "1.1. Purpose" kept a "1" that its copy re-numbered as "- Purpose" did not hold).
    """
    # Looked for at token ends (a gather over the tokens costs less than a search of every byte);
    # all of it costs ~6 % of tokenising and hashing English chat answers.
    if not len(ends):
        return starts, ends
    candidate = np.flatnonzero(folded[ends] <= PAREN_BYTE)  # a token never ends the buffer
    first, end = starts[candidate], ends[candidate]
    # one to three digits after a separator, a separator after the point (the buffer ends with a
    # space, so end + 1 is in it); a shorter token checks its last digit again
    number = (end - first <= 3) & is_space[first - 1] & _IS_DIGIT[folded[first]]
    number &= _IS_DIGIT[folded[np.minimum(first + 1, end - 1)]] & _IS_DIGIT[folded[end - 1]]
    marker = number & is_space[end + 1]
    if not marker.any():
        return starts, ends
    dropped = np.zeros(len(ends), dtype=bool)
    dropped[candidate[marker]] = True
    # leading parts of outline numbers: a number ending at a point, the next token right after it
    part = candidate[number & (folded[end] == POINT_BYTE) & ~is_space[end + 1]]
    part = part[part + 1 < len(ends)]
    part = part[starts[part + 1] == ends[part] + 1]
    for _ in range(_OUTLINE_DEPTH - 1):
        leads = part[dropped[part + 1] & ~dropped[part]]
        if not len(leads):
            break
        dropped[leads] = True
    return starts[~dropped], ends[~dropped]


_OUTLINE_DEPTH = 4  # parts of an outline number dropped as one marker: "1.2.3.4. "


_IS_DIGIT = np.zeros(256, dtype=bool)
_IS_DIGIT[ord("0"):ord("9") + 1] = True



def cut_positions(points: np.ndarray) -> np.ndarray:
    """Indices i of a code-point array (no separators) where a token starts although points[i - 1]
    is not a space: the same rule word_bounds applies, on decoded text (for tests and tools)."""
    if len(points) < 2:
        return np.empty(0, dtype=np.int64)
    classes = script_class(points)
    words = (classes[:-1] != SEPARATOR) & (classes[1:] != SEPARATOR)
    pairs = np.flatnonzero(words)
    cut = _cut_between(classes[pairs], classes[pairs + 1], points[pairs].astype(np.uint32),
                       points[pairs + 1].astype(np.uint32))
    return pairs[cut] + 1
