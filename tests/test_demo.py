"""`aiaudit demo`, the README's main command, as a user runs it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def running_demo_processes(marker: str) -> list[str]:
    out = subprocess.run(["ps", "-ww", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if marker in line and "ps -eo" not in line]


def test_demo_tells_the_four_teams_apart_and_leaves_nothing_running(run_cli, tmp_path):
    out = tmp_path / "reports"
    result = run_cli("demo", "--out", str(out), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    index = Path(result.stdout.strip().splitlines()[-1])
    assert index.is_file() and index.parent.parent == out
    assert "[1/6]" in result.stderr and "calls through the proxy" in result.stderr  # progress shown

    report = json.loads((index.parent / "report.json").read_text())
    teams = {t["team"]: t for t in report["teams"]}
    rules = {name: {f["title"] for f in t["findings"]} for name, t in teams.items()}
    # the harvester and the team distilling one vendor into another are the ones to call first
    ranked = [t["team"] for t in report["teams"]]
    assert set(ranked[:2]) == {"ml-research", "growth-analytics"}
    assert teams["ml-research"]["risk_level"] == "critical"
    assert any("Cross-Vendor" in title for title in rules["ml-research"])
    assert teams["growth-analytics"]["risk_level"] in ("high", "critical")
    assert any("Harvest" in title for title in rules["growth-analytics"])
    # the team reusing outputs of a vendor whose terms permit it: flagged, but low
    assert teams["data-platform"]["risk_level"] == "low"
    assert teams["customer-support"]["risk_level"] == "none"
    assert teams["customer-support"]["calls"] > 0

    work = next(line.split("(in ")[1].split(")")[0] for line in result.stderr.splitlines() if "(in " in line)
    assert running_demo_processes(work) == []
