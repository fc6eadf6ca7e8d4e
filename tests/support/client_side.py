"""Run a test's SDK calls in the SDK clients' own venv, and get back what the client received.

The product under test runs from the venv `./install.sh` made; the vendors' SDKs would change its
pins (h11), so they live in `VENV-clients`. A test writes the client's part as a function and
marks it:

    @client_side
    def chat(proxy, ca, prompt):
        client = clients.openai_client(proxy, ca)
        return client.chat.completions.create(model="gpt-4o-mini", messages=[...])

    result = chat(audit.proxy_url(), audit.proxy.ca_path, prompt)   # runs in .venv-clients
    assert result["choices"][0]["message"]["content"] == expected_text(prompt)

The function's source runs in one long-lived worker process (tests/support/client_worker.py), so
it must be self-contained: it sees `clients` (tests/support/sdk_clients.py), `json` and `plain`,
imports what else it needs, and returns plain data (SDK models come back as dicts, bytes as
bytes). An exception raised there comes back as `ClientError` naming its type and bases.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import select
import subprocess
import sys
import tempfile
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("client_worker.py")
CALL_TIMEOUT = 120.0


def clients_python() -> Path:
    """The clients' interpreter: $AIAUDIT_TEST_CLIENTS_PYTHON, else the venv that
    `./install.sh --dev --clients DIR` recorded in PRODUCT-VENV/aiaudit-clients, else PRODUCT-VENV-clients."""
    configured = os.environ.get("AIAUDIT_TEST_CLIENTS_PYTHON")
    if configured:
        return Path(configured)
    recorded = Path(sys.prefix) / "aiaudit-clients"
    venv = Path(recorded.read_text().strip()) if recorded.is_file() else Path(f"{sys.prefix}-clients")
    return venv / "bin" / "python"


class ClientError(Exception):
    """An exception the client side raised: `type` is e.g. "openai.BadRequestError"."""

    def __init__(self, type: str, bases: list[str], message: str, traceback: str = "") -> None:
        super().__init__(f"{type}: {message}")
        self.type, self.bases, self.message, self.traceback = type, bases, message, traceback
        if traceback:
            self.add_note(f"on the client side:\n{traceback.rstrip()}")

    def is_a(self, name: str) -> bool:
        """Whether the client's exception is (a subclass of) `name`, qualified or not."""
        return any(base == name or base.rsplit(".", 1)[-1] == name for base in self.bases)


def _to_wire(value: Any) -> Any:
    """Arguments as JSON data: bytes as {"__bytes__": base64}, paths as strings."""
    if isinstance(value, (bytes, bytearray)):
        import base64

        return {"__bytes__": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, dict):
        return {str(k): _to_wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_wire(v) for v in value]
    return str(value) if isinstance(value, Path) else value


def _from_wire(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__bytes__"}:
            import base64

            return base64.b64decode(value["__bytes__"])
        return {k: _from_wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_wire(v) for v in value]
    return value


class ClientRunner:
    """One worker process in the clients' venv; calls are serialised, a hung call kills it."""

    def __init__(self, python: Path | None = None) -> None:
        self.python = python or clients_python()
        self.proc: subprocess.Popen[str] | None = None
        self.log = Path(tempfile.gettempdir()) / f"aiaudit-client-worker-{os.getpid()}.log"
        self.lock = threading.Lock()

    def _start(self) -> subprocess.Popen[str]:
        if not self.python.exists():
            raise RuntimeError(f"the SDK clients' venv is missing ({self.python}): run ./install.sh --dev")
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen([str(self.python), "-u", str(WORKER)], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=log, text=True, env=env,
                                         start_new_session=True, cwd=REPO)
        return self.proc

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def call(self, source: str, name: str, args: list[Any], kwargs: dict[str, Any],
             timeout: float = CALL_TIMEOUT, filename: str = "<client_side>") -> Any:
        request = json.dumps({"source": source, "name": name, "args": _to_wire(args),
                              "kwargs": _to_wire(kwargs), "filename": filename})
        with self.lock:
            proc = self.proc if self.proc and self.proc.poll() is None else self._start()
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(request + "\n")
            proc.stdin.flush()
            ready, _, _ = select.select([proc.stdout], [], [], timeout)
            line = proc.stdout.readline() if ready else ""
            if not line:
                self.stop()
                why = f"did not answer within {timeout:.0f} s" if not ready else "exited"
                raise RuntimeError(f"the client worker {why} during {name}(); its log "
                                   f"({self.log}):\n{self._log_tail()}")
        answer = json.loads(line)
        if "error" in answer:
            raise ClientError(**answer["error"])
        return _from_wire(answer["result"])

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 9)
            except ProcessLookupError:
                pass
        self.proc.wait(10)
        self.proc = None


_runner: ClientRunner | None = None


def runner() -> ClientRunner:
    global _runner
    if _runner is None:
        _runner = ClientRunner()
    return _runner


def stop_runner() -> None:
    if _runner is not None:
        _runner.stop()


def _source_of(function: Callable[..., Any]) -> str:
    """The function's own text, without its decorators, ready to run at module level."""
    lines = textwrap.dedent(inspect.getsource(function)).splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith(("def ", "async def ")))
    return "".join(lines[start:])


def client_side(function: Callable[..., Any] | None = None, *, helpers: tuple[Callable[..., Any], ...] = (),
                timeout: float = CALL_TIMEOUT) -> Any:
    """Mark `function` to run in the SDK clients' venv; `helpers` are shipped along with it."""

    def wrap(function: Callable[..., Any]) -> Callable[..., Any]:
        source = "".join(_source_of(f) + "\n\n" for f in (*helpers, function))
        filename = f"<client side of {function.__module__}.{function.__qualname__}>"

        @functools.wraps(function)
        def remote(*args: Any, **kwargs: Any) -> Any:
            return runner().call(source, function.__name__, list(args), kwargs, timeout, filename)

        return remote

    return wrap(function) if function is not None else wrap
