"""H+1 documentation: /arsipkan checks every permalink (a real HTTP server on loopback, and
the folder target's page) and every photo before archiving, keeps the story's record, and
reports what is missing to the editors instead of archiving silently; with archive.auto,
Warta archives by itself before the H+1 deadline, which skips weekends and holidays."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from storage.models import Media, Story, StoryArchive
from tests.support import STORY, Chat, FakeClock, make_chat, photo

JAKARTA = ZoneInfo("Asia/Jakarta")


class _Pages(BaseHTTPRequestHandler):
    """A news site: /berita/… pages exist, anything else is 404."""

    def do_HEAD(self) -> None:
        self.send_response(200 if self.path.startswith("/berita/") else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def desks() -> Iterator[list[Chat]]:
    """Every desk a test makes, closed after it."""
    made: list[Chat] = []
    yield made
    for chat in made:
        chat.warta.close()


def desk(
    made: list[Chat],
    db_url: str,
    tmp_path: Path,
    clock: FakeClock | None = None,
    **overrides: object,
) -> Chat:
    chat = make_chat(
        db_url,
        tmp_path,
        clock=clock,
        publish={
            "targets": [
                {"name": "mediacenter", "kind": "folder", "path": str(tmp_path / "mc")},
                {"name": "infopublik", "kind": "manual"},
            ]
        },
        **overrides,
    )
    made.append(chat)
    return chat


def published(chat: Chat, url: str) -> None:
    chat.send("rina", STORY, media=(photo(),))
    chat.send("dedi", "/sunting 1")
    chat.send("dedi", "/verifikasi 1 semua")
    chat.send("budi", "/terbitkan 1")
    chat.send("budi", f"/terbit 1 infopublik {url}")
    assert story(chat).state == "published"


def story(chat: Chat) -> Story:
    with chat.warta.db.transaction() as session:
        (found,) = session.exec(select(Story)).all()
        return found


def archive_row(chat: Chat) -> StoryArchive | None:
    with chat.warta.db.transaction() as session:
        return session.get(StoryArchive, story(chat).id)


def sweep(chat: Chat) -> list[str]:
    chat.warta.watch.sweep()
    return chat.flush()


def test_archive_checks_links_and_photos_then_keeps_the_whole_record(
    db_url: str, tmp_path: Path, site: str, desks: list[Chat]
):
    chat = desk(desks, db_url, tmp_path)
    published(chat, f"{site}/berita/wali-kota-buka-musrenbang")
    replies = chat.send("dedi", "/arsipkan 1")
    assert "Memeriksa berita #1" in replies[0]
    assert story(chat).state == "published"  # nothing archived before the checks

    told = sweep(chat)
    assert story(chat).state == "archived"
    done = [t for t in told if "sudah diarsipkan" in t]
    assert done and "2 tautan aktif, 1 foto" in done[0]
    record = archive_row(chat).record
    assert record["story"]["title"] == "Wali Kota Buka Musrenbang"
    assert [v["number"] for v in record["versions"]] == [1]
    assert len(record["photos"]) == 1 and len(record["photos"][0]["sha256"]) == 64
    assert {p["target"]: p["ok"] for p in record["permalinks"]} == {
        "mediacenter": True,
        "infopublik": True,
    }
    steps = [s["step"] for s in record["steps"]]
    assert steps == ["editing", "publishing", "documentation"]
    assert all(s["window_minutes"] for s in record["steps"] if s["step"] != "documentation")
    assert {"claim", "verify", "archive"} <= {event["event"] for event in record["audit"]}


def test_a_dead_link_is_reported_to_the_editors_not_archived(
    db_url: str, tmp_path: Path, site: str, desks: list[Chat]
):
    chat = desk(desks, db_url, tmp_path)
    published(chat, f"{site}/hilang/berita-1")
    chat.send("dedi", "/arsipkan 1")
    sweep(chat)
    assert story(chat).state == "published"
    report = [t for t in chat.to("dedi") if "belum diarsipkan" in t]
    assert report and "infopublik: HTTP 404" in report[0] and "/arsipkan 1 paksa" in report[0]
    assert archive_row(chat).status == "problem"

    chat.send("dedi", "/arsipkan 1 paksa")  # the editor decides: archive, problem noted
    told = sweep(chat)
    assert story(chat).state == "archived"
    assert any("Dicatat bermasalah: infopublik (HTTP 404)" in t for t in told)
    assert [p["ok"] for p in archive_row(chat).record["permalinks"]] == [True, False]


def test_a_photo_gone_from_the_media_store_is_reported(
    db_url: str, tmp_path: Path, site: str, desks: list[Chat]
):
    chat = desk(desks, db_url, tmp_path)
    published(chat, f"{site}/berita/1")
    with chat.warta.db.transaction() as session:
        (media,) = session.exec(select(Media)).all()
    (chat.warta.desk.media.root / media.stored_path).unlink()
    chat.send("dedi", "/arsipkan 1")
    sweep(chat)
    assert story(chat).state == "published"
    assert any("hilang" not in t and "gone from the media store" in t for t in chat.to("dedi"))


def test_a_reporter_may_not_archive(db_url: str, tmp_path: Path, site: str, desks: list[Chat]):
    chat = desk(desks, db_url, tmp_path)
    published(chat, f"{site}/berita/1")
    replies = chat.send("rina", "/arsipkan 1")
    assert archive_row(chat) is None and "Memeriksa" not in " ".join(replies)


def test_automatic_archive_waits_for_h_plus_1_past_the_holidays_and_the_weekend(
    db_url: str, tmp_path: Path, site: str, desks: list[Chat]
):
    # Published on Wednesday 23 December 2026: the 24th is cuti bersama, the 25th Christmas,
    # then the weekend, so H+1 is Monday the 28th.
    clock = FakeClock(datetime(2026, 12, 23, 2, 0, tzinfo=UTC))  # 09.00 WIB
    chat = desk(desks, db_url, tmp_path, clock=clock, archive={"auto": True, "lead": "1h"})
    published(chat, f"{site}/berita/1")
    due = story(chat).step_due_at
    assert due is not None and due.astimezone(JAKARTA).date().isoformat() == "2026-12-28"

    for moment in (
        datetime(2026, 12, 24, 9, 0, tzinfo=JAKARTA),  # cuti bersama
        datetime(2026, 12, 26, 12, 0, tzinfo=JAKARTA),  # Saturday
        due - timedelta(hours=2),  # Monday, before the lead
    ):
        clock.now = moment.astimezone(UTC)
        sweep(chat)
        assert story(chat).state == "published", moment
    clock.now = due - timedelta(minutes=59)  # within the lead: Warta archives by itself
    told = sweep(chat)
    assert story(chat).state == "archived"
    assert any("diarsipkan otomatis (H+1)" in t for t in told)
    assert archive_row(chat).requested_by is None
