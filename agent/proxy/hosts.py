"""Which hosts and paths are AI vendor APIs, and how to parse them.

The shipped host list is `hosts.yaml`; a site can add entries from its configuration
(`HostList.load(extra=[...])`) with the same shape. Extra entries are matched first: they may
reuse a shipped vendor id to add hosts or routes (an internal gateway for OpenAI, say) or define
a new vendor.

Entry shape::

    id: openai                      # lowercase slug
    hosts: [api.openai.com, "*.openai.azure.com", "<region>-aiplatform.googleapis.com", "re:..."]
    routes:
      - {method: POST, path: /v1/chat/completions, endpoint: chat.completions, family: openai}
      - {use: openai-v1, prefix: /openai/v1}     # a route set from the shipped file

Route fields: `endpoint` (stable operation name), `family` (parser), `kind` (generation |
batch_results | upload | other; default generation), `method` (one or a list; default POST),
`stream` (the path itself asks for a streamed answer), `record` (false for a known route that
returns no model output, such as a batch status poll: it is not recorded, and not reported as
`unknown` either; family and kind are then not needed), and either `path` — a template where
`{name}` is one path segment and `{name:path}` may span segments — or `path_regex` with named
groups. Groups `model` and `deployment` are percent-decoded onto the Route; others go to
`Route.params`.

`match()` runs in the proxy hook for every request: an exact-host dict, then a short list of
compiled host patterns (results cached per host), then the vendor's compiled routes (results
cached per host, path and method, in a bounded dict that empties itself when full).

Matching sees the request as the vendor's server routes it, not as it was spelled: the host in
lower case without a trailing dot or port, the path with repeated slashes merged, dot segments
resolved and percent-encoded characters other than `/` and `%` decoded (`normalise_host`,
`normalise_path`). The flow itself is never changed. A call to a vendor's host on a path no route
knows is still recorded, as endpoint `unknown` (kind other), so a new or oddly spelled endpoint
shows up in reports instead of passing unseen; an entry with `unknown_paths: ignore` (a host that
also serves a website, such as huggingface.co) opts out.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from dataclasses import field
from importlib import resources
from typing import Any
from urllib.parse import unquote

from agent.config.yamlfile import load_text
from agent.errors import UserError

FAMILIES = frozenset(
    {"openai", "anthropic", "google", "bedrock", "cohere", "huggingface", "batches", "uploads", "metadata"}
)
KINDS = frozenset({"generation", "batch_results", "upload", "other"})
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
_ID = re.compile(r"^[a-z0-9][a-z0-9.-]{0,62}$")
_ENTRY_KEYS = {"id", "hosts", "routes", "name", "unknown_paths"}
_ROUTE_KEYS = {"method", "path", "path_regex", "endpoint", "family", "kind", "stream", "record"}
_USE_KEYS = {"use", "prefix"}
_HOST_CACHE_MAX = 4096
_MATCH_CACHE_MAX = 8192
_CACHED_PATH_MAX = 512
UNKNOWN_ENDPOINT = "unknown"
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})?")
# Decoding these would change what the path means: `%2F` is a slash inside one segment (Bedrock
# model ARNs), `%25` a literal percent sign, `%3F` and `%23` are not the query or fragment.
_KEEP_ENCODED = frozenset({0x2F, 0x25, 0x3F, 0x23})


class HostListError(ValueError):
    """The host list (shipped or site-supplied) is invalid; the message names entry and field."""


@dataclass(frozen=True, slots=True)
class Route:
    vendor: str
    endpoint: str
    kind: str
    family: str
    stream: bool = False
    model: str | None = None
    deployment: str | None = None
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _RouteRule:
    methods: frozenset[str]
    pattern: re.Pattern[str]
    endpoint: str
    family: str
    kind: str
    stream: bool
    record: bool = True


_NOT_RECORDED = Route("", "", "other", "metadata")  # a known route that carries no output


@dataclass(frozen=True, slots=True)
class _Vendor:
    id: str
    rules: tuple[_RouteRule, ...]
    position: int  # precedence: extra entries first, then the shipped file's order
    record_unknown: bool = True


def normalise_host(host: str) -> str:
    """The host as DNS resolves it: lower case, no trailing dot, no port."""
    host = host.strip().lower()
    if not host.startswith("[") and host.count(":") == 1:
        name, _, port = host.partition(":")
        if port.isdigit() or not port:
            host = name
    return host.rstrip(".")


def _decode_unreserved(match: re.Match[str]) -> str:
    if match.group(1) is None:  # a stray %: kept as a literal one, so nothing decodes twice
        return "%25"
    byte = int(match.group(1), 16)
    if byte in _KEEP_ENCODED or not 0x20 < byte < 0x7F:
        return "%" + match.group(1).upper()
    return chr(byte)


def _merge_segments(path: str) -> str:
    """Repeated slashes merged and `.`/`..` resolved (RFC 3986 5.2.4, as servers route)."""
    out: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if out:
                out.pop()
            continue
        out.append(segment)
    return "/" + "/".join(out)


def normalise_path(path: str) -> str:
    """The path (query and fragment dropped) as the vendor's router sees it."""
    path = path.split("?", 1)[0].split("#", 1)[0]
    if "%" in path:
        path = _PERCENT.sub(_decode_unreserved, path)
    if "//" in path or "/." in path or not path.startswith("/") or (path.endswith("/") and path != "/"):
        path = _merge_segments(path)
    return path


@functools.lru_cache(maxsize=4096)
def _compile(pattern: str) -> re.Pattern[str]:
    # Several vendors mount the same route sets, and reloads recompile everything; re's own
    # cache (512 entries) is smaller than one host list.
    return re.compile(pattern)


def _template_to_regex(template: str) -> str:
    out: list[str] = []
    pos = 0
    for match in re.finditer(r"\{(\w+)(?::path)?\}", template):
        out.append(re.escape(template[pos : match.start()]))
        spans = match.group(0).endswith(":path}")
        out.append(f"(?P<{match.group(1)}>{'.+?' if spans else '[^/]+?'})")
        pos = match.end()
    out.append(re.escape(template[pos:]))
    return "".join(out)


def _host_regex(pattern: str) -> str:
    if pattern.startswith("re:"):
        return pattern[3:]
    if pattern.startswith("*."):
        return r"(?:[a-z0-9-]+\.)+" + _host_regex(pattern[2:])
    parts = re.split(r"(<\w+>)", pattern)
    return "".join("[a-z0-9-]+" if p.startswith("<") else re.escape(p) for p in parts)


class _EntryErrors:
    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, field_name: str, message: str) -> HostListError:
        return HostListError(f"{self.where}: {field_name}: {message}")


def _compile_route(raw: Any, prefix: str, where: _EntryErrors, label: str) -> _RouteRule:
    if not isinstance(raw, dict):
        raise where.fail(label, "must be a mapping")
    unknown = set(raw) - _ROUTE_KEYS
    if unknown:
        raise where.fail(label, f"unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    endpoint = raw.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        raise where.fail(f"{label}.endpoint", "is required (a non-empty string)")
    record = raw.get("record", True)
    if not isinstance(record, bool):
        raise where.fail(f"{label}.record", "must be true or false")
    family = raw.get("family", None if record else "metadata")
    if not isinstance(family, str) or family not in FAMILIES:
        raise where.fail(f"{label}.family", f"{family!r} is not one of {', '.join(sorted(FAMILIES))}")
    kind = raw.get("kind", "generation" if record else "other")
    if not isinstance(kind, str) or kind not in KINDS:
        raise where.fail(f"{label}.kind", f"{kind!r} is not one of {', '.join(sorted(KINDS))}")
    methods = raw.get("method", "POST")
    methods = [methods] if isinstance(methods, str) else methods
    if not isinstance(methods, list) or not methods or any(str(m).upper() not in METHODS for m in methods):
        raise where.fail(f"{label}.method", f"{raw.get('method')!r} is not an HTTP method or list of them")
    stream = raw.get("stream", False)
    if not isinstance(stream, bool):
        raise where.fail(f"{label}.stream", "must be true or false")
    if ("path" in raw) == ("path_regex" in raw):
        raise where.fail(label, "needs exactly one of path or path_regex")
    try:
        if "path" in raw:
            path = raw["path"]
            if not isinstance(path, str) or not (prefix + path).startswith("/"):
                raise where.fail(f"{label}.path", "must be a string starting with /")
            pattern = _compile(_template_to_regex(prefix + path))
        else:
            pattern = _compile(str(raw["path_regex"]))
    except re.error as exc:
        raise where.fail(f"{label}.path", f"invalid pattern: {exc}") from None
    return _RouteRule(frozenset(str(m).upper() for m in methods), pattern, endpoint, family, kind, stream, record)


def _expand_routes(routes: list[Any], prefix: str, route_sets: dict[str, list[Any]], errors: _EntryErrors,
                   labels: list[str], depth: int = 0) -> list[_RouteRule]:
    """Routes with `use` items replaced by their route set (a set may use another set)."""
    rules: list[_RouteRule] = []
    for route, label in zip(routes, labels):
        if not (isinstance(route, dict) and "use" in route):
            rules.append(_compile_route(route, prefix, errors, label))
            continue
        if set(route) - _USE_KEYS:
            raise errors.fail(label, "a 'use' item takes only 'use' and 'prefix'")
        name = route["use"]
        if not isinstance(name, str) or name not in route_sets:
            raise errors.fail(f"{label}.use", f"unknown route set {name!r}")
        inner = route.get("prefix", "")
        if not isinstance(inner, str):
            raise errors.fail(f"{label}.prefix", "must be a string")
        if depth >= 3:
            raise errors.fail(f"{label}.use", "route sets nest more than 3 deep")
        items = route_sets[name]
        rules += _expand_routes(items, prefix + inner, route_sets, errors,
                                [f"{label} ({name}[{j}])" for j in range(len(items))], depth + 1)
    return rules


def _compile_entry(
    raw: Any, where: str, route_sets: dict[str, list[Any]]
) -> tuple[str, list[str], list[_RouteRule], bool]:
    errors = _EntryErrors(where)
    if not isinstance(raw, dict):
        raise errors.fail("entry", "must be a mapping")
    vendor_id = raw.get("id")
    if not isinstance(vendor_id, str) or not _ID.match(vendor_id):
        raise errors.fail("id", f"{vendor_id!r} must be a lowercase slug such as 'openai'")
    errors.where = f"{where} (id {vendor_id!r})"
    unknown = set(raw) - _ENTRY_KEYS
    if unknown:
        raise errors.fail("entry", f"unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    hosts = raw.get("hosts")
    if not isinstance(hosts, list) or not hosts or not all(isinstance(h, str) and h for h in hosts):
        raise errors.fail("hosts", "must be a non-empty list of host names or patterns")
    unknown_paths = raw.get("unknown_paths", "record")
    if unknown_paths not in ("record", "ignore"):
        raise errors.fail("unknown_paths", f"{unknown_paths!r} is not one of record, ignore")
    routes = raw.get("routes")
    if not isinstance(routes, list) or not routes:
        raise errors.fail("routes", "must be a non-empty list")
    rules = _expand_routes(routes, "", route_sets, errors, [f"routes[{i}]" for i in range(len(routes))])
    for host in hosts:
        try:
            _compile(_host_regex(host.lower()))
        except re.error as exc:
            raise errors.fail("hosts", f"invalid pattern {host!r}: {exc}") from None
    return vendor_id, [h.lower().rstrip(".") for h in hosts], rules, unknown_paths == "record"


@functools.lru_cache(maxsize=4)
def _parse_yaml(text: str, source: str = "hosts.yaml") -> Any:
    # Compiling never mutates the document, so a reload (config change) can reuse the parse.
    # The shared loader: a duplicate key is an error naming both lines, not silently dropped.
    try:
        return load_text(text, source) or {}
    except UserError as e:
        raise HostListError(str(e)) from None


class HostList:
    def __init__(self, entries: list[tuple[str, list[str], list[_RouteRule], bool]]) -> None:
        self._vendor_ids = frozenset(entry[0] for entry in entries)
        self._exact: dict[str, list[_Vendor]] = {}
        self._patterns: list[tuple[re.Pattern[str], _Vendor]] = []
        for position, (vendor_id, hosts, rules, record_unknown) in enumerate(entries):
            vendor = _Vendor(vendor_id, tuple(rules), position, record_unknown)
            for host in hosts:
                if host.startswith(("re:", "*.")) or "<" in host:
                    self._patterns.append((_compile(_host_regex(host)), vendor))
                else:
                    self._exact.setdefault(host, []).append(vendor)
        self._host_cache: dict[str, tuple[_Vendor, ...]] = {}
        self._match_cache: dict[tuple[str, str, str], Route | None] = {}

    @classmethod
    def load(cls, extra: list[dict] | None = None, *, text: str | None = None) -> HostList:
        """Shipped host list (or `text`, for tests) with `extra` entries taking precedence."""
        if text is None:
            text = resources.files("agent.proxy").joinpath("hosts.yaml").read_text("utf-8")
        document = _parse_yaml(text)
        if not isinstance(document, dict) or not isinstance(document.get("vendors"), list):
            raise HostListError("hosts.yaml: top level must be a mapping with a 'vendors' list")
        route_sets = document.get("route_sets") or {}
        if not isinstance(route_sets, dict) or not all(isinstance(v, list) for v in route_sets.values()):
            raise HostListError("hosts.yaml: route_sets must map names to lists of routes")
        if extra is not None and not isinstance(extra, list):
            raise HostListError("extra vendors: must be a list of entries")
        entries = [
            _compile_entry(raw, f"extra vendors[{i}]", route_sets) for i, raw in enumerate(extra or [])
        ]
        entries += [
            _compile_entry(raw, f"hosts.yaml vendors[{i}]", route_sets)
            for i, raw in enumerate(document["vendors"])
        ]
        return cls(entries)

    def vendor_ids(self) -> frozenset[str]:
        return self._vendor_ids

    def _vendors_for(self, host: str) -> tuple[_Vendor, ...]:
        cached = self._host_cache.get(host)
        if cached is not None:
            return cached
        found = list(self._exact.get(host, ()))
        found += [vendor for pattern, vendor in self._patterns if pattern.fullmatch(host)]
        found.sort(key=lambda vendor: vendor.position)
        if len(self._host_cache) >= _HOST_CACHE_MAX:
            self._host_cache.clear()
        result = self._host_cache[host] = tuple(found)
        return result

    def match(self, host: str, path: str, method: str) -> Route | None:
        """The route of a request to a vendor's host (endpoint `unknown` if no route knows the
        path), None for any other host. `host`, `path` and `method` are as the client sent them."""
        host = normalise_host(host)
        vendors = self._vendors_for(host)
        if not vendors:
            return None
        path = path.split("?", 1)[0]
        if len(path) > _CACHED_PATH_MAX:
            return self._match(vendors, path, method.upper())
        # Clients repeat the same few paths; a hit skips normalising and the route regexes.
        key = (host, path, method)
        try:
            return self._match_cache[key]
        except KeyError:
            pass
        if len(self._match_cache) >= _MATCH_CACHE_MAX:
            self._match_cache.clear()
        route = self._match_cache[key] = self._match(vendors, path, method.upper())
        return route

    def _match(self, vendors: tuple[_Vendor, ...], path: str, method: str) -> Route | None:
        view = normalise_path(path)
        route = self._match_rules(vendors, view, method)
        if route is None and "%2F" in view:
            # Some front ends decode an encoded slash before routing; a Bedrock ARN needs it kept,
            # so this reading is only the second choice.
            route = self._match_rules(vendors, _merge_segments(view.replace("%2F", "/")), method)
        if route is not None:
            return None if route is _NOT_RECORDED else route
        owner = next((vendor for vendor in vendors if vendor.record_unknown), None)
        return None if owner is None else Route(owner.id, UNKNOWN_ENDPOINT, "other", "metadata")

    @staticmethod
    def _match_rules(vendors: tuple[_Vendor, ...], path: str, method: str) -> Route | None:
        for vendor in vendors:
            for rule in vendor.rules:
                if method not in rule.methods:
                    continue
                found = rule.pattern.fullmatch(path)
                if found is None:
                    continue
                if not rule.record:
                    return _NOT_RECORDED
                groups = {k: unquote(v) for k, v in found.groupdict().items() if v is not None}
                model = groups.pop("model", None)
                deployment = groups.pop("deployment", None)
                return Route(
                    vendor.id, rule.endpoint, rule.kind, rule.family, rule.stream, model, deployment, groups
                )
        return None
