"""agent.json_exact.loads is json.loads: the same value of the same types, or the same error,
whichever of orjson and json reads it (the writer decodes every journal record header with it)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent import json_exact
from tests.support.json_values import same_value

_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2 ** 80), max_value=2 ** 80),
                     st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=10))
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(st.text(max_size=6), inner, max_size=4)),
                       max_leaves=12)
_PIECES = st.sampled_from([b'{"a":', b"1", b"-0", b"1e400", b"NaN", b"\\ud800", b'"', b"[", b"]", b"}", b",", b" ",
                           b"\xef\xbb\xbf", b"12345678901234567890", b"0.1", b"\x00", b"\xff", b"\xc3", b"true", b"{}"])


def _outcome(body: bytes, loads):
    try:
        return "value", loads(body)
    except ValueError as e:  # JSONDecodeError and UnicodeDecodeError both
        return "error", type(e).__name__, str(e)


@settings(max_examples=600, deadline=None)
@given(st.one_of(_VALUES.map(lambda v: json.dumps(v).encode()),
                 _VALUES.map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass")),
                 st.lists(_PIECES, max_size=12).map(b"".join), st.binary(max_size=40)))
def test_loads_is_json_loads(body):
    assert same_value(_outcome(body, json_exact.loads), _outcome(body, json.loads))


def test_the_cases_orjson_alone_would_get_wrong_or_refuse():
    for body in (b"18446744073709551616", b"-9223372036854775809", b"[NaN, Infinity]", b'"\\ud800"',
                 b"[1e400]", '{"t": "caf\u00e9"}'.encode("latin-1")):
        assert same_value(_outcome(body, json_exact.loads), _outcome(body, json.loads)), body
    assert type(json_exact.loads(b"[123456789012345678901]")[0]) is int


def test_fits_orjson_finds_a_long_run_of_digits_anywhere():
    assert json_exact.fits_orjson(b"") and json_exact.fits_orjson(b"1" * 18 + b"." + b"2" * 18)
    assert not json_exact.fits_orjson(b'{"a": "x' + b"9" * 19 + b'"}')
