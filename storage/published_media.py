"""Which photos each publish target already has (``published_media``), so none is uploaded
twice: the database side of :class:`publishers.base.UploadMemory`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import select

from storage.db import Database
from storage.models import PublishedMedia

_TABLE = PublishedMedia.__table__


def _utc_now() -> datetime:
    return datetime.now(UTC)


class DatabaseUploads:
    """``UploadMemory`` in the database; each call is its own short transaction, so a publish
    that waits on a slow site holds no lock."""

    def __init__(self, db: Database, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self.db = db
        self.clock = clock

    def known(self, target: str, sha256: str) -> tuple[str, str | None] | None:
        """The ``(remote_id, url)`` of the photo ``sha256`` on ``target``, or None."""
        with self.db.transaction() as session:
            row = session.exec(
                select(PublishedMedia).where(
                    PublishedMedia.target == target, PublishedMedia.sha256 == sha256
                )
            ).first()
            return (row.remote_id, row.url) if row else None

    def remember(self, target: str, sha256: str, remote_id: str, url: str | None) -> None:
        """Note the upload; the latest wins. One statement (``INSERT … ON CONFLICT DO
        UPDATE``), so two workers remembering the same photo at once cannot collide: a photo
        uploaded again because the site lost it replaces the old id."""
        insert = postgresql_insert if self.db.engine.dialect.name == "postgresql" else sqlite_insert
        statement = insert(_TABLE).values(
            target=target, sha256=sha256, remote_id=remote_id, url=url, created_at=self.clock()
        )
        statement = statement.on_conflict_do_update(
            index_elements=[_TABLE.c.target, _TABLE.c.sha256],
            set_={"remote_id": statement.excluded.remote_id, "url": statement.excluded.url},
        )
        with self.db.transaction() as session:
            session.connection().execute(statement)
