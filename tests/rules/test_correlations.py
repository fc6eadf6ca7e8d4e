"""Aggregation over fixed windows: event_count, value_count, value_sum, min_events, bounds, and
the baseline comparison with the group's own history."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from rules.engine.correlations import NS
from rules.engine.correlations import WINDOW
from rules.engine.correlations import aggregate
from rules.engine.correlations import window_of
from rules.engine.fields import CALL_FIELDS
from rules.engine.frames import normalise
from rules.engine.frames import to_ns
from rules.engine.model import Baseline
from rules.engine.model import Correlation
from rules.engine.model import CorrelationType
from rules.engine.model import Logsource
from rules.engine.model import Threshold

T0 = dt.datetime(2026, 11, 16, tzinfo=dt.timezone.utc)


def frame(rows):
    return normalise(pd.DataFrame(rows), Logsource.CALLS, list(CALL_FIELDS))


def correlation(kind, bounds, field=None, timespan=3600, group_by=("team", "vendor"), baseline=None,
                factor=None, floor=None, min_events=0):
    return Correlation(type=kind, group_by=tuple(group_by), timespan_s=timespan, timespan=f"{timespan}s",
                       threshold=Threshold(bounds, factor, floor), field=field, baseline=baseline,
                       min_events=min_events)


def rows(team, n, start, step_s=1, **extra):
    return [{"ts": start + dt.timedelta(seconds=i * step_s), "team": team, "vendor": "openai", **extra} for i in range(n)]


def test_windows_align_to_fixed_boundaries():
    ts = np.array([to_ns(T0 + dt.timedelta(minutes=59, seconds=59)), to_ns(T0 + dt.timedelta(hours=1))])
    assert list(window_of(ts, 3600)) == [to_ns(T0), to_ns(T0) + 3600 * NS]
    day = window_of(np.array([to_ns(T0 + dt.timedelta(hours=23))]), 86400)[0]
    assert day == to_ns(T0)  # a UTC day


def test_event_count_per_group_and_window():
    data = frame(rows("a", 10, T0) + rows("b", 4, T0) + rows("a", 3, T0 + dt.timedelta(hours=1)))
    result = aggregate(data, correlation(CorrelationType.EVENT_COUNT, {"gte": 4}), None, None).table
    assert [(r["team"], r["value"], r["events"]) for r in result.to_dict("records")] == [("a", 10, 10), ("b", 4, 4)]


def test_value_count_with_event_floor():
    data = frame(rows("a", 300, T0, prompt_sha256=None)
                 + [{"ts": T0, "team": "b", "vendor": "openai", "prompt_sha256": f"p{i % 50}"} for i in range(300)]
                 + [{"ts": T0, "team": "c", "vendor": "openai", "prompt_sha256": f"p{i}"} for i in range(150)])
    data.loc[data["team"] == "a", "prompt_sha256"] = [f"q{i}" for i in range(300)]
    corr = correlation(CorrelationType.VALUE_COUNT, {"gte": 100}, field="prompt_sha256", min_events=200)
    result = aggregate(data, corr, None, None).table
    # a: 300 distinct (fires); b: 50 distinct; c: 150 distinct but only 150 events
    assert result["team"].tolist() == ["a"] and result["value"].tolist() == [300]


def test_value_sum_and_upper_bound():
    data = frame(rows("a", 5, T0, outputs=100) + rows("b", 5, T0, outputs=10))
    corr = correlation(CorrelationType.VALUE_SUM, {"gte": 40, "lt": 100}, field="outputs")
    result = aggregate(data, corr, None, None).table
    assert result[["team", "value"]].values.tolist() == [["b", 50.0]]


def test_only_windows_in_range_are_judged():
    data = frame(rows("a", 5, T0) + rows("a", 5, T0 + dt.timedelta(hours=2)))
    corr = correlation(CorrelationType.EVENT_COUNT, {"gte": 1})
    result = aggregate(data, corr, to_ns(T0 + dt.timedelta(hours=1)), to_ns(T0 + dt.timedelta(hours=3))).table
    assert result[WINDOW].tolist() == [to_ns(T0 + dt.timedelta(hours=2))]


def test_baseline_compares_with_the_groups_own_history():
    day = 86400
    history = []
    for d in range(14):
        start = T0 - dt.timedelta(days=14 - d)
        history += rows("steady", 1, start, outputs=400)  # 400 a day
        if d % 2 == 0:
            history += rows("quiet", 1, start, outputs=20)  # 20 every other day: median over 14 days = 10
    today = rows("steady", 1, T0, outputs=1200) + rows("quiet", 1, T0, outputs=600) + rows("new", 1, T0, outputs=450)
    data = frame(history + today)
    corr = correlation(CorrelationType.VALUE_SUM, {"gt": 0.0}, field="outputs", timespan=day,
                       baseline=Baseline(14, "median"), factor=5, floor=500)
    result = aggregate(data, corr, to_ns(T0), to_ns(T0 + dt.timedelta(days=1))).table
    # steady: 1200 < 5 x 400; quiet: 600 > max(5 x 10, 500); new: 450 < floor 500
    assert result[["team", "value", "baseline", "threshold"]].values.tolist() == [["quiet", 600.0, 10.0, 500.0]]


def test_baseline_counts_idle_windows_as_zero_and_uses_only_previous_windows():
    corr = correlation(CorrelationType.EVENT_COUNT, {"gt": 0.0}, timespan=3600, baseline=Baseline(3, "max"),
                       factor=2, floor=0)
    data = frame(rows("a", 10, T0) + rows("a", 25, T0 + dt.timedelta(hours=4)))
    result = aggregate(data, corr, None, None).table
    # hour 0: no history at all (baseline unknown, the floor decides) -> fires;
    # hour 4: the previous 3 hours were idle -> baseline 0 -> fires
    baseline = result["baseline"].tolist()
    assert np.isnan(baseline[0]) and baseline[1] == 0.0
    data = frame(rows("a", 10, T0) + rows("a", 15, T0 + dt.timedelta(hours=1)))
    result = aggregate(data, corr, to_ns(T0 + dt.timedelta(hours=1)), None).table
    assert result.empty  # 15 is not above 2 x 10


def test_missing_group_values_form_their_own_group():
    data = frame(rows("a", 3, T0, template_signature=None) + rows("a", 3, T0, template_signature="t1"))
    corr = correlation(CorrelationType.EVENT_COUNT, {"gte": 3}, group_by=("team", "template_signature"))
    result = aggregate(data, corr, None, None).table
    assert len(result) == 2 and result["template_signature"].isna().sum() == 1


def test_baseline_in_slices_gives_the_same_answer(monkeypatch):
    import rules.engine.correlations as correlations

    day = 86400
    data = frame([row for team in "abcdefg" for d in range(10)
                  for row in rows(team, 1, T0 - dt.timedelta(days=10 - d), outputs=10 * (ord(team) - 96))]
                 + [row for team in "abcdefg" for row in rows(team, 1, T0, outputs=400 + 10 * (ord(team) - 96))])
    corr = correlation(CorrelationType.VALUE_SUM, {"gt": 0.0}, field="outputs", timespan=day,
                       baseline=Baseline(7, "median"), factor=5, floor=100)
    whole = aggregate(data, corr, to_ns(T0), None).table
    monkeypatch.setattr(correlations, "MAX_BASELINE_CELLS", 15)  # one group per slice
    sliced = aggregate(data, corr, to_ns(T0), None).table
    assert whole["team"].tolist() == ["a", "b", "c", "d", "e", "f", "g"][:len(whole)]
    assert whole.equals(sliced) and whole["baseline"].tolist()[:2] == [10.0, 20.0]
