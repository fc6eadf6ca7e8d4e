"""Benchmark: what one scheduled evaluation of the open windows costs (`aiaudit watch`, every
`alerts.evaluate_minutes`), over the synthetic traffic of bench/rules_eval.py.

A tick evaluates from now minus the longest rule timespan (a day) and loads the history the
baselines need (14 days), so its cost grows with about 15 days of calls, not with the store.
Measures the first tick (findings written), a second one a minute later (open windows revised
or left alone) and the share of one core that costs at the default 5-minute interval.

Run: PYTHONPATH=. python bench/alerts_tick.py [--calls N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.alerts.scheduler import Scheduler  # noqa: E402
from agent.alerts.settings import AlertSettings  # noqa: E402
from agent.store.chain import verify  # noqa: E402
from agent.store.engine import open_store  # noqa: E402
from bench.rules_eval import WEEK  # noqa: E402
from bench.rules_eval import insert_sqlite  # noqa: E402
from bench.rules_eval import synthetic_calls  # noqa: E402
from bench.rules_eval import synthetic_reuse  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300_000, help="calls over the three synthetic weeks")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="aiaudit-tick-"))
    try:
        calls = synthetic_calls(args.calls)
        url = f"sqlite:///{directory / 'bench.db'}"
        open_store(url).dispose()
        insert_sqlite(directory / "bench.db", calls, synthetic_reuse(calls))
        store = open_store(url)
        scheduler = Scheduler(store, AlertSettings())
        now = WEEK + dt.timedelta(days=6, hours=15)  # mid-afternoon of the last day: its windows are open
        for label, at in (("first tick", now), ("second tick", now + dt.timedelta(minutes=1))):
            t0 = time.perf_counter()
            result = scheduler.run_once(at)
            took = time.perf_counter() - t0
            print(f"{label}: {took:.2f} s (load {result.load_seconds:.2f}, rules {result.evaluate_seconds:.2f}, "
                  f"write {result.write_seconds:.2f}); rows {result.events}; {result.new_findings} new, "
                  f"{result.updated_findings} updated findings")
        print(f"at evaluate_minutes 5 that is {took / 300:.1%} of one core")
        print(f"verify: ok={verify(store).ok}")
        store.dispose()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
