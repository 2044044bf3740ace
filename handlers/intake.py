"""Intake: every inbound message is stored, then routed to its handler, in one transaction."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from handlers.command import Command
from handlers.desk import Desk
from handlers.messages import ChatKind, InboundMessage
from handlers.turn import Turn
from storage import repo
from storage.media import FILENAME_PREFIXES, MediaRejected
from storage.models import InboxMessage
from storage.text import fit, raw_form, storable
from workflow.lifecycle import Role

log = logging.getLogger(__name__)

STALE_RETRIES = 5
TRANSIENT_RETRIES = 3
"""A database error that may pass (a lost connection, a lock held too long) is tried again
this often, with a short pause, before the message is set aside."""
SET_ASIDE = "set_aside"
AGENDA_FILE_SUFFIXES = (".csv", ".ics", ".ical", ".icalendar", ".tsv")
AGENDA_FILE_LIMIT = 1024 * 1024
"""An agenda file larger than this is refused (a month's agenda is a few kilobytes)."""

DEFAULT_ALBUM_QUIET = timedelta(seconds=3)
Route = Callable[[Turn], None]


def is_agenda_file(filename: str | None) -> bool:
    """A CSV or iCalendar file sent to the bot is an agenda to import, not coverage."""
    return bool(filename) and str(filename).lower().endswith(AGENDA_FILE_SUFFIXES)


SET_ASIDE_NOTE = "set_aside:"
"""A channel's note on a message it could not read: ``set_aside:<why>``."""
STRANGER_NOTES = frozenset({"unknown_sender_editors", "unknown_sender_ignored"})
"""Notes on a message from an address no person has, which gets no answer (e-mail)."""


class Unreadable(Exception):
    """What a channel says of a message it could not read."""


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

    def __init__(
        self,
        desk: Desk,
        *,
        route: Route,
        commands: tuple[Command, ...],
        pause: Callable[[float], None] = time.sleep,
    ) -> None:
        self.desk = desk
        self.route = route
        self.commands = commands
        self.pause = pause
        self.unstorable = 0
        """Messages that not even a minimal row could keep (shown by /health)."""

    def receive(self, msg: InboundMessage) -> Receipt:
        """Store ``msg`` and handle it in one transaction; a redelivery is answered only once.

        The message row, the state change it causes and its replies in the outbox commit
        together, so nothing is answered that was not stored; the replies leave after commit.
        What the database cannot hold (NUL, lone surrogates, ids longer than their column) is
        cleaned first, the original kept in the row's payload.
        """
        msg, raw = cleaned(msg)
        payload = self._payload(msg)
        if raw:
            payload["raw"] = raw
        return self._handle(msg, payload)

    def _payload(self, msg: InboundMessage) -> dict[str, Any]:
        """Keep the files in the media store and what was decided about each in the inbox row."""
        media = self.desk.media
        stored: list[dict[str, Any]] = []
        for index, item in enumerate(msg.media, start=1):
            # The reporter's file name is display text only (cleaned); files go downstream
            # under a name made from their position and real type (foto-1.jpg), never theirs.
            prefix = FILENAME_PREFIXES.get(item.kind, "berkas")
            fallback = media.safe_filename(None, mime=None, index=index, prefix=prefix)
            shown = media.display_filename(item.filename, fallback=fallback)
            if is_agenda_file(shown):
                # An agenda to import: kept whole in the inbox row (a small text file), so a
                # redelivery or a restart imports exactly the same bytes.
                if item.problem or len(item.data) > AGENDA_FILE_LIMIT:
                    stored.append(
                        {
                            "kind": "agenda_file",
                            "filename": shown,
                            "rejected": item.problem or "too_large",
                            "limit": AGENDA_FILE_LIMIT,
                        }
                    )
                    continue
                stored.append(
                    {
                        "kind": "agenda_file",
                        "filename": shown,
                        "data_b64": base64.b64encode(item.data).decode("ascii"),
                    }
                )
                continue
            entry: dict[str, Any] = {
                "kind": item.kind,
                "filename": fallback,
                "original_filename": shown,
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
                    pixels=rejected.pixels,
                )
            else:
                entry.update(
                    filename=media.safe_filename(
                        None,
                        mime=saved.mime,
                        index=index,
                        prefix=FILENAME_PREFIXES.get(saved.kind, "berkas"),
                    ),
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
        refused = next((note for note in msg.notes if note.startswith(SET_ASIDE_NOTE)), None)
        if refused is not None:
            # The channel could not read the message (a mail it cannot parse): kept, set
            # aside, and the operators told, like a message whose handling failed.
            return self._set_aside(msg, payload, Unreadable(refused[len(SET_ASIDE_NOTE) :]))
        transient = 0
        problem: Exception | None = None
        for _attempt in range(STALE_RETRIES + TRANSIENT_RETRIES):
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
            except OperationalError as error:
                transient += 1
                problem = error
                if transient >= TRANSIENT_RETRIES:
                    break
                log.warning("database error while handling %s; trying again", msg.message_id)
                self.pause(0.1 * 2**transient)
            except Exception as error:
                log.exception("handling message %s failed", msg.message_id)
                problem = error
                break
        else:
            log.error("message %s: the story kept changing; giving up", msg.message_id)
        return self._set_aside(msg, payload, problem, also_finish)

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

    def _set_aside(
        self,
        msg: InboundMessage,
        payload: dict[str, Any],
        problem: Exception | None,
        also_finish: tuple[int, ...] = (),
    ) -> Receipt:
        """Keep a message whose handling failed, set aside with its reason; apologise to the
        sender and tell the operators, who re-run it with ``warta inbox retry``.

        When even that cannot be written the database is away: the error goes up, so the
        channel keeps the message and delivers it again later (nothing is lost). A message
        whose payload the database refuses is kept with its raw form only.
        """
        reason = describe(problem) if problem else "the story kept changing"
        try:
            return self._write_set_aside(msg, payload, reason, also_finish)
        except OperationalError:
            raise
        except Exception:
            log.exception("message %s could not be set aside; keeping its raw form", msg.message_id)
        minimal = {"raw": {"message": raw_form(repr(msg))}, "chat_kind": msg.chat_kind.value}
        try:
            return self._write_set_aside(
                replace(msg, text="", media=()), minimal, reason, also_finish
            )
        except OperationalError:
            raise
        except Exception:
            self.unstorable += 1
            log.exception("message %s could not be stored at all", msg.message_id)
            return Receipt(0, duplicate=False, outcome="unstorable")

    def _write_set_aside(
        self,
        msg: InboundMessage,
        payload: dict[str, Any],
        reason: str,
        also_finish: tuple[int, ...],
    ) -> Receipt:
        desk = self.desk
        with desk.db.transaction() as session:
            now = desk.clock()
            inbox_id, pending, outcome = self._store(session, msg, payload, now)
            if not pending:
                return Receipt(inbox_id, duplicate=True, outcome=outcome)
            repo.set_aside_inbound(session, inbox_id, error=reason, now=now)
            for part in also_finish:
                repo.finish_inbound(session, part, outcome=f"album:{inbox_id}", now=now)
            turn = self._turn(session, msg, inbox_id, payload, now)
            if turn.person is not None or not STRANGER_NOTES & set(msg.notes):
                turn.reply("internal_error")
            for operator in desk.people.with_role(Role.OPERATOR):
                written = desk.reach.tell_privately(
                    session,
                    operator,
                    "inbox_set_aside",
                    now=now,
                    inbox_id=inbox_id,
                    number=inbox_id,
                    sender=turn.person.name if turn.person else msg.sender_name or msg.sender,
                    reason=reason,
                )
                if written is not None:
                    turn.written.append(written)
        return Receipt(inbox_id, duplicate=False, outcome=SET_ASIDE, outbox_ids=turn.written)

    def retry_set_aside(self, inbox_ids: list[int] | None = None) -> list[Receipt]:
        """Handle set-aside messages again (all of them, or those named), oldest first."""
        with self.desk.db.transaction() as session:
            rows = repo.set_aside_inbox(session, inbox_ids)
            for row in rows:
                row.processed_at, row.outcome = None, None
                session.add(row)
            again = [(row.id or 0, inbound_from_row(row)) for row in rows]
        return [self.process(inbox_id, msg) for inbox_id, msg in again]

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


def describe(error: BaseException) -> str:
    """An error in one line for the operator: its kind and its first line."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}"[:500] if text else type(error).__name__


def cleaned(msg: InboundMessage) -> tuple[InboundMessage, dict[str, str]]:
    """``msg`` as the database can hold it, and the raw form of each field that changed."""
    raw: dict[str, str] = {}

    def clean(name: str, value: str | None, limit: int | None = None) -> str | None:
        if value is None:
            return None
        fixed = storable(value)
        if limit is not None:
            fixed = fit(fixed, limit)
        if fixed != value:
            raw[name] = raw_form(value)
        return fixed

    media = tuple(
        replace(
            item,
            caption=clean(f"media.{index}.caption", item.caption),
            filename=clean(f"media.{index}.filename", item.filename),
        )
        for index, item in enumerate(msg.media)
    )
    fixed = replace(
        msg,
        chat_id=clean("chat_id", msg.chat_id, 200) or "",
        message_id=clean("message_id", msg.message_id, 200) or "",
        sender=clean("sender", msg.sender, 200) or "",
        text=clean("text", msg.text) or "",
        sender_name=clean("sender_name", msg.sender_name, 200),
        reply_to_message_id=clean("reply_to", msg.reply_to_message_id, 200),
        group_id=clean("group_id", msg.group_id, 100),
        callback_id=clean("callback_id", msg.callback_id, 200),
        notes=tuple(clean(f"note.{i}", note, 64) or "" for i, note in enumerate(msg.notes)),
        media=media,
    )
    return fixed, raw


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
