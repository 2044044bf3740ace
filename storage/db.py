"""Engine set-up and the unit of work: SQLite (WAL, busy timeout, immediate writes) or PG."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlmodel import Session

SQLITE_BUSY_TIMEOUT_MS = 30_000
OUTBOX_WRITTEN = "warta.outbox_written"
"""Set in a session's ``info`` by whatever queues an outbox item in its transaction."""
SQLITE_SYNCHRONOUS = "FULL"
"""A message Warta has answered must survive a power cut. In WAL mode NORMAL syncs only at
checkpoints, so the last commits (and the replies already sent for them) can vanish when the
power goes; FULL syncs the WAL at every commit, before the reply leaves the outbox. The cost
is measured by bench/durability.py."""


def normalise_url(url: str) -> URL:
    """Accept the URLs operators write (``postgres://``, ``postgresql://``) and pick our drivers."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str) -> Engine:
    """Build the engine for ``url``; SQLite files get WAL, a busy timeout and foreign keys."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    return create_engine(parsed, pool_pre_ping=True)


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so that every transaction can begin
        # IMMEDIATE: a writer then waits for the lock (busy timeout) instead of failing with
        # "database is locked" when it upgrades a read lock mid-transaction.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA synchronous={SQLITE_SYNCHRONOUS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Database:
    """One engine and the unit of work around it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.after_outbox_commit: list[Callable[[], None]] = []
        """Called after a transaction that queued outbox items commits (the dispatcher wakes)."""

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on error."""
        with Session(self.engine, expire_on_commit=False) as session:
            with session.begin():
                yield session
            if session.info.pop(OUTBOX_WRITTEN, False):
                for listener in self.after_outbox_commit:
                    listener()

    def dispose(self) -> None:
        self.engine.dispose()
