"""Opening the store: engine settings per backend, schema migrations, read and write sessions.

SQLite is the single-host default and PostgreSQL the fleet store. On SQLite, WAL lets readers run
beside the one writer, and writers take the lock at BEGIN IMMEDIATE: a deferred transaction that
reads first and writes later can fail with SQLITE_BUSY_SNAPSHOT, which busy_timeout cannot cure.
Python's sqlite3 module issues its own BEGIN, so the driver's transaction handling is switched off
and SQLAlchemy's begin event emits ours.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.exc import NoSuchModuleError
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from agent.errors import UserError

SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_CONNECT_TIMEOUT_S = 5

_migrated: set[str] = set()
_migrate_lock = threading.Lock()


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.url = engine.url
        self.dialect = engine.dialect.name
        self._read = sessionmaker(engine, expire_on_commit=False)
        writer = engine.execution_options(aiaudit_begin="IMMEDIATE") if self.dialect == "sqlite" else engine
        self._write = sessionmaker(writer, expire_on_commit=False)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A read session; closing it ends its transaction without a commit."""
        with self._read() as s:
            yield s

    @contextlib.contextmanager
    def write_session(self) -> Iterator[Session]:
        """A write transaction, committed on a clean exit and rolled back on an exception."""
        with self._write() as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as e:  # ValueError: a port that is not a number
        raise UserError(f"database url {_safe(url)} is not a valid SQLAlchemy URL") from e
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    if backend == "postgresql":
        if parsed.drivername != "postgresql+psycopg":
            raise UserError(f"database url {_safe(url)}: use the postgresql+psycopg:// driver")
        return create_engine(
            parsed,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=5,
            connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S},
        )
    raise UserError(f"database url {_safe(url)}: only sqlite:/// and postgresql+psycopg:// are supported")


def _sqlite_engine(parsed) -> Engine:
    database = parsed.database
    if database and database != ":memory:":
        parent = Path(database).expanduser().parent
        if not parent.is_dir():
            raise UserError(f"database url sqlite:///{database}: directory {parent} does not exist")
    try:
        engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    except NoSuchModuleError as e:  # pragma: no cover - sqlite3 ships with CPython
        raise UserError(str(e)) from e

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        mode = conn.get_execution_options().get("aiaudit_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def open_store(url: str, *, migrate: bool = True) -> Store:
    """Open the store at `url`, applying pending migrations once per process and URL."""
    store = Store(make_engine(url))
    if migrate:
        with _migrate_lock:
            if url not in _migrated:
                from agent.store.migrate import upgrade

                upgrade(store)
                _migrated.add(url)
    return store


def forget_migrated(url: str) -> None:
    """Check the schema again on the next open_store(url): after a failure the database may have
    been replaced (a deleted SQLite file comes back empty, a database dropped and recreated)."""
    with _migrate_lock:
        _migrated.discard(url)


def _safe(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<invalid url>"
