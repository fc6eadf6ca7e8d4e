"""The one choke point for secrets: runs in the proxy hook before anything is queued.

`redact_header_fields` and `redact_url` replace every credential with `REDACTED` and hand back at most
one `Credential`: the kind of secret and the hex SHA-256 of it, which is what the configuration
maps to teams (`printf %s "$KEY" | sha256sum`). For bearer tokens and API-key headers the hash is
of the key exactly as sent; for AWS SigV4 (header or presigned query) it is of the access key id.
The raw key never leaves these functions. `scrub_text` removes key-shaped strings from free text
(error messages) before it is logged or stored.

Cost matters: this runs on the proxy's event loop for every AI request, so the common path is a
dict lookup per header and a substring test on the URL.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

REDACTED = "REDACTED"


@dataclass(frozen=True, slots=True)
class Credential:
    kind: str  # "bearer", "x-api-key", "api-key", "x-goog-api-key", "aws-sigv4", "query-key", ...
    sha256: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


# Header name -> credential kind it carries (None: secret, but not a key that identifies a team).
_SECRET_HEADERS: dict[str, str | None] = {
    "authorization": "authorization",
    "proxy-authorization": None,
    "x-api-key": "x-api-key",
    "api-key": "api-key",
    "x-goog-api-key": "x-goog-api-key",
    "x-amz-security-token": None,
    "cookie": None,
    "set-cookie": None,
}
# When several headers carry a key, the vendor key header wins over Authorization.
_KIND_RANK = {"x-api-key": 0, "api-key": 0, "x-goog-api-key": 0, "bearer": 1, "aws-sigv4": 2, "token": 3}

_SIGV4_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)")
_SIGV4_SIGNATURE = re.compile(r"Signature=[0-9a-fA-F]+")


def _redact_authorization(value: str) -> tuple[str, Credential | None]:
    scheme, _, rest = value.strip().partition(" ")
    token = rest.strip()
    lowered = scheme.lower()
    if lowered == "aws4-hmac-sha256":
        match = _SIGV4_CREDENTIAL.search(token)
        credential = Credential("aws-sigv4", _digest(match.group(1))) if match else None
        redacted = _SIGV4_CREDENTIAL.sub(f"Credential={REDACTED}", token)
        redacted = _SIGV4_SIGNATURE.sub(f"Signature={REDACTED}", redacted)
        return f"{scheme} {redacted}", credential
    if lowered == "bearer" and token:
        return f"{scheme} {REDACTED}", Credential("bearer", _digest(token))
    if lowered == "token" and token:  # Gemini Live ephemeral tokens
        return f"{scheme} {REDACTED}", Credential("token", _digest(token))
    if token:
        return f"{scheme} {REDACTED}", None
    return REDACTED, None


def _redact_websocket_protocol(value: str) -> str:
    # Browser clients smuggle keys as subprotocols, e.g. "openai-insecure-api-key.sk-...".
    parts = [p.strip() for p in value.split(",")]
    kept = [p if not ("key" in p.lower() or _KEY_SHAPES.search(p)) else REDACTED for p in parts]
    return ", ".join(kept)


# (lower-case name, value) of a header that carries a key -> what _redact_value makes of it. A
# client sends the same key on every call, and the digest and the parse of a bearer value cost
# more than the rest of the redaction on the proxy's event loop, where the hook's code runs with
# cold caches (bench/hook_cost.py --cold). Only key headers are remembered (a cookie or a
# set-cookie, new on every response, is redacted without a digest, and would only churn), and
# only values of a key's length. The keys are in the proxy's memory anyway (the flows hold them);
# this keeps at most _VALUES_MAX of them, in memory only, and clears itself when full.
_VALUES: dict[tuple[str, str], tuple[str, Credential | None]] = {}
_VALUES_MAX = 1024
_VALUE_CHARS_MAX = 512


def _redact_value(lowered: str, value: str) -> tuple[str, Credential | None]:
    """The value of a header whose (lower-case) name is a secret header or a WebSocket protocol."""
    if _SECRET_HEADERS.get(lowered) is None or len(value) > _VALUE_CHARS_MAX:
        return _redact_value_uncached(lowered, value)
    key = (lowered, value)
    found = _VALUES.get(key)
    if found is None:
        if len(_VALUES) >= _VALUES_MAX:
            _VALUES.clear()
        found = _VALUES[key] = _redact_value_uncached(lowered, value)
    return found


def _redact_value_uncached(lowered: str, value: str) -> tuple[str, Credential | None]:
    if lowered == "sec-websocket-protocol":
        return _redact_websocket_protocol(value), None
    kind = _SECRET_HEADERS[lowered]
    if kind == "authorization":
        return _redact_authorization(value)
    if kind is not None and value.strip():
        return REDACTED, Credential(kind, _digest(value.strip()))
    return REDACTED, None


def _better(found: Credential | None, best: Credential | None) -> Credential | None:
    if found and (best is None or _KIND_RANK[found.kind] < _KIND_RANK[best.kind]):
        return found
    return best


_INSPECTED = frozenset(_SECRET_HEADERS) | {"sec-websocket-protocol"}


# Header names as they arrive (bytes, in the client's spelling) -> (name, lower-case name). Clients
# send the same few dozen names on every call; decoding and lower-casing each of them per call
# was a fifth of the hook's redaction time. Bounded: a client inventing names cannot grow it.
_NAMES: dict[bytes, tuple[str, str]] = {}
_NAMES_MAX = 2048


def _names(raw: bytes) -> tuple[str, str]:
    found = _NAMES.get(raw)
    if found is None:
        if len(_NAMES) >= _NAMES_MAX:
            _NAMES.clear()
        name = raw.decode("latin-1")
        found = _NAMES[raw] = (name, name.lower())
    return found


def redact_header_fields(
    fields: Iterable[tuple[bytes, bytes]], extra_names: frozenset[str] = frozenset()
) -> tuple[tuple[tuple[str, str], ...], Credential | None]:
    """Header fields as mitmproxy holds them (latin-1 bytes pairs) with secret values replaced, and
    the best credential found (for attribution). `extra_names`, in lower case, are further header
    names whose values are dropped. It runs for every call's request and response headers on the
    proxy's event loop, so it is one loop that builds no tuple per field beyond its result (about
    20 us of CPU a call less, with the caches as cold as mitmdump leaves them: bench/hook_cost.py
    --cold)."""
    out: list[tuple[str, str]] = []
    best: Credential | None = None
    names = _NAMES
    for raw_name, raw_value in fields:
        name, lowered = names.get(raw_name) or _names(raw_name)
        value = raw_value.decode("latin-1")
        if lowered in _INSPECTED:
            value, credential = _redact_value(lowered, value)
            best = _better(credential, best)
        elif lowered in extra_names:
            value = REDACTED
        out.append((name, value))
    return tuple(out), best


_SECRET_QUERY_KEYS = frozenset(
    name.lower()
    for name in (
        "key", "api_key", "api-key", "apikey", "X-Amz-Signature", "X-Amz-Credential",
        "X-Amz-Security-Token", "sig", "Signature", "AWSAccessKeyId", "X-Goog-Signature",
        "X-Goog-Credential", "token", "access_token", "code",
    )
)
_QUERY_KEY_KINDS = {"key": "query-key", "api_key": "query-key", "api-key": "query-key", "apikey": "query-key"}


def _strip_userinfo(url: str) -> str:
    scheme_end = url.find("://")
    if scheme_end < 0:
        return url
    authority_start = scheme_end + 3
    authority_end = len(url)
    for stop in "/?#":
        found = url.find(stop, authority_start)
        if found >= 0:
            authority_end = min(authority_end, found)
    at = url.rfind("@", authority_start, authority_end)
    return url if at < 0 else url[:authority_start] + url[at + 1 :]


def redact_url(path_and_query: str) -> tuple[str, Credential | None]:
    """Path (or absolute URL) with secret query values replaced and userinfo stripped."""
    url = _strip_userinfo(path_and_query) if "@" in path_and_query else path_and_query
    base, sep, query = url.partition("?")
    if not sep:
        return url, None
    query, hash_sep, fragment = query.partition("#")
    credential: Credential | None = None
    pairs = query.split("&")
    for i, pair in enumerate(pairs):
        name, eq, value = pair.partition("=")
        lowered = unquote(name).lower()
        if not eq or lowered not in _SECRET_QUERY_KEYS:
            continue
        secret = unquote(value.replace("+", " "))
        if credential is None and secret:
            if lowered in _QUERY_KEY_KINDS:
                credential = Credential("query-key", _digest(secret))
            elif lowered == "x-amz-credential":
                credential = Credential("aws-sigv4", _digest(secret.split("/", 1)[0]))
        pairs[i] = f"{name}={REDACTED}"
    redacted = f"{base}?{'&'.join(pairs)}"
    return (redacted + hash_sep + fragment), credential


_KEY_SHAPES = re.compile(
    r"(?<![A-Za-z0-9_\-])(?:"  # a key starts a token: "task-..." must not look like "sk-..."
    r"sk-ant-[A-Za-z0-9_\-]{8,}"
    r"|sk-or-v1-[A-Za-z0-9]{8,}"
    r"|sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{16,}"
    r"|AIza[0-9A-Za-z_\-]{20,}"
    r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"
    r"|hf_[A-Za-z0-9]{16,}"
    r"|gsk_[A-Za-z0-9]{16,}"
    r"|xai-[A-Za-z0-9]{16,}"
    r"|pplx-[A-Za-z0-9]{16,}"
    r"|ya29\.[0-9A-Za-z_\-]{16,}"
    r"|eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*"  # JWTs (Entra, OAuth)
    r")"
)
# "Bearer x" is always a credential; after "Basic"/"Token" only a long opaque string is, so that
# prose such as "token limitation" survives.
_BEARER_IN_TEXT = re.compile(
    r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=\-]{8,}|\b(basic|token)\s+(?=[A-Za-z0-9._~+/=\-]*\d)[A-Za-z0-9._~+/=\-]{16,}"
)
_QUERY_SECRET_IN_TEXT = re.compile(
    r"(?i)([?&](?:key|api_key|apikey|sig|signature|x-amz-signature|x-amz-credential|"
    r"x-amz-security-token|x-goog-signature|awsaccesskeyid|token|access_token)=)[^&\s\"'#]+"
)


def scrub_text(text: str) -> str:
    """Free text with anything key-shaped replaced by REDACTED."""
    text = _KEY_SHAPES.sub(REDACTED, text)
    text = _BEARER_IN_TEXT.sub(lambda m: f"{m.group(1) or m.group(2)} {REDACTED}", text)
    return _QUERY_SECRET_IN_TEXT.sub(lambda m: m.group(1) + REDACTED, text)
