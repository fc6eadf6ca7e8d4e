from __future__ import annotations

import argparse
import sys

from agent.commands.common import add_period
from agent.commands.common import config_from
from agent.commands.common import period_from
from agent.commands.common import store_from


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", choices=("calls", "findings"), help="which records")
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    add_period(parser)


def run(args: argparse.Namespace) -> int:
    from agent.store import export

    since, until = period_from(args)
    config = config_from(args)
    store = store_from(config)
    out = sys.stdout
    if args.what == "calls":
        with_text = config.store_text == "full"
        rows = export.iter_calls(store, since, until, with_text=with_text)
        fields = export.CALL_FIELDS if with_text else export.CALL_FIELDS[:-1]
    else:
        rows = export.iter_findings(store, since, until)
        fields = export.FINDING_FIELDS
    if args.format == "jsonl":
        export.write_jsonl(rows, out)
    else:
        export.write_csv(rows, fields, out)
    out.flush()
    return 0
