"""`aiaudit evidence export FINDING_ID... --out FILE.zip` and `aiaudit evidence verify FILE.zip`:
a self-contained evidence bundle, and its offline check (exit 0 intact, 1 altered, 2 usage)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agent.errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    export = actions.add_parser("export", help="write the findings and everything they rest on to one zip",
                                description="write the findings and everything they rest on to one zip")
    export.add_argument("finding_ids", nargs="+", metavar="FINDING_ID")
    export.add_argument("--out", metavar="FILE.zip", required=True, help="the bundle to write")
    check = actions.add_parser("verify", help="check a bundle offline, without the store",
                               description="check a bundle offline, without the store")
    check.add_argument("bundle", metavar="FILE.zip")


def run(args: argparse.Namespace) -> int:
    if args.action == "export":
        return _export(args)
    if args.action == "verify":
        return _verify(Path(args.bundle))
    raise UserError("aiaudit evidence: say `export FINDING_ID... --out FILE.zip` or `verify FILE.zip`")


def _export(args: argparse.Namespace) -> int:
    from agent.commands.common import config_from
    from agent.commands.common import store_from
    from rules.evidence.export import ExportError
    from rules.evidence.export import write_bundle

    out = Path(args.out).expanduser()
    if out.is_dir():
        raise UserError(f"--out {out}: is a folder; name the .zip file to write")
    config = config_from(args)
    from agent.commands.report import signing_key_from

    signing_key = signing_key_from(config)
    store = store_from(config)
    try:
        manifest = write_bundle(store, args.finding_ids, out, signing_key=signing_key)
    except ExportError as e:
        raise UserError(str(e)) from None
    except OSError as e:
        raise UserError(f"--out {out}: cannot write the bundle ({e.strerror or e})") from None
    finally:
        store.dispose()
    print(f"{out}: {len(manifest['findings'])} finding(s), {len(manifest['members'])} members")
    return 0


def _verify(path: Path) -> int:
    from rules.evidence.check import verify_bundle
    from rules.evidence.zipread import BundleUnreadable

    try:
        result = verify_bundle(path)
    except BundleUnreadable as e:
        raise UserError(str(e)) from None
    if not result.ok:
        for problem in result.problems:
            print(f"{path}: ALTERED: {problem}", file=sys.stderr)
        print(f"{path}: evidence bundle ALTERED ({len(result.problems)} problem(s))", file=sys.stderr)
        return 1
    signed = (f"; manifest signed by Ed25519 key {result.signed_by} (compare it with the site's key)"
              if result.signed_by else "; manifest not signed")
    print(f"{path}: evidence bundle intact: {len(result.findings)} finding(s), {result.links} chain links "
          f"re-hashed up to {result.anchor}{signed}")
    return 0
