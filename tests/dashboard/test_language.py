"""ReportLanguage: the languages on offer, and dates and numbers as each locale writes them."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from dashboard.language import LOCALES_DIR
from dashboard.language import LanguageError
from dashboard.language import ReportLanguage
from dashboard.language import available_languages

EN, JA = ReportLanguage("en"), ReportLanguage("ja")
MONDAY = dt.datetime(2026, 11, 16, 9, 5, tzinfo=dt.timezone.utc)


def test_english_and_every_compiled_catalogue_are_on_offer():
    compiled = {p.parent.parent.name for p in LOCALES_DIR.glob("*/LC_MESSAGES/aiaudit.mo")}
    assert "ja" in compiled
    assert available_languages() == tuple(sorted(compiled | {"en"}))


@pytest.mark.parametrize("code", ["", "fr", "JA", "ja_JP", "../ja", "en\n"])
def test_a_language_without_a_catalogue_is_refused(code):
    with pytest.raises(LanguageError, match="expected one of en, ja"):
        ReportLanguage(code)


def test_english_is_the_source_text_and_japanese_its_translation():
    assert EN.gettext("Findings") == "Findings"
    assert JA.gettext("Findings") == "検出事項"
    assert JA.text("Multi-Sampling Of Completions") == "応答の複数サンプリング"  # a built-in rule title
    assert JA.text("A site rule's own title") == "A site rule's own title"  # no entry: shown as written


def test_numbers_dates_and_units_follow_the_locale():
    assert EN.number(1234567) == "1,234,567" and EN.number(2.5) == "2.50" and EN.number(96.84, 1) == "96.8"
    assert JA.number(1234567) == "1,234,567"
    assert EN.percent(0.26) == "26%" and EN.percent(0.26, signed=True) == "+26%"
    assert JA.percent(-0.5, signed=True) == "-50%"
    assert EN.compact(13_809) == "13.8K" and EN.compact(6_673_471) == "6.7M"
    assert JA.compact(13_809) == "1.4万" and JA.compact(331_318) == "33.1万" and JA.compact(2.5e9) == "25億"
    assert EN.datetime(MONDAY, "EEE dd MMM yyyy HH:mm") == "Mon 16 Nov 2026 09:05"
    assert JA.datetime(MONDAY, "EEE dd MMM yyyy HH:mm") == "2026年11月16日(月) 09:05"
    assert JA.date(MONDAY.date(), "EEE dd") == "16日(月)"
    # a moment given in another zone is shown in UTC, as the report says
    tokyo = MONDAY.astimezone(dt.timezone(dt.timedelta(hours=9)))
    assert JA.datetime(tokyo, "yyyy-MM-dd HH:mm") == "2026年11月16日 09:05"


NUMBERS = st.one_of(st.integers(-10**15, 10**15), st.floats(-1e15, 1e15, allow_nan=False),
                    st.sampled_from([0, 0.0, -0.0, 1e-12, 5e-324, 0.005, 0.015, 999.995, 10**15,
                                     1000.51171875, 9999.96, -5000.25]))
ANY_FLOAT = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(NUMBERS, st.sampled_from([EN, JA]), st.sampled_from([None, 0, 1, 2]))
def test_any_number_formats_and_reads_back(value, language, decimals):
    text = language.number(value, decimals)
    digits = float(text.replace(",", ""))
    places = (0 if float(value) == int(value) else 2) if decimals is None else decimals
    assert math.isclose(digits, float(value), abs_tol=0.5 * 10 ** -places + 1e-9 * abs(float(value)))


@settings(max_examples=100, deadline=None)
@given(ANY_FLOAT, st.sampled_from([EN, JA]))
def test_any_float_at_all_formats_in_full(value, language):
    text = language.number(value)
    # within half a unit of the last place shown: a value half-way between two (549755813888.665)
    # rounds by its decimal form here and by its binary one in an f-string
    places = 0 if value == int(value) else 2
    assert math.isclose(float(text.replace(",", "")), value, abs_tol=0.5 * 10 ** -places + 1e-9 * abs(value))
    assert language.compact(value) and language.percent(value)


def test_infinity_and_nan_are_shown_not_fatal():
    assert [EN.number(v) for v in (math.inf, -math.inf, math.nan)] == ["∞", "-∞", "NaN"]
    assert JA.compact(math.inf) == "∞" and JA.percent(math.nan) == "NaN%"


def test_a_count_below_the_first_compact_unit_is_written_with_one_decimal():
    """Japanese has no unit below 万 (10,000): 1000.51171875 was written with all its digits."""
    assert JA.compact(1000.51171875) == "1,000.5" and JA.compact(12345.6) == "1.2万"
    assert EN.compact(1000.51171875) == "1K"


@settings(max_examples=200, deadline=None)
@given(NUMBERS, st.sampled_from([EN, JA]))
def test_any_count_gets_a_short_label(value, language):
    label = language.compact(value)
    assert label and len(label) <= 12
    assert language.percent(value / 1e6 if value else 0.0)


@settings(max_examples=100, deadline=None)
@given(st.datetimes(min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(9998, 12, 30),
                    timezones=st.sampled_from([dt.timezone.utc, dt.timezone(dt.timedelta(hours=-11)),
                                               dt.timezone(dt.timedelta(hours=14))])))
def test_any_moment_is_written_in_utc_in_both_languages(moment):
    utc = moment.astimezone(dt.timezone.utc)
    assert EN.datetime(moment, "yyyy-MM-dd HH:mm") == utc.strftime("%Y-%m-%d %H:%M")
    assert JA.datetime(moment, "yyyy-MM-dd HH:mm") == f"{utc.year}年{utc.month}月{utc.day}日 {utc:%H:%M}"
