"""The capture addon: recognises AI vendor calls on the egress proxy and journals them.

Hooks do O(1) work on the proxy's event loop: a host list lookup, a stream tee, a redacted
snapshot appended to the local journal. Parsing, fingerprinting and the database belong to the
writer process (agent.writer.drain), which this addon starts and supervises. Nothing here may change or delay a flow: every hook catches its own errors, counts
them, and lets the traffic through untouched.

    mitmdump -s agent/proxy/script.py --set aiaudit_config=/etc/aiaudit/aiaudit.yaml
"""

from __future__ import annotations

import gc
import logging
import os
from pathlib import Path

from mitmproxy import ctx
from mitmproxy import exceptions
from mitmproxy import http

from agent.errors import UserError
from agent.ids import new_id
from agent.proxy.counters import CaptureCounters
from agent.proxy.droplog import record_drop
from agent.proxy.hosts import HostList
from agent.proxy.hosts import HostListError
from agent.proxy.journal import Journal
from agent.proxy.snapshot import STREAM_TYPES
from agent.proxy.snapshot import StreamTee
from agent.proxy.snapshot import field_value
from agent.proxy.snapshot import pretty_host
from agent.proxy.snapshot import snapshot
from agent.proxy.supervisor import WriterSupervisor

log = logging.getLogger(__name__)

ROUTE = "aiaudit.route"
DONE = "aiaudit.recorded"


class AICapture:
    def __init__(self) -> None:
        self.host_list: HostList | None = None
        self.counters = CaptureCounters()
        self.journal: Journal | None = None
        self.writer: WriterSupervisor | None = None
        self.cap = 64 << 20
        self.secret_headers: frozenset[str] = frozenset()
        self.team_header: str | None = None

    def load(self, loader) -> None:
        loader.add_option("aiaudit_config", str, "",
                          "aiaudit configuration file; empty: AIAUDIT_CONFIG or /etc/aiaudit/aiaudit.yaml.")
        loader.add_option("aiaudit_db", str, "", "Database URL; empty: AIAUDIT_DB or the configuration's database_url.")
        loader.add_option("aiaudit_journal_dir", str, "",
                          "Directory of the capture journal; empty: capture.journal_dir of the configuration.")

    def configure(self, updated: set[str]) -> None:
        if not updated & {"aiaudit_config", "aiaudit_db", "aiaudit_journal_dir"}:
            return
        from agent.config import load_config

        try:
            config = load_config(ctx.options.aiaudit_config or None, ctx.options.aiaudit_db or None)
            host_list = HostList.load(list(config.vendors))
        except (UserError, HostListError) as e:
            raise exceptions.OptionsError(f"aiaudit: {e}") from e
        journal_dir = Path(ctx.options.aiaudit_journal_dir or config.journal_dir).expanduser()
        try:
            journal = Journal(journal_dir, config.journal_max_bytes)
        except OSError as e:
            raise exceptions.OptionsError(f"aiaudit: journal directory {journal_dir}: {e.strerror or e}") from e
        self._stop_writer()
        self.host_list, self.journal = host_list, journal
        self.cap = config.max_body_bytes
        self.secret_headers = frozenset(h.lower() for h in config.redact_headers)
        self.team_header = config.team_header
        env = dict(os.environ, AIAUDIT_DB=config.database_url)
        if config.source:
            env["AIAUDIT_CONFIG"] = str(config.source)
        self.writer = WriterSupervisor(journal_dir, env).start()
        log.info("aiaudit: capturing %d vendors; journal %s", len(host_list.vendor_ids()), journal_dir)

    def running(self) -> None:
        # A full garbage collection walks every object the collector tracks, and mitmdump holds
        # some 85,000 from startup (its modules and ours, option tables, the host list) that live
        # as long as the process. Under load such a collection stopped the event loop for 100-200
        # ms several times a minute, the slowest calls of every client (bench/proxy_overhead.py
        # --lag). Frozen, they are left out of every collection; what calls allocate is collected
        # as before.
        gc.freeze()

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        try:
            if self.host_list is None:
                return
            req = flow.request
            route = self.host_list.match(pretty_host(req), req.path, req.method)
            if route is not None:
                flow.metadata[ROUTE] = route
        except Exception:
            self._hook_failed(flow, "requestheaders")

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        try:
            route = flow.metadata.get(ROUTE)
            if route is None or flow.response is None or isinstance(flow.response.stream, StreamTee):
                return
            # Event streams go through a tee so that they reach the client chunk by chunk (and
            # bodies over the cap are not buffered for us). Everything else stays buffered:
            # mitmproxy's streaming path costs a tenth of its throughput on small JSON
            # responses (bench/proxy_overhead.py), and a buffered response reaches the client
            # only after the response hook has journaled it. Another addon's stream transform
            # keeps working; the tee records what the vendor sent.
            existing = flow.response.stream
            length = field_value(flow.response.headers, b"content-length") or ""
            content_type = (field_value(flow.response.headers, b"content-type") or "").lower()
            big = length.isdigit() and int(length) > self.cap
            if not (existing or route.stream or big or any(t in content_type for t in STREAM_TYPES)):
                return
            flow.response.stream = StreamTee(
                self.cap, inner=existing if callable(existing) else None,
                expected_length=int(length) if length.isdigit() and int(length) > 0 else None,
                on_complete=lambda: self._record(flow, None),
            )
        except Exception:
            self._hook_failed(flow, "responseheaders")

    def response(self, flow: http.HTTPFlow) -> None:
        self._record(flow, None)

    def error(self, flow: http.HTTPFlow) -> None:
        if flow.metadata.get(ROUTE) is not None:
            msg = flow.error.msg if flow.error else "connection error"
            self._record(flow, msg)

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        # mitmproxy keeps every WebSocket message of a connection in memory for its whole life
        # (realtime APIs stay open for hours); aiaudit records none of them, so keep only the
        # latest, which is all the next hook needs.
        try:
            messages = flow.websocket.messages if flow.websocket else None
            if messages and len(messages) > 1:
                del messages[:-1]
        except Exception:
            log.exception("aiaudit: websocket_message hook failed; traffic unaffected")

    def _record(self, flow: http.HTTPFlow, error: str | None) -> None:
        try:
            route = flow.metadata.get(ROUTE)
            if route is None or flow.metadata.get(DONE) or self.journal is None:
                return
            flow.metadata[DONE] = True
            parts = snapshot(flow, route, new_id(flow.request.timestamp_start or None), cap=self.cap,
                             extra_secret_headers=self.secret_headers, team_header=self.team_header, error=error)
            if self.journal.append(parts):
                self.counters.live("journaled")
            else:
                self._drop("journal_full")
                log.error("aiaudit: journal full (%d bytes); call to %s dropped", self.journal.size, route.vendor)
        except Exception:
            self._hook_failed(flow, "response")

    def _hook_failed(self, flow: http.HTTPFlow, hook: str) -> None:
        # Fail open: the flow continues untouched. Only a failure while recording loses the call
        # (and is counted); after an earlier hook failed, the response hook still records it.
        if hook == "response":
            self._drop("hook_exception")
        log.exception("aiaudit: %s hook failed for %s; traffic unaffected", hook, flow.request.pretty_host)

    def _drop(self, reason: str) -> None:
        self.counters.drop(reason)
        try:  # the writer process persists it; the proxy never touches the store
            record_drop(self.journal.dir, reason)
        except OSError:
            log.error("aiaudit: could not record a dropped call (%s) in %s", reason, self.journal.dir)

    def done(self) -> None:
        self._stop_writer()

    def _stop_writer(self) -> None:
        if self.writer is not None:
            self.writer.stop()
            self.writer = None
        if self.journal is not None:
            self.journal.close()
