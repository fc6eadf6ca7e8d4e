"""The side of a record a field sits on, as the splitter reads it (answers on the response side,
questions on the prompt side). `split_by_side` itself works inside the detector's batch and is
checked through it: tests/reuse/test_matching.py (an output only in the prompt is a prompt-side
match; another answer repeating the same question is not reuse)."""

from __future__ import annotations

from agent.reuse.roles import FieldPath
from agent.reuse.roles import role_of
from agent.reuse.sides import cached_role


def test_the_cached_role_is_the_role_of_the_field():
    for path, speaker in (("messages[2].content", "assistant"), ("messages[1].content", "user"), ("answer", None),
                          ("question", None), ("text", None)):
        assert cached_role(path, speaker) == role_of(FieldPath(path, speaker))
    assert cached_role("messages[2].content", "assistant") == "response"
    assert cached_role("messages[1].content", "user") == "prompt"
