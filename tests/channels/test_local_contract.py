"""The channel contract on the local channel: with edits and buttons, with neither (as WhatsApp
or e-mail), and with edits but typed commands."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from bot.app import build
from bot.channels.local import LocalChannel
from bot.channels.markup import plain
from handlers.messages import ChatKind, InboundMessage
from storage.models import Identity, Person
from tests.channels.contract import (
    KASI,
    Arrived,
    ChannelContract,
    Harness,
    contract_settings,
)
from tests.support import FakeClock

GROUP = "redaksi"
MAX_TEXT = 300
FLAVOURS = {
    "edit+buttons": {"edit_in_place": True, "buttons": True},
    "resend+typed": {"edit_in_place": False, "buttons": False},
    "edit+typed": {"edit_in_place": True, "buttons": False},
}


def _order(message_id: str) -> int:
    """The local channel numbers every message it sends, cards included, from one counter."""
    return int(message_id.rsplit("-", 1)[1])


class LocalHarness(Harness):
    """Drives a :class:`LocalChannel` by handing its messages to the intake, as a channel's
    inbound path does."""

    def __init__(self, db_url: str, folder: Path, **flags: bool) -> None:
        self.clock = FakeClock()
        self.channel = self.local = LocalChannel(group=(GROUP,), max_text=MAX_TEXT, **flags)
        self.warta = build(
            contract_settings(db_url, folder), channels={"local": self.local}, clock=self.clock
        )
        self._unaddress(KASI)
        self._ids = itertools.count(1)

    def _unaddress(self, key: str) -> None:
        """Every configured person gets their key as a local address; the contract wants the
        Kasi without one on the channel under test, so that identity is removed."""
        with self.warta.db.transaction() as session:
            person = session.exec(select(Person).where(Person.key == key)).one()
            for identity in session.exec(
                select(Identity).where(
                    Identity.person_id == person.id, Identity.channel == self.local.name
                )
            ):
                session.delete(identity)
        self.warta.desk.reload_people()

    def address(self, who: str) -> str:
        return who

    async def _receive(self, msg: InboundMessage) -> None:
        await asyncio.to_thread(self.warta.intake.receive, msg)
        await self.drain()

    async def say(
        self, who: str, text: str, *, private: bool = False, reply_to: str | None = None
    ) -> None:
        await self._receive(
            InboundMessage(
                channel=self.local.name,
                chat_id=who if private else GROUP,
                message_id=f"in-{next(self._ids)}",
                sender=who,
                text=text,
                chat_kind=ChatKind.PRIVATE if private else ChatKind.GROUP,
                reply_to_message_id=reply_to,
            )
        )

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
            msg = self.local.press(card_message_id, label, sender=who, chat_kind=ChatKind.GROUP)
        else:
            msg = self.local.inbound_press(
                data, card_id=card_message_id, chat=GROUP, sender=who, chat_kind=ChatKind.GROUP
            )
        await self._receive(msg)

    def button_data(self, card_message_id: str, label: str) -> str:
        card = self.local.cards[card_message_id]
        found = next(b for b in card.buttons if b.label == label)
        return self.local.signer.sign(found.command, found.card_version)

    def messages(self, recipient: str) -> list[Arrived]:
        arrived = {
            said.message_id: Arrived(said.message_id, plain(said.text))
            for said in self.local.said
            if said.recipient == recipient
        }
        for card_id, card in self.local.cards.items():  # drawn anew, or edited in place
            if card.recipient == recipient:
                labels = tuple(b.label for b in card.buttons)
                arrived[card_id] = Arrived(card_id, plain(card.text), labels)
        return sorted(arrived.values(), key=lambda m: _order(m.message_id))

    def answers(self) -> list[str]:
        return [text for _callback, text in self.local.answers]


class TestLocalChannel(ChannelContract):
    @pytest.fixture(params=list(FLAVOURS))
    def harness(
        self, request: pytest.FixtureRequest, sqlite_url: str, tmp_path: Path
    ) -> Iterator[LocalHarness]:
        running = LocalHarness(sqlite_url, tmp_path, **FLAVOURS[request.param])
        yield running
        running.warta.close()
