"""Storage on SQLite and PostgreSQL: migrations, concurrent writers, people, media, time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel, select

from bot.app import build
from storage import repo
from storage.db import Database
from storage.media import MediaRejected, MediaStore
from storage.migrate import current_revision, head_revision, upgrade
from storage.models import AuditEvent, Identity, Person, Story
from storage.search import is_search_table
from tests.support import PEOPLE, STORY, Chat, desk_settings, jpeg


def test_migrations_create_exactly_the_models(db_url: str):
    db = Database(db_url)
    upgrade(db)
    assert current_revision(db) == head_revision()
    with db.engine.connect() as connection:
        diff = compare_metadata(
            MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    # The search index is no model (an FTS5 table, or a tsvector column).
                    "include_name": lambda name, kind, _parent: (
                        not (kind == "table" and is_search_table(name))
                    ),
                },
            ),
            SQLModel.metadata,
        )
    db.dispose()
    assert diff == []


def test_many_writers_at_once_never_fail_and_numbers_stay_unique(chat: Chat):
    errors: list[BaseException] = []

    def reporter(who: str, start: int) -> None:
        try:
            for index in range(start, start + 15):
                chat.intake.receive(chat.message(who, STORY, message_id=f"{who}-{index}"))
        except BaseException as error:
            errors.append(error)

    threads = [
        threading.Thread(target=reporter, args=(who, n * 100))
        for n, who in enumerate(["rina", "anton", "rina", "anton", "rina", "anton"])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with chat.warta.db.transaction() as session:
        numbers = sorted(story.number for story in session.exec(select(Story)))
    assert numbers == list(range(1, 91))


def test_people_follow_the_config(db_url: str, tmp_path: Path):
    warta = build(desk_settings(db_url, tmp_path))
    warta.close()
    changed = [dict(p) for p in PEOPLE if p["key"] != "sari"]
    changed[0] = {**changed[0], "roles": ["editor"], "telegram": 777}
    warta = build(desk_settings(db_url, tmp_path, people=changed))
    with warta.db.transaction() as session:
        sari = session.exec(select(Person).where(Person.key == "sari")).one()
        people = repo.load_people(session)
        hendra = people.find("telegram", "777")
        assert people.find("local", "sari") is None
        assert warta.desk.people.find("telegram", "777") == hendra
        identities = session.exec(select(Identity).where(Identity.person_id == sari.id)).all()
    warta.close()
    assert sari.active is False and identities  # kept for history, no longer recognised
    assert (
        hendra is not None
        and hendra.name == "Hendra"
        and [r.value for r in hendra.roles] == ["editor"]
    )


def test_times_come_back_aware_and_in_utc(db_url: str, tmp_path: Path):
    warta = build(desk_settings(db_url, tmp_path))
    wib = timezone(timedelta(hours=7))
    moment = datetime(2026, 12, 2, 14, 30, tzinfo=wib)
    with warta.db.transaction() as session:
        repo.audit(session, story_id=None, actor_id=None, event="test", now=moment)
    with warta.db.transaction() as session:
        stored = session.exec(select(AuditEvent)).one().at
    assert stored == moment and stored.tzinfo is not None
    assert stored.utcoffset() == timedelta(0)
    with pytest.raises(Exception, match="naive"), warta.db.transaction() as session:
        repo.audit(session, story_id=None, actor_id=None, event="x", now=datetime(2026, 1, 1))
    warta.close()


def test_media_store_dedupes_and_checks_size_and_type(tmp_path: Path):
    store = MediaStore(tmp_path, max_bytes=50_000, allowed_types=("image/jpeg", "image/png"))
    data = jpeg()
    first, second = store.put(data), store.put(data)
    assert first == second and first.mime == "image/jpeg" and first.kind == "photo"
    assert store.path_of(first.relative_path).read_bytes() == data
    assert first.relative_path.startswith(f"{first.sha256[:2]}/{first.sha256[2:4]}/")
    assert len(list(tmp_path.rglob("*.jpg"))) == 1
    with pytest.raises(MediaRejected) as too_large:
        store.put(jpeg(size=(2000, 2000)) + b"\0" * 60_000)
    assert too_large.value.reason == "too_large"
    with pytest.raises(MediaRejected) as wrong:
        store.put(b"%PDF-1.4 not allowed here")
    assert wrong.value.reason == "type" and wrong.value.mime == "application/pdf"
    with pytest.raises(MediaRejected):
        store.put(b"just text pretending to be a photo")
    assert not list(tmp_path.rglob(".incoming-*"))


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url: str):
    db = Database(sqlite_url)
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    db.dispose()


def test_utc_now_is_aware():
    from handlers.desk import utc_now

    assert utc_now().tzinfo is UTC


def test_outbox_statuses_change_only_as_their_lifecycle_allows(db_url: str):
    from workflow.delivery import ItemEvent

    db = Database(db_url)
    upgrade(db)
    now = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    with db.transaction() as session:
        message_id = repo.enqueue_message(
            session, channel="local", recipient="redaksi", text="halo", now=now
        )
    with db.transaction() as session:
        item = repo.outbox_items(session)[0]
        assert item.id == message_id
        assert not repo.move_item(session, item, ItemEvent.DELIVERED, now=now)  # not claimed
        assert item.status == "pending" and item.done_at is None
        assert repo.move_item(session, item, ItemEvent.CLAIM, now=now)
        assert repo.move_item(
            session, item, ItemEvent.DELIVERED, now=now, result={"message_id": "7"}
        )
    with db.transaction() as session:
        item = repo.outbox_items(session)[0]
        assert (item.status, item.done_at, item.result) == ("sent", now, {"message_id": "7"})
        assert not repo.move_item(session, item, ItemEvent.ABANDON, now=now)  # not a publish job
        assert item.status == "sent"
    db.dispose()


def test_four_instances_starting_at_once_mirror_the_people_without_conflict(
    db_url: str, tmp_path: Path
):
    settings = desk_settings(db_url, tmp_path)
    build(settings).close()  # the schema exists, as after the first start
    changed = [
        {**person, "name": person["name"] + " Baru"} if person["key"] == "rina" else person
        for person in PEOPLE
    ]
    for round_ in range(3):
        people = PEOPLE if round_ % 2 else changed
        start = threading.Barrier(4)
        errors: list[BaseException] = []

        def start_one(people=people, start=start, errors=errors) -> None:
            try:
                start.wait()
                build(desk_settings(db_url, tmp_path, people=people)).close()
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=start_one) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
    db = Database(db_url)
    with db.transaction() as session:
        names = sorted(person.name for person in session.exec(select(Person)))
        identities = session.exec(select(Identity)).all()
        # One identity per person and channel they are known on (local and the playground).
        assert len(identities) == 2 * len(PEOPLE)
        assert len({(i.channel, i.address) for i in identities}) == len(identities)
    db.dispose()
    assert "Rina Baru" in names and len(names) == len(PEOPLE)
