from __future__ import annotations

import argparse

from agent.commands.common import config_from
from agent.commands.common import store_from


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    sub.add_parser("upgrade", help="apply pending schema migrations")


def run(args: argparse.Namespace) -> int:
    from agent.store.migrate import current_revision

    store = store_from(config_from(args))  # opening migrates
    print(f"schema at revision {current_revision(store)}")
    return 0
