"""The publisher interface: an article in, a permalink out; retries are the dispatcher's job."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class ArticlePhoto:
    path: Path
    mime: str
    caption: str | None = None
    filename: str | None = None
    credit: str | None = None


@dataclass(frozen=True)
class Article:
    """Everything a target needs to publish one version of a story."""

    story_number: int
    version: int
    title: str
    body: str
    reporter: str
    photos: tuple[ArticlePhoto, ...]
    submitted_at: datetime
    published_at: datetime
    tags: tuple[str, ...] = ()
    original_title: str | None = None
    """The title of the story's first version: the slug is made from it, so that corrections
    that change the title still find the same post."""

    @property
    def lead(self) -> str:
        """The first paragraph (the dateline and the news)."""
        return next((p.strip() for p in self.body.split("\n") if p.strip()), "")

    @property
    def slug(self) -> str:
        """Stable per story, so a retry or a correction finds the same post."""
        return f"{self.story_number}-{slugify(self.original_title or self.title)}"[:80].rstrip("-")


@dataclass(frozen=True)
class PublishResult:
    permalink: str
    remote_id: str | None = None


class PublishCause(StrEnum):
    """Why a publish failed, in words the chat templates translate (``publish_cause``)."""

    UNREACHABLE = "unreachable"
    """No connection: refused, DNS, network down. Retryable."""
    CERTIFICATE = "certificate"
    """The site's HTTPS certificate does not verify. Final: it will not fix itself."""
    CREDENTIALS = "credentials"
    """The user name or the password/secret was rejected."""
    ADDRESS = "address"
    """The configured URL is wrong: not the site root, not a WordPress, a redirect."""
    PERMISSION = "permission"
    """The account may not do what publishing needs (create categories, upload, publish)."""
    SITE_ERROR = "site_error"
    """The site itself failed (5xx, database down) or asked to slow down. Retryable."""
    REJECTED = "rejected"
    """The site refused the content (4xx): too large, invalid, the post was deleted."""
    IMAGE = "image"
    """A photo cannot be decoded (not an image, a decompression bomb). Final."""
    TIMEOUT = "timeout"
    """The site did not answer in time. Retryable."""


class PublishError(Exception):
    """A target said no; ``retryable`` tells the dispatcher whether trying again can help,
    ``retry_after`` (seconds) how long the site asked it to wait (HTTP 429 Retry-After), and
    ``cause`` what kind of problem it is (``None``: none of the known kinds).

    The message is a short technical detail (at most a few hundred characters, never a page
    of HTML); the people in the chat are told the cause in their language and then this."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        cause: PublishCause | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.cause = cause


class UploadMemory(Protocol):
    """Which photos a target already has, by the sha256 of the photo file, so that a retry,
    a correction or a resume after a crash uploads none of them twice."""

    def known(self, target: str, sha256: str) -> tuple[str, str | None] | None:
        """The ``(remote_id, url)`` the photo got on ``target``, or None."""
        ...

    def remember(self, target: str, sha256: str, remote_id: str, url: str | None) -> None:
        """Note (or replace) the upload of the photo ``sha256`` to ``target``."""
        ...


class Publisher(Protocol):
    name: str

    async def publish(self, article: Article, *, remote_id: str | None = None) -> PublishResult:
        """Create the article on the target, or update the post ``remote_id`` (or the one an
        earlier, uncertain attempt made) instead of creating a second one."""
        ...


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "berita"


def retry_after_seconds(value: str | None) -> float | None:
    """An HTTP ``Retry-After`` header as seconds: a number, or a date counted from now."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
