"""orjson reads the writer's JSON first (agent/writer/parsers/common.py): every body and event
must decode to what json.loads gives, the same value of the same types, or fail as json fails."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.json_exact import fits_orjson
from agent.writer.parsers.common import ParseProblem
from agent.writer.parsers.common import load_json
from agent.writer.parsers.common import loads_stripped
from tests.support.json_values import same_value

_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
                     st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12))
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(st.text(max_size=6), inner, max_size=4)),
                       max_leaves=12)
# raw texts near JSON: what a cut or odd stream holds
_PIECES = st.sampled_from(['{"a":', "1", "-0", "1e400", "NaN", "\\ud800", '"', "[", "]", "}", ",", " ", "\ufeff",
                           "12345678901234567890", "0.1", "\x00", "\\n", "true", "nul", "é", "{}", "[]"])
_RAW = st.lists(_PIECES, max_size=12).map("".join)


def _json_outcome(text: str):
    try:
        return "value", json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
        return "error", type(e).__name__


def _fast_outcome(text: str):
    try:
        return "value", loads_stripped(text, fits_orjson(text.encode("utf-8", "surrogatepass")))
    except (json.JSONDecodeError, RecursionError) as e:
        return "error", type(e).__name__


@settings(max_examples=400, deadline=None)
@given(st.one_of(_VALUES.map(json.dumps), _VALUES.map(lambda v: json.dumps(v, ensure_ascii=False)), _RAW))
def test_events_decode_as_json_decodes_them(text):
    text = text.strip()
    if not text:
        return
    expected, got = _json_outcome(text), _fast_outcome(text)
    assert expected[0] == got[0] and (same_value(expected[1], got[1]) if expected[0] == "value" else expected == got)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_VALUES.map(lambda v: json.dumps(v).encode()), _RAW.map(lambda t: t.encode("utf-8", "surrogatepass")),
                 st.binary(max_size=20)))
def test_bodies_decode_as_json_decodes_them(body):
    try:
        text = body.decode("utf-8")
        expected = ("value", json.loads(text)) if body.strip() else ("error", "empty")
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        expected = ("error", None)
    try:
        got = ("value", load_json(body, "response"))
    except ParseProblem:
        got = ("error", None)
    if expected[0] == "error" and expected[1] == "empty":
        expected = ("error", None)
    assert expected[0] == got[0] and (expected[0] == "error" or same_value(expected[1], got[1]))


@pytest.mark.parametrize("number", ["12345678901234567890", "-9223372036854775809", "18446744073709551616",
                                    "9223372036854775807", "1" * 40])
def test_integers_past_64_bits_stay_exact(number):
    body = f'{{"usage": {{"prompt_tokens": {number}}}}}'.encode()
    assert load_json(body, "response")["usage"]["prompt_tokens"] == int(number)
    assert loads_stripped(body.decode(), fits_orjson(body))["usage"]["prompt_tokens"] == int(number)
