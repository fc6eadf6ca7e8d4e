"""The `alerts:` section as typed settings, checked as a whole.

The schema checks each key; what depends on several keys (a webhook needs a URL, a syslog sink a
host) is checked here, naming the sink. Secrets (tokens, and webhook URLs, which are secrets for
Slack and Teams) are read from the environment or a file when a delivery is made, so a rotated
token is picked up without a restart, and they are never kept on the settings object that may
end up in a message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from agent.config.schema import SEVERITIES
from agent.errors import UserError

SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}


class SecretMissing(Exception):
    """A token or URL named by token_env/token_file (url_env/url_file) is not there."""


@dataclass(frozen=True)
class Sink:
    name: str
    type: str
    min_severity: str
    format: str = "json"
    url: str | None = None
    url_env: str | None = None
    url_file: Path | None = None
    token_env: str | None = None
    token_file: Path | None = None
    host: str | None = None
    port: int | None = None
    transport: str = "udp"
    facility: int = 13
    ca_file: Path | None = None
    tls_verify: bool = True
    index: str | None = None
    sourcetype: str = "aiaudit:finding"
    path: Path | None = None
    timeout_seconds: float = 5.0

    def wants(self, severity: str) -> bool:
        return SEVERITY_RANK.get(severity, -1) >= SEVERITY_RANK[self.min_severity]

    def token(self) -> str | None:
        return _secret(self.name, "token", self.token_env, self.token_file)

    def target_url(self) -> str:
        if self.url:
            return self.url
        found = _secret(self.name, "url", self.url_env, self.url_file)
        if not found:
            raise SecretMissing(f"sink {self.name}: no URL")
        return found

    def describe(self) -> str:
        """Where the sink sends, without anything secret: for status and logs."""
        if self.type == "syslog":
            return f"syslog {self.transport}://{self.host}:{self.port}"
        if self.type == "ocsf_file":
            return f"ocsf_file {self.path}"
        if self.url:
            from urllib.parse import urlsplit

            parts = urlsplit(self.url)
            return f"{self.type} {parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}"
        return f"{self.type} (URL from {'$' + self.url_env if self.url_env else self.url_file})"


@dataclass(frozen=True)
class AlertSettings:
    evaluate_minutes: float = 5.0
    retry_seconds: float = 10.0
    retry_max_seconds: float = 900.0
    down_after_attempts: int = 3
    sinks: tuple[Sink, ...] = ()

    def sink(self, name: str) -> Sink | None:
        return next((s for s in self.sinks if s.name == name), None)


def _secret(sink: str, what: str, env: str | None, file: Path | None) -> str | None:
    if env:
        value = os.environ.get(env, "").strip()
        if not value:
            raise SecretMissing(f"sink {sink}: environment variable {env} ({what}) is not set")
        return value
    if file:
        try:
            value = file.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise SecretMissing(f"sink {sink}: cannot read {what} file {file}: {e.strerror or type(e).__name__}") from None
        if not value:
            raise SecretMissing(f"sink {sink}: {what} file {file} is empty")
        return value
    return None


def load_alert_settings(config) -> AlertSettings:
    """From a loaded Config (its validated `raw` values); raises UserError naming the sink."""
    raw = (config.raw or {}).get("alerts") or {}
    if not raw:
        return AlertSettings()
    base = config.source

    def where(i: int, name: str) -> str:
        return f"{base or '(config)'}: alerts.sinks[{i}] ({name})"

    def rel(value: str | None) -> Path | None:
        if not value:
            return None
        p = Path(value).expanduser()
        return p if p.is_absolute() or base is None else base.parent / p

    sinks = []
    for i, s in enumerate(raw.get("sinks") or []):
        kind, name = s["type"], s["name"]
        if name in {x.name for x in sinks}:
            raise UserError(f"{where(i, name)}: sink name {name!r} is used twice")
        urls = [k for k in ("url", "url_env", "url_file") if s.get(k)]
        tokens = [k for k in ("token_env", "token_file") if s.get(k)]
        if len(tokens) > 1:
            raise UserError(f"{where(i, name)}: give token_env or token_file, not both")
        if kind in ("webhook", "splunk_hec"):
            if len(urls) != 1:
                raise UserError(f"{where(i, name)}: a {kind} sink needs exactly one of url, url_env, url_file")
            if s.get("url") and not s["url"].startswith(("http://", "https://")):
                raise UserError(f"{where(i, name)}: url must start with http:// or https://")
        if kind == "splunk_hec" and not tokens:
            raise UserError(f"{where(i, name)}: a splunk_hec sink needs its HEC token from token_env or token_file")
        if kind == "syslog" and not s.get("host"):
            raise UserError(f"{where(i, name)}: a syslog sink needs host")
        if kind == "ocsf_file" and not s.get("path"):
            raise UserError(f"{where(i, name)}: an ocsf_file sink needs path")
        port = s.get("port") or (6514 if s.get("transport") == "tls" else 514)
        sinks.append(Sink(
            name=name, type=kind, min_severity=s.get("min_severity") or raw["min_severity"], format=s["format"],
            url=s.get("url"), url_env=s.get("url_env"), url_file=rel(s.get("url_file")),
            token_env=s.get("token_env"), token_file=rel(s.get("token_file")), host=s.get("host"), port=port,
            transport=s["transport"], facility=s["facility"], ca_file=rel(s.get("ca_file")),
            tls_verify=s["tls_verify"], index=s.get("index"), sourcetype=s["sourcetype"], path=rel(s.get("path")),
            timeout_seconds=s["timeout_seconds"],
        ))
    if raw["retry_max_seconds"] < raw["retry_seconds"]:
        raise UserError(f"{base or '(config)'}: alerts.retry_max_seconds is below alerts.retry_seconds")
    return AlertSettings(evaluate_minutes=raw["evaluate_minutes"], retry_seconds=raw["retry_seconds"],
                         retry_max_seconds=raw["retry_max_seconds"], down_after_attempts=raw["down_after_attempts"],
                         sinks=tuple(sinks))
