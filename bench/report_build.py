"""Benchmark: building the weekly report for a week of 1 M calls, target <= 20 s on this machine.

Inserts synthetic traffic into a temporary SQLite store with the sqlite3 driver (plain rows,
executemany): 1 M calls in the reported week from 40 teams on seven vendors and 30 models,
lighter traffic in the eight weeks before (the trend charts), ~400 findings of the week with up
to 25 evidence rows each (as the rules engine writes them) plus earlier weeks' findings, and
2,000 reuse findings. Then measures, separately:

  1. build_week(store, week): the report model (pandas) — the number held against the target;
  2. write_report(model, out): the HTML pages, report.json and CSVs.

The insert time is printed but is not part of the measurement. Wall-clock time is what counts;
the CPU time printed beside it shows how much of it was spent waiting on a busy machine.

Run: PYTHONPATH=. python bench/report_build.py [--calls N] [--history-calls N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.store.engine import open_store  # noqa: E402
from dashboard.build import build_week  # noqa: E402
from dashboard.render import write_report  # noqa: E402
from dashboard.weeks import IsoWeek  # noqa: E402

TARGET_S = 20.0
WEEK = IsoWeek(2026, 47)
VENDORS = np.array(["openai", "anthropic", "google", "aws-bedrock", "mistral", "deepseek", "azure-openai"])
VENDOR_P = np.array([0.40, 0.25, 0.15, 0.05, 0.05, 0.05, 0.05])
TEAMS = np.array([f"team-{i:02d}" for i in range(40)] + ["unattributed"])
RULES = ("bulk_outputs_harvesting", "templated_prompting", "multi_sampling", "logprobs_harvesting",
         "outputs_in_dataset", "unattributed_ai_traffic", "repeated_identical_prompts", "training_file_upload")
SEVERITY = {"critical": 90.0, "high": 72.0, "medium": 52.0, "low": 31.0, "informational": 10.0}
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's SQLite datetime text


def calls_frame(n: int, start: dt.datetime, days: int, seed: int, prefix: str) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    offsets = np.sort(rng.integers(0, days * 86400 * 1_000_000, n))
    ts = pd.to_datetime(int(pd.Timestamp(start).value) // 1000 + offsets, unit="us", utc=True)
    vendor = rng.choice(VENDORS, n, p=VENDOR_P)
    model = np.char.add(np.char.add(vendor, "-model-"), rng.integers(0, 5, n).astype(str))
    outputs = np.where(rng.random(n) < 0.02, 4, 1)
    team_p = np.full(len(TEAMS), 0.98 / (len(TEAMS) - 1))
    team_p[-1] = 0.02
    return pd.DataFrame({
        "id": np.char.add(prefix, np.char.zfill(np.arange(n).astype(str), 25)),
        "ts": ts.strftime(TIME_FORMAT), "vendor": vendor, "host": "api.example.com", "endpoint": "chat.completions",
        "kind": "generation", "method": "POST", "path": "/v1/chat/completions", "model": model,
        "team": rng.choice(TEAMS, n, p=team_p), "attributed_by": "cidr", "user": "u", "client_ip": "10.0.0.1",
        "status": 200, "streamed": 0, "logprobs": 0, "prompt_tokens": 50,
        "completion_tokens": rng.integers(20, 800, n) * outputs, "outputs": outputs,
        "output_chars": rng.integers(100, 4000, n), "request_bytes": 900, "response_bytes": 2400,
    })


def findings_rows(week: IsoWeek, n: int, seed: int) -> tuple[list[tuple], list[tuple]]:
    rng = np.random.default_rng(seed)
    created = (week.end + dt.timedelta(hours=1)).strftime(TIME_FORMAT)
    findings, evidence = [], []
    for i in range(n):
        fid = f"F{week.week:02d}{i:023d}"
        rule = RULES[i % len(RULES)]
        severity = rng.choice(list(SEVERITY), p=[0.05, 0.2, 0.35, 0.3, 0.1])
        team, vendor = str(rng.choice(TEAMS)), str(rng.choice(VENDORS))
        start = week.start + dt.timedelta(days=int(rng.integers(0, 7)))
        group = json.dumps({"team": team, "vendor": vendor})
        findings.append((fid, hashlib.sha256(fid.encode()).hexdigest(), f"id-{rule}", rule, rule.replace("_", " "),
                         severity, severity, SEVERITY[severity] + float(rng.random() * 5), team, vendor, group,
                         start.strftime(TIME_FORMAT), (start + dt.timedelta(days=1)).strftime(TIME_FORMAT),
                         int(rng.integers(1, 5000)), float(rng.integers(1, 5000)), "The vendor's clause.",
                         "2026-11-29", "prohibits", created))
        aggregate = {"rule": rule, "correlation": "event_count", "value": 10, "events": 10, "threshold": 5,
                     "condition": "gte 5", "window_complete": True, "models": ["m"]}
        evidence.append((f"E{week.week:02d}{i:019d}000", fid, "aggregate", f"id-{rule}", json.dumps(aggregate), created))
        for k in range(int(rng.integers(5, 26))):
            if rule == "outputs_in_dataset":
                kind, detail = "reuse", {"path": f"/data/sft/set-{i}.jsonl", "record": k + 1, "output_coverage": 0.9,
                                         "record_coverage": 0.8, "matched_words": 80, "reuse_class": "exact",
                                         "call_ids": [f"C{k}"], "call_ids_total": 1, "source": "dataset"}
            else:
                kind, detail = "call", {"ts": start.isoformat(), "team": team, "vendor": vendor, "model": "m",
                                        "endpoint": "chat.completions", "kind": "generation", "outputs": 1,
                                        "completion_tokens": 300, "user": "u", "client_ip": "10.0.0.1"}
            evidence.append((f"E{week.week:02d}{i:019d}{k + 1:03d}", fid, kind, f"R{k}", json.dumps(detail), created))
    return findings, evidence


def reuse_rows(n: int) -> list[tuple]:
    found = (WEEK.start + dt.timedelta(days=5)).strftime(TIME_FORMAT)
    return [(f"R{i:025d}", found, "dataset", f"/data/sft/set-{i % 50}.jsonl", i + 1, f"{i:064x}",
             json.dumps([f"C{i}"]), "[]", json.dumps([str(VENDORS[i % 7])]), json.dumps([str(TEAMS[i % 41])]),
             0.9, 0.8, 70, 70, "exact") for i in range(n)]


def insert(db: Path, calls: list[pd.DataFrame], findings: list[tuple], evidence: list[tuple], reuse: list[tuple]) -> None:
    connection = sqlite3.connect(db)
    # A throwaway file: durability buys nothing here (the store reopens it in WAL mode afterwards).
    connection.execute("PRAGMA journal_mode = OFF")
    connection.execute("PRAGMA synchronous = OFF")
    connection.execute("PRAGMA cache_size = -262144")  # 256 MiB
    # Building the secondary indexes once after the load is much faster than keeping them up to
    # date row by row; they are recreated exactly as the migrations defined them.
    indexes = connection.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'calls' AND sql IS NOT NULL").fetchall()
    for name, _ in indexes:
        connection.execute(f'DROP INDEX "{name}"')
    for frame in calls:
        sql = f"INSERT INTO calls ({', '.join(frame.columns)}) VALUES ({', '.join('?' * len(frame.columns))})"
        for offset in range(0, len(frame), 200_000):
            connection.executemany(sql, frame.iloc[offset:offset + 200_000].itertuples(index=False, name=None))
    for _, sql in indexes:
        connection.execute(sql)
    connection.executemany(
        "INSERT INTO findings (id, dedupe_key, rule_id, rule_name, title, level, severity, score, team, vendor, "
        "group_key, window_start, window_end, count, value, clause, clause_reviewed, stance, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", findings)
    connection.executemany("INSERT INTO evidence (id, finding_id, kind, ref, detail, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                           evidence)
    connection.executemany(
        "INSERT INTO reuse_findings (id, found_at, source, path, record, record_sha256, call_ids, output_ids, vendors, "
        "teams, output_coverage, record_coverage, matched_words, longest_run, reuse_class) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", reuse)
    connection.commit()
    connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000, help="calls in the reported week")
    parser.add_argument("--history-calls", type=int, default=125_000, help="calls in each of the 8 weeks before")
    parser.add_argument("--findings", type=int, default=400, help="findings in the reported week")
    parser.add_argument("--keep", type=Path, help="directory for the SQLite file and the report (default: temp)")
    args = parser.parse_args()

    directory = args.keep or Path(tempfile.mkdtemp(prefix="aiaudit-bench-report-"))
    directory.mkdir(parents=True, exist_ok=True)
    db = directory / "bench.db"
    if db.exists():
        db.unlink()
    url = f"sqlite:///{db}"
    open_store(url).dispose()  # schema via migrations

    t0 = time.perf_counter()
    calls = [calls_frame(args.calls, WEEK.start, 7, 1, "W")]
    calls += [calls_frame(args.history_calls, WEEK.shifted(-k).start, 7, 1 + k, f"H{k}") for k in range(1, 9)]
    findings, evidence = findings_rows(WEEK, args.findings, 3)
    for k in range(1, 9):
        more_findings, more_evidence = findings_rows(WEEK.shifted(-k), args.findings // 4, 3 + k)
        findings += more_findings
        evidence += more_evidence
    reuse = reuse_rows(2000)
    t_generate = time.perf_counter() - t0
    t0 = time.perf_counter()
    insert(db, calls, findings, evidence, reuse)
    t_insert = time.perf_counter() - t0
    total_calls = sum(len(c) for c in calls)
    print(f"setup: generated {total_calls:,} calls ({args.calls:,} in {WEEK.label}), {len(findings):,} findings, "
          f"{len(evidence):,} evidence rows in {t_generate:.1f} s; inserted in {t_insert:.1f} s "
          f"(not part of the measurement)")

    store = open_store(url)
    t0, cpu0 = time.perf_counter(), time.process_time()
    model = build_week(store, WEEK)
    t_build, cpu_build = time.perf_counter() - t0, time.process_time() - cpu0
    t0 = time.perf_counter()
    page = write_report(model, directory / "out")
    t_write = time.perf_counter() - t0
    store.dispose()
    size = sum(p.stat().st_size for p in (directory / "out").rglob("*") if p.is_file())
    print(f"build_week: {t_build:.2f} s for {model.calls:,} calls, {len(model.teams)} teams, "
          f"{len(model.findings)} findings = {t_build / TARGET_S:.2f} of the {TARGET_S:.0f} s target "
          f"({'OK' if t_build <= TARGET_S else 'OVER'}; {cpu_build:.2f} s of CPU: the rest is waiting for a core)")
    print(f"write_report: {t_write:.2f} s ({size / 1e6:.1f} MB in {page.parent})")
    print(f"build + write: {t_build + t_write:.2f} s = {(t_build + t_write) / TARGET_S:.2f} of the target")
    return 0 if t_build <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
