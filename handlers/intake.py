"""Intake: every inbound message is stored, then routed to its handler, in one transaction."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from handlers.command import Command
from handlers.desk import Desk
from handlers.messages import ChatKind, InboundMessage
from handlers.turn import Turn
from storage import repo
from storage.media import MediaRejected
from storage.models import InboxMessage

log = logging.getLogger(__name__)

STALE_RETRIES = 5
AGENDA_FILE_SUFFIXES = (".csv", ".ics", ".ical", ".icalendar", ".tsv")
AGENDA_FILE_LIMIT = 1024 * 1024
"""An agenda file larger than this is refused (a month's agenda is a few kilobytes)."""

DEFAULT_ALBUM_QUIET = timedelta(seconds=3)
Route = Callable[[Turn], None]


def is_agenda_file(filename: str | None) -> bool:
    """A CSV or iCalendar file sent to the bot is an agenda to import, not coverage."""
    return bool(filename) and str(filename).lower().endswith(AGENDA_FILE_SUFFIXES)


@dataclass
class Receipt:
    """What became of one inbound message."""

    inbox_id: int
    duplicate: bool
    outcome: str | None
    outbox_ids: list[int] = field(default_factory=list)


class Intake:
    """What every channel feeds: ``receive`` one message, get a receipt.

    The router (the command list and what to do with a message that is not a command) is
    handed in by the composition root, so the desk knows no feature.
    """

    def __init__(self, desk: Desk, *, route: Route, commands: tuple[Command, ...]) -> None:
        self.desk = desk
        self.route = route
        self.commands = commands

    def receive(self, msg: InboundMessage) -> Receipt:
        """Store ``msg`` and handle it in one transaction; a redelivery is answered only once.

        The message row, the state change it causes and its replies in the outbox commit
        together, so nothing is answered that was not stored; the replies leave after commit.
        """
        return self._handle(msg, self._payload(msg))

    def _payload(self, msg: InboundMessage) -> dict[str, Any]:
        """Keep the files in the media store and what was decided about each in the inbox row."""
        media = self.desk.media
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
                    rejected=item.problem, size=item.size, limit=media.max_bytes, mime=item.mime
                )
                stored.append(entry)
                continue
            try:
                saved = media.put(item.data)
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
        with self.desk.db.transaction() as session:
            row = session.get(InboxMessage, inbox_id)
            assert row is not None
            payload = dict(row.payload)
        return self._handle(msg, payload)

    def _turn(
        self,
        session: Session,
        msg: InboundMessage,
        inbox_id: int,
        payload: dict[str, Any],
        now: datetime,
    ) -> Turn:
        person = self.desk.people.find(msg.channel, msg.sender)
        return Turn(self.desk, session, msg, inbox_id, payload, person, now, commands=self.commands)

    def _handle(
        self,
        msg: InboundMessage,
        payload: dict[str, Any],
        *,
        also_finish: tuple[int, ...] = (),
    ) -> Receipt:
        desk = self.desk
        for _attempt in range(STALE_RETRIES):
            try:
                with desk.db.transaction() as session:
                    now = desk.clock()
                    inbox_id, pending, outcome = self._store(session, msg, payload, now)
                    if not pending:
                        return Receipt(inbox_id, duplicate=True, outcome=outcome)
                    if msg.group_id:
                        # One part of an album: kept until the album is complete.
                        return Receipt(inbox_id, duplicate=False, outcome="album_part")
                    turn = self._turn(session, msg, inbox_id, payload, now)
                    self.route(turn)
                    if msg.callback_id and not turn.answered:
                        turn.answer("button_done")
                    for story in turn.touched.values():
                        desk.cards.enqueue(session, story, now)
                    repo.finish_inbound(session, inbox_id, outcome=turn.outcome, now=now)
                    for part in also_finish:
                        repo.finish_inbound(session, part, outcome=f"album:{inbox_id}", now=now)
                if turn.touched:
                    desk.changed()
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

    def flush_albums(self, *, quiet: timedelta | None = None) -> int:
        """Handle every album whose last part arrived long enough ago (``quiet``, else its
        channel's ``album_quiet``) as one message.

        The caption may sit on any part; the photos of all parts go to one story. Parts that
        arrive after their album was handled are added to the story it made.
        """
        desk = self.desk
        now = desk.clock()
        quiets = {channel.name: channel.album_quiet for channel in desk.options.channels}
        fallback = max(quiets.values(), default=DEFAULT_ALBUM_QUIET)
        with desk.db.transaction() as session:
            groups = repo.pending_album_parts(session)
            ready = {
                key: parts
                for key, parts in groups.items()
                if max(part.received_at for part in parts)
                <= now - (quiet if quiet is not None else quiets.get(key[0], fallback))
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
        with self.desk.db.transaction() as session:
            now = self.desk.clock()
            inbox_id, pending, outcome = self._store(session, msg, payload, now)
            if not pending:
                return Receipt(inbox_id, duplicate=True, outcome=outcome)
            repo.finish_inbound(session, inbox_id, outcome="error", now=now)
            for part in also_finish:
                repo.finish_inbound(session, part, outcome=f"album:{inbox_id}", now=now)
            turn = self._turn(session, msg, inbox_id, payload, now)
            turn.reply("internal_error")
        return Receipt(inbox_id, duplicate=False, outcome="error", outbox_ids=turn.written)

    def pending_inbox(self) -> list[tuple[int, InboundMessage]]:
        """Messages stored but never handled (a crash in between), to handle after a restart."""
        with self.desk.db.transaction() as session:
            rows = repo.unprocessed_inbox(session)
            return [(row.id or 0, inbound_from_row(row)) for row in rows]

    def recover(self) -> int:
        """Handle messages that were stored but not handled when Warta last stopped."""
        pending = self.pending_inbox()
        for inbox_id, msg in pending:
            self.process(inbox_id, msg)
        return len(pending)


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
