"""Deterministic generated text, so a test can assert the exact text the proxy captured.

The stand-in's "model output" for a prompt is a paragraph of 60–150 words drawn from a fixed word
list with a random generator seeded by sha256(vendor, choice index, prompt). The same inputs
always give the same paragraph; different prompts, vendors or choice indexes give unrelated ones
(a dataset record built from one vendor's answer must not match another vendor's answer).
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass

DEFAULT_VENDOR = "openai"

_WORDS = (
    "amber anchor answer archive arrow atlas autumn balance barrel beacon binary blossom border "
    "bridge bright bronze buffer cable canvas carbon castle cedar channel circuit cliff clover "
    "cluster cobalt comet compass copper coral corner cotton crystal current dawn delta desert "
    "docket drift ember engine falcon feather fiber field filter flame forest fossil frame garden "
    "garnet glacier granite gravel harbor harvest hazel helix horizon island ivory jasper kernel "
    "ladder lantern lattice ledger lemon lever linen lotus magnet maple marble meadow meridian "
    "mirror module mosaic nectar needle nickel north oasis object ocean olive onyx orbit orchard "
    "packet paddle parcel pepper pillar pilot pixel planet plaza pocket prairie prism pulse quartz "
    "quiver radar raven reef ribbon ridge river rocket saddle saffron salmon signal silver socket "
    "spiral spruce stable summit switch tablet thistle thunder timber token tower tunnel umber "
    "valley vector velvet vessel violet walnut willow window winter yarrow zenith zephyr"
).split()
_CONNECTORS = "and or but so then while because".split()

_TOKEN = re.compile(r"\w+|[^\w\s]")


def _rng(*parts: object) -> random.Random:
    digest = hashlib.sha256("\x00".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def _paragraph(rng: random.Random, min_words: int, max_words: int) -> str:
    target = rng.randint(min_words, max_words)
    sentences: list[str] = []
    count = 0
    while count < target:
        length = min(rng.randint(6, 16), target - count)
        words = [rng.choice(_WORDS) for _ in range(length)]
        if length > 8:
            words.insert(length // 2, rng.choice(_CONNECTORS))
        count += len(words)
        sentence = " ".join(words)
        sentences.append(sentence[0].upper() + sentence[1:] + ".")
    return " ".join(sentences)


def expected_text(prompt: str, index: int = 0, vendor: str = DEFAULT_VENDOR) -> str:
    """The answer the stand-in gives `vendor` for `prompt` as choice/candidate `index`."""
    return _paragraph(_rng("text", vendor, index, prompt), 60, 150)


def expected_reasoning(prompt: str, index: int = 0, vendor: str = DEFAULT_VENDOR) -> str:
    """Reasoning text (DeepSeek `reasoning_content`, Gemini thought parts) for the same call."""
    return _paragraph(_rng("reasoning", vendor, index, prompt), 20, 40)


def count_tokens(text: str) -> int:
    """The stand-in's tokenizer: one token per word and per punctuation mark."""
    return len(_TOKEN.findall(text))


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def expected_usage(
    prompt: str,
    index: int | None = 0,
    vendor: str = DEFAULT_VENDOR,
    n: int = 1,
    reasoning: bool = False,
) -> Usage:
    """Token counts the stand-in reports for a call.

    `prompt_tokens` counts the prompt text (at least 1). `completion_tokens` counts the text of
    choice `index`, or of all `n` choices when `index` is None (what a call with `n > 1`
    reports), and includes reasoning tokens when `reasoning` is set, as OpenAI-style usage does.
    """
    indexes = range(n) if index is None else [index]
    completion = sum(count_tokens(expected_text(prompt, i, vendor)) for i in indexes)
    thinking = 0
    if reasoning:
        thinking = sum(count_tokens(expected_reasoning(prompt, i, vendor)) for i in indexes)
    return Usage(max(1, count_tokens(prompt)), completion + thinking, thinking)


def split_deltas(text: str, words_per_delta: int = 3) -> list[str]:
    """Cut `text` into stream deltas whose concatenation is exactly `text`."""
    pieces = re.findall(r"\S+\s*", text)
    return [
        "".join(pieces[i : i + words_per_delta]) for i in range(0, len(pieces), words_per_delta)
    ] or [""]


def batch_prompt(custom_id: str) -> str:
    """The prompt a batch result line answers: batch results are keyed by custom_id only."""
    return f"batch request {custom_id}"
