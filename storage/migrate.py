"""Schema migrations with Alembic: upgrade to head, or tell the operator what to do."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaError(RuntimeError):
    """The database schema is not the one this Warta needs; the message says what to do."""


def alembic_config(db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return config


def head_revision() -> str:
    script = ScriptDirectory(str(MIGRATIONS))
    head = script.get_current_head()
    assert head is not None, "no migrations shipped"
    return head


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (all shipped migrations by default)."""
    config = alembic_config(db)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def ensure_schema(db: Database, *, auto_upgrade: bool) -> None:
    """Upgrade an old or empty schema when allowed; otherwise refuse with a clear message."""
    current, head = current_revision(db), head_revision()
    if current == head:
        return
    known = {rev.revision for rev in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}
    if current is not None and current not in known:
        raise SchemaError(
            f"the database schema ({current}) is newer than this Warta knows ({head}); "
            "install the newer Warta that wrote it"
        )
    if not auto_upgrade:
        raise SchemaError(
            f"the database schema is at {current or 'empty'}, Warta needs {head}: "
            "run 'warta db upgrade' first"
        )
    upgrade(db)
