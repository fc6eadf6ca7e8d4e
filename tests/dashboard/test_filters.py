"""The templates' filters in English and Japanese: windows, periods, moments and JSON values."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from dashboard.filters import Filters
from dashboard.language import ReportLanguage
from dashboard.weeks import IsoWeek

EN, JA = Filters(ReportLanguage("en")), Filters(ReportLanguage("ja"))
UTC = dt.timezone.utc
THU = dt.datetime(2026, 11, 19, tzinfo=UTC)


def test_a_whole_day_a_span_of_hours_and_several_days():
    assert EN.window(THU, THU + dt.timedelta(days=1)) == "Thu 19 Nov 2026 (whole day, UTC)"
    assert JA.window(THU, THU + dt.timedelta(days=1)) == "2026年11月19日(木)（終日、UTC）"
    nine, noon = THU + dt.timedelta(hours=9), THU + dt.timedelta(hours=12)
    assert EN.window(nine, noon) == "Thu 19 Nov 2026 09:00–12:00 UTC"
    assert JA.window(nine, noon) == "2026年11月19日(木) 09:00～12:00（UTC）"
    assert EN.window(nine, nine + dt.timedelta(days=3)) == "2026-11-19 09:00 – 2026-11-22 09:00 UTC"
    assert JA.window(nine, nine + dt.timedelta(days=3)) == "2026年11月19日 09:00～2026年11月22日 09:00（UTC）"


def test_the_week_period_and_moments():
    week = IsoWeek(2026, 47)
    assert EN.period(week) == "Mon 16 Nov – Sun 22 Nov 2026 (UTC)"
    assert JA.period(week) == "11月16日(月)～2026年11月22日(日)（UTC）"
    assert EN.utc("2026-11-29T06:00:00Z") == "2026-11-29 06:00 UTC"
    assert JA.utc("2026-11-29T06:00:00Z") == "2026年11月29日 06:00（UTC）"
    assert JA.utc("not a time") == "not a time" and JA.utc(None) == "—"


def test_json_values_read_as_the_language_writes_them():
    assert EN.plain([True, False, 1400, 2.5, None]) == "yes, no, 1,400, 2.50, —"
    assert JA.plain([True, False, 1400, 2.5, None]) == "はい、いいえ、1,400、2.50、—"
    assert JA.plain([]) == "—" and JA.plain({"b": 1, "a": "x"}) == '{"a": "x", "b": 1}'
    assert EN.pct(0.255) == "26%" and JA.pct(None) == "—" and JA.score(96.84) == "96.8"


JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**18, 10**18) | st.floats(allow_nan=False, allow_infinity=False)
                    | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=10)


@settings(max_examples=200, deadline=None)
@given(JSON, st.sampled_from([EN, JA]))
def test_any_json_value_is_one_line_of_text(value, filters):
    text = filters.plain(value)
    assert isinstance(text, str)
    if not isinstance(value, (str, dict)) and not _holds_newline(value):
        assert "\n" not in text


def _holds_newline(value) -> bool:
    """A line break inside one of the strings (str() of a list shows it escaped, as '\\n')."""
    if isinstance(value, str):
        return "\n" in value
    if isinstance(value, (list, tuple)):
        return any(_holds_newline(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_newline(k) or _holds_newline(v) for k, v in value.items())
    return False


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(9990, 1, 1), timezones=st.just(UTC)),
       st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=400)), st.sampled_from([EN, JA]))
def test_any_window_names_its_bounds_in_utc(start, length, filters):
    text = filters.window(start, start + length)
    assert text.endswith("UTC）" if filters is JA else "UTC")
    assert str(start.year) in text
