"""The audit pipeline, written once: match uploads -> evaluate the rules -> build the week -> render.

`aiaudit evaluate`, `aiaudit report`, `aiaudit demo` and the dashboard's callers come through
here, so the steps always run in the same order with the same inputs:

1. `match_uploads`: training-file uploads captured since the last scan are matched against the
   output index, so the upload rules see every upload stored so far;
2. `evaluate`: the rules over a period (idempotent: findings already recorded are kept);
3. `weekly_report`: optionally 1 and 2 over the week (`evaluate=True`, what `aiaudit report` does
   unless given `--no-evaluate`), then build the week's model and write the pages.

Errors a user can fix (a bad rule file, an unreadable index or report folder) are raised as
agent.errors.UserError, one line each.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from agent.config import Config
from agent.errors import UserError


def match_uploads(config: Config, store) -> int:
    """Match the captured training uploads against the output index; the number matched."""
    from agent.reuse.outputs import SyncedOutputIndex
    from agent.reuse.uploads import match_uploads as match

    try:
        return match(store, SyncedOutputIndex(store, config.index_dir))
    except OSError as e:
        raise UserError(f"scanner.index_dir {e.filename or config.index_dir}: {e.strerror or e}") from e


def evaluate(config: Config, store, since: dt.datetime | None, until: dt.datetime | None):
    """Uploads matched first, then the rules over [since, until); rules.engine.evaluate's result."""
    match_uploads(config, store)
    return _run_rules(config, store, since, until)


def _run_rules(config: Config, store, since: dt.datetime | None, until: dt.datetime | None):
    from rules.engine.evaluate import evaluate as run_rules
    from rules.engine.model import RuleError

    try:
        return run_rules(store, since, until, list(config.rule_paths))
    except RuleError as e:
        raise UserError(str(e)) from e


def weekly_report(config: Config, store, week, out: Path, *, evaluate_first: bool = True,
                  now: dt.datetime | None = None, signing_key=None, out_option: str = "--out") -> Path:
    """The week's report in `out` (its index.html returned), after evaluating the week when asked.

    The period evaluated is the week up to now (after uploads are matched), so a report of the
    current week covers what has happened so far. `out_option` names the setting `out` came from,
    for the error message."""
    from dashboard.report import write_weekly_report

    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    if evaluate_first:
        match_uploads(config, store)
        # up to the end of matching, not just `now`: findings it just stored are part of the week
        _run_rules(config, store, week.start, min(week.end, max(now, dt.datetime.now(dt.timezone.utc))))
    try:
        return write_weekly_report(store, week, out, teams=[t.name for t in config.teams], now=now,
                                   signing_key=signing_key, language=config.report_language)
    except OSError as e:
        raise UserError(f"{out_option} {out}: cannot write the report ({e.strerror or e})") from None
