"""A channel without a group (WhatsApp): the desk's group is its members one to one, each
getting what concerns them, or everything (/ramai), or only their own (/senyap)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.app import build
from bot.channels.local import LocalChannel
from bot.channels.markup import plain
from handlers.messages import ChatKind, InboundMessage
from tests.support import STORY, FakeClock, desk_settings


class Members:
    """Everyone writes to Warta one to one; what each person received is read per person."""

    def __init__(self, db_url: str, folder: Path) -> None:
        self.channel = LocalChannel(edit_in_place=False, buttons=False, virtual_group=True)
        self.warta = build(
            desk_settings(db_url, folder), channels={"local": self.channel}, clock=FakeClock()
        )
        self._ids = 0

    def say(self, who: str, text: str) -> None:
        self._ids += 1
        self.warta.intake.receive(
            InboundMessage(
                channel="local",
                chat_id=who,
                message_id=f"m{self._ids}",
                sender=who,
                text=text,
                chat_kind=ChatKind.PRIVATE,
            )
        )
        asyncio.run(self.warta.dispatcher.drain())

    def got(self) -> dict[str, list[str]]:
        received: dict[str, list[str]] = {}
        for said in self.channel.take():
            received.setdefault(said.recipient, []).append(plain(said.text))
        return received


@pytest.fixture
def members(db_url: str, tmp_path: Path):
    running = Members(db_url, tmp_path)
    yield running
    running.warta.close()


def test_followers_get_every_story_and_reporters_their_own(members: Members):
    members.say("rina", STORY)
    got = members.got()
    assert "Berita #1" in got["rina"][0]  # the receipt, to the reporter
    for follower in ("dedi", "sari", "hendra", "budi"):  # editors, the Kasi, the operator
        assert any("📰 #1 Wali Kota Buka Musrenbang" in text for text in got[follower])
    assert "anton" not in got  # another reporter: not his story
    members.say("dedi", "/sunting 1")
    got = members.got()
    assert "sedang disunting oleh Dedi" in got["dedi"][0]
    # The others learn it once each (the news, and the card anew as the state changed) …
    assert any("sedang disunting" in text for text in got["sari"])
    # … and the reporter follows her own story.
    assert any("sedang disunting" in text for text in got["rina"])
    assert "anton" not in got


def test_a_member_chooses_less_or_more(members: Members):
    members.say("sari", "/senyap")
    members.say("anton", "/ramai")
    replies = members.got()
    assert "hanya menerima kabar berita yang menyangkut" in replies["sari"][0]
    assert "news of every story" in replies["anton"][0]  # Anton reads English
    members.say("rina", STORY)
    got = members.got()
    assert "sari" not in got and any("#1" in text for text in got["anton"])
    members.say("sari", "/sunting 1")  # holding it, she is concerned again
    members.say("dedi", "/ramai")  # the default of an editor: said so
    got = members.got()
    assert any("sedang disunting oleh Sari" in text for text in got["sari"])
    assert "pengaturan bawaan" in got["dedi"][-1]


def test_the_setting_is_for_channels_without_a_group(chat):
    assert "hanya berlaku di saluran tanpa grup" in chat.send("dedi", "/senyap")[0]


def test_plain_chat_is_relayed_only_where_the_channel_allows_it(db_url: str, tmp_path: Path):
    quiet_desk = Members(db_url, tmp_path / "quiet")
    quiet_desk.say("dedi", "Siapa yang ke Balai Kota siang ini?")
    got = quiet_desk.got()
    assert list(got) == ["dedi"]  # only the hint to Dedi: nothing relayed by default
    quiet_desk.warta.close()

    channel = LocalChannel(edit_in_place=False, buttons=False, virtual_group=True, relay_chat=True)
    warta = build(
        desk_settings(db_url, tmp_path / "relay"), channels={"local": channel}, clock=FakeClock()
    )
    relay = Members.__new__(Members)
    relay.channel, relay.warta, relay._ids = channel, warta, 100  # same database: new ids
    relay.say("dedi", "Siapa yang ke Balai Kota siang ini?")
    got = relay.got()
    assert "dedi" not in got  # not echoed to its author
    for follower in ("sari", "hendra", "budi"):
        assert got[follower] == ["💬 Dedi: Siapa yang ke Balai Kota siang ini?"]
    assert "rina" not in got  # a reporter follows her own stories only
    relay.say("rina", "Saya berangkat sekarang.")  # one line from a reporter: chat too
    assert "💬 Rina: Saya berangkat sekarang." in relay.got()["dedi"]
    relay.say("rina", STORY)  # two lines and more: coverage, as ever
    assert any("Berita #1" in text for text in relay.got()["rina"])
    warta.close()


def test_a_person_is_reached_privately_on_the_channel_they_prefer(db_url: str, tmp_path: Path):
    from sqlmodel import select

    from storage.models import OutboxItem
    from tests.support import PEOPLE

    people = [
        {**person, "prefer": "playground"} if person["key"] == "rina" else person
        for person in PEOPLE
    ]
    local = LocalChannel()
    warta = build(
        desk_settings(db_url, tmp_path, people=people, channels=[{"kind": "playground"}]),
        channels={"local": local},
        clock=FakeClock(),
    )
    try:
        for index, (who, text) in enumerate(
            (("rina", STORY), ("anton", STORY), ("dedi", "/kembalikan 1 nama kurang")),
            start=1,
        ):
            warta.intake.receive(
                InboundMessage(
                    channel="local",
                    chat_id="redaksi",
                    message_id=f"p{index}",
                    sender=who,
                    text=text,
                    chat_kind=ChatKind.GROUP,
                )
            )
        warta.intake.receive(
            InboundMessage(
                channel="local",
                chat_id="redaksi",
                message_id="p4",
                sender="dedi",
                text="/kembalikan 2 foto kurang",
                chat_kind=ChatKind.GROUP,
            )
        )
        with warta.db.transaction() as session:
            private = {
                (item.recipient, item.channel)
                for item in session.exec(select(OutboxItem))
                if item.payload.get("template") == "revision_requested_private"
            }
        # Rina chose the playground; Anton, with no choice, is told where the desk talks.
        assert private == {("rina", "playground"), ("anton", "local")}
    finally:
        warta.close()
