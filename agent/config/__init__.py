"""Loading `aiaudit.yaml`: where it is looked for, overrides, and the typed result.

Precedence: `--config PATH`, else `AIAUDIT_CONFIG`, else /etc/aiaudit/aiaudit.yaml when it exists,
else built-in defaults. The database URL: `--db`, else `AIAUDIT_DB`, else `database_url`, else a
SQLite file in the user's data directory.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from dataclasses import dataclass
from dataclasses import field
from importlib import resources
from pathlib import Path
from typing import Any

from agent.config import schema
from agent.config import yamlfile
from agent.errors import UserError

SYSTEM_CONFIG = Path("/etc/aiaudit/aiaudit.yaml")


@dataclass(frozen=True)
class Team:
    name: str
    cidrs: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    proxy_users: tuple[str, ...] = ()
    api_key_sha256: tuple[str, ...] = ()


@dataclass(frozen=True)
class WatchDir:
    path: Path | str  # str: an fsspec URL (s3://, gs://, abfs://, hf://)
    poll: bool = False


@dataclass(frozen=True)
class Config:
    source: Path | None
    database_url: str
    store_text: str = "none"
    excerpt_chars: int = 280
    teams: tuple[Team, ...] = ()
    team_header: str | None = None
    watch: tuple[WatchDir, ...] = ()
    rule_paths: tuple[Path, ...] = ()
    index_dir: Path | None = None  # None: the store's own, see agent.reuse.outputs.default_index_dir
    rescan_seconds: int = 300
    quiet_seconds: int = 2
    cluster: str | None = None  # scanner.cluster: a Dask scheduler address (agent.scan.cluster)
    cluster_range_bytes: int = 256 << 20
    cluster_index: str = "upload"
    listen_host: str = "0.0.0.0"
    listen_port: int = 8080
    confdir: Path = Path("~/.mitmproxy").expanduser()
    journal_dir: Path = Path("journal")
    journal_max_bytes: int = 1 << 30
    max_body_bytes: int = 64 << 20
    redact_headers: tuple[str, ...] = ()
    vendors: tuple[dict, ...] = ()
    report_dir: Path = Path("aiaudit-reports")
    report_signing_key: Path | None = None
    report_language: str = "en"
    report_public_key: Path | None = None
    raw_text_days: int = 30
    metadata_days: int = 400
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "aiaudit"


def database_key(url: str) -> str:
    """A short name for the database a URL points to, the same for every spelling of it that
    reaches the same database (a relative or absolute SQLite path, another password)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
        sqlite = parsed.get_backend_name() == "sqlite"
    except (ArgumentError, ValueError):  # not a URL (a bad port...): opening the store says so
        parsed, sqlite, text = None, False, url
    if parsed is not None:
        if sqlite:
            database = parsed.database or ":memory:"
            try:
                where = database if database == ":memory:" else str(Path(database).expanduser().resolve())
            except (OSError, ValueError, RuntimeError):  # a NUL byte, a loop of links
                where = database
            text = f"sqlite:{where}"
        else:
            # who connects where, to which database: not the driver, password or options
            text = (f"{parsed.get_backend_name()}://{parsed.username or ''}@{parsed.host or ''}:"
                    f"{parsed.port or ''}/{parsed.database or ''}")
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def default_journal_dir(url: str) -> Path:
    """capture.journal_dir when it is not set: one journal per database. The proxy needs it
    before its writer has connected (the store may be down when the proxy starts), so it is
    keyed by the URL; the journal itself then records the store it was drained into."""
    return data_home() / "journals" / database_key(url)


def default_database_url() -> str:
    base = data_home()
    base.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{base / 'audit.db'}"


def config_path(explicit: str | os.PathLike | None) -> Path | None:
    if explicit:
        return Path(explicit)
    env = os.environ.get("AIAUDIT_CONFIG")
    if env:
        return Path(env)
    return SYSTEM_CONFIG if SYSTEM_CONFIG.is_file() else None


def load_config(path: str | os.PathLike | None = None, db: str | None = None) -> Config:
    source = config_path(path)
    data = yamlfile.load_file(source) if source else None
    try:
        values = schema.validate(data)
    except schema.ConfigProblem as e:
        where = f"{source}:{e.line}" if source else "(defaults)"
        raise UserError(f"{where}: {e.message}") from e
    return _build(values, source, db)


def load_config_text(text: str, name: str = "<config>", db: str | None = None) -> Config:
    data = yamlfile.load_text(text, name)
    try:
        values = schema.validate(data)
    except schema.ConfigProblem as e:
        raise UserError(f"{name}:{e.line}: {e.message}") from e
    return _build(values, None, db)


def _watch_path(base: Path | None, value: str) -> Path | str:
    """A watched directory, or an object store's URL kept as written (agent.scan.sources)."""
    from agent.config.urls import is_url

    return value if is_url(value) else _relative(base, value)


def _relative(base: Path | None, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() or base is None else (base.parent / p)


def _build(v: dict[str, Any], source: Path | None, db: str | None) -> Config:
    url = db or os.environ.get("AIAUDIT_DB") or v["database_url"] or default_database_url()
    teams = tuple(
        Team(
            name=t["name"],
            cidrs=tuple(ipaddress.ip_network(c) for c in t["cidrs"]),
            proxy_users=tuple(t["proxy_users"]),
            api_key_sha256=tuple(t["api_key_sha256"]),
        )
        for t in v["teams"]
    )
    names = [t.name for t in teams]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UserError(f"{source or '(config)'}: team {dupes[0]!r} is defined twice")
    return Config(
        source=source,
        database_url=url,
        store_text=v["privacy"]["store_text"],
        excerpt_chars=v["privacy"]["excerpt_chars"],
        teams=teams,
        team_header=v["team_header"],
        watch=tuple(WatchDir(_watch_path(source, w["path"]), w["poll"]) for w in v["watch"]),
        rule_paths=tuple(_relative(source, p) for p in v["rules"]["paths"]),
        index_dir=_relative(source, v["scanner"]["index_dir"]) if v["scanner"]["index_dir"] else None,
        rescan_seconds=v["scanner"]["rescan_seconds"],
        quiet_seconds=v["scanner"]["quiet_seconds"],
        cluster=v["scanner"]["cluster"],
        cluster_range_bytes=v["scanner"]["cluster_range_mb"] << 20,
        cluster_index=v["scanner"]["cluster_index"],
        listen_host=v["proxy"]["listen_host"],
        listen_port=v["proxy"]["listen_port"],
        confdir=_relative(source, v["proxy"]["confdir"]),
        journal_dir=(_relative(source, v["capture"]["journal_dir"]) if v["capture"]["journal_dir"]
                     else default_journal_dir(url)),
        journal_max_bytes=v["capture"]["journal_max_bytes"],
        max_body_bytes=v["capture"]["max_body_bytes"],
        redact_headers=tuple(v["capture"]["redact_headers"]),
        vendors=tuple(v["vendors"]),
        report_dir=_relative(source, v["report"]["out_dir"]),
        report_signing_key=_relative(source, v["report"]["signing_key"]) if v["report"]["signing_key"] else None,
        report_language=v["report"]["language"],
        report_public_key=_relative(source, v["report"]["public_key"]) if v["report"]["public_key"] else None,
        raw_text_days=v["retention"]["raw_text_days"],
        metadata_days=v["retention"]["metadata_days"],
        raw=v,
    )


def example_config_text() -> str:
    return resources.files("agent.config").joinpath("aiaudit.example.yaml").read_text(encoding="utf-8")
