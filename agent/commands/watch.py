from __future__ import annotations

import argparse

from agent.commands.common import not_built


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    return not_built("watch", "this command")
