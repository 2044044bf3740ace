"""Backup and restore: taken while stories arrive, restored into a fresh database that boots;
damaged archives and desks that already hold stories are refused; passwords never show."""

from __future__ import annotations

import io
import json
import logging
import os
import stat
import tarfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlmodel import select

from bot.app import build
from bot.backup import BackupError, backup, pg_invocation, restore
from bot.channels.local import LocalChannel
from bot.config import Settings
from storage.models import Media, SlaAlarm, SlaClock, Story
from tests.support import STORY, Chat, FakeClock, desk_settings, make_chat, photo

WRITER_LIMIT = 200
"""The most stories the writer thread submits; it stops as soon as the backup is done."""


@pytest.fixture
def other_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A second, empty database of the same kind: another SQLite file, or another PostgreSQL
    schema that does not exist yet (the restore creates it)."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored' / 'warta.db'}"
        return
    base = db_url.split("?", 1)[0]
    schema = f"r_{uuid.uuid4().hex[:12]}"
    yield f"{base}?options=-csearch_path%3D{schema}"
    with psycopg.connect(base.replace("+psycopg", "", 1), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


class StoryWriter(threading.Thread):
    """Submits stories with a photo, one after another, until told to stop (or the limit)."""

    def __init__(self, chat: Chat) -> None:
        super().__init__(name="story-writer")
        self.chat = chat
        self.first_written = threading.Event()
        self.snapshot_taken = threading.Event()
        self.wrote_after_snapshot = threading.Event()
        self.stop = threading.Event()
        self.errors: list[BaseException] = []

    def run(self) -> None:
        try:
            for index in range(WRITER_LIMIT):
                if self.stop.is_set():
                    return
                after_snapshot = self.snapshot_taken.is_set()  # known before this story begins
                color = (index % 256, 90, 160)
                msg = self.chat.message(
                    "anton", STORY, media=(photo(color),), message_id=f"w-{index}"
                )
                assert self.chat.intake.receive(msg).outcome == "submitted"
                self.first_written.set()
                if after_snapshot:
                    self.wrote_after_snapshot.set()
        except BaseException as error:  # surfaced by the test
            self.errors.append(error)
        finally:  # never leave the test waiting on a writer that is gone
            self.first_written.set()
            self.wrote_after_snapshot.set()


def desk_state(settings: Settings, up_to: int) -> dict[str, list[tuple]]:
    """Stories numbered up to ``up_to``, their photos and pending alarms, as comparable rows."""
    warta = build(settings, channels={})
    try:
        with warta.db.transaction() as session:
            stories = session.exec(select(Story).where(Story.number <= up_to)).all()
            number_of = {story.id: story.number for story in stories}
            media = session.exec(select(Media).where(Media.story_id.in_(number_of))).all()  # type: ignore[attr-defined]
            alarms = session.exec(
                select(SlaAlarm, SlaClock)
                .join(SlaClock, SlaAlarm.clock_id == SlaClock.id)  # type: ignore[arg-type]
                .where(SlaAlarm.status == "pending", SlaClock.story_id.in_(number_of))  # type: ignore[union-attr]
            ).all()
            return {
                "stories": sorted(
                    (s.number, s.title, s.state, s.step, s.step_due_at, s.current_version)
                    for s in stories
                ),
                "media": sorted(
                    (number_of[m.story_id], m.sha256, m.stored_path, m.size, m.position)
                    for m in media
                ),
                "alarms": sorted(
                    (number_of[clock.story_id], clock.step, alarm.point, alarm.due_at)
                    for alarm, clock in alarms
                ),
            }
    finally:
        warta.close()


def test_backup_taken_while_stories_arrive_restores_all_it_saw(
    db_url: str, other_url: str, tmp_path: Path
):
    clock = FakeClock()
    chat = make_chat(db_url, tmp_path / "live", clock=clock)
    for index in range(3):
        chat.send("rina", STORY, media=(photo((200, index * 60, 30)),))
    archive = tmp_path / "backups" / "warta.tar.gz"

    writer = StoryWriter(chat)
    writer.start()
    try:
        assert writer.first_written.wait(timeout=60)

        def during_the_backup() -> None:
            # The snapshot is fixed; the backup goes on (pg_dump, the media folder) only once
            # the writer has committed another story: writes certainly happen before and during,
            # and the dump must leave out what came after its snapshot.
            writer.snapshot_taken.set()
            assert writer.wrote_after_snapshot.wait(timeout=60)

        made = backup(chat.warta.settings, archive, after_snapshot=during_the_backup)
    finally:
        writer.stop.set()
        writer.join(timeout=60)
    assert not writer.is_alive() and not writer.errors, writer.errors
    saw = made.counts.stories
    with chat.warta.db.transaction() as session:
        total = len(session.exec(select(Story)).all())
    chat.warta.close()
    assert 3 < saw < total  # it saw some of the writer's stories, and missed later ones
    assert made.counts.media == saw and made.counts.pending_alarms > 0
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert [p.name for p in archive.parent.iterdir()] == ["warta.tar.gz"]  # no leftovers
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert manifest["counts"] == {
        "stories": saw,
        "media": made.counts.media,
        "pending_alarms": made.counts.pending_alarms,
    }
    assert manifest["database"] == ("sqlite" if db_url.startswith("sqlite") else "postgresql")
    assert manifest["schema_revision"] == made.schema_revision

    restored_settings = desk_settings(other_url, tmp_path / "restored")
    restored = restore(restored_settings, archive)
    assert restored.counts == made.counts
    assert restored.upgraded_to is None and restored.previous_saved_to is None
    assert any("sha256" in check for check in restored.checks)

    live_settings = chat.warta.settings
    expected = desk_state(live_settings, up_to=saw)
    assert len(expected["stories"]) == saw and len(expected["media"]) == made.counts.media
    assert len(expected["alarms"]) == made.counts.pending_alarms
    assert desk_state(restored_settings, up_to=total) == expected
    for _number, _sha256, stored_path, _size, _position in expected["media"]:
        assert (restored_settings.media_dir / stored_path).read_bytes() == (
            live_settings.media_dir / stored_path
        ).read_bytes()

    messenger = LocalChannel()
    warta = build(restored_settings, channels={"local": messenger}, clock=clock)
    try:
        # The replies still unsent at the snapshot go out now, then the new story's.
        replies = Chat(warta, messenger, clock).send(
            "rina", STORY, media=(photo((1, 2, 3)),), message_id="after-restore"
        )
        assert any(f"Berita #{saw + 1} " in reply for reply in replies), replies
    finally:
        warta.close()


def _rewritten(archive: Path, out: Path, *, change_media: bool, keep_manifest: bool) -> None:
    """Copy ``archive`` member by member, altering each photo or leaving out the manifest."""
    with tarfile.open(archive) as source, tarfile.open(out, "w:gz") as target:
        for member in source:
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "manifest.json" and not keep_manifest:
                continue
            if change_media and member.name.startswith("media/"):
                data = data[:-1] + bytes([data[-1] ^ 0x01])
            member.size = len(data)
            target.addfile(member, io.BytesIO(data))


def test_a_damaged_backup_is_refused_and_changes_nothing(
    db_url: str, other_url: str, tmp_path: Path
):
    chat = make_chat(db_url, tmp_path / "live")
    chat.send("rina", STORY, media=(photo(),))
    archive = tmp_path / "warta.tar.gz"
    backup(chat.warta.settings, archive)
    chat.warta.close()
    target = desk_settings(other_url, tmp_path / "restored")

    flipped = tmp_path / "flipped.tar.gz"
    data = bytearray(archive.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 32] = bytes(byte ^ 0xFF for byte in data[middle : middle + 32])
    flipped.write_bytes(bytes(data))
    photo_changed = tmp_path / "photo-changed.tar.gz"
    _rewritten(archive, photo_changed, change_media=True, keep_manifest=True)
    no_manifest = tmp_path / "no-manifest.tar.gz"
    _rewritten(archive, no_manifest, change_media=False, keep_manifest=False)
    not_gzip = tmp_path / "notes.tar.gz"
    not_gzip.write_text("not a backup")

    for damaged, says in (
        (flipped, ""),
        (photo_changed, "does not match its sha256 in the manifest"),
        (no_manifest, "it has no manifest.json"),
        (not_gzip, ""),
    ):
        with pytest.raises(BackupError) as refused:
            restore(target, damaged)
        message = str(refused.value)
        assert message.startswith(f"{damaged} is damaged or not a Warta backup"), message
        assert says in message and "\n" not in message and "Traceback" not in message

    assert not target.media_dir.exists()
    restored = restore(target, archive)  # the target was left empty: the good one goes in
    assert restored.counts.stories == 1 and restored.media_written == 1


def test_restore_over_a_desk_with_stories_needs_force_and_saves_it_first(
    db_url: str, tmp_path: Path
):
    chat = make_chat(db_url, tmp_path / "live")
    chat.send("rina", STORY, media=(photo((10, 20, 30)),))
    chat.send("rina", STORY)
    archive = tmp_path / "warta.tar.gz"
    backup(chat.warta.settings, archive)
    chat.send("anton", STORY, media=(photo((40, 50, 60)),))
    chat.warta.close()
    settings = chat.warta.settings

    with pytest.raises(BackupError) as refused:
        restore(settings, archive)
    message = str(refused.value)
    assert "already holds Warta data (3 stories)" in message and "--force" in message
    assert desk_state(settings, up_to=99)["stories"][-1][0] == 3  # nothing was touched

    restored = restore(settings, archive, force=True)
    assert restored.counts.stories == 2
    assert [row[0] for row in desk_state(settings, up_to=99)["stories"]] == [1, 2]
    saved = restored.previous_saved_to
    assert saved is not None and saved.parent == settings.data_dir
    with tarfile.open(saved) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert manifest["counts"]["stories"] == 3 and manifest["media_included"] is False
    # Media files are never removed: the third story's photo is still in the folder.
    assert restored.media_already_there == 1 and len(list(settings.media_dir.rglob("*.jpg"))) == 2


def test_postgres_tools_get_the_password_by_environment_only():
    conninfo, extra = pg_invocation(
        "postgresql://warta:s3cr%40t-pw@db.example:5432/warta"
        "?options=-csearch_path%3Dnews&sslmode=require"
    )
    assert conninfo == "postgresql://warta@db.example:5432/warta?sslmode=require"
    assert extra == {"PGPASSWORD": "s3cr@t-pw"}


def test_a_failed_connection_says_so_in_one_line_without_the_password(tmp_path: Path):
    settings = desk_settings("postgresql://warta:s3cr3t-pw@127.0.0.1:1/warta", tmp_path)
    with pytest.raises(BackupError) as refused:
        backup(settings, tmp_path / "warta.tar.gz")
    message = str(refused.value)
    assert message.startswith(
        "cannot read the database (PostgreSQL postgresql+psycopg://warta:***@"
    )
    assert "s3cr3t" not in message and "\n" not in message
    assert not (tmp_path / "warta.tar.gz").exists()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_pg_dump_never_sees_the_password_on_its_command_line(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    chat = make_chat(db_url, tmp_path / "live")
    chat.send("rina", STORY)
    chat.warta.close()
    # The test server trusts local connections, so it accepts any password.
    with_password = db_url.replace("postgres@", "postgres:s3cr3t-pw@", 1)
    settings = desk_settings(with_password, tmp_path / "live")
    tools = tmp_path / "bin"
    tools.mkdir()
    record = tmp_path / "pg_dump.called"
    spy = tools / "pg_dump"
    spy.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > "{record}"\n'
        f'printf "PGPASSWORD=%s\\n" "$PGPASSWORD" >> "{record}"\n'
        'exec /usr/bin/pg_dump "$@"\n'
    )
    spy.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    with caplog.at_level(logging.DEBUG):
        made = backup(settings, tmp_path / "warta.tar.gz")
    assert made.counts.stories == 1
    *arguments, environment = record.read_text().splitlines()
    assert not any("s3cr3t" in argument for argument in arguments), arguments
    assert environment == "PGPASSWORD=s3cr3t-pw"
    assert "s3cr3t" not in caplog.text and "s3cr3t" not in repr(made)
