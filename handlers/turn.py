"""One inbound message being handled: its transaction, its sender, and the replies it writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from handlers.command import Command
from handlers.desk import Desk
from handlers.messages import Button, DeskOptions, InboundMessage
from storage import repo
from storage.models import Story


@dataclass
class Turn:
    """One inbound message being handled inside one transaction."""

    desk: Desk
    session: Session
    msg: InboundMessage
    inbox_id: int
    payload: dict[str, Any]
    person: repo.PersonRecord | None
    now: datetime
    commands: tuple[Command, ...] = ()
    """Every command Warta knows (for /help and for naming the next commands to type)."""
    command: str | None = None
    args: str = ""
    outcome: str = "handled"
    written: list[int] = field(default_factory=list)
    touched: dict[int, Story] = field(default_factory=dict)
    answered: bool = False

    @property
    def locale(self) -> str:
        return self.desk.renderer.locale_for(self.person.locale if self.person else None)

    @property
    def options(self) -> DeskOptions:
        return self.desk.options

    @property
    def media(self) -> list[dict[str, Any]]:
        return list(self.payload.get("media", []))

    def render(self, name: str, *, locale: str | None = None, **values: Any) -> str:
        return self.desk.renderer.render(
            name, locale=locale or self.locale, now=self.now, person=self.person, **values
        )

    def touch(self, story: Story) -> None:
        """Note that ``story`` changed, so its cards are redrawn after this message."""
        if story.id is not None:
            self.touched[story.id] = story

    def record_refusal(self, code: str, *, story: Story | None = None) -> None:
        """Write to the audit trail who tried what and was refused (a command not theirs, a
        forged button), so that attempts can be seen later."""
        repo.audit(
            self.session,
            story_id=story.id if story else None,
            actor_id=self.person.id if self.person else None,
            event="refused" if code != "forged_button" else "forged_button",
            now=self.now,
            reason=code,
            detail={
                "channel": self.msg.channel,
                "sender": self.msg.sender,
                "chat": self.msg.chat_id,
                "text": self.msg.text[:200],
                "button": self.msg.callback_id is not None,
            },
        )

    def answer(self, name: str, **values: Any) -> None:
        """Answer a pressed button with a short notice (shown on the presser's screen)."""
        if self.msg.callback_id is None or self.answered:
            return
        self.answered = True
        self.written.append(
            repo.enqueue_item(
                self.session,
                kind="callback",
                channel=self.msg.channel,
                recipient=self.msg.callback_id,
                text=self.render(name, **values),
                now=self.now,
                inbox_id=self.inbox_id,
            )
        )

    def reply(self, name: str, *, story: Story | None = None, **values: Any) -> None:
        """Answer in the chat the message came from, as a reply to it (to the card, for a
        pressed button)."""
        reply_to = self.msg.message_id
        if self.msg.callback_id:
            reply_to = self.msg.reply_to_message_id or ""
        self.written.append(
            repo.enqueue_message(
                self.session,
                channel=self.msg.channel,
                recipient=self.msg.chat_id,
                text=self.render(name, story=story, **values),
                now=self.now,
                story_id=story.id if story else None,
                inbox_id=self.inbox_id,
                reply_to=reply_to or None,
                template=name,
            )
        )

    def share(self, name: str, **values: Any) -> None:
        """Answer here, and post the same news in the desk's group when this is not it (a
        command given in a private chat still reaches the editors)."""
        self.reply(name, **values)
        self.written += self.desk.reach.post_to_group(
            self.session,
            name,
            now=self.now,
            skip=(self.msg.channel, self.msg.chat_id),
            by=self.person,
            **values,
        )

    def tell(
        self,
        person: repo.PersonRecord,
        name: str,
        *,
        story: Story | None = None,
        buttons: list[Button] | None = None,
        **values: Any,
    ) -> bool:
        """Message ``person`` privately, preferably on this channel; False when unreachable."""
        written = self.desk.reach.tell_privately(
            self.session,
            person,
            name,
            now=self.now,
            prefer=self.msg.channel,
            story=story,
            buttons=buttons,
            inbox_id=self.inbox_id,
            **values,
        )
        if written is None:
            return False
        self.written.append(written)
        return True
