"""`aiaudit report` as a user runs it: evaluate, write, print the path; mistakes are one line, exit 2."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from agent.store.engine import open_store
from agent.store.models import Finding
from dashboard.weeks import IsoWeek

from .seed import call
from .seed import insert_rows


def test_report_evaluates_the_week_and_writes_it(run_cli, sqlite_url, tmp_path):
    store = open_store(sqlite_url)
    monday = IsoWeek(2026, 47).start
    insert_rows(store, calls=[call(monday + dt.timedelta(hours=9, minutes=i), team="unattributed", user=None)
                              for i in range(3)] +
                             [call(monday + dt.timedelta(days=1), team="research", model="gpt-<b>4o</b>")])
    out = tmp_path / "reports"
    result = run_cli("report", "--db", sqlite_url, "--week", "2026-W47", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out / "2026-W47" / "index.html")
    with store.session() as session:  # the rules ran for the week before the report was built
        rules = set(session.execute(select(Finding.rule_name)).scalars())
    store.dispose()
    assert "unattributed_ai_traffic" in rules
    report = json.loads((out / "2026-W47" / "report.json").read_text())
    assert [t["team"] for t in report["teams"]][0] == "unattributed"
    assert any(f["rule_name"] == "unattributed_ai_traffic" for f in report["findings"])
    assert "gpt-&lt;b&gt;4o&lt;/b&gt;" in (out / "2026-W47" / "teams").joinpath(
        next(p.name for p in (out / "2026-W47" / "teams").iterdir() if p.name.startswith("research-"))).read_text()
    assert "2026-W47/index.html" in (out / "index.html").read_text()


def test_the_default_week_is_the_last_complete_one_in_the_configured_folder(run_cli, sqlite_url, tmp_path):
    config = tmp_path / "aiaudit.yaml"
    config.write_text("report:\n  out_dir: weekly\n")
    result = run_cli("report", "--db", sqlite_url, "--config", str(config))
    assert result.returncode == 0, result.stderr
    expected = IsoWeek.last_complete().label
    assert result.stdout.strip() == str(tmp_path / "weekly" / expected / "index.html")
    assert (tmp_path / "weekly" / expected / "report.json").is_file()


def _one_line_error(result, *needles: str) -> None:
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_a_bad_week_is_one_line_and_exit_2(run_cli, sqlite_url, tmp_path):
    for week in ("2026-47", "2026-W54", "next week"):
        _one_line_error(run_cli("report", "--db", sqlite_url, "--week", week, "--out", str(tmp_path)), "--week")
    _one_line_error(run_cli("report", "--db", sqlite_url, "--week", "2999-W01", "--out", str(tmp_path)),
                    "has not started")


def test_an_unwritable_out_is_one_line_and_exit_2(run_cli, sqlite_url, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    _one_line_error(run_cli("report", "--db", sqlite_url, "--week", "2026-W47", "--out", str(blocker / "x")),
                    "--out", "cannot write")
    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(0o500)
    result = run_cli("report", "--db", sqlite_url, "--week", "2026-W47", "--out", str(read_only / "x"))
    read_only.chmod(0o700)
    # root ignores permission bits; anyone else gets the one-line error
    assert result.returncode in (0, 2) and "Traceback" not in result.stderr
