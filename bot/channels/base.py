"""The channel contract: what a chat channel is, what it can do, and how Warta drives it."""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

from starlette.routing import BaseRoute

from bot.channels.markup import Markup, render, split
from handlers.command import Command
from handlers.intake import Receipt
from handlers.messages import Button, ChannelTraits, InboundMessage
from handlers.render import Renderer


class PermanentSendError(Exception):
    """The channel refused the message for good (blocked bot, unknown chat): do not retry."""


class RetryLater(Exception):
    """The channel asked to wait (Telegram's 429 with retry_after): try this item again then."""

    def __init__(self, seconds: float, message: str = "") -> None:
        super().__init__(message or f"asked to wait {seconds:g} s")
        self.seconds = seconds


@dataclass(frozen=True)
class Abilities:
    """What a channel can do, so the desk and the dispatcher never ask it for more."""

    markup: Markup
    """How Warta's neutral markup is written on this channel."""
    max_text: int
    """The longest text one message may carry; longer texts are split."""
    edit_in_place: bool
    """A sent message can be changed (a story card is redrawn in place)."""
    buttons: bool
    """Messages can carry buttons whose press comes back (else commands are typed)."""
    max_buttons: int = 0
    private: bool = True
    """Warta can write to a person one to one."""
    virtual_group: bool = False
    """No group Warta can join: the desk's group on this channel is its members, one to one."""
    relay_chat: bool = False
    """In the virtual group, members' plain chat is passed on to the others."""
    album_quiet: timedelta = timedelta(seconds=3)
    """Photos sent together arrive one by one; the album is complete after this much quiet."""
    quick_replies: int = 0
    """Without buttons: up to this many of a card's commands may also be offered as
    tap-to-send replies (the text still lists them, for when the channel cannot offer them)."""
    joins: bool = False
    """Every message costs: several queued together for one chat go out as one message."""


@dataclass(frozen=True)
class ChannelContext:
    """What the composition root hands every channel: where inbound messages go, and what
    a channel may show of Warta (its commands, in the desk's words)."""

    receive: Callable[[InboundMessage], Receipt]
    """Store and handle one inbound message (blocking: call it in a worker thread)."""
    renderer: Renderer
    commands: tuple[Command, ...]
    locale: str
    max_download_bytes: int
    extra: dict[str, object] = field(default_factory=dict)


class Channel(abc.ABC):
    """One chat channel inside Warta's one lifespan.

    A channel normalises what arrives into :class:`InboundMessage` and hands it to
    ``context.receive``; it sends what the outbox hands it, rendering Warta's neutral markup
    into its own format and length; it names the addresses that make up the desk's group on
    it; and it adds its routes (webhooks) to Warta's one HTTP server.
    """

    kind: ClassVar[str]
    abilities: Abilities

    def __init__(self, context: ChannelContext) -> None:
        self.context = context

    @property
    def name(self) -> str:
        """The channel's name: the people's addresses on it are keyed by it."""
        return self.kind

    # -- what the desk needs to know ----------------------------------------------------------

    def group_addresses(self) -> tuple[str, ...]:
        """The chats that make up the desk's group on this channel (empty: none)."""
        return ()

    def traits(self) -> ChannelTraits:
        abilities = self.abilities
        return ChannelTraits(
            name=self.name,
            group=self.group_addresses(),
            edit_in_place=abilities.edit_in_place,
            buttons=abilities.buttons,
            private=abilities.private,
            virtual_group=abilities.virtual_group,
            relay_chat=abilities.relay_chat,
            album_quiet=abilities.album_quiet,
            quick_replies=abilities.quick_replies,
        )

    # -- lifespan -----------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        """Routes this channel adds to Warta's one HTTP server."""
        return []

    async def start(self) -> None:
        """Connect (called once, before anything is sent)."""
        return None  # an optional step: a channel that needs it overrides it

    async def run(self, stop: asyncio.Event) -> None:
        """Work that goes on until ``stop`` is set (polling, a mailbox reader)."""
        return None  # an optional step: a channel that needs it overrides it

    async def stop(self) -> None:
        """Disconnect (called once, after ``run`` returned)."""
        return None  # an optional step: a channel that needs it overrides it

    async def live_check(self) -> tuple[bool, str]:
        """Whether the channel's service answers and accepts Warta (``warta check --live``),
        in one line saying what was found or what to fix; sends nothing to anyone."""
        return True, "nothing to check"

    def describe(self) -> str:
        """One line for the operator at start: what this channel listens to."""
        return self.name

    def problems(self) -> list[str]:
        """What keeps the channel from working now (a mailbox that cannot be read), for
        ``/health``; empty while it works."""
        return []

    def published_url(self, target: str) -> str | None:
        """Where this channel serves the published copies of a folder target (the links on
        story cards), or None."""
        return None

    # -- outbound -----------------------------------------------------------------------------

    def joinable(self, template: str | None) -> bool:
        """Whether a message of this kind may be joined with others queued for the same chat
        (``abilities.joins``); False for a kind the channel sends in a form of its own."""
        return True

    def render(self, text: str) -> str:
        """Warta's neutral markup in this channel's format."""
        return render(text, self.abilities.markup)

    def parts(self, text: str) -> list[str]:
        """Rendered, and split into messages no longer than the channel takes."""
        return split(text, self.abilities.markup, self.abilities.max_text)

    @abc.abstractmethod
    async def send(
        self,
        *,
        recipient: str,
        text: str,
        reply_to: str | None,
        template: str | None = None,
        story: int | None = None,
    ) -> str | None:
        """Send ``text`` (neutral markup) to a chat; return the id of the (last) message sent.
        ``template`` names the kind of message (``sla_reminder``, ``daily_digest`` …), for a
        channel that must send some kinds in an approved form (WhatsApp outside 24 hours)."""

    async def show_card(
        self, *, recipient: str, text: str, buttons: list[Button], message_id: str | None
    ) -> str | None:
        """Draw a story card or a question with buttons: edit ``message_id`` in place where the
        channel can, else send it anew; return the id of the message that shows it.

        A channel without buttons gets ``buttons`` empty (the text already lists what to type),
        or, with ``quick_replies``, at most that many to offer as replies where it can.
        """
        return await self.send(recipient=recipient, text=text, reply_to=None, template="story_card")

    async def send_document(self, *, recipient: str, path: Path, caption: str) -> str | None:
        """Send a file (a report's PDF) with a caption in neutral markup. A channel that cannot
        send files sends the caption, which says where the file is kept."""
        return await self.send(recipient=recipient, text=caption, reply_to=None)

    async def answer_button(self, *, callback_id: str, text: str) -> None:
        """Answer a pressed button with a short notice to the presser (where the channel can)."""
        return None  # an optional step: a channel that needs it overrides it
