"""The local channel: an in-process chat that records what Warta says (demo and tests)."""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass, replace
from pathlib import Path

from bot.channels.base import Abilities, Channel, ChannelContext
from bot.channels.buttons import ButtonSigner
from bot.channels.markup import Markup, plain
from handlers.messages import Button, ChatKind, InboundMessage

ANSWER_LIMIT = 190


@dataclass(frozen=True)
class Said:
    recipient: str
    text: str
    reply_to: str | None
    message_id: str


@dataclass(frozen=True)
class Card:
    recipient: str
    text: str
    buttons: list[Button]


class LocalChannel(Channel):
    """Keeps every message Warta sent, in order, with the ids a real chat would give them.

    Its markup is Warta's own (neutral), so a transcript reads exactly what the templates
    wrote. ``edit_in_place`` and ``buttons`` can be switched off to see how Warta behaves on
    a channel that has neither (WhatsApp, e-mail).
    """

    kind = "local"

    def __init__(
        self,
        context: ChannelContext | None = None,
        *,
        group: tuple[str, ...] = (),
        edit_in_place: bool = True,
        buttons: bool = True,
        max_text: int = 100_000,
        virtual_group: bool = False,
        relay_chat: bool = False,
    ) -> None:
        self.context = context  # type: ignore[assignment]
        self.group = group
        self.abilities = Abilities(
            markup=Markup.NEUTRAL,
            max_text=max_text,
            edit_in_place=edit_in_place,
            buttons=buttons,
            max_buttons=8 if buttons else 0,
            virtual_group=virtual_group,
            relay_chat=relay_chat,
        )
        self.signer = ButtonSigner(secrets.token_bytes(16))
        self.said: list[Said] = []
        self.cards: dict[str, Card] = {}
        self.answers: list[tuple[str, str]] = []
        self.documents: list[tuple[str, Path]] = []
        self._ids = itertools.count(1)
        self._prefix = secrets.token_hex(3)

    def group_addresses(self) -> tuple[str, ...]:
        return self.group

    def _next_id(self) -> str:
        return f"{self._prefix}-{next(self._ids)}"

    async def send(
        self,
        *,
        recipient: str,
        text: str,
        reply_to: str | None,
        template: str | None = None,
        story: int | None = None,
    ) -> str:
        message_id = ""
        for part in self.parts(text):
            message_id = self._next_id()
            self.said.append(Said(recipient, part, reply_to, message_id))
            reply_to = None
        return message_id

    async def show_card(
        self, *, recipient: str, text: str, buttons: list[Button], message_id: str | None
    ) -> str:
        if message_id and not self.abilities.edit_in_place:
            raise AssertionError("asked to edit a message on a channel that cannot")
        if buttons and not self.abilities.buttons:
            raise AssertionError("asked to draw buttons on a channel without them")
        card_id = message_id or self._next_id()
        self.cards[card_id] = Card(recipient, self.parts(text)[0], list(buttons))
        if not self.abilities.edit_in_place:
            self.said.append(Said(recipient, self.parts(text)[0], None, card_id))
        return card_id

    async def send_document(self, *, recipient: str, path: Path, caption: str) -> str:
        self.documents.append((recipient, path))
        return await self.send(
            recipient=recipient, text=f"{caption}\n[📎 {path.name}]", reply_to=None
        )

    async def answer_button(self, *, callback_id: str, text: str) -> None:
        self.answers.append((callback_id, plain(text)[:ANSWER_LIMIT]))

    def press(
        self, card_id: str, label: str, *, sender: str, chat_kind: ChatKind
    ) -> InboundMessage:
        """The message a press of the button labelled ``label`` on card ``card_id`` makes (its
        data signed as a real channel would carry it)."""
        card = self.cards[card_id]
        button = next(b for b in card.buttons if label in b.label)
        data = self.signer.sign(button.command, button.card_version)
        return self.inbound_press(
            data, card_id=card_id, chat=card.recipient, sender=sender, chat_kind=chat_kind
        )

    def inbound_press(
        self, data: str, *, card_id: str, chat: str, sender: str, chat_kind: ChatKind
    ) -> InboundMessage:
        """A button press carrying ``data`` as it came back from the chat (maybe forged)."""
        base = InboundMessage(
            channel=self.name,
            chat_id=chat,
            message_id=f"cb-{self._next_id()}",
            sender=sender,
            chat_kind=chat_kind,
            reply_to_message_id=card_id,
            callback_id=f"cb-{self._next_id()}",
        )
        verified = self.signer.verify(data)
        if verified is None:
            return replace(base, text=data, notes=("forged_button",))
        command, version = verified
        return replace(base, text=command, card_version=version)

    def take(self) -> list[Said]:
        """Return what was said since the last call, and forget it."""
        taken, self.said = self.said, []
        return taken
