"""The channel contract on the browser playground: people write and press buttons through its
HTTP routes (in process, no server), and a chat reads as the page's history shows it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest_asyncio
from sqlmodel import col, select

from bot.app import build
from bot.channels.playground import GROUP, PlaygroundChannel, private_chat
from bot.http import make_http_app
from tests.channels.contract import Arrived, ChannelContract, Harness, contract_settings
from tests.support import FakeClock


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("p", "pre"):
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def text_of(page_html: str) -> str:
    """What a person reads of a message's HTML on the page."""
    reader = _Text()
    reader.feed(page_html)
    return "".join(reader.parts).strip()


class PlaygroundHarness(Harness):
    """Sends forms to ``/play/<person>/send`` and ``/press`` as the page's script does."""

    def __init__(self, db_url: str, folder: Path) -> None:
        self.clock = FakeClock()
        settings = contract_settings(db_url, folder, channels=[{"kind": "playground"}])
        self.warta = build(settings, clock=self.clock)
        channel = self.warta.channels["playground"]
        assert isinstance(channel, PlaygroundChannel)
        self.channel = self.playground = channel
        self._unaddress()
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=make_http_app(self.warta)),
            base_url="http://127.0.0.1:8080",
        )
        self.notices: list[str] = []
        self.published: list[tuple[str, dict]] = []
        hub = self.playground.web.hub
        publish = hub.publish

        def recorded(topic: str, event: dict) -> None:  # what the pages receive, kept
            self._record(topic, event)
            publish(topic, event)

        hub.publish = recorded  # type: ignore[method-assign]

    def _unaddress(self) -> None:
        """Everyone is known on the playground by their key; the contract wants the Kasi with
        no address on the channel under test."""
        from sqlmodel import delete

        from storage.models import Identity, Person
        from tests.channels.contract import KASI

        with self.warta.db.transaction() as session:
            person = session.exec(select(Person).where(Person.key == KASI)).one()
            session.exec(
                delete(Identity).where(
                    col(Identity.person_id) == person.id,
                    col(Identity.channel).in_(("playground", "local")),
                )
            )
        self.warta.desk.reload_people()

    def address(self, who: str) -> str:
        return private_chat(who)

    async def say(
        self, who: str, text: str, *, private: bool = False, reply_to: str | None = None
    ) -> None:
        form = {"chat": "private" if private else "group", "text": text}
        if reply_to:
            form["reply_to"] = reply_to
        answer = await self.client.post(f"/play/{who}/send", data=form)
        assert answer.status_code == 200, answer.text
        await self.drain()

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
        before = len(self.published)
        answer = await self.client.post(
            f"/play/{who}/press", json={"data": data, "card": card_message_id, "chat": "group"}
        )
        assert answer.status_code == 200, answer.text
        await self.drain()
        self.notices += [
            event["text"]
            for topic, event in self.published[before:]
            if topic == f"person:{who}" and event.get("type") == "notice"
        ]

    def _record(self, topic: str, event: dict) -> None:
        """Keep what the page of a chat would receive, as it receives it."""
        self.published.append((topic, event))

    def button_data(self, card_message_id: str, label: str) -> str:
        card = self._latest(f"chat:{GROUP}")[card_message_id]
        return next(b["data"] for b in card["buttons"] if b["label"] == label)

    def _latest(self, topic: str) -> dict[str, dict]:
        """Each message of a chat once, in the order it first arrived, as it is now (a card
        redrawn in place keeps its place and shows its latest text)."""
        shown: dict[str, dict] = {}
        for where, event in self.published:
            if where == topic and event.get("type") in ("message", "card"):
                shown[event["id"]] = event
        return shown

    def messages(self, recipient: str) -> list[Arrived]:
        return [
            Arrived(
                event["id"],
                text_of(event["html"]),
                tuple(button["label"] for button in event.get("buttons", [])),
            )
            for event in self._latest(f"chat:{recipient}").values()
            if event.get("who") == "Warta"
        ]

    def answers(self) -> list[str]:
        return self.notices


class TestPlaygroundChannel(ChannelContract):
    @pytest_asyncio.fixture
    async def harness(self, sqlite_url: str, tmp_path: Path) -> AsyncIterator[PlaygroundHarness]:
        running = PlaygroundHarness(sqlite_url, tmp_path)
        await running.playground.start()
        yield running
        await running.client.aclose()
        running.warta.close()
