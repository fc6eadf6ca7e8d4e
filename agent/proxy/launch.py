"""How mitmdump is started with the capture addon: one code path for `aiaudit proxy` and the demo.

The database URL and the config path reach the addon through the environment, not the command
line, so that a PostgreSQL password never shows in the process list.

Arguments given to mitmdump (`passthrough`, what follows `--` on aiaudit's command line) win over
what aiaudit sets from its configuration: mitmdump's own flags (`--listen-port 9000`, `-p 9000`,
`--flow-detail 2`, `-v`) because they come later on the command line, where argparse keeps the
last value; `--set KEY=VALUE` because aiaudit then leaves KEY out (mitmdump refuses a `--set`
given twice for one option, and would let aiaudit's flag override it).

This module runs in the process that launches mitmdump, not inside it.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from agent.config import Config
from agent.errors import UserError

SCRIPT = Path(__file__).resolve().with_name("script.py")


def mitmdump_path() -> str:
    beside = Path(sys.executable).parent / "mitmdump"
    found = str(beside) if beside.exists() else shutil.which("mitmdump")
    if not found:
        raise UserError("mitmdump not found: install aiaudit with ./install.sh (it installs mitmproxy)")
    return found


def options_set(passthrough: Sequence[str]) -> dict[str, str]:
    """The options the mitmdump arguments set with `--set KEY[=VALUE]` (or `--set=KEY=...`)."""
    found: dict[str, str] = {}
    args = iter(passthrough)
    for arg in args:
        if arg == "--set":
            spec = next(args, "")
        elif arg.startswith("--set="):
            spec = arg[len("--set="):]
        else:
            continue
        key, _, value = spec.partition("=")
        found[key.strip()] = value
    return found


def mitmdump_command(config: Config, listen_host: str | None = None, listen_port: int | None = None,
                     passthrough: Sequence[str] = ()) -> tuple[list[str], dict[str, str]]:
    """(argv, environment) for mitmdump with the capture addon, configured from `config`."""
    passthrough = list(passthrough)
    user_set = options_set(passthrough)
    if "scripts" in user_set:
        # mitmdump replaces a --set scripts list with the -s list, which always holds the addon
        raise UserError("aiaudit proxy: --set scripts=... cannot replace the capture addon; "
                        "load your own addons next to it with -- -s PATH")
    host = listen_host or config.listen_host
    port = listen_port or config.listen_port
    if not 0 < port < 65536:
        raise UserError(f"--listen-port: expected a TCP port 1-65535, got {port}")
    ours: list[str] = ["-s", str(SCRIPT)]
    if "listen_host" not in user_set:
        ours += ["--listen-host", host]
    if "listen_port" not in user_set:
        ours += ["--listen-port", str(port)]
    if "confdir" not in user_set:
        config.confdir.mkdir(parents=True, exist_ok=True, mode=0o700)
        ours += ["--set", f"confdir={config.confdir}"]
    if "flow_detail" not in user_set:
        # quiet: mitmproxy's own flow log would print URLs (query keys) to the journal
        ours += ["--flow-detail", "0"]
    argv = [mitmdump_path(), *ours, *passthrough]
    env = dict(os.environ)
    env["AIAUDIT_DB"] = config.database_url
    if config.source:
        env["AIAUDIT_CONFIG"] = str(config.source)
    return argv, env
