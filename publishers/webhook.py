"""The webhook target: POSTs a signed, NewsML-like JSON document of the article to a URL.

The body is deterministic for one version of a story (no clock in it), so a retry sends the very
same bytes under the same ``Idempotency-Key``. Receivers check ``X-Warta-Signature`` with
:func:`verify_signature`, and answer 2xx with ``{"url": ..., "id": ...}`` (or a ``Location``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import httpx

from publishers.base import (
    Article,
    ArticlePhoto,
    PublishCause,
    PublishError,
    PublishResult,
    retry_after_seconds,
)
from publishers.failures import short_reason, transport_failure
from publishers.images import prepare_for_target, renamed_for
from publishers.sanitize import article_body_html, article_body_text

SIGNATURE_HEADER = "X-Warta-Signature"
TIMESTAMP_HEADER = "X-Warta-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
USER_AGENT = "Warta-Webhook/1"


def sign(body: bytes, secret: str) -> str:
    """The ``X-Warta-Signature`` value for ``body``: ``sha256=<hex HMAC-SHA256>``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(body: bytes, header: str, secret: str) -> bool:
    """For receivers: does ``header`` (``X-Warta-Signature``) sign the raw ``body``?"""
    if not header or not header.startswith("sha256="):
        return False
    return hmac.compare_digest(
        sign(body, secret).encode("ascii"), header.strip().encode("ascii", "replace")
    )


def idempotency_key(article: Article) -> str:
    return f"warta-{article.story_number}-v{article.version}"


def build_payload(article: Article, photos: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON document for one version of a story (``photos`` already made by the caller)."""
    return {
        "guid": f"warta:{article.story_number}",
        "version": article.version,
        "headline": article.title,
        "lead": article.lead,
        "body_html": article_body_html(article),
        "body_text": article_body_text(article),
        "byline": article.reporter,
        "keywords": list(article.tags),
        "firstcreated": _iso(article.submitted_at),
        "versioncreated": _iso(article.published_at),
        "language": "id",
        "photos": photos,
    }


def encode_payload(payload: dict[str, Any]) -> bytes:
    """The exact bytes that are signed and sent: compact UTF-8 JSON, keys in a fixed order."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class WebhookPublisher:
    """Publishes by POSTing the article JSON; photos go inline (base64) or as URLs.

    With ``inline_photos`` each photo is cleaned by :func:`prepare_photo` (upright, no EXIF/GPS,
    at most ``max_photo_bytes``) and sent as ``data_base64``. Otherwise, with ``photo_base_url``,
    each photo is given as ``<photo_base_url>/<slug>/foto-<n><suffix>``, the layout the folder
    target writes; with neither, the photo entries carry only caption, credit and mime.
    """

    def __init__(
        self,
        name: str,
        *,
        url: str,
        secret: str,
        inline_photos: bool = False,
        photo_base_url: str | None = None,
        timeout: float = 20.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_photo_bytes: int = 4_000_000,
        max_photo_side: int = 2560,
    ) -> None:
        if not secret:
            raise ValueError("a webhook needs a secret to sign its requests")
        self.name = name
        self.url = url
        self.secret = secret
        self.inline_photos = inline_photos
        self.photo_base_url = photo_base_url.rstrip("/") if photo_base_url else None
        self.timeout = timeout
        self.transport = transport
        self.max_photo_bytes = max_photo_bytes
        self.max_photo_side = max_photo_side

    async def publish(self, article: Article, *, remote_id: str | None = None) -> PublishResult:
        photos = [
            await self._photo(article, index, photo)
            for index, photo in enumerate(article.photos, start=1)
        ]
        body = encode_payload(build_payload(article, photos))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: sign(body, self.secret),
            IDEMPOTENCY_HEADER: idempotency_key(article),
            TIMESTAMP_HEADER: str(int(time.time())),
        }
        try:
            async with httpx.AsyncClient(
                timeout=self.timeout, transport=self.transport, follow_redirects=False
            ) as client:
                response = await client.post(self.url, content=body, headers=headers)
        except httpx.TransportError as error:
            raise transport_failure(
                error, self.host, where=f"{self.name} (webhook)", timeout=self.timeout
            ) from None
        return self._result(response, article, remote_id)

    @property
    def host(self) -> str:
        return httpx.URL(self.url).host

    async def _photo(self, article: Article, index: int, photo: ArticlePhoto) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "caption": photo.caption,
            "credit": photo.credit,
            "mime": photo.mime,
        }
        if self.inline_photos:
            data, mime = await asyncio.to_thread(
                prepare_for_target,
                photo.path,
                index=index,
                max_bytes=self.max_photo_bytes,
                max_side=self.max_photo_side,
                where=self.name,
            )
            entry["mime"] = mime
            entry["filename"] = renamed_for(photo.filename or photo.path.name, mime)
            entry["data_base64"] = base64.b64encode(data).decode("ascii")
        elif self.photo_base_url:
            entry["filename"] = photo.filename or photo.path.name
            entry["url"] = f"{self.photo_base_url}/{article.slug}/foto-{index}{photo.path.suffix}"
        return entry

    def _result(
        self, response: httpx.Response, article: Article, remote_id: str | None
    ) -> PublishResult:
        status = response.status_code
        if 200 <= status < 300:
            data = _json_object(response)
            url = data.get("url") or response.headers.get("location")
            if not url:
                raise PublishError(
                    f"{self.name}: the webhook answered {status} without a url or Location",
                    retryable=False,
                )
            url = urljoin(str(response.request.url), str(url))
            new_id = data.get("id")
            return PublishResult(
                permalink=url,
                remote_id=str(new_id)
                if new_id is not None
                else remote_id or f"warta:{article.story_number}",
            )
        raise answer_failure(response, where=f"{self.name}: the webhook")


def answer_failure(response: httpx.Response, *, where: str) -> PublishError:
    """A webhook's error answer as a ``PublishError``: 429, 408 and 5xx can pass; a 401 or
    403 is a signature (secret) the receiver does not accept; a 404 or a redirect, a wrong
    url. The detail is the answer's gist, never a whole error page."""
    status = response.status_code
    detail = f"{where} answered {short_reason(response)}"
    if status == 429:
        return PublishError(
            detail,
            retryable=True,
            retry_after=_retry_after(response),
            cause=PublishCause.SITE_ERROR,
        )
    if status == 408:
        return PublishError(detail, retryable=True, cause=PublishCause.TIMEOUT)
    if status >= 500:
        return PublishError(
            detail,
            retryable=True,
            retry_after=_retry_after(response),
            cause=PublishCause.SITE_ERROR,
        )
    if status in (401, 403):
        return PublishError(detail, retryable=False, cause=PublishCause.CREDENTIALS)
    if status in (404, 405, 410) or 300 <= status < 400:
        location = response.headers.get("location")
        moved = f" (to {location})" if location and 300 <= status < 400 else ""
        return PublishError(detail + moved, retryable=False, cause=PublishCause.ADDRESS)
    return PublishError(detail, retryable=False, cause=PublishCause.REJECTED)


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _retry_after(response: httpx.Response) -> float | None:
    return retry_after_seconds(response.headers.get("retry-after"))
