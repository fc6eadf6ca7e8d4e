"""`aiaudit verify`: check the hash chain over findings and evidence; exit 1 on any break."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    from agent.commands.common import config_from
    from agent.commands.common import store_from
    from rules.engine.chain import verify

    result = verify(store_from(config_from(args)))
    if result.ok:
        print(f"evidence chain intact: {result.checked} links verified")
        return 0
    print(f"evidence chain BROKEN at {result.first_break} ({result.checked} links verified before it)", file=sys.stderr)
    return 1
