"""The demo's AI vendor: a small local HTTPS server answering the few calls the demo's teams make.

`aiaudit demo` runs offline on a bare install, so it cannot reach OpenAI, Anthropic or DeepSeek.
This server answers in their wire formats (OpenAI and DeepSeek chat completions, Anthropic
messages as JSON and as an event stream, the OpenAI files and fine-tuning endpoints, a batch
results file) with text drawn from the prompt, so the same prompt always gets the same answer and
different prompts get different ones: the outputs the watcher must later find in the datasets.
The tests' stand-in (tests/support/standin) covers every vendor and every failure mode; this one
covers only the demo's traffic and ships with the product.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import ssl
import threading
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

from agent.demo.tls import server_context

WORDS = ("gradient", "lattice", "variance", "harbour", "ledger", "quorum", "meridian", "sediment",
         "cipher", "tangent", "orchard", "beacon", "fulcrum", "estuary", "prism", "cadence", "vector",
         "glacier", "tensor", "mosaic", "kernel", "horizon", "summit", "cascade", "anchor", "spindle",
         "basalt", "furnace", "lantern", "compass", "quartz", "pylon", "saffron", "thicket", "ember",
         "plinth", "rampart", "citadel", "willow", "marble", "copper", "timber", "nimbus", "delta",
         "parallax", "isotope", "helix", "vertex", "canopy", "trellis", "bastion", "cobalt", "dynamo")
BATCH_SIZE_HEADER = "x-demo-batch-size"
_TOKEN = re.compile(r"\w+|[^\w\s]")


def answer(prompt: str, index: int = 0, words: tuple[int, int] = (60, 140)) -> str:
    """The answer to `prompt` (choice `index`): seeded by both, so it is stable and distinct."""
    seed = hashlib.sha256(f"{index}\x00{prompt}".encode()).digest()
    rng = random.Random(seed)
    sentences, count, target = [], 0, rng.randint(*words)
    while count < target:
        n = rng.randint(6, 14)
        sentence = " ".join(rng.choice(WORDS) for _ in range(n))
        sentences.append(sentence.capitalize() + ".")
        count += n
    return " ".join(sentences)


def tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


def last_user_text(messages: list) -> str:
    for message in reversed(messages or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def chat_completion(request: dict, call_id: str) -> dict:
    prompt = last_user_text(request.get("messages", []))
    n = request.get("n") or 1
    texts = [answer(prompt, i) for i in range(n)]
    return {"id": f"chatcmpl-{call_id}", "object": "chat.completion", "created": 1_764_000_000,
            "model": request.get("model", "unknown"),
            "choices": [{"index": i, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": text}} for i, text in enumerate(texts)],
            "usage": {"prompt_tokens": tokens(prompt), "completion_tokens": sum(map(tokens, texts)),
                      "total_tokens": tokens(prompt) + sum(map(tokens, texts))}}


def anthropic_message(request: dict, call_id: str) -> dict:
    prompt = last_user_text(request.get("messages", []))
    text = answer(prompt)
    return {"id": f"msg_{call_id}", "type": "message", "role": "assistant", "model": request.get("model"),
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": tokens(prompt), "output_tokens": tokens(text)}}


def anthropic_events(message: dict) -> list[bytes]:
    """The message as Anthropic's event stream: start, one text block in three deltas, stop."""
    text = message["content"][0]["text"]
    third = max(1, len(text) // 3)
    pieces = [text[i:i + third] for i in range(0, len(text), third)]
    start = dict(message, content=[], stop_reason=None, usage={"input_tokens": message["usage"]["input_tokens"],
                                                               "output_tokens": 0})
    events = [("message_start", {"type": "message_start", "message": start}),
              ("content_block_start", {"type": "content_block_start", "index": 0,
                                       "content_block": {"type": "text", "text": ""}})]
    events += [("content_block_delta", {"type": "content_block_delta", "index": 0,
                                        "delta": {"type": "text_delta", "text": p}}) for p in pieces]
    events += [("content_block_stop", {"type": "content_block_stop", "index": 0}),
               ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                  "usage": {"output_tokens": message["usage"]["output_tokens"]}}),
               ("message_stop", {"type": "message_stop"})]
    return [f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events]


def batch_results(size: int) -> bytes:
    """An OpenAI batch output file: one chat completion per line, as a nightly job downloads it."""
    lines = []
    for i in range(size):
        body = chat_completion({"model": "gpt-4o-mini", "messages": [
            {"role": "user", "content": f"Nightly catalogue description, item {i}"}]}, f"batch{i}")
        lines.append(json.dumps({"id": f"batch_req_{i}", "custom_id": f"item-{i}",
                                 "response": {"status_code": 200, "request_id": f"req_{i}", "body": body},
                                 "error": None}))
    return "".join(line + "\n" for line in lines).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: DemoVendorServer

    def log_message(self, format: str, *args: object) -> None:  # the demo prints its own progress
        pass

    def do_GET(self) -> None:
        if self.path.endswith("/content") and "/files/" in self.path:
            size = int(self.headers.get(BATCH_SIZE_HEADER, "10"))
            self._reply(200, batch_results(min(size, 10_000)), "application/jsonl")
        else:
            self._json(404, {"error": {"message": f"no such endpoint: {self.path}"}})

    def do_POST(self) -> None:
        data = self.rfile.read(int(self.headers.get("content-length", "0")))
        call_id = self.server.next_id()
        if self.path.endswith("/files"):
            self._json(200, {"id": f"file-{call_id}", "object": "file", "purpose": "fine-tune",
                             "bytes": len(data), "status": "processed"})
            return
        try:
            request = json.loads(data)
        except ValueError:
            self._json(400, {"error": {"message": "the body is not JSON"}})
            return
        if self.path.endswith("/fine_tuning/jobs"):
            self._json(200, {"id": f"ftjob-{call_id}", "object": "fine_tuning.job", "status": "queued",
                             "model": request.get("model"), "training_file": request.get("training_file")})
        elif self.path.endswith("/chat/completions"):
            self._json(200, chat_completion(request, call_id))
        elif self.path.endswith("/v1/messages"):
            message = anthropic_message(request, call_id)
            if request.get("stream"):
                self._reply(200, b"".join(anthropic_events(message)), "text/event-stream")
            else:
                self._json(200, message)
        else:
            self._json(404, {"error": {"message": f"no such endpoint: {self.path}"}})

    def _json(self, status: int, body: dict) -> None:
        self._reply(status, json.dumps(body).encode(), "application/json")

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        # mitmproxy cannot reuse an upstream connection its route addon re-targeted: close each one
        self.send_header("connection", "close")
        self.end_headers()
        self.wfile.write(body)


class DemoVendorServer(ThreadingHTTPServer):
    """The vendor on 127.0.0.1 (a free port), over TLS, in a daemon thread: `with DemoVendorServer() as v`."""

    daemon_threads = True

    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.socket = (context or server_context()).wrap_socket(self.socket, server_side=True)
        self._ids = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, name="aiaudit-demo-vendor", daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def next_id(self) -> str:
        with self._lock:
            self._ids += 1
            return f"{self._ids:06d}"

    def __enter__(self) -> DemoVendorServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(10)
