"""agent/pipeline.py: the one place uploads are matched, the rules run and the report is written;
a report evaluates only when asked."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from sqlalchemy import func
from sqlalchemy import select

from agent import pipeline
from agent.config import load_config
from agent.errors import UserError
from agent.store.models import Finding
from dashboard.weeks import IsoWeek
from tests.rules.conftest import seed
from tests.rules.scenario import CALLS
from tests.rules.scenario import DAY
from tests.rules.scenario import reuse_entries

WEEK = IsoWeek.containing(DAY)
NOW = WEEK.end + dt.timedelta(days=1)


@pytest.fixture
def config(tmp_path, db_url):
    path = tmp_path / "aiaudit.yaml"
    path.write_text(f"database_url: {db_url}\nscanner:\n  index_dir: {tmp_path / 'index'}\n"
                    "teams:\n  - name: harvest\n  - name: distill\n  - name: permitted\n  - name: normal\n")
    return load_config(path)


def findings(store) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(Finding))


def report_findings(index) -> int:
    report = json.loads((index.parent / "report.json").read_text())
    return sum(len(t["findings"]) for t in report["teams"])


def test_a_report_not_asked_to_evaluate_renders_only_what_is_stored(config, store, tmp_path):
    seed(store, calls=CALLS, reuse_findings=reuse_entries())
    index = pipeline.weekly_report(config, store, WEEK, tmp_path / "out", evaluate_first=False, now=NOW)
    assert findings(store) == 0 and report_findings(index) == 0


def test_a_report_asked_to_evaluate_runs_the_rules_over_its_week_once(config, store, tmp_path):
    seed(store, calls=CALLS, reuse_findings=reuse_entries())
    index = pipeline.weekly_report(config, store, WEEK, tmp_path / "out", now=NOW)
    stored = findings(store)
    assert stored > 0 and report_findings(index) == stored
    again = pipeline.evaluate(config, store, WEEK.start, WEEK.end)  # idempotent: nothing new
    assert again.new_findings == 0 and findings(store) == stored


def test_a_bad_rule_file_is_one_user_error(config, store, tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("title: [unclosed\n")
    broken = dataclasses.replace(config, rule_paths=(bad,))
    with pytest.raises(UserError, match="bad.yml"):
        pipeline.evaluate(broken, store, None, None)


def test_an_unwritable_report_folder_is_one_user_error(config, store, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(UserError, match="--out"):
        pipeline.weekly_report(config, store, WEEK, blocker / "out", evaluate_first=False, now=NOW)
