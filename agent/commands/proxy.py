"""`aiaudit proxy`: mitmdump with the capture addon, configured from aiaudit.yaml.

The database URL and the config path reach the addon through the environment, not the command
line, so that a PostgreSQL password never shows in the process list.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from agent.commands.common import config_from
from agent.errors import UserError

SCRIPT = Path(__file__).resolve().parents[1] / "capture" / "script.py"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--listen-host", metavar="H", help="address to listen on (config proxy.listen_host)")
    parser.add_argument("--listen-port", metavar="P", type=int, help="port to listen on (config proxy.listen_port)")


def mitmdump_path() -> str:
    beside = Path(sys.executable).parent / "mitmdump"
    found = str(beside) if beside.exists() else shutil.which("mitmdump")
    if not found:
        raise UserError("mitmdump not found: install aiaudit with ./install.sh (it installs mitmproxy)")
    return found


def build_command(args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    config = config_from(args)
    host = args.listen_host or config.listen_host
    port = args.listen_port or config.listen_port
    if not 0 < port < 65536:
        raise UserError(f"--listen-port: expected a TCP port 1-65535, got {port}")
    config.confdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    argv = [
        mitmdump_path(),
        "-s", str(SCRIPT),
        "--listen-host", host,
        "--listen-port", str(port),
        "--set", f"confdir={config.confdir}",
        # quiet: mitmproxy's own flow log would print URLs (query keys) to the journal
        "--flow-detail", "0",
        *args.passthrough,
    ]
    env = dict(os.environ)
    env["AIAUDIT_DB"] = config.database_url
    if config.source:
        env["AIAUDIT_CONFIG"] = str(config.source)
    return argv, env


def run(args: argparse.Namespace) -> int:
    argv, env = build_command(args)
    sys.stdout.flush()
    os.execve(argv[0], argv, env)  # the service manager's signals go straight to mitmdump
    return 0  # not reached
