"""Comparing decoded JSON values strictly, for the tests that check one reader against another."""

from __future__ import annotations

import math


def same_value(a, b) -> bool:
    """Equal values of equal types all the way down: 1 is not 1.0 nor True, -0.0 is not 0.0, and a
    NaN equals a NaN; tuples (an error's description) compare like lists."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(map(same_value, a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same_value(a[k], b[k]) for k in a)
    return a == b
