"""End to end over real HTTP: the real python-telegram-bot against the fake Bot API server."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import uvicorn
from sqlmodel import select

from bot.app import Warta, build
from bot.channels.ratelimit import ChatRateLimiter
from bot.channels.telegram import SECRET_HEADER, TelegramChannel
from bot.channels.telegram import WEBHOOK_PATH as TELEGRAM_WEBHOOK_PATH
from bot.config import Settings
from bot.http import make_http_app
from bot.run import bind
from handlers.desk import utc_now
from storage import repo
from storage.models import InboxMessage, Media, OutboxItem, Story
from tests.fakes.telegram_server import FakeTelegram
from tests.support import STORY, StepTime, jpeg

GROUP = -1001234567890
RINA, DEDI, BUDI, HENDRA, ANTON = 1001, 1002, 1003, 1004, 1005
WEBHOOK_SECRET = "s3cret-token-for-tests"
pytestmark = pytest.mark.asyncio


def settings(tmp_path: Path, tg: FakeTelegram, **telegram: object) -> Settings:
    return Settings.model_validate(
        {
            "data_dir": str(tmp_path),
            "database_url": f"sqlite:///{tmp_path / 'warta.db'}",
            "media": {"max_bytes": "200KB"},
            "verification": {"checklist": [{"key": "fakta", "label": "Fakta"}]},
            "people": [
                {"key": "rina", "name": "Rina", "roles": ["reporter"], "telegram": RINA},
                {"key": "anton", "name": "Anton", "roles": ["reporter"], "telegram": ANTON},
                {"key": "dedi", "name": "Dedi", "roles": ["editor"], "telegram": DEDI},
                {"key": "budi", "name": "Budi", "roles": ["operator"], "telegram": BUDI},
                {
                    "key": "hendra",
                    "name": "Hendra",
                    "roles": ["section_head", "editor"],
                    "telegram": HENDRA,
                },
            ],
            "publish": {
                "targets": [{"name": "arsip", "kind": "folder", "path": str(tmp_path / "p")}]
            },
            "telegram": {
                "enabled": True,
                "group_chat_id": GROUP,
                "base_url": tg.base_url,
                "base_file_url": tg.base_file_url,
                "token": tg.token,
                "webhook_secret": WEBHOOK_SECRET,
                "album_quiet": "1s",
                **telegram,
            },
        }
    )


def telegram(warta: Warta) -> TelegramChannel:
    channel = warta.channels["telegram"]
    assert isinstance(channel, TelegramChannel)
    return channel


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        fake.add_chat(GROUP, "supergroup", title="Redaksi Media Center")
        for user, name in ((RINA, "Rina"), (DEDI, "Dedi"), (BUDI, "Budi"), (HENDRA, "Hendra")):
            fake.add_user(user, name)
            fake.add_chat(user, "private", first_name=name)
        fake.add_user(ANTON, "Anton")
        yield fake


class Desk:
    """A running Warta on the fake Telegram: poll, settle albums, deliver the outbox."""

    def __init__(self, warta: Warta, tg: FakeTelegram) -> None:
        self.warta, self.tg = warta, tg
        self.channel = telegram(warta)
        steps = StepTime()  # a wait for the rate limits moves this clock on: nothing sleeps
        self.channel.limiter = ChatRateLimiter(
            global_per_second=1000,
            private_per_second=1000,
            group_per_minute=10_000,
            clock=steps.clock,
            sleep=steps.sleep,
        )

    async def cycle(self, *, albums: bool = True) -> None:
        await self.channel.poll_once(timeout=0)
        if albums:
            await asyncio.to_thread(self.warta.intake.flush_albums, quiet=self.quiet())
        await self.warta.dispatcher.drain()

    def quiet(self):
        from datetime import timedelta

        return timedelta(0)

    def story(self, number: int = 1) -> Story:
        with self.warta.db.transaction() as session:
            found = repo.story_by_number(session, number)
            assert found is not None
            return found

    def card(self, number: int = 1) -> dict:
        with self.warta.db.transaction() as session:
            card = repo.card_record(session, self.story(number).id or 0, "telegram", str(GROUP))
        assert card is not None
        return self.tg.message(GROUP, int(card.message_id))

    def button(self, number: int, label_part: str) -> str:
        rows = self.card(number)["reply_markup"]["inline_keyboard"]
        return next(b["callback_data"] for row in rows for b in row if label_part in b["text"])

    def group_texts(self) -> list[str]:
        return [m.get("text", "") for m in self.tg.messages_in(GROUP, from_bot=True)]


@pytest_asyncio.fixture
async def desk(tmp_path: Path, tg: FakeTelegram):
    warta = build(settings(tmp_path, tg))
    await telegram(warta).start()
    running = Desk(warta, tg)
    yield running
    await telegram(warta).stop()
    warta.close()


async def test_album_in_parts_across_polls_becomes_one_story_with_a_card(desk: Desk, tg):
    photos = [jpeg((40 * i, 10, 10)) for i in range(1, 5)]
    tg.push_message(GROUP, RINA, photo=photos[0], caption=STORY, media_group_id="album-1")
    await desk.cycle(albums=False)
    for image in photos[1:]:
        tg.push_message(GROUP, RINA, photo=image, media_group_id="album-1")
    await desk.cycle()
    with desk.warta.db.transaction() as session:
        assert len(session.exec(select(Story)).all()) == 1
        assert len(session.exec(select(Media)).all()) == 4
    stored = sorted(desk.warta.media.root.rglob("*.jpg"))
    assert sorted(p.read_bytes() for p in stored) == sorted(photos)
    assert any(
        "Berita #1 «Wali Kota Buka Musrenbang» sudah diterima dengan 4 foto" in t
        for t in desk.group_texts()
    )
    card = desk.card()
    assert (
        "#1" in card["text"] and "menunggu penyuntingan" in card["text"] and "📷 4" in card["text"]
    )
    assert "Sunting" in card["reply_markup"]["inline_keyboard"][0][0]["text"]


async def test_buttons_and_commands_through_verification_edit_the_card_in_place(desk: Desk, tg):
    tg.push_message(GROUP, RINA, text=STORY)
    await desk.cycle()
    card_id = desk.card()["message_id"]
    tg.push_callback_query(GROUP, DEDI, card_id, desk.button(1, "Sunting"))
    await desk.cycle()
    assert tg.answered_callbacks[-1]["text"] == "Beres ✓"
    card = desk.card()
    assert card["message_id"] == card_id  # edited, not sent again
    assert "sedang disunting" in card["text"] and "(Dedi)" in card["text"]
    assert any("sedang disunting oleh Dedi" in t for t in desk.group_texts())
    tg.push_message(GROUP, DEDI, text="/verifikasi 1 fakta")
    await desk.cycle()
    card = desk.card()
    assert card["message_id"] == card_id and "terverifikasi" in card["text"]
    labels = [b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
    assert any("Terbitkan" in label for label in labels)
    tg.push_callback_query(GROUP, BUDI, card_id, desk.button(1, "Terbitkan"))
    await desk.cycle()
    await desk.cycle()
    card = desk.card()
    assert "sudah terbit" in card["text"] and "✅ arsip: file://" in card["text"]
    assert desk.story().state == "published"


async def test_unauthorised_press_is_refused_privately(desk: Desk, tg):
    tg.push_message(GROUP, RINA, text=STORY)
    await desk.cycle()
    tg.push_message(GROUP, DEDI, text="/sunting 1")
    await desk.cycle()
    tg.push_message(GROUP, DEDI, text="/verifikasi 1 semua")
    await desk.cycle()
    before = len(desk.group_texts())
    tg.push_callback_query(GROUP, RINA, desk.card()["message_id"], desk.button(1, "Terbitkan"))
    await desk.cycle()
    answer = tg.answered_callbacks[-1]
    assert "hanya Kasi atau Admin/Operator yang dapat menerbitkan berita" in answer["text"]
    assert answer.get("show_alert") is True
    assert desk.story().state == "verified"
    assert len(desk.group_texts()) == before  # the refusal is not broadcast to the group


async def test_forged_and_stale_buttons_are_refused(desk: Desk, tg):
    tg.push_message(GROUP, RINA, text=STORY)
    await desk.cycle()
    card_id = desk.card()["message_id"]
    claim = desk.button(1, "Sunting")
    tg.push_callback_query(GROUP, DEDI, card_id, claim.replace("/sunting", "/batal"))
    await desk.cycle()
    assert "tidak dikenali" in tg.answered_callbacks[-1]["text"]
    tg.push_callback_query(GROUP, DEDI, card_id, claim)
    await desk.cycle()
    tg.push_message(GROUP, DEDI, text="/lepas 1")
    await desk.cycle()
    tg.push_callback_query(GROUP, HENDRA, card_id, claim)  # drawn before /sunting and /lepas
    await desk.cycle()
    assert "sudah berubah" in tg.answered_callbacks[-1]["text"]
    assert desk.story().state == "submitted"


async def test_non_ascii_forged_button_is_refused_and_polling_goes_on(desk: Desk, tg):
    tg.push_message(GROUP, RINA, text=STORY)
    await desk.cycle()
    tg.push_callback_query(GROUP, DEDI, desk.card()["message_id"], "/sunting 1|1|é")
    tg.push_message(GROUP, DEDI, text="/siapa")
    await desk.cycle()
    assert "tidak dikenali" in tg.answered_callbacks[-1]["text"]
    assert any("terdaftar sebagai Dedi" in t for t in desk.group_texts())
    assert desk.story().state == "submitted"


async def test_album_in_another_group_is_kept_but_not_answered(desk: Desk, tg):
    other = -1005550001
    tg.add_chat(other, "supergroup", title="Grup Lain")
    tg.push_message(other, RINA, photo=[jpeg((1, 1, 1)), jpeg((2, 2, 2))], caption=STORY)
    tg.push_message(other, RINA, text=STORY)
    await desk.cycle()
    with desk.warta.db.transaction() as session:
        assert session.exec(select(Story)).all() == []
        outcomes = sorted(row.outcome or "" for row in session.exec(select(InboxMessage)))
    assert outcomes.count("foreign_chat") == 2
    assert tg.messages_in(other, from_bot=True) == []


async def test_update_fetched_but_not_stored_is_handled_exactly_once_after_restart(
    tmp_path: Path, tg
):
    tg.push_message(GROUP, RINA, text=STORY)
    first = build(settings(tmp_path, tg))
    await telegram(first).start()
    fetched = await telegram(first).bot.get_updates(timeout=0)  # received, then the process dies
    assert len(fetched) == 1
    await telegram(first).stop()
    first.close()

    for _restart in range(2):  # the second restart gets the same update again (not confirmed)
        warta = build(settings(tmp_path, tg))
        running = Desk(warta, tg)
        await running.channel.start()
        await running.cycle()
        await running.channel.stop()
        warta.close()
    warta = build(settings(tmp_path, tg))
    with warta.db.transaction() as session:
        assert len(session.exec(select(Story)).all()) == 1
        assert len(session.exec(select(InboxMessage)).all()) == 1
    warta.close()
    received = [
        t
        for t in [m.get("text", "") for m in tg.messages_in(GROUP, from_bot=True)]
        if "sudah diterima" in t
    ]
    assert len(received) == 1


async def test_429_delays_only_that_chat_and_keeps_its_order(desk: Desk, tg):
    tg.fail_next("sendMessage", chat_id=GROUP, retry_after=1)
    tg.push_message(GROUP, DEDI, text="/siapa")
    tg.push_message(GROUP, DEDI, text="/bantuan")
    tg.push_message(RINA, RINA, text="/siapa")
    await desk.cycle()
    await desk.warta.dispatcher.drain()
    assert any("Rina" in m.get("text", "") for m in tg.messages_in(RINA, from_bot=True))
    assert desk.group_texts() == []  # the second group message waits behind the first
    with desk.warta.db.transaction() as session:
        waiting = session.exec(
            select(OutboxItem).where(OutboxItem.status == "pending").order_by(OutboxItem.id)
        ).all()
    assert [item.recipient for item in waiting] == [str(GROUP), str(GROUP)]
    assert "wait 1" in (waiting[0].last_error or "")
    # A second later (the dispatcher's clock moved on by hand, not slept through):
    desk.warta.dispatcher.clock = lambda: utc_now() + timedelta(seconds=1.1)
    await desk.warta.dispatcher.drain()
    texts = desk.group_texts()
    assert len(texts) == 2 and "Dedi" in texts[0] and "Perintah yang dapat" in texts[1]


async def test_long_text_is_split_at_the_limit(desk: Desk, tg):
    body = "\n\n".join(f"Paragraf {i}: " + "kata " * 60 for i in range(40))
    tg.push_message(GROUP, RINA, text="Judul Panjang\n" + body)
    await desk.cycle()
    tg.push_message(GROUP, DEDI, text="/sunting 1")
    await desk.cycle()
    texts = desk.group_texts()
    claim_parts = [t for t in texts if "Paragraf" in t]
    assert len(claim_parts) >= 3 and all(len(t) <= 4096 for t in claim_parts)
    assert "".join(claim_parts).count("Paragraf") == 40


async def test_oversized_photo_is_not_downloaded_and_the_story_is_kept(desk: Desk, tg):
    big = jpeg((1, 2, 3), size=(1200, 1200)) + b"\0" * 300_000
    tg.push_message(GROUP, RINA, photo=big, caption=STORY)
    await desk.cycle()
    assert desk.story().title == "Wali Kota Buka Musrenbang"
    assert any("tidak disimpan: ukurannya" in t for t in desk.group_texts())
    assert tg.calls_of("getFile") == []


async def test_command_menu_in_both_languages_and_scopes(desk: Desk, tg):
    await desk.channel.publish_commands()
    group_id = [c["command"] for c in tg.commands[("all_group_chats", "id")]]
    group_en = [c["command"] for c in tg.commands[("all_group_chats", "en")]]
    private = [c["command"] for c in tg.commands[("all_private_chats", "id")]]
    assert "sunting" in group_id and "terbitkan" in group_id
    assert "edit" in group_en and "publish" in group_en
    assert "kirim" in private and "terbitkan" not in private


async def test_webhook_refuses_a_wrong_secret_and_stores_a_right_one(tmp_path: Path, tg):
    warta = build(settings(tmp_path, tg, mode="webhook", webhook_url="https://warta.example"))
    await telegram(warta).start()
    sock = bind("127.0.0.1", 0)  # listening before the server runs: no waiting for it
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(make_http_app(warta), log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])))
    thread.start()
    try:
        update = {
            "update_id": 1,
            "message": {
                "message_id": 7,
                "date": 1_790_000_000,
                "chat": {"id": GROUP, "type": "supergroup", "title": "Redaksi"},
                "from": {"id": DEDI, "is_bot": False, "first_name": "Dedi"},
                "text": "/siapa",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        }
        url = f"http://127.0.0.1:{port}{TELEGRAM_WEBHOOK_PATH}"
        async with httpx.AsyncClient() as client:
            wrong = await client.post(url, json=update, headers={SECRET_HEADER: "nope"})
            missing = await client.post(url, json=update)
            with warta.db.transaction() as session:
                assert session.exec(select(InboxMessage)).all() == []
            right = await client.post(url, json=update, headers={SECRET_HEADER: WEBHOOK_SECRET})
            health = await client.get(f"http://127.0.0.1:{port}/health")
        assert (wrong.status_code, missing.status_code, right.status_code) == (403, 403, 200)
        assert health.json()["outbox_pending"] == 1
        # This test runs no alarm clock, and the health check says so.
        assert (health.status_code, health.json()["status"]) == (503, "degraded")
        assert health.json()["reasons"] == [
            "no instance leads the alarm clock (reminders and the digest wait)"
        ]
        with warta.db.transaction() as session:
            assert session.exec(select(InboxMessage)).one().outcome == "whoami"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        await telegram(warta).stop()
        warta.close()


async def test_forum_topics_replies_stay_in_their_topic_and_cards_go_to_the_cards_topic(
    tmp_path: Path,
):
    forum = -1007770001
    with FakeTelegram() as fake:
        fake.add_chat(forum, "supergroup", title="Redaksi (forum)", is_forum=True)
        for user, name in ((RINA, "Rina"), (DEDI, "Dedi")):
            fake.add_user(user, name)
        config = settings(tmp_path, fake, group_chat_id=forum, cards_topic_id=3)
        warta = build(config)
        running = Desk(warta, fake)
        await running.channel.start()
        try:
            fake.push_message(forum, RINA, text=STORY, message_thread_id=7)
            await running.cycle()
            sent = fake.messages_in(forum, from_bot=True)
            receipt = next(m for m in sent if "sudah diterima" in m.get("text", ""))
            card = next(m for m in sent if m.get("reply_markup"))
            assert receipt.get("message_thread_id") == 7
            assert card.get("message_thread_id") == 3
            fake.push_message(
                forum, DEDI, text="/sunting 1", reply_to_message_id=card["message_id"]
            )
            await running.cycle()
            claimed = [
                m
                for m in fake.messages_in(forum, from_bot=True)
                if "disunting oleh" in m.get("text", "")
            ]
            assert claimed and claimed[-1].get("message_thread_id") == 3
            assert "(Dedi)" in fake.message(forum, card["message_id"])["text"]
        finally:
            await running.channel.stop()
            warta.close()


async def test_a_command_for_another_bot_in_the_group_is_not_answered(desk: Desk, tg):
    tg.push_message(GROUP, DEDI, text="/bantuan@SomeOtherBot")
    await desk.cycle()
    assert desk.group_texts() == []
    tg.push_message(GROUP, DEDI, text="/bantuan@warta_test_bot")
    await desk.cycle()
    assert any("/sunting" in text for text in desk.group_texts())
