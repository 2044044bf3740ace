"""The desk: stores each inbound message, routes it to its handler and writes the replies."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from handlers.messages import Button, ChatKind, DeskOptions, InboundMessage
from handlers.render import Renderer, html_to_plain
from storage import repo
from storage.db import Database
from storage.media import MediaRejected, MediaStore
from storage.models import InboxMessage, OutboxItem, Story
from workflow.lifecycle import SYSTEM_ACTOR, Decision, Refusal, Role, StoryEvent, decide

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
STALE_RETRIES = 5
DONE_PUBLISHING = ("succeeded", "abandoned")
CHANNEL_PREFERENCE = ("telegram", "whatsapp", "email", "local")


AGENDA_FILE_SUFFIXES = (".csv", ".ics", ".ical", ".icalendar", ".tsv")
AGENDA_FILE_LIMIT = 1024 * 1024
"""An agenda file larger than this is refused (a month's agenda is a few kilobytes)."""


def is_agenda_file(filename: str | None) -> bool:
    """A CSV or iCalendar file sent to the bot is an agenda to import, not coverage."""
    return bool(filename) and str(filename).lower().endswith(AGENDA_FILE_SUFFIXES)


def private_channel(person: repo.PersonRecord, prefer: str | None = None) -> str | None:
    """The channel to reach ``person`` privately on: ``prefer`` when they have it, else the
    first of CHANNEL_PREFERENCE; None when Warta has no private address for them."""
    order = (prefer, *CHANNEL_PREFERENCE) if prefer else CHANNEL_PREFERENCE
    return next((channel for channel in order if channel in person.addresses), None)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CardView:
    text: str
    buttons: list[Button]
    message_id: str | None


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
                text=html_to_plain(self.render(name, **values))[:190],
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
            )
        )

    def share(self, name: str, **values: Any) -> None:
        """Answer here, and post the same news in the desk's group when this is not it (a
        command given in a private chat still reaches the editors)."""
        self.reply(name, **values)
        self.written += self.desk.post_to_group(
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
        channel = private_channel(person, prefer=self.msg.channel)
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
                buttons=[vars(button) for button in buttons] if buttons else None,
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
        self.listeners: list[Callable[[], None]] = []
        """Called after a message changed a story (the alarm clock looks for its next wake)."""
        self.watch: Any = None
        """The :class:`handlers.watch.Watch` on this desk's clocks, once one is made."""
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
            if is_agenda_file(item.filename):
                # An agenda to import: kept whole in the inbox row (a small text file), so a
                # redelivery or a restart imports exactly the same bytes.
                if item.problem or len(item.data) > AGENDA_FILE_LIMIT:
                    stored.append(
                        {
                            "kind": "agenda_file",
                            "filename": item.filename,
                            "rejected": item.problem or "too_large",
                            "limit": AGENDA_FILE_LIMIT,
                        }
                    )
                    continue
                stored.append(
                    {
                        "kind": "agenda_file",
                        "filename": item.filename,
                        "data_b64": base64.b64encode(item.data).decode("ascii"),
                    }
                )
                continue
            entry: dict[str, Any] = {
                "kind": item.kind,
                "filename": item.filename,
                "caption": item.caption,
                "claimed_mime": item.mime,
            }
            if item.problem:
                entry.update(
                    rejected=item.problem,
                    size=item.size,
                    limit=self.media.max_bytes,
                    mime=item.mime,
                )
                stored.append(entry)
                continue
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
            "callback_id": msg.callback_id,
            "card_version": msg.card_version,
        }

    def process(self, inbox_id: int, msg: InboundMessage) -> Receipt:
        """Handle a message that is stored but was never handled (see :meth:`pending_inbox`)."""
        with self.db.transaction() as session:
            row = session.get(InboxMessage, inbox_id)
            assert row is not None
            payload = dict(row.payload)
        return self._handle(msg, payload)

    def _handle(
        self,
        msg: InboundMessage,
        payload: dict[str, Any],
        *,
        also_finish: tuple[int, ...] = (),
    ) -> Receipt:
        from handlers.commands import route

        for _attempt in range(STALE_RETRIES):
            try:
                with self.db.transaction() as session:
                    now = self.clock()
                    inbox_id, pending, outcome = self._store(session, msg, payload, now)
                    if not pending:
                        return Receipt(inbox_id, duplicate=True, outcome=outcome)
                    if msg.group_id:
                        # One part of an album: kept until the album is complete.
                        return Receipt(inbox_id, duplicate=False, outcome="album_part")
                    person = self.people.find(msg.channel, msg.sender)
                    turn = Turn(self, session, msg, inbox_id, payload, person, now)
                    route(turn)
                    if msg.callback_id and not turn.answered:
                        turn.answer("button_done")
                    for story in turn.touched.values():
                        self.enqueue_cards(session, story, now)
                    repo.finish_inbound(session, inbox_id, outcome=turn.outcome, now=now)
                    for part in also_finish:
                        repo.finish_inbound(session, part, outcome=f"album:{inbox_id}", now=now)
                if turn.touched:
                    self.changed()
                return Receipt(
                    inbox_id, duplicate=False, outcome=turn.outcome, outbox_ids=turn.written
                )
            except (repo.StaleStory, IntegrityError):
                # Another transaction changed the story (or wrote the same row) first.
                log.info("a story changed while handling %s; deciding again", msg.message_id)
            except Exception:
                log.exception("handling message %s failed", msg.message_id)
                return self._failed(msg, payload, also_finish)
        log.error("message %s: the story kept changing; giving up", msg.message_id)
        return self._failed(msg, payload, also_finish)

    def flush_albums(self, *, quiet: timedelta) -> int:
        """Handle every album whose last part arrived ``quiet`` ago as one message.

        The caption may sit on any part; the photos of all parts go to one story. Parts that
        arrive after their album was handled are added to the story it made.
        """
        now = self.clock()
        with self.db.transaction() as session:
            groups = repo.pending_album_parts(session)
            ready = {
                key: parts
                for key, parts in groups.items()
                if max(part.received_at for part in parts) <= now - quiet
            }
            earlier = {key: repo.handled_album_part(session, *key) for key in ready}
        for key, parts in ready.items():
            first, rest = parts[0], parts[1:]
            payload = dict(first.payload)
            payload["media"] = [entry for part in parts for entry in part.payload.get("media", [])]
            text = next((part.text for part in parts if part.text and part.text.strip()), "")
            msg = replace(inbound_from_row(first), text=text, group_id=None)
            if earlier[key] is not None:
                msg = replace(msg, text="", reply_to_message_id=earlier[key])
            self._handle(msg, payload, also_finish=tuple(part.id or 0 for part in rest))
        return len(ready)

    def _store(
        self, session: Session, msg: InboundMessage, payload: dict[str, Any], now: datetime
    ) -> tuple[int, bool, str | None]:
        return repo.store_inbound(
            session,
            channel=msg.channel,
            chat_id=msg.chat_id,
            message_id=msg.message_id,
            sender=msg.sender,
            text=msg.text,
            payload=payload,
            now=now,
            group_id=msg.group_id,
        )

    def _failed(
        self, msg: InboundMessage, payload: dict[str, Any], also_finish: tuple[int, ...] = ()
    ) -> Receipt:
        """Keep a message whose handling failed, with outcome ``error``, and apologise."""
        with self.db.transaction() as session:
            now = self.clock()
            inbox_id, pending, outcome = self._store(session, msg, payload, now)
            if not pending:
                return Receipt(inbox_id, duplicate=True, outcome=outcome)
            repo.finish_inbound(session, inbox_id, outcome="error", now=now)
            for part in also_finish:
                repo.finish_inbound(session, part, outcome=f"album:{inbox_id}", now=now)
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
        if item.status != "in_progress":
            # An operator decided meanwhile (/abaikan, /terbit): their decision stands.
            log.info("outbox %s is %s; the attempt's success is not recorded", item_id, item.status)
            return
        item.status, item.done_at, item.claimed_until = "succeeded", now, None
        item.result = {**item.result, "permalink": permalink, "remote_id": remote_id}
        session.add(item)
        session.flush()
        story = session.get(Story, item.story_id)
        assert story is not None
        self.settle_publishing(session, story, now)

    def settle_publishing(self, session: Session, story: Story, now: datetime) -> None:
        """Redraw the card; when every target of the latest /publish succeeded or was
        abandoned, the story is published and the group gets the links."""
        self.enqueue_cards(session, story, now)
        round_items = repo.latest_publications(session, story.id or 0)
        if not round_items or any(row.status not in DONE_PUBLISHING for row in round_items):
            return
        decision = decide(repo.facts(story), StoryEvent.PUBLISH_SUCCEEDED, SYSTEM_ACTOR)
        if isinstance(decision, Refusal):
            log.warning("story #%s: %s", story.number, decision.message)
            return
        self.apply(session, story, decision, actor_id=None, now=now, reason=None)
        links = [
            (row.target, row.result.get("permalink"))
            for row in round_items
            if row.status == "succeeded"
        ]
        self.announce(session, story, "story_published", now=now, links=links)

    def manual_package(self, item_id: int, package: str) -> int:
        """A manual target: send the ready-to-paste package privately to every operator and
        wait for /terbit with the URL (one transaction, so a crash cannot send it twice)."""
        with self.db.transaction() as session:
            now = self.clock()
            item = session.get(OutboxItem, item_id)
            assert item is not None and item.story_id is not None
            if item.status != "in_progress":
                return 0
            story = session.get(Story, item.story_id)
            assert story is not None
            told = 0
            for operator in self.people.with_role(Role.OPERATOR):
                channel = private_channel(operator)
                if channel is None:
                    continue
                text = self.renderer.render(
                    "manual_package",
                    locale=self.renderer.locale_for(operator.locale),
                    now=now,
                    person=operator,
                    story=story,
                    target=item.target,
                    package=package,
                )
                repo.enqueue_message(
                    session,
                    channel=channel,
                    recipient=operator.addresses[channel],
                    text=text,
                    now=now,
                    story_id=story.id,
                )
                told += 1
            item.status, item.claimed_until = "waiting", None
            item.result = {**item.result, "operators_told": told}
            session.add(item)
            if told == 0:
                self.announce(session, story, "manual_nobody", now=now, target=item.target)
            self.enqueue_cards(session, story, now)
            return told

    def delivery_failed(self, item_id: int, *, error: str, retry_at: datetime | None) -> None:
        """Record a failed attempt: retried later, or given up (a message is dead-lettered, a
        publish job failed and reported to the chat)."""
        with self.db.transaction() as session:
            now = self.clock()
            item = session.get(OutboxItem, item_id)
            assert item is not None
            if item.status != "in_progress":
                return  # an operator abandoned or reported it meanwhile
            item.last_error = error[:2000]
            item.claimed_until = None
            if retry_at is not None:
                item.status, item.next_attempt_at = "retrying", retry_at
            else:
                item.status = "failed" if item.kind == "publish" else "dead"
                item.done_at = now
            session.add(item)
            if item.kind == "publish" and item.story_id:
                story = session.get(Story, item.story_id)
                assert story is not None
                self.enqueue_cards(session, story, now)
            if retry_at is None and item.kind == "publish" and item.story_id:
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
            policy=self.options.sla,
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

    def enqueue_cards(self, session: Session, story: Story, now: datetime) -> None:
        """Ask for the story's card to be redrawn in every card chat (once, however many
        changes come before it is drawn)."""
        for channel, chat_id in self.options.card_chats:
            repo.enqueue_card(
                session, story_id=story.id or 0, channel=channel, chat_id=chat_id, now=now
            )

    def card(self, story_id: int, channel: str, chat_id: str) -> CardView:
        """The card of a story as it is now: text, buttons, and the message that shows it."""
        from handlers.commands import card_buttons

        with self.db.transaction() as session:
            story = session.get(Story, story_id)
            assert story is not None
            now = self.clock()
            publications = repo.latest_publications(session, story_id)
            text = self.renderer.render(
                "story_card",
                now=now,
                story=story,
                reporter=self.people.get(story.reporter_id),
                holder=self.people.get(story.holder_id),
                photos=len(repo.media_of(session, story_id)),
                publications=publications,
            )
            buttons = card_buttons(self.renderer, story)
            return CardView(
                text=text,
                buttons=buttons,
                message_id=repo.card_message(session, story_id, channel, chat_id),
            )

    def card_shown(
        self, item_id: int, *, story_id: int, channel: str, chat_id: str, message_id: str
    ) -> None:
        """Remember which message shows the card; a reply to it reaches the story."""
        with self.db.transaction() as session:
            now = self.clock()
            repo.save_card(
                session,
                story_id=story_id,
                channel=channel,
                chat_id=chat_id,
                message_id=message_id,
                now=now,
            )
            repo.link_message(
                session, story_id=story_id, channel=channel, chat_id=chat_id, message_id=message_id
            )
            repo.mark_done(session, item_id, now=now, result={"message_id": message_id})

    def group_chats(self, session: Session) -> list[tuple[str, str]]:
        """The desk's group, where Warta posts its own news: the configured card chats, else
        the group chat Warta heard from most recently (never a private chat); empty when Warta
        knows no group yet."""
        if self.options.card_chats:
            return list(self.options.card_chats)
        found = repo.latest_group_chat(session)
        if found is None:
            log.warning("no group chat is configured or known; group messages are not sent")
            return []
        return [found]

    def post_to_group(
        self,
        session: Session,
        name: str,
        *,
        now: datetime,
        skip: tuple[str, str] | None = None,
        **values: Any,
    ) -> list[int]:
        """Post Warta's news to the desk's group (see :meth:`group_chats`), in the desk's
        language; ``skip`` is a chat that already has it."""
        written = []
        for channel, chat in self.group_chats(session):
            if (channel, chat) == skip:
                continue
            text = self.renderer.render(name, now=now, **values)
            written.append(
                repo.enqueue_message(session, channel=channel, recipient=chat, text=text, now=now)
            )
        return written

    def tell_privately(
        self,
        session: Session,
        person: repo.PersonRecord,
        name: str,
        *,
        now: datetime,
        **values: Any,
    ) -> int | None:
        """Message ``person`` privately in their language; None when unreachable."""
        channel = private_channel(person)
        if channel is None:
            return None
        text = self.renderer.render(
            name, locale=self.renderer.locale_for(person.locale), now=now, person=person, **values
        )
        return repo.enqueue_message(
            session, channel=channel, recipient=person.addresses[channel], text=text, now=now
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
        notes=tuple(payload.get("notes", ())),
        callback_id=payload.get("callback_id"),
        card_version=payload.get("card_version"),
    )
