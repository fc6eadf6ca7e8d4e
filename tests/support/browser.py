"""Headless Chromium driven over the DevTools pipe: open a report page, then read what a
reader's browser saw — console messages, every network request, the DOM — or take a
full-page screenshot.

Used by the report's tests (principle 7: a real browser renders the report) and by
`python -m tools.screenshots`. The pipe (`--remote-debugging-pipe`: commands on fd 3,
replies on fd 4, NUL-terminated JSON) needs no port and no extra package. The flags keep
Chromium off the network: no background services, no component updates, no sync.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("AIAUDIT_CHROMIUM", "/usr/bin/chromium")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--mute-audio")


class BrowserError(RuntimeError):
    pass


@dataclass
class PageVisit:
    """What happened while a page loaded."""

    url: str
    title: str = ""
    dom: str = ""
    console: list[dict[str, Any]] = field(default_factory=list)  # console API calls and log entries
    exceptions: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # URLs, the page itself included

    @property
    def errors(self) -> list[str]:
        found = [f"{c.get('level')}: {c.get('text')}" for c in self.console if c.get("level") in ("error", "warning")]
        return found + self.exceptions


class Chromium:
    """One browser process. Use as a context manager."""

    def __init__(self, binary: str = CHROMIUM, timeout: float = 30.0) -> None:
        self.binary = binary
        self.timeout = timeout
        self._next_id = 0
        self._buffer = b""
        self._events: list[dict] = []
        self._target: str | None = None
        self._session: str | None = None

    def __enter__(self) -> "Chromium":
        if not (Path(self.binary).exists() or shutil.which(self.binary)):
            raise BrowserError(f"{self.binary} not found")
        self._profile = tempfile.mkdtemp(prefix="aiaudit-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def child_fds() -> None:  # the pipe protocol wants exactly fd 3 (in) and fd 4 (out)
            a, b = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self._proc = subprocess.Popen(
            [self.binary, *FLAGS, f"--user-data-dir={self._profile}", "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=child_fds, close_fds=False, start_new_session=True,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._send("Browser.close", wait=False)
            self._proc.wait(timeout=10)
        except Exception:
            self._proc.kill()
            self._proc.wait(timeout=10)
        finally:
            for fd in (self._to_browser, self._from_browser):
                try:
                    os.close(fd)
                except OSError:
                    pass
            shutil.rmtree(self._profile, ignore_errors=True)

    # -- protocol ---------------------------------------------------------------------------

    def _send(self, method: str, params: dict | None = None, session: str | None = None, wait: bool = True) -> dict:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        if not wait:
            return {}
        wanted = self._next_id
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            answer = None
            for message in self._read():  # keep every event, even those that came with the reply
                if message.get("id") == wanted:
                    answer = message
                else:
                    self._events.append(message)
            if answer is not None:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                return answer.get("result", {})
        raise BrowserError(f"{method}: no reply within {self.timeout}s")

    def _read(self) -> list[dict]:
        ready, _, _ = select.select([self._from_browser], [], [], self.timeout)
        if not ready:
            raise BrowserError(f"the browser said nothing for {self.timeout}s")
        chunk = os.read(self._from_browser, 1 << 20)
        if not chunk:
            raise BrowserError("the browser closed the DevTools pipe")
        self._buffer += chunk
        *messages, self._buffer = self._buffer.split(b"\0")
        return [json.loads(m) for m in messages if m]

    def _wait_event(self, method: str, session: str) -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if any(e.get("method") == method and e.get("sessionId") == session for e in self._events):
                return
            self._events.extend(self._read())
        raise BrowserError(f"no {method} within {self.timeout}s")

    # -- pages ------------------------------------------------------------------------------

    def _open(self, width: int, height: int, mobile: bool) -> str:
        if self._target:  # one page at a time: a pile of background tabs stops loading
            self._send("Target.closeTarget", {"targetId": self._target})
        target = self._target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self._send(f"{domain}.enable", session=session)
        self._send("Emulation.setDeviceMetricsOverride",
                   {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}, session=session)
        return session

    def visit(self, url: str, width: int = 1280, height: int = 900, mobile: bool = False) -> PageVisit:
        """Load `url`, wait for its load event, and report what the page did."""
        session = self._open(width, height, mobile)
        self._events.clear()
        self._send("Page.navigate", {"url": url}, session=session)
        self._wait_event("Page.loadEventFired", session)
        visit = PageVisit(url=url)
        visit.title = self._evaluate(session, "document.title")
        visit.dom = self._evaluate(session, "document.documentElement.outerHTML")
        self._send("Runtime.evaluate", {"expression": "0"}, session=session)  # flush late events
        for event in self._events:
            if event.get("sessionId") != session:
                continue
            params = event.get("params", {})
            method = event.get("method")
            if method == "Network.requestWillBeSent":
                visit.requests.append(params["request"]["url"])
            elif method == "Runtime.consoleAPICalled":
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                visit.console.append({"level": "error" if params.get("type") == "error" else params.get("type"),
                                      "text": text})
            elif method == "Log.entryAdded":
                entry = params.get("entry", {})
                visit.console.append({"level": entry.get("level"), "text": entry.get("text"),
                                      "source": entry.get("source")})
            elif method == "Runtime.exceptionThrown":
                visit.exceptions.append(json.dumps(params.get("exceptionDetails", {}))[:500])
        self._session = session
        return visit

    def _evaluate(self, session: str, expression: str) -> Any:
        result = self._send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)
        return result.get("result", {}).get("value")

    def evaluate(self, expression: str) -> Any:
        """Evaluate in the page of the last visit (for tests: read the DOM the browser built)."""
        return self._evaluate(self._session, expression)

    def screenshot(self, url: str, path: str | os.PathLike, width: int = 1280, height: int | None = None,
                   mobile: bool = False, top: int = 0) -> Path:
        """A PNG of the page at `width` CSS pixels: the whole page, or `height` pixels from `top`."""
        self.visit(url, width=width, height=height or 900, mobile=mobile)
        session = self._session
        if height is None:
            metrics = self._send("Page.getLayoutMetrics", session=session)
            height = int(metrics["cssContentSize"]["height"]) + 1 - top
        self._send("Emulation.setDeviceMetricsOverride",
                   {"width": width, "height": top + height, "deviceScaleFactor": 1, "mobile": mobile}, session=session)
        data = self._send("Page.captureScreenshot",
                          {"format": "png", "clip": {"x": 0, "y": top, "width": width, "height": height, "scale": 1},
                           "captureBeyondViewport": True}, session=session)["data"]
        out = Path(path)
        out.write_bytes(base64.b64decode(data))
        return out
