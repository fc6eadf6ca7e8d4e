"""Inline SVG charts as geometry: where each bar, gridline and label goes.

The templates draw the SVG from these numbers (`_chart.html`), so every piece of text in a
chart passes through the template's autoescaping like the rest of the page. Each chart carries
its own text alternative: a one-sentence description and the data as table rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from dataclasses import field
from typing import Sequence

WIDTH, HEIGHT = 560, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 18, 28  # plot margins: room for axis labels


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    css_class: str
    tooltip: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "middle"
    css_class: str = "axis"


@dataclass(frozen=True)
class Chart:
    id: str  # our own identifier, used for aria-labelledby
    title: str
    description: str
    rects: list[Rect]
    labels: list[Label]
    gridlines: list[float]  # y positions
    legend: list[tuple[str, str]] = field(default_factory=list)  # (css class, text)
    table_head: list[str] = field(default_factory=list)
    table_rows: list[list[str]] = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT


def compact(value: float) -> str:
    """1234 -> 1.2k, 3_400_000 -> 3.4M: axis labels that fit."""
    value = float(value)
    for factor, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            text = f"{value / factor:.1f}".rstrip("0").rstrip(".")
            return f"{text}{suffix}"
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def nice_ceiling(value: float) -> tuple[float, float]:
    """(top of the axis, gridline step) with four steps of 1, 2, 2.5 or 5 x 10^n."""
    if value <= 0:
        return 4.0, 1.0
    raw = value / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        step = multiple * magnitude
        if step * 4 >= value:
            return step * 4, step
    return 40 * magnitude, 10 * magnitude  # pragma: no cover - the loop always returns


def trend_sentence(labels: Sequence[str], totals: Sequence[float], unit: str, decimals: int = 0) -> str:
    """'2026-W47: 13,809 calls. Average of the 8 weeks before: 10,925 (+26%).'"""
    if not totals:
        return f"No {unit} recorded."
    current = totals[-1]
    earlier = totals[:-1]
    sentence = f"{labels[-1]}: {current:,.{decimals}f} {unit}."
    if earlier:
        average = sum(earlier) / len(earlier)
        if average > 0:
            change = (current - average) / average * 100
            weeks = "week" if len(earlier) == 1 else f"{len(earlier)} weeks"
            sentence += (f" Average of the {weeks} before: {average:,.{decimals}f}"
                         f" ({change:+.0f}%).")
        else:
            sentence += f" None in the {'week' if len(earlier) == 1 else f'{len(earlier)} weeks'} before."
    return sentence


def peak_sentence(labels: Sequence[str], totals: Sequence[float], unit: str) -> str:
    """'2,381 calls in all; the most on Thu 19 (487).'"""
    total = sum(totals)
    if not total:
        return f"No {unit}."
    peak = max(range(len(totals)), key=lambda i: (totals[i], -i))
    return f"{total:,.0f} {unit} in all; the most on {labels[peak]} ({totals[peak]:,.0f})."


def stacked_bars(chart_id: str, title: str, unit: str, labels: Sequence[str],
                 series: Sequence[tuple[str, str, Sequence[float]]], highlight_last: bool = True,
                 decimals: int = 0, description: str | None = None) -> Chart:
    """Bars over `labels` (weeks or days); each series is (css class, legend text, values),
    stacked bottom to top. With one series this is a plain bar chart. The description (the
    chart's text alternative) defaults to this week against the weeks before."""
    count = len(labels)
    totals = [sum(values[i] for _, _, values in series) for i in range(count)]
    top, step = nice_ceiling(max(totals, default=0))
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    slot = plot_w / max(count, 1)
    bar_w = slot * 0.62

    def y_of(value: float) -> float:
        return TOP + plot_h - value / top * plot_h

    rects: list[Rect] = []
    chart_labels: list[Label] = []
    for i, label in enumerate(labels):
        x = LEFT + i * slot + (slot - bar_w) / 2
        base = 0.0
        current = highlight_last and i == count - 1
        for css_class, legend, values in series:
            value = float(values[i])
            if value <= 0:
                continue
            y_top, y_bottom = y_of(base + value), y_of(base)
            suffix = f" {legend.lower()}" if len(series) > 1 else ""
            rects.append(Rect(round(x, 2), round(y_top, 2), round(bar_w, 2), round(max(y_bottom - y_top, 0.5), 2),
                              f"{css_class}{' current' if current else ''}",
                              f"{label}: {value:,.{decimals}f}{suffix} {unit}"))
            base += value
        chart_labels.append(Label(round(x + bar_w / 2, 2), HEIGHT - BOTTOM + 18, _short_label(label),
                                  css_class="axis current" if current else "axis"))
        if totals[i] > 0:
            chart_labels.append(Label(round(x + bar_w / 2, 2), round(y_of(totals[i]) - 4, 2), compact(totals[i]),
                                      css_class="value"))
    gridlines = []
    for n in range(5):
        value = step * n
        y = round(y_of(value), 2)
        gridlines.append(y)
        chart_labels.append(Label(LEFT - 6, y + 4, compact(value), anchor="end"))

    head = ["Week" if labels and "-W" in labels[0] else "Day"]
    if len(series) > 1:
        head += [legend for _, legend, _ in series] + ["Total"]
    else:
        head += [unit.capitalize()]
    rows = []
    for i, label in enumerate(labels):
        cells = [label] + [f"{series_values[i]:,.{decimals}f}" for _, _, series_values in series]
        if len(series) > 1:
            cells.append(f"{totals[i]:,.{decimals}f}")
        rows.append(cells)
    return Chart(
        id=chart_id, title=title, description=description or trend_sentence(list(labels), totals, unit, decimals),
        rects=rects, labels=chart_labels, gridlines=gridlines,
        legend=[(css, text) for css, text, _ in series] if len(series) > 1 else [],
        table_head=head, table_rows=rows,
    )


def _short_label(label: str) -> str:
    """2026-W47 -> W47; a date stays as given (the templates pass 'Mon 16')."""
    return label.split("-", 1)[1] if "-W" in label else label
