"""Cluster scan benchmark: MB/s of a scan on 1 and 2 Dask worker processes against the local
single-process scan of the same bytes, measured in the same run.

    python bench/distributed_scan.py [--mb 200] [--files 8] [--quick] [--workdir DIR]

Builds a SQLite store holding captured outputs, then one tree of JSONL files (a record in 40
reuses an output) hard-linked into three directories, so every run reads the same bytes from the
same page cache under its own paths (a file's scan state is keyed by path). Timed for each:
planning, every task, and recording every finding in the store, i.e. what `aiaudit scan` waits
for; starting the cluster and putting the index on the workers are timed apart (once per scan,
not per byte). Prints the load average before and after: on a shared machine the ratios say
more than the absolute rates. Ends with the projection for a weekly pass over 100 TB.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import distributed  # noqa: E402

from agent.reuse.outputs import SyncedOutputIndex  # noqa: E402
from agent.scan.cluster.connect import install_index  # noqa: E402
from agent.scan.cluster.run import ClusterScan  # noqa: E402
from agent.scan.scan import Scanner  # noqa: E402
from agent.store.engine import open_store  # noqa: E402
from tests.scan.conftest import add_outputs  # noqa: E402
from tests.scan.conftest import answer  # noqa: E402

WEEK = 7 * 86400
LAKE = 100e12


def make_tree(root: Path, texts: list[str], megabytes: float, files: int) -> int:
    root.mkdir(parents=True)
    rng = random.Random(7)
    per_file = int(megabytes * 1e6 / files)
    total = 0
    for n in range(files):
        with (root / f"part-{n:03d}.jsonl").open("w") as f:
            written, i = 0, 0
            while written < per_file:
                text = rng.choice(texts) if i % 40 == 0 else answer(rng.randrange(10**9), rng.randint(40, 160))
                line = json.dumps({"id": i, "messages": [{"role": "user", "content": f"question {i}"},
                                                         {"role": "assistant", "content": text}]}) + "\n"
                f.write(line)
                written += len(line)
                i += 1
        total += (root / f"part-{n:03d}.jsonl").stat().st_size
    return total


def link_tree(source: Path, target: Path) -> None:
    target.mkdir()
    for path in sorted(source.iterdir()):
        os.link(path, target / path.name)


def local_scan(store, output_index, root: Path) -> tuple[float, int]:
    started = time.perf_counter()
    results = list(Scanner(store, output_index).scan_paths([root]))
    return time.perf_counter() - started, sum(len(r.findings) for r in results)


def cluster_scan(store, output_index, root: Path, workers: int, range_bytes: int) -> dict:
    started = time.perf_counter()
    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.ERROR)
    client = distributed.Client(cluster, set_as_default=False)
    try:
        client.wait_for_workers(workers)
        up = time.perf_counter()
        uploaded = install_index(client, output_index, shared=False)  # the upload path: what a remote cluster gets
        installed = time.perf_counter()
        run = ClusterScan(Scanner(store, output_index), client, range_bytes=range_bytes)
        results = list(run.scan_paths([root]))
        done = time.perf_counter()
    finally:
        client.close()
        cluster.close()
    return {"seconds": done - installed, "start": up - started, "install": installed - up, "uploaded": uploaded,
            "tasks": run.submitted, "findings": sum(len(r.findings) for r in results)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=200.0, help="dataset size (default 200 MB)")
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--outputs", type=int, default=2000, help="captured outputs in the index")
    parser.add_argument("--range-mb", type=int, default=8, help="byte range per task (default 8 MiB)")
    parser.add_argument("--quick", action="store_true", help="40 MB, for a smoke run")
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    if args.quick:
        args.mb, args.outputs = 40.0, 500
    work = args.workdir or Path(tempfile.mkdtemp(prefix="aiaudit-bench-dist-"))
    try:
        store = open_store(f"sqlite:///{work / 'audit.db'}")
        texts = [answer(i, random.Random(i).randint(60, 300)) for i in range(args.outputs)]
        add_outputs(store, texts)
        output_index = SyncedOutputIndex(store, work / "index")
        output_index.sync()
        source = work / "source"
        total = make_tree(source, texts, args.mb, args.files)
        for name in ("local", "one", "two"):
            link_tree(source, work / name)
        for path in source.iterdir():  # warm the page cache: every run reads from memory
            path.read_bytes()
        load_before = os.getloadavg()
        seconds, found = local_scan(store, output_index, work / "local")
        one = cluster_scan(store, output_index, work / "one", 1, args.range_mb << 20)
        two = cluster_scan(store, output_index, work / "two", 2, args.range_mb << 20)
        load_after = os.getloadavg()
        mb = total / 1e6
        print(f"dataset: {mb:.1f} MB in {args.files} JSONL files, {args.outputs} outputs indexed, "
              f"{os.cpu_count()} cores, load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
        print(f"local single process : {mb / seconds:7.1f} MB/s  ({seconds:.2f} s, {found} findings)")
        for label, r in (("1 worker process     ", one), ("2 worker processes   ", two)):
            print(f"{label}: {mb / r['seconds']:7.1f} MB/s  ({r['seconds']:.2f} s, {r['tasks']} tasks, "
                  f"{r['findings']} findings; cluster start {r['start']:.1f} s, index upload "
                  f"{r['uploaded'] / 1e6:.2f} MB once per worker in {r['install']:.2f} s)")
        if not (found == one["findings"] == two["findings"]):
            print("MISMATCH: the runs found different numbers of records", file=sys.stderr)
            return 1
        print(f"ratio 2 workers / 1 worker : {one['seconds'] / two['seconds']:.2f}x  (target >= 1.7x)")
        print(f"ratio 1 worker / local     : {seconds / one['seconds']:.2f}x")
        print(f"ratio 2 workers / local    : {seconds / two['seconds']:.2f}x")
        print(f"index with every task instead of once per worker: {one['tasks'] * one['uploaded'] / 1e6:.1f} MB "
              f"instead of {one['uploaded'] / 1e6:.2f} MB")
        per_core = mb / one["seconds"]
        workers = LAKE / (per_core * 1e6 * WEEK)
        print(f"projection: 100 TB at {per_core:.1f} MB/s per worker core = {LAKE / (per_core * 1e6) / 86400:.0f} "
              f"core-days; a weekly pass needs {workers:.0f} worker cores running all week "
              f"({workers * 7:.0f} for a one-day pass)")
        return 0
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
