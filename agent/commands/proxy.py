from __future__ import annotations

import argparse

from agent.commands.common import not_built


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--listen-host", metavar="H", help="address to listen on (config proxy.listen_host)")
    parser.add_argument("--listen-port", metavar="P", type=int, help="port to listen on (config proxy.listen_port)")


def run(args: argparse.Namespace) -> int:
    return not_built("proxy", "the capture addon")
