"""The writer marks the 5-grams of an output that restate its call's prompt, from the request
it reads again (agent/writer/echo.py); the prompt itself is never stored."""

from __future__ import annotations

import dataclasses
import gzip
import json

import numpy as np
from sqlalchemy import select

from agent.proxy.journal import Journal
from agent.proxy.record import CapturedExchange
from agent.proxy.record import encode_parts
from agent.reuse import Fingerprint
from agent.reuse.shingles import is_echo
from agent.reuse.shingles import is_restated
from agent.store.engine import open_store
from agent.store.models import Call
from agent.store.models import Output
from agent.writer.echo import prompt_texts
from tests.writer import wire
from tests.writer.test_drain import exchange
from tests.writer.test_drain import run_writer


def captured(host: str, path: str, request, headers=None) -> CapturedExchange:
    route, req, resp = wire.exchange(host, path, request=request, request_headers=headers)
    return CapturedExchange("c1", route, req, resp, None, None, None, None, 0.0, len(req.body), 0)


def test_prompt_texts_of_each_family_and_of_bad_requests():
    anthropic = captured("api.anthropic.com", "/v1/messages", {
        "model": "claude", "max_tokens": 10, "system": "Be brief.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Quote the sonnet."}]}]})
    assert prompt_texts(anthropic, 1 << 20) == ["Be brief.", "Quote the sonnet."]
    zipped = captured("api.openai.com", "/v1/chat/completions",
                      gzip.compress(json.dumps({"model": "m", "messages": [{"role": "user", "content": "Hi there"}]}).encode()),
                      headers=(("content-type", "application/json"), ("content-encoding", "gzip")))
    assert prompt_texts(zipped, 1 << 20) == ["Hi there"]
    assert prompt_texts(captured("api.openai.com", "/v1/chat/completions", b"{not json"), 1 << 20) == []
    assert prompt_texts(captured("api.openai.com", "/v1/embeddings", {"model": "e", "input": "text"}), 1 << 20) == []


def test_the_writer_stores_outputs_marked_where_they_repeat_the_prompt(tmp_path, db_url):
    journal = Journal(tmp_path / "j", 1 << 30)
    ex, request, response = exchange("which rivers cross the northern mountains in spring")
    assert journal.append(encode_parts(ex, [request], [response]))
    run_writer(journal, db_url, store_text="none")
    store = open_store(db_url)
    with store.session() as s:
        blob = s.scalar(select(Output.fingerprint))
        assert s.scalar(select(Output.text)) is None and s.scalar(select(Call.output_text)) is None
    shingles = Fingerprint.from_blob(blob).shingles
    # "Answer: which rivers cross ...": every 5-gram after the first word restates the question
    assert not is_echo(shingles)[0] and is_restated(shingles)[1:].all()
    assert np.count_nonzero(is_echo(shingles)) == len(shingles) - 1


def _read_again(ex: CapturedExchange, max_body_bytes: int) -> list[str]:
    """How the writer read the prompt before the parse carried it: a second decode and parse of
    the request by the family parser, any problem leaving no texts."""
    from agent.writer.decoding import decode_body
    from agent.writer.parsed import ParsedCall
    from agent.writer.parsers import FAMILY_MODULES
    from agent.writer.parsers.common import DecodedExchange
    from agent.writer.parsers.common import lower_headers
    from agent.writer.parsers.common import parse_query

    route = ex.route
    if route.kind != "generation" or not ex.request.body or route.family not in FAMILY_MODULES:
        return []
    try:
        headers = lower_headers(ex.request.headers)
        body = decode_body(ex.request.body, headers.get("content-encoding"), max_bytes=max_body_bytes)
        x = DecodedExchange(route, ex.request.method.upper(), parse_query(ex.request.path), headers, body, ex.response, {}, b"")
        FAMILY_MODULES[route.family].parse_request(ParsedCall(route.vendor, route.endpoint, route.kind), x)
    except Exception:
        return []
    return [text for _, text in x.prompt if text]


def test_the_parse_carries_the_prompt_the_request_read_again_gave():
    """Every request of the wire corpus (each family, each endpoint, bad bodies included), and
    cut or unreadable ones: the texts carried on ParsedCall are the ones a second read gave."""
    from tests.writer.corpus import CASES
    from tests.writer.test_wire_corpus import snapshots

    seen = 0
    for case in CASES:
        route, request, response = snapshots(case)
        variants = [request.body, request.body[: len(request.body) // 2], b"", b"\xff{", b"[]"]
        for body in variants:
            ex = CapturedExchange("c1", route, dataclasses.replace(request, body=body), response,
                                  None, None, None, None, 0.0, len(body), 0)
            assert prompt_texts(ex, 1 << 20) == _read_again(ex, 1 << 20), (case.name, body[:40])
            seen += bool(_read_again(ex, 1 << 20))
    assert seen >= 10  # the corpus has prompts to carry, not only empty lists
