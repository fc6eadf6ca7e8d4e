"""Soak: steady mixed traffic through the audited proxy for a set time, memory sampled.

Not part of CI. Drives JSON, SSE, large and compressed responses through mitmdump with the
capture addon against the stand-in, samples the resident memory of mitmdump and of its writer
process every few seconds, and says whether memory stayed flat (the slope of the second half
of the run against its level).

    python bench/soak.py [--minutes 10] [--clients 4] [--sample-seconds 5]
"""

from __future__ import annotations

import argparse
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
CHAT = "https://api.openai.com/v1/chat/completions"
MESSAGES = "https://api.anthropic.com/v1/messages"


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def traffic(proxy, stop: threading.Event, counts: dict, n: int, reconnect_every: int = 0) -> None:
    client = httpx_client(proxy.url, proxy.ca_path, timeout=60)
    i = 0
    while not stop.is_set():
        i += 1
        if reconnect_every and i % reconnect_every == 0:  # clients' pools do close connections
            client.close()
            client = httpx_client(proxy.url, proxy.ca_path, timeout=60)
        kind = i % 5
        headers = {"authorization": "Bearer sk-soak"}
        try:
            if kind == 0:
                client.post(MESSAGES, json={"model": "claude-x", "max_tokens": 64, "stream": True,
                                            "messages": [{"role": "user", "content": f"soak {n} {i}"}]},
                            headers=headers | {"anthropic-version": "2023-06-01"})
            else:
                body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"soak {n} {i}"}],
                        "stream": kind in (1, 2)}
                if kind == 3:
                    headers["x-standin-mode"] = "gzip"
                client.post(CHAT, json=body, headers=headers)
            counts["ok"] = counts.get("ok", 0) + 1
        except Exception:
            counts["errors"] = counts.get("errors", 0) + 1
    client.close()


def slope_per_hour(samples: list[tuple[float, int]]) -> float:
    """Least-squares slope of KiB against hours."""
    if len(samples) < 3:
        return 0.0
    xs = [t / 3600 for t, _ in samples]
    ys = [float(v) for _, v in samples]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs) or 1.0
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--sample-seconds", type=float, default=5.0)
    parser.add_argument("--bare", action="store_true", help="mitmdump without the addon, for comparison")
    parser.add_argument("--reconnect-every", type=int, default=200,
                        help="requests per client connection (0: one connection for the whole run)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="aiaudit-soak-"))
    config = work / "aiaudit.yaml"
    config.write_text(f"database_url: sqlite:///{work / 'audit.db'}\ncapture:\n  journal_dir: {work / 'journal'}\n")
    env = {"AIAUDIT_CONFIG": str(config), "PYTHONPATH": str(REPO)}
    stop = threading.Event()
    counts: dict[str, int] = {}
    samples: list[tuple[float, int, int]] = []
    with StandinProcess() as standin:
        scripts = [] if args.bare else [CAPTURE]
        with standin_proxy(work / "mitmproxy", standin.port, scripts=scripts, env=env) as proxy:
            threads = [threading.Thread(target=traffic, args=(proxy, stop, counts, n, args.reconnect_every))
                       for n in range(args.clients)]
            for t in threads:
                t.start()
            t0 = time.monotonic()
            end = t0 + args.minutes * 60
            try:
                while time.monotonic() < end:
                    time.sleep(args.sample_seconds)
                    writer = next(iter(children(proxy.pid)), 0)
                    samples.append((time.monotonic() - t0, rss_kib(proxy.pid), rss_kib(writer)))
                    print(f"{samples[-1][0]:7.0f} s  mitmdump {samples[-1][1] / 1024:7.1f} MiB  "
                          f"writer {samples[-1][2] / 1024:7.1f} MiB  requests {counts.get('ok', 0)}", flush=True)
            finally:
                stop.set()
                for t in threads:
                    t.join()
    half = samples[len(samples) // 2:]
    for name, col in (("mitmdump", 1), ("writer", 2))[: 1 if args.bare else 2]:
        series = [(sample[0], sample[col]) for sample in half]
        level = sum(v for _, v in series) / max(1, len(series))
        slope = slope_per_hour(series)
        flat = slope < 0.05 * level  # growing by less than 5 % of its level per hour (or shrinking)
        print(f"{name}: {level / 1024:.1f} MiB in the second half, slope {slope / 1024:+.1f} MiB/h -> "
              f"{'flat' if flat else 'GROWING'}")
    print(f"requests {counts.get('ok', 0)}, errors {counts.get('errors', 0)}, "
          f"{counts.get('ok', 0) / (args.minutes * 60):.1f} req/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
