"""Fingerprints made by an earlier tokeniser, brought to the current one where the store allows.

Tokeniser 1 (blob version 1) made one token per Chinese or Japanese character; tokeniser 2
(scripts.py) cuts those runs into word-sized tokens; tokeniser 3 also leaves out ordered-list
markers ("1. ", "(2) "); tokeniser 4 also deletes Markdown's "*" and "`" inside a word ("**D**on't"
is "Don't"), and cuts everything else as 2 did. An old fingerprint is made again from
the output's text when the store holds that text whole (privacy.store_text: full). Otherwise it is
kept:
- one of tokeniser 1 of a Chinese or Japanese text matches byte-for-byte copies only (the raw-text
  hash does not depend on the tokeniser), and is counted (may_hold_cut_script);
- any other is what the current tokeniser makes but for the list numbers it kept as words and the
  words it cut at a delimiter: its copies still match on the 5-grams elsewhere, and a copy that
  keeps the numbers and delimiters on all of them. (Which texts had either cannot be told without
  the text: not counted.)
The prompt is never stored, so a re-made fingerprint has no echo marks.
"""

from __future__ import annotations

from agent.reuse.fingerprint import LEGACY_TOKENISER
from agent.reuse.fingerprint import Fingerprint
from agent.reuse.fingerprint import fingerprint
from agent.reuse.scripts import TOKENISER

# One token per character puts a CJK text near one word per character; English prose has about
# one word per six characters. Used only to count the old fingerprints that cannot be re-made.
_PER_CHARACTER = 0.4


def is_current(fp: Fingerprint) -> bool:
    return fp.tokeniser == TOKENISER


def remade(fp: Fingerprint, text: str | None) -> Fingerprint | None:
    """The current tokeniser's fingerprint of an older one's output, or None when its text is not
    stored whole (an excerpt, or none at all)."""
    if text is None:
        return None
    again = fingerprint(text)
    return again if again.text_hash == fp.text_hash else None


def may_hold_cut_script(fp: Fingerprint, char_count: int) -> bool:
    """Whether an old fingerprint was made one token per character of a Chinese or Japanese text
    (see _PER_CHARACTER); only tokeniser 1 did that."""
    return fp.tokeniser == LEGACY_TOKENISER and char_count > 0 and fp.word_count > _PER_CHARACTER * char_count
