"""DatabaseUploads: the photos each target already has, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from publishers.base import UploadMemory
from storage.db import Database
from storage.migrate import upgrade
from storage.models import PublishedMedia
from storage.published_media import DatabaseUploads
from tests.fakes.uploads import MemoryUploads

WHEN = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
SHA = "a" * 64


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    upgrade(database)
    yield database
    database.dispose()


def test_unknown_then_remembered_per_target(db: Database) -> None:
    uploads: UploadMemory = DatabaseUploads(db, clock=lambda: WHEN)
    assert uploads.known("mediacenter", SHA) is None
    uploads.remember("mediacenter", SHA, "41", "http://situs/foto.jpg")
    assert uploads.known("mediacenter", SHA) == ("41", "http://situs/foto.jpg")
    assert uploads.known("portal", SHA) is None
    assert uploads.known("mediacenter", "b" * 64) is None
    with db.transaction() as session:
        [row] = session.exec(select(PublishedMedia)).all()
    assert row.created_at == WHEN


def test_remembering_again_replaces_the_old_upload(db: Database) -> None:
    uploads = DatabaseUploads(db)
    uploads.remember("mediacenter", SHA, "41", "http://situs/lama.jpg")
    uploads.remember("mediacenter", SHA, "57", None)  # the site lost 41: uploaded again
    assert uploads.known("mediacenter", SHA) == ("57", None)
    with db.transaction() as session:
        assert len(session.exec(select(PublishedMedia)).all()) == 1


def test_two_workers_remembering_the_same_photo_at_once_both_succeed(db: Database) -> None:
    uploads = DatabaseUploads(db)
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def worker(number: int) -> None:
        try:
            start.wait(timeout=30)
            uploads.remember("mediacenter", SHA, str(number), f"http://situs/{number}.jpg")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    known = uploads.known("mediacenter", SHA)
    assert known is not None and known[1] == f"http://situs/{known[0]}.jpg"
    with db.transaction() as session:
        assert len(session.exec(select(PublishedMedia)).all()) == 1


def test_the_in_memory_fake_behaves_the_same() -> None:
    uploads: UploadMemory = MemoryUploads()
    assert uploads.known("mediacenter", SHA) is None
    uploads.remember("mediacenter", SHA, "41", None)
    uploads.remember("mediacenter", SHA, "57", "http://situs/foto.jpg")
    assert uploads.known("mediacenter", SHA) == ("57", "http://situs/foto.jpg")
    assert uploads.known("portal", SHA) is None
