"""AWS Bedrock runtime: Converse, ConverseStream, InvokeModel, InvokeModelWithResponseStream.

Streams are binary AWS event-stream frames (see eventstream.py). InvokeModel carries the
provider's native body; Anthropic Messages is served in full, the other text families
(bedrock_families.py) in their native JSON and stream shapes.
"""

from __future__ import annotations

import base64
import json
import uuid

from . import bedrock_families
from .call import Call
from .call import Reply
from .call import json_reply
from .call import middle
from .eventstream import encode_frame
from .eventstream import event_frame
from .eventstream import exception_frame
from .prompts import last_user_text
from .text import count_tokens
from .text import expected_text
from .text import split_deltas
from .vendor_anthropic import build_answer

EVENTSTREAM = "application/vnd.amazon.eventstream"


def _headers() -> dict[str, str]:
    return {"x-amzn-RequestId": str(uuid.uuid4())}


def validation_error(message: str, status: int = 400) -> Reply:
    reply = json_reply({"message": message}, status)
    reply.headers |= {"x-amzn-ErrorType": "ValidationException"} | _headers()
    return reply


def _stream_reply(frames: list[bytes], start: int, end: int, call: Call, text: str,
                  headers: dict[str, str] | None = None) -> Reply:
    """Apply the frame-level bad-input modes and wrap the frames in a streamed reply."""
    mid = middle(start, end)
    if call.mode == "crc-error":
        frames[mid] = _corrupt(frames[mid])
    if call.mode == "malformed-json":
        frames[mid] = encode_frame({":event-type": "chunk" if b"chunk" in frames[mid]
                                    else "contentBlockDelta", ":content-type": "application/json",
                                    ":message-type": "event"}, b'{"delta": {"text": "unterminated')
    if call.mode == "unknown-events":
        frames.insert(start + 1, event_frame("standinUnknownEvent", {"detail": "ignore me"}))
    if call.mode == "error-in-stream":
        frames = frames[:mid] + [exception_frame("modelStreamErrorException",
                                                 "The model stream failed (stand-in).")]
    return Reply(content_type=EVENTSTREAM, events=frames, cut_at=mid,
                 headers=_headers() | (headers or {}), text=text)


def _corrupt(frame: bytes) -> bytes:
    return frame[:-4] + bytes(b ^ 0xFF for b in frame[-4:])


# ---------------------------------------------------------------- Converse

def converse(call: Call, model: str, streamed: bool) -> Reply:
    body = call.json
    if not body.get("messages"):
        return validation_error("A conversation must start with a user message.")
    prompt = last_user_text(body["messages"])
    text = expected_text(prompt, 0, call.vendor)
    usage = {"inputTokens": max(1, count_tokens(prompt)), "outputTokens": count_tokens(text)}
    usage["totalTokens"] = usage["inputTokens"] + usage["outputTokens"]
    if not streamed:
        reply = json_reply({
            "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
            "stopReason": "end_turn", "usage": usage, "metrics": {"latencyMs": 42},
        }, text=text)
        reply.headers |= _headers()
        return reply
    # No contentBlockStart: Bedrock sends it only for tool use (its `start` is a union).
    frames = [event_frame("messageStart", {"role": "assistant"})]
    start = len(frames)
    for piece in split_deltas(text):
        frames.append(event_frame("contentBlockDelta",
                                  {"delta": {"text": piece}, "contentBlockIndex": 0}))
    end = len(frames)
    frames += [
        event_frame("contentBlockStop", {"contentBlockIndex": 0}),
        event_frame("messageStop", {"stopReason": "end_turn"}),
        event_frame("metadata", {"usage": usage, "metrics": {"latencyMs": 42}}),
    ]
    return _stream_reply(frames, start, end, call, text)


# ---------------------------------------------------------------- InvokeModel

def _invoke_native(call: Call, native: bedrock_families.NativeAnswer, streamed: bool) -> Reply:
    """A non-Messages family (bedrock_families): its JSON body, or its chunks in frames."""
    output_tokens = sum(count_tokens(t) for t in native.texts)
    text = "\n".join(native.texts)
    if not streamed:
        reply = json_reply(native.body, text=text)
        reply.headers |= _headers() | _token_headers(native.prompt_tokens, output_tokens)
        return reply
    if not native.chunks:
        return validation_error("The model does not support streaming")
    chunks = [dict(c) for c in native.chunks]
    chunks[-1]["amazon-bedrock-invocationMetrics"] = {
        "inputTokenCount": native.prompt_tokens, "outputTokenCount": output_tokens,
        "invocationLatency": 420, "firstByteLatency": 42}
    frames = [event_frame("chunk", {"bytes": base64.b64encode(json.dumps(c).encode()).decode()}) for c in chunks]
    return _stream_reply(frames, 0, len(frames) - 1, call, text,
                         headers={"X-Amzn-Bedrock-Content-Type": "application/json"})


def _token_headers(input_tokens: int, output_tokens: int) -> dict[str, str]:
    return {"X-Amzn-Bedrock-Input-Token-Count": str(input_tokens),
            "X-Amzn-Bedrock-Output-Token-Count": str(output_tokens),
            "X-Amzn-Bedrock-Invocation-Latency": "42"}


def invoke(call: Call, model: str, streamed: bool) -> Reply:
    body = call.json
    native = bedrock_families.answer(model, body, call.vendor)
    if native is not None:
        return _invoke_native(call, native, streamed)
    if "anthropic_version" not in body and "messages" not in body:
        return validation_error(f"Malformed input request for model {model}")
    if not body.get("messages") or not body.get("max_tokens"):
        return validation_error("messages and max_tokens are required")
    answer = build_answer(call, model)
    if not streamed:
        reply = json_reply(answer.message, text=answer.text)
        reply.headers |= _headers() | _token_headers(answer.input_tokens, answer.output_tokens)
        return reply
    frames = []
    for name, data in answer.events:
        if name == "ping":
            continue  # Bedrock does not relay Anthropic's pings
        if name == "message_stop":
            data = data | {"amazon-bedrock-invocationMetrics": {
                "inputTokenCount": answer.input_tokens, "outputTokenCount": answer.output_tokens,
                "invocationLatency": 420, "firstByteLatency": 42}}
        encoded = base64.b64encode(json.dumps(data).encode()).decode()
        frames.append(event_frame("chunk", {"bytes": encoded}))
    start, end = answer.content_span
    start -= 1  # the skipped ping came before the text deltas
    end -= 1
    return _stream_reply(frames, start, end, call, answer.text,
                         headers={"X-Amzn-Bedrock-Content-Type": "application/json"})


def dispatch(call: Call, model: str, operation: str) -> Reply:
    match operation:
        case "converse":
            return converse(call, model, streamed=False)
        case "converse-stream":
            return converse(call, model, streamed=True)
        case "invoke":
            return invoke(call, model, streamed=False)
        case "invoke-with-response-stream":
            return invoke(call, model, streamed=True)
    return validation_error(f"Unknown operation {operation}", 404)

