"""Rows from a captured call: the text kept as the privacy setting says, NUL removed so one body
cannot poison a batch, attribution applied, and a parser bug recorded on the call, not raised."""

from __future__ import annotations

import dataclasses

from agent.config import Team
from agent.writer.attribution import Attributor
from agent.writer.rows import build_rows
from agent.writer.rows import parse_exchange
from tests.writer.test_drain import exchange

ATTRIBUTOR = Attributor((Team("research", api_key_sha256=("a" * 64,)),), None)


def rows(ex, req, resp, store_text="full"):
    ex = dataclasses.replace(ex, request=dataclasses.replace(ex.request, body=req),
                             response=dataclasses.replace(ex.response, body=resp))
    parsed = parse_exchange(ex, 1 << 20)
    return build_rows(ex, parsed, ATTRIBUTOR, store_text=store_text, excerpt_chars=8, proxy_host="gw")


def test_a_call_and_its_output_rows():
    ex, req, resp = exchange("rivers and mountains", team_key="a" * 64)
    call, outputs = rows(ex, req, resp)
    assert (call["team"], call["attributed_by"], call["vendor"], call["outputs"]) == ("research", "api_key", "openai", 1)
    assert call["output_text"] == "Answer: rivers and mountains" and call["proxy_host"] == "gw"
    assert [(o["kind"], o["idx"], o["text"]) for o in outputs] == [("generated", 0, "Answer: rivers and mountains")]
    assert outputs[0]["word_count"] > 0 and len(outputs[0]["exact_hash"]) > 0


def test_the_privacy_setting_decides_what_text_is_kept():
    ex, req, resp = exchange("rivers and mountains")
    excerpt, excerpt_outputs = rows(ex, req, resp, store_text="excerpt")
    none, none_outputs = rows(ex, req, resp, store_text="none")
    assert excerpt["output_text"] == "Answer: " and excerpt_outputs[0]["text"] == "Answer: "
    assert none["output_text"] is None and none_outputs[0]["text"] is None
    assert none_outputs[0]["fingerprint"] == excerpt_outputs[0]["fingerprint"]  # matching needs no text


def test_nul_is_removed_and_a_parser_bug_is_recorded_on_the_call(monkeypatch):
    ex, req, resp = exchange("nul\x00 inside")  # JSON carries it as \u0000: the answer holds a NUL
    assert b"\\u0000" in resp
    call, outputs = rows(ex, req, resp)
    assert call["output_text"] == outputs[0]["text"] == "Answer: nul inside"

    def broken(*args, **kwargs):
        raise ZeroDivisionError

    monkeypatch.setattr("agent.writer.rows.parse_call", broken)
    parsed = parse_exchange(ex, 1 << 20)
    assert parsed.parse_error == "internal parser error: ZeroDivisionError" and parsed.vendor == ex.route.vendor
