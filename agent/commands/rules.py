from __future__ import annotations

import argparse

from agent.commands.common import not_built


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="validate rule files; every problem as path:line: message")
    check.add_argument("paths", nargs="*", metavar="PATH")


def run(args: argparse.Namespace) -> int:
    return not_built("rules check", "the rules engine")
