"""`aiaudit verify [--against REPORTS_DIR]`: check the hash chain over findings and evidence,
and against the chain heads published in weekly reports; exit 1 on any break."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agent.errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--against", metavar="REPORTS_DIR",
                        help="also compare the store with the chain head each report in this folder published")


def run(args: argparse.Namespace) -> int:
    from agent.commands.common import config_from
    from agent.commands.common import store_from
    from agent.store.chain import verify

    config = config_from(args)
    reports = Path(args.against).expanduser() if getattr(args, "against", None) else None
    if reports is not None and not reports.is_dir():
        raise UserError(f"--against {reports}: not a folder of reports")
    public_key = _public_key(config) if reports is not None else None
    store = store_from(config)
    try:
        result = verify(store)
        if not result.ok:
            print(f"evidence chain BROKEN at {result.first_break} ({result.checked} links verified before it)",
                  file=sys.stderr)
            return 1
        print(f"evidence chain intact: {result.checked} links verified")
        if reports is None:
            return 0
        return _against(store, reports, public_key)
    finally:
        store.dispose()


def _public_key(config):
    from rules.engine.anchor import AnchorKeyError
    from rules.engine.anchor import load_public_key

    path, option = ((config.report_public_key, "report.public_key") if config.report_public_key
                    else (config.report_signing_key, "report.signing_key"))
    if path is None:
        return None
    try:
        return load_public_key(path)
    except AnchorKeyError as e:
        raise UserError(f"{option}: {e}") from None


def _against(store, reports: Path, public_key) -> int:
    from rules.engine.anchor import check_published

    result = check_published(store, reports, public_key)
    for name in result.without_head:
        print(f"{name}: published no chain head (written before heads were published); not checked")
    if not result.ok:
        for problem in result.breaks:
            print(f"published head BROKEN: {problem}", file=sys.stderr)
        return 1
    how = "signatures checked with the site key" if public_key is not None else (
        "signed heads checked with the key printed in each report" if result.checked > result.unsigned
        else "no signatures")
    print(f"published heads match the store: {result.checked} reports checked ({how}; {result.unsigned} unsigned)")
    return 0
