"""The WhatsApp channel through Twilio: signed webhooks in, the Messaging API out.

WhatsApp has no group a bot can join, so the desk's group on it is a virtual group: every
member chats one to one with Warta's number. WhatsApp lets a business write free-form only
within 24 hours of the member's last message; outside that window a message goes as an
approved template when its kind has one, else the member gets one nudge (a template) and the
message waits in the outbox until they write. Twilio types stay in this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import requests
from sqlalchemy import delete
from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.channels.base import Abilities, Channel, ChannelContext, PermanentSendError, RetryLater
from bot.channels.markup import Markup, plain, render, split
from bot.config import WhatsAppConfig, WhatsAppTemplate
from handlers.messages import Button, ChatKind, InboundMedia, InboundMessage
from storage import repo
from storage.models import WhatsAppContact, WhatsAppMessage
from storage.sql import insert_ignoring_conflict

log = logging.getLogger(__name__)

CHANNEL = "whatsapp"
WEBHOOK_PATH = "/whatsapp/webhook"
STATUS_PATH = "/whatsapp/status"
PREFIX = "whatsapp:"
TWILIO_LIMIT = 1600
REPLY_BODY_LIMIT = 255  # a content variable (the quick-reply message's body)
REPLY_TITLE_LIMIT = 20  # a quick-reply button's title
"""The longest body Twilio takes (characters; counted here in UTF-16 units to be safe)."""
WINDOW = timedelta(hours=24)
WINDOW_MARGIN = timedelta(minutes=10)
"""Free-form messages stop this long before the window closes: a message queued a moment
before the end would arrive after it."""
HOLD = timedelta(hours=6)
"""How long a message waits for its member before it is looked at again (their next message
releases it at once)."""
NUDGE = "nudge"
OUTSIDE_WINDOW = 63016
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
SIGNATURE_HEADER = "X-Twilio-Signature"
MAX_MEDIA = 10
MAX_REDIRECTS = 3
DOWNLOAD_ATTEMPTS = 2
SWEEP_EVERY = 60.0
KEEP_STATES_FOR = timedelta(days=90)

STATUS_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "read": 5,
}
FINAL_STATES = frozenset({"failed", "undelivered", "canceled"})
"""A message that ended so stays so, whatever callback arrives after."""
AGENDA_TYPES = {"text/csv": "agenda.csv", "text/calendar": "agenda.ics"}


def address_of(twilio_address: str) -> str:
    """Warta's address of a member: the number as the config writes it (``+62…``)."""
    return twilio_address.strip().removeprefix(PREFIX)


def twilio_address(address: str) -> str:
    return address if address.startswith(PREFIX) else PREFIX + address


def supersedes(new: str, old: str | None) -> bool:
    """Whether a reported status replaces the recorded one: failed and undelivered are final;
    otherwise only a further state counts (read > delivered > sent > queued)."""
    if old is None:
        return True
    if old in FINAL_STATES:
        return False
    if new in FINAL_STATES:
        return True
    return STATUS_RANK.get(new, -1) > STATUS_RANK.get(old, -1)


def host_allowed(host: str | None, patterns: Iterable[str]) -> bool:
    """``host`` is one of ``patterns`` (``*.example.com`` for any sub-domain of it)."""
    host = (host or "").lower().rstrip(".")
    for pattern in patterns:
        pattern = pattern.lower()
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]):
                return True
        elif host == pattern:
            return True
    return False


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def one_line(text: str, limit: int) -> str:
    """A template variable: WhatsApp refuses line breaks, tabs and long runs of spaces in
    them, and an empty one; long text is cut with "…"."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    flat = " · ".join(line for line in lines if line)
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return flat or "-"


def media_kind(mime: str | None) -> str:
    major = (mime or "").split("/")[0]
    return {"image": "photo", "video": "video", "audio": "voice"}.get(major, "file")


def story_like(text: str) -> bool:
    """A caption that holds a submission (a title line and a body), not a photo's caption."""
    return len([line for line in text.splitlines() if line.strip()]) >= 2


class Part(enum.Enum):
    """What an inbound message is to the burst of its sender (one submission in parts)."""

    ALONE = "alone"  # a command, a reply to a message: handled at once
    TEXT = "text"
    STORY_MEDIA = "story_media"  # a photo whose caption is the story
    MEDIA = "media"


@dataclass(frozen=True)
class Window:
    """What Warta knows of a member's 24-hour window."""

    open: bool
    last_inbound_at: datetime | None


class _NotFetched(Exception):
    """A file could not be fetched (an error answer, a broken redirect, the network)."""


class _OutsideWindow(Exception):
    """Twilio refused a free-form message at once as outside the 24-hour window."""


# -- what Warta remembers of WhatsApp (its own tables) --------------------------------------------


class Ledger:
    """The channel's records in the database: each member's window, nudge and burst, and each
    sent message's delivery state. Every method is one transaction (call it in a thread)."""

    def __init__(self, db: Any, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock

    def _contact(self, session: Session, address: str, now: datetime) -> WhatsAppContact:
        """The member's row, locked (created on first sight)."""
        session.connection().execute(
            insert_ignoring_conflict(session, WhatsAppContact.__table__),  # type: ignore[attr-defined]
            {"address": address, "holding": False, "burst_text": False, "updated_at": now},
        )
        row = session.exec(
            select(WhatsAppContact)
            .where(WhatsAppContact.address == address)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        row.updated_at = now
        session.add(row)
        return row

    def arrived(
        self, address: str, *, part: Part, quiet: timedelta
    ) -> tuple[str | None, bool, int]:
        """The member wrote: their window opens, what waited for them is released, and the
        message joins their burst. Returns the burst (album) id or None, whether a media
        message's caption is the submission's text, and how many waiting messages were
        released."""
        now = self.clock()
        with self.db.transaction() as session:
            row = self._contact(session, address, now)
            row.last_inbound_at = now
            row.holding = False
            group: str | None = None
            caption_is_text = False
            if part is not Part.ALONE:
                fresh = row.burst_id is None or row.burst_at is None or now - row.burst_at > quiet
                if part is Part.TEXT and row.burst_text:
                    fresh = True  # a second text is another submission
                if fresh:
                    row.burst_id, row.burst_text = uuid.uuid4().hex, False
                row.burst_at = now
                if part is Part.TEXT:
                    row.burst_text = True
                elif part is Part.STORY_MEDIA and not row.burst_text:
                    row.burst_text = caption_is_text = True
                group = row.burst_id
            session.add(row)
            released = repo.release_waiting(session, channel=CHANNEL, recipient=address, now=now)
            return group, caption_is_text, released

    def window(self, address: str) -> Window:
        now = self.clock()
        with self.db.transaction() as session:
            row = session.get(WhatsAppContact, address)
            if row is None or row.last_inbound_at is None:
                return Window(open=False, last_inbound_at=None)
            refused_since = row.closed_at is not None and row.closed_at >= row.last_inbound_at
            recent = now - row.last_inbound_at < WINDOW - WINDOW_MARGIN
            return Window(open=recent and not refused_since, last_inbound_at=row.last_inbound_at)

    def close_window(self, address: str, at: datetime) -> None:
        with self.db.transaction() as session:
            row = self._contact(session, address, self.clock())
            row.closed_at = max(row.closed_at or at, at)
            session.add(row)

    def claim_nudge(self, address: str, every: timedelta) -> tuple[bool, datetime | None]:
        """Whether the member should be nudged now (not yet since they last wrote, or not for
        ``every``); if so it is marked done, and the mark before is returned to undo it."""
        now = self.clock()
        with self.db.transaction() as session:
            row = self._contact(session, address, now)
            before = row.nudged_at
            since_they_wrote = before is not None and (
                row.last_inbound_at is None or before > row.last_inbound_at
            )
            if since_they_wrote and before is not None and now - before < every:
                return False, before
            row.nudged_at = now
            session.add(row)
            return True, before

    def unclaim_nudge(self, address: str, before: datetime | None) -> None:
        with self.db.transaction() as session:
            row = self._contact(session, address, self.clock())
            row.nudged_at = before
            session.add(row)

    def hold(self, address: str) -> None:
        with self.db.transaction() as session:
            row = self._contact(session, address, self.clock())
            row.holding = True
            session.add(row)

    def holding(self) -> list[str]:
        with self.db.transaction() as session:
            return list(
                session.exec(
                    select(WhatsAppContact.address).where(col(WhatsAppContact.holding).is_(True))
                )
            )

    def unsent(self, address: str) -> int:
        with self.db.transaction() as session:
            return repo.unsent_count(session, channel=CHANNEL, recipient=address)

    def let_pass(self, address: str, kinds: Iterable[str]) -> int:
        with self.db.transaction() as session:
            return repo.let_pass(
                session, channel=CHANNEL, recipient=address, kinds=kinds, now=self.clock()
            )

    def _message(
        self, session: Session, sid: str, address: str, status: str, now: datetime
    ) -> tuple[WhatsAppMessage, bool]:
        """A sent message's row, locked, and whether it is new (a status callback may come
        before Warta has recorded the send)."""
        table = WhatsAppMessage.__table__  # type: ignore[attr-defined]
        created = (
            session.connection()
            .execute(
                insert_ignoring_conflict(session, table, returning=table.c.sid),
                {
                    "sid": sid,
                    "address": address,
                    "sent_as": "unknown",
                    "batch": sid[-32:],
                    "status": status,
                    "requeued": False,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            .scalar_one_or_none()
        )
        row = session.exec(
            select(WhatsAppMessage)
            .where(WhatsAppMessage.sid == sid)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        return row, created is not None

    def sent(
        self,
        *,
        sid: str,
        address: str,
        sent_as: str,
        kind: str | None,
        batch: str,
        status: str,
        text: str | None = None,
    ) -> None:
        """Record a message Twilio accepted (its status may have been reported already)."""
        now = self.clock()
        with self.db.transaction() as session:
            row, _new = self._message(session, sid, address, status, now)
            row.sent_as, row.kind, row.batch, row.text = sent_as, kind, batch, text
            if supersedes(status, row.status):
                row.status = status
            session.add(row)
            session.flush()
            self._requeue_if_refused(session, row, now)

    def reported(self, sid: str, status: str, error_code: int | None, address: str) -> str:
        """Record a status callback; the furthest state wins, final states stay. Returns the
        state recorded."""
        now = self.clock()
        with self.db.transaction() as session:
            row, new = self._message(session, sid, address, status, now)
            if new or supersedes(status, row.status):
                row.status = status
                row.error_code = error_code if error_code is not None else row.error_code
            elif row.error_code is None and error_code is not None and status in FINAL_STATES:
                row.error_code = error_code
            row.updated_at = now
            session.add(row)
            session.flush()
            self._requeue_if_refused(session, row, now)
            return row.status

    def _requeue_if_refused(self, session: Session, row: WhatsAppMessage, now: datetime) -> None:
        """A free-form message refused as outside the window (63016) is never tried again as
        free-form: the window is recorded closed from when it was sent, and its text queued
        again, to go as a template or after a nudge."""
        if row.error_code != OUTSIDE_WINDOW or row.sent_as != "free" or row.requeued:
            return
        parts = session.exec(
            select(WhatsAppMessage).where(WhatsAppMessage.batch == row.batch).with_for_update()
        ).all()
        if any(part.requeued for part in parts):
            return
        for part in parts:
            part.requeued = True
            session.add(part)
        contact = self._contact(session, row.address, now)
        contact.closed_at = max(contact.closed_at or row.created_at, row.created_at)
        session.add(contact)
        text = next((part.text for part in parts if part.text), None)
        if text:
            repo.enqueue_message(
                session,
                channel=CHANNEL,
                recipient=row.address,
                text=text,
                now=now,
                template=row.kind,
            )
        log.info("WhatsApp %s was outside the 24-hour window; its message is queued again", row.sid)

    def state(self, sid: str) -> WhatsAppMessage | None:
        with self.db.transaction() as session:
            return session.get(WhatsAppMessage, sid)

    def forget_old(self, before: datetime) -> int:
        with self.db.transaction() as session:
            result = session.execute(
                delete(WhatsAppMessage).where(col(WhatsAppMessage.updated_at) < before)
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]


# -- the channel --------------------------------------------------------------------------------


class WhatsAppChannel(Channel):
    """Feeds the desk from Twilio's WhatsApp webhooks and delivers the outbox through Twilio."""

    kind = CHANNEL

    def __init__(
        self,
        context: ChannelContext,
        *,
        config: WhatsAppConfig,
        client: Client | None = None,
        media_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(context)
        self.config = config
        self.abilities = Abilities(
            markup=Markup.WHATSAPP,
            max_text=TWILIO_LIMIT,
            edit_in_place=False,
            buttons=False,
            virtual_group=True,
            relay_chat=config.relay_chat,
            album_quiet=config.album_quiet,
            quick_replies=max(config.card_replies, default=0),
            joins=True,
        )
        self.public_url = (config.public_url or "").rstrip("/")
        token = config.auth_token.get_secret_value()
        self.validator = RequestValidator(token)
        self.client = client or self._client()
        self.media_transport = media_transport
        self._desk = context.extra.get("desk")  # made after the channels: asked for later
        self._ledger: Ledger | None = None
        # Parts of split messages already accepted, so a retry sends only the rest.
        self._sent_parts: dict[tuple[str, int], tuple[str, list[str]]] = {}
        self._outages = 0  # answers in a row that said Twilio is away, for a growing wait
        self._holding: set[str] = set()
        self._lock = threading.Lock()
        self._passing = threading.local()
        self._listening = False
        self.pause: Callable[[float], Any] = asyncio.sleep

    def _client(self) -> Client:
        client = Client(
            self.config.account_sid,
            self.config.auth_token.get_secret_value(),
            environment={},  # the settings say everything; nothing is read from the environment
        )
        if self.config.api_base:
            client.api.base_url = self.config.api_base.rstrip("/")
        return client

    @property
    def desk(self) -> Any:
        return self._desk() if callable(self._desk) else self._desk

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            desk = self.desk
            self._ledger = Ledger(desk.db, desk.clock)
        return self._ledger

    # -- lifespan -------------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return [
            Route(WEBHOOK_PATH, self._webhook, methods=["POST"]),
            Route(STATUS_PATH, self._status, methods=["POST"]),
        ]

    async def start(self) -> None:
        """Listen to the outbox (so that templates pass messages waiting for their member) and
        take up the members whose messages wait."""
        if not self._listening:
            self.desk.db.after_outbox_commit.append(self._outbox_committed)
            self._listening = True
        waiting = await asyncio.to_thread(self.ledger.holding)
        with self._lock:
            self._holding.update(waiting)

    async def run(self, stop: asyncio.Event) -> None:
        """Every minute: take up waiting members another instance noted, let templates pass,
        and forget delivery states older than 90 days."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=SWEEP_EVERY)
            if stop.is_set():
                return
            try:
                await self.sweep()
            except Exception:
                log.exception("WhatsApp: the sweep failed; trying again in a minute")

    async def sweep(self) -> None:
        waiting = await asyncio.to_thread(self.ledger.holding)
        with self._lock:
            self._holding = set(waiting)
        await asyncio.to_thread(self._let_templates_pass)
        await asyncio.to_thread(self.ledger.forget_old, self.desk.clock() - KEEP_STATES_FOR)

    async def stop(self) -> None:
        if self._listening:
            with contextlib.suppress(ValueError):
                self.desk.db.after_outbox_commit.remove(self._outbox_committed)
            self._listening = False

    def describe(self) -> str:
        sender = self.config.sender or f"service {self.config.messaging_service_sid}"
        return f"whatsapp via Twilio ({sender}; webhook {self.public_url}{WEBHOOK_PATH})"

    async def live_check(self) -> tuple[bool, str]:
        try:
            await asyncio.to_thread(lambda: self.client.messages.list(limit=1))
        except TwilioException as error:
            # A listing reports a refusal as a plain TwilioException carrying the response.
            response = error.args[1] if len(error.args) > 1 else None
            status = getattr(error, "status", None) or getattr(response, "status_code", None)
            if status == 401:
                return False, (
                    f"Twilio does not accept the account: check {self.config.account_sid_env} "
                    f"and {self.config.auth_token_env}"
                )
            return False, f"Twilio answered {status}: {getattr(response, 'text', error)}"
        except requests.RequestException as error:
            return False, f"Twilio cannot be reached ({error}): check the network"
        sender = self.config.sender or f"service {self.config.messaging_service_sid}"
        notes = []
        if not self.public_url.startswith("https://"):
            notes.append("public_url is not https (Twilio calls only https in production)")
        if NUDGE not in self.config.templates:
            notes.append(
                "no nudge template: members who have not written for 24 hours get nothing "
                "until they write"
            )
        found = f"Twilio account {self.config.account_sid[:8]}…, sender {sender}"
        return True, "; ".join([found, *notes])

    # -- inbound: webhooks ----------------------------------------------------------------------

    async def _signed_params(self, request: Request, path: str) -> dict[str, str] | None:
        """The form Twilio posted, when its signature is right for the public address."""
        form = await request.form()
        try:
            signature = request.headers.get(SIGNATURE_HEADER, "")
            url = self.public_url + path
            if request.url.query:
                url += "?" + request.url.query
            if not signature or not self.validator.validate(url, form, signature):
                log.warning("a call to %s with a missing or wrong Twilio signature refused", path)
                return None
            return {name: str(value) for name, value in form.items()}
        finally:
            await form.close()

    async def _webhook(self, request: Request) -> Response:
        params = await self._signed_params(request, WEBHOOK_PATH)
        if params is None:
            return Response(status_code=403)
        if not (params.get("MessageSid") or params.get("SmsMessageSid")) or not params.get("From"):
            return Response(status_code=400)
        msg = await self.inbound_message(params)
        # Answered only after the message is stored (a failure is a 5xx Twilio can retry).
        await asyncio.to_thread(self.context.receive, msg)
        return Response(EMPTY_TWIML, media_type="text/xml")

    async def _status(self, request: Request) -> Response:
        params = await self._signed_params(request, STATUS_PATH)
        if params is None:
            return Response(status_code=403)
        sid = params.get("MessageSid") or params.get("SmsSid") or ""
        status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
        if not sid or not status:
            return Response(status_code=400)
        code_text = params.get("ErrorCode", "")
        code = int(code_text) if code_text.isdigit() else None
        address = address_of(params.get("To", ""))
        await asyncio.to_thread(self.ledger.reported, sid, status, code, address)
        return Response(status_code=200)

    async def inbound_message(self, params: dict[str, str]) -> InboundMessage:
        """Turn an incoming-message webhook into the desk's message: note the member's window
        (releasing what waited for them), join their burst, fetch the files."""
        sid = params.get("MessageSid") or params.get("SmsMessageSid") or ""
        address = address_of(params.get("From", ""))
        body = params.get("Body", "")
        payload = params.get("ButtonPayload", "").strip()
        if payload.startswith("/"):
            # A quick-reply button of an approved template ("Verifikasi #12"): it carries the
            # command it stands for, checked like the typed command (roles, the story's state).
            body = payload
        try:
            count = min(int(params.get("NumMedia") or 0), MAX_MEDIA)
        except ValueError:
            count = 0
        reply_to = params.get("OriginalRepliedMessageSid") or None
        if reply_to or (body.lstrip().startswith("/") and not count):
            part = Part.ALONE
        elif not count:
            part = Part.TEXT if body.strip() else Part.ALONE
        else:
            part = Part.STORY_MEDIA if story_like(body) else Part.MEDIA
        group, caption_is_text, released = await asyncio.to_thread(
            self.ledger.arrived, address, part=part, quiet=self.config.album_quiet
        )
        with self._lock:
            self._holding.discard(address)
        if released:
            log.info("%s wrote: %d waiting message(s) go now", address, released)
        caption = body if count and body.strip() else None
        media = [
            await self._fetch(params.get(f"MediaUrl{index}", ""), params, index, caption)
            for index in range(count)
        ]
        text = body if not count or group is None or caption_is_text else ""
        return InboundMessage(
            channel=CHANNEL,
            chat_id=address,
            message_id=sid,
            sender=address,
            sender_name=params.get("ProfileName") or None,
            text=text,
            chat_kind=ChatKind.PRIVATE,
            media=tuple(media),
            reply_to_message_id=reply_to,
            group_id=group,
        )

    async def _fetch(
        self, url: str, params: dict[str, str], index: int, caption: str | None
    ) -> InboundMedia:
        """One file of a message: fetched with the account's credentials only from
        ``media_hosts``, a redirect elsewhere followed without them, size-limited as it
        streams."""
        mime = params.get(f"MediaContentType{index}") or None
        kind = media_kind(mime)
        filename = AGENDA_TYPES.get((mime or "").split(";")[0].strip())
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not host_allowed(
            parts.hostname, self.config.media_hosts
        ):
            log.warning(
                "a WhatsApp file on %s was not fetched: not one of media_hosts", parts.hostname
            )
            return InboundMedia(
                kind=kind,
                data=b"",
                filename=filename,
                mime=mime,
                caption=caption,
                problem="download_failed",
            )
        limit = self.context.max_download_bytes
        problem = ""
        for attempt in range(DOWNLOAD_ATTEMPTS):
            try:
                data, size = await self._download(url, limit)
            except (_NotFetched, httpx.HTTPError) as error:
                problem = str(error) or type(error).__name__
                if attempt + 1 < DOWNLOAD_ATTEMPTS:
                    await self.pause(0.5 * 2**attempt)
                continue
            if data is None:
                return InboundMedia(
                    kind=kind,
                    data=b"",
                    filename=filename,
                    mime=mime,
                    caption=caption,
                    problem="too_large",
                    size=size,
                )
            return InboundMedia(kind=kind, data=data, filename=filename, mime=mime, caption=caption)
        log.warning("a WhatsApp file could not be fetched: %s", problem)
        return InboundMedia(
            kind=kind,
            data=b"",
            filename=filename,
            mime=mime,
            caption=caption,
            problem="download_failed",
        )

    async def _download(self, url: str, limit: int) -> tuple[bytes | None, int]:
        """The bytes at ``url`` (None when larger than ``limit``) and their size."""
        credentials = httpx.BasicAuth(
            self.config.account_sid, self.config.auth_token.get_secret_value()
        )
        async with httpx.AsyncClient(
            transport=self.media_transport, timeout=30.0, follow_redirects=False
        ) as http:
            for _hop in range(MAX_REDIRECTS + 1):
                # Credentials go only to the hosts that serve MediaUrls, never on to a CDN.
                auth = (
                    credentials
                    if host_allowed(httpx.URL(url).host, self.config.media_hosts)
                    else None
                )
                async with http.stream("GET", url, auth=auth) as response:
                    if response.is_redirect:
                        location = response.headers.get("location", "")
                        url = urljoin(url, location)
                        if not location or urlsplit(url).scheme not in ("http", "https"):
                            raise _NotFetched("a redirect without a usable Location")
                        continue
                    if response.status_code != 200:
                        raise _NotFetched(f"HTTP {response.status_code}")
                    declared = int(response.headers.get("content-length") or 0)
                    if declared > limit:
                        return None, declared
                    chunks: list[bytes] = []
                    size = 0
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > limit:
                            return None, max(size, declared)
                        chunks.append(chunk)
                    return b"".join(chunks), size
        raise _NotFetched("too many redirects")

    # -- outbound (the outbox dispatcher's messenger) ------------------------------------------

    def parts(self, text: str) -> list[str]:
        """Rendered for WhatsApp and split at Twilio's 1600 (counted as UTF-16 units, so that
        emoji cannot push a part over)."""
        limit = self.abilities.max_text
        while True:
            parts = split(text, Markup.WHATSAPP, limit)
            over = max((utf16_length(part) - TWILIO_LIMIT for part in parts), default=0)
            if over <= 0 or limit <= 100:
                return parts
            limit -= over

    async def send(
        self,
        *,
        recipient: str,
        text: str,
        reply_to: str | None,
        template: str | None = None,
        story: int | None = None,
    ) -> str | None:
        address = address_of(recipient)
        window = await asyncio.to_thread(self.ledger.window, address)
        if window.open:
            try:
                return await self._send_free(address, text, template)
            except _OutsideWindow:
                await asyncio.to_thread(self.ledger.close_window, address, self.desk.clock())
        return await self._send_outside_window(address, text, template)

    def joinable(self, template: str | None) -> bool:
        """A kind with its own approved template (a reminder, an escalation) goes alone: a
        template carries one short text."""
        return template not in self.config.templates

    async def show_card(
        self, *, recipient: str, text: str, buttons: list[Button], message_id: str | None
    ) -> str | None:
        """A story card as a new message (WhatsApp cannot edit one). Inside the window, and
        where quick-reply content is configured, its next commands come as buttons too."""
        address = address_of(recipient)
        count = max((n for n in self.config.card_replies if n <= len(buttons)), default=0)
        # A content variable holds one line of at most 255 characters: a longer card (or one
        # that carries other news with it) goes as text with the commands to type.
        body = one_line(render(text, Markup.WHATSAPP), REPLY_BODY_LIMIT + 1)
        if count and utf16_length(body) <= REPLY_BODY_LIMIT:
            window = await asyncio.to_thread(self.ledger.window, address)
            if window.open:
                try:
                    return await self._send_replies(address, body, buttons[:count])
                except _OutsideWindow:
                    await asyncio.to_thread(self.ledger.close_window, address, self.desk.clock())
        return await self.send(recipient=recipient, text=text, reply_to=None, template="story_card")

    async def _send_replies(self, address: str, body: str, buttons: list[Button]) -> str:
        values = {"1": body}
        for index, button in enumerate(buttons):
            values[str(2 * index + 2)] = one_line(plain(button.label), REPLY_TITLE_LIMIT)
            values[str(2 * index + 3)] = button.command
        message = await self._create(
            address,
            content_sid=self.config.card_replies[len(buttons)],
            content_variables=json.dumps(values),
        )
        await asyncio.to_thread(
            lambda: self.ledger.sent(
                sid=message.sid,
                address=address,
                sent_as="free",
                kind="story_card",
                batch=uuid.uuid4().hex,
                status=str(message.status or "queued"),
                text=body,
            )
        )
        return str(message.sid)

    async def _send_free(self, address: str, text: str, kind: str | None) -> str | None:
        key = (address, hash(text))
        batch, done = self._sent_parts.setdefault(key, (uuid.uuid4().hex, []))
        for index, part in enumerate(self.parts(text)):
            if index < len(done):
                continue
            message = await self._create(address, body=part)
            done.append(message.sid)
            await asyncio.to_thread(
                lambda index=index, message=message: self.ledger.sent(
                    sid=message.sid,
                    address=address,
                    sent_as="free",
                    kind=kind,
                    batch=batch,
                    status=str(message.status or "queued"),
                    text=text if index == 0 else None,
                )
            )
        self._sent_parts.pop(key, None)
        if len(self._sent_parts) > 1000:  # partial sends of items that were given up on
            self._sent_parts.clear()
        return done[-1] if done else None

    async def _send_outside_window(self, address: str, text: str, kind: str | None) -> str:
        """As the approved template of its kind; else nudge the member and let it wait."""
        template = self.config.templates.get(kind or "") if kind != NUDGE else None
        if template is not None:
            return await self._send_template(address, template, text, kind=kind)
        nudged = await self._nudge(address)
        await asyncio.to_thread(self.ledger.hold, address)
        with self._lock:
            self._holding.add(address)
        why = f"waiting for {address} to write (outside WhatsApp's 24-hour window)"
        if not nudged and NUDGE not in self.config.templates:
            why += "; no nudge template is configured to tell them"
        raise RetryLater(HOLD.total_seconds(), why)

    async def _nudge(self, address: str) -> bool:
        """Tell the member that messages wait for them (once, and again after ``nudge_every``
        of silence); True when a nudge went out now."""
        template = self.config.templates.get(NUDGE)
        if template is None:
            return False
        needed, before = await asyncio.to_thread(
            self.ledger.claim_nudge, address, self.config.nudge_every
        )
        if not needed:
            return False
        try:
            count = await asyncio.to_thread(self.ledger.unsent, address)
            await self._send_template(address, template, "", kind=NUDGE, count=max(count, 1))
        except BaseException:
            await asyncio.to_thread(self.ledger.unclaim_nudge, address, before)
            raise
        return True

    async def _send_template(
        self,
        address: str,
        template: WhatsAppTemplate,
        text: str,
        *,
        kind: str | None,
        count: int = 0,
    ) -> str:
        values = self.template_values(template, text, address=address, count=count)
        message = await self._create(
            address, content_sid=template.content_sid, content_variables=json.dumps(values)
        )
        await asyncio.to_thread(
            lambda: self.ledger.sent(
                sid=message.sid,
                address=address,
                sent_as=NUDGE if kind == NUDGE else "template",
                kind=kind,
                batch=uuid.uuid4().hex,
                status=str(message.status or "queued"),
            )
        )
        return str(message.sid)

    def template_values(
        self, template: WhatsAppTemplate, text: str, *, address: str, count: int = 0
    ) -> dict[str, str]:
        """The template's variables ``{"1": …, "2": …}``, filled from the message."""
        limit = self.config.variable_limit
        lines = [line for line in plain(text).splitlines() if line.strip()]
        person = self.desk.people.find(CHANNEL, address)
        values = {
            "text": "\n".join(lines),
            "headline": lines[0] if lines else "",
            "details": "\n".join(lines[1:]),
            "count": str(count),
            "name": person.name if person else "Rekan",
        }
        return {
            str(number): one_line(values[name], limit)
            for number, name in enumerate(template.variables, start=1)
        }

    async def _create(self, address: str, **fields: str) -> Any:
        """One message through Twilio's Messaging API, its errors in the outbox's terms."""
        if self.config.messaging_service_sid:
            fields["messaging_service_sid"] = self.config.messaging_service_sid
        else:
            fields["from_"] = self.config.sender or ""
        try:
            message = await asyncio.to_thread(
                self.client.messages.create,
                to=twilio_address(address),
                status_callback=self.public_url + STATUS_PATH,
                **fields,
            )
        except TwilioRestException as error:
            raise self._refusal(error) from None
        except requests.RequestException as error:
            raise RetryLater(self._outage_wait(), f"Twilio cannot be reached: {error}") from None
        self._outages = 0
        return message

    def _outage_wait(self) -> float:
        self._outages += 1
        return float(min(300, 5 * 2 ** (self._outages - 1)))

    def _refusal(self, error: TwilioRestException) -> Exception:
        code, status = error.code, error.status
        what = f"Twilio {status} ({code}): {error.msg}"
        if code == OUTSIDE_WINDOW:
            return _OutsideWindow(what)
        if status == 429 or status >= 500:
            return RetryLater(self._outage_wait(), what)
        if status in (401, 403):
            # A configuration to fix, not a message to lose: it waits until the account works.
            log.error("Twilio refuses the account (%s): check the Account SID and Auth Token", code)
            return RetryLater(300, what)
        return PermanentSendError(what)

    # -- letting templates pass messages that wait ---------------------------------------------

    def _outbox_committed(self) -> None:
        """After a commit that queued or put back messages: where a member's messages wait,
        those that can go now as templates go first."""
        if getattr(self._passing, "active", False):
            return
        self._passing.active = True
        try:
            self._let_templates_pass()
        except Exception:
            log.exception("WhatsApp: could not let templates pass waiting messages")
        finally:
            self._passing.active = False

    def _let_templates_pass(self) -> None:
        kinds = [kind for kind in self.config.templates if kind != NUDGE]
        with self._lock:
            waiting = sorted(self._holding)
        if not kinds or not waiting:
            return
        for address in waiting:
            moved = self.ledger.let_pass(address, kinds)
            if moved:
                log.info("%s: %d waiting message(s) let templates pass", address, moved)
