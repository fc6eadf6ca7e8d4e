"""`aiaudit status`: what every proxy of the fleet captured, stored, holds pending and dropped.

captured = stored + pending + dropped{reason}, for each proxy and in total (agent.capture.fleet
gathers it). A heartbeat older than `--stale-after` means the proxy is down or cut off from the
store; an error is shown as current only while it is. With the store away, what this host knows
is still shown, and the exit code says the rest could not be.
"""

from __future__ import annotations

import argparse
import json
import sys

from agent.capture.fleet import DEFAULT_STALE_AFTER_S
from agent.capture.fleet import collect
from agent.capture.fleet import journal_pending  # noqa: F401 - where demo, bench and tests find it


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text")
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
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        from agent.commands.status_text import render

        print(render(report))
    if store_error:
        print(f"aiaudit: {store_error}; only this host's journal is shown", file=sys.stderr)
        return 3
    return 0
