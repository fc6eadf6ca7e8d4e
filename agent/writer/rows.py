"""Turning one captured exchange into store rows: the call, and one row per output text.

Runs in the writer thread. Parsing never raises (a problem becomes `parse_error`); raw text is
kept only as `privacy.store_text` allows; every output is fingerprinted so reuse can be found
without any text.
"""

from __future__ import annotations

import datetime as dt

from agent.proxy.exchange import ResponseSnapshot
from agent.proxy.record import CapturedExchange
from agent.reuse import Fingerprint
from agent.reuse import fingerprint
from agent.writer.attribution import Attributor
from agent.writer.parsed import ParsedCall
from agent.writer.parsers import parse_call

_NUL = "\x00"


def _clean(text: str | None) -> str | None:
    # PostgreSQL text cannot hold NUL; a captured body may. Dropping it keeps one record from
    # poisoning a batch.
    return text.replace(_NUL, "") if text and _NUL in text else text


def _utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc)


def parse_exchange(ex: CapturedExchange, max_body_bytes: int) -> ParsedCall:
    try:
        return parse_call(ex.route, ex.request, ex.response, max_decoded_bytes=max_body_bytes)
    except Exception as e:  # parse_call promises not to raise; a bug must still not lose the call
        return ParsedCall(vendor=ex.route.vendor, endpoint=ex.route.endpoint, kind=ex.route.kind,
                          parse_error=f"internal parser error: {type(e).__name__}")


def fingerprint_items(parsed: ParsedCall, prompts: list[str] | None = None) -> list[tuple[str, list[str]]]:
    """(text, prompt texts) of each output row build_rows makes, in its order: what the writer
    fingerprints for a whole batch at once (agent.reuse.fingerprint_batch)."""
    generated = [(text, prompts or []) for text in parsed.outputs]
    return generated + [(text, []) for text in parsed.uploaded_texts]


def build_rows(ex: CapturedExchange, parsed: ParsedCall, attributor: Attributor, *, store_text: str,
               excerpt_chars: int, proxy_host: str, prompts: list[str] | None = None,
               fingerprints: list[Fingerprint] | None = None) -> tuple[dict, list[dict]]:
    """`prompts`: the call's prompt texts, which mark the echoes in its outputs' fingerprints;
    `fingerprints`: those of fingerprint_items(parsed, prompts), when computed already."""
    who = attributor.attribute(ex.key_sha256, ex.proxy_user, ex.client_ip, ex.header_team)
    response: ResponseSnapshot = ex.response
    ts = _utc(ex.request.ts or ex.finished)
    joined = "\n".join(parsed.outputs)
    if store_text == "full":
        output_text = joined
    elif store_text == "excerpt":
        output_text = joined[:excerpt_chars]
    else:
        output_text = None
    parse_error = parsed.parse_error
    if response.error and not parse_error:
        parse_error = f"connection: {response.error}"
    call = {
        "id": ex.call_id,
        "ts": ts,
        "vendor": parsed.vendor,
        "host": ex.request.host[:255],
        "endpoint": parsed.endpoint,
        "kind": parsed.kind,
        "method": ex.request.method[:10],
        "path": _clean(ex.request.path),
        "model": _clean(parsed.model)[:255] if parsed.model else None,
        "served_model": _clean(parsed.served_model)[:255] if parsed.served_model else None,
        "team": who.team,
        "attributed_by": who.by,
        "user": ex.proxy_user,
        "client_ip": ex.client_ip,
        "api_key_sha256": ex.key_sha256,
        "status": response.status,
        "streamed": bool(parsed.streamed),
        "request_n": parsed.request_n,
        "logprobs": bool(parsed.logprobs),
        "top_logprobs": parsed.top_logprobs,
        "max_tokens": parsed.max_tokens,
        "temperature": parsed.temperature,
        "template_signature": parsed.template_signature,
        "prompt_sha256": parsed.prompt_sha256,
        "upload_purpose": parsed.upload_purpose,
        "prompt_tokens": parsed.prompt_tokens,
        "completion_tokens": parsed.completion_tokens,
        "outputs": len(parsed.outputs),
        "output_chars": len(joined) if parsed.outputs else 0,
        "output_parts": list(parsed.output_parts) if parsed.outputs else None,
        "parse_error": _clean(parse_error),
        "output_text": _clean(output_text),
        "request_bytes": ex.request_bytes,
        "response_bytes": ex.response_bytes,
        "duration_ms": max(0.0, (ex.finished - ex.request.ts) * 1000) if ex.request.ts else None,
        "proxy_host": proxy_host,
    }
    outputs = []
    if fingerprints is None:
        fingerprints = [fingerprint(text, asked) for text, asked in fingerprint_items(parsed, prompts)]
    done = 0
    for kind, texts in (("generated", parsed.outputs), ("uploaded", parsed.uploaded_texts)):
        for idx, text in enumerate(texts):
            fp = fingerprints[done]
            done += 1
            kept = text if store_text == "full" else text[:excerpt_chars] if store_text == "excerpt" else None
            outputs.append({
                "call_id": ex.call_id, "idx": idx, "kind": kind, "ts": ts, "word_count": fp.word_count,
                "char_count": len(text), "exact_hash": fp.exact, "fingerprint": fp.to_blob(),
                "text": _clean(kept),
            })
    return call, outputs
