"""Turn a captured request/response pair into a `ParsedCall`.

`parse_call` is the entry point the writer thread uses. It undoes Content-Encoding within a byte
budget, hands the bodies to the route's family module (one per API family; every module has
`parse_request(call, exchange)` and `parse_response(call, exchange)`), computes the prompt
signatures, and never raises: a malformed body, a cut stream or a parser bug becomes a short
`parse_error`, scrubbed of anything key-shaped, while whatever was read is kept. The same rule
holds for every vendor: a successful generation response from which no output was read carries
a parse_error naming the body's shape, never a silent empty record.
"""

from __future__ import annotations

import json
import logging
import traceback
from types import ModuleType

from agent.proxy.exchange import RequestSnapshot
from agent.proxy.exchange import ResponseSnapshot
from agent.proxy.hosts import Route
from agent.proxy.redact import scrub_text
from agent.writer.decoding import DEFAULT_MAX_BYTES
from agent.writer.decoding import DecodeError
from agent.writer.decoding import decode_body
from agent.writer.decoding import describe_size
from agent.writer.parsed import ParsedCall
from agent.writer.parsers import anthropic
from agent.writer.parsers import batches
from agent.writer.parsers import bedrock
from agent.writer.parsers import cohere
from agent.writer.parsers import google
from agent.writer.parsers import huggingface
from agent.writer.parsers import metadata
from agent.writer.parsers import openai
from agent.writer.parsers import uploads
from agent.writer.parsers.common import DecodedExchange
from agent.writer.parsers.common import ParseProblem
from agent.writer.parsers.common import lower_headers
from agent.writer.parsers.common import parse_query
from agent.writer.parsers.common import shape_of
from agent.writer.signature import prompt_sha256
from agent.writer.signature import template_signature

logger = logging.getLogger(__name__)

FAMILY_MODULES: dict[str, ModuleType] = {
    "openai": openai,
    "anthropic": anthropic,
    "google": google,
    "bedrock": bedrock,
    "cohere": cohere,
    "huggingface": huggingface,
    "batches": batches,
    "uploads": uploads,
    "metadata": metadata,
}
_MAX_ERROR_CHARS = 300


def _decode(side: str, body: bytes, encoding: str | None, limit: int, problems: list[str]) -> bytes:
    try:
        return decode_body(body, encoding, max_bytes=limit)
    except DecodeError as exc:
        problems.append(f"{side} {exc}")
        return b""


def _internal_error(route: Route, exc: Exception) -> str:
    # Log where it broke, not the exception text: that may quote captured content.
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    logger.error(
        "%s parser failed on %s %s: %s at %s:%s", route.family, route.vendor, route.endpoint,
        type(exc).__name__, frame.filename.rsplit("/", 1)[-1], frame.lineno,
    )
    return f"internal error in {route.family} parser: {type(exc).__name__}"


def _body_shape(body: bytes) -> str:
    """What a body no reader took an output from looks like (only read on that failure path)."""
    try:
        return shape_of(json.loads(body))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return f"a {describe_size(len(body))} body that is not one JSON document"


def _run(step, call: ParsedCall, x: DecodedExchange, problems: list[str]) -> None:
    """One parser step; a failing request step must not cost the response, nor the reverse."""
    try:
        step(call, x)
    except ParseProblem as exc:
        problems.append(str(exc))
    except RecursionError:
        problems.append("body nested too deeply to read")
    except Exception as exc:  # a parser bug costs this step's details, never the record
        problems.append(_internal_error(x.route, exc))


def _parse(
    call: ParsedCall, route: Route, request: RequestSnapshot, response: ResponseSnapshot, limit: int,
    problems: list[str],
) -> None:
    family = FAMILY_MODULES[route.family]
    request_headers = lower_headers(request.headers)
    response_headers = lower_headers(response.headers)
    request_body = _decode("request", request.body, request_headers.get("content-encoding"), limit, problems)
    x = DecodedExchange(
        route, request.method.upper(), parse_query(request.path), request_headers, request_body,
        response, response_headers, b"",
    )
    if request_body:
        before = len(problems)
        _run(family.parse_request, call, x, problems)
        if route.kind == "generation" and len(problems) == before:  # a request read whole
            call.prompt_texts = [text for _, text in x.prompt if text]
    if x.prompt and call.kind == "generation":
        call.template_signature = template_signature(x.prompt)
        call.prompt_sha256 = prompt_sha256(x.prompt)

    if response.truncated:
        problems.append(f"response: body truncated by the capture cap at {describe_size(len(response.body))}")
    if response.status is None:
        problems.append(f"no response: {response.error or 'connection closed'}")
        if not response.body:
            return
    elif response.error:
        problems.append(f"response: connection error: {response.error}")
    if response.status is not None and not 200 <= response.status < 300:
        return  # a vendor error body holds no output; the status itself is the record
    x.response_body = _decode(
        "response", response.body, response_headers.get("content-encoding"), limit, problems
    )
    if x.response_body.strip():
        before = len(problems)
        _run(family.parse_response, call, x, problems)
        problems[before:before] = x.notes  # a skipped bad event usually explains what follows
        if call.kind == "generation" and not call.outputs and len(problems) == before:
            problems.append(f"response: no output found in {_body_shape(x.response_body)}")
    elif response.status is not None and route.kind != "upload" and not problems:
        problems.append("response: empty body")


def parse_call(
    route: Route,
    request: RequestSnapshot,
    response: ResponseSnapshot,
    *,
    max_decoded_bytes: int = DEFAULT_MAX_BYTES,
) -> ParsedCall:
    call = ParsedCall(
        vendor=route.vendor,
        endpoint=route.endpoint,
        kind=route.kind,  # type: ignore[arg-type]
        model=route.deployment or route.model,
        streamed=route.stream or response.streamed,
    )
    problems: list[str] = []
    try:
        _parse(call, route, request, response, max_decoded_bytes, problems)
    except Exception as exc:  # outside the parser steps: decoding, signatures
        problems.append(_internal_error(route, exc))
    if problems:
        unique = list(dict.fromkeys(problems))
        call.parse_error = scrub_text("; ".join(unique))[:_MAX_ERROR_CHARS]
    return call
