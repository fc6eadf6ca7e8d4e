"""mitmproxy addon: send every upstream connection to the local stand-in vendor.

    mitmdump -s tests/support/standin/route.py --set standin_port=PORT --set connection_strategy=lazy \
        --ssl-insecure

The request keeps the host, path, headers and SNI the client sent (so other addons still see
`api.openai.com`); only the TCP destination changes. By default the destination is changed in
`server_connect`, and mitmproxy never reuses such a connection (its address no longer equals the
next request's host and port): one upstream connection per call, as the stand-in closes each one.
With `standin_keep_alive` (for a stand-in started with keep_alive, as the benchmarks do) the
request itself is re-targeted in the `request` hook, so that mitmproxy reuses the upstream
connection for the client connection's next call as it does with a real vendor, which spares the
per-call TCP and TLS handshake; the request's own host and port are put back before the response
reaches other addons. Streamed vendor replies (SSE, AWS event
stream, NDJSON) are passed through chunk by chunk unless another addon already set
`flow.response.stream` (e.g. to a tee function). This file imports nothing from the project: it
is loaded as a script, and mitmproxy puts its directory on sys.path.
"""

from __future__ import annotations

import logging
import re

from mitmproxy import ctx
from mitmproxy import http
from mitmproxy.proxy import server_hooks

_STREAMED_TYPES = ("text/event-stream", "application/vnd.amazon.eventstream",
                   "application/stream+json", "application/x-ndjson")
_STREAM_TRUE = re.compile(rb'"stream"\s*:\s*true')
_ORIGIN = "standin.origin"  # flow.metadata: (host, port) the request had before re-targeting


def _is_event_stream(flow: http.HTTPFlow) -> bool:
    """An answer sent event by event: by content type, or a streaming request answered chunked
    (Gemini's incremental JSON array has a plain JSON content type)."""
    assert flow.response is not None
    if flow.response.headers.get("content-type", "").startswith(_STREAMED_TYPES):
        return True
    if ":streamGenerateContent" in flow.request.path:
        return True
    chunked = "chunked" in flow.response.headers.get("transfer-encoding", "")
    return chunked and bool(_STREAM_TRUE.search(flow.request.raw_content or b""))


def _restore_origin(flow: http.HTTPFlow) -> None:
    """Give the request back the host and port the client asked for (the route addon is loaded
    first, so later addons' response and error hooks see them)."""
    origin = flow.metadata.pop(_ORIGIN, None)
    if origin is not None:
        flow.request.data.host, flow.request.data.port = origin


class RouteToStandin:
    def load(self, loader) -> None:
        loader.add_option("standin_port", int, 0,
                          "Port of the stand-in vendor on standin_host; 0 leaves routing alone.")
        loader.add_option("standin_host", str, "127.0.0.1", "Host of the stand-in vendor.")
        loader.add_option("standin_keep_alive", bool, False,
                          "The stand-in keeps connections alive: route so that mitmproxy reuses them.")
        loader.add_option("standin_stream", bool, True,
                          "Stream event-stream replies through instead of buffering them.")

    def request(self, flow: http.HTTPFlow) -> None:
        if not (ctx.options.standin_port and ctx.options.standin_keep_alive) or flow.response is not None:
            return
        req = flow.request
        target = (ctx.options.standin_host, ctx.options.standin_port)
        if (req.host, req.port) != target:
            flow.metadata[_ORIGIN] = (req.host, req.port)
            # `data`, not the `host` property: that one rewrites the Host header too
            req.data.host, req.data.port = target

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        if not ctx.options.standin_port:
            return
        target = (ctx.options.standin_host, ctx.options.standin_port)
        if data.server.address != target:
            # opened before a request hook ran (a streamed request body, an eager connection
            # strategy): re-target the connection itself, which mitmproxy then cannot reuse
            data.server.address = target
        elif data.client.sni:
            data.server.sni = data.client.sni  # mitmproxy would send the stand-in's IP as SNI

    def error(self, flow: http.HTTPFlow) -> None:
        _restore_origin(flow)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        _restore_origin(flow)
        if flow.response is None:
            return
        if (ctx.options.standin_port and not ctx.options.standin_keep_alive
                and flow.response.headers.get("connection") == "close"):
            # The stand-in closes every upstream connection; that is no reason to make the client
            # reconnect and redo TLS with the proxy. (mitmproxy then believes the upstream
            # connection stays open, harmless only because it never reuses a connection
            # re-targeted in server_connect; with standin_keep_alive it would, and fail.)
            del flow.response.headers["connection"]
        if ctx.options.standin_stream and not flow.response.stream and _is_event_stream(flow):
            flow.response.stream = True

    def running(self) -> None:
        if ctx.options.standin_port:
            logging.info("routing upstream connections to %s:%d", ctx.options.standin_host,
                         ctx.options.standin_port)


addons = [RouteToStandin()]
