"""`aiaudit`: a thin command line over the library.

Each command's work lives in its own module, imported only when that command runs, so that
`aiaudit --help` and the proxy start fast. User mistakes become one line on stderr and exit 2;
any other exception is a bug: its traceback goes to the error log, one line says where, exit 3.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from agent.errors import EXIT_INCOMPLETE
from agent.errors import UserError
from agent.errors import internal_reason

# command name -> (module with run(args), one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "proxy": ("agent.commands.proxy", "run mitmdump with the capture addon (arguments after -- go to mitmdump)"),
    "watch": ("agent.commands.watch", "watch dataset directories for reused outputs until SIGTERM"),
    "scan": ("agent.commands.scan", "scan files or directories once for reused outputs"),
    "evaluate": ("agent.commands.evaluate", "run the rules over stored data (idempotent)"),
    "report": ("agent.commands.report", "write the weekly HTML report, report.json and CSVs"),
    "export": ("agent.commands.export", "stream stored calls or findings as jsonl or csv"),
    "rules": ("agent.commands.rules", "rule files: `rules check [PATH...]` validates them"),
    "verify": ("agent.commands.verify", "check the tamper-evident chain over stored evidence"),
    "alerts": ("agent.commands.alerts", "alert sinks: `alerts test` sends one sample alert to each"),
    "evidence": ("agent.commands.evidence", "evidence bundles: `evidence export ID... --out F.zip`, `evidence verify F.zip`"),
    "status": ("agent.commands.status", "capture and watcher counts, journal size, last store error"),
    "prune": ("agent.commands.prune", "apply the retention settings"),
    "db": ("agent.commands.db", "database: `db upgrade` applies schema migrations"),
    "demo": ("agent.commands.demo", "the whole pipeline on simulated traffic; prints the report path"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2: the exit-code contract (docs/architecture.md)
        raise UserError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="aiaudit", description="Audit your company's use of AI vendor APIs.")
    parser.add_argument("--config", metavar="PATH", help="configuration file (env AIAUDIT_CONFIG)")
    parser.add_argument("--db", metavar="URL", help="database URL, overrides database_url (env AIAUDIT_DB)")
    # The global options are also accepted after the command (`aiaudit export calls --db URL`).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    common.add_argument("--db", metavar="URL", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text, parents=[common])
        importlib.import_module(module).add_arguments(command_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough: list[str] = []
    if "--" in argv:  # `aiaudit proxy ... -- MITMDUMP_ARGS`: never parsed by us
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1 :]
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not args.command:
            parser.print_help()
            return 2
        if passthrough and args.command != "proxy":
            raise UserError(f"aiaudit {args.command}: arguments after -- are only for `aiaudit proxy`")
        args.passthrough = passthrough
        module = importlib.import_module(COMMANDS[args.command][0])
        return int(module.run(args) or 0)
    except UserError as e:
        print(f"aiaudit: {e}" if not str(e).startswith("aiaudit") else str(e), file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `aiaudit export ... | head`
        sys.stderr.close()
        return 0
    except Exception as e:  # a bug: never a bare traceback, never exit 1 ("found something")
        # only the command's name: its arguments can hold a database password
        command = "aiaudit " + next((a for a in argv if a in COMMANDS), "")
        print(f"aiaudit: {internal_reason(e, command)}", file=sys.stderr)
        return EXIT_INCOMPLETE


if __name__ == "__main__":
    sys.exit(main())
