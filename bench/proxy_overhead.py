"""What the capture addon costs the traffic it watches.

The same mitmdump, with and without the aiaudit addon, in alternating turns against the local
stand-in vendor; 4 concurrent clients mix plain JSON and SSE chat completions. Prints throughput
and latency (p50/p99) of each, their ratios, and the time to the first SSE event.

    python bench/proxy_overhead.py [--turns 6] [--seconds 8] [--clients 4]

Targets: throughput >= 0.95 of bare mitmdump, <= 2 ms added at p99, first SSE byte within 50 ms.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from agent.standin.clients import httpx_client  # noqa: E402
from agent.standin.harness import StandinProcess  # noqa: E402
from agent.standin.harness import standin_proxy  # noqa: E402

CAPTURE = REPO / "agent" / "capture" / "script.py"
URL = "https://api.openai.com/v1/chat/completions"


def one_call(client, i: int, sse: bool) -> tuple[float, float | None]:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"benchmark prompt {i} about tides"}]}
    if sse:
        body["stream"] = True
    t0 = time.perf_counter()
    first = None
    with client.stream("POST", URL, json=body, headers={"authorization": "Bearer sk-bench"}) as r:
        for chunk in r.iter_raw():
            if first is None and chunk:
                first = time.perf_counter() - t0
        r.raise_for_status()
    return time.perf_counter() - t0, first if sse else None


def run_turn(proxy, clients: int, seconds: float, start_index: int) -> dict:
    latencies: list[float] = []
    ttfb: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds
    lock = threading.Lock()

    def worker(n: int) -> None:
        nonlocal errors
        client = httpx_client(proxy.url, proxy.ca_path, timeout=30)
        i = start_index + n * 1_000_000
        try:
            while time.perf_counter() < stop_at:
                i += 1
                try:
                    total, first = one_call(client, i, sse=i % 2 == 0)
                except Exception:
                    with lock:
                        errors += 1
                    continue
                with lock:
                    latencies.append(total)
                    if first is not None:
                        ttfb.append(first)
        finally:
            client.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    return {"requests": len(latencies), "elapsed": elapsed, "latencies": latencies, "ttfb": ttfb, "errors": errors}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarise(turns: list[dict]) -> dict:
    lat = [x for t in turns for x in t["latencies"]]
    ttfb = [x for t in turns for x in t["ttfb"]]
    return {
        "throughput": sum(t["requests"] for t in turns) / sum(t["elapsed"] for t in turns),
        "p50_ms": pct(lat, 0.50) * 1000,
        "p99_ms": pct(lat, 0.99) * 1000,
        "ttfb_p50_ms": pct(ttfb, 0.50) * 1000,
        "requests": len(lat),
        "errors": sum(t["errors"] for t in turns),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=6, help="turns per proxy, alternating")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of one turn")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="aiaudit-bench-"))
    config = work / "aiaudit.yaml"
    config.write_text(f"database_url: sqlite:///{work / 'audit.db'}\ncapture:\n  journal_dir: {work / 'journal'}\n")
    env = {"AIAUDIT_CONFIG": str(config), "PYTHONPATH": str(REPO)}
    with StandinProcess() as standin:
        bare = standin_proxy(work / "bare", standin.port).start()
        audited = standin_proxy(work / "audited", standin.port, scripts=[CAPTURE], env=env).start()
        try:
            for proxy in (bare, audited):  # warm up TLS caches and the writer
                run_turn(proxy, args.clients, 1.0, 0)
            results: dict[str, list[dict]] = {"bare": [], "aiaudit": []}
            for turn in range(args.turns):
                order = (("bare", bare), ("aiaudit", audited)) if turn % 2 == 0 else (("aiaudit", audited), ("bare", bare))
                for name, proxy in order:
                    results[name].append(run_turn(proxy, args.clients, args.seconds, turn * 10_000_000))
        finally:
            audited.stop()
            bare.stop()
    b, a = summarise(results["bare"]), summarise(results["aiaudit"])
    out = {
        "bare": b,
        "aiaudit": a,
        "throughput_ratio": a["throughput"] / b["throughput"],
        "p99_added_ms": a["p99_ms"] - b["p99_ms"],
        "p50_added_ms": a["p50_ms"] - b["p50_ms"],
        "ttfb_added_ms": a["ttfb_p50_ms"] - b["ttfb_p50_ms"],
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{args.turns} alternating turns of {args.seconds:.0f} s per proxy, {args.clients} clients, JSON and SSE mixed")
    print(f"{'':10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'SSE first byte p50 ms':>24}{'requests':>10}{'errors':>8}")
    for name, s in (("bare", b), ("aiaudit", a)):
        print(f"{name:10}{s['throughput']:10.1f}{s['p50_ms']:10.2f}{s['p99_ms']:10.2f}{s['ttfb_p50_ms']:24.2f}"
              f"{s['requests']:10d}{s['errors']:8d}")
    print(f"throughput ratio {out['throughput_ratio']:.3f} (target >= 0.95)")
    print(f"added latency p50 {out['p50_added_ms']:+.2f} ms, p99 {out['p99_added_ms']:+.2f} ms (target <= 2 ms)")
    print(f"added SSE first-byte latency {out['ttfb_added_ms']:+.2f} ms (target <= 50 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
