"""Plain data passed from the proxy hook to the parsers.

The hook snapshots a flow into a `RequestSnapshot` / `ResponseSnapshot` pair (headers and URL
already redacted by `agent.proxy.redact`) and queues them; the writer thread turns the pair into
a `ParsedCall` with `agent.writer.parsers.parse_call`. Nothing here may hold a secret: these
objects travel through queues and journals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Literal

Headers = tuple[tuple[str, str], ...]
CallKind = Literal["generation", "batch_results", "upload", "other"]


def header_value(headers: Headers, name: str) -> str | None:
    """First value of a header, matched case-insensitively (HTTP names are case-insensitive)."""
    wanted = name.lower()
    for key, value in headers:
        if key.lower() == wanted:
            return value
    return None


@dataclass(frozen=True, slots=True)
class RequestSnapshot:
    method: str
    scheme: str
    host: str
    port: int
    path: str  # path and query, already redacted
    headers: Headers  # already redacted
    body: bytes  # raw wire bytes, possibly Content-Encoding-compressed
    ts: float

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)


@dataclass(frozen=True, slots=True)
class ResponseSnapshot:
    status: int | None
    headers: Headers  # already redacted
    body: bytes  # raw wire bytes; for a streamed response, the chunks the tee saw
    streamed: bool = False
    truncated: bool = False  # the tee hit its byte cap, so the body ends early
    error: str | None = None  # connection error or abort reported by mitmproxy

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)


# What an output (one generation) may hold, in the order its text joins them (README: export).
OUTPUT_PARTS = ("text", "refusal", "tool_arguments", "code", "reasoning")


@dataclass(slots=True)
class ParsedCall:
    vendor: str
    endpoint: str
    kind: CallKind
    model: str | None = None  # requested model (Azure: deployment; Google/Bedrock: from the path)
    served_model: str | None = None  # what the vendor says served the call
    request_n: int | None = None
    logprobs: bool = False
    top_logprobs: int | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    streamed: bool = False
    template_signature: str | None = None
    prompt_sha256: str | None = None
    upload_purpose: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    # One entry per generation (choice, candidate, generation): its text, and which parts of
    # OUTPUT_PARTS that text holds. Use add_output, which applies the one policy for all vendors.
    outputs: list[str] = field(default_factory=list)
    output_parts: list[list[str]] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)  # the reasoning part of each output that has one
    uploaded_texts: list[str] = field(default_factory=list)
    # File ids or storage URIs a call references or creates (training_file of a fine-tuning
    # job, id of an uploaded file), so uploads and jobs can be tied together later.
    file_ids: list[str] = field(default_factory=list)
    parse_error: str | None = None

    def add_output(self, text: str = "", *, refusal: str = "", tool_arguments: Sequence[str] = (),
                   code: Sequence[str] = (), reasoning: str = "") -> None:
        """One generation. Its text is every part the model generated for the caller: the answer,
        a refusal, each tool call's arguments (structured extraction is output too), generated
        code, then reasoning text, joined by newlines; empty parts are left out."""
        pieces: list[tuple[str, str]] = [("text", text), ("refusal", refusal)]
        pieces += [("tool_arguments", args) for args in tool_arguments]
        pieces += [("code", snippet) for snippet in code]
        pieces.append(("reasoning", reasoning))
        kept = [(part, value) for part, value in pieces if value]
        self.outputs.append("\n".join(value for _, value in kept))
        self.output_parts.append(list(dict.fromkeys(part for part, _ in kept)))
        if reasoning:
            self.reasoning.append(reasoning)

    def take_outputs(self, other: ParsedCall) -> None:
        """Append another call's outputs (batch result lines)."""
        self.outputs.extend(other.outputs)
        self.output_parts.extend(other.output_parts)
        self.reasoning.extend(other.reasoning)
