"""Small SQL helpers shared by the repositories: Core statements and dialect-aware upserts."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session


def insert_ignoring_conflict(session: Session, table: Any) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` for the session's dialect (SQLite or PostgreSQL)."""
    dialect = session.get_bind().dialect.name
    insert_for_dialect = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return insert_for_dialect(table).on_conflict_do_nothing()


def core(session: Session, statement: Any, params: dict[str, Any] | list[dict[str, Any]]) -> Any:
    """Run a Core statement with its values as parameters: the statement's compiled form is
    cached and no ORM bookkeeping happens (these run several times for every message)."""
    return session.connection().execute(statement, params)


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
