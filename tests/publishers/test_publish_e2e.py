"""/terbitkan end to end: one story to a real WordPress, a webhook receiver and an SMTP server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from sqlmodel import select

from storage import repo
from storage.models import OutboxItem
from tests.publishers.test_email import smtp_server  # noqa: F401  (fixture)
from tests.publishers.test_webhook import SECRET, receiver  # noqa: F401  (fixture)
from tests.publishers.test_wordpress import wordpress  # noqa: F401  (fixture)
from tests.support import GROUP, Chat, FakeClock, make_chat, photo

STORY = """Pasar Murah Sembako di Kelurahan Menteng {tag}
PALANGKA RAYA – Pemerintah Kota menggelar pasar murah sembako di Kelurahan Menteng.

Sebanyak 500 paket disediakan untuk warga."""


def three_targets(db_url: str, tmp_path: Path, wordpress, receiver, smtp_server) -> Chat:  # noqa: F811
    environ = {"WP_PASS": wordpress["app_password"], "HOOK_SECRET": SECRET}
    chat = make_chat(
        db_url,
        tmp_path,
        clock=FakeClock(),
        publish={
            "max_attempts": 3,
            "targets": [
                {
                    "name": "mediacenter",
                    "kind": "wordpress",
                    "url": wordpress["url"],
                    "user": wordpress["user"],
                    "password_env": "WP_PASS",
                    "category": "Berita Kota",
                    "password": environ["WP_PASS"],
                },
                {
                    "name": "portal",
                    "kind": "webhook",
                    "url": receiver.url,
                    "secret_env": "HOOK_SECRET",
                    "inline_photos": True,
                    "secret": SECRET,
                },
                {
                    "name": "redaksi",
                    "kind": "email",
                    "host": smtp_server.host,
                    "port": smtp_server.port,
                    "sender": "warta@example.go.id",
                    "to": ["redaksi@example.go.id"],
                    "starttls": False,
                },
            ],
        },
    )
    return chat


def posts_with_slug(wordpress, slug: str) -> list[dict]:  # noqa: F811
    response = httpx.get(
        f"{wordpress['url']}/wp-json/wp/v2/posts",
        params={"slug": slug, "status": "publish,draft", "context": "edit"},
        auth=(wordpress["user"], wordpress["app_password"]),
        timeout=20,
    )
    response.raise_for_status()
    return response.json()


def test_publish_to_wordpress_webhook_and_email_at_once(
    sqlite_url: str,
    tmp_path: Path,
    wordpress,  # noqa: F811
    receiver,  # noqa: F811
    smtp_server,  # noqa: F811
):
    tag = tmp_path.name[-8:]
    chat = three_targets(sqlite_url, tmp_path, wordpress, receiver, smtp_server)
    colors = ((200, 0, 0), (0, 200, 0), (0, 0, 200))
    chat.send("rina", STORY.format(tag=tag), media=tuple(photo(c, f"Foto {c}") for c in colors))
    chat.send("dedi", "/sunting 1")
    chat.send("dedi", "/verifikasi 1 semua")
    replies = chat.send("budi", "/terbitkan 1")
    published = next(r for r in replies if "sudah terbit" in r)
    assert "mediacenter: http://127.0.0.1:8089/" in published
    assert "portal: https://portal.example/berita/1" in published
    assert "redaksi: mailto:redaksi@example.go.id" in published
    with chat.warta.db.transaction() as session:
        jobs = repo.latest_publications(session, 1)
        slug_post = next(j for j in jobs if j.target == "mediacenter").result["remote_id"]
    post = httpx.get(
        f"{wordpress['url']}/wp-json/wp/v2/posts/{slug_post}",
        params={"context": "edit"},
        auth=(wordpress["user"], wordpress["app_password"]),
        timeout=20,
    ).json()
    assert post["featured_media"] and post["status"] == "publish"
    assert len(receiver.received) == 1 and len(receiver.received[0].body) > 1000
    assert len(smtp_server.recorder.delivered) == 1

    # A crash after WordPress answered but before Warta committed: the job runs again.
    with chat.warta.db.transaction() as session:
        job = session.exec(select(OutboxItem).where(OutboxItem.target == "mediacenter")).one()
        job.status, job.result = "pending", {}
        session.add(job)
        story = repo.story_by_number(session, 1)
        assert story is not None
        story.state = "publishing"
        session.add(story)
    asyncio.run(chat.warta.dispatcher.drain())
    assert len(posts_with_slug(wordpress, post["slug"])) == 1
    with chat.warta.db.transaction() as session:
        job = session.exec(select(OutboxItem).where(OutboxItem.target == "mediacenter")).one()
    assert job.status == "succeeded" and job.result["remote_id"] == slug_post
    assert any("sudah terbit" in t for t in chat.to(GROUP) + chat.flush())
    chat.warta.close()


def test_wrong_wordpress_password_fails_at_once_without_a_retry_storm(
    sqlite_url: str,
    tmp_path: Path,
    wordpress,  # noqa: F811
    receiver,  # noqa: F811
    smtp_server,  # noqa: F811
):
    bad = {**wordpress, "app_password": "salah salah salah salah"}
    chat = three_targets(sqlite_url, tmp_path, bad, receiver, smtp_server)
    chat.send("rina", STORY.format(tag="x"))
    chat.send("dedi", "/sunting 1")
    chat.send("dedi", "/verifikasi 1 semua")
    replies = chat.send("budi", "/terbitkan 1")
    failure = next(r for r in replies if "gagal diterbitkan ke mediacenter" in r)
    assert "credentials of user warta" in failure and "salah" not in failure
    with chat.warta.db.transaction() as session:
        job = session.exec(select(OutboxItem).where(OutboxItem.target == "mediacenter")).one()
    assert job.status == "failed" and job.attempts == 1
    chat.warta.close()


def test_429_waits_at_least_retry_after_then_succeeds(
    sqlite_url: str,
    tmp_path: Path,
    wordpress,  # noqa: F811
    receiver,  # noqa: F811
    smtp_server,  # noqa: F811
):
    from tests.publishers.test_webhook import Reply

    receiver.script.append(Reply(429, b"slow down", {"Retry-After": "120"}))
    chat = three_targets(sqlite_url, tmp_path, wordpress, receiver, smtp_server)
    chat.send("rina", STORY.format(tag="retry"))
    chat.send("dedi", "/sunting 1")
    chat.send("dedi", "/verifikasi 1 semua")
    chat.send("budi", "/terbitkan 1")
    with chat.warta.db.transaction() as session:
        job = session.exec(select(OutboxItem).where(OutboxItem.target == "portal")).one()
    assert job.status == "retrying"
    assert (job.next_attempt_at - chat.clock()).total_seconds() >= 120
    chat.clock.advance(seconds=60)
    chat.flush()
    assert len(receiver.received) == 1  # not before Retry-After
    chat.clock.advance(seconds=61)
    replies = chat.flush()
    assert len(receiver.received) == 2 and any("sudah terbit" in r for r in replies)
    chat.warta.close()


def test_folder_copies_carry_no_location(sqlite_url: str, tmp_path: Path):
    from PIL import Image

    from handlers.messages import InboundMedia
    from tests.publishers.test_webhook import jpeg_with_gps

    source = jpeg_with_gps(tmp_path / "gps.jpg")
    chat = make_chat(sqlite_url, tmp_path)
    media = (InboundMedia(kind="photo", data=source.read_bytes(), filename="gps.jpg"),)
    chat.send("rina", STORY.format(tag="gps"), media=media)
    chat.send("dedi", "/sunting 1")
    chat.send("dedi", "/verifikasi 1 semua")
    chat.send("budi", "/terbitkan 1")
    copies = list((tmp_path / "pub").rglob("foto-1.*"))
    assert len(copies) == 1
    with Image.open(copies[0]) as image:
        assert not image.getexif().get_ifd(0x8825)  # no GPS block
    chat.warta.close()


def test_a_publish_job_whose_worker_died_before_its_first_request_makes_one_post(
    sqlite_url: str,
    tmp_path: Path,
    wordpress,  # noqa: F811
    receiver,  # noqa: F811
    smtp_server,  # noqa: F811
):
    from datetime import timedelta

    tag = tmp_path.name[-8:]
    chat = three_targets(sqlite_url, tmp_path, wordpress, receiver, smtp_server)
    chat.send("rina", STORY.format(tag=tag), media=(photo((10, 120, 30), "Foto"),))
    chat.send("dedi", "/sunting 1")
    chat.send("dedi", "/verifikasi 1 semua")
    chat.intake.receive(chat.message("budi", "/terbitkan 1"))  # stored, not yet delivered
    clock = chat.clock
    with chat.warta.db.transaction() as session:  # another instance takes the jobs and dies
        taken = repo.claim_due(
            session, now=clock(), lease=timedelta(seconds=15), limit=100, instance="dead:1"
        )
    assert {job.target for job in taken if job.kind == "publish"} == {
        "mediacenter",
        "portal",
        "redaksi",
    }
    asyncio.run(chat.warta.dispatcher.drain())  # its claims still hold: nothing is tried
    assert receiver.received == [] and smtp_server.recorder.delivered == []
    clock.advance(seconds=16)  # the dead instance renewed nothing: its claims ran out
    replies = chat.flush()
    assert any("sudah terbit" in reply for reply in replies)
    with chat.warta.db.transaction() as session:
        jobs = repo.latest_publications(session, 1)
    assert {job.status for job in jobs} == {"succeeded"}
    slug = next(job for job in jobs if job.target == "mediacenter").result["permalink"]
    assert len(posts_with_slug(wordpress, slug.rstrip("/").rsplit("/", 1)[-1])) == 1
    assert len(receiver.received) == 1 and len(smtp_server.recorder.delivered) == 1
    chat.warta.close()
