"""Bench probe loaded into a mitmdump (`-s bench/loop_lag.py`): how late its event loop runs.

A task asks to wake every `loop_lag_interval_ms` and records how much later than asked it woke:
the time the loop was busy with something else (a hook, a TLS handshake, a garbage collection)
or the process was not on a core. When the capture addon is loaded too, its hooks are timed one
by one (wall time, and the event-loop thread's CPU time, which leaves out time off the core but
not collections the hook's allocations set off: their time inside each hook is noted apart, and every collection's time is summed), so a stall of ours shows up by name; full garbage collections are timed as well. Lags
and collections carry their time (time.monotonic, the same clock in every process) so that the
bench can keep those inside its turns. On shutdown the figures go, as JSON, to the file named by
AIAUDIT_LOOP_LAG (bench/proxy_overhead.py --lag reads them).

The probe wakes 200 times a second, which costs CPU of its own: turns measured with it are for
latency, not for CPU per call.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import time

from mitmproxy import ctx

_HOOKS = ("requestheaders", "responseheaders", "response")


class LoopLag:
    def __init__(self) -> None:
        self.lags: list[tuple[float, float]] = []
        self.hooks: dict[str, list[float]] = {name: [] for name in _HOOKS}
        self.hook_cpu: dict[str, float] = {name: 0.0 for name in _HOOKS}
        self.gc_pauses: list[tuple[float, float]] = []
        self._gc_started = 0.0
        self.gc_seconds = 0.0  # every collection, of any generation
        self.gc_counts = [0, 0, 0]
        self.hook_gc: dict[str, float] = {name: 0.0 for name in _HOOKS}  # collections inside a hook
        self._task: asyncio.Task | None = None
        self.tracked_at_start = 0

    def load(self, loader) -> None:
        loader.add_option("loop_lag_interval_ms", float, 5.0, "How often the lag probe asks to wake.")

    def running(self) -> None:
        self.tracked_at_start = len(gc.get_objects())
        self._task = asyncio.get_running_loop().create_task(self._probe(ctx.options.loop_lag_interval_ms / 1000))
        gc.callbacks.append(self._on_gc)
        capture = ctx.master.addons.get("aicapture")
        if capture is not None:
            for name in _HOOKS:
                setattr(capture, name, self._timed(name, getattr(capture, name)))

    def _on_gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            took = time.perf_counter() - self._gc_started
            self.gc_seconds += took
            self.gc_counts[info.get("generation", 0)] += 1
            if info.get("generation") == 2:
                self.gc_pauses.append((time.monotonic(), took))

    def _timed(self, name: str, hook):
        into, cpu, in_gc = self.hooks[name], self.hook_cpu, self.hook_gc

        def timed(flow) -> None:
            started, cpu_started, gc_started = time.perf_counter(), time.thread_time(), self.gc_seconds
            try:
                hook(flow)
            finally:
                into.append(time.perf_counter() - started)
                cpu[name] += time.thread_time() - cpu_started
                in_gc[name] += self.gc_seconds - gc_started

        return timed

    async def _probe(self, interval: float) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time() + interval
            await asyncio.sleep(interval)
            woke = loop.time()
            self.lags.append((woke, max(0.0, woke - asked)))

    def done(self) -> None:
        if self._task is not None:
            self._task.cancel()
        path = os.environ.get("AIAUDIT_LOOP_LAG")
        if path:
            with open(path, "w") as f:
                json.dump({"lags": self.lags, "gc2": self.gc_pauses, "frozen": gc.get_freeze_count(),
                           "tracked": [self.tracked_at_start, len(gc.get_objects())],
                           "hooks": {name: sorted(values)[-200:] + [sum(values), len(values)]
                                     for name, values in self.hooks.items()},
                           "hook_cpu": self.hook_cpu, "hook_gc": self.hook_gc,
                           "gc_seconds": self.gc_seconds, "gc_counts": self.gc_counts}, f)


addons = [LoopLag()]
