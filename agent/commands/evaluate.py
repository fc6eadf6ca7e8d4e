"""`aiaudit evaluate [--since T] [--until T]`: run the rules over stored data (idempotent)."""

from __future__ import annotations

import argparse

from agent.commands.common import add_period


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_period(parser)


def run_evaluation(config, store, since, until):
    """Uploads are matched first, so the upload rules see every upload stored so far."""
    from agent.errors import UserError
    from agent.watch.outputs import OutputCatalog
    from agent.watch.uploads import match_uploads
    from rules.engine.evaluate import evaluate
    from rules.engine.model import RuleError

    try:
        match_uploads(store, OutputCatalog(store, config.index_dir))
    except OSError as e:
        raise UserError(f"scanner.index_dir {e.filename or config.index_dir}: {e.strerror or e}") from e
    try:
        return evaluate(store, since, until, list(config.rule_paths))
    except RuleError as e:
        raise UserError(str(e)) from e


def run(args: argparse.Namespace) -> int:
    from agent.commands.common import config_from
    from agent.commands.common import period_from
    from agent.commands.common import store_from

    since, until = period_from(args)
    config = config_from(args)
    result = run_evaluation(config, store_from(config), since, until)
    period = f"{result.since.isoformat() if result.since else 'the beginning'} to {result.until.isoformat()}"
    print(f"evaluated {result.rules} rules over {period}: {result.new_findings} new findings, "
          f"{result.existing_findings} already recorded ({result.updated_findings} of open windows updated), "
          f"{result.new_evidence} evidence rows")
    return 0
