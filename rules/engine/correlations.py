"""Aggregation of matching events per group and fixed window (Sigma correlation style), in pandas.

Windows are aligned to fixed boundaries — `floor(ts / timespan) * timespan` from the Unix epoch,
so a 1d window is a UTC day and a 1h window a clock hour — which makes findings reproducible:
the same events always fall in the same windows, whatever `--since` was given.

A `baseline` compares each window with the same group's own history: the median (or mean, max)
of its per-window values over the `windows` windows just before, counting windows without any
event as 0. `gt: {factor: 5, floor: 500}` then fires when the value exceeds both five times
that baseline and 500 — a team that always pulls a lot is not flagged for its normal volume, and
a team with no history is judged against the floor alone.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rules.engine.frames import TS
from rules.engine.model import Baseline
from rules.engine.model import Correlation
from rules.engine.model import CorrelationType

WINDOW = "_window"
CELL = "_cell"
_BOUNDS = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le,
           "eq": operator.eq, "neq": operator.ne}
NS = 1_000_000_000
MAX_BASELINE_CELLS = 20_000_000  # floats in one baseline matrix slice (160 MB)


def window_of(ts_ns: np.ndarray | pd.Series, timespan_s: int) -> np.ndarray:
    span = timespan_s * NS
    return (np.asarray(ts_ns, dtype="int64") // span) * span


def history_windows(correlation: Correlation) -> int:
    return correlation.baseline.windows if correlation.baseline else 0


@dataclass
class Aggregation:
    """Firing windows, and for each matched event the window cell it belongs to.

    `table`: one row per firing (group, window) with the group-by columns, `_window` (ns),
    `value`, `events`, `baseline`, `threshold` and `_cell`; `event_cell`: per row of the matched
    frame, its cell number (compare with `table._cell` to pick a finding's events)."""

    table: pd.DataFrame
    event_cell: np.ndarray


def group_codes(key_codes: list[tuple[np.ndarray, int]], length: int) -> np.ndarray:
    """One dense int64 code per distinct combination of the keys' codes (vectorised)."""
    combined = np.zeros(length, dtype="int64")
    for codes, size in key_codes:
        combined = combined * size + codes
        combined = pd.factorize(combined, sort=False)[0].astype("int64")  # keep the codes compact
    return combined


def column_codes(frame: pd.DataFrame, keys: list[str]) -> list[tuple[np.ndarray, int]]:
    result = []
    for key in keys:
        codes, uniques = pd.factorize(frame[key], use_na_sentinel=False, sort=False)
        result.append((codes.astype("int64"), max(len(uniques), 1)))
    return result


def aggregate(matched: pd.DataFrame, correlation: Correlation, first_window_ns: int | None,
              until_ns: int | None, key_codes: list[tuple[np.ndarray, int]] | None = None) -> Aggregation:
    """The windows that satisfy the correlation condition.

    `matched` holds the events the detection selected, including the history a baseline needs;
    only windows starting in [first_window_ns, until_ns) are judged. `key_codes` may carry the
    group-by columns already factorized (per matched row); otherwise they are computed here.
    """
    keys = list(correlation.group_by)
    columns = keys + [WINDOW, "value", "events", "baseline", "threshold", CELL]
    if matched.empty:
        return Aggregation(pd.DataFrame(columns=columns), np.zeros(0, dtype="int64"))
    span = correlation.timespan_s * NS
    windows = window_of(matched[TS].to_numpy(), correlation.timespan_s)
    first = int(windows.min())
    width = int((windows.max() - first) // span) + 1
    group = group_codes(key_codes if key_codes is not None else column_codes(matched, keys), len(matched))
    cell_key = group * width + (windows - first) // span
    cells, first_index, event_cell = np.unique(cell_key, return_index=True, return_inverse=True)
    event_cell = event_cell.reshape(-1).astype("int64")
    events = np.bincount(event_cell, minlength=len(cells)).astype("float64")
    if correlation.type is CorrelationType.EVENT_COUNT:
        value = events
    elif correlation.type is CorrelationType.VALUE_SUM:
        numbers = pd.to_numeric(matched[correlation.field], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        value = np.bincount(event_cell, weights=np.nan_to_num(numbers, nan=0.0), minlength=len(cells))
    else:
        codes, uniques = pd.factorize(matched[correlation.field], use_na_sentinel=True)
        present = codes >= 0
        pairs = np.unique(event_cell[present] * (len(uniques) + 1) + codes[present])
        value = np.bincount(pairs // (len(uniques) + 1), minlength=len(cells)).astype("float64")
    cell_group = cells // width
    cell_window = first + (cells % width) * span

    judged = np.ones(len(cells), dtype=bool)
    if first_window_ns is not None:
        judged &= cell_window >= first_window_ns
    if until_ns is not None:
        judged &= cell_window < until_ns

    baseline = np.full(len(cells), np.nan)
    if correlation.baseline is not None and judged.any():
        baseline[judged] = _baseline(cell_group, cells % width, value, judged, width, correlation.baseline)

    fires = judged.copy()
    effective = np.full(len(cells), np.nan)
    threshold = correlation.threshold
    for name, bound in threshold.bounds.items():
        if threshold.factor is not None and name in ("gt", "gte"):
            bound_values = np.maximum(threshold.factor * np.nan_to_num(baseline, nan=0.0), threshold.floor or 0.0)
            effective = bound_values
            fires &= _BOUNDS[name](value, bound_values)
        else:
            if name in ("gt", "gte") or np.isnan(effective).all():
                effective = np.full(len(cells), bound)
            fires &= _BOUNDS[name](value, bound)
    if correlation.min_events:
        fires &= events >= correlation.min_events

    firing = np.flatnonzero(fires)
    table = matched[keys].iloc[first_index[firing]].reset_index(drop=True)
    table[WINDOW] = cell_window[firing]
    table["value"] = value[firing]
    table["events"] = events[firing].astype("int64")
    table["baseline"] = baseline[firing]
    table["threshold"] = effective[firing]
    table[CELL] = firing
    return Aggregation(table[columns], event_cell)


def _baseline(cell_group: np.ndarray, cell_position: np.ndarray, value: np.ndarray, judged: np.ndarray,
              width: int, baseline: Baseline) -> np.ndarray:
    """For the judged cells, the statistic of the same group's values over the `windows`
    windows just before (idle windows count 0; NaN when there is no earlier window at all).

    Works on a dense (window x group) matrix, in slices of groups so that a rule grouping by a
    high-cardinality field cannot ask for gigabytes at once."""
    judged_group = cell_group[judged]
    judged_position = cell_position[judged]
    result = np.full(len(judged_group), np.nan)
    groups = np.unique(judged_group)
    per_slice = max(1, MAX_BASELINE_CELLS // max(width, 1))
    for offset in range(0, len(groups), per_slice):
        chunk = groups[offset:offset + per_slice]
        wanted = np.isin(cell_group, chunk)
        matrix = np.zeros((width, len(chunk)), dtype="float64")  # window x group, idle = 0
        matrix[cell_position[wanted], np.searchsorted(chunk, cell_group[wanted])] = value[wanted]
        rolling = pd.DataFrame(matrix).rolling(window=baseline.windows, min_periods=1)
        stat = {"median": rolling.median, "mean": rolling.mean, "max": rolling.max}[baseline.statistic]()
        previous = stat.shift(1).to_numpy()  # window w looks at w-N .. w-1 only
        mine = np.isin(judged_group, chunk)
        result[mine] = previous[judged_position[mine], np.searchsorted(chunk, judged_group[mine])]
    return result
