"""Word-sized tokens for Chinese and Japanese without a dictionary.

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

Dictionary segmenters were measured on the same Debian prose (bench/reuse_cjk.py, README):
all are 40-1000x slower than this and would hold the scanner far below half its English speed.
All arithmetic is on numpy arrays of code points; no Python object is made per character.
"""

from __future__ import annotations

import numpy as np

TOKENISER = 2  # recorded in every fingerprint; 1 was one token per CJK character

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

# The regex character class of every code point above: runs of it are one match in normalise.
CJK_CHARS = "".join(f"{chr(start)}-{chr(end - 1)}" for start, end, _ in _RANGES)

# Eighths of the adjacent pairs inside a Han, hiragana or Hangul run that are cut. Chosen on the
# calibration split of bench/reuse_cjk.py: the fewest cuts (longest tokens, the fewest chance
# matches) whose recall on copies with 10 % of their characters edited stayed >= 0.98 in every
# language (3: 0.90 ja, 0.88 zh; 5: 0.97 ja, 0.96 zh; 6: 0.97 zh; 7: 0.985 ja, 0.988 zh, 0.989 ko);
# no share made a false positive there. Han tokens then average 8/7 characters; katakana words
# and script changes keep Japanese 5-grams longer than five characters.
CUT_SHARE = 7
_CUT_BELOW = np.uint32(CUT_SHARE << 29)  # of 2^32 hash values
_SPACE = np.uint32(0x20)
_MULT = (np.uint32(0x9E3779B1), np.uint32(0x85EBCA77), np.uint32(0x2C1B3C6D))
_SHIFT = (np.uint32(15), np.uint32(12))


def script_class(points: np.ndarray) -> np.ndarray:
    """OTHER, HAN, HIRAGANA or KATAKANA for each code point."""
    return _CLASS_OF_SLOT[np.searchsorted(_EDGES, points, side="right")]


def _pair_hash(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    mixed = left * _MULT[0]
    mixed ^= right * _MULT[1]
    mixed ^= mixed >> _SHIFT[0]
    mixed *= _MULT[2]
    mixed ^= mixed >> _SHIFT[1]
    return mixed


def cut_positions(points: np.ndarray) -> np.ndarray:
    """Indices i where a space goes before points[i] (never next to an existing space)."""
    if len(points) < 2:
        return np.empty(0, dtype=np.int64)
    classes = script_class(points)
    left, right = classes[:-1], classes[1:]
    both = (left != OTHER) & (right != OTHER)
    change = both & (left != right)
    # pairs of one run of Han or hiragana characters
    same = both & (left == right) & (left != KATAKANA)
    hashed = np.flatnonzero(same)
    chunk = np.zeros(len(left), dtype=bool)
    chunk[hashed] = _pair_hash(points[hashed], points[hashed + 1]) < _CUT_BELOW
    return np.flatnonzero(change | chunk) + 1


def segment(text: str) -> str:
    """The text with a space at every token boundary inside its Chinese and Japanese runs; the
    text is expected normalised (NFKC, case-folded) and its tokens separated by single spaces."""
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    cuts = cut_positions(points)
    if not len(cuts):
        return text
    return np.insert(points, cuts, _SPACE).tobytes().decode("utf-32-le", "surrogatepass")
