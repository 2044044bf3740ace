"""Small SQL helpers shared by the repositories: Core statements and dialect-aware upserts."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

_IGNORING_CONFLICT: dict[tuple[str, Any, Any], Any] = {}


def insert_ignoring_conflict(session: Session, table: Any, *, returning: Any = None) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING [RETURNING returning]`` for the session's dialect
    (SQLite or PostgreSQL). Built once per dialect and table: a statement object that is used
    again keeps its cache key, so running it costs no rebuilding."""
    dialect = session.get_bind().dialect.name
    key = (dialect, table, returning)
    statement = _IGNORING_CONFLICT.get(key)
    if statement is None:
        insert_for_dialect = postgresql_insert if dialect == "postgresql" else sqlite_insert
        statement = insert_for_dialect(table).on_conflict_do_nothing()
        if returning is not None:
            statement = statement.returning(returning)
        _IGNORING_CONFLICT[key] = statement
    return statement


def core(session: Session, statement: Any, params: dict[str, Any] | list[dict[str, Any]]) -> Any:
    """Run a Core statement with its values as parameters: the statement's compiled form is
    cached and no ORM bookkeeping happens (these run several times for every message). Build
    the statement once (a module constant, with ``bindparam`` for what varies) where it runs
    for every message: building it costs more than running it."""
    return session.connection().execute(statement, params)


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
