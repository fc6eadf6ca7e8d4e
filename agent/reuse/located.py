"""The normalised tokens of a text, each with where it sits in the text as read.

normalise.prepare() throws positions away (markup stripped, entities decoded, NFKC, case folded);
a matched span must point back into the original field. This module applies the same steps to a
text that remembers, for every character it holds, the range of original characters it came from,
then cuts tokens as prepare() would. Offsets are Unicode code points of the field's text (Python
str indices), not bytes.

The steps are per character or per match of the same patterns prepare() uses, except NFKC, which
is applied per cluster (a character and the combining marks after it). Where that gives other
tokens than normalise.tokens() (compositions across clusters, rare), the reference tokens are
aligned to these and take their positions, so the hashes are always the matcher's.
"""

from __future__ import annotations

import difflib
import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from agent.reuse.normalise import _FENCE_INFO  # the same patterns as prepare(), so tokens agree
from agent.reuse.normalise import _HTML_TAG
from agent.reuse.normalise import _LINK_TARGET
from agent.reuse.normalise import _PUNCTUATION
from agent.reuse.normalise import ASCII_FOLD
from agent.reuse.normalise import intraword_delimiters
from agent.reuse.normalise import tokens as reference_tokens
from agent.reuse.scripts import word_bounds
from agent.reuse.shingles import folded_token_hashes
from agent.reuse.shingles import token_hashes

_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_MARKUP = ("&", "<", "](", "```", "~~~")
_CHARREF = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")  # html.unescape's


@dataclass(frozen=True, slots=True)
class LocatedTokens:
    starts: np.ndarray  # int64, first code point of each token in the original text
    ends: np.ndarray  # int64, one past its last code point
    hashes: np.ndarray  # uint64 token hashes, as shingles.token_hashes gives for the field

    def __len__(self) -> int:
        return len(self.hashes)


@dataclass(slots=True)
class _Mapped:
    """A text derived from the original, with the original range of each of its characters."""
    text: str
    start: list[int]
    end: list[int]

    def sub(self, pattern: re.Pattern, replace: Callable[[re.Match], str]) -> _Mapped:
        text, start, end, at = [], [], [], 0
        for match in pattern.finditer(self.text):
            text.append(self.text[at:match.start()])
            start += self.start[at:match.start()]
            end += self.end[at:match.start()]
            new = replace(match)
            if new and match.end() > match.start():
                text.append(new)
                start += [self.start[match.start()]] * len(new)
                end += [self.end[match.end() - 1]] * len(new)
            at = match.end()
        text.append(self.text[at:])
        start += self.start[at:]
        end += self.end[at:]
        return _Mapped("".join(text), start, end)

    def delete(self, runs: list[tuple[int, int]]) -> _Mapped:
        """Without the characters of these ordered, disjoint [start, end) runs."""
        if not runs:
            return self
        keep = [True] * len(self.text)
        for first, end in runs:
            keep[first:end] = [False] * (end - first)
        return _Mapped("".join(c for c, k in zip(self.text, keep) if k),
                       [s for s, k in zip(self.start, keep) if k], [e for e, k in zip(self.end, keep) if k])


def _strip_markup(mapped: _Mapped) -> _Mapped:
    """normalise._strip_markup, keeping positions (same order, same conditions)."""
    if "&" in mapped.text:
        mapped = mapped.sub(_CHARREF, lambda m: html.unescape(m.group(0)))
    if "<" in mapped.text:
        mapped = mapped.sub(_HTML_TAG, lambda m: " ")
    if "](" in mapped.text:
        mapped = mapped.sub(_LINK_TARGET, lambda m: "] ")
    if "```" in mapped.text or "~~~" in mapped.text:
        mapped = mapped.sub(_FENCE_INFO, lambda m: " ")
    if "*" in mapped.text or "`" in mapped.text:
        mapped = mapped.delete(intraword_delimiters(mapped.text))
    return mapped


def _fold_cluster(cluster: str) -> str:
    return unicodedata.normalize("NFKC", cluster).translate(_PUNCTUATION).casefold()


def _starts_cluster(char: str) -> bool:
    # conjoining Hangul vowels and trailing consonants compose with what precedes them
    return unicodedata.combining(char) == 0 and not 0x1160 <= ord(char) <= 0x11FF


def _fold(mapped: _Mapped) -> _Mapped:
    """NFKC, typographic punctuation and case folding, per cluster. ASCII between non-ASCII runs
    is copied (lower-casing is left to the token step), except the character just before a run,
    which a combining mark may attach to."""
    text, start, end, at = [], [], [], 0
    source = mapped.text
    for run in _NON_ASCII.finditer(source):
        first = max(at, run.start() - 1)
        text.append(source[at:first])
        start += mapped.start[at:first]
        end += mapped.end[at:first]
        position = first
        while position < run.end():
            stop = position + 1
            while stop < run.end() and not _starts_cluster(source[stop]):
                stop += 1
            folded = _fold_cluster(source[position:stop])
            text.append(folded)
            start += [mapped.start[position]] * len(folded)
            end += [mapped.end[stop - 1]] * len(folded)
            position = stop
        at = run.end()
    text.append(source[at:])
    start += mapped.start[at:]
    end += mapped.end[at:]
    return _Mapped("".join(text), start, end)


def _cut(mapped: _Mapped) -> tuple[list[str], list[int], list[int]]:
    # Cut the folded text exactly as the matcher does (scripts.word_bounds on its UTF-8 bytes:
    # separators, script changes, Chinese/Japanese/Korean pair cuts, list markers), then turn byte
    # offsets back into characters of the folded text and those into ranges of the original.
    data = mapped.text.encode("utf-8", "surrogatepass")
    folded = b" " + data.translate(ASCII_FOLD) + b" "
    byte_starts, byte_ends = word_bounds(np.frombuffer(folded, dtype=np.uint8))
    sizes = np.fromiter((len(c.encode("utf-8", "surrogatepass")) for c in mapped.text), dtype=np.int64,
                        count=len(mapped.text))
    char_of_byte = np.repeat(np.arange(len(mapped.text), dtype=np.int64), sizes)
    words, starts, ends = [], [], []
    for first, end in zip((byte_starts - 1).tolist(), (byte_ends - 1).tolist()):
        words.append(folded[first + 1:end + 1].decode("utf-8", "surrogatepass"))
        starts.append(mapped.start[int(char_of_byte[first])])
        ends.append(mapped.end[int(char_of_byte[end - 1])])
    return words, starts, ends


def _align(mine: list[str], starts: list[int], ends: list[int], reference: list[str],
           ) -> tuple[list[int], list[int]]:
    """Positions for the reference tokens: those also found here take theirs; the others take the
    stretch between their matched neighbours."""
    ref_start, ref_end = [-1] * len(reference), [-1] * len(reference)
    blocks = difflib.SequenceMatcher(None, mine, reference, autojunk=False).get_matching_blocks()
    for a, b, size in blocks:
        for offset in range(size):
            ref_start[b + offset], ref_end[b + offset] = starts[a + offset], ends[a + offset]
    last_end = 0
    for i in range(len(reference)):
        if ref_start[i] >= 0:
            last_end = ref_end[i]
            continue
        following = next((ref_start[j] for j in range(i + 1, len(reference)) if ref_start[j] >= 0),
                         ends[-1] if ends else last_end)
        ref_start[i], ref_end[i] = last_end, max(last_end, following)
    # Tokens of one expanded character ("½" folds to "1⁄2": two tokens, both on that character)
    # can leave a filled-in token starting after its matched successor; widen earlier tokens
    # leftwards so starts stay in text order (a highlight may grow, never point elsewhere).
    for i in range(len(reference) - 2, -1, -1):
        ref_start[i] = min(ref_start[i], ref_start[i + 1])
    return ref_start, ref_end


def _plain(text: str) -> bool:
    """prepare() returns this text as it is: ASCII, nothing to strip, no delimiter to join."""
    return text.isascii() and not any(mark in text for mark in _MARKUP) \
        and not (("*" in text or "`" in text) and intraword_delimiters(text))


def locate_tokens(text: str) -> LocatedTokens:
    """The field's normalised tokens with their code-point ranges in `text`."""
    plain = _plain(text)
    if plain:  # the common case: prepare() returns the text as is, so bytes are code points
        folded = np.frombuffer(b" " + text.encode("ascii").translate(ASCII_FOLD) + b" ", dtype=np.uint8)
        starts, ends = word_bounds(folded)  # offsets in `folded`: one more than in the text
        return LocatedTokens(starts - 1, ends - 1, folded_token_hashes(folded.tobytes())[1])
    mapped = _Mapped(text, list(range(len(text))), list(range(1, len(text) + 1)))
    mapped = _strip_markup(mapped)
    if not mapped.text.isascii():
        mapped = _fold(mapped)
    words, starts, ends = _cut(mapped)
    reference = reference_tokens(text)
    if words != reference:
        starts, ends = _align(words, starts, ends, reference)
        words = reference
    hashes = token_hashes(" ".join(words).encode("utf-8", "surrogatepass"))[1]
    if len(hashes) != len(words):  # cannot happen for tokens(): they hold no separator
        raise AssertionError(f"{len(words)} tokens hashed as {len(hashes)}")
    return LocatedTokens(np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64), hashes)


def locate_fields(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """locate_tokens of many fields at once: (starts, ends, hashes) of all their tokens in field
    order (offsets within each field) and each field's first token (len(texts) + 1 bounds).
    Plain ASCII fields, nearly all of them, are tokenised in one buffer: per-field numpy calls
    were most of the cost of spans."""
    plain = [_plain(t) for t in texts]
    pieces: list[LocatedTokens | None] = [None if p else locate_tokens(t) for p, t in zip(plain, texts)]
    joined = [t for p, t in zip(plain, texts) if p]
    if joined:
        lengths = np.fromiter(map(len, joined), dtype=np.int64, count=len(joined))
        begin = np.cumsum(lengths + 1) - (lengths + 1)  # each field's offset in the joined buffer
        folded = b" " + b" ".join(t.encode("ascii") for t in joined).translate(ASCII_FOLD) + b" "
        all_starts, all_ends = word_bounds(np.frombuffer(folded, dtype=np.uint8))
        all_starts, all_ends = all_starts - 1, all_ends - 1  # offsets in the joined fields
        hashes = folded_token_hashes(folded)[1]
        cut = np.searchsorted(all_starts, np.append(begin, len(folded)))
        for number, at in enumerate(i for i, p in enumerate(plain) if p):
            low, high = cut[number], cut[number + 1]
            pieces[at] = LocatedTokens(all_starts[low:high] - begin[number], all_ends[low:high] - begin[number],
                                       hashes[low:high])
    counts = np.fromiter((len(p) for p in pieces), dtype=np.int64, count=len(pieces))
    bounds = np.concatenate(([0], np.cumsum(counts)))
    if not pieces:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.uint64), bounds
    return (np.concatenate([p.starts for p in pieces]), np.concatenate([p.ends for p in pieces]),
            np.concatenate([p.hashes for p in pieces]).astype(np.uint64), bounds)
