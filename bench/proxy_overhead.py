"""What the capture addon costs the traffic it watches.

The same mitmdump, with and without the aiaudit addon, in alternating turns against the local
stand-in vendor; 4 concurrent clients mix plain JSON and SSE chat completions. Prints throughput
and latency (p50/p99) of each, their ratios, and the time to the first SSE event.

The addon's writer process (parsing, fingerprinting, the database) runs at the lowest CPU
priority beside mitmdump. Here the clients and the stand-in vendor share the same 2 cores, so
its CPU is taken from them, which a real proxy host does not do. Each run therefore measures the
audited proxy twice: with the writer live, and with the writer paused during the turn (SIGSTOP)
and left to drain before the next one, which isolates what the hooks add to the traffic. The
writer's own cost is printed as calls stored per CPU-second.

    python bench/proxy_overhead.py [--turns 6] [--seconds 8] [--clients 4]

Targets: throughput >= 0.95 of bare mitmdump, <= 2 ms added at p99, first SSE byte within 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.raw_http import httpx_client  # noqa: E402
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


def writer_pid(proxy) -> int | None:
    try:
        children = Path(f"/proc/{proxy.pid}/task/{proxy.pid}/children").read_text().split()
    except FileNotFoundError:
        return None
    return int(children[0]) if children else None


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drain(journal_dir: Path, timeout: float = 120) -> None:
    from agent.commands.status import journal_pending

    deadline = time.monotonic() + timeout
    while journal_pending(journal_dir)[0] and time.monotonic() < deadline:
        time.sleep(0.2)


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
            drain(work / "journal")
            writer = writer_pid(audited)
            results: dict[str, list[dict]] = {"bare": [], "hooks": [], "live": []}
            stored_cpu = stored_calls = 0.0
            kinds = ["bare", "hooks", "live"]
            for turn in range(args.turns):
                for name in kinds[turn % 3:] + kinds[: turn % 3]:
                    if name == "hooks" and writer:
                        os.kill(writer, signal.SIGSTOP)
                    try:
                        proxy = bare if name == "bare" else audited
                        results[name].append(run_turn(proxy, args.clients, args.seconds, (turn * 3 + len(name)) * 10**7))
                    finally:
                        if name == "hooks" and writer:
                            os.kill(writer, signal.SIGCONT)
                    if name != "bare" and writer:
                        before = cpu_seconds(writer)
                        drain(work / "journal")  # the next turn starts with an idle writer
                        stored_cpu += cpu_seconds(writer) - before
                        stored_calls += results[name][-1]["requests"]
        finally:
            audited.stop()
            bare.stop()
    b = summarise(results["bare"])
    out: dict = {"bare": b}
    for name in ("hooks", "live"):
        a = summarise(results[name])
        out[name] = a | {"throughput_ratio": a["throughput"] / b["throughput"],
                         "p50_added_ms": a["p50_ms"] - b["p50_ms"], "p99_added_ms": a["p99_ms"] - b["p99_ms"],
                         "ttfb_added_ms": a["ttfb_p50_ms"] - b["ttfb_p50_ms"]}
    out["writer_drain_cpu_seconds"] = stored_cpu
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{args.turns} rotating turns of {args.seconds:.0f} s per setting, {args.clients} clients, JSON and SSE mixed")
    print(f"{'':26}{'req/s':>8}{'ratio':>8}{'p50 ms':>9}{'p99 ms':>9}{'+p50':>8}{'+p99':>8}{'SSE 1st byte':>14}{'errors':>8}")
    labels = {"bare": "bare mitmdump", "hooks": "aiaudit (writer paused)", "live": "aiaudit (writer live)"}
    for name in ("bare", "hooks", "live"):
        s = out[name]
        ratio = f"{s['throughput_ratio']:.3f}" if name != "bare" else ""
        added = (f"{s['p50_added_ms']:+8.2f}{s['p99_added_ms']:+8.2f}" if name != "bare" else " " * 16)
        print(f"{labels[name]:26}{s['throughput']:8.1f}{ratio:>8}{s['p50_ms']:9.2f}{s['p99_ms']:9.2f}{added}"
              f"{s['ttfb_p50_ms']:14.2f}{s['errors']:8d}")
    hooks = out["hooks"]
    print(f"hooks: throughput ratio {hooks['throughput_ratio']:.3f} (target >= 0.95), added p99 "
          f"{hooks['p99_added_ms']:+.2f} ms (target <= 2 ms), SSE first byte {hooks['ttfb_added_ms']:+.2f} ms "
          f"(target <= 50 ms)")
    if stored_calls:
        print(f"writer: {stored_calls / max(stored_cpu, 1e-9):.0f} calls stored per CPU-second "
              f"({1000 * stored_cpu / stored_calls:.2f} ms each); on a shared 2-core box the live writer's share "
              f"shows as the 'writer live' ratio")
    return 0


if __name__ == "__main__":
    sys.exit(main())
