"""The publisher interface: an article in, a permalink out; retries are the dispatcher's job."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
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


class PublishError(Exception):
    """A target said no; ``retryable`` tells the dispatcher whether trying again can help, and
    ``retry_after`` (seconds) how long the site asked it to wait (HTTP 429 Retry-After)."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


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
