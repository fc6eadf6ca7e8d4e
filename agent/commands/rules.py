"""`aiaudit rules check [PATH...]`: every problem in the rule files, as path:line: message."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="validate rule files; every problem as path:line: message")
    check.add_argument("paths", nargs="*", metavar="PATH",
                       help="rule files or directories (default: config rules.paths); shipped rules are always checked")


def run(args: argparse.Namespace) -> int:
    from agent.commands.common import config_from
    from agent.errors import UserError
    from rules.engine.lint import check_paths

    paths = [Path(p) for p in args.paths] if args.paths else list(config_from(args).rule_paths)
    for path in paths:
        if not path.exists():
            raise UserError(f"aiaudit rules check: {path}: no such file or directory")
    problems = check_paths(paths)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''}", file=sys.stderr)
        return 1
    print("rules ok", file=sys.stderr)
    return 0
