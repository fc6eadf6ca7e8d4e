"""The written files: inert HTML, the report.json contract, safe CSVs, the same bytes for the same data."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from dashboard.language import ReportLanguage
from dashboard.model import team_slug
from dashboard.render import environment
from dashboard.render import safe_cell
from tests.support import sample

from .conftest import WEEK

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "dashboard" / "templates"
SCHEMA = REPO / "dashboard" / "schema" / "report.schema.json"
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def html_files(out: Path) -> list[Path]:
    return sorted(out.rglob("*.html"))


def test_the_week_folder_holds_pages_json_and_csvs(seeded_reports):
    _, out = seeded_reports["plain"]
    week = out / WEEK.label
    assert (out / "index.html").is_file() and (week / "index.html").is_file()
    assert {p.name for p in week.iterdir()} == {"index.html", "teams", "report.json", "calls_by_team_vendor.csv",
                                                "findings.csv"}
    report = json.loads((week / "report.json").read_text())
    assert sorted(p.name for p in (week / "teams").iterdir()) == sorted(f"{team_slug(t['team'])}.html"
                                                                        for t in report["teams"])


ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "header", "main", "footer", "section", "article",
                "div", "p", "a", "h1", "h2", "h3", "h4", "span", "ul", "ol", "li", "dl", "dt", "dd", "table", "caption",
                "thead", "tbody", "tr", "th", "td", "figure", "figcaption", "details", "summary", "blockquote", "code",
                "strong", "br", "i", "svg", "desc", "line", "rect", "text"}
ALLOWED_ATTRIBUTES = {"lang", "charset", "http-equiv", "content", "name", "class", "id", "href", "scope", "colspan",
                      "role", "aria-label", "aria-labelledby", "aria-describedby", "aria-hidden", "style", "viewbox",
                      "xmlns", "x", "y", "x1", "x2", "y1", "y2", "width", "height", "text-anchor",
                      "translate"}  # translate="no": vendor clauses are quoted as written


class TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


def test_pages_are_inert(seeded_reports):
    for name in ("plain", "hostile"):
        _, out = seeded_reports[name]
        for page in html_files(out):
            text = page.read_text()
            assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in text, page
            parser = TagCollector()
            parser.feed(text)
            assert {tag for tag, _ in parser.tags} <= ALLOWED_TAGS, page
            attributes = {a for _, attrs in parser.tags for a, _ in attrs}
            assert attributes <= ALLOWED_ATTRIBUTES, (page, attributes - ALLOWED_ATTRIBUTES)
            hrefs = [v for _, attrs in parser.tags for a, v in attrs if a == "href"]
            assert hrefs and all(re.fullmatch(r"[A-Za-z0-9./_#-]+", h) for h in hrefs), page
            styles = [v for _, attrs in parser.tags for a, v in attrs if a == "style"]
            assert all(re.fullmatch(r"width: \d+%", s) for s in styles), page
            assert "url(" not in text and "@import" not in text


def test_templates_autoescape_and_never_mark_text_safe():
    assert environment().autoescape is True
    for template in TEMPLATES.iterdir():
        text = template.read_text()
        assert "|safe" not in text.replace(" ", "") and "Markup" not in text and "autoescape false" not in text
    names = {p.name for p in TEMPLATES.iterdir()}
    assert {"base.html", "week.html", "team.html", "index.html"} <= names
    assert all(n.startswith("_") for n in names - {"base.html", "week.html", "team.html", "index.html"})


def test_hostile_text_is_escaped_everywhere(seeded_reports):
    _, out = seeded_reports["hostile"]
    pages = "\n".join(p.read_text() for p in html_files(out))
    for payload in (sample.HOSTILE_TEAM, sample.HOSTILE_MODEL, sample.HOSTILE_PATH, sample.HOSTILE_TEXT):
        assert payload not in pages
    # each payload is there, as text
    assert "&lt;script&gt;document.title=&#39;PWNED-team&#39;&lt;/script&gt;" in pages
    assert "gpt-4o&lt;/title&gt;&lt;script&gt;" in pages
    assert "&lt;img src=x onerror=&#34;document.body.setAttribute" in pages
    assert "&lt;svg onload=" in pages
    assert "javascript:document.title" in pages  # a user name shown as text, never as a link
    assert 'href="javascript' not in pages.lower()


def test_report_json_follows_the_schema(seeded_reports):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    for name in ("plain", "hostile"):
        _, out = seeded_reports[name]
        report = json.loads((out / WEEK.label / "report.json").read_text())
        jsonschema.validate(report, schema, cls=jsonschema.Draft202012Validator)
        assert report["week"] == "2026-W47"
        assert report["period"] == {"start": "2026-11-16T00:00:00Z", "end": "2026-11-23T00:00:00Z"}
        scores = [t["risk_score"] for t in report["teams"]]
        assert scores == sorted(scores, reverse=True) and scores[0] > 80
        assert all(f["evidence"] for f in report["findings"])


def test_csv_cells_cannot_start_a_formula(seeded_reports):
    for value in ("=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(value) == "'" + value
    assert safe_cell("research") == "research" and safe_cell(-3) == -3
    _, out = seeded_reports["hostile"]
    for name in ("calls_by_team_vendor.csv", "findings.csv"):
        with open(out / WEEK.label / name, newline="") as handle:
            for row in csv.reader(handle):
                assert not any(cell[:1] in ("=", "+", "-", "@") for cell in row), row


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80), st.text(max_size=80))
def test_team_slugs_are_safe_file_names_and_never_collide(a, b):
    slug = team_slug(a)
    assert re.fullmatch(r"[a-z0-9-]{1,40}-[0-9a-f]{8}", slug)
    if a != b:
        assert team_slug(b) != slug


def test_a_hostile_team_name_gets_a_plain_slug():
    assert team_slug(sample.HOSTILE_TEAM).startswith("script-document-title-pwned-team-script")
    assert team_slug("../../etc/passwd").startswith("etc-passwd-")
    assert team_slug("") .startswith("team-")


BUILD = """
import datetime as dt, sys
from agent.store.engine import open_store
from dashboard.build import build_week
from dashboard.render import write_report
store = open_store(sys.argv[1])
at = dt.datetime.fromisoformat(sys.argv[3])
write_report(build_week(store, "2026-W47", generated_at=at), sys.argv[2])
"""


def test_the_same_data_gives_the_same_bytes_but_the_generated_line(seeded_reports, tmp_path):
    url, _ = seeded_reports["hostile"]
    outs = []
    for n, (seed, at) in enumerate((("1", "2026-11-29T06:00:00+00:00"), ("777", "2026-12-01T09:30:00+00:00"))):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(REPO))
        subprocess.run([sys.executable, "-c", BUILD, url, str(tmp_path / f"out{n}"), at], check=True, env=env)
        outs.append(tmp_path / f"out{n}")
    files = sorted(p.relative_to(outs[0]) for p in outs[0].rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(outs[1]) for p in outs[1].rglob("*") if p.is_file())
    differing = []
    for rel in files:
        first, second = (o.joinpath(rel).read_bytes().splitlines() for o in outs)
        assert len(first) == len(second), rel
        differing += [(str(rel), a, b) for a, b in zip(first, second) if a != b]
    assert differing and all(b"Generated 20" in a or b'"generated_at"' in a for _, a, _ in differing), differing[:3]


def test_rewriting_a_week_replaces_it_whole(seeded_reports, tmp_path):
    import shutil

    from agent.store.engine import open_store
    from dashboard.build import build_week
    from dashboard.render import write_report

    url, out = seeded_reports["plain"]
    target = tmp_path / "out"
    shutil.copytree(out, target)
    stale = target / WEEK.label / "teams" / "gone-00000000.html"
    stale.write_text("old")
    (target / "2026-W40").mkdir()  # a week folder from elsewhere, without report.json
    store = open_store(url)
    path = write_report(build_week(store, WEEK), target)
    store.dispose()
    assert path == target / WEEK.label / "index.html" and not stale.exists()
    assert not [p for p in target.iterdir() if p.name.startswith(".")]
    listing = (target / "index.html").read_text()
    assert listing.index("2026-W47/index.html") < listing.index("2026-W40/index.html")
    assert "report.json missing" in listing


def test_a_rule_condition_reads_with_symbols_and_its_event_floor_in_the_reports_language():
    """The engine's condition text, as the sample's templated-prompting finding records it."""
    english = environment().filters["condition"]
    assert english("gte 100") == "≥ 100"
    assert english("gte 100 and events >= 200") == "≥ 100, with at least 200 events"
    assert environment(ReportLanguage("ja")).filters["condition"]("gt 5 and events >= 3") == "> 5(イベント 3 件以上)"
