"""The WhatsApp channel end to end on loopback: a real Warta (its HTTP server, intake, outbox
and database) and the official twilio library against the fake Twilio, which posts signed
webhooks and status callbacks to Warta's public address (forwarded to the local server)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import uvicorn
from sqlmodel import select

from bot.app import Warta, build
from bot.channels.markup import Markup, render
from bot.channels.ratelimit import ChatRateLimiter
from bot.channels.telegram import TelegramChannel
from bot.channels.whatsapp import (
    STATUS_PATH,
    WEBHOOK_PATH,
    WhatsAppChannel,
    host_allowed,
    one_line,
    supersedes,
)
from bot.config import ConfigError, Settings, load_settings
from bot.http import make_http_app
from bot.run import bind
from storage import repo
from storage.models import InboxMessage, Media, OutboxItem, Story, WhatsAppContact
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.twilio_server import FakeTwilio, InboundResult
from tests.support import STORY, FakeClock, StepTime, jpeg

PUBLIC = "https://warta.example.go.id"
NUMBERS = {
    "rina": "+6281100000001",
    "anton": "+6281100000002",
    "dedi": "+6281100000003",
    "budi": "+6281100000004",
    "hendra": "+6281100000005",
}
PEOPLE = [
    {"key": "rina", "name": "Rina", "roles": ["reporter"]},
    {"key": "anton", "name": "Anton", "roles": ["reporter"]},
    {"key": "dedi", "name": "Dedi", "roles": ["editor"]},
    {"key": "budi", "name": "Budi", "roles": ["operator"]},
    {"key": "hendra", "name": "Hendra", "roles": ["section_head"]},
]
REMINDER_SID = "HX" + "a1" * 16
ESCALATION_SID = "HX" + "b2" * 16
NUDGE_SID = "HX" + "c3" * 16


def whatsapp_entry(fake: FakeTwilio, **overrides: Any) -> dict[str, Any]:
    """The channel's config entry, pointed at the fake (the secrets given, not read from the
    environment)."""
    return {
        "kind": "whatsapp",
        "sender": fake.whatsapp_number,
        "public_url": PUBLIC,
        "media_hosts": ["127.0.0.1"],
        "api_base": fake.base_url,
        "account_sid": fake.account_sid,
        "auth_token": fake.auth_token,
        "templates": {
            "sla_reminder": REMINDER_SID,
            "sla_escalation": {"content_sid": ESCALATION_SID, "variables": ["name", "text"]},
            "nudge": {"content_sid": NUDGE_SID, "variables": ["count"]},
        },
        **overrides,
    }


def desk_settings(
    db_url: str,
    folder: Path,
    fake: FakeTwilio,
    *,
    on_whatsapp: tuple[str, ...] = tuple(NUMBERS),
    channels: list[dict[str, Any]] | None = None,
    **overrides: Any,
) -> Settings:
    people = [
        {**person, **({"whatsapp": NUMBERS[person["key"]]} if person["key"] in on_whatsapp else {})}
        for person in PEOPLE
    ]
    raw: dict[str, Any] = {
        "data_dir": str(folder),
        "database_url": db_url,
        "media": {"max_bytes": "200KB"},
        "sla": {"submission": "1h", "editing": "3h", "publishing": "2h", "notify": ["private"]},
        "verification": {"checklist": [{"key": "fakta", "label": "Fakta sudah dicek"}]},
        "people": people,
        "publish": {"targets": [{"name": "arsip", "kind": "folder", "path": str(folder / "pub")}]},
        "channels": channels if channels is not None else [whatsapp_entry(fake)],
        "web": {"board": False},
    }
    raw.update(overrides)
    return Settings.model_validate(raw)


def readable(body: str) -> str:
    """A WhatsApp text as the member reads it (the *bold* and _italic_ markers gone)."""
    body = body.replace("```", "")
    return re.sub(r"(?<![\w*_`])([*_`])(?=\S)(.+?)(?<=\S)\1(?![\w*_`])", r"\2", body)


class Newsroom:
    """A running Warta whose members write on WhatsApp through the fake Twilio."""

    def __init__(self, warta: Warta, fake: FakeTwilio, clock: FakeClock) -> None:
        self.warta, self.fake, self.clock = warta, fake, clock
        channel = warta.channels["whatsapp"]
        assert isinstance(channel, WhatsAppChannel)
        self.channel = channel
        self.server: uvicorn.Server | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        sock = bind("127.0.0.1", 0)
        self.fake.forward(PUBLIC, f"http://127.0.0.1:{sock.getsockname()[1]}")
        self.server = uvicorn.Server(
            uvicorn.Config(make_http_app(self.warta), log_level="warning", lifespan="off")
        )
        self.task = asyncio.create_task(self.server.serve(sockets=[sock]))
        # The socket already listens: requests wait in its queue until the server takes them.
        await asyncio.sleep(0)
        for channel in self.warta.channels.values():
            await channel.start()

    async def stop(self) -> None:
        for channel in self.warta.channels.values():
            await channel.stop()
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            await self.task
        self.warta.close()

    # -- the members' side --------------------------------------------------------------------

    async def write(
        self,
        who: str,
        text: str = "",
        *,
        media: tuple[tuple[bytes, str], ...] = (),
        settle: bool = True,
        **options: Any,
    ) -> InboundResult:
        """``who`` writes to Warta's number; then (``settle``) Warta finishes what it can."""
        result = await self.fake.inbound_async(
            PUBLIC + WEBHOOK_PATH,
            from_="whatsapp:" + NUMBERS[who],
            body=text,
            media=media,
            **options,
        )
        if settle:
            await self.settle()
        return result

    async def settle(self, *, album_quiet: bool = False) -> None:
        """Hand the albums to the desk (at once, or only those quiet long enough) and deliver
        the outbox."""
        quiet = None if album_quiet else timedelta(0)
        await asyncio.to_thread(self.warta.intake.flush_albums, quiet=quiet)
        await self.warta.dispatcher.drain()

    async def callbacks(self, order: str = "in_order") -> None:
        await self.fake.deliver_callbacks_async(order=order)  # type: ignore[arg-type]

    def received(self, who: str) -> list[str]:
        """What reached ``who``'s phone, in order, as they read it."""
        to = "whatsapp:" + NUMBERS[who]
        return [
            readable(self.fake.rendered(sent))
            for sent in self.fake.sent
            if sent["to"] == to and sent["sid"]
        ]

    def sent_to(self, who: str) -> list[dict[str, Any]]:
        to = "whatsapp:" + NUMBERS[who]
        return [sent for sent in self.fake.sent if sent["to"] == to and sent["sid"]]

    # -- Warta's side -------------------------------------------------------------------------

    def stories(self) -> list[Story]:
        with self.warta.db.transaction() as session:
            return list(session.exec(select(Story).order_by(Story.id)))

    def inbox(self) -> list[InboxMessage]:
        with self.warta.db.transaction() as session:
            return list(session.exec(select(InboxMessage).order_by(InboxMessage.id)))

    def outbox(self) -> list[OutboxItem]:
        with self.warta.db.transaction() as session:
            return list(session.exec(select(OutboxItem).order_by(OutboxItem.id)))

    def media(self) -> list[Media]:
        with self.warta.db.transaction() as session:
            return list(session.exec(select(Media).order_by(Media.id)))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeTwilio]:
    with FakeTwilio(clock=clock) as running:
        for sid in (REMINDER_SID, ESCALATION_SID):
            running.add_template(
                sid, "⏰ Pengingat meja redaksi: {{1}} {{2}} — balas untuk rincian."
            )
        running.add_template(NUDGE_SID, "{{1}} pesan baru di meja redaksi — balas untuk membaca")
        yield running


async def running(settings: Settings, fake: FakeTwilio, clock: FakeClock) -> Newsroom:
    room = Newsroom(build(settings, clock=clock), fake, clock)
    await room.start()
    return room


@pytest_asyncio.fixture
async def room(
    sqlite_url: str, tmp_path: Path, fake: FakeTwilio, clock: FakeClock
) -> AsyncIterator[Newsroom]:
    started = await running(desk_settings(sqlite_url, tmp_path, fake), fake, clock)
    yield started
    await started.stop()


async def everyone_writes(room: Newsroom, *who: str) -> None:
    """The members open their 24-hour windows (each says hello)."""
    for person in who or tuple(NUMBERS):
        await room.write(person, "/siapa")


# -- 1. a submission in parts ------------------------------------------------------------------


@pytest.mark.asyncio
async def test_text_and_three_photos_make_one_story_and_the_editors_are_told(room: Newsroom):
    await everyone_writes(room)
    photos = [jpeg((60 * i, 20, 20)) for i in range(1, 4)]
    await room.write("rina", STORY, settle=False)
    for index, photo in enumerate(photos):
        room.clock.advance(seconds=1)
        caption = "Suasana di aula" if index == 1 else ""
        await room.write("rina", caption, media=((photo, "image/jpeg"),), settle=False)
    await room.settle(album_quiet=True)
    assert room.stories() == []  # the last photo came a second ago: the album is not complete
    room.clock.advance(seconds=5)
    await room.settle(album_quiet=True)

    (story,) = room.stories()
    assert story.title == "Wali Kota Buka Musrenbang" and story.origin_channel == "whatsapp"
    assert story.origin_chat == NUMBERS["rina"]
    stored = room.media()
    assert sorted(m.size for m in stored) == sorted(len(p) for p in photos)
    assert [m.caption for m in stored].count("Suasana di aula") == 1
    assert any("sudah diterima dengan 3 foto" in text for text in room.received("rina"))
    for editor in ("dedi", "hendra", "budi"):  # followers of every story, one to one
        assert any(
            text.startswith("📰 #1 Wali Kota Buka Musrenbang") for text in room.received(editor)
        )
        assert any("/sunting 1" in text for text in room.received(editor))  # commands to type
    assert not any("#1" in text for text in room.received("anton"))  # another reporter's story


@pytest.mark.asyncio
async def test_a_burst_keeps_its_story_text_and_a_second_text_is_a_second_story(room: Newsroom):
    await room.write("rina", media=((jpeg((1, 1, 1)), "image/jpeg"),), settle=False)
    room.clock.advance(seconds=1)
    await room.write("rina", "Foto 2", media=((jpeg((2, 2, 2)), "image/jpeg"),), settle=False)
    room.clock.advance(seconds=1)
    await room.write("rina", STORY, settle=False)  # the text after the photos
    room.clock.advance(seconds=1)
    await room.write("rina", "Judul Kedua\nIsi berita kedua.", settle=False)  # another story
    room.clock.advance(seconds=1)
    await room.write("rina", "/siapa", settle=False)  # a command is not kept back
    await room.warta.dispatcher.drain()
    assert room.stories() == []
    assert any("terdaftar sebagai Rina" in text for text in room.received("rina"))
    room.clock.advance(seconds=5)
    await room.settle(album_quiet=True)
    first, second = room.stories()
    assert (first.title, second.title) == ("Wali Kota Buka Musrenbang", "Judul Kedua")
    assert [m.story_id for m in room.media()] == [first.id, first.id]
    assert [m.caption for m in room.media()] == [None, "Foto 2"]


# -- 2. only Twilio gets in -------------------------------------------------------------------


@pytest.mark.parametrize("signature", ["bad", "missing"])
@pytest.mark.asyncio
async def test_a_tampered_or_unsigned_request_is_refused_and_nothing_is_stored(
    room: Newsroom, signature: str
):
    result = await room.write("rina", STORY, signature=signature)
    assert result.status_code == 403
    assert room.inbox() == [] and room.outbox() == []
    with room.warta.db.transaction() as session:
        assert session.exec(select(WhatsAppContact)).all() == []  # no window opened either
    status = await room.fake.inbound_async(
        PUBLIC + STATUS_PATH, from_="whatsapp:" + NUMBERS["rina"], signature=signature
    )
    assert status.status_code == 403


@pytest.mark.asyncio
async def test_the_signature_is_checked_against_the_public_address_not_the_local_one(
    room: Newsroom,
):
    result = await room.write("rina", "/siapa")
    assert result.status_code == 200 and result.signed_url == PUBLIC + WEBHOOK_PATH
    assert result.url.startswith("http://127.0.0.1:")  # the proxy's way in
    assert result.headers["content-type"].startswith("text/xml")
    assert "<Response/>" in result.text  # empty TwiML: the answer goes through the API
    signed_locally = await room.fake.inbound_async(
        PUBLIC + WEBHOOK_PATH,
        from_="whatsapp:" + NUMBERS["rina"],
        body="/siapa",
        public_url=result.url,
    )
    assert signed_locally.status_code == 403
    assert len(room.inbox()) == 1


@pytest.mark.asyncio
async def test_an_unknown_number_is_stored_and_told_it_is_not_registered(room: Newsroom):
    stranger = "whatsapp:+6289900001111"
    await room.fake.inbound_async(PUBLIC + WEBHOOK_PATH, from_=stranger, body="Halo, saya wartawan")
    room.clock.advance(seconds=5)
    await room.settle(album_quiet=True)
    (row,) = room.inbox()
    assert (row.chat_id, row.sender, row.outcome) == (
        "+6289900001111",
        "+6289900001111",
        "not_registered",
    )
    (answer,) = [s for s in room.fake.sent if s["to"] == stranger]
    assert "belum terdaftar" in answer["body"] and "whatsapp: +6289900001111" in answer["body"]


# -- 3. at least once in, exactly once handled -------------------------------------------------


@pytest.mark.asyncio
async def test_a_redelivered_message_is_handled_once(room: Newsroom):
    first = await room.write("rina", STORY)
    again = await room.fake.redeliver_async(first)
    await room.settle()
    command = await room.write("dedi", "/siapa")
    await room.fake.redeliver_async(command)
    await room.settle()
    assert again.status_code == 200
    assert len(room.inbox()) == 2 and len(room.stories()) == 1
    assert sum("sudah diterima" in text for text in room.received("rina")) == 1
    assert sum("terdaftar sebagai Dedi" in text for text in room.received("dedi")) == 1


# -- 4. media: credentials only to Twilio's host, size-limited ---------------------------------


@pytest.mark.asyncio
async def test_media_credentials_never_go_to_the_cdn_and_odd_files_are_refused(room: Newsroom):
    await room.write("rina", STORY, settle=False)
    photo = jpeg((10, 120, 10))
    await room.write("rina", media=((photo, "image/jpeg"),), settle=False)
    big = jpeg((1, 2, 3)) + b"\0" * 300_000  # over the 200 KB limit
    await room.write("rina", media=((big, "image/jpeg"),), settle=False)
    elsewhere = f"http://localhost:{room.fake.cdn_port}/not-twilio/photo.jpg"
    await room.write(
        "rina",
        settle=False,
        extra={"NumMedia": "1", "MediaUrl0": elsewhere, "MediaContentType0": "image/jpeg"},
    )
    await room.settle()

    assert len(room.stories()) == 1
    (stored,) = room.media()
    assert stored.size == len(photo)
    receipt = next(text for text in room.received("rina") if "sudah diterima" in text)
    assert "melebihi batas" in receipt and "gagal diunduh" in receipt
    fetched = room.fake.media_requests
    api = [r for r in fetched if r["stage"] == "api"]
    cdn = [r for r in fetched if r["stage"] == "cdn"]
    assert len(api) == 2 and all(r["authorization"] for r in api)
    assert cdn and not any(r["authorization"] for r in cdn)  # the CDN never sees the token
    assert all(r["host"].startswith("127.0.0.1:") for r in api)
    assert not any(r["path"].startswith("/not-twilio") for r in fetched)  # not fetched at all


# -- 5. long texts ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_long_text_is_split_at_1600(room: Newsroom):
    await everyone_writes(room, "rina", "dedi")
    body = "\n\n".join(f"Paragraf {i}: " + "kata 🙂 " * 45 for i in range(30))
    await room.write("rina", "Judul Panjang\n" + body)
    await room.write("dedi", "/sunting 1")
    parts = [text for text in room.received("dedi") if "Paragraf" in text]
    bodies = [s["body"] for s in room.sent_to("dedi") if "Paragraf" in (s["body"] or "")]
    assert len(parts) >= 3
    assert all(len(b.encode("utf-16-le")) // 2 <= 1600 for b in bodies)  # emoji count twice
    assert all(s["http_status"] == 201 for s in room.fake.sent)  # Twilio refused none
    found = re.findall(r"Paragraf (\d+)", "".join(parts))
    assert found == [str(i) for i in range(30)]


# -- 6. delivery states -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "wins"),
    [
        (None, "queued", True),
        ("queued", "sent", True),
        ("sent", "queued", False),
        ("delivered", "sent", False),
        ("delivered", "read", True),
        ("read", "delivered", False),
        ("delivered", "failed", True),
        ("failed", "delivered", False),
        ("undelivered", "read", False),
        ("failed", "undelivered", False),
        ("accepted", "queued", True),
    ],
)
def test_the_furthest_state_wins_and_failures_are_final(old, new, wins):
    assert supersedes(new, old) is wins


@pytest_asyncio.fixture
async def any_room(
    db_url: str, tmp_path: Path, fake: FakeTwilio, clock: FakeClock
) -> AsyncIterator[Newsroom]:
    """A newsroom on SQLite and on PostgreSQL (the channel's own tables)."""
    started = await running(desk_settings(db_url, tmp_path, fake), fake, clock)
    yield started
    await started.stop()


@pytest.mark.asyncio
async def test_status_callbacks_out_of_order_end_in_the_right_state(any_room: Newsroom):
    room = any_room
    room.fake.read_receipts = True
    await room.write("dedi", "/siapa")
    (read,) = room.sent_to("dedi")
    await room.callbacks(order="reversed")  # read, delivered, sent
    room.fake.read_receipts = False
    room.fake.fail_delivery(NUMBERS["dedi"], status="undelivered", error_code=63024)
    await room.write("dedi", "/siapa")
    lost = room.sent_to("dedi")[-1]
    await room.callbacks(order="reversed")  # undelivered, then sent
    await room.write("dedi", "/siapa")
    fine = room.sent_to("dedi")[-1]
    await room.callbacks()

    ledger = room.channel.ledger
    assert [c.status_code for c in room.fake.callbacks] == [200] * len(room.fake.callbacks)
    states = {sid: ledger.state(sid) for sid in (read["sid"], lost["sid"], fine["sid"])}
    assert states[read["sid"]].status == "read"
    assert (states[lost["sid"]].status, states[lost["sid"]].error_code) == ("undelivered", 63024)
    assert states[fine["sid"]].status == "delivered"
    assert states[fine["sid"]].sent_as == "free" and states[fine["sid"]].kind == "whoami"


# -- 7. the 24-hour window ----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_reminder_outside_the_window_goes_as_a_template_and_the_nudge_brings_the_rest(
    any_room: Newsroom,
):
    room = any_room
    await room.write("rina", STORY)  # Dedi, the editor, has not written for days (or ever)
    (nudge,) = room.sent_to("dedi")
    assert (nudge["content_sid"], nudge["content_variables"]) == (NUDGE_SID, {"1": "1"})
    waiting = [i for i in room.outbox() if i.recipient == NUMBERS["dedi"] and i.status == "pending"]
    assert len(waiting) == 1 and "outside WhatsApp's 24-hour window" in (
        waiting[0].last_error or ""
    )

    await room.write("anton", "Judul Kedua\nIsi berita kedua.")  # more news for Dedi: no new nudge
    room.clock.advance(hours=1, minutes=31)
    report = await asyncio.to_thread(room.warta.watch.sweep)  # the 50 % reminders
    await room.warta.dispatcher.drain()
    assert report.sent == 2
    templates = [s for s in room.sent_to("dedi") if s["content_sid"] == REMINDER_SID]
    assert len(templates) == 2  # not held up behind the cards that wait for Dedi
    assert all("#" in s["content_variables"]["1"] for s in templates)
    assert all("\n" not in s["content_variables"]["1"] for s in templates)
    assert [s["content_sid"] for s in room.sent_to("dedi")].count(NUDGE_SID) == 1
    assert not any(s["body"] and not s["content_sid"] for s in room.sent_to("dedi"))
    delivered = await room.fake.deliver_callbacks_async()
    assert {d.status for d in delivered if d.message_sid == templates[0]["sid"]} == {
        "sent",
        "delivered",
    }

    await room.write("dedi", "/sunting 1")  # he reads the nudge and answers
    backlog = [readable(s["body"]) for s in room.sent_to("dedi") if not s["content_sid"]]
    assert [text.split("\n")[0] for text in backlog[:2]] == [
        "📰 #1 Wali Kota Buka Musrenbang",
        "📰 #2 Judul Kedua",
    ]  # what waited comes first (drawn as the stories stand now), then the answer
    assert backlog[2].startswith("Berita #1 «Wali Kota Buka Musrenbang» sedang disunting oleh Dedi")
    mine = [i for i in room.outbox() if i.recipient == NUMBERS["dedi"]]
    assert {i.status for i in mine} == {"sent", "superseded"}  # (superseded: moved behind)
    held = [i for i in room.outbox() if i.status == "pending"]  # Hendra and Budi still wait
    assert {i.recipient for i in held} == {NUMBERS["hendra"], NUMBERS["budi"]}


@pytest.mark.asyncio
async def test_a_refusal_outside_the_window_is_never_retried_as_free_form(room: Newsroom):
    await room.write("dedi", "/siapa", settle=False)
    # Twilio last heard from Dedi two days ago (Warta's view of his window was wrong).
    room.fake.user_writes(NUMBERS["dedi"], at=room.clock.now - timedelta(days=2))
    await room.settle()
    (refused,) = room.sent_to("dedi")
    (failed,) = await room.fake.deliver_callbacks_async()
    assert (failed.status, failed.error_code) == ("failed", 63016)
    await room.warta.dispatcher.drain()

    nudge = room.sent_to("dedi")[-1]
    assert nudge["content_sid"] == NUDGE_SID  # not the same free-form text again
    again = [i for i in room.outbox() if i.status == "pending" and i.recipient == NUMBERS["dedi"]]
    assert len(again) == 1 and again[0].text and "terdaftar sebagai Dedi" in again[0].text
    assert room.channel.ledger.state(refused["sid"]).requeued

    room.clock.advance(minutes=3)
    await room.write("dedi", "Halo")  # he writes: the window is open, the text goes now
    texts = room.received("dedi")
    assert sum("terdaftar sebagai Dedi" in text for text in texts) == 2


@pytest.mark.asyncio
async def test_the_nudge_needs_a_template_or_the_message_just_waits(
    sqlite_url: str, tmp_path: Path, fake: FakeTwilio, clock: FakeClock
):
    entry = whatsapp_entry(fake, templates={})
    room = await running(desk_settings(sqlite_url, tmp_path, fake, channels=[entry]), fake, clock)
    try:
        await room.write("rina", STORY)
        assert room.sent_to("dedi") == []
        (waiting,) = [i for i in room.outbox() if i.recipient == NUMBERS["dedi"]]
        assert "no nudge template" in (waiting.last_error or "")
        await room.write("dedi", "Pagi")
        assert any(text.startswith("📰 #1") for text in room.received("dedi"))
    finally:
        await room.stop()


# -- 8. private answers stay private ------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_private_status_is_answered_only_to_the_asker(room: Newsroom):
    await everyone_writes(room)
    await room.write("rina", STORY)
    before = {who: len(room.sent_to(who)) for who in NUMBERS}
    await room.write("dedi", "/status 1")
    after = {who: len(room.sent_to(who)) for who in NUMBERS}
    assert after["dedi"] == before["dedi"] + 1
    assert {who: n for who, n in after.items() if who != "dedi"} == {
        who: n for who, n in before.items() if who != "dedi"
    }
    assert "#1" in room.received("dedi")[-1]


# -- 9. Twilio away -----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_twilio_down_loses_nothing(room: Newsroom):
    await everyone_writes(room)
    sent_before = len([s for s in room.fake.sent if s["sid"]])
    with room.fake.down():
        await room.write("rina", STORY)  # the webhook still arrives; nothing gets out
        await room.write("dedi", "/sunting 1")
        assert len([s for s in room.fake.sent if s["sid"]]) == sent_before
        pending = [i for i in room.outbox() if i.status not in ("sent", "superseded")]
        assert pending and all("503" in (i.last_error or "") for i in pending if i.last_error)
    room.clock.advance(minutes=10)
    await room.warta.dispatcher.drain()
    assert {i.status for i in room.outbox()} <= {"sent", "superseded"}
    assert any("sudah diterima" in text for text in room.received("rina"))
    assert any("sedang disunting" in text for text in room.received("rina"))
    assert room.stories()[0].state == "editing"


# -- 10. the configuration ----------------------------------------------------------------------


def test_the_config_needs_a_sender_and_the_public_address(tmp_path: Path):
    path = tmp_path / "config.yaml"
    path.write_text("channels:\n  - kind: whatsapp\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_settings(path, environ={})
    assert "whatsapp:+62" in str(refused.value) and "public_url" not in str(refused.value)
    path.write_text(
        "channels:\n  - kind: whatsapp\n    sender: whatsapp:+14155238886\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as refused:
        load_settings(path, environ={})
    assert "public_url is needed" in str(refused.value)


def test_the_secrets_come_from_the_environment(tmp_path: Path):
    path = tmp_path / "config.yaml"
    path.write_text(
        "channels:\n"
        "  - kind: whatsapp\n"
        "    sender: whatsapp:+14155238886\n"
        "    public_url: https://warta.example.go.id\n"
        "    templates:\n"
        f"      sla_reminder: {REMINDER_SID}\n"
        "      nudge: {content_sid: " + NUDGE_SID + ", variables: [count]}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as refused:
        load_settings(path, environ={})
    assert "WARTA_TWILIO_ACCOUNT_SID" in str(refused.value)
    assert "WARTA_TWILIO_AUTH_TOKEN" in str(refused.value)
    sid = "AC" + "0" * 32
    settings = load_settings(
        path, environ={"WARTA_TWILIO_ACCOUNT_SID": sid, "WARTA_TWILIO_AUTH_TOKEN": "tok3n"}
    )
    (channel,) = settings.channels
    assert channel.account_sid == sid and channel.auth_token.get_secret_value() == "tok3n"
    assert "tok3n" not in repr(channel)
    assert channel.templates["sla_reminder"].variables == ("text",)
    assert channel.templates["nudge"].variables == ("count",)


def test_a_wrong_content_sid_is_explained(tmp_path: Path):
    path = tmp_path / "config.yaml"
    path.write_text(
        "channels:\n  - kind: whatsapp\n    sender: whatsapp:+14155238886\n"
        "    public_url: https://warta.example.go.id\n    templates: {nudge: HX12}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as refused:
        load_settings(path, environ={})
    assert "HX followed by 32 hex digits" in str(refused.value)


@pytest.mark.asyncio
async def test_the_live_check_asks_twilio_and_sends_nothing(room: Newsroom, fake: FakeTwilio):
    ok, line = await room.channel.live_check()
    assert ok and "sender whatsapp:+14155238886" in line and "not https" not in line
    room.channel.client = fake.client(auth_token="wrong")
    ok, line = await room.channel.live_check()
    assert not ok and "does not accept the account" in line
    assert [s for s in fake.sent] == []


# -- 11. small pieces ---------------------------------------------------------------------------


def test_media_hosts_match_exactly_or_by_sub_domain():
    hosts = ("api.twilio.com", "*.twilio.com")
    assert host_allowed("api.twilio.com", hosts)
    assert host_allowed("api.dublin.ie1.twilio.com", hosts)
    assert not host_allowed("mms.twiliocdn.com", hosts)
    assert not host_allowed("twilio.com.evil.example", hosts)
    assert not host_allowed(None, hosts)


def test_template_variables_are_one_line_and_bounded():
    assert one_line("Judul\n\n  Isi   berita\tpanjang", 100) == "Judul · Isi berita panjang"
    assert one_line("", 100) == "-"
    cut = one_line("x" * 50, 20)
    assert len(cut) == 20 and cut.endswith("…")


@pytest.mark.asyncio
async def test_parts_fit_twilio_even_with_emoji(room: Newsroom):
    text = "🙂" * 1500  # 1500 characters, 3000 UTF-16 units
    parts = room.channel.parts(text)
    assert "".join(parts) == render(text, Markup.WHATSAPP)
    assert all(len(part.encode("utf-16-le")) // 2 <= 1600 for part in parts)


# -- 12. a mixed desk ---------------------------------------------------------------------------

GROUP = -1001234567890
TELEGRAM = {"dedi": 1002, "budi": 1003, "hendra": 1004}


@pytest.mark.asyncio
async def test_a_mixed_desk_runs_a_story_to_publishing(
    sqlite_url: str, tmp_path: Path, fake: FakeTwilio, clock: FakeClock
):
    """The reporter on WhatsApp, the editors, the operator and the Kasi in a Telegram group."""
    with FakeTelegram() as tg:
        tg.add_chat(GROUP, "supergroup", title="Redaksi Media Center")
        for key, user_id in TELEGRAM.items():
            tg.add_user(user_id, key.title())
            tg.add_chat(user_id, "private", first_name=key.title())
        telegram = {
            "kind": "telegram",
            "group_chat_id": GROUP,
            "base_url": tg.base_url,
            "base_file_url": tg.base_file_url,
            "token": tg.token,
            "poll_timeout": 0,
        }
        settings = desk_settings(
            sqlite_url,
            tmp_path,
            fake,
            on_whatsapp=("rina",),
            channels=[telegram, whatsapp_entry(fake)],
            people=[
                {**person, "whatsapp": NUMBERS["rina"]}
                if person["key"] == "rina"
                else {**person, "telegram": TELEGRAM[person["key"]]}
                for person in PEOPLE
                if person["key"] != "anton"
            ],
        )
        room = await running(settings, fake, clock)
        bot = room.warta.channels["telegram"]
        assert isinstance(bot, TelegramChannel)
        steps = StepTime()
        bot.limiter = ChatRateLimiter(
            global_per_second=1000,
            private_per_second=1000,
            group_per_minute=10_000,
            clock=steps.clock,
            sleep=steps.sleep,
        )

        async def group_says(who: str, text: str) -> None:
            tg.push_message(GROUP, TELEGRAM[who], text=text)
            await bot.poll_once(timeout=0)
            await room.warta.dispatcher.drain()

        def group() -> list[str]:
            return [m.get("text", "") for m in tg.messages_in(GROUP, from_bot=True)]

        try:
            await room.write("rina", STORY, media=((jpeg(), "image/jpeg"),))
            (story,) = room.stories()
            assert story.origin_channel == "whatsapp"
            assert any("#1" in t and "menunggu penyuntingan" in t for t in group())  # the card
            await group_says("dedi", "/sunting 1")
            await group_says("dedi", "/verifikasi 1 semua")
            await group_says("budi", "/terbitkan 1")
            await room.warta.dispatcher.drain()
            assert room.stories()[0].state == "published"
            told = room.received("rina")
            assert any("sudah diterima dengan 1 foto" in t for t in told)
            assert any("sedang disunting" in t for t in told)  # she follows her own story
            assert any("terbit" in t for t in told[-3:])
            assert not any(s["to"] != "whatsapp:" + NUMBERS["rina"] for s in fake.sent)
        finally:
            await room.stop()


@pytest.mark.asyncio
async def test_a_quick_reply_button_of_a_template_acts_like_the_command(room: Newsroom):
    await everyone_writes(room)
    await room.write("rina", STORY)
    await room.write("dedi", "/sunting 1")
    await room.write(
        "dedi", "Verifikasi #1", extra={"ButtonPayload": "/verifikasi 1 semua", "ButtonText": "x"}
    )
    (story,) = room.stories()
    assert story.state == "verified"
    # The same button pressed by a reporter is refused like the typed command would be.
    await room.write("rina", "Terbitkan #1", extra={"ButtonPayload": "/terbitkan 1"})
    assert room.stories()[0].state == "verified"
    assert any("hanya" in text for text in room.received("rina")[-2:])


# -- 11. what falls together goes as one message; cards offer their commands as buttons -------


CARD_REPLY_SIDS = {count: "HX" + f"{count}d" * 16 for count in (1, 2, 3)}


@pytest.mark.asyncio
async def test_messages_queued_together_for_a_member_go_as_one_message(room: Newsroom):
    await everyone_writes(room, "rina", "dedi")
    await room.write("rina", STORY)
    before = len(room.sent_to("dedi"))
    with room.warta.db.transaction() as session:
        (story,) = session.exec(select(Story)).all()
        for text in ("Kabar satu.", "Kabar dua.", "Kabar tiga."):
            repo.enqueue_message(
                session,
                channel="whatsapp",
                recipient=NUMBERS["dedi"],
                text=text,
                now=room.clock(),
                template="story_received",  # (a kind without a template of its own)
            )
        repo.enqueue_message(  # a reminder has its own template: it goes alone
            session,
            channel="whatsapp",
            recipient=NUMBERS["dedi"],
            text="⏰ Pengingat.",
            now=room.clock(),
            template="sla_reminder",
        )
        for text in ("Kabar empat.",):
            repo.enqueue_message(
                session,
                channel="whatsapp",
                recipient=NUMBERS["dedi"],
                text=text,
                now=room.clock(),
                template="story_received",  # (a kind without a template of its own)
            )
        story.state = "verified"  # (a state change whose card joins the news before it)
        session.add(story)
        repo.enqueue_card(
            session,
            story_id=story.id or 0,
            channel="whatsapp",
            chat_id=NUMBERS["dedi"],
            now=room.clock(),
        )
        repo.enqueue_message(
            session,
            channel="whatsapp",
            recipient=NUMBERS["dedi"],
            text="Kabar lima.",
            now=room.clock(),
        )
    await room.settle()
    new = room.received("dedi")[before:]
    assert new == [
        "Kabar satu.\n\nKabar dua.\n\nKabar tiga.",
        "⏰ Pengingat.",
        new[2],
        "Kabar lima.",
    ]
    assert new[2].startswith("Kabar empat.\n\n📰 #1 Wali Kota Buka Musrenbang")
    assert "Terverifikasi" in new[2] or "terverifikasi" in new[2].lower()
    mine = [i for i in room.outbox() if i.recipient == NUMBERS["dedi"]]
    assert {i.status for i in mine} == {"sent"}
    joined = [i for i in mine if i.text in ("Kabar satu.", "Kabar dua.", "Kabar tiga.")]
    assert len({i.result["message_id"] for i in joined}) == 1  # one Twilio message for three
    with room.warta.db.transaction() as session:
        card = repo.card_record(session, 1, "whatsapp", NUMBERS["dedi"])
    assert card is not None and card.state == "verified"  # the card knows what it last showed


@pytest_asyncio.fixture
async def reply_room(
    sqlite_url: str, tmp_path: Path, fake: FakeTwilio, clock: FakeClock
) -> AsyncIterator[Newsroom]:
    for sid in CARD_REPLY_SIDS.values():
        fake.add_template(sid, "{{1}}", session_only=True)
    entry = whatsapp_entry(fake, card_replies=CARD_REPLY_SIDS)
    started = await running(
        desk_settings(sqlite_url, tmp_path, fake, channels=[entry]), fake, clock
    )
    yield started
    await started.stop()


@pytest.mark.asyncio
async def test_a_card_offers_its_commands_as_quick_replies_inside_the_window(reply_room: Newsroom):
    room = reply_room
    await everyone_writes(room, "rina", "dedi")  # Hendra and Budi have not written
    await room.write("rina", STORY)
    card = next(s for s in room.sent_to("dedi") if s["content_sid"])
    variables = card["content_variables"]
    assert card["content_sid"] == CARD_REPLY_SIDS[len(variables) // 2]
    assert variables["1"].startswith("📰 *#1*") and "\n" not in variables["1"]
    assert len(variables["1"]) <= 255
    assert variables["2"] == "✏️ Sunting" and variables["3"] == "/sunting 1"
    # Outside the window a card is never sent as unapproved quick replies: it waits (nudge).
    assert not any(s["content_sid"] in CARD_REPLY_SIDS.values() for s in room.sent_to("budi"))
    assert [s["content_sid"] for s in room.sent_to("budi")] == [NUDGE_SID]

    await room.write("dedi", variables["2"], extra={"ButtonPayload": variables["3"]})
    assert room.stories()[0].state == "editing"
    assert "Status: sedang disunting (Dedi)" in room.received("rina")[-1]


@pytest.mark.asyncio
async def test_a_card_too_long_for_quick_replies_lists_the_commands_instead(reply_room: Newsroom):
    room = reply_room
    await everyone_writes(room, "rina", "dedi")
    long_title = "Wali Kota " + "dan Wakil Wali Kota " * 8 + "Buka Musrenbang"
    await room.write("rina", long_title + "\n\nIsi berita yang cukup panjang untuk diterbitkan.")
    (card,) = [s for s in room.sent_to("dedi") if "📰" in (s["body"] or "")]
    assert card["content_sid"] is None and "/sunting 1" in card["body"]
