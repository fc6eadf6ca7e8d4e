"""A plain HTTP client through a proxy that trusts only the proxy's CA, for tests and benchmarks
that send raw requests. httpx is a test tool installed under the production pins."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

DEFAULT_TIMEOUT = 30.0


def ssl_context(ca_path: Path | str) -> ssl.SSLContext:
    """A client context trusting the proxy's CA only."""
    return ssl.create_default_context(cafile=str(ca_path))


def httpx_client(proxy_url: str, ca_path: Path | str, timeout: float = DEFAULT_TIMEOUT,
                 **kwargs: Any) -> Any:
    """Environment proxy settings are ignored: traffic goes to `proxy_url` only."""
    import httpx

    return httpx.Client(proxy=proxy_url, verify=ssl_context(ca_path), timeout=timeout,
                        trust_env=False, **kwargs)
