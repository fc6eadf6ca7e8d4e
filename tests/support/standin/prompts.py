"""Which text of a request counts as "the prompt" that keys the stand-in's deterministic answer.

The rule is the same for every vendor: the text of the last user turn (text parts joined by a
newline). Tests compute `expected_text(<that text>, ...)` without knowing the wire format.
"""

from __future__ import annotations

from typing import Any

_TEXT_PART_TYPES = {None, "text", "input_text"}


def content_text(content: Any) -> str:
    """Text of a message `content`: a string, or a list of typed parts / Gemini/Bedrock parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        content = [content]
    if not isinstance(content, list):
        return ""
    texts = []
    for part in content:
        if isinstance(part, str):
            texts.append(part)
        elif (
            isinstance(part, dict)
            and isinstance(part.get("text"), str)
            and part.get("type") in _TEXT_PART_TYPES
            and not part.get("thought")
        ):
            texts.append(part["text"])
    return "\n".join(texts)


def last_user_text(messages: Any, user_roles: tuple[str, ...] = ("user",),
                   content_key: str = "content") -> str:
    """Text of the last message whose role is a user role (else of the last message)."""
    if not isinstance(messages, list) or not messages:
        return ""
    dicts = [m for m in messages if isinstance(m, dict)]
    for message in reversed(dicts):
        if str(message.get("role", "")).lower() in user_roles:
            return content_text(message.get(content_key))
    return content_text(dicts[-1].get(content_key)) if dicts else ""


def responses_input_text(value: Any) -> str:
    """OpenAI Responses `input`: a string, or items of which the last user message counts."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        messages = [
            item for item in value
            if isinstance(item, dict) and item.get("type", "message") == "message"
        ]
        return last_user_text(messages)
    return ""


def gemini_contents_text(contents: Any) -> str:
    if isinstance(contents, str):
        return contents
    if isinstance(contents, dict):
        contents = [contents]
    return last_user_text(contents, content_key="parts")
