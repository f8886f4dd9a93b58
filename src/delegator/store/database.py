"""Opening the database named by a URL: SQLite by default, PostgreSQL for several replicas.

Everything dialect-specific about connections lives here: the SQLite pragmas (WAL so a command can
read while the service writes, a busy timeout, foreign keys), who emits BEGIN on SQLite, pool
settings for PostgreSQL, and the URL with its password masked for every message.
"""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import StaticPool

from delegator.store.errors import StoreError

BUSY_TIMEOUT_SECONDS: Final = 30.0
CONNECT_TIMEOUT_SECONDS: Final = 10
# A connection option the store sets on transactions that write: SQLite then takes the write lock
# at BEGIN (BEGIN IMMEDIATE), so two writers queue on the busy timeout instead of one failing
# when it upgrades its read lock.
WRITE_OPTION: Final = "delegator_write"

EXPECTED_URLS: Final = (
    "sqlite:///path/to/state.db or postgresql+psycopg://user:password@host:5432/database"
)
_CREDENTIALS = re.compile(r"(://[^:/@?#]*:)[^@/?#]*@")
_PASSWORD_PARAMETER = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)


def mask_url(url: str | URL) -> str:
    """The URL fit for a message or a log: the password, if any, replaced by ``***``, in the
    credentials and in a ``password=`` parameter (libpq takes one), even in a malformed URL."""
    if isinstance(url, URL):
        shown = url.render_as_string(hide_password=True)
    else:
        try:
            shown = sa.make_url(url).render_as_string(hide_password=True)
        except (ArgumentError, ValueError):
            shown = _CREDENTIALS.sub(r"\1***@", url)
    return _PASSWORD_PARAMETER.sub(r"\1***", shown)


def parse_url(url: str) -> URL:
    """The URL, checked: a SQLite file (or memory) or PostgreSQL through psycopg 3.

    ``postgres://`` and ``postgresql://`` (as hosting platforms hand them out) mean psycopg 3,
    the driver delegator installs.
    """
    try:
        parsed = sa.make_url(url)
    except (ArgumentError, ValueError):
        raise StoreError(
            f"the database URL {mask_url(url)!r} is not valid: expected {EXPECTED_URLS}"
        ) from None
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(
            f"the database URL {mask_url(parsed)!r} names {parsed.get_backend_name()!r}: "
            f"delegator keeps its state in SQLite or PostgreSQL; expected {EXPECTED_URLS}"
        )
    return parsed


def is_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def open_engine(url: URL) -> Engine:
    """One engine for the store's lifetime, shared by every thread (its pool is thread-safe)."""
    try:
        if url.get_backend_name() == "sqlite":
            return _sqlite_engine(url)
        return _postgresql_engine(url)
    except ImportError as exc:  # the driver: sqlite3 is Python's own, psycopg comes with an extra
        raise StoreError(
            f"cannot open the database at {mask_url(url)}: {exc}; PostgreSQL needs psycopg: "
            "pip install 'delegator[postgres]'"
        ) from exc
    except (ArgumentError, NoSuchModuleError) as exc:
        raise StoreError(f"cannot open the database at {mask_url(url)}: {exc}") from exc
    except OSError as exc:
        raise StoreError(
            f"cannot create the folder for the database at {mask_url(url)}: {exc}"
        ) from exc


def _sqlite_engine(url: URL) -> Engine:
    memory = is_memory(url)
    if not memory and url.database and not url.database.startswith("file:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {
        "connect_args": {"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False}
    }
    if memory:
        # One connection shared by all threads; the store serialises its transactions on it.
        options["poolclass"] = StaticPool
    engine = sa.create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling would autocommit DDL and BEGIN lazily; the
        # store emits BEGIN itself (below), so migrations are atomic and writers take the lock.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not memory:
                _use_wal(cursor)
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _use_wal(cursor: Any) -> None:
    """Switch a new database file to WAL once. The switch needs the file to itself and SQLite
    does not wait for it (busy_timeout does not apply), so replicas opening a new database at the
    same moment retry for a while instead of failing with "database is locked"."""
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        mode = cursor.execute("PRAGMA journal_mode").fetchone()
        if mode is not None and str(mode[0]).lower() == "wal":
            return
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _postgresql_engine(url: URL) -> Engine:
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    return sa.create_engine(
        url,
        pool_pre_ping=True,  # a replica outlives server restarts and idle-connection reaping
        pool_size=5,
        max_overflow=10,
        connect_args=connect_args,
    )


def describe(exc: BaseException) -> str:
    """What the database said, without SQLAlchemy's statement and parameters (task names, long
    SQL) that would bury it."""
    original = getattr(exc, "orig", None)
    text = str(original if original is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
