"""Whatever text an attacker puts in a team name, a model name, a file path or evidence, the
rendered page has exactly the markup of the template and shows the text as it was."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from dashboard.model import DatasetReuse
from dashboard.model import DayPoint
from dashboard.model import EvidenceItem
from dashboard.model import FindingView
from dashboard.model import Remediation
from dashboard.model import ReportModel
from dashboard.model import TeamReport
from dashboard.model import Usage
from dashboard.model import WeekPoint
from dashboard.model import team_slug
from dashboard.render import environment
from dashboard.render import overview_charts
from dashboard.render import team_charts
from dashboard.weeks import IsoWeek

WEEK = IsoWeek(2026, 47)
PIECES = list("<>\"'&=/;: abcjs()\\`{}%-\n\t") + ["</title>", "<script>", "javascript:", "onerror=", "{{", "{%",
                                                     "]]>", "<!--", "\u202e", "\x00"]
HOSTILE = st.lists(st.sampled_from(PIECES), min_size=1, max_size=12).map("".join).map(
    lambda s: s if s.strip() else s + "x")


def model_with(team: str, model_name: str, path: str, text: str) -> ReportModel:
    start = WEEK.start + dt.timedelta(days=1)
    finding = FindingView(
        id="F1", rule_id="r1", rule_name="outputs_in_dataset", title="Vendor Outputs Found In A Dataset File",
        severity="high", score=75.0, team=team, team_slug=team_slug(team), vendor="openai", window_start=start,
        window_end=start + dt.timedelta(days=1), count=2, value=2.0, stance="prohibits", clause="No training.",
        clause_reviewed="2026-11-01", group={"team": team, "vendor": "openai", "template_signature": text},
        remediation=Remediation("Do it.", ("Step.",)),
        evidence=[EvidenceItem.stored("aggregate", "r1", {"value": 2, "events": 2, "condition": "gte 1", "models": [model_name]}),
                  EvidenceItem.stored("call", "C1", {"ts": start.isoformat(), "user": text, "model": model_name,
                                              "client_ip": text, "outputs": 1, "excerpt": text}),
                  EvidenceItem.stored("reuse", "R1", {"path": path, "record": 1, "output_coverage": 0.9,
                                               "record_coverage": 0.5, "call_ids": [text]}),
                  EvidenceItem.stored(text, text, {text: text})],
    )
    history = [WeekPoint(WEEK.shifted(-n).label, 10, 100, {"high": 1}, 50.0) for n in range(8, -1, -1)]
    days = [DayPoint((WEEK.start + dt.timedelta(days=n)).date(), 1, 1) for n in range(7)]
    usage = Usage("openai", model_name, 3, 3, 30, 120)
    report = TeamReport(team=team, slug=team_slug(team), rank=1, risk_level="high", risk_score=75.0, calls=3,
                        outputs=3, output_tokens=30, output_chars=120, vendors=[usage], models=[usage],
                        findings=[finding], datasets=[DatasetReuse("dataset", path, 1, ("openai",), 40, 0.9, 0.5)],
                        history=history, days=days)
    return ReportModel(week=WEEK, generated_at=WEEK.end, complete=True, teams=[report], vendors=[],
                       findings=[finding], history=history, days=days, calls=3, outputs=3, output_tokens=30)


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: set[str] = set()
        self.text: list[str] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes |= {name for name, _ in attrs}
        self._in_title = tag == "title" and len(self.tags) < 10

    def handle_endtag(self, tag):
        self._in_title = False

    def handle_data(self, data):
        self.text.append(data)
        if self._in_title:
            self.title += data


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def reference_pages():
    env = environment()
    model = model_with("team", "model", "/data/x.jsonl", "text")
    team = model.teams[0]
    return (parse(env.get_template("week.html").render(model=model, generated="g", charts=overview_charts(model))),
            parse(env.get_template("team.html").render(model=model, team=team, generated="g",
                                                        charts=team_charts(team))))


REFERENCE = reference_pages()


@settings(max_examples=60, deadline=None)
@given(team=HOSTILE, model_name=HOSTILE, path=HOSTILE, text=HOSTILE)
def test_hostile_text_never_changes_the_markup(team, model_name, path, text):
    env = environment()
    model = model_with(team, model_name, path, text)
    report = model.teams[0]
    week = parse(env.get_template("week.html").render(model=model, generated="g", charts=overview_charts(model)))
    page = parse(env.get_template("team.html").render(model=model, team=report, generated="g",
                                                      charts=team_charts(report)))
    assert week.tags == REFERENCE[0].tags and week.attributes == REFERENCE[0].attributes
    assert page.tags == REFERENCE[1].tags and page.attributes == REFERENCE[1].attributes
    assert page.title == f"Team {team}, week {WEEK.label} · aiaudit"
    shown = "".join(page.text)
    for value in (team, model_name, path, text):
        assert value in shown
