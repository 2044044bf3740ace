"""Publishing to several targets: retries, failure reports, /ulang, /abaikan, manual /terbit."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from storage import repo
from storage.models import OutboxItem
from tests.support import GROUP, STORY, Chat, FakeClock, make_chat


def desk_with_targets(db_url: str, tmp_path: Path, clock: FakeClock) -> Chat:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the portal folder should be")
    return make_chat(
        db_url,
        tmp_path,
        clock=clock,
        publish={
            "max_attempts": 3,
            "targets": [
                {"name": "mediacenter", "kind": "folder", "path": str(tmp_path / "mc")},
                {"name": "portal", "kind": "folder", "path": str(blocker / "portal")},
                {"name": "infopublik", "kind": "manual"},
            ],
        },
    )


def jobs(chat: Chat) -> dict[str, OutboxItem]:
    with chat.warta.db.transaction() as session:
        return {job.target or "": job for job in repo.latest_publications(session, 1)}


def verified(chat: Chat) -> None:
    chat.send("rina", STORY)
    chat.send("dedi", "/sunting 1")
    chat.send("dedi", "/verifikasi 1 semua")


def test_every_target_at_once_with_retries_failure_report_and_operator_decisions(
    db_url: str, tmp_path: Path
):
    clock = FakeClock()
    chat = desk_with_targets(db_url, tmp_path, clock)
    verified(chat)
    replies = chat.send("budi", "/terbitkan 1")
    assert "mediacenter, portal, infopublik" in replies[0]
    package = chat.to("budi")
    assert package and "diterbitkan secara manual di infopublik" in package[0]
    assert "Wali Kota Buka Musrenbang" in package[0] and "/terbit 1 infopublik" in package[0]
    state = jobs(chat)
    assert state["mediacenter"].status == "succeeded"
    assert state["portal"].status == "retrying" and "cannot write" in state["portal"].last_error
    assert state["infopublik"].status == "waiting"
    later: list[str] = []
    for _ in range(4):  # the retries run out
        clock.advance(hours=1)
        later += chat.flush()
    assert jobs(chat)["portal"].status == "failed"
    notices = [r for r in later if "gagal diterbitkan ke portal" in r]
    assert len(notices) == 1 and "cannot write" in notices[0]
    status = chat.send("budi", "/status 1")[0]
    assert "✅ mediacenter: file://" in status
    assert "❌ portal:" in status and "/ulang atau /abaikan" in status
    assert "⏸️ infopublik: menunggu alamat" in status

    (tmp_path / "blocker").unlink()  # the operator fixes the site
    assert "dicoba lagi sekarang" in chat.send("budi", "/ulang 1 portal")[0]
    assert jobs(chat)["portal"].status == "succeeded"
    assert "bukan alamat tautan" in chat.send("budi", "/terbit 1 infopublik bukan-url")[0]
    replies = chat.send("budi", "/terbit 1 infopublik https://infopublik.id/kategori/berita/1")
    assert "tercatat terbit di infopublik" in replies[0]
    assert any("sudah terbit" in reply for reply in replies)
    with chat.warta.db.transaction() as session:
        story = repo.story_by_number(session, 1)
        assert story is not None and story.state == "published"
    chat.warta.close()


def test_abandon_one_site_completes_publishing_and_needs_a_reason(db_url: str, tmp_path: Path):
    clock = FakeClock()
    chat = desk_with_targets(db_url, tmp_path, clock)
    verified(chat)
    chat.send("budi", "/terbitkan 1")
    assert "Format perintah" in chat.send("budi", "/abaikan 1 portal")[0]
    assert "tidak ada dalam penerbitan" in chat.send("budi", "/abaikan 1 koran alasan")[0]
    refused = chat.send("rina", "/abaikan 1 portal situs mati")[0]
    assert refused.startswith("Maaf, perintah /abaikan hanya untuk Kasi atau Admin/Operator.")
    chat.send("budi", "/abaikan 1 portal server portal sedang migrasi")
    assert "diabaikan oleh Budi" in chat.to(GROUP)[0]
    replies = chat.send("hendra", "/abaikan 1 infopublik formulir ditutup")
    assert any("sudah terbit" in reply and "mediacenter" in reply for reply in replies)
    with chat.warta.db.transaction() as session:
        trail = [event.event for event in repo.audit_trail(session, 1)]
        statuses = sorted(
            job.status for job in session.exec(select(OutboxItem)) if job.kind == "publish"
        )
    assert trail.count("publish_abandoned") == 2 and trail[-1] == "publish_succeeded"
    assert statuses == ["abandoned", "abandoned", "succeeded"]
    assert "tidak sedang diterbitkan" in chat.send("budi", "/ulang 1")[0]
    chat.warta.close()


def test_an_operators_decision_stands_against_an_attempt_still_running(db_url: str, tmp_path: Path):
    from datetime import timedelta

    clock = FakeClock()
    chat = desk_with_targets(db_url, tmp_path, clock)
    verified(chat)
    chat.send("budi", "/terbitkan 1")
    clock.advance(hours=1)
    with chat.warta.db.transaction() as session:  # a worker takes the portal job again...
        taken = repo.claim_due(session, now=clock(), lease=timedelta(minutes=5), limit=10)
    portal = next(job for job in taken if job.target == "portal")
    chat.send("budi", "/abaikan 1 portal situs sedang migrasi")  # ...the operator gives up...
    later = clock() + timedelta(hours=1)
    chat.warta.delivery.delivery_failed(portal.id or 0, error="503", retry_at=later)
    chat.warta.delivery.publish_succeeded(portal.id or 0, permalink="https://late", remote_id="9")
    state = jobs(chat)
    assert state["portal"].status == "abandoned"  # ...and the late attempt changes nothing
    assert state["portal"].result.get("permalink") is None
    chat.warta.close()
