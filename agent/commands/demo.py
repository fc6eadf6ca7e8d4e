"""`aiaudit demo [--out DIR]`: the whole pipeline on simulated traffic; prints the report's path."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="DIR", help="where to write the report (default: a temporary folder)")


def run(args: argparse.Namespace) -> int:
    from agent.demo.runner import Demo

    demo = Demo(Path(args.out).expanduser() if args.out else None,
                say=lambda line: print(line, file=sys.stderr, flush=True))
    path = demo.run()
    print(f"report: {path}", file=sys.stderr)
    print(path)
    return 0
