"""The manual target: a site with no API, published by an operator who reports the live URL."""

from __future__ import annotations

from publishers.base import Article, PublishError, PublishResult


class ManualPublisher:
    """Marks a target the dispatcher does not call: it sends the operators a ready-to-paste
    package instead, and the target succeeds when an operator reports the URL (/terbit)."""

    manual = True

    def __init__(self, name: str) -> None:
        self.name = name

    async def publish(self, article: Article, *, remote_id: str | None = None) -> PublishResult:
        raise PublishError(f"{self.name} is published by hand", retryable=False)
