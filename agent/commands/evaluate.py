"""`aiaudit evaluate [--since T] [--until T]`: run the rules over stored data (idempotent), after
matching the captured uploads (agent.pipeline.evaluate)."""

from __future__ import annotations

import argparse

from agent.commands.common import add_period


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_period(parser)


def run(args: argparse.Namespace) -> int:
    from agent.commands.common import config_from
    from agent.commands.common import period_from
    from agent.commands.common import store_from
    from agent.pipeline import evaluate

    since, until = period_from(args)
    config = config_from(args)
    result = evaluate(config, store_from(config), since, until)
    period = f"{result.since.isoformat() if result.since else 'the beginning'} to {result.until.isoformat()}"
    print(f"evaluated {result.rules} rules over {period}: {result.new_findings} new findings, "
          f"{result.existing_findings} already recorded ({result.updated_findings} of open windows updated), "
          f"{result.new_evidence} evidence rows")
    return 0
