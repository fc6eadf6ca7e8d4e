"""`aiaudit report [--week YYYY-Www] [--out DIR] [--no-evaluate]`: the weekly HTML report,
report.json and CSVs, after evaluating the week (agent.pipeline.weekly_report)."""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
from pathlib import Path

from agent.commands.common import config_from
from agent.commands.common import store_from
from agent.errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--week", metavar="YYYY-Www",
                        help="ISO week to report, e.g. 2026-W47 (default: the last complete week)")
    parser.add_argument("--out", metavar="DIR", help="folder for the reports (default: config report.out_dir)")
    parser.add_argument("--no-evaluate", dest="evaluate", action="store_false",
                        help="only render what the store holds: do not match uploads or run the rules first")


def run(args: argparse.Namespace) -> int:
    from dashboard.weeks import IsoWeek
    from dashboard.weeks import WeekError

    now = dt.datetime.now(dt.timezone.utc)
    if args.week:
        try:
            week = IsoWeek.parse(args.week)
        except WeekError as e:
            raise UserError(f"--week: {e}") from None
        if week.start > now:
            raise UserError(f"--week {week.label} has not started yet (it starts {week.start:%Y-%m-%d})")
    else:
        week = IsoWeek.last_complete(now)
    config = config_from(args)
    out = Path(args.out).expanduser() if args.out else config.report_dir
    option = "--out" if args.out else "report.out_dir"
    _check_writable(out, option)
    signing_key = signing_key_from(config)
    store = store_from(config)
    try:
        path = _write(store, week, out, config, now, option, signing_key, evaluate_first=args.evaluate)
    finally:
        store.dispose()
    print(path)
    return 0


def _check_writable(out: Path, option: str) -> None:
    """Fail before the rules run, in one line, when the report could not be written anyway."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as e:
        raise UserError(f"{option} {out}: cannot write there ({e.strerror or e})") from None


def signing_key_from(config):
    """The site's Ed25519 key (config report.signing_key), read before any work is done."""
    if config.report_signing_key is None:
        return None
    from rules.engine.anchor import AnchorKeyError
    from rules.engine.anchor import load_private_key

    try:
        return load_private_key(config.report_signing_key)
    except AnchorKeyError as e:
        raise UserError(f"report.signing_key: {e}") from None


def _write(store, week, out: Path, config, now: dt.datetime, option: str, signing_key=None,
           evaluate_first: bool = True) -> Path:
    from agent.pipeline import weekly_report

    return weekly_report(config, store, week, out, evaluate_first=evaluate_first, now=now,
                         signing_key=signing_key, out_option=option)
