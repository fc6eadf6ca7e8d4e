"""`aiaudit alerts test`: one sample alert to each configured sink, now, and what happened.

The sample is marked as a test everywhere (event `test`, title, OCSF label) and goes straight to
the sink, not through the outbox, so it never waits behind real alerts nor stays queued. Exit 0
when every sink took it, 3 when any did not (each failure on its own line), 2 when no sink is
configured or the config is wrong.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="alerts_command", metavar="SUBCOMMAND")
    test = sub.add_parser("test", help="send one sample alert to each configured sink")
    test.add_argument("--sink", action="append", metavar="NAME", help="only this sink (repeatable)")


def run(args: argparse.Namespace) -> int:
    from agent.alerts.document import alert_document
    from agent.alerts.document import sample_summary
    from agent.alerts.settings import load_alert_settings
    from agent.alerts.sinks import SinkError
    from agent.alerts.sinks import send
    from agent.commands.common import config_from
    from agent.errors import UserError

    if args.alerts_command != "test":
        raise UserError("aiaudit alerts: expected a subcommand: test")
    config = config_from(args)
    settings = load_alert_settings(config)
    sinks = [s for s in settings.sinks if not args.sink or s.name in args.sink]
    unknown = sorted(set(args.sink or ()) - {s.name for s in settings.sinks})
    if unknown:
        raise UserError(f"aiaudit alerts test: no sink named {unknown[0]!r} under alerts.sinks")
    if not sinks:
        raise UserError(f"aiaudit alerts test: no sink is configured (alerts.sinks in {config.source or 'the config'})")
    summary = sample_summary()
    failed = 0
    for sink in sinks:
        document = alert_document(summary, sink.name, "test")
        try:
            send(sink, document)
        except SinkError as e:
            failed += 1
            print(f"{sink.name}: FAILED ({sink.describe()}): {e}", file=sys.stderr)
            continue
        print(f"{sink.name}: sent ({sink.describe()}), idempotency key {document['idempotency_key']}")
    return 3 if failed else 0
