"""`aiaudit status`: what every proxy of the fleet captured, stored, holds pending and dropped.

captured = stored + pending + dropped{reason}, for each proxy and in total (agent.writer.fleet
gathers it). A heartbeat older than `--stale-after` means the proxy is down or cut off from the
store; an error is shown as current only while it is. With the store away, what this host knows
is still shown, and the exit code says the rest could not be.
"""

from __future__ import annotations

import argparse
import json
import sys

from agent.writer.fleet import DEFAULT_STALE_AFTER_S
from agent.writer.fleet import collect


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json", "prometheus"), default="text",
                        help="prometheus: the text exposition format, for node_exporter's textfile collector")
    parser.add_argument("--stale-after", metavar="SECONDS", type=_seconds, default=DEFAULT_STALE_AFTER_S,
                        help=f"a proxy heartbeat older than this is stale (default {DEFAULT_STALE_AFTER_S:g})")


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < 1e9:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {value!r}")
    return seconds


def run(args: argparse.Namespace) -> int:
    from agent.commands.common import config_from
    from agent.commands.common import store_from
    from agent.errors import UserError
    from agent.store.engine import make_engine

    config = config_from(args)
    make_engine(config.database_url).dispose()  # a wrong URL is a usage error (exit 2), not an outage
    try:
        store = store_from(config)
        store_error = None
    except UserError as e:  # the store is away: what this host knows is still worth showing
        store, store_error = None, str(e)
    report = collect(config, store, stale_after=args.stale_after)
    report["store_error"] = store_error
    report["alerts"] = alerts_section(config, store) if store is not None else None
    if args.format == "prometheus":
        from agent.metrics import exposition
        from agent.metrics import status_metrics

        print(exposition(status_metrics(report)), end="")
        return 3 if store_error else 0
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        from agent.commands.status_text import render

        print(render(report))
        if report["alerts"] is not None:
            print_alerts_section(report["alerts"])
    if store_error:
        print(f"aiaudit: {store_error}; only this host's journal is shown", file=sys.stderr)
        return 3
    return 0


def alerts_section(config, store) -> dict:
    """Alert sinks (delivered, pending, down) and the scheduler's last run, from the store."""
    from sqlalchemy import select

    from agent.alerts.outbox import sink_health
    from agent.alerts.settings import load_alert_settings
    from agent.metrics import findings_by_severity
    from agent.store.models import AlertState

    settings = load_alert_settings(config)
    with store.session() as s:
        runs = [{"host": r.name.split(":", 1)[1], "updated_at": r.updated_at.isoformat(), **r.value}
                for r in s.scalars(select(AlertState).where(AlertState.name.like("scheduler:%")))]
    return {"sinks": sink_health(store, settings), "scheduler": runs, "findings_by_severity": findings_by_severity(store)}


def print_alerts_section(section: dict) -> None:
    for run in section["scheduler"]:
        problem = f", last error: {run['error']}" if run.get("error") else ""
        print(f"alerts {run['host']}: evaluated up to {run.get('last_until')} (every {run.get('evaluate_minutes')} min)"
              f"{problem}")
    for sink in section["sinks"]:
        line = (f"sink {sink['name']}: {sink['state'].upper() if sink['state'] == 'down' else sink['state']}, "
                f"{sink['delivered']} delivered, {sink['pending']} pending")
        if sink["pending"]:
            line += f" (oldest {sink['oldest_pending']})"
        if sink["failed_attempts"]:
            line += f", {sink['failed_attempts']} failed attempts, last error: {sink['last_error']}"
        print(line)
    if not section["sinks"]:
        print("no alert sink configured")
