"""The local channel: an in-process chat that records what Warta says (demo and tests)."""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass, field

from handlers.messages import Button


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


@dataclass
class LocalMessenger:
    """Keeps every message Warta sent, in order, with the ids a real chat would give them."""

    said: list[Said] = field(default_factory=list)
    cards: dict[str, Card] = field(default_factory=dict)
    answers: list[tuple[str, str]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _prefix: str = field(default_factory=lambda: secrets.token_hex(3))

    async def send(self, *, recipient: str, text: str, reply_to: str | None) -> str:
        message_id = f"{self._prefix}-{next(self._ids)}"
        self.said.append(Said(recipient, text, reply_to, message_id))
        return message_id

    async def show_card(
        self, *, recipient: str, text: str, buttons: list[Button], message_id: str | None
    ) -> str:
        card_id = message_id or f"{self._prefix}-{next(self._ids)}"
        self.cards[card_id] = Card(recipient, text, list(buttons))
        return card_id

    async def answer_callback(self, *, callback_id: str, text: str) -> None:
        self.answers.append((callback_id, text))

    def take(self) -> list[Said]:
        """Return what was said since the last call, and forget it."""
        taken, self.said = self.said, []
        return taken
