"""Report model -> files: the week's HTML pages, report.json and CSVs, and the list of weeks.

Pages are inert: jinja2 autoescapes every value (team names, model names, file paths and any
other captured text are attacker-controlled), nothing is marked safe, the CSS is inline, charts
are inline SVG, there is no script, and a Content-Security-Policy forbids loading anything.
A week is written to a temporary folder and swapped in whole, so a reader never sees half a
report and a team that disappeared from the data leaves no stale page behind.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import jinja2

from dashboard import charts
from dashboard.filters import Filters
from dashboard.language import ENGLISH
from dashboard.language import N_
from dashboard.language import ReportLanguage
from dashboard.model import SEVERITIES
from dashboard.model import ReportModel
from dashboard.model import TeamReport
from dashboard.model import iso

CSV_CALLS = "calls_by_team_vendor.csv"
CSV_FINDINGS = "findings.csv"
REPORT_JSON = "report.json"
_WEEK_DIR = re.compile(r"^\d{4}-W\d{2}$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def environment(language: ReportLanguage = ENGLISH) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("dashboard", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    # {% trans %} blocks are extracted with their whitespace collapsed (babel.cfg: trimmed)
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_translations(language.translations, newstyle=True)
    f = Filters(language)
    env.filters.update(num=f.num, pct=f.pct, utc=f.utc, score=f.score, plain=f.plain, window=f.window,
                       period=f.period, condition=lambda text: _condition(text, language.gettext), extra_keys=_extra_keys, compact=language.compact,
                       translate=language.text)
    env.globals.update(SEVERITIES=SEVERITIES, LANGUAGE=language.code)
    return env


# -- filters ------------------------------------------------------------------------------------

_CONDITION_WORDS = {"gte": "≥", "gt": ">", "lte": "≤", "lt": "<", "eq": "="}


def _condition(text: Any, _) -> str:
    """The engine's condition text ("gte 1200 and events >= 5") with symbols a reader knows; the
    part a rule's `min_events` adds is a message of the report's language."""
    bounds, at_least, events = str(text).partition(" and events >= ")
    shown = " ".join(_CONDITION_WORDS.get(w, w) for w in bounds.split())
    if not at_least:
        return shown
    return _("%(bounds)s, with at least %(events)s events") % {"bounds": shown, "events": events}


def _extra_keys(items: list, known: tuple[str, ...]) -> list[str]:
    """Detail fields of evidence rows that have no column of their own, in a stable order."""
    return sorted({k for e in items for k in e.detail.names() if k not in known})


# -- charts of a page ---------------------------------------------------------------------------

_SEVERITY_SERIES = [("sev-critical", N_("Critical"), "critical"), ("sev-high", N_("High"), "high"),
                    ("sev-medium", N_("Medium"), "medium"), ("sev-low", N_("Low"), "low"),
                    ("sev-informational", N_("Informational"), "informational")]
assert [s for _, _, s in _SEVERITY_SERIES] == list(SEVERITIES)


def overview_charts(model: ReportModel, language: ReportLanguage = ENGLISH) -> list[charts.Chart]:
    _ = language.gettext
    weeks = [p.week for p in model.history]
    return [
        charts.stacked_bars("calls-per-week", _("Calls per week"), _("calls"), weeks,
                            [("bar", _("Calls"), [p.calls for p in model.history])], language=language),
        charts.stacked_bars("tokens-per-week", _("Output tokens per week"), _("output tokens"), weeks,
                            [("bar", _("Output tokens"), [p.output_tokens for p in model.history])],
                            language=language),
        charts.stacked_bars("findings-per-week", _("Findings per week by severity"), _("findings"), weeks,
                            [(css, _(text), [p.findings.get(s, 0) for p in model.history])
                             for css, text, s in _SEVERITY_SERIES], language=language),
    ]


def team_charts(team: TeamReport, language: ReportLanguage = ENGLISH) -> list[charts.Chart]:
    _ = language.gettext
    weeks = [p.week for p in team.history]
    risk = [p.risk_score or 0.0 for p in team.history]
    days = [language.date(d.day, N_("EEE dd")) for d in team.days]
    per_day = [d.calls for d in team.days]
    return [
        charts.stacked_bars(f"risk-{team.slug}", _("Risk score per week"), _("risk score"), weeks,
                            [("bar", _("Risk score"), risk)], decimals=1,
                            description=_risk_sentence(weeks, risk, language), language=language),
        charts.stacked_bars(f"calls-{team.slug}", _("Calls per week"), _("calls"), weeks,
                            [("bar", _("Calls"), [p.calls for p in team.history])], language=language),
        charts.stacked_bars(f"days-{team.slug}", _("Calls per day this week"), _("calls"), days,
                            [("bar", _("Calls"), per_day)], highlight_last=False,
                            description=charts.peak_sentence(days, per_day, _("calls"), language),
                            language=language),
    ]


def _risk_sentence(weeks: list[str], risk: list[float], language: ReportLanguage = ENGLISH) -> str:
    _ = language.gettext
    earlier = risk[:-1]
    sentence = _("%(week)s: risk score %(score)s.") % {"week": weeks[-1], "score": language.number(risk[-1], 1)}
    if any(earlier):
        sentence += _(" Highest of the %(n)s weeks before: %(score)s.") % {
            "n": language.number(len(earlier)), "score": language.number(max(earlier), 1)}
    else:
        sentence += _(" No findings stored for the %(n)s weeks before.") % {"n": language.number(len(earlier))}
    return sentence


# -- writing ------------------------------------------------------------------------------------

def write_report(model: ReportModel, out_dir: str | os.PathLike, language: ReportLanguage = ENGLISH) -> Path:
    """Write the week's report into OUT/YYYY-Www/ and rebuild OUT/index.html, the pages in
    `language` (report.json and the CSVs are the same in every language).
    Returns the path of the week's index.html. Raises OSError when OUT cannot be written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    label = model.week.label
    staging = out / f".{label}.partial-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    try:
        _write_week(model, staging, language)
        _swap_in(staging, out / label)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    write_weeks_index(out, language)
    return out / label / "index.html"


def _swap_in(staging: Path, target: Path) -> None:
    retired = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        target.rename(retired)
    staging.rename(target)
    if retired.exists():
        shutil.rmtree(retired, ignore_errors=True)


def _write_week(model: ReportModel, folder: Path, language: ReportLanguage) -> None:
    env = environment(language)
    (folder / "teams").mkdir(parents=True)
    context = {"model": model, "generated": iso(model.generated_at)}
    _write_text(folder / "index.html",
                env.get_template("week.html").render(**context, charts=overview_charts(model, language)))
    for team in model.teams:
        html = env.get_template("team.html").render(**context, team=team, charts=team_charts(team, language))
        _write_text(folder / "teams" / f"{team.slug}.html", html)
    _write_text(folder / REPORT_JSON, json.dumps(model.to_json(), indent=2, allow_nan=False) + "\n")
    _write_text(folder / CSV_CALLS, calls_csv(model))
    _write_text(folder / CSV_FINDINGS, findings_csv(model))


def _write_text(path: Path, text: str) -> None:
    # A lone surrogate in captured text must not abort the report: it is written replaced.
    path.write_bytes(text.encode("utf-8", errors="replace"))


def safe_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run as a formula (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv(header: list[str], rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else safe_cell(v) for v in row])
    return buffer.getvalue()


def calls_csv(model: ReportModel) -> str:
    rows = [[model.week.label, t.team, u.vendor, u.calls, u.outputs, u.output_tokens, u.output_chars]
            for t in model.teams for u in t.vendors]
    return _csv(["week", "team", "vendor", "calls", "outputs", "output_tokens", "output_chars"], rows)


def findings_csv(model: ReportModel) -> str:
    rows = [[f.id, f.rule_id, f.rule_name, f.severity, f.score, f.team, f.vendor, iso(f.window_start),
             iso(f.window_end), f.count, f.value, f.stance, f.title, f.clause, f.clause_reviewed]
            for f in model.findings]
    return _csv(["id", "rule_id", "rule_name", "severity", "score", "team", "vendor", "window_start", "window_end",
                 "count", "value", "stance", "title", "clause", "clause_reviewed"], rows)


def write_weeks_index(out_dir: str | os.PathLike, language: ReportLanguage = ENGLISH) -> Path:
    """OUT/index.html listing every week folder present, newest first."""
    out = Path(out_dir)
    weeks = []
    for folder in sorted((p for p in out.iterdir() if p.is_dir() and _WEEK_DIR.match(p.name)), reverse=True):
        weeks.append(_week_summary(folder))
    path = out / "index.html"
    _write_text(path, environment(language).get_template("index.html").render(weeks=weeks))
    return path


def _week_summary(folder: Path) -> dict[str, Any]:
    summary: dict[str, Any] = {"label": folder.name, "href": f"{folder.name}/index.html", "readable": False}
    try:
        data = json.loads((folder / REPORT_JSON).read_text(encoding="utf-8"))
        teams = data.get("teams", [])
        levels = ("critical", "high", "medium", "low", "none")
        worst = next((lvl for lvl in levels if any(t.get("risk_level") == lvl for t in teams)), "none")
        summary.update(
            readable=True,
            start=data["period"]["start"], end=data["period"]["end"],
            teams=len(teams), calls=sum(int(t.get("calls", 0)) for t in teams),
            findings=len(data.get("findings", [])), worst=worst,
            at_risk=sum(1 for t in teams if t.get("risk_level") in ("high", "critical")),
        )
    except (OSError, ValueError, KeyError, TypeError):
        pass  # listed without details: a folder from an older or interrupted run
    return summary
