"""Prompt-template signatures and normalised prompt hashes.

Scripts that harvest outputs send one template many times with different slot values. The
*template signature* groups such calls; the *prompt hash* spots byte-for-byte repeats.

Input: the prompt as (role, text) segments in request order.

Template signature (hex SHA-256, or None when there is no prompt text):
1. Only instruction roles count: system, developer, user (and vendor spellings of them); model
   answers and tool results inside a conversation are not part of a template.
2. Each segment is NFKC-normalised and lower-cased, then spans that are almost always slot values
   are masked: fenced code blocks, URLs, e-mail addresses, quoted strings ("...", '...', “...”,
   `...`), numbers (also dates, versions, decimals) and long tokens (hex ids, base64, >= 24
   characters without spaces).
3. Labelled fields keep their label only: a line `Question: what is ...` becomes `question: <v>`
   when the label is at most four words. A line ending in `:` (`Summarise the article below:`)
   turns the following paragraph, up to a blank line, into one `<v>`.
4. Under a system/developer segment, a final user segment with no structure of its own (no
   labelled field, no introduced paragraph) is the slot as a whole: a fixed system prompt plus a
   varying question is one template.
5. Whitespace is collapsed, consecutive slots merge, and `role:skeleton` parts are hashed.

Known limit: a one-line prompt whose slot is plain words ("Write a story about dragons") is
not recognised as a template: nothing marks where the slot starts.

Prompt hash: SHA-256 of every segment (all roles) with Unicode NFC and whitespace collapsed.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence

_TEMPLATE_ROLES = {"system", "developer", "user", "human", "instructions", "preamble"}
_SYSTEM_ROLES = {"system", "developer", "instructions", "preamble"}
_MAX_SEGMENT_CHARS = 64 * 1024  # templates live in the head of a prompt; bound the regex work
SLOT = "<v>"

_MASKS = [
    re.compile(r"```.*?(?:```|$)", re.S),
    re.compile(r"\b(?:https?|ftp|s3|gs)://\S+"),
    re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"),
    # The quote and number masks open with a plain character or set, so that the regex engine
    # jumps from one candidate character to the next in C instead of trying the pattern at every
    # position (bench/writer_capacity.py: 2 to 3 times faster on a 4 KB prompt than a leading
    # lookahead, same matches: tests/capture/test_signature_prechecks.py). `'(?<!\w')` is
    # "a quote not preceded by a word character", and `[-+\d](?:(?<=\d)|(?=\d))` is `[-+]?\d`.
    re.compile(r"\"[^\"\n]{0,2000}\"|“[^”\n]{0,2000}”|`[^`\n]{0,2000}`|'(?<!\w')[^'\n]{0,2000}'(?!\w)"),
    re.compile(r"\S{24,}"),
    re.compile(r"[-+\d](?:(?<=\d)|(?=\d))[\d,._:/-]*"),
]
# the number mask for ASCII text, where \d is 0 to 9: a set the engine tests by bitmap, about
# 2.5 times faster than the Unicode digit category on a 4 KB prompt
_ASCII_NUMBER = re.compile(r"[-+0-9](?:(?<=[0-9])|(?=[0-9]))[0-9,._:/-]*")
_NUMBER = len(_MASKS) - 1
_LABEL_LINE = re.compile(r"^\s*([^\W\d][\w' -]{0,40}?)\s*:\s*(\S.*)$")
_SLOT_RUN = re.compile(r"<v>[ \t]*(?:<v>[ \t]*)+")  # a literal head: found by a fast search
_SPACES = re.compile(r"[ \t\f\v]+")


_DIGITS = tuple("0123456789")
# ASCII whitespace as \s sees it (str.isspace: also \x1c to \x1f) becomes a space, everything
# else "x": a run of 24 "x" is a run of 24 \S characters
_RUN_MAP = bytes(0x20 if chr(b).isspace() else 0x78 for b in range(256))
_LONG_RUN = b"x" * 24


def _may_match(index: int, text: str) -> bool:
    """False only when mask `index` cannot match `text`: a substring test runs in C at memchr
    speed, where each mask's scan costs 40 to 120 ns a character (the writer's largest cost on
    4 KB prompts, measured by bench/writer_capacity.py). True means: run the mask."""
    # a search for one character is a memchr; for three, a slower scan of the whole text (3 us
    # for 4 KB), so the rarer one character goes first
    if index == 0:
        return "`" in text and "```" in text
    if index == 1:
        return "/" in text and "://" in text
    if index == 2:
        return "@" in text
    if index == 3:
        return '"' in text or "\u201c" in text or "`" in text or "'" in text
    if index == 4:
        if text.isascii():  # one translate and one substring search, no list of words
            return _LONG_RUN in text.encode("ascii").translate(_RUN_MAP)
        return max(map(len, text.split()), default=0) >= 24  # \S and str.split() agree on whitespace
    if text.isascii():  # \d is any Unicode decimal digit; in ASCII text, 0 to 9 only
        return any(d in text for d in _DIGITS)
    return True


# ASCII digits to "0": where the first and the last digit of a text are, with two searches
_DIGIT_ZEROS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x2E for b in range(256))
_NUMBER_TAIL = re.compile(r"[0-9,._:/-]*")


def _mask_ascii_numbers(text: str) -> str:
    """_ASCII_NUMBER.sub(SLOT, text), scanning only from the first digit to the last number's
    end: the engine tests every character against the mask's opening set (20 us for a 4 KB
    prompt, bench/proxy_overhead.py's "Request 12: ..."). A number starts at a digit or at the
    sign just before one, and runs on over digits and [,._:/-]; so no number starts before the
    first digit's sign, and none ends past the run that follows the last digit."""
    zeros = text.encode("ascii").translate(_DIGIT_ZEROS)
    first = zeros.find(b"0")
    if first < 0:
        return text
    start = max(0, first - 1)
    end = _NUMBER_TAIL.match(text, zeros.rfind(b"0") + 1).end()
    return text[:start] + _ASCII_NUMBER.sub(SLOT, text[start:end]) + text[end:]


def _mask(text: str) -> str:
    for index, pattern in enumerate(_MASKS):
        if index == _NUMBER and text.isascii():
            text = _mask_ascii_numbers(text)  # its own search for digits is the precheck
        elif _may_match(index, text):
            text = pattern.sub(SLOT, text)
    return text


def _collapse_spaces(line: str) -> str:
    if "  " in line or "\t" in line or "\f" in line or "\v" in line:
        return _SPACES.sub(" ", line)
    return line  # no run to collapse: the regex would return the line unchanged


def _skeleton(text: str) -> tuple[str, bool]:
    """Masked skeleton of one segment and whether it had template structure (fields/intros)."""
    text = unicodedata.normalize("NFKC", text[:_MAX_SEGMENT_CHARS]).lower()
    lines = _mask(text).splitlines()
    out: list[str] = []
    structured = False
    in_introduced_paragraph = False
    for line in lines:
        stripped = _collapse_spaces(line).strip()
        if not stripped:
            in_introduced_paragraph = False
            out.append("")
            continue
        if in_introduced_paragraph:
            if not out or out[-1] != SLOT:
                out.append(SLOT)
            continue
        label = _LABEL_LINE.match(stripped) if ":" in stripped else None  # a label needs its colon
        if label and len(label.group(1).split()) <= 4:
            out.append(f"{label.group(1).strip()}: {SLOT}")
            structured = True
        else:
            out.append(stripped)
        if stripped.endswith(":"):
            in_introduced_paragraph = True
            structured = True
    skeleton = "\n".join(out).strip()
    if "\n\n\n" in skeleton:  # only a run of three or more changes
        skeleton = re.sub(r"\n{2,}", "\n\n", skeleton)
    if skeleton.count(SLOT) >= 2:  # a run needs two slots
        skeleton = _SLOT_RUN.sub(SLOT + " ", skeleton)
    return skeleton.strip(), structured


def _may_be_structured(text: str) -> bool:
    """False only when _skeleton would find no structure: a labelled field and an introducing
    line both need a colon, which neither lower-casing nor a mask can add. The question under a
    system prompt becomes one slot then, and its 4 KB need no mask pass (bench/writer_capacity.py:
    the masks were most of the signature's ~40 us a call)."""
    return ":" in unicodedata.normalize("NFKC", text[:_MAX_SEGMENT_CHARS])


def template_signature(segments: Sequence[tuple[str, str]]) -> str | None:
    parts = [(role.lower(), text) for role, text in segments if role.lower() in _TEMPLATE_ROLES and text]
    if not parts:
        return None
    has_system = any(role in _SYSTEM_ROLES for role, _ in parts)
    last_user = max((i for i, (role, _) in enumerate(parts) if role not in _SYSTEM_ROLES), default=None)
    rendered: list[str] = []
    for i, (role, text) in enumerate(parts):
        if has_system and i == last_user and not _may_be_structured(text):
            skeleton = SLOT  # the masks would only have told that it has no structure
        else:
            skeleton, structured = _skeleton(text)
            if has_system and i == last_user and not structured:
                skeleton = SLOT
        kind = "system" if role in _SYSTEM_ROLES else "user"
        rendered.append(f"{kind}:{skeleton}")
    return hashlib.sha256("\x1e".join(rendered).encode("utf-8")).hexdigest()


_ASCII_SPACES = ("\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")  # str.split's, but " "


def _is_collapsed(text: str) -> bool:
    """True only when " ".join(text.split()) is text: ASCII with single inner spaces and no other
    whitespace (a few substring searches in C, where the split builds a string per word)."""
    return (text.isascii() and "  " not in text and not text.startswith(" ") and not text.endswith(" ")
            and not any(c in text for c in _ASCII_SPACES))


def prompt_sha256(segments: Sequence[tuple[str, str]]) -> str | None:
    parts = []
    for role, text in segments:
        if text:
            normal = unicodedata.normalize("NFC", text)
            if not _is_collapsed(normal):
                normal = " ".join(normal.split())
            parts.append(f"{role.lower()}\x1f{normal}")
    if not parts:
        return None
    return hashlib.sha256("\x1e".join(parts).encode("utf-8")).hexdigest()
