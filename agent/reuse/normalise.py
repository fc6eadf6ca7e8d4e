"""One normalisation for captured outputs and dataset records alike.

Both sides must reduce to the same token sequence whenever a human would call two texts "the same
words": case, Unicode compatibility forms, HTML entities, typographic quotes and dashes, invisible
characters and Markdown/HTML markup must not matter. Tokens are runs of letters and digits; every
other character separates tokens. Chinese, Japanese and Korean runs are cut into word-sized tokens
(scripts.py); the other scripts written without spaces (Thai, Lao, Khmer, Myanmar, Tibetan,
Bopomofo) give one token per character. Width variants (full-width Latin and digits, half-width
katakana, the ideographic space) fold to one form through NFKC.

The scanner's hot path works on bytes: `prepare()` returns UTF-8 bytes whose tokens
scripts.word_bounds finds once translated with `ASCII_FOLD` (ASCII lower-cased, ASCII
non-alphanumerics turned into spaces, bytes >= 0x80 kept). Pure-ASCII text without markup is
returned as is, so the common case costs one encode; other text is NFKC-normalised and
case-folded here, and its non-ASCII separators and script cuts are found by word_bounds with
numpy for a whole batch of fields at once (a regex and a join per field cost ~35 us per
paragraph, more than the rest of the scan).
"""

from __future__ import annotations

import html
import re
import unicodedata

import numpy as np
from xxhash import xxh3_64_intdigest

from agent.reuse.scripts import PAREN_BYTE
from agent.reuse.scripts import POINT_BYTE
from agent.reuse.scripts import word_bounds


def _ascii_fold_table() -> bytes:
    table = bytearray(range(256))
    for byte in range(128):
        char = chr(byte)
        table[byte] = ord(char.lower()) if char.isalnum() else 0x20
    # separators too, but kept apart from spaces so that word_bounds can drop list markers
    table[ord(".")], table[ord(")")] = POINT_BYTE, PAREN_BYTE
    return bytes(table)


ASCII_FOLD = _ascii_fold_table()

# Typographic variants that NFKC leaves alone, mapped to what a plain keyboard would type;
# invisible characters are deleted so that "foo\u200bbar" stays one word.
_PUNCTUATION = {
    **{ord(c): "'" for c in "\u2018\u2019\u201a\u201b\u2032\u2035\u00b4\u02bc"},
    **{ord(c): '"' for c in "\u201c\u201d\u201e\u201f\u2033\u2036\u00ab\u00bb"},
    **{ord(c): "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2e3a\u2e3b"},
    **{ord(c): " " for c in "\u00a0\u2007\u202f\u2028\u2029\u3000"},
    ord("\u3002"): ".",  # see IDEOGRAPHIC_FULL_STOP
    **{ord(c): None for c in "\u200b\u200c\u200d\u2060\ufeff\u00ad"},
}

# Of those, the ones that change tokens: deleted characters, and the modifier-letter apostrophe (a
# letter, so "donʼt" would be one token). The others are punctuation and spaces that
# scripts.word_bounds already takes for separators, as it takes their ASCII forms, so translating
# them (a dict lookup per character of the whole text) changed nothing but the time: curly
# quotes are in one Chinese paragraph in five.
_TOKEN_CHANGING = {code: target for code, target in _PUNCTUATION.items()
                   if target is None or unicodedata.category(chr(code)).startswith("L")}
_TYPOGRAPHIC = re.compile("[" + "".join(map(chr, _TOKEN_CHANGING)) + "]")

# Full-width punctuation that Chinese, Japanese and Korean prose is written with. One of them in a
# text makes unicodedata.normalize leave its quick check for the whole decompose-recompose (~60 ns
# a character: 28 ms of a 1.3 MB Chinese scan). Each is first replaced by its compatibility
# decomposition, one ASCII character that composes with nothing, so NFKC of the result is NFKC of
# the text, and Chinese prose then passes the quick check (str.replace: a memchr-like scan).
_FULL_WIDTH_PUNCTUATION = tuple((char, unicodedata.normalize("NFKD", char)) for char in "，（）：；！？．\u3000")
# The ideographic full stop has no compatibility form; it is written as a full stop so that an
# ordered-list marker ("1。 ") is dropped as its ASCII form is (scripts._without_list_markers):
# both are separators, so no other token changes.
IDEOGRAPHIC_FULL_STOP = "\u3002"


# Markup whose text is not content: HTML tags, Markdown link/image targets, code-fence info strings.
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_LINK_TARGET = re.compile(r"\]\([^()\s]*(?:\s+\"[^\"]*\")?\)")
_FENCE_INFO = re.compile(r"(```|~~~)[A-Za-z0-9_+.#-]*")


# Markdown's emphasis and code-span delimiters take no room when the text is rendered: "**D**on't"
# and "`str`s" read "Don't" and "strs", which a copy converted to plain text holds. A run of them
# between two letters or digits is deleted, on both sides of every comparison (so "x*y" is "xy"
# in the captured output and in its copy alike); anywhere else it separates tokens, as all
# punctuation does. "_" is not one of them: inside a word it is a literal underscore.
INTRAWORD_DELIMITERS = "*`"


def intraword_delimiters(text: str) -> list[tuple[int, int]]:
    """[start, end) of each run of INTRAWORD_DELIMITERS with a letter or digit on both sides."""
    runs: list[tuple[int, int]] = []
    star, tick, length = text.find("*"), text.find("`"), len(text)
    while star >= 0 or tick >= 0:  # str.find is a memchr; a regex walks every character
        start = tick if star < 0 or 0 <= tick < star else star
        end = start + 1
        while end < length and text[end] in INTRAWORD_DELIMITERS:
            end += 1
        if start > 0 and end < length and text[start - 1].isalnum() and text[end].isalnum():
            runs.append((start, end))
        star = text.find("*", end) if star >= 0 else -1
        tick = text.find("`", end) if tick >= 0 else -1
    return runs


def _join_intraword(text: str) -> str:
    runs = intraword_delimiters(text)
    if not runs:
        return text
    pieces, at = [], 0
    for start, end in runs:
        pieces.append(text[at:start])
        at = end
    pieces.append(text[at:])
    return "".join(pieces)


def _strip_markup(text: str) -> str:
    if "&" in text:
        text = html.unescape(text)
    if "<" in text:
        text = _HTML_TAG.sub(" ", text)
    if "](" in text:
        text = _LINK_TARGET.sub("] ", text)
    if "```" in text or "~~~" in text:
        text = _FENCE_INFO.sub(" ", text)
    if "*" in text or "`" in text:  # last: an entity can decode to one, a fence's info string holds one
        text = _join_intraword(text)
    return text


def _has_markup(text: str) -> bool:
    """Whether prepare() strips or joins anything in this text (before NFKC)."""
    return "&" in text or "<" in text or "](" in text or "*" in text or "`" in text or "~~~" in text


def _common_full_width(text: str) -> str:
    for char, ascii_form in _FULL_WIDTH_PUNCTUATION:
        if char in text:
            text = text.replace(char, ascii_form)
    return text


def prepare(text: str) -> bytes:
    """UTF-8 bytes whose tokens scripts.word_bounds finds after `.translate(ASCII_FOLD)`."""
    if not text.isascii():
        # first, so that markup typed in full-width forms (＜tag＞) is stripped like markup
        text = unicodedata.normalize("NFKC", _common_full_width(text))
    if _has_markup(text):
        stripped = _strip_markup(text)
        if stripped is not text and not stripped.isascii():
            stripped = unicodedata.normalize("NFKC", stripped)  # what entities decoded to
        text = stripped
    if text.isascii():
        return text.encode("ascii")
    if IDEOGRAPHIC_FULL_STOP in text:  # after markup, so that "&#12290;" is one too
        text = text.replace(IDEOGRAPHIC_FULL_STOP, ".")
    # translate with a dict costs ~50 ns a character: only for the texts that need it
    if _TYPOGRAPHIC.search(text):
        text = text.translate(_TOKEN_CHANGING)
    text = text.casefold()
    if text.isascii():
        return text.encode("ascii")
    return text.encode("utf-8", "surrogatepass")


def prepare_with_hash(text: str) -> tuple[bytes, int]:
    """(prepare(text), xxh3-64 of the raw text's UTF-8 bytes without surrounding ASCII
    whitespace): both in one pass for the common case of plain ASCII text."""
    if text.isascii():
        raw = text.encode("ascii")
        # "no character that can start markup": six searches of the str (memchr each); five measured
        # 0.016 s on 26 MB, against 0.024 s for deleting them with bytes.translate (a copy);
        # texts that have one take the exact checks in prepare()
        if "&" in text or "<" in text or "]" in text or "`" in text or "~" in text or "*" in text:
            return prepare(text), xxh3_64_intdigest(raw.strip())
        return raw, xxh3_64_intdigest(raw.strip())
    return prepare(text), xxh3_64_intdigest(text.encode("utf-8", "surrogatepass").strip())


def tokens(text: str) -> list[str]:
    """The normalised tokens of a text, in order (as shingles.token_hashes cuts them)."""
    folded = b" " + prepare(text).translate(ASCII_FOLD) + b" "
    starts, ends = word_bounds(np.frombuffer(folded, dtype=np.uint8))
    return [folded[start:end].decode("utf-8", "surrogatepass") for start, end in zip(starts.tolist(), ends.tolist())]


def normalise(text: str) -> str:
    """The normalised text: its tokens joined by single spaces."""
    return " ".join(tokens(text))

