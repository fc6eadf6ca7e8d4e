import datetime as dt

import pytest

from dashboard.weeks import IsoWeek
from dashboard.weeks import WeekError


def test_a_week_runs_monday_to_monday_utc():
    week = IsoWeek.parse("2026-W47")
    assert week.start == dt.datetime(2026, 11, 16, tzinfo=dt.timezone.utc)
    assert week.end == dt.datetime(2026, 11, 23, tzinfo=dt.timezone.utc)
    assert week.label == "2026-W47" and str(week) == "2026-W47"


def test_weeks_cross_year_boundaries():
    assert IsoWeek.parse("2026-W01").start.date() == dt.date(2025, 12, 29)
    assert IsoWeek.parse("2026-W53").shifted(1) == IsoWeek(2027, 1)
    assert IsoWeek(2027, 1).shifted(-1) == IsoWeek(2026, 53)


@pytest.mark.parametrize("text", ["2026-47", "2026-W7", "W47", "2026W47", "", "2026-W00", "2025-W53", "2026-W54",
                                  "2026-W47; rm -rf /"])
def test_bad_weeks_are_refused(text):
    with pytest.raises(WeekError):
        IsoWeek.parse(text)


def test_the_last_complete_week_is_the_one_before_now():
    monday_morning = dt.datetime(2026, 11, 23, 0, 30, tzinfo=dt.timezone.utc)
    assert IsoWeek.last_complete(monday_morning) == IsoWeek(2026, 47)
    sunday_night = dt.datetime(2026, 11, 22, 23, 59, tzinfo=dt.timezone.utc)
    assert IsoWeek.last_complete(sunday_night) == IsoWeek(2026, 46)
