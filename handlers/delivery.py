"""What became of each outbox item: a message sent, a post made, a failure to retry or report."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from handlers.desk import Desk
from storage import repo
from storage.models import OutboxItem, Story
from workflow.delivery import DONE_PUBLISHING, ItemEvent, ItemState
from workflow.lifecycle import SYSTEM_ACTOR, Refusal, Role, StoryEvent, decide

log = logging.getLogger(__name__)

STALE_RETRIES = 5


class Delivery:
    """Records the dispatcher's outcomes in the same transaction as what they cause."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def message_sent(self, item_id: int, remote_message_id: str | None) -> None:
        """Record a delivered message; a reply to it will reach its story."""
        desk = self.desk
        with desk.db.transaction() as session:
            item = session.get(OutboxItem, item_id)
            assert item is not None
            repo.move_item(
                session,
                item,
                ItemEvent.DELIVERED,
                now=desk.clock(),
                result={"message_id": remote_message_id},
            )
            if item.story_id and remote_message_id and item.channel and item.recipient:
                repo.link_message(
                    session,
                    story_id=item.story_id,
                    channel=item.channel,
                    chat_id=item.recipient,
                    message_id=remote_message_id,
                )

    def card_shown(
        self,
        item_id: int,
        *,
        story_id: int,
        channel: str,
        chat_id: str,
        message_id: str | None,
        state: str,
    ) -> None:
        """Remember the message that shows a story's card (and the state it shows)."""
        self.desk.cards.shown(
            item_id,
            story_id=story_id,
            channel=channel,
            chat_id=chat_id,
            message_id=message_id,
            state=state,
            now=self.desk.clock(),
        )

    def publish_succeeded(self, item_id: int, *, permalink: str, remote_id: str | None) -> None:
        """Record one target's permalink; when the round is complete the story is published."""
        for _attempt in range(STALE_RETRIES):
            try:
                with self.desk.db.transaction() as session:
                    self._publish_succeeded(session, item_id, permalink, remote_id)
                return
            except repo.StaleStory:
                continue
        raise RuntimeError(f"outbox {item_id}: story kept changing, gave up")

    def _publish_succeeded(
        self, session: Session, item_id: int, permalink: str, remote_id: str | None
    ) -> None:
        now = self.desk.clock()
        item = session.get(OutboxItem, item_id)
        assert item is not None and item.story_id is not None
        if item.status != ItemState.IN_PROGRESS or not repo.move_item(
            session,
            item,
            ItemEvent.DELIVERED,
            now=now,
            result={"permalink": permalink, "remote_id": remote_id},
        ):
            # An operator decided meanwhile (/abaikan, /terbit): their decision stands.
            log.info("outbox %s is %s; the attempt's success is not recorded", item_id, item.status)
            return
        session.flush()
        story = session.get(Story, item.story_id)
        assert story is not None
        self.settle_publishing(session, story, now)

    def settle_publishing(self, session: Session, story: Story, now: datetime) -> None:
        settle_publishing(self.desk, session, story, now)

    def manual_package(self, item_id: int, package: str) -> int:
        """A manual target: send the ready-to-paste package privately to every operator and
        wait for /terbit with the URL (one transaction, so a crash cannot send it twice)."""
        desk = self.desk
        with desk.db.transaction() as session:
            now = desk.clock()
            item = session.get(OutboxItem, item_id)
            assert item is not None and item.story_id is not None
            if item.status != ItemState.IN_PROGRESS:
                return 0
            story = session.get(Story, item.story_id)
            assert story is not None
            told = 0
            for operator in desk.people.with_role(Role.OPERATOR):
                written = desk.reach.tell_privately(
                    session,
                    operator,
                    "manual_package",
                    now=now,
                    story=story,
                    target=item.target,
                    package=package,
                )
                told += written is not None
            repo.move_item(
                session, item, ItemEvent.HAND_OVER, now=now, result={"operators_told": told}
            )
            if told == 0:
                desk.reach.announce(session, story, "manual_nobody", now=now, target=item.target)
            desk.cards.enqueue(session, story, now)
            return told

    def delivery_failed(
        self, item_id: int, *, error: str, retry_at: datetime | None, cause: str | None = None
    ) -> None:
        """Record a failed attempt: retried later, or given up (a message is dead-lettered, a
        publish job failed and reported to the chat). ``cause`` names the kind of failure
        (a publish target unreachable, a certificate invalid …) for the people told."""
        desk = self.desk
        with desk.db.transaction() as session:
            now = desk.clock()
            item = session.get(OutboxItem, item_id)
            assert item is not None
            if item.status != ItemState.IN_PROGRESS:
                return  # an operator abandoned or reported it meanwhile
            if retry_at is not None:
                repo.move_item(
                    session,
                    item,
                    ItemEvent.RETRY_LATER,
                    now=now,
                    result={"cause": cause},
                    last_error=error[:2000],
                    next_attempt_at=retry_at,
                )
            else:
                repo.move_item(
                    session,
                    item,
                    ItemEvent.GIVE_UP,
                    now=now,
                    result={"cause": cause},
                    last_error=error[:2000],
                )
            if item.kind == "publish" and item.story_id:
                story = session.get(Story, item.story_id)
                assert story is not None
                desk.cards.enqueue(session, story, now)
                if retry_at is None:
                    desk.reach.announce(
                        session,
                        story,
                        "publish_target_failed",
                        now=now,
                        target=item.target,
                        error=error,
                        cause=cause,
                    )

    def postpone(
        self, item_id: int, *, until: datetime | None = None, error: str | None = None
    ) -> None:
        """Put an item back untried, without using up an attempt: an earlier message of its
        chat failed, or the channel asked to wait (``until``)."""
        with self.desk.db.transaction() as session:
            item = session.get(OutboxItem, item_id)
            if item is None or item.status != ItemState.IN_PROGRESS:
                return
            changes: dict[str, object] = {"attempts": max(0, item.attempts - 1)}
            if until is not None:
                changes["next_attempt_at"] = until
            if error is not None:
                changes["last_error"] = error
            repo.move_item(session, item, ItemEvent.POSTPONE, now=self.desk.clock(), **changes)


def settle_publishing(desk: Desk, session: Session, story: Story, now: datetime) -> None:
    """Redraw the card; when every target of the latest /publish succeeded or was
    abandoned, the story is published and the group gets the links.

    The story's row is locked first: two targets that finish at the same moment then settle
    one after the other, and the second sees the first's result (without the lock, each saw
    the other still running on PostgreSQL, and the story stayed "publishing")."""
    session.get(Story, story.id, with_for_update=True, populate_existing=True)
    desk.cards.enqueue(session, story, now)
    round_items = repo.latest_publications(session, story.id or 0)
    if not round_items or any(row.status not in DONE_PUBLISHING for row in round_items):
        return
    decision = decide(repo.facts(story), StoryEvent.PUBLISH_SUCCEEDED, SYSTEM_ACTOR)
    if isinstance(decision, Refusal):
        log.warning("story #%s: %s", story.number, decision.message)
        return
    desk.apply(session, story, decision, actor_id=None, now=now, reason=None)
    links = [
        (row.target, row.result.get("permalink"))
        for row in round_items
        if row.status == ItemState.SUCCEEDED
    ]
    desk.reach.announce(session, story, "story_published", now=now, links=links)
