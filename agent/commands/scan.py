"""`aiaudit scan PATH...`: find records that reuse captured outputs, once.

Findings go to stdout (a line each, or JSON lines with the scan fields of docs/architecture.md); progress, problems with files and
records, and the summary go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from agent.errors import EXIT_FOUND
from agent.errors import EXIT_INCOMPLETE
from agent.errors import EXIT_OK
from agent.errors import UserError
from agent.errors import internal_reason

JSONL_FIELDS = ("path", "record", "call_ids", "vendors", "teams", "output_coverage", "record_coverage",
                "matched_words", "fields", "role", "tier", "spans")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="files, directories or object-store URLs (s3://, gs://, abfs://, hf://; "
                             "default: config watch:)")
    parser.add_argument("--format", choices=("text", "jsonl"), default="text")
    parser.add_argument("--cluster", metavar="ADDRESS",
                        help="run on the Dask scheduler at ADDRESS, e.g. tcp://HOST:8786 (default: scanner.cluster; "
                             "needs aiaudit[cluster])")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="run on N local worker processes (a Dask LocalCluster; needs aiaudit[cluster])")


class Progress:
    """A one-line progress bar on stderr when it is a terminal: files, MB, MB/s."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.start = time.perf_counter()
        self.files = 0
        self.bytes = 0
        self.last = 0.0

    def update(self, files: int = 0, nbytes: int = 0, force: bool = False) -> None:
        self.files += files
        self.bytes += nbytes
        now = time.perf_counter()
        if not self.tty or (not force and now - self.last < 0.2):
            return
        self.last = now
        mb = self.bytes / 1e6
        rate = mb / max(1e-9, now - self.start)
        sys.stderr.write(f"\r\x1b[Kscanning: {self.files} files, {mb:.1f} MB, {rate:.1f} MB/s")
        sys.stderr.flush()

    def clear(self) -> None:
        if self.tty:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def print_finding(row: dict, fmt: str) -> None:
    if fmt == "jsonl":
        print(json.dumps({k: row[k] for k in JSONL_FIELDS}, ensure_ascii=False), flush=False)
        return
    print(f"{row['path']}:{row['record']}  {','.join(row['vendors'])}  teams={','.join(row['teams'])}  "
          f"output {row['output_coverage']:.2f}  record {row['record_coverage']:.2f}  "
          f"{row['matched_words']} words  {row.get('reuse_class', '')} {row.get('tier', '')}  "
          f"{row.get('role', '')} side: {_printable(','.join(row.get('fields', [])))}  calls={','.join(row['call_ids'])}")


def _printable(text: str) -> str:
    """Field names come from the scanned file: no control characters reach the terminal."""
    return "".join(c if c.isprintable() else "?" for c in text)


def print_summary(summary: dict) -> None:
    from agent.reuse.scoring import MIN_EVIDENCE_WORDS

    lines = [
        ("files", f"{summary['files']} ({summary['scanned']} read, {summary.get('checked', 0)} checked by sketch, "
                  f"{summary['unchanged']} unchanged, "
                  f"{summary['errors']} could not be scanned)"),
        ("records", f"{summary['records']} read, {summary['bad_records']} malformed (skipped)"),
        ("reusing outputs", f"{summary['records_reusing_outputs']} records ({summary['new_findings']} new findings)"
                            + (f"; {summary['records_matching_short_outputs']} more match only outputs under "
                               f"{MIN_EVIDENCE_WORDS} words (short tier, no evidence on their own)"
                               if summary.get("records_matching_short_outputs") else "")),
        ("read", f"{summary['megabytes']:.1f} MB in {summary['seconds']:.1f} s ({summary['mb_per_s']:.1f} MB/s)"),
    ]
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        print(f"{key:>{width}}  {value}", file=sys.stderr)


def open_output_index(config, store):
    from agent.reuse.outputs import SyncedOutputIndex

    try:
        return SyncedOutputIndex(store, config.index_dir)
    except OSError as e:
        raise UserError(f"scanner.index_dir {e.filename or config.index_dir}: {e.strerror or e}") from e


def run(args: argparse.Namespace) -> int:
    from agent.commands.common import config_from
    from agent.commands.common import store_from
    from agent.scan.cluster import require_distributed
    from agent.scan.cluster.command import cluster_wanted
    from agent.scan.scan import Scanner
    from agent.scan.scan import scan_summary

    config = config_from(args)
    from agent.scan.sources import is_url

    paths = [p if is_url(p) else Path(p) for p in args.paths] or [w.path for w in config.watch]
    if not paths:
        raise UserError("aiaudit scan: give one or more paths, or list directories under watch: in the config")
    for p in paths:
        if isinstance(p, Path) and not p.exists():
            raise UserError(f"aiaudit scan: {p}: no such file or directory")
    cluster = cluster_wanted(args, config)
    if cluster is not None:
        require_distributed()  # before the store is opened: a missing extra is one line, exit 2
    store = store_from(config)
    output_index = open_output_index(config, store)
    progress = Progress()

    def problem(line: str) -> None:
        progress.clear()
        print(line, file=sys.stderr)

    scanner = Scanner(store, output_index, on_error=problem, on_progress=lambda _n: progress.update(force=True))
    started = time.perf_counter()
    results = []
    if cluster is not None:
        from agent.scan.cluster.command import scan_on_cluster

        progress.tty = False  # the cluster's own progress line (agent.scan.cluster.progress)
        found = scan_on_cluster(scanner, config, paths, *cluster)
    else:
        found = scanner.scan_paths(paths)
    for result in found:
        results.append(result)
        for row in result.findings:
            print_finding(row, args.format)
        sys.stdout.flush()
        progress.update(files=1, nbytes=result.bytes)
    progress.clear()
    summary = scan_summary(results, time.perf_counter() - started)
    print_summary(summary)
    uploads = upload_matches(store, output_index)
    return exit_code(summary, uploads)


def exit_code(summary: dict, uploads: int | None) -> int:
    """3 when some file (or the uploads) could not be examined, whatever was found elsewhere:
    "nothing found" would not be true then; else 1 when reuse was found, 0 when not. Records that
    match only outputs under MIN_EVIDENCE_WORDS words (the short tier) are printed and stored, but
    are not reuse on their own: a 3-word answer found in a dataset must not fail a pipeline."""
    if summary["errors"] or uploads is None:
        return EXIT_INCOMPLETE
    return EXIT_FOUND if summary["records_reusing_outputs"] or uploads else EXIT_OK


def upload_matches(store, output_index) -> int | None:
    """Training uploads captured by the proxy are checked against the same index; returns the
    new findings, or None when that failed (said in one line)."""
    from agent.reuse.uploads import match_uploads

    try:
        found = match_uploads(store, output_index)
    except Exception as e:
        print(f"aiaudit scan: training uploads not matched: {internal_reason(e, 'matching uploads')}",
              file=sys.stderr)
        return None
    if found:
        print(f"training uploads reusing outputs: {found} new", file=sys.stderr)
    return found
