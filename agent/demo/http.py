"""A plain HTTP client for the demo's simulated employees: the standard library's urllib going
through the proxy with proxy authentication and the proxy's CA, as any script would.

The vendors' SDKs are test dependencies, not product ones; `aiaudit demo` runs on a bare install.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
import uuid
from pathlib import Path


class ProxyClient:
    def __init__(self, proxy_url: str, ca_path: Path, user: str, password: str = "demo") -> None:
        host = proxy_url.split("://", 1)[1]
        proxy = f"http://{user}:{password}@{host}"
        context = ssl.create_default_context(cafile=str(ca_path))
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({"https": proxy, "http": proxy}),
            urllib.request.HTTPSHandler(context=context),
        )

    def request(self, method: str, url: str, body: bytes | None = None, headers: dict | None = None,
                timeout: float = 30) -> tuple[int, bytes]:
        req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        try:
            with self.opener.open(req, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def post_json(self, url: str, payload: dict, headers: dict | None = None) -> tuple[int, dict | bytes]:
        status, data = self.request("POST", url, json.dumps(payload).encode(),
                                    {"content-type": "application/json", **(headers or {})})
        if payload.get("stream"):
            return status, data
        try:
            return status, json.loads(data)
        except ValueError:
            return status, data

    def post_file(self, url: str, fields: dict[str, str], filename: str, content: bytes,
                  headers: dict | None = None) -> tuple[int, dict | bytes]:
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in fields.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                     f"Content-Type: application/jsonl\r\n\r\n".encode() + content + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        status, data = self.request("POST", url, b"".join(parts),
                                    {"content-type": f"multipart/form-data; boundary={boundary}", **(headers or {})})
        try:
            return status, json.loads(data)
        except ValueError:
            return status, data
