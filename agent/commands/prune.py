"""`aiaudit prune`: apply the retention settings (also run by the weekly timer)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    from agent.commands.common import config_from
    from agent.commands.common import store_from
    from agent.store.prune import prune

    config = config_from(args)
    store = store_from(config)
    report = prune(store, raw_text_days=config.raw_text_days, metadata_days=config.metadata_days)
    print(f"raw text cleared: {report.text_cleared_calls} calls, {report.text_cleared_outputs} outputs"
          f" (older than {config.raw_text_days or 'never'} days)")
    deleted = ", ".join(f"{n} {name}" for name, n in report.deleted.items()) or "nothing"
    print(f"metadata deleted: {deleted} (older than {config.metadata_days or 'never'} days)")
    if report.chain_checkpoint:
        print(f"evidence chain: links up to {report.chain_checkpoint} pruned, checkpoint kept; `aiaudit verify` still holds")
    return 0
