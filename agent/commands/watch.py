"""`aiaudit watch [PATH...]`: follow dataset directories until SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from agent.errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="directories or object-store URLs, listed every rescan_seconds (default: config watch:)")
    parser.add_argument("--poll", action="store_true", help="poll instead of inotify (network filesystems)")


def run(args: argparse.Namespace) -> int:
    from agent.commands.common import config_from
    from agent.commands.common import store_from
    from agent.commands.scan import open_output_index
    from agent.scan.observer import Root
    from agent.scan.observer import Watcher
    from agent.scan.sources import is_url

    config = config_from(args)

    def root(path: Path | str, poll: bool) -> Root:
        return Root(path if is_url(str(path)) else Path(path).absolute(), poll)

    if args.paths:
        roots = [root(p, args.poll) for p in args.paths]
    else:
        roots = [root(w.path, w.poll or args.poll) for w in config.watch]
    if not roots:
        raise UserError("aiaudit watch: give one or more directories, or list them under watch: in the config")
    for r in roots:
        if isinstance(r.path, Path) and not r.path.is_dir():
            raise UserError(f"aiaudit watch: {r.path}: not a directory")
    store = store_from(config)
    watcher = Watcher(store, open_output_index(config, store), roots, quiet_seconds=config.quiet_seconds,
                      rescan_seconds=config.rescan_seconds,
                      on_line=lambda line: print(line, file=sys.stderr, flush=True))
    signal.signal(signal.SIGTERM, lambda *_: watcher.stop())
    signal.signal(signal.SIGINT, lambda *_: watcher.stop())
    from agent.alerts.scheduler import AlertService
    from agent.metrics import serve_watch

    alerts = AlertService(config, store, on_line=lambda line: print(line, file=sys.stderr, flush=True)).start()
    serve_watch(config, watcher, alerts, store)
    try:
        watcher.run()
    finally:
        alerts.stop()
    return 0
