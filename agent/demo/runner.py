"""`aiaudit demo`: the whole pipeline, for real, on a throwaway store.

A local stand-in vendor, a real mitmdump with the capture addon (and its writer process), the
dataset watcher on a real directory, simulated employees of four teams sending real HTTPS
requests through the proxy, then the rules and the weekly report. Everything started here is
stopped before returning, whatever happens.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from agent.demo import scenario

STEPS = 6


class Demo:
    def __init__(self, out_dir: Path | None, say: Callable[[str], None]) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="aiaudit-demo-"))
        self.out = Path(out_dir) if out_dir else self.work / "reports"
        self.say = say
        self.step = 0
        self.started = time.monotonic()

    def progress(self, text: str) -> None:
        self.step += 1
        self.say(f"[{self.step}/{STEPS}] {text}  ({time.monotonic() - self.started:.0f} s)")

    def config(self) -> Path:
        path = self.work / "aiaudit.yaml"
        path.write_text(
            f"database_url: sqlite:///{self.work / 'audit.db'}\n"
            f"proxy:\n  confdir: {self.work / 'mitmproxy'}\n"
            f"capture:\n  journal_dir: {self.work / 'journal'}\n"
            f"scanner:\n  index_dir: {self.work / 'index'}\n  quiet_seconds: 1\n  rescan_seconds: 5\n"
            f"watch:\n  - path: {self.work / 'datasets'}\n"
            f"report:\n  out_dir: {self.out}\n"
            + scenario.team_config()
        )
        (self.work / "datasets").mkdir()
        return path

    def run(self) -> Path:
        from agent.config import load_config
        from agent.demo.proxy import DemoProxy
        from agent.demo.vendor import DemoVendorServer
        from agent.reuse.outputs import SyncedOutputIndex
        from agent.scan.observer import Root
        from agent.scan.observer import Watcher
        from agent.store.engine import open_store

        config_path = self.config()
        config = load_config(config_path)
        store = open_store(config.database_url)
        self.progress(f"starting a stand-in AI vendor, mitmdump with the aiaudit addon, and the watcher (in {self.work})")
        with DemoVendorServer() as vendor, DemoProxy(config, vendor.port, self.work / "mitmdump.log") as proxy:
            watcher = Watcher(store, SyncedOutputIndex(store, config.index_dir), [Root(config.watch[0].path)],
                              quiet_seconds=config.quiet_seconds, rescan_seconds=config.rescan_seconds,
                              on_line=lambda line: None)
            watching = threading.Thread(target=watcher.run, name="aiaudit-demo-watch", daemon=True)
            watching.start()
            try:
                self._traffic(proxy, store, config)
            finally:
                watcher.stop()
                watching.join(30)
        self.progress("evaluating the rules and writing the weekly report")
        return self._report(store, config)

    def _client(self, proxy):
        from agent.demo.http import ProxyClient

        return lambda user: ProxyClient(proxy.url, proxy.ca_path, user)

    def _traffic(self, proxy, store, config) -> None:
        client = self._client(proxy)
        growth_workers, growth_calls = 4, 60
        traffic = scenario.Traffic(planned=growth_workers * growth_calls + 1 + 24 + 30 + 30 + 6)
        results: dict[str, list] = {}

        def team(name: str, fn, *args) -> threading.Thread:
            def body() -> None:
                results[name] = fn(client, traffic, *args) or []
            t = threading.Thread(target=body, name=f"demo-{name}")
            t.start()
            return t

        self.progress("simulating a week's patterns from four teams through the proxy")
        threads = [team(f"growth-{w}", scenario.growth_analytics, w, growth_calls) for w in range(growth_workers)]
        threads += [team("support", scenario.customer_support, 24), team("ml", scenario.ml_research, 30),
                    team("data", scenario.data_platform, 30), team("other", scenario.unattributed, 6)]
        while any(t.is_alive() for t in threads):
            time.sleep(1)
            self.say(f"      {traffic.done}/{traffic.planned} calls through the proxy")
        for t in threads:
            t.join()
        if traffic.failed:
            self.say(f"      {traffic.failed} calls failed")

        self.progress("waiting for the writer to store every captured call")
        self._wait_stored(config)

        self.progress("ml-research and data-platform save outputs into the watched dataset directory")
        datasets = config.watch[0].path
        finetune = scenario.write_finetune_set(datasets / "ml-research" / "tutor_sft_v3.jsonl", results["ml"])
        scenario.write_corpus(datasets / "data-platform" / "qa_corpus.csv", results["data"])
        scenario.upload_for_finetuning(client, finetune)
        self._wait_stored(config)

        self.progress("the watcher finds the reused outputs")
        self._wait_reuse(store, {"tutor_sft_v3.jsonl", "qa_corpus.csv"})

    def _wait_stored(self, config, timeout: float = 60) -> None:
        from agent.writer.fleet import journal_pending

        deadline = time.monotonic() + timeout
        while journal_pending(config.journal_dir)[0] and time.monotonic() < deadline:
            time.sleep(0.3)

    def _wait_reuse(self, store, names: set[str], timeout: float = 45) -> None:
        from sqlalchemy import select

        from agent.store.models import ReuseFinding

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with store.session() as s:
                paths = {Path(p).name for p in s.scalars(select(ReuseFinding.path).distinct())}
            if names <= paths:
                return
            time.sleep(0.5)
        self.say("      (the watcher did not report every file in time; the report shows what it found)")

    def _report(self, store, config) -> Path:
        from agent.pipeline import weekly_report
        from dashboard.weeks import IsoWeek

        now = dt.datetime.now(dt.timezone.utc)
        path = weekly_report(config, store, IsoWeek.containing(now), self.out, now=now)
        store.dispose()
        return path
