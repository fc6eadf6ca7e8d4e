"""Which side of a training record a field is on: the response (what a model said), the prompt
(what it was asked), or unknown.

A dataset record that holds a captured output in its response field is a training example built
from that output; the same text in its prompt field is the question someone asked, or a quote in
it, which is weaker evidence. The side comes from the speaker label of the message holding the
field (`{"role": "assistant", "content": ...}`, ShareGPT's `{"from": "gpt", "value": ...}`) when the
reader saw one, else from the names along the field's path (`output`, `instruction`, a CSV column
`response`), deepest name first.
"""

from __future__ import annotations

import re

RESPONSE = "response"
PROMPT = "prompt"
UNKNOWN = "unknown"
ROLES = (RESPONSE, PROMPT, UNKNOWN)

# Speaker labels and field names, lower case, compared word by word ("model_answer" -> answer).
RESPONSE_NAMES = frozenset({
    "assistant", "output", "outputs", "completion", "completions", "response", "responses", "answer",
    "answers", "gpt", "chatgpt", "bot", "model", "ai", "chosen", "rejected", "reply", "replies",
    "generation", "generations", "generated", "target", "targets", "prediction", "predictions",
})
PROMPT_NAMES = frozenset({
    "user", "system", "instruction", "instructions", "input", "inputs", "human", "prompt", "prompts",
    "question", "questions", "query", "queries", "context", "developer", "request", "prompter", "tool",
    "function", "ipython", "observation",
})
_WORD = re.compile(r"[a-z]+|[A-Z][a-z]*")
_SEGMENT = re.compile(r"\[\d+\]")


class FieldPath(str):
    """A field path that also remembers the speaker label of the message it sits in."""

    __slots__ = ("speaker",)

    def __new__(cls, path: str, speaker: str | None = None) -> FieldPath:
        value = super().__new__(cls, path)
        value.speaker = speaker
        return value


def _side_of(name: str) -> str | None:
    words = {w.lower() for w in _WORD.findall(name)}
    response, prompt = bool(words & RESPONSE_NAMES), bool(words & PROMPT_NAMES)
    if response != prompt:
        return RESPONSE if response else PROMPT
    return None  # neither, or both ("prompt_response"): the name does not tell


def role_of(path: str) -> str:
    """RESPONSE, PROMPT or UNKNOWN for one field path."""
    speaker = getattr(path, "speaker", None)
    if speaker:
        side = _side_of(speaker)
        if side is not None:
            return side
    for segment in reversed(_SEGMENT.sub(".", str(path)).split(".")):
        if segment:
            side = _side_of(segment)
            if side is not None:
                return side
    return UNKNOWN


def role_of_fields(paths: tuple[str, ...] | list[str]) -> str:
    """The side of a match found in these fields: response if any of them is on the response
    side, prompt only if all of them are on the prompt side, otherwise unknown."""
    roles = {role_of(p) for p in paths}
    if RESPONSE in roles:
        return RESPONSE
    if roles == {PROMPT}:
        return PROMPT
    return UNKNOWN
