"""The channel contract on the Telegram channel: python-telegram-bot against the fake Bot API,
updates fetched by polling with no wait."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.app import build
from bot.channels.ratelimit import ChatRateLimiter
from bot.channels.telegram import TelegramChannel
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
from tests.fakes.telegram_server import FakeTelegram
from tests.support import FakeClock, StepTime

GROUP = -1001234567890
USERS = {REPORTER: (1001, "Rina"), EDITOR: (1002, "Dedi"), OPERATOR: (1003, "Budi")}
"""The Telegram accounts of the people; the Kasi has none."""


class TelegramHarness(Harness):
    """Plays the people on the fake Bot API, then polls once and delivers the outbox."""

    def __init__(self, db_url: str, folder: Path, tg: FakeTelegram) -> None:
        self.tg = tg
        self.clock = FakeClock()
        telegram: dict[str, Any] = {
            "kind": "telegram",
            "group_chat_id": GROUP,
            "base_url": tg.base_url,
            "base_file_url": tg.base_file_url,
            "token": tg.token,
            "poll_timeout": 0,
        }
        addresses = {key: {"telegram": user_id} for key, (user_id, _name) in USERS.items()}
        assert KASI not in addresses
        settings = contract_settings(db_url, folder, addresses=addresses, channels=[telegram])
        self.warta = build(settings, clock=self.clock)
        channel = self.warta.channels["telegram"]
        assert isinstance(channel, TelegramChannel)
        self.channel = self.telegram = channel
        steps = StepTime()
        channel.limiter = ChatRateLimiter(
            global_per_second=1000,
            private_per_second=1000,
            group_per_minute=10_000,
            clock=steps.clock,
            sleep=steps.sleep,
        )

    def address(self, who: str) -> str:
        return str(USERS[who][0])

    async def _cycle(self) -> None:
        await self.telegram.poll_once(timeout=0)
        await self.drain()

    async def say(
        self, who: str, text: str, *, private: bool = False, reply_to: str | None = None
    ) -> None:
        user_id = USERS[who][0]
        self.tg.push_message(
            user_id if private else GROUP,
            user_id,
            text=text,
            reply_to_message_id=int(reply_to) if reply_to else None,
        )
        await self._cycle()

    async def press(
        self,
        card_message_id: str,
        data: str | None = None,
        label: str | None = None,
        *,
        who: str,
    ) -> None:
        if data is None:
            assert label is not None
            data = self.button_data(card_message_id, label)
        self.tg.push_callback_query(GROUP, USERS[who][0], int(card_message_id), data)
        await self._cycle()

    def _keyboard(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        return [key for row in rows for key in row]

    def button_data(self, card_message_id: str, label: str) -> str:
        message = self.tg.message(GROUP, int(card_message_id))
        return next(k["callback_data"] for k in self._keyboard(message) if k["text"] == label)

    def messages(self, recipient: str) -> list[Arrived]:
        return [
            Arrived(
                str(message["message_id"]),
                message.get("text", ""),
                tuple(key["text"] for key in self._keyboard(message)),
            )
            for message in self.tg.messages_in(int(recipient), from_bot=True)
        ]

    def answers(self) -> list[str]:
        return [answer.get("text", "") for answer in self.tg.answered_callbacks]


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        fake.add_chat(GROUP, "supergroup", title="Redaksi Media Center")
        for user_id, name in USERS.values():
            fake.add_user(user_id, name)
            fake.add_chat(user_id, "private", first_name=name)
        yield fake


class TestTelegramChannel(ChannelContract):
    @pytest_asyncio.fixture
    async def harness(
        self, sqlite_url: str, tmp_path: Path, tg: FakeTelegram
    ) -> AsyncIterator[TelegramHarness]:
        running = TelegramHarness(sqlite_url, tmp_path, tg)
        await running.telegram.start()
        yield running
        await running.telegram.stop()
        running.warta.close()
