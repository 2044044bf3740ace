"""The desk: stores each inbound message, routes it to its handler and writes the replies."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from handlers.messages import ChatKind, DeskOptions, InboundMessage
from handlers.render import Renderer
from storage import repo
from storage.db import Database
from storage.media import MediaRejected, MediaStore
from storage.models import InboxMessage, OutboxItem, Story
from workflow.lifecycle import SYSTEM_ACTOR, Decision, Refusal, StoryEvent, decide

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
STALE_RETRIES = 5
CHANNEL_PREFERENCE = ("telegram", "whatsapp", "email", "local")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Receipt:
    """What became of one inbound message."""

    inbox_id: int
    duplicate: bool
    outcome: str | None
    outbox_ids: list[int] = field(default_factory=list)


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
    command: str | None = None
    args: str = ""
    outcome: str = "handled"
    written: list[int] = field(default_factory=list)

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

    def reply(self, name: str, *, story: Story | None = None, **values: Any) -> None:
        """Answer in the chat the message came from, as a reply to it."""
        self.written.append(
            repo.enqueue_message(
                self.session,
                channel=self.msg.channel,
                recipient=self.msg.chat_id,
                text=self.render(name, story=story, **values),
                now=self.now,
                story_id=story.id if story else None,
                inbox_id=self.inbox_id,
                reply_to=self.msg.message_id,
            )
        )

    def tell(
        self, person: repo.PersonRecord, name: str, *, story: Story | None = None, **values: Any
    ) -> bool:
        """Message ``person`` privately, preferably on this channel; False when unreachable."""
        channel = next(
            (c for c in (self.msg.channel, *CHANNEL_PREFERENCE) if c in person.addresses), None
        )
        if channel is None:
            return False
        text = self.desk.renderer.render(
            name,
            locale=self.desk.renderer.locale_for(person.locale),
            now=self.now,
            person=person,
            story=story,
            **values,
        )
        self.written.append(
            repo.enqueue_message(
                self.session,
                channel=channel,
                recipient=person.addresses[channel],
                text=text,
                now=self.now,
                story_id=story.id if story else None,
                inbox_id=self.inbox_id,
            )
        )
        return True


class Desk:
    """The channel-agnostic core every adapter feeds: ``receive`` one message, get a receipt."""

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
        self.reload_people()

    def reload_people(self) -> None:
        """Read the people again (after the configuration mirrored them into the database)."""
        with self.db.transaction() as session:
            self.people = repo.load_people(session)

    # -- inbound ------------------------------------------------------------------------------

    def receive(self, msg: InboundMessage) -> Receipt:
        """Store ``msg`` and handle it in one transaction; a redelivery is answered only once.

        The message row, the state change it causes and its replies in the outbox commit
        together, so nothing is answered that was not stored; the replies leave after commit.
        """
        return self._handle(msg, self._payload(msg))

    def _payload(self, msg: InboundMessage) -> dict[str, Any]:
        """Keep the files in the media store and what was decided about each in the inbox row."""
        stored: list[dict[str, Any]] = []
        for item in msg.media:
            entry: dict[str, Any] = {
                "kind": item.kind,
                "filename": item.filename,
                "caption": item.caption,
                "claimed_mime": item.mime,
            }
            try:
                saved = self.media.put(item.data)
            except MediaRejected as rejected:
                entry.update(
                    rejected=rejected.reason,
                    size=rejected.size,
                    limit=rejected.limit,
                    mime=rejected.mime,
                )
            else:
                entry.update(
                    sha256=saved.sha256,
                    mime=saved.mime,
                    kind=saved.kind,
                    size=saved.size,
                    path=saved.relative_path,
                )
            stored.append(entry)
        return {
            "sender_name": msg.sender_name,
            "chat_kind": msg.chat_kind.value,
            "reply_to": msg.reply_to_message_id,
            "media": stored,
            "notes": list(msg.notes),
        }

    def process(self, inbox_id: int, msg: InboundMessage) -> Receipt:
        """Handle a message that is stored but was never handled (see :meth:`pending_inbox`)."""
        with self.db.transaction() as session:
            row = session.get(InboxMessage, inbox_id)
            assert row is not None
            payload = dict(row.payload)
        return self._handle(msg, payload)

    def _handle(self, msg: InboundMessage, payload: dict[str, Any]) -> Receipt:
        from handlers.commands import route

        for _attempt in range(STALE_RETRIES):
            try:
                with self.db.transaction() as session:
                    now = self.clock()
                    inbox_id, pending, outcome = repo.store_inbound(
                        session,
                        channel=msg.channel,
                        chat_id=msg.chat_id,
                        message_id=msg.message_id,
                        sender=msg.sender,
                        text=msg.text,
                        payload=payload,
                        now=now,
                    )
                    if not pending:
                        return Receipt(inbox_id, duplicate=True, outcome=outcome)
                    person = self.people.find(msg.channel, msg.sender)
                    turn = Turn(self, session, msg, inbox_id, payload, person, now)
                    route(turn)
                    repo.finish_inbound(session, inbox_id, outcome=turn.outcome, now=now)
                return Receipt(
                    inbox_id, duplicate=False, outcome=turn.outcome, outbox_ids=turn.written
                )
            except repo.StaleStory:
                log.info("a story changed while handling %s; deciding again", msg.message_id)
            except Exception:
                log.exception("handling message %s failed", msg.message_id)
                return self._failed(msg, payload)
        log.error("message %s: the story kept changing; giving up", msg.message_id)
        return self._failed(msg, payload)

    def _failed(self, msg: InboundMessage, payload: dict[str, Any]) -> Receipt:
        """Keep a message whose handling failed, with outcome ``error``, and apologise."""
        with self.db.transaction() as session:
            now = self.clock()
            inbox_id, pending, outcome = repo.store_inbound(
                session,
                channel=msg.channel,
                chat_id=msg.chat_id,
                message_id=msg.message_id,
                sender=msg.sender,
                text=msg.text,
                payload=payload,
                now=now,
            )
            if not pending:
                return Receipt(inbox_id, duplicate=True, outcome=outcome)
            repo.finish_inbound(session, inbox_id, outcome="error", now=now)
            person = self.people.find(msg.channel, msg.sender)
            turn = Turn(self, session, msg, inbox_id, payload, person, now)
            turn.reply("internal_error")
        return Receipt(inbox_id, duplicate=False, outcome="error", outbox_ids=turn.written)

    def pending_inbox(self) -> list[tuple[int, InboundMessage]]:
        """Messages stored but never handled (a crash in between), to handle after a restart."""
        with self.db.transaction() as session:
            rows = repo.unprocessed_inbox(session)
            return [(row.id or 0, inbound_from_row(row)) for row in rows]

    # -- outbox results -----------------------------------------------------------------------

    def message_sent(self, item_id: int, remote_message_id: str | None) -> None:
        """Record a delivered message; a reply to it will reach its story."""
        with self.db.transaction() as session:
            item = session.get(OutboxItem, item_id)
            assert item is not None
            item.status, item.done_at = "sent", self.clock()
            item.result = {**item.result, "message_id": remote_message_id}
            session.add(item)
            if item.story_id and remote_message_id and item.channel and item.recipient:
                repo.link_message(
                    session,
                    story_id=item.story_id,
                    channel=item.channel,
                    chat_id=item.recipient,
                    message_id=remote_message_id,
                )

    def publish_succeeded(self, item_id: int, *, permalink: str, remote_id: str | None) -> None:
        """Record one target's permalink; when the round is complete the story is published."""
        for _attempt in range(STALE_RETRIES):
            try:
                with self.db.transaction() as session:
                    self._publish_succeeded(session, item_id, permalink, remote_id)
                return
            except repo.StaleStory:
                continue
        raise RuntimeError(f"outbox {item_id}: story kept changing, gave up")

    def _publish_succeeded(
        self, session: Session, item_id: int, permalink: str, remote_id: str | None
    ) -> None:
        now = self.clock()
        item = session.get(OutboxItem, item_id)
        assert item is not None and item.story_id is not None
        if item.status == "sent":
            return
        item.status, item.done_at = "sent", now
        item.result = {**item.result, "permalink": permalink, "remote_id": remote_id}
        session.add(item)
        session.flush()
        story = session.get(Story, item.story_id)
        assert story is not None
        publish_round = int(item.payload["round"])
        round_items = repo.publish_round_items(session, story.id or 0, publish_round)
        if any(row.status != "sent" for row in round_items):
            return
        decision = decide(repo.facts(story), StoryEvent.PUBLISH_SUCCEEDED, SYSTEM_ACTOR)
        if isinstance(decision, Refusal):
            log.warning("story #%s: %s", story.number, decision.message)
            return
        self.apply(session, story, decision, actor_id=None, now=now, reason=None)
        links = [(row.target, row.result.get("permalink")) for row in round_items]
        self.announce(session, story, "story_published", now=now, links=links)

    def delivery_failed(self, item_id: int, *, error: str, retry_at: datetime | None) -> None:
        """Record a failed attempt: retried later, or given up (a message is dead-lettered, a
        publish job failed and reported to the chat)."""
        with self.db.transaction() as session:
            now = self.clock()
            item = session.get(OutboxItem, item_id)
            assert item is not None
            item.last_error = error[:2000]
            item.claimed_until = None
            if retry_at is not None:
                item.status, item.next_attempt_at = "pending", retry_at
            else:
                item.status = "failed" if item.kind == "publish" else "dead"
                item.done_at = now
            session.add(item)
            if retry_at is None and item.kind == "publish" and item.story_id:
                story = session.get(Story, item.story_id)
                assert story is not None
                self.announce(
                    session,
                    story,
                    "publish_target_failed",
                    now=now,
                    target=item.target,
                    error=error,
                )

    # -- shared by handlers -------------------------------------------------------------------

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
        repo.apply_decision(
            session,
            story,
            decision,
            actor_id=actor_id,
            now=now,
            reason=reason,
            windows=self.options.windows,
            tz=self.options.tz,
            detail=detail,
        )

    def announce(
        self, session: Session, story: Story, name: str, *, now: datetime, **values: Any
    ) -> None:
        """Post to the chat the story was submitted in (Warta's own news about it)."""
        reporter = self.people.get(story.reporter_id)
        text = self.renderer.render(name, now=now, story=story, reporter=reporter, **values)
        repo.enqueue_message(
            session,
            channel=story.origin_channel,
            recipient=story.origin_chat,
            text=text,
            now=now,
            story_id=story.id,
        )

    def is_group(self, msg: InboundMessage) -> bool:
        return msg.chat_kind is ChatKind.GROUP


def inbound_from_row(row: InboxMessage) -> InboundMessage:
    """Rebuild the normalized message from its inbox row (media stay in the media store)."""
    payload = row.payload
    return InboundMessage(
        channel=row.channel,
        chat_id=row.chat_id,
        message_id=row.message_id,
        sender=row.sender,
        text=row.text or "",
        sender_name=payload.get("sender_name"),
        chat_kind=ChatKind(payload.get("chat_kind", "group")),
        reply_to_message_id=payload.get("reply_to"),
    )
