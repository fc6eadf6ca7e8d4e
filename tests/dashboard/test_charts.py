from dashboard import charts


def test_axis_tops_are_round_numbers():
    assert charts.nice_ceiling(0) == (4.0, 1.0)
    assert charts.nice_ceiling(13_809) == (20_000, 5_000)
    assert charts.nice_ceiling(96.8) == (100, 25)
    assert charts.nice_ceiling(3) == (4, 1)


def test_compact_numbers():
    assert [charts.compact(v) for v in (0, 950, 1_000, 13_809, 6_673_471, 2.5e9)] == ["0", "950", "1K", "13.8K",
                                                                                      "6.7M", "2.5B"]


def test_a_chart_has_its_text_alternative():
    chart = charts.stacked_bars("c", "Calls per week", "calls", ["2026-W46", "2026-W47"],
                                [("bar", "Calls", [100, 150])])
    assert chart.description == "2026-W47: 150 calls. Average of the week before: 100 (+50%)."
    assert chart.table_head == ["Week", "Calls"] and chart.table_rows == [["2026-W46", "100"], ["2026-W47", "150"]]
    assert [r.css_class for r in chart.rects] == ["bar", "bar current"]
    assert all(0 <= r.y and r.y + r.height <= charts.HEIGHT - charts.BOTTOM + 0.01 for r in chart.rects)


def test_stacked_series_share_a_bar_and_a_legend():
    chart = charts.stacked_bars("f", "Findings", "findings", ["2026-W46", "2026-W47"],
                                [("sev-high", "High", [1, 0]), ("sev-low", "Low", [2, 3])])
    assert len(chart.rects) == 3 and chart.legend == [("sev-high", "High"), ("sev-low", "Low")]
    assert chart.table_head == ["Week", "High", "Low", "Total"]
    high, low = chart.rects[0], chart.rects[1]
    assert abs((low.y + low.height) - high.y) < 0.02  # the second series sits on the first


def test_days_describe_their_peak():
    assert charts.peak_sentence(["Mon 16", "Tue 17"], [3, 5], "calls") == "8 calls in all; the most on Tue 17 (5)."
    assert charts.peak_sentence(["Mon 16"], [0], "calls") == "No calls."
