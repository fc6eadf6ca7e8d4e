"""The report's reuse evidence lists each record's matched spans (field, character range, words,
outputs), the first few of them, and survives spans of any shape."""

from __future__ import annotations

from dashboard.model import EvidenceItem
from dashboard.render import environment
from dashboard.render import team_charts
from tests.dashboard.test_escaping import model_with
from tests.dashboard.test_escaping import parse


def render_with(spans) -> str:
    model = model_with("team", "model", "/data/x.jsonl", "text")
    evidence = model.findings[0].evidence
    at = next(n for n, e in enumerate(evidence) if e.kind == "reuse")
    evidence[at] = EvidenceItem(evidence[at].kind, evidence[at].ref, evidence[at].detail.with_values(spans=spans))
    team = model.teams[0]
    html = environment().get_template("team.html").render(model=model, team=team, generated="g",
                                                           charts=team_charts(team))
    return "".join(parse(html).text)


def span(field: str, start: int, end: int, outputs: list[int]) -> dict:
    return {"field": field, "field_index": 1, "start": start, "end": end, "outputs": outputs, "words": 12,
            "text_sha256": "0" * 64}


def test_spans_are_listed_with_their_field_range_and_outputs():
    shown = " ".join(render_with([span("messages[1].content", 41, 812, [3]), span("<b>x</b>", 900, 950, [3, 9])]).split())
    assert "messages[1].content characters 41–812 (12 words) · output 3" in shown
    assert "<b>x</b> characters 900–950 (12 words) · outputs 3, 9" in shown  # shown as text, escaped


def test_only_the_first_spans_are_listed():
    shown = " ".join(render_with([span("text", 10 * n, 10 * n + 5, [1]) for n in range(10)]).split())
    assert "characters 50–55" in shown and "characters 60–65" not in shown
    assert "+4 more spans (in the evidence bundle)" in shown


def test_no_spans_and_odd_spans_render():
    assert "words) · output" not in render_with([])
    assert "words) · output" not in render_with(None)
    assert "words) · output" not in render_with("not a list")
    assert "words) · output" not in render_with(["x", 3])
