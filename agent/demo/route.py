"""mitmproxy addon for `aiaudit demo`: send every upstream connection to the demo's local vendor.

Loaded next to the capture addon with `aiaudit proxy ... -- -s agent/demo/route.py --set
demo_vendor_port=PORT`. Only the TCP destination changes: host, path, headers and SNI stay what
the client sent, so the capture addon sees `api.openai.com` as it would in production. Loaded as a
script (mitmproxy puts its folder on sys.path), so it imports nothing from the project.
"""

from __future__ import annotations

from mitmproxy import ctx
from mitmproxy import http
from mitmproxy.proxy import server_hooks


class RouteToDemoVendor:
    def load(self, loader) -> None:
        loader.add_option("demo_vendor_port", int, 0, "Port of the demo vendor on 127.0.0.1; 0 routes nothing.")

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        if ctx.options.demo_vendor_port:
            data.server.address = ("127.0.0.1", ctx.options.demo_vendor_port)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        # the vendor closes each upstream connection; the client's connection to the proxy stays
        if flow.response is not None and ctx.options.demo_vendor_port:
            flow.response.headers.pop("connection", None)


addons = [RouteToDemoVendor()]
