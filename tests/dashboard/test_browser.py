"""The report in a real headless Chromium: it renders, logs no error, fetches nothing, and
hostile text stays text."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile

import pytest

from dashboard.model import team_slug
from tests.support import sample
from tests.support.browser import CHROMIUM
from tests.support.browser import FLAGS

from .conftest import WEEK

pytestmark = pytest.mark.browser

NOT_EXECUTED = """JSON.stringify({
  title: document.title,
  pwned: document.querySelectorAll('[data-pwned]').length,
  active: document.querySelectorAll('script, img, iframe, object, embed, svg [onload], [onerror], [onclick]').length,
  jsLinks: [...document.querySelectorAll('a')].filter(a => !a.getAttribute('href') ||
           a.getAttribute('href').includes(':')).length,
  body: document.body.innerHTML.startsWith('PWNED')
})"""


def pages(out):
    week = out / WEEK.label
    return [out / "index.html", week / "index.html", *sorted((week / "teams").iterdir())]


def test_the_overview_renders_the_ranked_teams_without_errors_or_requests(seeded_reports, chromium):
    _, out = seeded_reports["plain"]
    report = json.loads((out / WEEK.label / "report.json").read_text())
    url = (out / WEEK.label / "index.html").as_uri()
    visit = chromium.visit(url)
    assert visit.title == f"Week {WEEK.label}: AI vendor use and terms risk · aiaudit"
    assert visit.errors == []
    assert visit.requests == [url]  # the page itself, nothing else
    ranked = chromium.evaluate("[...document.querySelectorAll('#teams tbody th a')].map(a => a.textContent)")
    assert ranked == [t["team"] for t in report["teams"]] and ranked[0] == "research-ml"
    links = chromium.evaluate("[...document.querySelectorAll('#teams tbody th a')].map(a => a.getAttribute('href'))")
    assert links == [f"teams/{team_slug(t['team'])}.html" for t in report["teams"]]
    charts = chromium.evaluate("[...document.querySelectorAll('svg[role=img]')].map(s => s.getAttribute('aria-label'))")
    assert charts == ["Calls per week", "Output tokens per week", "Findings per week by severity"]


def test_every_page_loads_cleanly(seeded_reports, chromium):
    for name in ("plain", "hostile"):
        _, out = seeded_reports[name]
        for page in pages(out):
            visit = chromium.visit(page.as_uri())
            assert visit.errors == [], (page, visit.errors)
            assert visit.requests == [page.as_uri()], (page, visit.requests)


def test_hostile_text_shows_as_text_and_never_runs(seeded_reports, chromium):
    _, out = seeded_reports["hostile"]
    shown = ""
    for page in pages(out):
        visit = chromium.visit(page.as_uri())
        shown += chromium.evaluate("document.body.textContent")
        state = json.loads(chromium.evaluate(NOT_EXECUTED))
        assert "PWNED" not in state["title"] or state["title"].startswith("Team <script>"), (page, state)
        assert state["pwned"] == 0 and state["active"] == 0 and state["jsLinks"] == 0 and not state["body"], page
        assert visit.errors == []
    team_page = out / WEEK.label / "teams" / f"{team_slug(sample.HOSTILE_TEAM)}.html"
    chromium.visit(team_page.as_uri())
    # the whole hostile name is the page title and the heading, as plain text
    assert chromium.evaluate("document.title") == f"Team {sample.HOSTILE_TEAM}, week {WEEK.label} · aiaudit"
    assert chromium.evaluate("document.querySelector('h1').textContent") == f"Team {sample.HOSTILE_TEAM}"
    for payload in (sample.HOSTILE_MODEL, sample.HOSTILE_USER, sample.HOSTILE_TEXT, sample.HOSTILE_PATH):
        assert payload in shown, payload
    overview = chromium.visit((out / WEEK.label / "index.html").as_uri())
    assert overview.title == f"Week {WEEK.label}: AI vendor use and terms risk · aiaudit"


def test_dump_dom_shows_the_payloads_escaped(seeded_reports, tmp_path):
    """The plain command line a reader's tooling would use: --dump-dom with the offline flags."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("no chromium")
    _, out = seeded_reports["hostile"]
    page = out / WEEK.label / "teams" / f"{team_slug(sample.HOSTILE_TEAM)}.html"
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
                             capture_output=True, text=True, timeout=60, check=True).stdout
    assert "<title>Team &lt;script&gt;document.title='PWNED-team'&lt;/script&gt;" in dom
    assert "<h1>Team &lt;script&gt;document.title='PWNED-team'&lt;/script&gt;" in dom
    assert "<script" not in dom and "<img" not in dom and "<svg onload" not in dom


def test_pages_fit_a_phone(seeded_reports, chromium):
    _, out = seeded_reports["plain"]
    for page in pages(out)[:3]:
        chromium.visit(page.as_uri(), width=390, height=800, mobile=True)
        assert chromium.evaluate("document.documentElement.scrollWidth") <= 390, page


def test_the_browser_harness_does_see_errors_and_requests(tmp_path, chromium):
    """So that 'no errors, no requests' above is a finding and not a blind spot."""
    page = tmp_path / "noisy.html"
    page.write_text('<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
                    "content=\"default-src 'none'\"><title>t</title></head><body>"
                    "<script>document.title='ran'</script><img src=\"http://127.0.0.1:9/x.png\"></body></html>")
    visit = chromium.visit(page.as_uri())
    assert visit.title == "t"  # the CSP stopped the inline script
    assert any("Content Security Policy" in e for e in visit.errors), visit.console
    unguarded = tmp_path / "unguarded.html"
    unguarded.write_text('<!DOCTYPE html><title>u</title><img src="http://127.0.0.1:9/x.png">'
                         "<script>console.error('boom')</script>")
    visit = chromium.visit(unguarded.as_uri())
    assert "http://127.0.0.1:9/x.png" in visit.requests
    assert any("boom" in e for e in visit.errors)
