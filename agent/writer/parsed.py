"""What the parsers make of one exchange: `ParsedCall`, the writer's record of a call before it
becomes rows (agent.writer.rows). Made in the writer process only; nothing here may hold a
secret (docs/architecture.md: data carriers)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Literal

CallKind = Literal["generation", "batch_results", "upload", "other"]

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
    # The prompt's texts, read by the request parser, for the echo marks of the outputs'
    # fingerprints (agent.reuse.fingerprint); never stored, neither text nor hash.
    prompt_texts: list[str] = field(default_factory=list)

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
