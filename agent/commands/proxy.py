"""`aiaudit proxy`: mitmdump with the capture addon, configured from aiaudit.yaml.

The command line is built by agent.proxy.launch (shared with `aiaudit demo`); this module only
parses aiaudit's own options and hands the process over to mitmdump.
"""

from __future__ import annotations

import argparse
import os
import sys

from agent.commands.common import config_from
from agent.proxy.launch import mitmdump_command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--listen-host", metavar="H", help="address to listen on (config proxy.listen_host)")
    parser.add_argument("--listen-port", metavar="P", type=int, help="port to listen on (config proxy.listen_port)")


def build_command(args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    return mitmdump_command(config_from(args), args.listen_host, args.listen_port, args.passthrough)


def run(args: argparse.Namespace) -> int:
    argv, env = build_command(args)
    sys.stdout.flush()
    os.execve(argv[0], argv, env)  # the service manager's signals go straight to mitmdump
    return 0  # not reached
