"""Store -> report model for one ISO week and the weeks before it (pandas).

The week's calls are counted in the database per (day, team, vendor, model) and each earlier
week's per team; pandas rolls those rows up into everything the report shows (per team, vendor,
model, day and week, vendor exposure, ranks). Shipping a million call rows out of SQLite would
cost most of the time budget, while the grouped rows number in the thousands; no step loops
over calls in Python.
Findings and their evidence are read as stored: `aiaudit report` runs the rules for the week
before building, and earlier weeks show what was stored when they were evaluated.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any
from typing import Iterable

import pandas as pd
from sqlalchemy import String
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import type_coerce

from agent.store.models import Call
from agent.store.models import Evidence
from agent.store.models import Finding
from agent.store.models import ReuseFinding
from dashboard.model import SEVERITIES
from dashboard.model import DatasetReuse
from dashboard.model import DayPoint
from dashboard.model import EvidenceItem
from dashboard.model import FindingView
from dashboard.model import ReportModel
from dashboard.model import TeamReport
from dashboard.model import Usage
from dashboard.model import VendorExposure
from dashboard.model import WeekPoint
from dashboard.model import team_slug
from dashboard.remediation import remediation_for
from dashboard.weeks import IsoWeek

HISTORY_WEEKS = 8
_EVIDENCE_ORDER = {"aggregate": 0, "call": 1, "reuse": 2, "upload": 3}
_FINDING_COLUMNS = ("id", "rule_id", "rule_name", "title", "level", "severity", "score", "team", "vendor",
                    "group_key", "window_start", "window_end", "count", "value", "clause", "clause_reviewed",
                    "stance")


def build_week(store, week: IsoWeek | str, *, teams: Iterable[str] = (), terms: dict | None = None,
               history_weeks: int = HISTORY_WEEKS, generated_at: dt.datetime | None = None) -> ReportModel:
    """The report model of `week` (an IsoWeek or "2026-W47") from the store, read-only.

    `teams`: configured team names to list even without activity. `terms`: the vendor terms
    catalogue (default rules/terms.yaml). `generated_at`: defaults to now (UTC)."""
    from rules.engine.severity import team_risk
    from rules.engine.terms import load_terms

    week = IsoWeek.parse(week) if isinstance(week, str) else week
    generated_at = (generated_at or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    terms = load_terms() if terms is None else terms
    weeks = [week.shifted(-n) for n in range(history_weeks, 0, -1)] + [week]

    with store.session() as session:
        connection = session.connection()
        calls = _daily_usage(connection, week.start, week.end)
        weekly = pd.concat([_weekly_usage(connection, weeks[:-1]), _rollup_week(calls, week)], ignore_index=True)
        findings = _findings(connection, weeks[0].start, week.end)
        evidence = _evidence(connection, week)
        reuse = _reuse(connection, week)

    this_week = findings[findings["window_start"] >= week.start]
    reused_teams = {t for ts in reuse["teams"] for t in (ts or [])} if len(reuse) else set()
    team_names = sorted(set(calls["team"].unique()) | set(this_week["team"].unique()) | reused_teams | set(teams))
    risks = team_risk(this_week, teams=team_names)
    views = _finding_views(this_week, evidence)
    views_by_team: dict[str, list[FindingView]] = {}
    for view in views:
        views_by_team.setdefault(view.team, []).append(view)

    week_of_finding = findings["window_start"].map(lambda t: IsoWeek.containing(t).label)
    team_history = _team_history(weekly, findings, week_of_finding, weeks, team_risk)
    usage = _usage(calls)
    days = _days(calls, week)
    datasets = _datasets(reuse)

    team_reports = []
    for rank, risk in enumerate(risks, start=1):
        totals = usage["team_totals"].get(risk.team, {})
        team_reports.append(TeamReport(
            team=risk.team, slug=team_slug(risk.team), rank=rank, risk_level=risk.level,
            risk_score=float(risk.score),
            calls=int(totals.get("calls", 0)), outputs=int(totals.get("outputs", 0)),
            output_tokens=int(totals.get("output_tokens", 0)), output_chars=int(totals.get("output_chars", 0)),
            vendors=usage["vendors"].get(risk.team, []), models=usage["models"].get(risk.team, []),
            findings=views_by_team.get(risk.team, []), datasets=datasets.get(risk.team, []),
            history=team_history.get(risk.team, _week_points(weeks, weekly.iloc[0:0], pd.DataFrame(), {})),
            days=days["teams"].get(risk.team, _empty_days(week)),
        ))

    return ReportModel(
        week=week, generated_at=generated_at, complete=generated_at >= week.end, teams=team_reports,
        vendors=_vendor_exposure(calls, this_week, terms), findings=views,
        history=_week_points(weeks, weekly, _findings_per_week(findings, week_of_finding)), days=days["all"],
        calls=int(calls["calls"].sum()), outputs=int(calls["outputs"].sum()),
        output_tokens=int(calls["output_tokens"].sum()),
    )


# -- reading ------------------------------------------------------------------------------------

def _frame(connection, statement) -> pd.DataFrame:
    result = connection.execute(statement)
    keys = list(result.keys())
    rows = result.fetchall()
    # Column-wise: DataFrame.from_records probes every SQLAlchemy Row for attributes, which
    # costs more than the query itself on a million rows.
    columns = list(zip(*rows)) if rows else [()] * len(keys)
    return pd.DataFrame({key: pd.Series(column, dtype="object") for key, column in zip(keys, columns)})


def _day_of(connection, column):
    """The UTC calendar day of a time column, as YYYY-MM-DD text, in the database's dialect."""
    if connection.dialect.name == "sqlite":  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC
        return func.substr(type_coerce(column, String), 1, 10)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")


def _daily_usage(connection, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
    """Calls and output volume per (day, team, vendor, model)."""
    day = _day_of(connection, Call.ts).label("day")
    statement = (
        select(day, Call.team, Call.vendor, Call.model, func.count().label("calls"),
               func.sum(Call.outputs).label("outputs"), func.sum(Call.completion_tokens).label("output_tokens"),
               func.sum(Call.output_chars).label("output_chars"))
        .where(Call.ts >= start, Call.ts < end)
        .group_by(day, Call.team, Call.vendor, Call.model)
    )
    frame = _frame(connection, statement)
    for name in ("calls", "outputs", "output_tokens", "output_chars"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce").fillna(0).astype("int64")
    frame["team"] = frame["team"].fillna("unattributed").astype("str")
    frame["vendor"] = frame["vendor"].fillna("unknown").astype("str")
    frame["model"] = frame["model"].fillna("").astype("str")  # "" = the request named no model
    frame["day"] = pd.to_datetime(frame["day"], format="%Y-%m-%d")
    return frame


def _weekly_usage(connection, weeks: list[IsoWeek]) -> pd.DataFrame:
    """Calls and output tokens per team for each earlier week: one small GROUP BY per week, so
    the trend costs little however much traffic those weeks had."""
    parts = []
    for week in weeks:
        statement = (
            select(Call.team, func.count().label("calls"), func.sum(Call.completion_tokens).label("output_tokens"))
            .where(Call.ts >= week.start, Call.ts < week.end)
            .group_by(Call.team)
        )
        parts.append(_frame(connection, statement).assign(week=week.label))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["team", "calls", "output_tokens", "week"])
    for name in ("calls", "output_tokens"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce").fillna(0).astype("int64")
    frame["team"] = frame["team"].fillna("unattributed").astype("str")
    return frame


def _rollup_week(calls: pd.DataFrame, week: IsoWeek) -> pd.DataFrame:
    frame = calls.groupby("team")[["calls", "output_tokens"]].sum().reset_index()
    return frame.assign(week=week.label)


def _findings(connection, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
    columns = [getattr(Finding, name) for name in _FINDING_COLUMNS]
    statement = select(*columns).where(Finding.window_start >= start, Finding.window_start < end)
    frame = _frame(connection, statement.order_by(Finding.id))
    if frame.empty:
        frame = pd.DataFrame({name: pd.Series([], dtype="object") for name in _FINDING_COLUMNS})
    for name in ("window_start", "window_end"):
        frame[name] = pd.Series([_aware(v) for v in frame[name]], index=frame.index, dtype="object")
    frame["team"] = frame["team"].fillna("unattributed")
    return frame


def _aware(value: Any) -> dt.datetime:
    value = pd.Timestamp(value).to_pydatetime()
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


def _evidence(connection, week: IsoWeek) -> pd.DataFrame:
    statement = (
        select(Evidence.finding_id, Evidence.kind, Evidence.ref, Evidence.detail, Evidence.chain_seq, Evidence.id)
        .join(Finding, Finding.id == Evidence.finding_id)
        .where(Finding.window_start >= week.start, Finding.window_start < week.end)
        .order_by(Evidence.finding_id, Evidence.chain_seq, Evidence.id)
    )
    return _frame(connection, statement)


def _reuse(connection, week: IsoWeek) -> pd.DataFrame:
    statement = select(
        ReuseFinding.source, ReuseFinding.path, ReuseFinding.record, ReuseFinding.vendors, ReuseFinding.teams,
        ReuseFinding.output_coverage, ReuseFinding.record_coverage, ReuseFinding.matched_words,
    ).where(ReuseFinding.found_at >= week.start, ReuseFinding.found_at < week.end)
    return _frame(connection, statement)


# -- aggregating --------------------------------------------------------------------------------

_SUMS = ["calls", "outputs", "output_tokens", "output_chars"]


def _usage(calls: pd.DataFrame) -> dict[str, dict]:
    team_totals = calls.groupby("team", sort=True)[_SUMS].sum()
    by_vendor = calls.groupby(["team", "vendor"], sort=True)[_SUMS].sum().reset_index()
    by_model = calls.groupby(["team", "vendor", "model"], sort=True)[_SUMS].sum().reset_index()
    return {
        "team_totals": team_totals.to_dict("index"),
        "vendors": _usage_lists(by_vendor, with_model=False),
        "models": _usage_lists(by_model, with_model=True),
    }


def _usage_lists(frame: pd.DataFrame, with_model: bool) -> dict[str, list[Usage]]:
    keys = ["team", "vendor"] + (["model"] if with_model else [])
    frame = frame.sort_values(["team", "calls"] + keys[1:], ascending=[True, False] + [True] * (len(keys) - 1),
                              kind="stable")
    lists: dict[str, list[Usage]] = {}
    for row in frame.to_dict("records"):
        lists.setdefault(row["team"], []).append(Usage(
            vendor=row["vendor"], model=(row["model"] or None) if with_model else None, calls=int(row["calls"]),
            outputs=int(row["outputs"]), output_tokens=int(row["output_tokens"]),
            output_chars=int(row["output_chars"]),
        ))
    return lists


def _empty_days(week: IsoWeek) -> list[DayPoint]:
    return [DayPoint(day=(week.start + dt.timedelta(days=n)).date(), calls=0, outputs=0) for n in range(7)]


def _days(calls: pd.DataFrame, week: IsoWeek) -> dict[str, Any]:
    day_index = pd.date_range(week.start.replace(tzinfo=None), periods=7, freq="D")

    def points(grouped: pd.DataFrame) -> list[DayPoint]:
        grouped = grouped.reindex(day_index, fill_value=0)
        return [DayPoint(day=ts.date(), calls=int(r["calls"]), outputs=int(r["outputs"]))
                for ts, r in grouped.iterrows()]

    overall = calls.groupby("day")[["calls", "outputs"]].sum()
    per_team = calls.groupby(["team", "day"])[["calls", "outputs"]].sum()
    teams = {team: points(per_team.xs(team, level="team")) for team in per_team.index.get_level_values("team").unique()}
    return {"all": points(overall), "teams": teams}


def _findings_per_week(findings: pd.DataFrame, week_of_finding: pd.Series) -> pd.DataFrame:
    """Rows: week label; columns: severities; values: number of findings."""
    counts = findings.assign(week=week_of_finding).groupby(["week", "severity"]).size()
    return counts.unstack("severity", fill_value=0) if len(counts) else pd.DataFrame()


def _week_points(weeks: list[IsoWeek], weekly: pd.DataFrame, per_week: pd.DataFrame,
                 risk: dict[str, float] | None = None) -> list[WeekPoint]:
    usage = weekly.groupby("week")[["calls", "output_tokens"]].sum()
    points = []
    for week in weeks:
        label = week.label
        calls = int(usage.at[label, "calls"]) if label in usage.index else 0
        tokens = int(usage.at[label, "output_tokens"]) if label in usage.index else 0
        found = {s: int(per_week.at[label, s]) if label in per_week.index and s in per_week.columns else 0
                 for s in SEVERITIES}
        points.append(WeekPoint(week=label, calls=calls, output_tokens=tokens, findings=found,
                                risk_score=None if risk is None else float(risk.get(label, 0.0))))
    return points


def _team_history(weekly, findings, week_of_finding, weeks, team_risk) -> dict[str, list[WeekPoint]]:
    risk_by_team: dict[str, dict[str, float]] = {}
    for label, frame in findings.assign(week=week_of_finding).groupby("week"):
        for risk in team_risk(frame):
            risk_by_team.setdefault(risk.team, {})[label] = risk.score
    weekly_by_team = dict(iter(weekly.groupby("team")))
    findings_by_team = dict(iter(findings.groupby("team"))) if len(findings) else {}
    history = {}
    for team in set(weekly_by_team) | set(findings_by_team):
        team_findings = findings_by_team.get(team, findings.iloc[0:0])
        history[team] = _week_points(weeks, weekly_by_team.get(team, weekly.iloc[0:0]),
                                     _findings_per_week(team_findings, week_of_finding.loc[team_findings.index]),
                                     risk_by_team.get(team, {}))
    return history


def _datasets(reuse: pd.DataFrame) -> dict[str, list[DatasetReuse]]:
    if reuse.empty:
        return {}
    rows = reuse.assign(team=reuse["teams"].map(lambda t: sorted(set(t or [])) or ["unattributed"])).explode("team")
    grouped = rows.groupby(["team", "source", "path"], sort=True).agg(
        records=("record", "nunique"),
        vendors=("vendors", lambda s: tuple(sorted({v for vs in s for v in (vs or [])}))),
        matched_words=("matched_words", "sum"),
        mean_output_coverage=("output_coverage", "mean"),
        max_record_coverage=("record_coverage", "max"),
    ).reset_index()
    grouped = grouped.sort_values(["team", "records", "source", "path"], ascending=[True, False, True, True],
                                  kind="stable")
    result: dict[str, list[DatasetReuse]] = {}
    for row in grouped.to_dict("records"):
        result.setdefault(row["team"], []).append(DatasetReuse(
            source=row["source"], path=row["path"], records=int(row["records"]), vendors=row["vendors"],
            matched_words=int(row["matched_words"]), mean_output_coverage=round(float(row["mean_output_coverage"]), 4),
            max_record_coverage=round(float(row["max_record_coverage"]), 4),
        ))
    return result


def _vendor_exposure(calls: pd.DataFrame, findings: pd.DataFrame, terms: dict) -> list[VendorExposure]:
    from rules.engine.terms import stance_for

    per_vendor = calls.groupby("vendor", sort=True)[["calls", "outputs", "output_tokens"]].sum()
    teams = calls.groupby("vendor")["team"].unique()
    models = calls[calls["model"] != ""].groupby("vendor")["model"].unique()
    found = findings.dropna(subset=["vendor"]).groupby("vendor").size()
    vendors = sorted(set(per_vendor.index) | set(found.index))
    exposure = []
    for vendor in vendors:
        resolved = stance_for(terms, vendor, sorted(models.get(vendor, [])))
        catalogued = terms.get(vendor)
        stats = per_vendor.loc[vendor] if vendor in per_vendor.index else None
        exposure.append(VendorExposure(
            vendor=vendor, name=catalogued.name if catalogued else vendor,
            calls=int(stats["calls"]) if stats is not None else 0,
            outputs=int(stats["outputs"]) if stats is not None else 0,
            output_tokens=int(stats["output_tokens"]) if stats is not None else 0,
            teams=tuple(sorted(teams.get(vendor, []))), findings=int(found.get(vendor, 0)),
            stance=resolved.stance.value, scope=catalogued.scope if catalogued else "unconfirmed",
            clause=resolved.clause, clause_reviewed=resolved.reviewed, terms_source=resolved.source,
            terms_url=resolved.url if resolved.url.startswith("https://") else "",
            terms_document=resolved.document, terms_section=resolved.section, terms_version=resolved.version,
            confidence=resolved.confidence,
        ))
    exposure.sort(key=lambda v: (-v.findings, -v.calls, v.vendor))
    return exposure


def _finding_views(findings: pd.DataFrame, evidence: pd.DataFrame) -> list[FindingView]:
    items: dict[str, list[EvidenceItem]] = {}
    for row in evidence.itertuples(index=False):  # capped per finding by the engine: small
        items.setdefault(row.finding_id, []).append(
            EvidenceItem.stored(row.kind, row.ref, _sorted_json(row.detail or {})))
    views = []
    for row in findings.to_dict("records"):
        listed = sorted(items.get(row["id"], []), key=lambda e: _EVIDENCE_ORDER.get(e.kind, 9))  # stable
        views.append(FindingView(
            id=row["id"], rule_id=row["rule_id"], rule_name=row["rule_name"] or "", title=row["title"],
            severity=row["severity"], score=round(float(row["score"] or 0.0), 2), team=row["team"],
            team_slug=team_slug(row["team"]), vendor=_text_or_none(row["vendor"]),
            window_start=row["window_start"], window_end=row["window_end"], count=int(row["count"] or 0),
            value=_number_or_none(row["value"]), stance=_text_or_none(row["stance"]),
            clause=_text_or_none(row["clause"]), clause_reviewed=_text_or_none(row["clause_reviewed"]),
            group=_sorted_json(row["group_key"] or {}), remediation=remediation_for(row["rule_name"] or ""),
            evidence=listed,
        ))
    rank = {s: n for n, s in enumerate(SEVERITIES)}
    views.sort(key=lambda f: (-f.score, rank.get(f.severity, 9), f.rule_name, f.team, f.vendor or "",
                              f.window_start, f.id))
    return views


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _number_or_none(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


def _sorted_json(value: Any) -> Any:
    """JSON values with mapping keys sorted, so evidence always serialises the same way."""
    if isinstance(value, dict):
        return {str(k): _sorted_json(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list):
        return [_sorted_json(v) for v in value]
    return value
