"""Benchmark: the shipped rules over 1 M synthetic calls, target <= 30 s on this machine.

Builds three weeks of traffic (two of history for the harvesting baseline, then the week that is
evaluated) from ~40 teams on seven vendors with a few injected patterns (a harvesting day,
templated prompting, logprob harvesting, batch downloads, unattributed traffic, dataset reuse),
inserts it into a temporary SQLite store, and measures:

  1. evaluate(store, since, until): loading the frames, running the rules, writing findings;
  2. the same rules over in-memory frames (run_rules), without the database.

Run: PYTHONPATH=. python bench/rules_eval.py [--calls N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.store.chain import verify  # noqa: E402
from agent.store.engine import open_store  # noqa: E402
from rules.engine.collection import load_rules  # noqa: E402
from rules.engine.evaluate import evaluate  # noqa: E402
from rules.engine.evaluate import run_rules  # noqa: E402
from rules.engine.fields import CALL_FIELDS  # noqa: E402
from rules.engine.fields import FIELDS  # noqa: E402
from rules.engine.frames import normalise  # noqa: E402
from rules.engine.frames import prepare_reuse  # noqa: E402
from rules.engine.model import Logsource  # noqa: E402

TARGET_S = 30.0
WEEK = dt.datetime(2026, 11, 16, tzinfo=dt.timezone.utc)
HISTORY_DAYS = 14
VENDORS = np.array(["openai", "anthropic", "google", "aws-bedrock", "mistral", "deepseek", "azure-openai"])
VENDOR_P = np.array([0.40, 0.25, 0.15, 0.05, 0.05, 0.05, 0.05])


def synthetic_calls(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = WEEK - dt.timedelta(days=HISTORY_DAYS)
    span_s = (HISTORY_DAYS + 7) * 86400
    base_ns = int(pd.Timestamp(start).value)
    offsets = np.sort(rng.integers(0, span_s * 1_000_000, n))  # microseconds
    ts = pd.to_datetime(base_ns // 1000 + offsets, unit="us", utc=True)
    teams = np.array([f"team-{i:02d}" for i in range(40)] + ["unattributed"])
    team_p = np.full(41, 0.98 / 40)
    team_p[-1] = 0.02
    team = rng.choice(teams, n, p=team_p)
    vendor = rng.choice(VENDORS, n, p=VENDOR_P)
    kind = rng.choice(np.array(["generation", "batch_results", "upload"]), n, p=[0.9985, 0.0005, 0.001])
    outputs = np.where(kind == "batch_results", 200, 1)
    request_n = np.where(rng.random(n) < 0.02, 4, 1)
    outputs = np.where(request_n > 1, request_n, outputs)
    logprobs = rng.random(n) < 0.01
    top_logprobs = np.where(logprobs, 5, -1)
    templated = rng.random(n) < 0.3
    template = np.where(templated, np.char.add("tmpl", rng.integers(0, 2000, n).astype(str)), None)
    prompt = np.char.add("p", rng.integers(0, 300_000, n).astype(str))

    # injected patterns, all in the evaluated week
    day3 = (ts >= pd.Timestamp(WEEK + dt.timedelta(days=2))) & (ts < pd.Timestamp(WEEK + dt.timedelta(days=3)))
    harvest = day3 & (team == "team-07") | (day3 & (rng.random(n) < 0.02))
    team = np.where(harvest, "team-07", team)
    vendor = np.where(harvest, "openai", vendor)
    outputs = np.where(harvest, 3, outputs)
    day4 = (ts >= pd.Timestamp(WEEK + dt.timedelta(days=3))) & (ts < pd.Timestamp(WEEK + dt.timedelta(days=3, hours=1)))
    synth = day4 & (rng.random(n) < 0.6)
    team = np.where(synth, "team-11", team)
    vendor = np.where(synth, "anthropic", vendor)
    template = np.where(synth, "synthetic-sft", template)
    prompt = np.where(synth, np.char.add("topic", np.arange(n).astype(str)), prompt)
    day5 = (ts >= pd.Timestamp(WEEK + dt.timedelta(days=4, hours=10))) & (ts < pd.Timestamp(WEEK + dt.timedelta(days=4, hours=11)))
    soft = day5 & (rng.random(n) < 0.5)
    team = np.where(soft, "team-23", team)
    vendor = np.where(soft, "openai", vendor)
    logprobs = logprobs | soft
    top_logprobs = np.where(soft, 20, top_logprobs)
    kind = np.where(soft, "generation", kind)

    day1 = (ts >= pd.Timestamp(WEEK)) & (ts < pd.Timestamp(WEEK + dt.timedelta(days=1)))
    sampled = np.flatnonzero(day1)[:300]  # team-05 asks for 8 completions per prompt
    team[sampled], vendor[sampled], request_n[sampled], outputs[sampled] = "team-05", "google", 8, 8
    day2 = np.flatnonzero((ts >= pd.Timestamp(WEEK + dt.timedelta(days=1))) & (ts < pd.Timestamp(WEEK + dt.timedelta(days=2))))
    batches = day2[:: max(1, len(day2) // 10)][:10]  # team-31 downloads ten batch result files
    team[batches], vendor[batches], kind[batches], outputs[batches] = "team-31", "anthropic", "batch_results", 200

    ids = np.char.add("B", np.char.zfill(np.arange(n).astype(str), 25))
    frame = pd.DataFrame({
        "id": ids, "ts": ts, "vendor": vendor, "host": "api.example.com", "endpoint": "chat.completions",
        "kind": kind, "method": "POST", "path": "/v1/chat/completions", "model": "model-x", "team": team,
        "attributed_by": np.where(team == "unattributed", "none", "cidr"), "user": "u",
        "client_ip": "10.0.0.1", "status": np.where(rng.random(n) < 0.01, 429, 200), "streamed": False,
        "request_n": request_n, "logprobs": logprobs,
        "top_logprobs": pd.array(np.where(top_logprobs < 0, 0, top_logprobs), dtype="Int64"),
        "max_tokens": 512, "temperature": 0.7, "template_signature": template, "prompt_sha256": prompt,
        "upload_purpose": np.where(kind == "upload", "fine-tune", None), "prompt_tokens": 50,
        "completion_tokens": 120 * outputs, "outputs": outputs, "output_chars": 500 * outputs,
        "request_bytes": 900, "response_bytes": 2400,
    })
    frame.loc[top_logprobs < 0, "top_logprobs"] = pd.NA
    return frame


def synthetic_reuse(calls: pd.DataFrame, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    week = calls[calls["ts"] >= pd.Timestamp(WEEK)]
    picked = week.sample(2000, random_state=seed)
    found = pd.Timestamp(WEEK + dt.timedelta(days=5))
    frame = pd.DataFrame({
        "id": [f"R{i:025d}" for i in range(len(picked))],
        "found_at": [found + pd.Timedelta(seconds=i) for i in range(len(picked))],
        "source": np.where(rng.random(len(picked)) < 0.8, "dataset", "upload"),
        # uploads reuse outputs inside an upload call of some vendor (cross-vendor when they differ)
        "upload_call_id": rng.choice(calls.loc[calls["kind"] == "upload", "id"].to_numpy(), len(picked)),
        "path": "/data/sft/mix.jsonl", "record": np.arange(1, len(picked) + 1),
        "record_sha256": [f"{i:064x}" for i in range(len(picked))],
        "call_ids": [[c] for c in picked["id"]], "output_ids": [[] for _ in range(len(picked))],
        "vendors": [[v] for v in picked["vendor"]], "teams": [[t] for t in picked["team"]],
        "output_coverage": 0.9, "record_coverage": 0.8, "matched_words": 70, "longest_run": 70,
        "reuse_class": "exact",
    })
    frame.loc[frame["source"] == "dataset", "upload_call_id"] = None
    return frame


def insert_sqlite(path: Path, calls: pd.DataFrame, reuse: pd.DataFrame) -> None:
    """Bulk insert with the sqlite3 driver, in SQLAlchemy's SQLite datetime text format."""
    connection = sqlite3.connect(path)
    columns = list(calls.columns)
    table = calls.copy()
    table["ts"] = table["ts"].dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    table = table.astype(object).where(table.notna(), None)
    sql = f"INSERT INTO calls ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    for offset in range(0, len(table), 100_000):
        chunk = table.iloc[offset:offset + 100_000]
        connection.executemany(sql, chunk.itertuples(index=False, name=None))
    rows = reuse.copy()
    rows["found_at"] = rows["found_at"].dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    for name in ("call_ids", "output_ids", "vendors", "teams"):
        rows[name] = rows[name].map(json.dumps)
    rows = rows.astype(object).where(rows.notna(), None)
    sql = f"INSERT INTO reuse_findings ({', '.join(rows.columns)}) VALUES ({', '.join('?' * len(rows.columns))})"
    connection.executemany(sql, rows.itertuples(index=False, name=None))
    connection.commit()
    connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="directory for the SQLite file (default: a temp dir)")
    parser.add_argument("--reuse", action="store_true",
                        help="with --keep: reuse a bench.db already there (skips the slow insert; findings are dropped)")
    args = parser.parse_args()

    t0 = time.perf_counter()
    calls = synthetic_calls(args.calls)
    reuse = synthetic_reuse(calls)
    t_generate = time.perf_counter() - t0

    directory = args.keep or Path(tempfile.mkdtemp(prefix="aiaudit-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    db = directory / "bench.db"
    url = f"sqlite:///{db}"
    t0 = time.perf_counter()
    if args.reuse and db.exists():
        connection = sqlite3.connect(db)
        for table in ("evidence", "findings", "chain_checkpoints"):
            connection.execute(f"DELETE FROM {table}")
        connection.commit()
        connection.close()
    else:
        if db.exists():
            db.unlink()
        open_store(url).dispose()  # schema via migrations
        insert_sqlite(db, calls, reuse)
    t_insert = time.perf_counter() - t0
    print(f"setup: generated {len(calls):,} calls + {len(reuse):,} reuse findings in {t_generate:.1f} s, "
          f"inserted into {db} in {t_insert:.1f} s (not part of the measurement)")

    since, until = WEEK, WEEK + dt.timedelta(days=7)
    store = open_store(url)
    t0 = time.perf_counter()
    result = evaluate(store, since, until)
    total = time.perf_counter() - t0
    print(f"evaluate(store): loaded {result.events} rows (history included) in {result.load_seconds:.2f} s, "
          f"rules {result.evaluate_seconds:.2f} s, write {result.write_seconds:.2f} s "
          f"({result.new_findings} findings, {result.new_evidence} evidence rows)")
    print(f"evaluate(store) total: {total:.2f} s for {args.calls:,} calls = {total / TARGET_S:.2f} of the "
          f"{TARGET_S:.0f} s target ({'OK' if total <= TARGET_S else 'OVER'})")
    by_rule = pd.Series([d.rule_name for d in result.findings]).value_counts().to_dict()
    print(f"findings by rule: {by_rule}")

    t0 = time.perf_counter()
    again = evaluate(store, since, until)
    print(f"second evaluate (idempotent): {time.perf_counter() - t0:.2f} s, {again.new_findings} new findings")
    t0 = time.perf_counter()
    check = verify(store)
    print(f"verify: ok={check.ok} over {check.checked} links in {time.perf_counter() - t0:.2f} s")
    store.dispose()

    # the same rules over in-memory frames: the engine without the database
    rules = load_rules()
    t0 = time.perf_counter()
    frames = {
        Logsource.CALLS: normalise(calls, Logsource.CALLS, list(CALL_FIELDS)),
        Logsource.UPLOADS: normalise(calls[calls["kind"] == "upload"], Logsource.UPLOADS, list(CALL_FIELDS)),
        Logsource.OUTPUTS: normalise(pd.DataFrame(), Logsource.OUTPUTS, list(FIELDS[Logsource.OUTPUTS])),
        Logsource.REUSE_FINDINGS: prepare_reuse(reuse, calls[["id", "team", "vendor", "model", "endpoint", "upload_purpose"]]),
    }
    t_frames = time.perf_counter() - t0
    t0 = time.perf_counter()
    drafts = run_rules(rules, frames, since, until)
    t_rules = time.perf_counter() - t0
    frames_total = t_frames + t_rules
    print(f"run_rules(frames): frames {t_frames:.2f} s, rules {t_rules:.2f} s, total {frames_total:.2f} s "
          f"= {frames_total / TARGET_S:.2f} of the target ({len(drafts)} findings)")
    if args.keep is None:
        shutil.rmtree(directory, ignore_errors=True)
    return 0 if total <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
