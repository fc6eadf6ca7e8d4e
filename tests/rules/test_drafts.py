"""Finding drafts: evidence values are plain JSON whatever pandas or numpy hand over, and the
dedupe key names a (rule, group, window) and nothing else."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from rules.engine.drafts import dedupe_key
from rules.engine.drafts import plain

START = dt.datetime(2026, 11, 18, tzinfo=dt.timezone.utc)


def test_pandas_and_numpy_values_become_plain_json():
    assert plain(pd.Timestamp("2026-11-18T13:00:00", tz="Europe/Paris")) == "2026-11-18T12:00:00+00:00"
    assert plain(np.int64(3)) == 3 and type(plain(np.int64(3))) is int
    assert plain(np.float64(2.0)) == 2 and type(plain(np.float64(2.0))) is int
    assert plain(np.float64(2.5)) == 2.5 and plain(np.bool_(True)) is True
    assert plain(float("nan")) is None and plain(pd.NA) is None and plain(pd.NaT) is None
    assert plain(np.array([1, 2])) == [1, 2] and plain(("a", np.int32(1))) == ["a", 1]


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True) | st.integers(-2**60, 2**60) | st.none(), max_size=6))
def test_any_numbers_serialise_without_nan_or_infinity(values):
    out = plain(np.array(values, dtype=object))
    text = json.dumps(out, allow_nan=False)
    for value, back in zip(values, json.loads(text)):
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            assert back is None
        else:
            assert back == value or math.isclose(back, value)


def test_the_dedupe_key_is_the_rule_group_window_and_timespan():
    key = dedupe_key("r1", {"team": "a", "vendor": "openai"}, START, "1d")
    assert key == dedupe_key("r1", {"vendor": "openai", "team": "a"}, START, "1d")  # key order does not matter
    others = {dedupe_key("r2", {"team": "a", "vendor": "openai"}, START, "1d"),
              dedupe_key("r1", {"team": "b", "vendor": "openai"}, START, "1d"),
              dedupe_key("r1", {"team": "a", "vendor": "openai"}, START + dt.timedelta(days=1), "1d"),
              dedupe_key("r1", {"team": "a", "vendor": "openai"}, START, "1h")}
    assert key not in others and len(others) == 4 and len(key) == 64
