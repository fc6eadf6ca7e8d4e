"""Fingerprints made by an earlier tokeniser, brought to the current one where the store allows.

Tokeniser 1 (blob version 1) made one token per Chinese or Japanese character; tokeniser 2
(scripts.py) cuts those runs into word-sized tokens and cuts every other script exactly as before.
So an old fingerprint of a text without Chinese or Japanese characters is already what the current
tokeniser makes. One of a text with them is not: it is made again from the output's text when the
store holds that text whole (privacy.store_text: full), and otherwise kept, matching byte-for-byte
copies only (the raw-text hash does not depend on the tokeniser). The prompt is never stored, so a
re-made fingerprint has no echo marks.
"""

from __future__ import annotations

from agent.reuse.fingerprint import Fingerprint
from agent.reuse.fingerprint import fingerprint
from agent.reuse.normalise import has_cut_script
from agent.reuse.scripts import TOKENISER

# One token per character puts a CJK text near one word per character; English prose has about
# one word per six characters. Used only to count the old fingerprints that cannot be re-made.
_PER_CHARACTER = 0.4


def is_current(fp: Fingerprint) -> bool:
    return fp.tokeniser == TOKENISER


def remade(fp: Fingerprint, text: str | None) -> Fingerprint | None:
    """The current tokeniser's fingerprint of an older one's output, or None when its text is not
    stored whole (an excerpt, or none at all)."""
    if text is None or not has_cut_script(text):
        return None
    again = fingerprint(text)
    return again if again.text_hash == fp.text_hash else None


def may_hold_cut_script(fp: Fingerprint, char_count: int) -> bool:
    """Whether an old fingerprint looks made of a Chinese or Japanese text (see _PER_CHARACTER)."""
    return char_count > 0 and fp.word_count > _PER_CHARACTER * char_count
