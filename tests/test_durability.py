"""Durability: concurrent conflicting commands, restarts between every step, crash recovery."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from bot.app import build
from bot.channels.local import LocalChannel
from bot.channels.markup import plain
from storage import repo
from storage.models import AuditEvent, InboxMessage, Media, OutboxItem, Story, StoryVersion
from tests.support import STORY, Chat, FakeClock, desk_settings, make_chat, photo


def _race(chat: Chat, first: tuple[str, str], second: tuple[str, str]) -> list[str]:
    """Deliver two commands from two threads at the same moment; return both outcomes."""
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def run(who: str, text: str) -> None:
        msg = chat.message(who, text)
        barrier.wait()
        try:
            outcomes.append(chat.intake.receive(msg).outcome or "")
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=run, args=pair) for pair in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return outcomes


def test_two_editors_claiming_at_once_exactly_one_wins(chat: Chat):
    for number in range(1, 6):
        chat.send("rina", STORY)
        outcomes = _race(chat, ("dedi", f"/sunting {number}"), ("sari", f"/sunting {number}"))
        assert sorted(outcomes) == ["claim", "refused:state"], outcomes
        replies = chat.flush()
        winner = (
            "Dedi" if "Dedi" in next(r for r in replies if "sedang disunting oleh" in r) else "Sari"
        )
        loser_reply = next(r for r in replies if r.startswith("Maaf"))
        assert f"sedang disunting oleh {winner}, sehingga tidak dapat disunting" in loser_reply


def test_publish_and_send_back_at_once_exactly_one_wins(chat: Chat):
    for number in range(1, 6):
        chat.send("rina", STORY)
        chat.send("dedi", f"/sunting {number}")
        chat.send("dedi", f"/verifikasi {number} semua")
        outcomes = _race(
            chat, ("budi", f"/terbitkan {number}"), ("dedi", f"/kembalikan {number} cek ulang")
        )
        assert sorted(outcomes) in (
            ["publish", "refused:state"],
            ["refused:state", "request_revision"],
        ), outcomes
        replies = chat.flush()
        assert any(reply.startswith("Maaf, berita") for reply in replies)
        with chat.warta.db.transaction() as session:
            found = repo.story_by_number(session, number)
            assert found is not None
            transitions = [
                event.event
                for event in repo.audit_trail(session, found.id or 0)
                if event.event in ("publish", "request_revision")
            ]
        assert len(transitions) == 1


def test_two_new_versions_at_once_both_land_in_turn(chat: Chat):
    for number in range(1, 4):
        chat.send("rina", STORY)
        chat.send("dedi", f"/sunting {number}")
        outcomes = _race(
            chat,
            ("dedi", f"/revisi {number} Judul Dedi\nIsi dari Dedi."),
            ("hendra", f"/revisi {number} Judul Hendra\nIsi dari Hendra."),
        )
        assert outcomes == ["add_version", "add_version"], outcomes
        with chat.warta.db.transaction() as session:
            found = repo.story_by_number(session, number)
            assert found is not None and found.current_version == 3
    chat.flush()


def test_checklist_items_confirmed_at_once_still_verify(chat: Chat):
    for number in range(1, 4):
        chat.send("rina", STORY)
        chat.send("dedi", f"/sunting {number}")
        outcomes = _race(
            chat, ("dedi", f"/verifikasi {number} fakta"), ("hendra", f"/verifikasi {number} nama")
        )
        assert sorted(outcomes) == ["checklist_progress", "verify"], outcomes
        with chat.warta.db.transaction() as session:
            found = repo.story_by_number(session, number)
            assert found is not None and found.state == "verified"
    chat.flush()


def _snapshot(db_url: str, folder: Path) -> dict[str, list[tuple]]:
    warta = build(desk_settings(db_url, folder), channels={})
    try:
        with warta.db.transaction() as session:
            return {
                "stories": [
                    (s.number, s.state, s.holder_id, s.current_version, s.step, s.step_due_at)
                    for s in session.exec(select(Story).order_by(Story.number))
                ],
                "versions": [
                    (v.story_id, v.number, v.title, v.body)
                    for v in session.exec(select(StoryVersion).order_by(StoryVersion.id))
                ],
                "outbox": [
                    (o.id, o.kind, o.status, o.text, o.target)
                    for o in session.exec(select(OutboxItem).order_by(OutboxItem.id))
                ],
                "audit": [
                    (a.event, a.from_state, a.to_state)
                    for a in session.exec(select(AuditEvent).order_by(AuditEvent.id))
                ],
                "media": [m.sha256 for m in session.exec(select(Media))],
            }
    finally:
        warta.close()


def test_restart_between_every_step_keeps_everything(db_url: str, tmp_path: Path):
    clock = FakeClock()
    steps = [
        ("rina", STORY, (photo(),)),
        ("dedi", "/sunting 1", ()),
        ("dedi", "/revisi 1 Judul Baru\nIsi baru yang lebih lengkap.", ()),
        ("dedi", "/verifikasi 1 fakta", ()),
        ("dedi", "/verifikasi 1 nama", ()),
        ("budi", "/terbitkan 1", ()),
        ("dedi", "/arsipkan 1", ()),
    ]
    seen_replies: list[str] = []
    for index, (who, text, media) in enumerate(steps):
        before = _snapshot(db_url, tmp_path) if index else None
        chat = make_chat(db_url, tmp_path, clock=clock)  # a fresh process, same database
        if before is not None:
            assert _snapshot(db_url, tmp_path) == before
        chat.intake.receive(chat.message(who, text, media=media, message_id=f"step-{index}"))
        seen_replies += chat.flush()
        chat.warta.close()
        clock.advance(minutes=5)
    # The archive's checks run in the alarm clock's sweep: in yet another process.
    chat = make_chat(db_url, tmp_path, clock=clock)
    chat.warta.watch.sweep()
    seen_replies += chat.flush()
    chat.warta.close()
    final = _snapshot(db_url, tmp_path)
    assert final["stories"][0][1] == "archived"
    assert [v[1] for v in final["versions"]] == [1, 2]
    assert all(status in ("sent", "succeeded") for _, _, status, _, _ in final["outbox"])
    assert [event for event, _, _ in final["audit"]] == [
        "submit",
        "claim",
        "add_version",
        "verify",
        "publish",
        "publish_succeeded",
        "archive",
    ]
    assert len(final["media"]) == 1
    assert any("sudah terbit" in reply for reply in seen_replies)


def test_message_stored_but_not_handled_is_handled_once_after_restart(db_url: str, tmp_path: Path):
    clock = FakeClock()
    chat = make_chat(db_url, tmp_path, clock=clock)
    msg = chat.message("rina", STORY, message_id="crash-1")
    # The first transaction of receive() (store in the inbox) commits; the process dies before
    # handling it.
    with chat.warta.db.transaction() as session:
        repo.store_inbound(
            session,
            channel=msg.channel,
            chat_id=msg.chat_id,
            message_id=msg.message_id,
            sender=msg.sender,
            text=msg.text,
            payload={"chat_kind": "group", "media": []},
            now=clock(),
        )
    chat.warta.close()

    restarted = make_chat(db_url, tmp_path, clock=clock)
    assert restarted.warta.recover() == 1
    assert "Berita #1" in restarted.flush()[0]
    assert restarted.warta.recover() == 0
    assert restarted.deliver(msg) == []  # the channel redelivers it: no second story, no reply
    with restarted.warta.db.transaction() as session:
        assert len(session.exec(select(Story)).all()) == 1
        assert session.exec(select(InboxMessage)).one().outcome == "submitted"
    restarted.warta.close()


def test_outbox_item_of_a_worker_that_died_is_sent_after_its_lease(db_url: str, tmp_path: Path):
    clock = FakeClock()
    chat = make_chat(db_url, tmp_path, clock=clock)
    chat.intake.receive(chat.message("rina", STORY))
    with chat.warta.db.transaction() as session:  # a worker claims it, then the process dies
        claimed = repo.claim_due(session, now=clock(), lease=timedelta(minutes=5), limit=10)
    assert len(claimed) == 1
    chat.warta.close()

    messenger = LocalChannel()
    warta = build(desk_settings(db_url, tmp_path), channels={"local": messenger}, clock=clock)
    asyncio.run(warta.dispatcher.drain())
    assert messenger.said == []  # still leased to the dead worker
    clock.advance(minutes=6)
    asyncio.run(warta.dispatcher.drain())
    asyncio.run(warta.dispatcher.drain())
    assert len(messenger.said) == 1 and "Berita #1" in plain(messenger.said[0].text)
    warta.close()


class FlakyMessenger(LocalChannel):
    """Fails the first ``failures`` sends, like a channel that is briefly down."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def send(
        self,
        *,
        recipient: str,
        text: str,
        reply_to: str | None,
        template: str | None = None,
        story: int | None = None,
    ) -> str:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("network is unreachable")
        return await super().send(recipient=recipient, text=text, reply_to=reply_to)


def test_failed_send_is_retried_with_backoff_then_dead_lettered(sqlite_url: str, tmp_path: Path):
    clock = FakeClock()
    flaky = FlakyMessenger(failures=1)
    warta = build(desk_settings(sqlite_url, tmp_path), channels={"local": flaky}, clock=clock)
    warta.intake.receive(Chat(warta, flaky, clock).message("rina", STORY))
    asyncio.run(warta.dispatcher.drain())
    assert flaky.said == []
    with warta.db.transaction() as session:
        item = session.exec(select(OutboxItem)).one()
        assert item.status == "retrying" and item.attempts == 1
        assert "network is unreachable" in (item.last_error or "")
        assert item.next_attempt_at > clock()
    clock.advance(seconds=10)
    asyncio.run(warta.dispatcher.drain())
    assert len(flaky.said) == 1

    flaky.failures = 10_000
    warta.intake.receive(Chat(warta, flaky, clock).message("rina", "/daftar", message_id="x2"))
    # A chat message is not given up after a few attempts: a channel down for a day loses
    # nothing, and it is tried at least every few minutes so it leaves soon after.
    statuses = []
    for _hour in range(47):
        asyncio.run(warta.dispatcher.drain())
        with warta.db.transaction() as session:
            item = session.exec(select(OutboxItem).order_by(OutboxItem.id.desc())).first()
            statuses.append(item.status)
            assert item.next_attempt_at - clock() <= timedelta(minutes=5)
        clock.advance(hours=1)
    assert set(statuses) == {"retrying"}
    clock.advance(hours=2)  # past message_retry_for (2 days)
    asyncio.run(warta.dispatcher.drain())
    with warta.db.transaction() as session:
        statuses = [
            item.status for item in session.exec(select(OutboxItem).order_by(OutboxItem.id))
        ]
    assert statuses == ["sent", "dead"]
    warta.close()


def test_a_chat_message_held_up_for_a_day_is_delivered_when_the_channel_returns(
    sqlite_url: str, tmp_path: Path
):
    clock = FakeClock()
    flaky = FlakyMessenger(failures=10_000)
    warta = build(desk_settings(sqlite_url, tmp_path), channels={"local": flaky}, clock=clock)
    chat = Chat(warta, flaky, clock)
    for index, text in enumerate(("/daftar", "/bantuan", "/siapa")):
        warta.intake.receive(chat.message("rina", text, message_id=f"down-{index}"))
    for _ in range(24 * 12):  # a day, looking every five minutes
        asyncio.run(warta.dispatcher.drain())
        clock.advance(minutes=5)
    assert flaky.said == []
    flaky.failures = 0  # the network is back
    clock.advance(minutes=5)
    asyncio.run(warta.dispatcher.drain())
    # All three answers, each to its message, in the order they were written.
    assert [said.reply_to for said in flaky.said] == ["down-0", "down-1", "down-2"]
    warta.close()


def test_album_parts_survive_a_restart_and_become_one_story(db_url: str, tmp_path: Path):
    clock = FakeClock()
    chat = make_chat(db_url, tmp_path, clock=clock)
    for index, color in enumerate([(10, 0, 0), (0, 10, 0), (0, 0, 10)]):
        part = chat.message(
            "rina",
            STORY if index == 1 else "",
            media=(photo(color),),
            message_id=f"album-{index}",
        )
        receipt = chat.intake.receive(replace(part, group_id="g1"))
        assert receipt.outcome == "album_part"
    assert chat.flush() == []  # nothing answered while the album may still grow
    chat.warta.close()

    restarted = make_chat(db_url, tmp_path, clock=clock)
    assert restarted.warta.recover() == 0  # album parts wait for the album, not for recover()
    assert restarted.intake.flush_albums(quiet=timedelta(seconds=3)) == 0  # still quiet-timing
    clock.advance(seconds=5)
    assert restarted.intake.flush_albums(quiet=timedelta(seconds=3)) == 1
    replies = restarted.flush()
    assert len(replies) == 1 and "Berita #1" in replies[0] and "3 foto" in replies[0]
    late = restarted.message("rina", "", media=(photo((5, 5, 5)),), message_id="album-9")
    restarted.intake.receive(replace(late, group_id="g1"))
    clock.advance(seconds=5)
    restarted.intake.flush_albums(quiet=timedelta(seconds=3))
    assert "1 foto/berkas ditambahkan ke berita #1" in restarted.flush()[0]
    with restarted.warta.db.transaction() as session:
        assert len(session.exec(select(Story)).all()) == 1
        assert len(session.exec(select(Media)).all()) == 4
        outcomes = sorted(row.outcome or "" for row in session.exec(select(InboxMessage)))
    assert outcomes[-1] == "submitted" and outcomes.count("media_added") == 1
    restarted.warta.close()


def test_a_dead_instances_claim_runs_out_and_a_living_ones_is_renewed(
    sqlite_url: str, tmp_path: Path
):
    from storage import repo

    clock = FakeClock()
    chat = make_chat(sqlite_url, tmp_path, clock=clock)
    chat.intake.receive(chat.message("rina", "/siapa", message_id="a"))
    lease = chat.warta.dispatcher.lease
    with chat.warta.db.transaction() as session:  # an instance takes the reply, then is killed
        taken = repo.claim_due(session, now=clock(), lease=lease, limit=10, instance="killed:1")
    assert len(taken) == 1
    assert chat.flush() == []  # its claim still holds: the chat's queue waits behind it
    clock.advance(seconds=lease.total_seconds() + 1)
    assert "Rina" in chat.flush()[0]  # the claim ran out: this instance took the work over

    chat.intake.receive(chat.message("rina", "/siapa", message_id="b"))
    with chat.warta.db.transaction() as session:  # a living instance, still working on it
        held = repo.claim_due(session, now=clock(), lease=lease, limit=10, instance="alive:2")
    assert len(held) == 1
    for _ in range(3):
        clock.advance(seconds=lease.total_seconds() / 2)
        with chat.warta.db.transaction() as session:
            assert repo.renew_claims(session, instance="alive:2", until=clock() + lease) == 1
        assert chat.flush() == []  # renewed in time: nobody else takes it
    chat.warta.close()
