"""The streaming baseline of bench/proxy_overhead.py: a bare mitmdump that, like aiaudit, passes
event streams through unbuffered (without it mitmdump holds an SSE answer until it is complete)."""


def responseheaders(flow):
    if "text/event-stream" in flow.response.headers.get("content-type", ""):
        flow.response.stream = True
