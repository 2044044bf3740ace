"""The channel contract on WhatsApp: people write through the fake Twilio's signed webhooks to
Warta's real HTTP server, and a chat reads as the member's phone shows it (what Twilio
accepted for their number).

WhatsApp has no group: the desk's group is its members one to one, so "the group" here is the
operator's chat (he follows every story), and a reply to a card is a reply to the card in the
writer's own chat.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest_asyncio
import uvicorn

from bot.app import build
from bot.channels.whatsapp import PREFIX, WEBHOOK_PATH, Part, WhatsAppChannel
from bot.http import make_http_app
from bot.run import bind
from storage import repo
from tests.channels.contract import (
    EDITOR,
    KASI,
    OPERATOR,
    REPORTER,
    Arrived,
    ChannelContract,
    Harness,
    contract_settings,
)
from tests.channels.test_whatsapp import PUBLIC, readable
from tests.fakes.twilio_server import FakeTwilio
from tests.support import FakeClock

NUMBERS = {REPORTER: "+6281200000001", EDITOR: "+6281200000002", OPERATOR: "+6281200000003"}
"""The WhatsApp numbers of the people; the Kasi has none."""


class WhatsAppHarness(Harness):
    """Posts Twilio's incoming-message webhooks, then hands the albums over and delivers the
    outbox; every member wrote to Warta within the last 24 hours."""

    def __init__(self, db_url: str, folder: Path, fake: FakeTwilio, clock: FakeClock) -> None:
        self.fake, self.clock = fake, clock
        entry = {
            "kind": "whatsapp",
            "sender": fake.whatsapp_number,
            "public_url": PUBLIC,
            "media_hosts": ["127.0.0.1"],
            "api_base": fake.base_url,
            "account_sid": fake.account_sid,
            "auth_token": fake.auth_token,
        }
        addresses = {key: {"whatsapp": number} for key, number in NUMBERS.items()}
        assert KASI not in addresses
        settings = contract_settings(db_url, folder, addresses=addresses, channels=[entry])
        self.warta = build(settings, clock=clock)
        channel = self.warta.channels["whatsapp"]
        assert isinstance(channel, WhatsAppChannel)
        self.channel = self.whatsapp = channel
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
        await self.whatsapp.start()
        for number in NUMBERS.values():  # each member's window is open
            self.fake.user_writes(number)
            await asyncio.to_thread(
                self.whatsapp.ledger.arrived, number, part=Part.ALONE, quiet=timedelta(0)
            )

    async def stop(self) -> None:
        await self.whatsapp.stop()
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            await self.task
        self.warta.close()

    @property
    def group(self) -> str:
        return NUMBERS[OPERATOR]

    def address(self, who: str) -> str:
        return NUMBERS[who]

    def redraws(self) -> int:
        """Card redraws asked for in the group's chat (every member has a card of their own)."""
        return sum(
            1 for item in self.outbox() if item.kind == "card" and item.recipient == self.group
        )

    def _own_copy(self, who: str, message_id: str) -> str:
        """The message in ``who``'s chat that shows the same story card as ``message_id`` in
        the group (each member has their own copy of a card)."""
        with self.warta.db.transaction() as session:
            story = repo.story_by_message(session, "whatsapp", self.group, message_id)
            if story is None:
                return message_id
            card = repo.card_record(session, story.id or 0, "whatsapp", NUMBERS[who])
            return card.message_id if card else message_id

    async def say(
        self, who: str, text: str, *, private: bool = False, reply_to: str | None = None
    ) -> None:
        extra = {}
        if reply_to:
            extra["OriginalRepliedMessageSid"] = self._own_copy(who, reply_to)
        result = await self.fake.inbound_async(
            PUBLIC + WEBHOOK_PATH, from_=PREFIX + NUMBERS[who], body=text, extra=extra
        )
        assert result.status_code == 200, result.text
        await asyncio.to_thread(self.warta.intake.flush_albums, quiet=timedelta(0))
        await self.drain()

    async def press(
        self,
        card_message_id: str,
        data: str | None = None,
        label: str | None = None,
        *,
        who: str,
    ) -> None:
        raise AssertionError("WhatsApp cards have no buttons")

    def button_data(self, card_message_id: str, label: str) -> str:
        raise AssertionError("WhatsApp cards have no buttons")

    def messages(self, recipient: str) -> list[Arrived]:
        to = PREFIX + recipient
        return [
            Arrived(sent["sid"], readable(sent["body"] or ""))
            for sent in self.fake.sent
            if sent["to"] == to and sent["sid"]
        ]

    def answers(self) -> None:
        return None


class TestWhatsAppChannel(ChannelContract):
    @pytest_asyncio.fixture
    async def harness(self, sqlite_url: str, tmp_path: Path) -> AsyncIterator[WhatsAppHarness]:
        clock = FakeClock()
        with FakeTwilio(clock=clock) as fake:
            running = WhatsAppHarness(sqlite_url, tmp_path, fake, clock)
            await running.start()
            yield running
            await running.stop()
