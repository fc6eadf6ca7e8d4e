"""What the capture addon costs the proxy host, against an honest baseline.

Three mitmdumps in rotating turns against the local stand-in vendor, 4 concurrent clients, chat
completions with 4 KB prompts and answers of about 1 KB, one call in three streamed:
- bare: mitmdump as installed (it buffers an event stream until it is complete; the stand-in's
  route addon, loaded into every mitmdump here, is told not to stream for it);
- streaming: bare plus bench/stream_events.py, which streams event streams unbuffered as aiaudit
  must (never delaying a byte): the baseline, since streaming costs mitmproxy itself;
- aiaudit: the capture addon with its writer process live.
For each: requests/s, p50 and p99, the first SSE byte, and CPU per call of the whole process group
(mitmdump plus, for aiaudit, its writer), read from /proc after the writer has drained the turn's
calls; the mitmdump process's own share and the writer's are printed apart. The headline is
aiaudit against the streaming baseline, and the ratio of each rotation's two turns (taken in the
same minute) is printed beside it: their spread is what one run's headline can be trusted to.
Diagnostic turns: `--paused` stops the writer (SIGSTOP)
during the turn, which isolates what the hooks add; `--idle-writer` puts its threads at
SCHED_IDLE instead of nice 19; `--burner` runs the streaming mitmdump beside a process at nice 19 that
does writer-like work (batch fingerprinting) in bursts of 0.1 s every 0.65 s, about the writer's
duty at this rate: what any such neighbour costs mitmdump on this machine, apart from what the
writer does. `--lag` loads bench/loop_lag.py into every mitmdump: event-loop lag,
full-GC pauses and the capture hooks' own times inside mitmdump (the probe costs CPU of its own).
`--split-cores` puts the clients and the stand-in on core 0 and the mitmdumps on the others; with
`--writer-apart` as well, the writer leaves mitmdump's cores for core 0, as on a host that keeps
the proxy's event loop on a core of its own (the streaming baseline then has that core alone too).
After each audited turn the bench notes how much of it the writer had not yet stored.

The stand-in keeps its connections alive as a real vendor does, and the route addon re-targets
requests so that mitmproxy reuses an upstream connection for a client connection's next call: the
bench counts the stand-in's accepted connections per call (upstream TCP+TLS handshakes; about 0
expected). `--close-upstream` restores the old setting, one connection and handshake per call in
every mitmdump, which inflated the baseline by the same absolute cost and so flattered the ratio.

The clients and the stand-in share the same cores, so wall-clock figures move with the machine's
load; CPU seconds per call are the robust figure.

    python bench/proxy_overhead.py [--turns 4] [--seconds 8] [--clients 4] [--paused] [--idle-writer]
                                   [--lag] [--skip-bare] [--close-upstream] [--burner]
                                   [--split-cores [--writer-apart]]

Targets (issue #12): aiaudit's group CPU per call <= 1.10 x the streaming baseline's, throughput
>= 0.97 of it, p99 within +5 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.raw_http import httpx_client  # noqa: E402
from tests.support.standin.harness import StandinProcess  # noqa: E402
from tests.support.standin.harness import standin_proxy  # noqa: E402

CAPTURE = REPO / "agent" / "proxy" / "script.py"
STREAM = REPO / "bench" / "stream_events.py"
LAG = REPO / "bench" / "loop_lag.py"
URL = "https://api.openai.com/v1/chat/completions"


def _prompt(i: int) -> str:
    """About 4 KB of prompt text, different for every call (the issue-#12 mix)."""
    from tests.support.standin.text import _WORDS

    words = [_WORDS[(i * 7 + k * 13) % len(_WORDS)] for k in range(560)]
    return f"Request {i}: " + " ".join(words)


def one_call(client, i: int, sse: bool) -> tuple[float, float | None]:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "You are a helpful assistant."},
                                                 {"role": "user", "content": _prompt(i)}]}
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
                    total, first = one_call(client, i, sse=i % 3 == 0)
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


def lag_summary(path: Path, windows: list[tuple[float, float]]) -> dict:
    """The probe's event-loop lags (bench/loop_lag.py) that fall inside this setting's turns."""
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    inside = [lag for at, lag in data["lags"] if any(a <= at <= b for a, b in windows)]
    gc2 = [pause for at, pause in data["gc2"] if any(a <= at <= b for a, b in windows)]
    out = {"lag_p99_ms": pct(inside, 0.99) * 1000, "lag_p999_ms": pct(inside, 0.999) * 1000,
           "lag_max_ms": max(inside, default=float("nan")) * 1000,
           "lag_over_5ms": sum(lag > 0.005 for lag in inside) / max(1, len(inside)),
           "gc2_count": len(gc2), "gc2_max_ms": max(gc2, default=0.0) * 1000, "gc2_total_ms": sum(gc2) * 1000,
           "gc_tracked": data.get("tracked"), "gc_frozen": data.get("frozen")}
    for name, values in data["hooks"].items():
        *slowest, total, count = values
        if count:
            out[f"hook_{name}_mean_us"] = 1e6 * total / count
            out[f"hook_{name}_max_ms"] = 1000 * max(slowest)
            out[f"hook_{name}_cpu_us"] = 1e6 * data.get("hook_cpu", {}).get(name, float("nan")) / count
            out[f"hook_{name}_gc_us"] = 1e6 * data.get("hook_gc", {}).get(name, float("nan")) / count
    # over the process's whole life (warm-up and every turn), per response hook call or per turn call
    out["gc_seconds"], out["gc_counts"] = data.get("gc_seconds"), data.get("gc_counts")
    return out


BURST_S, REST_S = 0.1, 0.55


def burn(busy: float, rest: float) -> None:
    """The `--burner` neighbour: writer-like CPU work in bursts, at nice 19, until killed."""
    import random

    from agent.reuse.fingerprint_batch import fingerprint_many
    from tests.support.standin.text import _WORDS

    os.nice(19)
    rng = random.Random(1)
    items = [(" ".join(rng.choice(_WORDS) for _ in range(250)), [" ".join(rng.choice(_WORDS) for _ in range(560))])
             for _ in range(50)]
    print("ready", flush=True)
    while True:
        end = time.monotonic() + busy
        while time.monotonic() < end:
            fingerprint_many(items)
        time.sleep(rest)


def pin(pid: int, cpus: set[int]) -> None:
    """Every thread of a process and of its children to `cpus` (`--split-cores`)."""
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(task), cpus)
            children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
        except (ProcessLookupError, FileNotFoundError):
            continue
        for child in children:
            pin(int(child), cpus)


def set_writer_idle(pid: int, idle: bool) -> None:
    """Diagnostic: every thread of the writer to SCHED_IDLE, or back to normal scheduling at nice 19."""
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            if idle:
                os.sched_setscheduler(int(task), os.SCHED_IDLE, os.sched_param(0))
            else:
                os.sched_setscheduler(int(task), os.SCHED_OTHER, os.sched_param(0))
                os.setpriority(os.PRIO_PROCESS, int(task), 19)
        except ProcessLookupError:
            pass


def summarise(turns: list[dict]) -> dict:
    lat = [x for t in turns for x in t["latencies"]]
    ttfb = [x for t in turns for x in t["ttfb"]]
    return {
        "throughput": sum(t["requests"] for t in turns) / sum(t["elapsed"] for t in turns),
        "p50_ms": pct(lat, 0.50) * 1000,
        "p99_ms": pct(lat, 0.99) * 1000,
        "p999_ms": pct(lat, 0.999) * 1000,
        "ttfb_p50_ms": pct(ttfb, 0.50) * 1000,
        "requests": len(lat),
        "errors": sum(t["errors"] for t in turns),
    }


def group_cpu(pid: int) -> float:
    """CPU seconds of a process and its children (mitmdump and its writer)."""
    total = cpu_seconds(pid)
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        children = []
    for child in children:
        try:
            total += cpu_seconds(int(child))
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def writer_pid(proxy) -> int | None:
    try:
        children = Path(f"/proc/{proxy.pid}/task/{proxy.pid}/children").read_text().split()
    except FileNotFoundError:
        return None
    return int(children[0]) if children else None


def standin_stats(port: int) -> dict[str, int]:
    """The stand-in's own counts: connections accepted (upstream handshakes) and requests."""
    import ssl
    import urllib.request

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(f"https://127.0.0.1:{port}/_standin/stats", context=context, timeout=10) as r:
        return json.loads(r.read())


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def journal_pending(journal_dir: Path) -> tuple[int, int]:
    from agent.writer.fleet import journal_pending as pending

    return pending(journal_dir)


def drain(journal_dir: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while journal_pending(journal_dir)[0] and time.monotonic() < deadline:
        time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=4, help="turns per setting, rotating")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of one turn")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--paused", action="store_true", help="also a diagnostic turn with the writer paused")
    parser.add_argument("--lag", action="store_true",
                        help="load bench/loop_lag.py into every mitmdump and report event-loop lag (costs CPU)")
    parser.add_argument("--idle-writer", action="store_true",
                        help="also a diagnostic turn with the writer's threads at SCHED_IDLE")
    parser.add_argument("--skip-bare", action="store_true", help="leave out the bare turn (more turns for the rest)")
    parser.add_argument("--close-upstream", action="store_true",
                        help="the stand-in closes every connection (one upstream handshake per call, the old bench)")
    parser.add_argument("--burner", action="store_true",
                        help="also a diagnostic turn: the streaming mitmdump beside a writer-like neighbour process")
    parser.add_argument("--split-cores", action="store_true",
                        help="the clients and the stand-in on the first core, every mitmdump and its writer on the rest")
    parser.add_argument("--writer-apart", action="store_true",
                        help="with --split-cores: the writer on core 0 beside the clients, mitmdump alone on the rest")
    parser.add_argument("--burn", action="store_true", help=argparse.SUPPRESS)  # the neighbour itself
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    if args.burn:
        burn(BURST_S, REST_S)
    if args.writer_apart and not args.split_cores:
        parser.error("--writer-apart goes with --split-cores")
    if args.split_cores and (os.cpu_count() or 1) < 2:
        parser.error("--split-cores needs at least 2 cores")

    work = Path(tempfile.mkdtemp(prefix="aiaudit-bench-"))
    config = work / "aiaudit.yaml"
    config.write_text(f"database_url: sqlite:///{work / 'audit.db'}\ncapture:\n  journal_dir: {work / 'journal'}\n")
    env = {"AIAUDIT_CONFIG": str(config), "PYTHONPATH": str(REPO)}
    kinds = ([] if args.skip_bare else ["bare"]) + ["streaming", "live"] + (["paused"] if args.paused else []) + (["idle"] if args.idle_writer else []) + (["burner"] if args.burner else [])
    with_lag = [LAG] if args.lag else []
    windows: dict[str, list[tuple[float, float]]] = {k: [] for k in kinds}
    backlog: dict[str, list[float]] = {k: [] for k in kinds}
    results: dict[str, list[dict]] = {k: [] for k in kinds}
    cpu: dict[str, float] = {k: 0.0 for k in kinds}
    writer_cpu: dict[str, float] = {k: 0.0 for k in kinds}  # for "burner": the neighbour's CPU
    per_turn: dict[str, list[float]] = {k: [] for k in kinds}  # group CPU ms per call, turn by turn
    upstream: dict[str, list[int]] = {k: [0, 0] for k in kinds}  # connections, requests at the stand-in
    load = []
    keep_alive = not args.close_upstream
    with StandinProcess(keep_alive=keep_alive) as standin:
        def lag_env(name: str) -> dict[str, str]:
            return {"AIAUDIT_LOOP_LAG": str(work / f"lag-{name}.json")} if args.lag else {}

        # the stand-in's route addon streams event streams unless told not to: bare must buffer
        proxies = {"bare": standin_proxy(work / "bare", standin.port, scripts=with_lag, env=lag_env("bare"), keep_alive=keep_alive,
                                         options={"standin_stream": "false"}).start(),
                   "streaming": standin_proxy(work / "streaming", standin.port, scripts=[STREAM, *with_lag], keep_alive=keep_alive,
                                              env=lag_env("streaming")).start(),
                   "live": standin_proxy(work / "audited", standin.port, scripts=[CAPTURE, *with_lag], keep_alive=keep_alive,
                                         env=env | lag_env("live")).start()}
        proxies["paused"] = proxies["idle"] = proxies["live"]
        if args.split_cores:
            outside, host = {0}, set(range(1, os.cpu_count() or 2))
            os.sched_setaffinity(0, outside)  # this process: the clients' threads start later
            pin(standin.pid, outside)
            for name in ("bare", "streaming", "live"):
                pin(proxies[name].pid, host)
        proxies["burner"] = proxies["streaming"]
        try:
            for name in ("bare", "streaming", "live"):  # warm up TLS caches and the writer
                run_turn(proxies[name], args.clients, 1.0, 0)
            drain(work / "journal")
            writer = writer_pid(proxies["live"])
            if args.writer_apart and writer:
                pin(writer, {0})
            audited = ("live", "paused", "idle")
            for turn in range(args.turns):
                for name in kinds[turn % len(kinds):] + kinds[: turn % len(kinds)]:
                    proxy = proxies[name]
                    stats_before = standin_stats(standin.port)
                    before = group_cpu(proxy.pid)
                    writer_before = cpu_seconds(writer) if writer and name in audited else 0.0
                    if name == "paused" and writer:
                        os.kill(writer, signal.SIGSTOP)
                    if name == "idle" and writer:
                        set_writer_idle(writer, True)
                    neighbour = None
                    if name == "burner":
                        neighbour = subprocess.Popen([sys.executable, __file__, "--burn"], stdout=subprocess.PIPE, text=True)
                        if args.split_cores:
                            pin(neighbour.pid, host)
                        neighbour.stdout.readline()  # its start-up is not the turn's
                        neighbour_before = cpu_seconds(neighbour.pid)
                    started = time.monotonic()
                    try:
                        results[name].append(run_turn(proxy, args.clients, args.seconds, (turn * 5 + kinds.index(name)) * 10**7))
                    finally:
                        windows[name].append((started, time.monotonic()))
                        if name == "paused" and writer:
                            os.kill(writer, signal.SIGCONT)
                        if name == "idle" and writer:
                            set_writer_idle(writer, False)
                        if neighbour is not None:
                            writer_cpu[name] += cpu_seconds(neighbour.pid) - neighbour_before
                            neighbour.kill()
                            neighbour.wait()
                    if name in audited:
                        # what the writer had not stored by the end of the turn: whether it keeps up
                        backlog[name].append(journal_pending(work / "journal")[0] / max(1, results[name][-1]["requests"]))
                        drain(work / "journal")  # the writer's work for this turn is counted, and the next turn starts idle
                    spent = group_cpu(proxy.pid) - before
                    cpu[name] += spent
                    per_turn[name].append(1000 * spent / max(1, results[name][-1]["requests"]))
                    stats_after = standin_stats(standin.port)
                    upstream[name][0] += stats_after["connections"] - stats_before["connections"] - 1  # less our own
                    upstream[name][1] += stats_after["requests"] - stats_before["requests"]
                    if writer and name in audited:
                        writer_cpu[name] += cpu_seconds(writer) - writer_before
                    load.append(os.getloadavg()[0])
        finally:
            for name in ("live", "streaming", "bare"):
                proxies[name].stop()
    out: dict = {"loadavg_mean": sum(load) / max(1, len(load))}
    for name in kinds:
        out[name] = summarise(results[name])
        out[name]["cpu_ms_per_call"] = 1000 * cpu[name] / max(1, out[name]["requests"])
        out[name]["writer_cpu_ms_per_call"] = 1000 * writer_cpu[name] / max(1, out[name]["requests"])
        out[name]["proxy_cpu_ms_per_call"] = out[name]["cpu_ms_per_call"] - out[name]["writer_cpu_ms_per_call"]
        if name == "burner":  # its neighbour is no part of the group
            out[name]["proxy_cpu_ms_per_call"] = out[name]["cpu_ms_per_call"]
        out[name]["upstream_connections_per_call"] = upstream[name][0] / max(1, upstream[name][1])
        out[name]["unstored_at_turn_end"] = sum(backlog[name]) / len(backlog[name]) if backlog[name] else 0.0
        if args.lag:
            out[name] |= lag_summary(work / f"lag-{'live' if name in ('paused', 'idle') else name}.json", windows[name])
    # Each rotation runs every setting once within a minute or so: the ratio of its two turns is
    # one sample of the headline, and their spread is what one run's headline can be trusted to.
    out["live"]["cpu_ratio_by_rotation"] = [a / b for a, b in zip(per_turn["live"], per_turn["streaming"])]
    base = out["streaming"]
    for name in kinds:
        s = out[name]
        s |= {"throughput_ratio": s["throughput"] / base["throughput"], "p50_added_ms": s["p50_ms"] - base["p50_ms"],
              "p99_added_ms": s["p99_ms"] - base["p99_ms"], "ttfb_added_ms": s["ttfb_p50_ms"] - base["ttfb_p50_ms"],
              "cpu_ratio": s["cpu_ms_per_call"] / base["cpu_ms_per_call"],
              "proxy_cpu_added_ms": s["proxy_cpu_ms_per_call"] - base["proxy_cpu_ms_per_call"]}
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{args.turns} rotating turns of {args.seconds:.0f} s per setting, {args.clients} clients, 4 KB prompts, "
          f"one call in three streamed; mean load {out['loadavg_mean']:.1f} on {os.cpu_count()} cores")
    print("ratios and added latency are against the streaming baseline")
    print(f"{'':28}{'req/s':>8}{'ratio':>7}{'p50 ms':>8}{'p99 ms':>8}{'+p99':>7}{'p99.9':>8}{'SSE 1st':>9}"
          f"{'CPU ms/call':>12}{'ratio':>7}{'proxy':>7}{'writer':>7}{'errors':>7}")
    labels = {"bare": "bare mitmdump (buffers SSE)", "streaming": "mitmdump streaming SSE", "live": "aiaudit (writer live)",
              "paused": "aiaudit (writer paused)*", "idle": "aiaudit (writer SCHED_IDLE)*",
              "burner": "streaming + neighbour*"}
    for name in kinds:
        s = out[name]
        print(f"{labels[name]:28}{s['throughput']:8.1f}{s['throughput_ratio']:7.3f}{s['p50_ms']:8.2f}{s['p99_ms']:8.2f}"
              f"{s['p99_added_ms']:+7.2f}{s['p999_ms']:8.1f}{s['ttfb_p50_ms']:9.2f}{s['cpu_ms_per_call']:12.3f}"
              f"{s['cpu_ratio']:7.3f}{s['proxy_cpu_ms_per_call']:7.3f}{s['writer_cpu_ms_per_call']:7.3f}{s['errors']:7d}")
    print("CPU ms/call: the whole group from /proc; proxy: the mitmdump process alone; writer: its writer process")
    print(f"upstream connections (TCP+TLS handshakes at the stand-in) per call, stand-in "
          f"{'closing every connection' if args.close_upstream else 'keeping connections alive'}: "
          + ", ".join(f"{labels[name].split(' (')[0]} {out[name]['upstream_connections_per_call']:.3f}"
                      for name in kinds if name in ("bare", "streaming", "live")))
    live = out["live"]
    print(f"headline: aiaudit / streaming mitmdump: CPU per call x{live['cpu_ratio']:.3f} (target <= 1.10), "
          f"throughput {live['throughput_ratio']:.3f} (target >= 0.97), p99 {live['p99_added_ms']:+.2f} ms "
          f"(target <= +5 ms)")
    rotations = live["cpu_ratio_by_rotation"]
    if len(rotations) > 1:
        print("the CPU ratio rotation by rotation (each the two settings' turns in the same minute): "
              + " ".join(f"x{r:.3f}" for r in rotations) + f"; median x{statistics.median(rotations):.3f}")
    print(f"of which the writer process: {live['writer_cpu_ms_per_call']:.2f} ms CPU per call (target <= 0.5 ms); "
          f"the mitmdump process {live['proxy_cpu_added_ms']:+.3f} ms per call over the streaming one (the hooks)")
    for name in kinds:
        if backlog[name]:
            print(f"  {labels[name]:28} left unstored at the end of a turn: {100 * out[name]['unstored_at_turn_end']:.0f} % "
                  "of the turn's calls (the writer drains the rest after it)")
    if args.lag:
        print("event-loop lag inside the turns (bench/loop_lag.py, 5 ms probe; its CPU is in the figures above):")
        for name in kinds:
            s = out[name]
            if "lag_p99_ms" not in s:
                continue
            hooks = ", ".join(f"{hook} {s[f'hook_{hook}_mean_us']:.0f} us, CPU {s[f'hook_{hook}_cpu_us']:.0f} us "
                              f"of which collections {s[f'hook_{hook}_gc_us']:.0f} us (max {s[f'hook_{hook}_max_ms']:.1f} ms)"
                              for hook in ("requestheaders", "responseheaders", "response") if f"hook_{hook}_mean_us" in s)
            print(f"  {labels[name]:28} p99 {s['lag_p99_ms']:.2f} ms, p99.9 {s['lag_p999_ms']:.2f} ms, "
                  f"max {s['lag_max_ms']:.1f} ms, {100 * s['lag_over_5ms']:.2f} % over 5 ms; full GCs {s['gc2_count']} "
                  f"(max {s['gc2_max_ms']:.1f} ms, all {s['gc2_total_ms']:.0f} ms; objects tracked at start/end {s['gc_tracked']}, frozen {s['gc_frozen']})"
                  + (f"; hooks (all turns): {hooks}" if hooks else "")
                  + (f"; collections over the process's life: {s['gc_seconds']:.2f} s, by generation {s['gc_counts']}"
                     if s.get("gc_counts") else ""))
    if args.paused or args.idle_writer:
        print("* diagnostic only: the writer's work is still counted in its CPU (it drains after the turn)")
    if args.burner:
        b = out["burner"]
        print(f"* the neighbour used {b['writer_cpu_ms_per_call']:.2f} ms of CPU per call (its writer column, not in the "
              f"group) and cost the streaming mitmdump {b['proxy_cpu_added_ms']:+.3f} ms per call: what CPU work beside "
              "mitmdump costs it on this machine, whoever does it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
