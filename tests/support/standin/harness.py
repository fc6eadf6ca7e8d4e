"""Process runners: a real `mitmdump` (optionally routed to the stand-in) and a stand-in process.

Every process starts in its own process group and is stopped as a group, so a wrapper cannot
leave a child mitmdump behind. `stop()` waits for a graceful exit because addons flush records
on shutdown; `kill()` is the crash a test may want.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

ROUTE_SCRIPT = Path(__file__).with_name("route.py")
CA_FILE = "mitmproxy-ca-cert.pem"
_START_TIMEOUT = 30.0
_START_ATTEMPTS = 3


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def venv_executable(name: str) -> str:
    """A console script from the venv running this Python (not from PATH)."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class _GroupProcess:
    """A child in its own session/process group, stopped as a group."""

    proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def group_alive(self) -> bool:
        """Whether any process of the group is still there (a test must leave none)."""
        if self.proc is None:
            return False
        try:
            os.killpg(self.proc.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def _signal_group(self, sig: int) -> None:
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, timeout: float = 15) -> int | None:
        """SIGTERM the group and wait for a graceful exit; SIGKILL only after `timeout`."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.proc.wait(5)
        self._signal_group(signal.SIGKILL)  # anything the leader left behind in its group
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL the whole group at once: a crash, no shutdown hooks run."""
        if self.proc is not None:
            self._signal_group(signal.SIGKILL)
            self.proc.wait(5)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


class ProxyProcess(_GroupProcess):
    """A real mitmdump listening on `listen_host:listen_port` (0 = a free port).

    `confdir` holds mitmproxy's CA (`ca_path`) and the log (`log_path`). Upstream certificates
    are not verified (`--ssl-insecure`, for the stand-in's self-signed one), and connections
    upstream are lazy so `CONNECT api.openai.com:443` does not try to reach the internet.
    """

    def __init__(
        self,
        confdir: Path,
        scripts: Sequence[Path | str] = (),
        options: Mapping[str, str] | None = None,
        listen_host: str = "127.0.0.1",
        listen_port: int = 0,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.confdir = Path(confdir)
        self.scripts = [str(s) for s in scripts]
        self.options = dict(options or {})
        self.listen_host = listen_host
        self.listen_port = listen_port
        self.extra_args = list(extra_args)
        self.env = dict(env) if env is not None else None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.listen_host}:{self.port}"

    def url_with_auth(self, user: str, password: str = "secret") -> str:
        return f"http://{user}:{password}@{self.listen_host}:{self.port}"

    @property
    def ca_path(self) -> Path:
        return self.confdir / CA_FILE

    @property
    def log_path(self) -> Path:
        return self.confdir / "mitmdump.log"

    def command(self, port: int) -> list[str]:
        args = [venv_executable("mitmdump"), "--listen-host", self.listen_host,
                "--listen-port", str(port), "--set", f"confdir={self.confdir}",
                "--set", "connection_strategy=lazy", "--ssl-insecure", "--flow-detail", "0"]
        for script in self.scripts:
            args += ["-s", script]
        for key, value in self.options.items():
            args += ["--set", f"{key}={value}"]
        return args + self.extra_args

    def start(self) -> ProxyProcess:
        self.confdir.mkdir(parents=True, exist_ok=True)
        for _ in range(_START_ATTEMPTS):
            # A port picked here can be taken before mitmdump binds it: retry with another.
            port = self.listen_port or free_port(self.listen_host)
            log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    self.command(port), stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=True,
                    env=None if self.env is None else {**os.environ, **self.env})
            if self._wait_ready(port, log_offset):
                self.port = port
                return self
            self.stop(timeout=5)
            if self.listen_port:
                break
        raise RuntimeError(f"mitmdump did not start; see {self.log_path}:\n" + self._log_tail())

    def _quiet(self) -> bool:
        verbosity = self.options.get("termlog_verbosity", "info")
        return bool({"-q", "--quiet"} & set(self.extra_args)) or verbosity in ("warn", "error")

    def _wait_ready(self, port: int, log_offset: int) -> bool:
        """Ready once mitmdump logs that it listens (another process may own a port we probe)
        and its CA file exists; a quiet mitmdump is ready when the port accepts and it lives on."""
        deadline = time.monotonic() + _START_TIMEOUT
        listening = f"listening at {self.listen_host}:{port}".encode()
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            if self.ca_path.exists():
                logged = self._quiet() or listening in self._log_since(log_offset)
                if logged and _accepts(self.listen_host, port):
                    if self._quiet():
                        time.sleep(0.5)  # a port owner that is not us would let ours exit
                    return self.proc.poll() is None
            time.sleep(0.05)
        return False

    def _log_since(self, offset: int) -> bytes:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(offset)
                return log.read()
        except OSError:
            return b""

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self) -> ProxyProcess:
        return self.start()


def standin_proxy(
    confdir: Path,
    standin_port: int,
    scripts: Sequence[Path | str] = (),
    options: Mapping[str, str] | None = None,
    keep_alive: bool = False,
    **kwargs: object,
) -> ProxyProcess:
    """A ProxyProcess that routes every upstream connection to the stand-in on `standin_port`.

    The route addon is loaded first; the given `scripts` (e.g. the capture addon) after it.
    `keep_alive`: the stand-in was started with keep_alive, and mitmproxy should reuse its
    upstream connections (the route addon's `standin_keep_alive`).
    """
    merged = ({"standin_port": str(standin_port)} | ({"standin_keep_alive": "true"} if keep_alive else {})
              | dict(options or {}))
    return ProxyProcess(confdir, [ROUTE_SCRIPT, *scripts], merged,
                        **kwargs)  # type: ignore[arg-type]


class StandinProcess(_GroupProcess):
    """The stand-in in a separate Python process (keeps its threads off the caller's GIL)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, log_path: Path | None = None,
                 env: Mapping[str, str] | None = None, delay_ms: int = 0,
                 keep_alive: bool = False) -> None:
        self.host = host
        self.requested_port = port
        self.delay_ms = delay_ms
        self.keep_alive = keep_alive
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.port = 0

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def start(self) -> StandinProcess:
        project_root = str(Path(__file__).resolve().parents[3])
        env = {**os.environ, **(self.env or {})}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [project_root, env.get("PYTHONPATH")]))
        stderr = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.support.standin", "--host", self.host,
                 "--port", str(self.requested_port), "--delay-ms", str(self.delay_ms),
                 *(["--keep-alive"] if self.keep_alive else [])],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr,
                start_new_session=True, env=env)
        finally:
            if self.log_path:
                stderr.close()  # type: ignore[union-attr]
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # the port, once listening
        if not line.strip().isdigit():
            self.stop(timeout=5)
            raise RuntimeError("stand-in process did not start")
        self.port = int(line)
        return self

    def __enter__(self) -> StandinProcess:
        return self.start()
