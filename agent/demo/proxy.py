"""The demo's proxy: mitmdump started exactly as `aiaudit proxy` starts it (agent.proxy.launch),
plus the demo's route addon sending upstream connections to the local vendor.

`aiaudit proxy` hands its process over to mitmdump; the demo must outlive it, so it runs the same
command as a child in its own process group (the addon's writer process included) and stops the
whole group at the end.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from agent.config import Config
from agent.proxy.launch import mitmdump_command

ROUTE = Path(__file__).resolve().with_name("route.py")
CA_FILE = "mitmproxy-ca-cert.pem"
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class DemoProxy:
    def __init__(self, config: Config, vendor_port: int, log_path: Path) -> None:
        self.config = config
        self.vendor_port = vendor_port
        self.log_path = log_path
        self.port = 0
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ca_path(self) -> Path:
        return self.config.confdir / CA_FILE

    def start(self) -> DemoProxy:
        self.port = free_port()
        # the vendor has a throwaway certificate (--ssl-insecure); lazy connections, so a CONNECT
        # to api.openai.com:443 does not try the internet before the route addon re-targets it
        passthrough = ["-s", str(ROUTE), "--set", f"demo_vendor_port={self.vendor_port}",
                       "--set", "connection_strategy=lazy", "--ssl-insecure", "--set", "proxyauth=any"]
        argv, env = mitmdump_command(self.config, "127.0.0.1", self.port, passthrough)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if self.ca_path.exists() and _accepts(self.port):
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"mitmdump did not start; see {self.log_path}")

    def stop(self, timeout: float = 20) -> None:
        if self.proc is None:
            return
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                continue
            break
        self._wait_group_gone()

    def _wait_group_gone(self, timeout: float = 10) -> None:
        """The writer is mitmdump's child and drains on SIGTERM: wait for it, then kill what is left."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def __enter__(self) -> DemoProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
