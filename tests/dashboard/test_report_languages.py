"""The report in English and in Japanese (config report.language), rendered from the same
seeded store and read in a real Chromium: the Japanese pages carry no English interface text,
dates and numbers are written as the locale writes them, vendor clauses stay as the vendor wrote
them, report.json and the CSVs do not depend on the language, and text stays escaped."""

from __future__ import annotations

import dataclasses
import json
import re
from html.parser import HTMLParser

import pytest
from babel.messages.pofile import read_po
from hypothesis import given
from hypothesis import settings

from dashboard.language import DOMAIN
from dashboard.language import LOCALES_DIR
from dashboard.language import ReportLanguage
from dashboard.model import Remediation
from dashboard.render import environment
from dashboard.render import overview_charts
from dashboard.render import team_charts

from .conftest import GENERATED
from .conftest import WEEK
from .test_escaping import HOSTILE
from .test_escaping import model_with

LANGUAGES = ("en", "ja")

# The page's text as a reader meets it: body text (SVG titles included), labels and tooltips,
# less what is marked translate="no" (vendor clauses and their documents, quoted as written).
READ_PAGE = """(() => {
  const body = document.body.cloneNode(true);
  body.querySelectorAll('[translate=no], style').forEach(e => e.remove());
  const labels = [...document.querySelectorAll('[aria-label], [title]')]
    .map(e => (e.getAttribute('aria-label') || '') + ' ' + (e.getAttribute('title') || ''));
  return JSON.stringify({lang: document.documentElement.lang, title: document.title,
                         text: body.textContent, labels: labels.join(' '),
                         clauses: [...document.querySelectorAll('.vendor-clause')].map(e => e.textContent)});
})()"""


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """One store seeded with the sample week, its report written in each language:
    {"en": out_dir, "ja": out_dir}."""
    from agent.store.engine import open_store
    from dashboard.build import build_week
    from dashboard.render import write_report
    from tests.support.sample import seed_sample_store

    base = tmp_path_factory.mktemp("languages")
    store = open_store(f"sqlite:///{base / 'audit.db'}")
    seed_sample_store(store, WEEK, scale=0.05)
    model = build_week(store, WEEK, generated_at=GENERATED)
    store.dispose()
    outs = {}
    for code in LANGUAGES:
        write_report(model, base / code, ReportLanguage(code))
        outs[code] = base / code
    return outs


def pages(out):
    week = out / WEEK.label
    return [out / "index.html", week / "index.html", *sorted((week / "teams").iterdir())]


def english_interface_text() -> set[str]:
    """The English pieces of every message: each msgid cut at its placeholders and markup, less
    the pieces a translation keeps as they are (UTC, report.json, `teams:` ...)."""
    with open(LOCALES_DIR / "ja" / "LC_MESSAGES" / f"{DOMAIN}.po", "rb") as handle:
        catalog = read_po(handle)
    kept = " ".join(s for m in catalog if m.id for s in (m.string if isinstance(m.string, tuple) else (m.string,)))
    pieces = set()
    for message in catalog:
        for msgid in (message.id if isinstance(message.id, tuple) else (message.id,)):
            for piece in re.split(r"%\(\w+\)s|<[^>]+>", msgid):
                piece = piece.strip(" .,:;()–-")
                if re.search(r"[A-Za-z]{2,}", piece) and piece not in kept:
                    pieces.add(piece)
    return pieces


def english_found(text: str, pieces: set[str]) -> list[str]:
    # a piece counts as a word of its own: "calls" is not found in calls_by_team_vendor.csv
    return sorted(p for p in pieces if re.search(rf"(?<![\w\-./]){re.escape(p)}(?![\w\-./])", text))


def read(chromium, page) -> dict:
    visit = chromium.visit(page.as_uri())
    assert visit.errors == [] and visit.requests == [page.as_uri()], (page, visit.errors, visit.requests)
    return json.loads(chromium.evaluate(READ_PAGE))


@pytest.mark.browser
def test_no_english_interface_text_is_left_on_the_japanese_pages(reports, chromium):
    pieces = english_interface_text()
    assert len(pieces) > 150 and {"Findings", "Calls per week", "What to do"} <= pieces
    ja_pages, en_pages = pages(reports["ja"]), pages(reports["en"])
    assert [p.relative_to(reports["ja"]) for p in ja_pages] == [p.relative_to(reports["en"]) for p in en_pages]
    for ja, en in zip(ja_pages, en_pages):
        japanese, english = read(chromium, ja), read(chromium, en)
        assert japanese["lang"] == "ja" and english["lang"] == "en", ja
        shown = " ".join((japanese["title"], japanese["text"], japanese["labels"]))
        assert english_found(shown, pieces) == [], ja
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", japanese["title"]), ja
        # the same check finds the interface text on the English page: it is not blind
        assert len(english_found(" ".join((english["title"], english["text"], english["labels"])), pieces)) >= 5, en
        assert japanese["clauses"] == english["clauses"], ja


@pytest.mark.browser
def test_vendor_clauses_are_quoted_as_the_vendor_wrote_them(reports, chromium):
    report = json.loads((reports["ja"] / WEEK.label / "report.json").read_text(encoding="utf-8"))
    shown = set()
    for page in pages(reports["ja"]):
        shown |= set(read(chromium, page)["clauses"])
    quoted = {f["clause"] for f in report["findings"] if f.get("clause")}
    assert len(quoted) >= 2 and quoted <= shown
    # the sample's vendor texts are English and stay so; the vendor table quotes rules/terms.yaml
    assert not any(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", c) for c in shown)
    assert any("use Output to develop artificial intelligence models" in c for c in shown)


@pytest.mark.browser
def test_dates_and_numbers_are_written_for_the_locale(reports, chromium):
    report = json.loads((reports["ja"] / WEEK.label / "report.json").read_text(encoding="utf-8"))
    busiest = max(report["teams"], key=lambda t: t["calls"])
    texts = {code: read(chromium, reports[code] / WEEK.label / "index.html")["text"] for code in LANGUAGES}
    assert "Mon 16 Nov – Sun 22 Nov 2026 (UTC)" in texts["en"]
    assert "11月16日(月)～2026年11月22日(日)（UTC）" in texts["ja"]
    assert "2026年11月29日 06:00（UTC）" in texts["ja"]  # when the report was generated
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日\([月火水木金土日]\)（終日、UTC）", texts["ja"])  # a finding's window
    # output tokens in ten-thousands (万) in Japanese, thousands (K) in English
    total = sum(t["output_tokens"] for t in report["teams"])
    assert total >= 10_000
    assert f"{total / 10_000:.1f}万" in texts["ja"] and f"{total / 1000:.1f}K" in texts["en"]
    for code in LANGUAGES:
        assert f"{busiest['output_tokens']:,}" in texts[code]


@pytest.mark.browser
def test_hostile_text_never_runs_on_the_japanese_pages(tmp_path, chromium):
    from agent.store.engine import open_store
    from dashboard.build import build_week
    from dashboard.render import write_report
    from tests.support import sample
    from tests.support.sample import seed_sample_store

    from .test_browser import NOT_EXECUTED

    store = open_store(f"sqlite:///{tmp_path / 'audit.db'}")
    seed_sample_store(store, WEEK, hostile=True, scale=0.05)
    write_report(build_week(store, WEEK, generated_at=GENERATED), tmp_path / "out", ReportLanguage("ja"))
    store.dispose()
    shown = ""
    for page in pages(tmp_path / "out"):
        visit = chromium.visit(page.as_uri())
        assert visit.errors == [] and visit.requests == [page.as_uri()], page
        state = json.loads(chromium.evaluate(NOT_EXECUTED))
        assert state["pwned"] == 0 and state["active"] == 0 and state["jsLinks"] == 0 and not state["body"], page
        assert "PWNED" not in state["title"] or state["title"].startswith("チーム <script>"), (page, state)
        shown += chromium.evaluate("document.body.textContent")
    for payload in (sample.HOSTILE_TEAM, sample.HOSTILE_MODEL, sample.HOSTILE_USER, sample.HOSTILE_TEXT, sample.HOSTILE_PATH):
        assert payload in shown, payload


def test_report_json_and_csvs_do_not_depend_on_the_language(reports):
    for name in ("report.json", "findings.csv", "calls_by_team_vendor.csv"):
        assert (reports["en"] / WEEK.label / name).read_bytes() == (reports["ja"] / WEEK.label / name).read_bytes()
    listing = (reports["ja"] / "index.html").read_text(encoding="utf-8")
    assert '<html lang="ja">' in listing and "週次レポート" in listing


class Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes |= {name for name, _ in attrs}

    def handle_data(self, data):
        self.text.append(data)


ENVIRONMENTS = {code: environment(ReportLanguage(code)) for code in LANGUAGES}  # compiled once


def render(language: ReportLanguage, model) -> list[Markup]:
    env = ENVIRONMENTS[language.code]
    team = model.teams[0]
    parsed = []
    for html in (env.get_template("week.html").render(model=model, generated="g", charts=overview_charts(model, language)),
                 env.get_template("team.html").render(model=model, team=team, generated="g",
                                                      charts=team_charts(team, language))):
        page = Markup()
        page.feed(html)
        parsed.append(page)
    return parsed


def hostile_model(text: str):
    """The escaping test's model, with the finding's own texts (title, clause, what to do) hostile
    too: they pass through the catalogue lookup, which must never turn them into markup."""
    model = model_with(text, text, text, text)
    finding = dataclasses.replace(model.findings[0], title=text, clause=text, rule_name=text,
                                  remediation=Remediation(text, (text, "%(headline)s " + text)))
    model.findings[0] = finding
    model.teams[0].findings[0] = finding
    return model


REFERENCE = {code: render(ReportLanguage(code), hostile_model("text")) for code in LANGUAGES}


@settings(max_examples=30, deadline=None)
@given(text=HOSTILE)
def test_any_finding_text_stays_text_in_both_languages(text):
    for code in LANGUAGES:
        for page, reference in zip(render(ReportLanguage(code), hostile_model(text)), REFERENCE[code]):
            assert page.tags == reference.tags and page.attributes == reference.attributes, code
            assert text in "".join(page.text), code


def _one_line_config_error(result, *needles):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_report_language_in_the_config_picks_the_pages_language(run_cli, sqlite_url, tmp_path):
    config = tmp_path / "aiaudit.yaml"
    config.write_text("report:\n  out_dir: weekly\n  language: ja\n")
    result = run_cli("report", "--db", sqlite_url, "--config", str(config), "--week", WEEK.label)
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "weekly" / WEEK.label / "index.html").read_text(encoding="utf-8")
    assert '<html lang="ja">' in page and "検出事項" in page and ">Findings<" not in page


@pytest.mark.parametrize("language", ["fr", "japanese", "EN", "''"])
def test_an_unknown_language_is_one_config_line_and_exit_2(run_cli, sqlite_url, tmp_path, language):
    config = tmp_path / "aiaudit.yaml"
    config.write_text(f"report:\n  out_dir: weekly\n  language: {language}\n")
    result = run_cli("report", "--db", sqlite_url, "--config", str(config), "--week", WEEK.label)
    _one_line_config_error(result, f"{config}:3", "report.language", "expected one of en, ja")
    assert not (tmp_path / "weekly" / WEEK.label).exists()
