"""The desk: what every handler shares — the database, the people, the words and the clock."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from handlers.cards import Cards
from handlers.messages import ChatKind, DeskOptions, InboundMessage
from handlers.reach import Reach
from handlers.render import Renderer
from storage import repo
from storage.db import Database
from storage.media import MediaStore
from storage.models import Story
from workflow.lifecycle import Decision

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Desk:
    """The channel-agnostic state every feature works on; it routes nothing itself.

    ``reach`` says where Warta's words go (the desk's group, a person privately) and
    ``cards`` keeps the living story cards; both are parts of the desk, not features.
    """

    def __init__(
        self,
        *,
        db: Database,
        media: MediaStore,
        renderer: Renderer,
        options: DeskOptions,
        clock: Clock = utc_now,
    ) -> None:
        self.db = db
        self.media = media
        self.renderer = renderer
        self.options = options
        self.clock = clock
        self.people = repo.PeopleDirectory(by_id={}, by_address={})
        self.listeners: list[Callable[[], None]] = []
        """Called after a message changed a story (the alarm clock looks for its next wake)."""
        self.reach = Reach(renderer=renderer, options=options, people=lambda: self.people)
        self.cards = Cards(
            db=db,
            renderer=renderer,
            options=options,
            people=lambda: self.people,
            reach=self.reach,
        )
        self.reload_people()

    def reload_people(self) -> None:
        """Read the people again (after the configuration mirrored them into the database)."""
        with self.db.transaction() as session:
            self.people = repo.load_people(session)

    def changed(self) -> None:
        for listener in self.listeners:
            try:
                listener()
            except Exception:
                log.exception("a change listener failed")

    def apply(
        self,
        session: Session,
        story: Story,
        decision: Decision,
        *,
        actor_id: int | None,
        now: datetime,
        reason: str | None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Write a decision of the story's lifecycle (state, holder, clock, audit entry)."""
        repo.apply_decision(
            session,
            story,
            decision,
            actor_id=actor_id,
            now=now,
            reason=reason,
            policy=self.options.sla,
            detail=detail,
        )

    def is_group(self, msg: InboundMessage) -> bool:
        return msg.chat_kind is ChatKind.GROUP
