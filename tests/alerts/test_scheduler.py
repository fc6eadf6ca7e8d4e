"""The scheduler: finishes windows that closed while it was down, and keeps its schedule through
a bad site rule or a store failure, saying where the details went."""

from __future__ import annotations

import datetime as dt
import shutil
import threading

from sqlalchemy import select

from agent.alerts.scheduler import Scheduler
from agent.alerts.settings import AlertSettings
from agent.store.engine import open_store
from agent.store.models import Evidence
from agent.store.models import Finding
from tests.rules.conftest import seed
from tests.rules.scenario import CALLS
from tests.rules.scenario import DAY


def harvest_aggregate(store):
    with store.session() as s:
        return s.execute(select(Evidence.detail).join(Finding, Finding.id == Evidence.finding_id)
                         .where(Finding.team == "harvest", Finding.rule_name == "bulk_outputs_harvesting",
                                Evidence.kind == "aggregate")).scalar_one()


def test_a_restarted_scheduler_finishes_the_window_that_closed_while_it_was_down(store):
    seed(store, calls=CALLS)
    Scheduler(store, AlertSettings()).run_once(DAY + dt.timedelta(hours=11, minutes=30))
    assert harvest_aggregate(store)["window_complete"] is False
    # down for two days: a fresh scheduler (a new process) starts from the stored cursor
    result = Scheduler(store, AlertSettings()).run_once(DAY + dt.timedelta(days=3))
    detail = harvest_aggregate(store)
    assert detail["window_complete"] is True and detail["events"] == 600
    assert result.since <= DAY + dt.timedelta(hours=11, minutes=30) - dt.timedelta(days=1)


def test_a_bad_site_rule_is_one_line_and_the_schedule_goes_on(store, tmp_path):
    bad = tmp_path / "rules"
    bad.mkdir()
    (bad / "broken.yml").write_text("title: x\nid: not-a-uuid\n")
    lines: list[str] = []
    scheduler = Scheduler(store, AlertSettings(evaluate_minutes=0.002), [bad], on_line=lines.append)
    thread = threading.Thread(target=scheduler.run)
    thread.start()
    try:
        deadline = dt.datetime.now() + dt.timedelta(seconds=5)
        while scheduler.stats["errors"] < 2 and dt.datetime.now() < deadline:
            threading.Event().wait(0.05)
    finally:
        scheduler.stopping.set()
        thread.join(10)
    assert scheduler.stats["errors"] >= 2  # tried again on schedule
    assert lines and all(line.startswith("aiaudit alerts: rules not evaluated: ") and "broken.yml" in line
                         and "\n" not in line for line in lines)


def test_a_store_failure_says_where_the_traceback_went(tmp_path):
    home = tmp_path / "db"
    home.mkdir()
    store = open_store(f"sqlite:///{home / 'audit.db'}")
    lines: list[str] = []
    scheduler = Scheduler(store, AlertSettings(), on_line=lines.append, traceback_file=tmp_path / "logs" / "errors.log")
    store.dispose()
    shutil.rmtree(home)  # the database is gone from under the service
    scheduler.tick()
    [line] = lines
    assert line.startswith("aiaudit alerts: evaluation failed (") and f"details in {tmp_path / 'logs' / 'errors.log'}" in line
    assert "Traceback (most recent call last)" in (tmp_path / "logs" / "errors.log").read_text()
