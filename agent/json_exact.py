"""JSON read by orjson wherever it gives exactly the value json gives, and by json otherwise.

orjson reads a document in a fraction of json's time, and json stays the reference: every
document orjson accepts, json reads to the same value, except an integer past 64 bits, which
orjson reads as a float where json keeps it exact. A body with no run of 19 digits holds no such
integer (`fits_orjson`); what orjson refuses (NaN, 1e400, a lone surrogate escape, bytes that
are not UTF-8, every error) goes to json, so values and errors stay json's
(tests/test_json_exact.py, tests/writer/test_fast_json.py).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# Every ASCII digit to "0", every other byte to ".": a run of 19 "0" is a run of 19 digits.
_DIGIT_RUNS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x2E for b in range(256))
_LONG_NUMBER = b"0" * 19


def fits_orjson(body: bytes) -> bool:
    """False when the body holds a run of 19 digits or more (one translate and one search)."""
    return _LONG_NUMBER not in body.translate(_DIGIT_RUNS)


def loads(body: bytes) -> Any:
    """`json.loads(body)`: the same value, or the same error."""
    if fits_orjson(body):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    return json.loads(body)
