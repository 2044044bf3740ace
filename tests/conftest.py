"""Shared fixtures: a real SQLite file, and the real PostgreSQL when it answers (always in CI)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support import Chat, FakeClock, make_chat

# python-telegram-bot warns about int durations unless this opts in (warnings are errors here).
os.environ.setdefault("PTB_TIMEDELTA", "true")

PG_DSN = os.environ.get("WARTA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI") == "true"


# Every PostgreSQL test makes and drops a schema of its own: thousands of rows in the system
# catalogs per run. Where autovacuum is off (this machine kind's server), they pile up and each
# run is slower than the last, so the suite vacuums them once when it starts (seconds).
CATALOGS = ("pg_attribute", "pg_depend", "pg_class", "pg_type", "pg_constraint", "pg_index")
CATALOGS += ("pg_attrdef", "pg_trigger", "pg_namespace", "pg_sequence", "pg_proc")


def _pg_available() -> str | None:
    try:
        conn = psycopg.connect(PG_DSN, connect_timeout=3, autocommit=True)
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0]
    # Without the right to vacuum them, the catalogs stay as they are: only slower.
    with conn, contextlib.suppress(psycopg.Error):
        conn.execute("VACUUM " + ", ".join(f"pg_catalog.{name}" for name in CATALOGS))
    return None


@pytest.fixture(scope="session")
def pg_problem() -> str | None:
    return _pg_available()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, pg_problem: str | None) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a private schema in the test PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'warta.db'}"
        return
    if pg_problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI: {pg_problem}")
        pytest.skip(f"PostgreSQL not available: {pg_problem}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    dsn = PG_DSN.replace("postgresql://", "postgresql+psycopg://", 1)
    yield f"{dsn}?options=-csearch_path%3D{schema}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'warta.db'}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def chat(db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Chat]:
    chat = make_chat(db_url, tmp_path, clock=clock)
    yield chat
    chat.warta.close()


from tests.fakes.mail_server import mail_server, mail_server_instance  # noqa: E402, F401
