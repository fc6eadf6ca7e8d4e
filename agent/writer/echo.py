"""The prompt texts of a captured generation call, for the echo marks of its outputs'
fingerprints (agent.reuse.fingerprint).

The parsers read the prompt for the call's signatures but keep only hashes of it, so the request
is read again here, by the same family parser. Only the fingerprint uses the texts; they are never
stored. Any problem leaves the outputs unmarked, which costs precision, never the call.
"""

from __future__ import annotations

import logging

from agent.proxy.exchange import ParsedCall
from agent.proxy.record import CapturedExchange
from agent.writer.decoding import decode_body
from agent.writer.parsers import FAMILY_MODULES
from agent.writer.parsers.common import Exchange
from agent.writer.parsers.common import lower_headers
from agent.writer.parsers.common import parse_query

log = logging.getLogger(__name__)


def prompt_texts(ex: CapturedExchange, max_body_bytes: int) -> list[str]:
    route = ex.route
    if route.kind != "generation" or not ex.request.body or route.family not in FAMILY_MODULES:
        return []
    try:
        headers = lower_headers(ex.request.headers)
        body = decode_body(ex.request.body, headers.get("content-encoding"), max_bytes=max_body_bytes)
        x = Exchange(route, ex.request.method.upper(), parse_query(ex.request.path), headers, body,
                     ex.response, {}, b"")
        FAMILY_MODULES[route.family].parse_request(ParsedCall(route.vendor, route.endpoint, route.kind), x)
    except Exception as e:  # the parse itself already recorded any problem with this request
        log.debug("prompt of %s not read for echo marks: %s", ex.call_id, type(e).__name__)
        return []
    return [text for _, text in x.prompt if text]
