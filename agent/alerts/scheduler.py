"""Timely findings: in `aiaudit watch`, evaluate the rules every `alerts.evaluate_minutes` over
the windows still open, and queue alerts for what is new or escalated.

Each run evaluates from (the previous run's end, or now) minus the longest rule timespan, so the
window open at the last run is judged once more after it closes, and its finding is final;
after a downtime it catches up on at most CATCH_UP. Findings of open windows are revised in
place (rules.engine.evaluate); the outbox queues one alert per finding, sink and severity.
The last run is kept in `alert_state` (shown by `aiaudit status`).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import traceback
from collections import Counter
from pathlib import Path

from agent.alerts import outbox
from agent.alerts.dispatcher import Dispatcher
from agent.alerts.settings import load_alert_settings

log = logging.getLogger(__name__)

CATCH_UP = dt.timedelta(days=7)


def state_name() -> str:
    return f"scheduler:{socket.gethostname()}"


class Scheduler:
    def __init__(self, store, settings, rule_paths=(), *, on_line=None, dispatcher: Dispatcher | None = None,
                 traceback_file: Path | None = None) -> None:
        self.store, self.settings = store, settings
        self.rule_paths = list(rule_paths)
        self.say = on_line or log.info
        self.dispatcher = dispatcher
        self.traceback_file = traceback_file
        self.stats: Counter[str] = Counter()
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_until: dt.datetime | None = None

    def run_once(self, now: dt.datetime | None = None):
        from rules.engine.collection import load_rules
        from rules.engine.evaluate import evaluate

        now = now or dt.datetime.now(dt.timezone.utc)
        rules = [r for r in load_rules(self.rule_paths) if r.active]
        span = dt.timedelta(seconds=max((r.correlation.timespan_s for r in rules), default=3600))
        last = self._last_until or self._stored_cursor()
        since = max(min(last or now, now) - span, now - CATCH_UP)
        result = evaluate(self.store, since, now, rules=rules)
        queued = outbox.enqueue(self.store, self.settings, [d.dedupe_key for d in result.findings], now)
        self._last_until = now
        events = Counter(c.event for c in result.changes)
        self.stats.update({"evaluations": 1, "queued": queued, **events})
        self._save_state({"last_until": now.isoformat(), "since": since.isoformat(), "findings": len(result.findings),
                          "new": events["new"], "updated": events["updated"], "escalated": events["escalated"],
                          "queued": queued, "error": None})
        if queued and self.dispatcher is not None:
            self.dispatcher.wake.set()
        if events["new"] or events["escalated"] or queued:
            self.say(f"aiaudit alerts: evaluated {since:%Y-%m-%d %H:%M}..{now:%Y-%m-%d %H:%M}: {events['new']} new, "
                     f"{events['updated']} updated, {events['escalated']} escalated findings; {queued} alerts queued")
        return result

    def _stored_cursor(self) -> dt.datetime | None:
        from agent.store.models import AlertState

        with self.store.session() as session:
            row = session.get(AlertState, state_name())
        if row is None or not row.value.get("last_until"):
            return None
        return dt.datetime.fromisoformat(row.value["last_until"])

    def _save_state(self, value: dict) -> None:
        from sqlalchemy.dialects import postgresql
        from sqlalchemy.dialects import sqlite

        from agent.store.models import AlertState

        now = dt.datetime.now(dt.timezone.utc)
        value = {**value, "evaluate_minutes": self.settings.evaluate_minutes, "at": now.isoformat()}
        insert = (postgresql.insert if self.store.dialect == "postgresql" else sqlite.insert)(AlertState)
        with self.store.write_session() as session:
            session.execute(insert.values(name=state_name(), value=value, updated_at=now).on_conflict_do_update(
                index_elements=["name"], set_={"value": value, "updated_at": now}))

    def _failed(self, e: Exception) -> None:
        self.stats["errors"] += 1
        where = "the log"
        if self.traceback_file is not None:
            try:
                path = self.traceback_file
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "a", encoding="utf-8") as f:
                    f.write(f"--- {dt.datetime.now(dt.timezone.utc).isoformat()}\n{traceback.format_exc()}\n")
                where = str(path)
            except OSError:
                log.debug("alerts traceback", exc_info=True)
        else:
            log.debug("alerts traceback", exc_info=True)
        first = str(e).strip().splitlines()[0][:200] if str(e).strip() else ""
        self.say(f"aiaudit alerts: evaluation failed ({type(e).__name__}: {first}); details in {where}; "
                 f"trying again in {self.settings.evaluate_minutes:g} min")
        try:
            self._save_state({"last_until": self._last_until.isoformat() if self._last_until else None,
                              "error": f"{type(e).__name__}: {first}"})
        except Exception:
            pass  # the store itself is what failed

    def tick(self) -> None:
        """One scheduled run; a bad site rule or a store outage is said, never raised."""
        from rules.engine.model import RuleError

        try:
            self.run_once()
        except RuleError as e:
            self.stats["errors"] += 1
            self.say(f"aiaudit alerts: rules not evaluated: {e}")
        except Exception as e:
            self._failed(e)

    def run(self) -> None:
        interval = self.settings.evaluate_minutes * 60
        while not self.stopping.is_set():
            self.tick()
            self.stopping.wait(interval)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="aiaudit-alerts-evaluate", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)


class AlertService:
    """The scheduler and the dispatcher together, as `aiaudit watch` runs them."""

    def __init__(self, config, store, *, on_line=None) -> None:
        from agent.config import data_home

        self.settings = load_alert_settings(config)
        self.dispatcher = Dispatcher(store, self.settings, on_line=on_line)
        # the error log every command uses for tracebacks (README, exit codes)
        error_log = Path(os.environ.get("AIAUDIT_ERROR_LOG") or data_home() / "logs" / "errors.log")
        self.scheduler = Scheduler(store, self.settings, config.rule_paths, on_line=on_line,
                                   dispatcher=self.dispatcher, traceback_file=error_log)

    def start(self) -> "AlertService":
        self.dispatcher.start()
        self.scheduler.start()
        return self

    def stop(self) -> None:
        self.scheduler.stop()
        self.dispatcher.stop()
