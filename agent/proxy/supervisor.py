"""Runs the writer process beside mitmdump and keeps it running.

A thread waits on the child (blocked in `wait`, so it costs the event loop nothing) and starts it
again after a pause if it dies; on shutdown the child gets SIGTERM and time to drain the journal.
The child is told how often it was restarted, and says so in its heartbeats.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

log = logging.getLogger(__name__)

RESTART_PAUSE_S = 1.0
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


class WriterSupervisor:
    def __init__(self, journal_dir: Path, env: dict[str, str], drain_timeout: float = 20.0) -> None:
        self.journal_dir = journal_dir
        self.env = env
        self.drain_timeout = drain_timeout
        self.proc: subprocess.Popen | None = None
        self.restarts = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="aiaudit-writer-supervisor", daemon=True)

    def start(self) -> WriterSupervisor:
        self._spawn()
        self._thread.start()
        return self

    def _spawn(self) -> None:
        # The writer lowers itself to nice 19 (agent.writer.drain). SCHED_IDLE was measured as the
        # alternative (bench/proxy_overhead.py --idle-writer, rotating turns, 2 shared cores): p99
        # against the streaming mitmdump +7.8 against +6.5 ms at nice 19 (load 1.8), -0.8 against
        # +5.3 (load 2.5), +5.0 against +4.8 (load 4.3): no gain beyond the noise; and on saturated
        # cores the writer stored less during the turns (86 % of their calls left for afterwards
        # against 66 %), so it would fall behind sooner under sustained load. Not adopted.
        argv = [sys.executable, "-m", "agent.writer.drain", "--journal", str(self.journal_dir),
                "--parent", str(os.getpid()), "--restarts", str(self.restarts)]
        # The child starts with SIGTERM and SIGINT blocked, and unblocks them once its handlers are
        # in place: a stop that arrives while it is still importing (a service manager signals the
        # whole group) then waits for it and drains the journal, instead of killing it outright.
        # The mask is this thread's, inherited across fork and exec, and restored at once.
        old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            self.proc = subprocess.Popen(argv, env=self.env, stdin=subprocess.DEVNULL)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def _watch(self) -> None:
        while not self._stopping.is_set():
            code = self.proc.wait()
            if self._stopping.is_set():
                return
            self.restarts += 1
            log.error("aiaudit: the writer process exited with %s; restarting it", code)
            while not self._stopping.wait(RESTART_PAUSE_S):
                try:
                    self._spawn()
                    break
                except OSError as e:  # the journal keeps the calls meanwhile; keep trying
                    log.error("aiaudit: cannot start the writer process (%s); retrying", e)

    def stop(self) -> None:
        self._stopping.set()
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(self.drain_timeout + 10)
        except subprocess.TimeoutExpired:
            log.error("aiaudit: the writer did not stop in time; killed (the journal keeps its calls)")
            proc.kill()
            proc.wait()
