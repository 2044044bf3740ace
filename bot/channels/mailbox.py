"""The official mailbox as a channel: coverage and commands in by IMAP, private messages out
by SMTP.

Reading: every mail in the folder that is not yet marked handled (and arrived within
``look_back``) is parsed (``mail_parse``), handed to the intake — which stores it by its
Message-ID before anything is answered — and only then marked handled (a keyword flag, or a
move to the processed folder). A crash between the two leaves the mail unmarked: it is read
again, the intake knows its Message-ID, and it is only marked. Between rounds the reader waits
with IMAP IDLE where the server offers it, else it polls. IMAPClient is blocking: the reader
runs in a worker thread.

Sending: a readable HTML part with a plain-text part, in the desk's language, from the
official address; messages about one story share its subject and thread headers, and an
answer to a mail is a reply to it (``In-Reply-To``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import html
import logging
import mimetypes
import re
import smtplib
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError
from sqlalchemy.exc import OperationalError

from bot.channels.base import Abilities, Channel, ChannelContext, PermanentSendError, RetryLater
from bot.channels.mail_parse import ParsedMail, extract_text, parse_mail
from bot.channels.markup import Markup, plain, render, split
from bot.config import MailboxConfig
from handlers.intake import SET_ASIDE_NOTE
from handlers.messages import ChatKind, InboundMedia, InboundMessage

log = logging.getLogger(__name__)

CHANNEL = "email"
DONE_FLAG = b"$WartaDone"
LOOK_BACK = timedelta(days=3)
"""Only mail that arrived this recently is read: an official mailbox holds years of mail, and
coverage is sent within the hour."""
IDLE_RENEW = 25 * 60.0
"""IDLE is re-issued well within the 29 minutes a server may keep it (RFC 2177)."""
MAX_BACKOFF = 300.0
RECEIPT_KINDS = frozenset({"story_received"})
"""The acknowledgement of an e-mailed submission (``acknowledge: false`` leaves it out)."""
SUBJECT_LIMIT = 110
FOOTERS = {"id": "— Warta, meja redaksi Media Center", "en": "— Warta, the Media Center news desk"}
MANUSCRIPT_TYPES = ("application/pdf", "application/vnd.openxmlformats")


MESSAGE_ID = re.compile(rb"(?im)^message-id:\s*<([^<>\s]{1,250})>")
FROM_ADDRESS = re.compile(rb"(?im)^from:[^\r\n]*?<?([\w.+-]{1,64}@[\w-]+(?:\.[\w-]+)+)>?")


def message_id_of(header: str) -> str:
    """A Message-ID without its angle brackets (as the inbox and the story links keep it)."""
    return header.strip().strip("<>").strip()


class MailboxChannel(Channel):
    """Reads the official mailbox into the desk and sends private messages by e-mail."""

    kind = CHANNEL

    def __init__(
        self,
        context: ChannelContext,
        *,
        config: MailboxConfig,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(context)
        self.config = config
        self.abilities = Abilities(
            markup=Markup.EMAIL_HTML,
            max_text=100_000,
            edit_in_place=False,
            buttons=False,
            private=True,
            album_quiet=timedelta(0),
        )
        self._desk_of = context.extra.get("desk")  # made after the channels: asked for later
        self._clock = clock
        self._stopping = threading.Event()
        self._client: IMAPClient | None = None
        self._lock = threading.Lock()
        self.problem: str | None = None
        """Why the mailbox cannot be read now (None while it can); shown by ``/health``."""
        self.handled = 0
        self.skipped_automatic = 0
        self.rounds = 0
        self._sent_parts: dict[tuple[str, int], list[str]] = {}
        self._round_done = threading.Condition()

    @property
    def desk(self) -> Any:
        return self._desk_of() if callable(self._desk_of) else self._desk_of

    # -- what the desk needs ------------------------------------------------------------------

    def describe(self) -> str:
        config = self.config
        mark = "flag" if config.after == "flag" else f"move to {config.processed_folder}"
        return (
            f"email ({config.address}: {config.imap_host}:{config.imap_port_or_default} "
            f"{config.folder}, {mark}; SMTP {config.smtp_host_or_default}:"
            f"{config.smtp_port_or_default})"
        )

    def problems(self) -> list[str]:
        return [f"mailbox {self.config.address}: {self.problem}"] if self.problem else []

    def now(self) -> datetime:
        if self._clock is not None:
            return self._clock()
        desk = self.desk
        return desk.clock() if desk is not None else datetime.now().astimezone()

    # -- lifespan -----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Read until ``stop``: a round now, then one whenever IDLE says mail came (or every
        ``poll_every``); a failing server is retried with a growing pause."""
        reader = asyncio.create_task(asyncio.to_thread(self._read_forever))
        await stop.wait()
        self._stopping.set()
        with self._lock:
            client = self._client
        if client is not None:
            # Wake an IDLE wait: shutting the socket down ends idle_check's select at once.
            with contextlib.suppress(Exception):  # best effort: it may be gone
                client.socket().shutdown(socket.SHUT_RDWR)
        await reader

    async def stop(self) -> None:
        self._stopping.set()
        await asyncio.to_thread(self._disconnect)

    def _read_forever(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                self.read_once()
                failures = 0
                self._wait_for_mail()
            except Exception as error:
                if self._stopping.is_set():
                    break
                failures += 1
                self.problem = _describe(error)
                log.warning("mailbox: %s (trying again)", self.problem)
                self._disconnect()
                self._stopping.wait(min(MAX_BACKOFF, 2.0 * 2 ** min(failures, 8)))
        self._disconnect()

    def _wait_for_mail(self) -> None:
        client = self._connected()
        if self.config.idle and client.has_capability("IDLE"):
            client.idle()
            try:
                waited = 0.0
                step = min(self.config.poll_every.total_seconds(), IDLE_RENEW)
                while not self._stopping.is_set() and waited < IDLE_RENEW:
                    if client.idle_check(timeout=step):
                        return
                    waited += step
            finally:
                if not self._stopping.is_set():
                    client.idle_done()
            return
        self._stopping.wait(self.config.poll_every.total_seconds())

    # -- IMAP ---------------------------------------------------------------------------------

    def _tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.config.cafile:
            context.load_verify_locations(cafile=self.config.cafile)
        return context

    def _connected(self) -> IMAPClient:
        with self._lock:
            if self._client is not None:
                return self._client
        config = self.config
        client = IMAPClient(
            config.imap_host,
            port=config.imap_port_or_default,
            ssl=config.imap_security == "tls",
            ssl_context=self._tls() if config.imap_security == "tls" else None,
            timeout=config.timeout.total_seconds(),
        )
        try:
            if config.imap_security == "starttls":
                client.starttls(self._tls())
            client.login(config.login, config.password.get_secret_value())
            client.capabilities()  # re-read: MOVE and IDLE are announced after login
            if config.after == "move" and not client.folder_exists(config.processed_folder):
                client.create_folder(config.processed_folder)
            client.select_folder(config.folder)
        except BaseException:
            with contextlib.suppress(Exception):  # best effort: it may be gone
                client.logout()
            raise
        with self._lock:
            self._client = client
        return client

    def _disconnect(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:  # gone already: close our end of it
            with contextlib.suppress(Exception):
                client.shutdown()

    def unhandled(self) -> list[int]:
        """The UIDs of the mails still to read, oldest first."""
        client = self._connected()
        client.noop()  # a connection kept open sees mail that arrived since only after a sync
        since = (self.now() - LOOK_BACK).date()
        criteria: list[Any] = ["UNDELETED", "SINCE", since]
        if self.config.after == "flag":
            criteria += ["NOT", "KEYWORD", DONE_FLAG.decode()]
        return sorted(client.search(criteria))

    def read_once(self) -> int:
        """Read every unhandled mail once; the number handed to the desk. A failure is kept
        for ``/health`` (and raised) until a round succeeds."""
        try:
            return self._read_round()
        except Exception as error:
            self.problem = _describe(error)
            self._disconnect()
            raise

    def wait_rounds(self, count: int, timeout: float) -> bool:
        """Block until ``count`` reading rounds have finished (the reader runs in a thread)."""
        with self._round_done:
            return self._round_done.wait_for(lambda: self.rounds >= count, timeout)

    def _read_round(self) -> int:
        client = self._connected()
        count = 0
        for uid in self.unhandled():
            if self._stopping.is_set():
                break
            fetched = client.fetch([uid], ["RFC822", "INTERNALDATE"]).get(uid)
            if fetched is None:  # removed meanwhile by someone else
                continue
            raw = fetched.get(b"RFC822") or b""
            try:
                if self._take(uid, raw):
                    count += 1
            except OperationalError:
                raise  # the database is away: the mail stays unmarked, read again later
            except Exception as error:
                # One mail Warta cannot read must not stop the reader: it is kept, set aside
                # and the operators told (``warta inbox``); the mail stays in the mailbox.
                log.exception("mailbox: mail uid %s could not be read", uid)
                self._set_aside(uid, raw, error)
                count += 1
            self._mark_handled(client, uid)
        self.problem = None
        with self._round_done:
            self.rounds += 1
            self._round_done.notify_all()
        return count

    def _mark_handled(self, client: IMAPClient, uid: int) -> None:
        """Only after the intake committed the mail (or decided to leave it)."""
        if self.config.after == "flag":
            client.add_flags([uid], [DONE_FLAG])
            return
        if client.has_capability("MOVE"):
            client.move([uid], self.config.processed_folder)
            return
        client.copy([uid], self.config.processed_folder)
        client.add_flags([uid], [b"\\Deleted"])
        if client.has_capability("UIDPLUS"):
            client.uid_expunge([uid])  # only this mail, never others marked deleted
        # Without UIDPLUS the mail stays marked deleted (UNDELETED keeps it out of reading).

    # -- from mail to the desk ----------------------------------------------------------------

    def _take(self, uid: int, raw: bytes) -> bool:
        """Hand one mail to the desk; False when it is not for the desk (automatic mail, or
        Warta's own). A database that is away raises: the mail stays unmarked, read again."""
        parsed = parse_mail(raw, max_attachment_bytes=self.context.max_download_bytes)
        if parsed.automatic:
            self.skipped_automatic += 1
            log.info("mailbox: automatic mail %s from %s left", parsed.message_id, parsed.sender)
            return False
        if parsed.sender == self.config.address.lower():
            return False  # Warta's own mail (a copy, or a loop)
        message = self.inbound_message(parsed, uid=uid)
        self.context.receive(message)
        self.handled += 1
        return True

    def _set_aside(self, uid: int, raw: bytes, error: Exception) -> None:
        found = MESSAGE_ID.search(raw[:20000])
        message_id = (
            found.group(1).decode("ascii", "replace")
            if found
            else f"uid-{uid}-{hashlib.sha256(raw).hexdigest()[:16]}@mailbox"
        )
        sender = FROM_ADDRESS.search(raw[:20000])
        address = sender.group(1).decode("ascii", "replace").lower() if sender else "unknown"
        notes = [f"email uid {uid} in {self.config.folder}", SET_ASIDE_NOTE + _describe(error)]
        if not self._known(address):
            notes.append("unknown_sender_ignored")
        self.context.receive(
            InboundMessage(
                channel=CHANNEL,
                chat_id=address,
                message_id=message_id,
                sender=address,
                chat_kind=ChatKind.PRIVATE,
                notes=tuple(notes),
            )
        )

    def inbound_message(self, parsed: ParsedMail, *, uid: int | None = None) -> InboundMessage:
        """A mail as the desk reads any message: a command in the subject, or coverage (the
        subject is the title, the body the text, the pictures its photos)."""
        notes: list[str] = [f"email uid {uid} in {self.config.folder}"] if uid else []
        notes += [f"email: {note}" for note in parsed.notes]
        known = self._known(parsed.sender)
        if not known:
            notes.append(
                "unknown_sender_editors"
                if self.config.unknown_senders == "editors"
                else "unknown_sender_ignored"
            )
        subject = parsed.subject.strip()
        media = tuple(self._media(parsed))
        if subject.startswith("/"):
            text = subject
        else:
            body = parsed.body.strip()
            if not body:
                manuscript = self._manuscript(parsed)
                if manuscript:
                    body = manuscript
                    notes.append("email: text from the attached manuscript")
            text = f"{parsed.title}\n\n{body}".strip() if parsed.title else body
            text = text[: self.config.max_text_chars]
        reply_to = parsed.in_reply_to or next(iter(reversed(parsed.references)), None)
        return InboundMessage(
            channel=CHANNEL,
            chat_id=parsed.sender,
            message_id=parsed.message_id,
            sender=parsed.sender,
            sender_name=parsed.sender_name,
            text=text,
            chat_kind=ChatKind.PRIVATE,
            media=media,
            reply_to_message_id=reply_to,
            notes=tuple(notes),
        )

    def _known(self, address: str) -> bool:
        desk = self.desk
        return desk is None or desk.people.find(CHANNEL, address) is not None

    def _media(self, parsed: ParsedMail) -> Iterator[InboundMedia]:
        for attachment in parsed.attachments:
            kind = "photo" if attachment.mime.startswith("image/") else "file"
            yield InboundMedia(
                kind=kind,
                data=attachment.data,
                filename=attachment.filename,
                mime=attachment.mime,
                problem=attachment.problem,
                size=attachment.size or len(attachment.data),
            )

    def _manuscript(self, parsed: ParsedMail) -> str | None:
        """The text of an attached .docx or .pdf, for a mail whose body is empty."""
        for attachment in parsed.attachments:
            if attachment.problem or not attachment.mime.startswith(MANUSCRIPT_TYPES):
                continue
            text = extract_text(
                attachment.filename,
                attachment.mime,
                attachment.data,
                max_chars=self.config.max_text_chars,
            )
            if text and text.strip():
                return text.strip()
        return None

    # -- outbound -----------------------------------------------------------------------------

    async def send(
        self,
        *,
        recipient: str,
        text: str,
        reply_to: str | None,
        template: str | None = None,
        story: int | None = None,
    ) -> str | None:
        if template in RECEIPT_KINDS and not self.config.acknowledge:
            return None  # the desk chose not to acknowledge e-mailed coverage by e-mail
        pieces = split(text, Markup.NEUTRAL, self.abilities.max_text) or [text]
        key = (recipient, hash(text))
        done = self._sent_parts.setdefault(key, [])  # a retry sends only the rest
        for index, piece in enumerate(pieces):
            if index < len(done):
                continue
            message = await asyncio.to_thread(
                self.build_message,
                recipient=recipient,
                text=piece,
                reply_to=reply_to,
                story=story,
            )
            await asyncio.to_thread(self._deliver, message, recipient)
            done.append(message_id_of(message["Message-ID"]))
        self._sent_parts.pop(key, None)
        return done[-1]

    async def send_document(self, *, recipient: str, path: Path, caption: str) -> str | None:
        """The file attached to an e-mail whose text is the caption."""
        message = await asyncio.to_thread(
            self.build_message, recipient=recipient, text=caption, reply_to=None
        )
        data = await asyncio.to_thread(path.read_bytes)
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        maintype, _, subtype = kind.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=path.name)
        await asyncio.to_thread(self._deliver, message, recipient)
        return message_id_of(message["Message-ID"])

    def build_message(
        self, *, recipient: str, text: str, reply_to: str | None, story: int | None = None
    ) -> EmailMessage:
        """One e-mail: plain text and readable HTML, threaded per story."""
        config = self.config
        domain = config.address.rsplit("@", 1)[1]
        message = EmailMessage()
        message["From"] = formataddr((config.display_name, config.address))
        message["To"] = recipient
        message["Subject"] = self._subject(text, story)
        message["Date"] = format_datetime(self.now())
        message["Message-ID"] = make_msgid("warta", domain=domain)
        message["Auto-Submitted"] = "auto-replied" if reply_to else "auto-generated"
        references: list[str] = []
        if story is not None:
            references.append(f"<story-{story}.warta@{domain}>")
        if reply_to:
            message["In-Reply-To"] = f"<{message_id_of(reply_to)}>"
            references.append(f"<{message_id_of(reply_to)}>")
        if references:
            message["References"] = " ".join(references)
        message.set_content(plain(text).strip() + "\n")
        message.add_alternative(self._html(text), subtype="html")
        return message

    def _subject(self, text: str, story: int | None) -> str:
        """Messages about one story share a subject (mail programs thread by it); others are
        named by their first line."""
        if story is not None and self.desk is not None:
            headline = self._story_headline(story)
            if headline:
                return headline
        first = next((line for line in plain(text).splitlines() if line.strip()), "Warta")
        first = " ".join(first.split())
        if len(first) > SUBJECT_LIMIT:
            first = first[: SUBJECT_LIMIT - 1].rstrip() + "…"
        return first

    def _story_headline(self, story_id: int) -> str | None:
        from storage.models import Story  # the channel reads, never writes, the desk's stories

        with self.desk.db.transaction() as session:
            story = session.get(Story, story_id)
            if story is None:
                return None
            title = " ".join(story.title.split())
        if len(title) > SUBJECT_LIMIT - 20:
            title = title[: SUBJECT_LIMIT - 21].rstrip() + "…"
        word = "Story" if self.context.locale == "en" else "Berita"
        return f"[Warta] {word} #{story.number}: {title}"

    def _html(self, text: str) -> str:
        body = render(text, Markup.EMAIL_HTML).strip()
        lang = html.escape(self.context.locale or "id")
        footer = FOOTERS.get(self.context.locale, FOOTERS["id"])
        return (
            f'<!doctype html>\n<html lang="{lang}"><head><meta charset="utf-8"></head>\n'
            '<body style="font-family: Arial, Helvetica, sans-serif; font-size: 15px; '
            'line-height: 1.5; color: #1f2328;">\n'
            f"{body}\n"
            f'<p style="color: #6e7781; font-size: 12px;">{html.escape(footer)}</p>\n'
            "</body></html>\n"
        )

    @contextmanager
    def smtp(self) -> Iterator[smtplib.SMTP]:
        config = self.config
        host, port = config.smtp_host_or_default, config.smtp_port_or_default
        timeout = config.timeout.total_seconds()
        client: smtplib.SMTP
        if config.smtp_security == "tls":
            client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=self._tls())
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            client.ehlo()
            if config.smtp_security == "starttls":
                client.starttls(context=self._tls())
                client.ehlo()
            if config.password.get_secret_value() and client.has_extn("auth"):
                client.login(config.login, config.password.get_secret_value())
            yield client

    def _deliver(self, message: EmailMessage, recipient: str) -> None:
        """Hand the mail to the SMTP server, its refusals in the outbox's terms."""
        where = f"{self.config.smtp_host_or_default}:{self.config.smtp_port_or_default}"
        try:
            with self.smtp() as client:
                client.send_message(message, from_addr=self.config.address, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as error:
            code, answer = next(iter(error.recipients.values()))
            what = f"{where} refused {recipient}: {code} {_text(answer)}"
            if 400 <= code < 500:
                raise RetryLater(300, what) from None
            raise PermanentSendError(what) from None
        except smtplib.SMTPAuthenticationError as error:
            raise RetryLater(
                300, f"{where} refused the login of {self.config.login}: {error.smtp_code}"
            ) from None
        except smtplib.SMTPResponseException as error:
            what = f"{where} answered {error.smtp_code} {_text(error.smtp_error)}"
            if 400 <= error.smtp_code < 500:
                raise RetryLater(120, what) from None
            raise PermanentSendError(what) from None
        except (smtplib.SMTPException, OSError) as error:
            raise RetryLater(60, f"cannot reach the mail server at {where}: {error}") from None

    async def live_check(self) -> tuple[bool, str]:
        def check() -> tuple[bool, str]:
            try:
                client = self._connected()
                status = client.folder_status(self.config.folder, [b"MESSAGES"])
                count = status.get(b"MESSAGES", 0)
            except LoginError:
                return False, f"the mailbox refuses the login of {self.config.login}"
            except (IMAPClientError, OSError) as error:
                return False, f"the mailbox cannot be read: {_describe(error)}"
            finally:
                self._disconnect()
            try:
                with self.smtp():
                    pass
            except (smtplib.SMTPException, OSError) as error:
                return False, f"mailbox {count} mail(s); SMTP fails: {_describe(error)}"
            return True, f"mailbox {self.config.address}: {count} mail(s) in {self.config.folder}"

        return await asyncio.to_thread(check)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
