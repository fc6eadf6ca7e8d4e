"""The configuration schema as one declarative tree, and the validator that walks it.

Each node carries its help text, so the command reference and a test that every setting is
documented come from the same table. Errors are `file:line: setting: what was expected`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from agent.config.languages import SOURCE_LANGUAGE
from agent.config.languages import report_languages
from agent.config.yamlfile import LineDict


@dataclass(frozen=True)
class Scalar:
    kind: type
    default: Any
    help: str
    choices: tuple = ()
    check: Callable[[Any], Any] | None = None  # returns the normalised value or raises ValueError
    required: bool = False


@dataclass(frozen=True)
class Mapping:
    fields: dict[str, Scalar | Mapping | Sequence]
    help: str = ""


@dataclass(frozen=True)
class Sequence:
    item: Scalar | Mapping
    help: str
    default: tuple = field(default_factory=tuple)


class ConfigProblem(Exception):
    def __init__(self, line: int, setting: str, message: str) -> None:
        super().__init__(message)
        self.line, self.setting, self.message = line, setting, message


def _cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError as e:
        raise ValueError(f"expected an IP network such as 10.20.0.0/16, got {value!r}") from e


def _sha256_hex(value: str) -> str:
    if not re.fullmatch(r"[0-9a-fA-F]{64}", value):
        raise ValueError(f"expected 64 hex characters (sha256 of the key), got {value!r}")
    return value.lower()


def _positive(value: int) -> int:
    if value <= 0:
        raise ValueError(f"expected a positive number, got {value}")
    return value


def _not_negative(value: int) -> int:
    if value < 0:
        raise ValueError(f"expected 0 or more days, got {value}")
    return value


def _port(value: int) -> int:
    if not 0 < value < 65536:
        raise ValueError(f"expected a TCP port 1-65535, got {value}")
    return value


def _positive_number(value: float) -> float:
    if not value > 0 or value != value or value == float("inf"):
        raise ValueError(f"expected a positive number, got {value}")
    return value


def _sink_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", value):
        raise ValueError(f"expected a sink name of letters, digits, '.', '_', '-' (at most 64), got {value!r}")
    return value


def _no_secret_here(value):
    raise ValueError("secrets never go in this file: name an environment variable (token_env) or a file "
                     "(token_file) that holds it")


SEVERITIES = ("informational", "low", "medium", "high", "critical")


def _facility(value: int) -> int:
    if not 0 <= value <= 23:
        raise ValueError(f"expected a syslog facility 0-23, got {value}")
    return value


def _header_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", value):
        raise ValueError(f"expected an HTTP header name, got {value!r}")
    return value


def _key_path(value: str) -> str:
    # a key pasted into the YAML would end up in backups and error messages: only a path is taken
    if "-----BEGIN" in value or "\n" in value:
        raise ValueError("give the path of the key file, not the key itself")
    return value


def _team_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._ -]{0,127}", value) or value == "unattributed":
        raise ValueError(f"expected a team name of letters, digits, '.', '_', '-', space (not 'unattributed'), got {value!r}")
    return value


def _db_url(value: str) -> str:
    if not (value.startswith("sqlite:") or value.startswith("postgresql+psycopg://")):
        raise ValueError("expected sqlite:///PATH or postgresql+psycopg://USER:PASS@HOST/DB")
    return value


SCHEMA = Mapping(
    {
        "database_url": Scalar(str, None, "SQLAlchemy URL of the store: sqlite:///PATH (default: "
                               "~/.local/share/aiaudit/audit.db) or postgresql+psycopg://... for a fleet. "
                               "AIAUDIT_DB and --db override it.", check=_db_url),
        "privacy": Mapping(
            {
                "store_text": Scalar(str, "none", "Raw text kept besides fingerprints: none, excerpt "
                                     "(the first excerpt_chars characters of each output) or full.",
                                     choices=("none", "excerpt", "full")),
                "excerpt_chars": Scalar(int, 280, "Length of the excerpt kept when store_text is excerpt.",
                                        check=_positive),
            },
            "What raw text is kept.",
        ),
        "teams": Sequence(
            Mapping(
                {
                    "name": Scalar(str, None, "Team name shown in reports.", check=_team_name, required=True),
                    "cidrs": Sequence(Scalar(str, None, "", check=_cidr), "Client networks of the team."),
                    "proxy_users": Sequence(Scalar(str, None, ""), "Proxy-auth user names of the team."),
                    "api_key_sha256": Sequence(Scalar(str, None, "", check=_sha256_hex),
                                               "Hex sha256 of the team's vendor API keys."),
                }
            ),
            "Who is who: calls are attributed by API key, then proxy user, then client network, then header.",
        ),
        "team_header": Scalar(str, None, "Request header naming the team (lowest precedence).", check=_header_name),
        "watch": Sequence(
            Mapping(
                {
                    "path": Scalar(str, None, "Dataset directory to watch.", required=True),
                    "poll": Scalar(bool, False, "Poll instead of inotify (network filesystems)."),
                }
            ),
            "Dataset directories for `aiaudit watch`.",
        ),
        "scanner": Mapping(
            {
                "index_dir": Scalar(str, None, "Local fingerprint index of captured outputs, rebuilt from the store "
                                    "when missing, made for another store or for an older state of this one "
                                    "(default: ~/.local/share/aiaudit/stores/STORE_ID/index, one per store)."),
                "rescan_seconds": Scalar(int, 300, "How often `aiaudit watch` walks every watched directory to "
                                         "catch changes whose events were lost.", check=_positive),
                "quiet_seconds": Scalar(int, 2, "How long a file must stay unchanged before the watcher reads it "
                                        "(files closed after writing are read at once).", check=_positive),
                "cluster": Scalar(str, None, "Address of a Dask distributed scheduler (tcp://HOST:8786) that "
                                  "`aiaudit scan` runs on, as with --cluster (needs aiaudit[cluster])."),
                "cluster_range_mb": Scalar(int, 256, "On a cluster, plain JSONL and Parquet files larger than this "
                                           "are split into byte ranges or row groups of about this size.",
                                           check=_positive),
                "cluster_index": Scalar(str, "upload", "How the fingerprint index reaches the workers of a "
                                        "--cluster scan: upload (a copy, once per worker) or shared (they read "
                                        "index_dir at the same path). --workers always shares.",
                                        choices=("upload", "shared")),
            },
            "The dataset scanner and watcher.",
        ),
        "rules": Mapping(
            {
                "paths": Sequence(Scalar(str, None, ""), "Extra rule files or directories, added to the shipped rules."),
            },
            "Rules engine.",
        ),
        "proxy": Mapping(
            {
                "listen_host": Scalar(str, "0.0.0.0", "Address `aiaudit proxy` listens on."),
                "listen_port": Scalar(int, 8080, "Port `aiaudit proxy` listens on.", check=_port),
                "confdir": Scalar(str, "~/.mitmproxy", "mitmproxy confdir holding the interception CA."),
            },
            "The egress proxy.",
        ),
        "capture": Mapping(
            {
                "journal_dir": Scalar(str, None, "Local journal every captured call is written to before the "
                                      "store (default: ~/.local/share/aiaudit/journals/URL_KEY, one per "
                                      "database URL); it is bound to the first store it is drained into."),
                "journal_max_bytes": Scalar(int, 1 << 30, "Cap on the journal's size in bytes; when it is full "
                                            "new calls are dropped, counted and logged (dropped:journal_full).",
                                            check=_positive),
                "max_body_bytes": Scalar(int, 64 << 20, "Largest request or response body kept for parsing "
                                         "(bytes; also the cap after decompression).", check=_positive),
                "redact_headers": Sequence(Scalar(str, None, "", check=_header_name),
                                           "Extra header names whose values are never stored."),
            },
            "The capture addon.",
        ),
        "vendors": Sequence(Mapping({}), "Extra host list entries, same shape as agent/proxy/hosts.yaml."),
        "retention": Mapping(
            {
                "raw_text_days": Scalar(int, 30, "Days raw output text is kept (when privacy.store_text keeps any); "
                                        "0 keeps it forever. Fingerprints stay until metadata expires.",
                                        check=_not_negative),
                "metadata_days": Scalar(int, 400, "Days calls, fingerprints, reuse findings and findings are kept; "
                                        "0 keeps them forever. The evidence chain stays verifiable.",
                                        check=_not_negative),
            },
            "What `aiaudit prune` deletes (the weekly timer runs it).",
        ),
        "report": Mapping(
            {
                "out_dir": Scalar(str, "./aiaudit-reports", "Where `aiaudit report` writes weeks."),
                "language": Scalar(str, SOURCE_LANGUAGE, "Language of the report pages: en, or a language with a "
                                   "catalogue in dashboard/locales (ja). report.json and the CSVs do not change.",
                                   choices=report_languages()),
                "signing_key": Scalar(str, "", "Path of the site's Ed25519 private key (PEM) that signs the "
                                      "chain head each report publishes (and evidence bundles' manifests); empty: reports are not signed. "
                                      "The key itself never goes in this file.", check=_key_path),
                "public_key": Scalar(str, "", "Path of the site's Ed25519 public key (PEM) that `aiaudit verify "
                                     "--against` checks report signatures with; defaults to the public half "
                                     "of signing_key.", check=_key_path),
            },
            "Weekly reports.",
        ),
        "alerts": Mapping(
            {
                "evaluate_minutes": Scalar(float, 5.0, "How often `aiaudit watch` evaluates the rules over the open "
                                           "windows (minutes; fractions allowed).", check=_positive_number),
                "min_severity": Scalar(str, "high", "Default lowest severity a sink is sent.", choices=SEVERITIES),
                "retry_seconds": Scalar(float, 10.0, "First wait before a failed delivery is tried again; it doubles "
                                        "per attempt.", check=_positive_number),
                "retry_max_seconds": Scalar(float, 900.0, "Longest wait between delivery attempts (retries never "
                                            "stop: an alert stays in the outbox until its sink takes it).",
                                            check=_positive_number),
                "down_after_attempts": Scalar(int, 3, "Failed attempts in a row after which `aiaudit status` shows "
                                              "a sink as down.", check=_positive),
                "sinks": Sequence(
                    Mapping(
                        {
                            "name": Scalar(str, None, "Sink name (in status, logs and idempotency keys).",
                                           check=_sink_name, required=True),
                            "type": Scalar(str, None, "webhook, syslog, splunk_hec or ocsf_file.", required=True,
                                           choices=("webhook", "syslog", "splunk_hec", "ocsf_file")),
                            "min_severity": Scalar(str, None, "Lowest severity sent to this sink (default "
                                                   "alerts.min_severity).", choices=SEVERITIES),
                            "url": Scalar(str, None, "webhook, splunk_hec: the URL (a Slack or Teams URL is a "
                                          "secret: use url_env or url_file instead)."),
                            "url_env": Scalar(str, None, "webhook, splunk_hec: environment variable holding the URL."),
                            "url_file": Scalar(str, None, "webhook, splunk_hec: file holding the URL."),
                            "format": Scalar(str, "json", "webhook body: json (the aiaudit alert), slack or teams.",
                                             choices=("json", "slack", "teams")),
                            "token": Scalar(str, None, "Refused: tokens come from token_env or token_file.",
                                            check=_no_secret_here),
                            "token_env": Scalar(str, None, "Environment variable holding the token (webhook: sent "
                                                "as a Bearer token; splunk_hec: the HEC token)."),
                            "token_file": Scalar(str, None, "File holding the token (read at each delivery)."),
                            "host": Scalar(str, None, "syslog: collector host."),
                            "port": Scalar(int, None, "syslog: collector port (default 514, 6514 for tls).",
                                           check=_port),
                            "transport": Scalar(str, "udp", "syslog: udp, tcp or tls (RFC 5424 messages; octet "
                                                "counting on tcp and tls).", choices=("udp", "tcp", "tls")),
                            "facility": Scalar(int, 13, "syslog: facility number 0-23 (13: log audit).",
                                               check=_facility),
                            "ca_file": Scalar(str, None, "syslog tls, webhook, splunk_hec: CA certificates to "
                                              "verify the receiver with (default: the system's)."),
                            "tls_verify": Scalar(bool, True, "Verify the receiver's certificate and name."),
                            "index": Scalar(str, None, "splunk_hec: index to write to (default: the token's)."),
                            "sourcetype": Scalar(str, "aiaudit:finding", "splunk_hec: sourcetype of the events."),
                            "path": Scalar(str, None, "ocsf_file: JSON Lines file the OCSF Detection Findings are "
                                           "appended to."),
                            "timeout_seconds": Scalar(float, 5.0, "Give up one delivery attempt after this long.",
                                                      check=_positive_number),
                        }
                    ),
                    "Where new and escalated findings are sent, through the outbox in the store.",
                ),
            },
            "Timely findings and alert sinks (run by `aiaudit watch`).",
        ),
        "metrics": Mapping(
            {
                "host": Scalar(str, "127.0.0.1", "Address the Prometheus endpoints listen on."),
                "writer_port": Scalar(int, None, "Port of the capture writer's Prometheus endpoint (off when "
                                      "unset).", check=_port),
                "watch_port": Scalar(int, None, "Port of `aiaudit watch`'s Prometheus endpoint (off when unset).",
                                     check=_port),
            },
            "Prometheus exposition (off by default).",
        ),
    }
)

_KIND_NAMES = {str: "a string", int: "an integer", bool: "true or false", float: "a number"}


def validate(data: Any) -> dict[str, Any]:
    """Check `data` against SCHEMA; return plain values with defaults filled in."""
    if data is None:
        data = LineDict()
    if not isinstance(data, dict):
        raise ConfigProblem(getattr(data, "line", 1), "(top level)", "expected a mapping of settings")
    return _mapping(SCHEMA, data, "", getattr(data, "line", 1))


def _mapping(spec: Mapping, data: dict, prefix: str, line: int) -> dict[str, Any]:
    key_lines = getattr(data, "key_lines", {})
    if not spec.fields:  # free-form (validated by its owner, e.g. the host list)
        return dict(data)
    for key in data:
        if key not in spec.fields:
            where = key_lines.get(key, line)
            known = ", ".join(sorted(spec.fields))
            raise ConfigProblem(where, f"{prefix}{key}", f"unknown setting {prefix}{key!s} (expected one of: {known})")
    out: dict[str, Any] = {}
    for key, child in spec.fields.items():
        name = f"{prefix}{key}"
        if key not in data:
            if isinstance(child, Scalar) and child.required:
                raise ConfigProblem(line, name, f"{name} is required")
            out[key] = _default(child)
            continue
        out[key] = _node(child, data[key], name, key_lines.get(key, line))
    return out


def _default(spec):
    if isinstance(spec, Scalar):
        return spec.default
    if isinstance(spec, Sequence):
        return list(spec.default)
    return {k: _default(v) for k, v in spec.fields.items()}


def _node(spec, value, name: str, line: int):
    if isinstance(spec, Mapping):
        if value is None:
            return _default(spec)
        if not isinstance(value, dict):
            raise ConfigProblem(line, name, f"{name}: expected a mapping, got {_describe(value)}")
        return _mapping(spec, value, f"{name}.", getattr(value, "line", line))
    if isinstance(spec, Sequence):
        if value is None:
            return []
        if not isinstance(value, list):
            raise ConfigProblem(line, name, f"{name}: expected a list, got {_describe(value)}")
        item_lines = getattr(value, "item_lines", [line] * len(value))
        return [_node(spec.item, item, f"{name}[{i}]", item_lines[i]) for i, item in enumerate(value)]
    return _scalar(spec, value, name, line)


def _scalar(spec: Scalar, value, name: str, line: int):
    if value is None and not spec.required:
        return spec.default
    ok = isinstance(value, spec.kind) and not (spec.kind is int and isinstance(value, bool))
    if spec.kind is float and isinstance(value, int) and not isinstance(value, bool):
        ok, value = True, float(value)
    if not ok:
        raise ConfigProblem(line, name, f"{name}: expected {_KIND_NAMES[spec.kind]}, got {_describe(value)}")
    if spec.choices and value not in spec.choices:
        raise ConfigProblem(line, name, f"{name}: expected one of {', '.join(spec.choices)}, got {value!r}")
    if spec.check:
        try:
            value = spec.check(value)
        except ValueError as e:
            raise ConfigProblem(line, name, f"{name}: {e}") from e
    return value


def _describe(value) -> str:
    if isinstance(value, bool):
        return f"boolean {value}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def documented_settings() -> list[tuple[str, str]]:
    """(dotted name, help) for every setting, list items written as `teams[].name`."""
    rows: list[tuple[str, str]] = []

    def walk(spec, name: str) -> None:
        if isinstance(spec, Mapping):
            if name and spec.help:
                rows.append((name, spec.help))
            for key, child in spec.fields.items():
                walk(child, f"{name}.{key}" if name else key)
        elif isinstance(spec, Sequence):
            rows.append((name, spec.help))
            if isinstance(spec.item, Mapping):
                for key, child in spec.item.fields.items():
                    walk(child, f"{name}[].{key}")
        else:
            rows.append((name, spec.help))

    walk(SCHEMA, "")
    return rows
