"""The channel contract suite: what every channel must do inside a whole Warta, run per channel.

A test module subclasses :class:`ChannelContract` and provides a ``harness`` fixture: a
:class:`Harness` that drives one channel through its own inbound path (the fake Bot API for
Telegram, the in-process chat for the local channel) and reads what arrived in each chat.
Where a channel's abilities make a test not apply, it is skipped and its fallback runs instead.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.app import Warta
from bot.channels.base import Channel
from bot.config import Settings
from storage import repo
from storage.models import InboxMessage, OutboxItem, Story
from tests.support import STORY, FakeClock
from workflow.delivery import ItemState

REPORTER, EDITOR, OPERATOR, KASI = "rina", "dedi", "budi", "hendra"
PEOPLE: tuple[dict[str, Any], ...] = (
    {"key": REPORTER, "name": "Rina", "roles": ["reporter"]},
    {"key": EDITOR, "name": "Dedi", "roles": ["editor"]},
    {"key": OPERATOR, "name": "Budi", "roles": ["operator"]},
    # The section head only (not an editor too): an unreachable Kasi is then the one reason
    # a breach reaches the group.
    {"key": KASI, "name": "Hendra", "roles": ["section_head"]},
)
TITLE = STORY.splitlines()[0]
AMENDED = STORY.replace("membuka Musrenbang", "membuka Musrenbang 2027")
EDITING_WINDOW_HOURS = 3


def contract_settings(
    db_url: str,
    folder: Path,
    *,
    addresses: dict[str, dict[str, Any]] | None = None,
    **overrides: Any,
) -> Settings:
    """The desk every harness runs: :data:`PEOPLE` with the channel's ``addresses`` per person
    key, and reminders sent privately only (so a group breach means someone was unreachable)."""
    people = [{**person, **(addresses or {}).get(person["key"], {})} for person in PEOPLE]
    raw: dict[str, Any] = {
        "data_dir": str(folder),
        "database_url": db_url,
        "sla": {
            "submission": "1h",
            "editing": f"{EDITING_WINDOW_HOURS}h",
            "publishing": "2h",
            "notify": ["private"],
        },
        "verification": {"checklist": [{"key": "fakta", "label": "Fakta sudah dicek"}]},
        "people": people,
        "publish": {"targets": [{"name": "arsip", "kind": "folder", "path": str(folder / "pub")}]},
    }
    raw.update(overrides)
    return Settings.model_validate(raw)


@dataclass(frozen=True)
class Arrived:
    """One message as it now stands in a chat (an edited card shows its latest text)."""

    message_id: str
    text: str
    """Plain text, as the person reads it."""
    buttons: tuple[str, ...] = ()
    """The labels of the buttons under it."""


class Harness(abc.ABC):
    """A whole Warta whose one channel is the channel under test.

    The Kasi (:data:`KASI`) has no address on that channel. ``say`` and ``press`` go in
    through the channel's own inbound path and then deliver the outbox; ``messages`` reads a
    chat as its members see it now, in the order the messages arrived.
    """

    warta: Warta
    channel: Channel
    clock: FakeClock

    @property
    def group(self) -> str:
        """The desk's group on this channel (where the cards are drawn)."""
        return self.channel.group_addresses()[0]

    @property
    def has_group(self) -> bool:
        """The desk's group is on this channel: a real group, or a virtual one (WhatsApp)."""
        return bool(self.channel.group_addresses()) or self.channel.abilities.virtual_group

    @property
    def target(self) -> str:
        """Where the sending tests write: the group, or (a channel without one, such as the
        mailbox) the editor one to one."""
        return self.group if self.has_group else self.address(EDITOR)

    @abc.abstractmethod
    def address(self, who: str) -> str:
        """The chat in which Warta writes to ``who`` (a person key) one to one."""

    @abc.abstractmethod
    async def say(
        self, who: str, text: str, *, private: bool = False, reply_to: str | None = None
    ) -> None:
        """``who`` writes ``text`` in the group (or privately), maybe as a reply to a message;
        Warta handles it and delivers its outbox."""

    @abc.abstractmethod
    async def press(
        self,
        card_message_id: str,
        data: str | None = None,
        label: str | None = None,
        *,
        who: str,
    ) -> None:
        """``who`` presses the button labelled ``label`` on a card in the group (data signed
        as the channel signs it), or a button that carries raw ``data`` (maybe forged)."""

    @abc.abstractmethod
    def button_data(self, card_message_id: str, label: str) -> str:
        """The data the button labelled ``label`` on a card in the group carries back."""

    @abc.abstractmethod
    def messages(self, recipient: str) -> list[Arrived]:
        """Every message Warta sent to a chat, cards included, in the order it arrived."""

    @abc.abstractmethod
    def answers(self) -> list[str] | None:
        """The notices shown to the pressers of buttons, oldest first (None: the channel
        shows none)."""

    # -- shared by every harness --------------------------------------------------------------

    async def drain(self) -> None:
        await self.warta.dispatcher.drain()

    def texts(self, recipient: str) -> list[str]:
        return [message.text for message in self.messages(recipient)]

    def cards(self, recipient: str, number: int = 1) -> list[Arrived]:
        """The messages in a chat that show story ``number``'s card, oldest first."""
        return [m for m in self.messages(recipient) if m.text.startswith(f"📰 #{number} ")]

    def card(self, recipient: str, number: int = 1) -> tuple[str, str, list[str]]:
        """(message id, plain text, button labels) of the latest card of story ``number``."""
        cards = self.cards(recipient, number)
        assert cards, f"no card of story #{number} in {recipient}: {self.texts(recipient)}"
        latest = cards[-1]
        return latest.message_id, latest.text, list(latest.buttons)

    def story(self, number: int = 1) -> Story:
        with self.warta.db.transaction() as session:
            found = repo.story_by_number(session, number)
            assert found is not None, f"no story #{number}"
            return found

    def card_message_id(self, number: int = 1) -> str | None:
        """The message Warta remembers as story ``number``'s card in the group."""
        story_id = self.story(number).id or 0
        with self.warta.db.transaction() as session:
            record = repo.card_record(session, story_id, self.channel.name, self.group)
            return record.message_id if record else None

    def redraws(self) -> int:
        """How many times Warta asked for a card to be drawn (each is settled as sent, whether
        or not the channel had anything new to show)."""
        return sum(1 for item in self.outbox() if item.kind == "card")

    def inbox(self) -> list[InboxMessage]:
        with self.warta.db.transaction() as session:
            return list(session.exec(select(InboxMessage).order_by(InboxMessage.id)))

    def outbox(self) -> list[OutboxItem]:
        with self.warta.db.transaction() as session:
            return list(session.exec(select(OutboxItem).order_by(OutboxItem.id)))


def button(labels: list[str], word: str) -> str:
    found = [label for label in labels if word in label]
    assert found, f"no {word!r} button among {labels}"
    return found[0]


class ChannelContract:
    """What every channel must pass. Not collected itself: a test module subclasses it as
    ``Test...`` and provides the ``harness`` fixture."""

    # -- 1. sending ---------------------------------------------------------------------------

    @pytest.mark.asyncio
    async def test_send_renders_neutral_markup_as_one_message(self, harness: Harness):
        before = harness.messages(harness.target)
        sent_id = await harness.channel.send(
            recipient=harness.target, text="<b>Halo</b> &amp; selamat", reply_to=None
        )
        arrived = harness.messages(harness.target)[len(before) :]
        assert [m.text for m in arrived] == ["Halo & selamat"]
        assert sent_id and sent_id == arrived[0].message_id

    # -- 2. splitting -------------------------------------------------------------------------

    @pytest.mark.asyncio
    async def test_text_longer_than_the_limit_arrives_in_parts_within_it(self, harness: Harness):
        limit = harness.channel.abilities.max_text
        words = [f"kata{i:05d}" for i in range(3 * limit // 10 + 50)]  # about 3.3 limits long
        text = " ".join(words)
        assert len(text) > 3 * limit
        before = len(harness.messages(harness.target))
        sent_id = await harness.channel.send(recipient=harness.target, text=text, reply_to=None)
        parts = harness.messages(harness.target)[before:]
        assert len(parts) >= 4, [len(p.text) for p in parts]
        assert all(0 < len(part.text) <= limit for part in parts)
        assert " ".join(part.text for part in parts).split() == words
        assert sent_id == parts[-1].message_id  # the id of the last part

    # -- 3. the story card, drawn and redrawn -------------------------------------------------

    async def _submitted(self, harness: Harness) -> tuple[str, str, list[str]]:
        if not harness.has_group:
            pytest.skip("the channel has no group to draw cards in: see the group-less test")
        await harness.say(REPORTER, STORY)
        assert harness.story().state == "submitted"
        card_id, text, labels = harness.card(harness.group)
        assert "#1" in text and TITLE in text and "menunggu penyuntingan" in text
        assert harness.card_message_id() == card_id
        return card_id, text, labels

    @pytest.mark.asyncio
    async def test_card_is_redrawn_in_place(self, harness: Harness):
        if not harness.channel.abilities.edit_in_place:
            pytest.skip("the channel cannot edit a sent message: see the re-sent card test")
        card_id, text, _ = await self._submitted(harness)
        assert "versi 1" in text

        drawn = harness.redraws()
        await harness.say(REPORTER, AMENDED, reply_to=card_id)  # a new version, same state
        assert harness.story().current_version == 2
        assert harness.redraws() == drawn + 1
        amended_id, amended, _ = harness.card(harness.group)
        assert amended_id == card_id and "versi 2" in amended

        await harness.say(EDITOR, "/sunting 1")
        assert harness.story().state == "editing"
        claimed_id, claimed, _ = harness.card(harness.group)
        assert claimed_id == card_id  # edited, not sent again
        assert "sedang disunting" in claimed and "(Dedi)" in claimed
        assert len(harness.cards(harness.group)) == 1
        assert harness.card_message_id() == card_id

        # A reminder redraws the card too, still in the same message.
        drawn = harness.redraws()
        harness.clock.advance(hours=EDITING_WINDOW_HOURS * 0.5, minutes=1)
        assert harness.warta.watch.sweep().sent == 1
        await harness.drain()
        assert harness.redraws() == drawn + 1
        assert [c.message_id for c in harness.cards(harness.group)] == [card_id]

    @pytest.mark.asyncio
    async def test_card_is_sent_anew_only_when_the_state_changes(self, harness: Harness):
        if harness.channel.abilities.edit_in_place:
            pytest.skip("the channel edits the card in place: see the in-place test")
        card_id, _, _ = await self._submitted(harness)

        drawn = harness.redraws()
        await harness.say(REPORTER, AMENDED, reply_to=card_id)  # a new version, same state
        assert harness.story().current_version == 2
        assert harness.redraws() == drawn + 1  # asked for, and nothing new sent
        assert [c.message_id for c in harness.cards(harness.group)] == [card_id]

        await harness.say(EDITOR, "/sunting 1")
        assert harness.story().state == "editing"
        cards = harness.cards(harness.group)
        assert len(cards) == 2 and cards[0].message_id == card_id
        claimed_id, claimed, _ = harness.card(harness.group)
        assert claimed_id != card_id
        assert "sedang disunting" in claimed and "(Dedi)" in claimed
        assert "menunggu penyuntingan" in cards[0].text  # the first card is left as it was
        assert harness.card_message_id() == claimed_id

        # A reminder redraws the card (its deadline line), but the state did not change.
        drawn = harness.redraws()
        harness.clock.advance(hours=EDITING_WINDOW_HOURS * 0.5, minutes=1)
        report = harness.warta.watch.sweep()
        await harness.drain()
        assert report.sent == 1 and harness.redraws() == drawn + 1
        assert [c.message_id for c in harness.cards(harness.group)] == [card_id, claimed_id]

    # -- 4. buttons, or the commands to type ------------------------------------------------

    @pytest.mark.asyncio
    async def test_card_button_claims_the_story(self, harness: Harness):
        if not harness.channel.abilities.buttons:
            pytest.skip("the channel has no buttons: see the typed-commands test")
        card_id, text, labels = await self._submitted(harness)
        assert "/sunting 1" not in text  # the button stands for the command
        claim = button(labels, "Sunting")

        await harness.press(card_id, label=claim, who=EDITOR)

        assert harness.story().state == "editing"
        assert harness.inbox()[-1].outcome == "claim"
        answers = harness.answers()
        if answers is not None:
            assert answers[-1] == "Beres ✓"
        _, claimed, labels = harness.card(harness.group)
        assert "sedang disunting" in claimed
        assert any("Verifikasi" in label for label in labels)

    @pytest.mark.asyncio
    async def test_card_lists_the_commands_to_type_without_buttons(self, harness: Harness):
        if harness.channel.abilities.buttons:
            pytest.skip("the channel has buttons: see the button test")
        _, text, labels = await self._submitted(harness)
        assert labels == []
        assert "/sunting 1" in text

        await harness.say(EDITOR, "/sunting 1")  # typed as the card says

        assert harness.story().state == "editing"
        assert harness.inbox()[-1].outcome == "claim"
        _, claimed, labels = harness.card(harness.group)
        assert labels == [] and "/verifikasi 1 semua" in claimed

    # -- 5. a forged button -------------------------------------------------------------------

    @pytest.mark.asyncio
    async def test_forged_button_is_refused(self, harness: Harness):
        if not harness.channel.abilities.buttons:
            pytest.skip("the channel has no buttons to forge (its cards draw none)")
        card_id, _, labels = await self._submitted(harness)
        genuine = harness.button_data(card_id, button(labels, "Sunting"))
        command, version, signature = genuine.split("|")
        assert command == "/sunting 1"
        forgeries = {
            "another command": f"/terbitkan 1|{version}|{signature}",
            "another version": f"{command}|{int(version) + 1}|{signature}",
            "an altered signature": f"{command}|{version}|{signature[::-1]}",
            "no signature": f"{command}|{version}",
        }
        before = harness.story()
        for forgery, data in forgeries.items():
            await harness.press(card_id, data=data, who=EDITOR)

            story = harness.story()
            assert (story.state, story.holder_id, story.lock_version) == (
                before.state,
                before.holder_id,
                before.lock_version,
            ), forgery
            assert harness.inbox()[-1].outcome == "forged_button", forgery
            answers = harness.answers()
            if answers is not None:
                assert "tidak dikenali" in answers[-1], forgery
        assert harness.story().state == "submitted"

    # -- 6. a person with no address on this channel ----------------------------------------

    async def _breach(self, harness: Harness) -> list[str]:
        """Let story #1's editing deadline pass; return what the group was told then."""
        if not harness.has_group:
            pytest.skip("the channel has no group: see the group-less breach test")
        kasi = next(p for p in harness.warta.desk.people.by_id.values() if p.key == KASI)
        assert harness.channel.name not in kasi.addresses  # what the harness promises
        await harness.say(REPORTER, STORY)
        before = len(harness.texts(harness.group))
        harness.clock.advance(hours=EDITING_WINDOW_HOURS, minutes=5)
        report = harness.warta.watch.sweep()
        await harness.drain()
        assert report.sent == 1 and report.superseded == 2  # the breach; both reminders folded
        return harness.texts(harness.group)[before:]

    @pytest.mark.asyncio
    async def test_breach_reaches_the_group_when_the_kasi_has_no_address(self, harness: Harness):
        told = await self._breach(harness)
        breaches = [t for t in told if "melewati batas waktu" in t]
        assert len(breaches) == 1 and "#1" in breaches[0]
        # The editor, who has an address here, is told privately as configured.
        assert any("sudah lewat" in t for t in harness.texts(harness.address(EDITOR)))
        running = set(harness.warta.channels)
        stray = [
            (item.kind, item.channel, item.recipient)
            for item in harness.outbox()
            if item.channel is not None and item.channel not in running
        ]
        assert stray == []
        assert {item.status for item in harness.outbox()} == {ItemState.SENT}

    @pytest.mark.asyncio
    async def test_breach_does_not_claim_an_escalation_that_reached_nobody(self, harness: Harness):
        told = await self._breach(harness)
        breach = next(t for t in told if "melewati batas waktu" in t)
        assert "diteruskan ke Kasi" not in breach
        # (a long message may arrive in parts on a channel with a small limit)
        assert "Belum dapat dihubungi secara pribadi oleh Warta: Hendra" in "\n".join(told)
        editor = [t for t in harness.texts(harness.address(EDITOR)) if "sudah lewat" in t]
        assert editor and "diteruskan ke Kasi" not in editor[-1]

    # -- 7. a channel without a group (the mailbox) --------------------------------------------

    @pytest.mark.asyncio
    async def test_without_a_group_coverage_is_acknowledged_one_to_one(self, harness: Harness):
        if harness.has_group:
            pytest.skip("the channel has a group: see the card tests")
        await harness.say(REPORTER, STORY, private=True)
        assert harness.story().state == "submitted"
        assert any("sudah diterima" in t for t in harness.texts(harness.address(REPORTER)))
        assert all(item.kind != "card" for item in harness.outbox())  # no group, no card
        await harness.say(EDITOR, "/sunting 1", private=True)
        assert harness.story().state == "editing"
        assert any("sedang disunting" in t for t in harness.texts(harness.address(EDITOR)))

    @pytest.mark.asyncio
    async def test_without_a_group_a_breach_reaches_the_editor_one_to_one(self, harness: Harness):
        if harness.has_group:
            pytest.skip("the channel has a group: see the breach tests")
        await harness.say(REPORTER, STORY, private=True)
        harness.clock.advance(hours=EDITING_WINDOW_HOURS, minutes=5)
        harness.warta.watch.sweep()
        await harness.drain()
        editor = [t for t in harness.texts(harness.address(EDITOR)) if "sudah lewat" in t]
        assert editor and "diteruskan ke Kasi" not in editor[-1]  # the Kasi has no address here
        assert {item.status for item in harness.outbox()} == {ItemState.SENT}
