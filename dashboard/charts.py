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

from dashboard.language import ENGLISH
from dashboard.language import ReportLanguage

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


def compact(value: float, language: ReportLanguage = ENGLISH) -> str:
    """1234 -> 1.2K, 3_400_000 -> 3.4M (in English): axis labels that fit."""
    return language.compact(value)


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


def trend_sentence(labels: Sequence[str], totals: Sequence[float], unit: str, decimals: int = 0,
                   language: ReportLanguage = ENGLISH) -> str:
    """'2026-W47: 13,809 calls. Average of the 8 weeks before: 10,925 (+26%).'
    `unit` comes already translated."""
    _, num = language.gettext, language.number
    if not totals:
        return _("No %(unit)s recorded.") % {"unit": unit}
    current = totals[-1]
    earlier = totals[:-1]
    sentence = _("%(label)s: %(value)s %(unit)s.") % {"label": labels[-1], "value": num(current, decimals), "unit": unit}
    if earlier:
        average = sum(earlier) / len(earlier)
        n = {"n": num(len(earlier))}
        if average > 0:
            change = language.percent((current - average) / average, signed=True)
            # two messages, not ngettext: Babel checks a one-form language's translation against
            # the singular msgid, which names no count
            words = {**n, "average": num(average, decimals), "change": change}
            sentence += (_(" Average of the week before: %(average)s (%(change)s).") if len(earlier) == 1 else
                         _(" Average of the %(n)s weeks before: %(average)s (%(change)s).")) % words
        else:
            sentence += (_(" None in the week before.") if len(earlier) == 1 else
                         _(" None in the %(n)s weeks before.")) % n
    return sentence


def peak_sentence(labels: Sequence[str], totals: Sequence[float], unit: str,
                  language: ReportLanguage = ENGLISH) -> str:
    """'2,381 calls in all; the most on Thu 19 (487).' `unit` comes already translated."""
    _, num = language.gettext, language.number
    total = sum(totals)
    if not total:
        return _("No %(unit)s.") % {"unit": unit}
    peak = max(range(len(totals)), key=lambda i: (totals[i], -i))
    return _("%(total)s %(unit)s in all; the most on %(label)s (%(peak)s).") % {
        "total": num(total, 0), "unit": unit, "label": labels[peak], "peak": num(totals[peak], 0)}


def stacked_bars(chart_id: str, title: str, unit: str, labels: Sequence[str],
                 series: Sequence[tuple[str, str, Sequence[float]]], highlight_last: bool = True,
                 decimals: int = 0, description: str | None = None,
                 language: ReportLanguage = ENGLISH) -> Chart:
    """Bars over `labels` (weeks or days); each series is (css class, legend text, values),
    stacked bottom to top. With one series this is a plain bar chart. The description (the
    chart's text alternative) defaults to this week against the weeks before."""
    _, num = language.gettext, language.number
    count = len(labels)
    totals = [sum(values[i] for _css, _legend, values in series) for i in range(count)]
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
            words = {"label": label, "value": num(value, decimals), "series": legend, "unit": unit}
            tooltip = (_("%(label)s: %(value)s %(unit)s (%(series)s)") if len(series) > 1
                       else _("%(label)s: %(value)s %(unit)s")) % words
            rects.append(Rect(round(x, 2), round(y_top, 2), round(bar_w, 2), round(max(y_bottom - y_top, 0.5), 2),
                              f"{css_class}{' current' if current else ''}", tooltip))
            base += value
        chart_labels.append(Label(round(x + bar_w / 2, 2), HEIGHT - BOTTOM + 18, _short_label(label),
                                  css_class="axis current" if current else "axis"))
        if totals[i] > 0:
            chart_labels.append(Label(round(x + bar_w / 2, 2), round(y_of(totals[i]) - 4, 2), compact(totals[i], language),
                                      css_class="value"))
    gridlines = []
    for n in range(5):
        value = step * n
        y = round(y_of(value), 2)
        gridlines.append(y)
        chart_labels.append(Label(LEFT - 6, y + 4, compact(value, language), anchor="end"))

    head = [_("Week") if labels and "-W" in labels[0] else _("Day")]
    if len(series) > 1:
        head += [legend for _css, legend, _values in series] + [_("Total")]
    else:
        head += [series[0][1]] if series else []
    rows = []
    for i, label in enumerate(labels):
        cells = [label] + [num(series_values[i], decimals) for _css, _legend, series_values in series]
        if len(series) > 1:
            cells.append(num(totals[i], decimals))
        rows.append(cells)
    return Chart(
        id=chart_id, title=title, description=description or trend_sentence(list(labels), totals, unit, decimals, language),
        rects=rects, labels=chart_labels, gridlines=gridlines,
        legend=[(css, text) for css, text, _ in series] if len(series) > 1 else [],
        table_head=head, table_rows=rows,
    )


def _short_label(label: str) -> str:
    """2026-W47 -> W47; a date stays as given (the templates pass 'Mon 16')."""
    return label.split("-", 1)[1] if "-W" in label else label
