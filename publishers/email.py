"""The e-mail target: sends the article as a multipart message (text, HTML, photos) over SMTP."""

from __future__ import annotations

import asyncio
import html
import logging
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import format_datetime

from publishers.base import Article, PublishCause, PublishError, PublishResult
from publishers.failures import certificate_problem, connection_reason, trim
from publishers.images import prepare_for_target, renamed_for
from publishers.sanitize import article_body_html, article_body_text

log = logging.getLogger(__name__)


def message_id(article: Article) -> str:
    """Deterministic, so a resent version is recognisably the same message."""
    return f"<warta-{article.story_number}-v{article.version}@warta.local>"


class EmailPublisher:
    """Mails each version of a story to ``to``; photos are cleaned (no EXIF/GPS) and attached.

    An SMTP 4xx answer, a dropped connection or a timeout is retryable; a 5xx answer is final.
    """

    def __init__(
        self,
        name: str,
        *,
        host: str,
        port: int,
        sender: str,
        to: list[str],
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 20.0,
        max_photo_bytes: int = 5_000_000,
        max_photo_side: int = 2560,
    ) -> None:
        if not to:
            raise ValueError("an e-mail target needs at least one recipient")
        self.name = name
        self.host = host
        self.port = port
        self.sender = sender
        self.to = list(to)
        self.username = username
        self.password = password
        self.starttls = starttls
        self.timeout = timeout
        self.max_photo_bytes = max_photo_bytes
        self.max_photo_side = max_photo_side

    async def publish(self, article: Article, *, remote_id: str | None = None) -> PublishResult:
        message = await asyncio.to_thread(self.build_message, article)
        await asyncio.to_thread(self._send, message)
        return PublishResult(permalink=f"mailto:{self.to[0]}", remote_id=message["Message-ID"])

    def build_message(self, article: Article) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = article.title
        message["From"] = self.sender
        message["To"] = ", ".join(self.to)
        message["Date"] = format_datetime(article.published_at)
        message["Message-ID"] = message_id(article)
        message["X-Warta-Story"] = f"{article.story_number}"
        message["X-Warta-Version"] = f"{article.version}"
        if article.tags:
            message["Keywords"] = ", ".join(article.tags)
        message.set_content(_text(article))
        message.add_alternative(_html(article), subtype="html")
        for index, photo in enumerate(article.photos, start=1):
            data, mime = prepare_for_target(
                photo.path,
                index=index,
                max_bytes=self.max_photo_bytes,
                max_side=self.max_photo_side,
                where=self.name,
            )
            maintype, subtype = mime.split("/")
            message.add_attachment(
                data,
                maintype=maintype,
                subtype=subtype,
                filename=renamed_for(photo.filename or photo.path.name, mime),
            )
        return message

    def _send(self, message: EmailMessage) -> None:
        try:
            with self.session() as smtp:
                refused = smtp.send_message(message, from_addr=self.sender, to_addrs=self.to)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _text in error.recipients.values()]
            detail = "; ".join(
                f"{address}: {code} {_decode(text)}"
                for address, (code, text) in error.recipients.items()
            )
            retryable = all(400 <= code < 500 for code in codes)
            raise PublishError(
                trim(f"{self.name}: every recipient was refused: {detail}", 300),
                retryable=retryable,
                cause=PublishCause.SITE_ERROR if retryable else PublishCause.REJECTED,
            ) from None
        if refused:
            # Sent to the others: resending would double their copy, so only report it.
            log.warning("%s: some recipients were refused: %s", self.name, sorted(refused))

    @contextmanager
    def session(self) -> Iterator[smtplib.SMTP]:
        """An SMTP session greeted (EHLO), secured (STARTTLS) and logged in as configured, and
        closed after; every failure but a refused recipient is a ``PublishError`` with its
        cause. The live check opens one and sends nothing."""
        where = f"{self.host}:{self.port}"
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.ehlo()
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if self.username:
                    smtp.login(self.username, self.password or "")
                yield smtp
        except smtplib.SMTPRecipientsRefused:
            raise
        except smtplib.SMTPAuthenticationError as error:
            raise PublishError(
                f"{self.name}: the mail server at {where} refused the login of "
                f"{self.username}: {error.smtp_code} {trim(_decode(error.smtp_error), 120)}",
                retryable=400 <= error.smtp_code < 500,
                cause=PublishCause.CREDENTIALS,
            ) from None
        except smtplib.SMTPResponseException as error:
            temporary = 400 <= error.smtp_code < 500
            raise PublishError(
                f"{self.name}: the mail server at {where} answered "
                f"{error.smtp_code} {trim(_decode(error.smtp_error), 150)}",
                retryable=temporary,
                cause=PublishCause.SITE_ERROR if temporary else PublishCause.REJECTED,
            ) from None
        except smtplib.SMTPNotSupportedError as error:
            # STARTTLS or AUTH not offered: the wrong port, or a server set up otherwise.
            raise PublishError(
                f"{self.name}: {where}: {error}; check the port and the starttls setting",
                retryable=False,
                cause=PublishCause.ADDRESS,
            ) from None
        except (smtplib.SMTPException, OSError) as error:
            # SMTPServerDisconnected, connection refused, timeouts, TLS handshake failures.
            bad_certificate = certificate_problem(error)
            if bad_certificate is not None:
                raise PublishError(
                    f"{self.name}: the TLS certificate of {self.host} is not valid: "
                    f"{bad_certificate.verify_message or bad_certificate.reason}",
                    retryable=False,
                    cause=PublishCause.CERTIFICATE,
                ) from None
            timed_out = isinstance(error, TimeoutError)
            raise PublishError(
                f"{self.name}: cannot talk to the mail server at {where}: "
                f"{connection_reason(error)}",
                retryable=True,
                cause=PublishCause.TIMEOUT if timed_out else PublishCause.UNREACHABLE,
            ) from None


def _decode(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


def _text(article: Article) -> str:
    return f"{article.title}\n\n{article.reporter}\n\n{article_body_text(article)}\n"


def _html(article: Article) -> str:
    return (
        '<!doctype html>\n<html lang="id"><head><meta charset="utf-8">'
        f"<title>{html.escape(article.title)}</title></head><body>\n"
        f"<h1>{html.escape(article.title)}</h1>\n"
        f"<p><em>{html.escape(article.reporter)}</em></p>\n"
        f"{article_body_html(article)}\n</body></html>\n"
    )
