"""The WordPress target: photos to the media library, the story as a post, over the REST API.

Authentication is an Application Password (HTTP Basic). A publish is safe to repeat: with a
``remote_id`` the post is updated; without one, a post with the article's slug (any status but
trash) is looked up first and updated, and a new post starts as a draft carrying that slug, so an
attempt that failed half way is found again by the next one instead of making a second post.

Formatting (:func:`render_wordpress_body`) is a pure function, kept apart from the sending.
"""

from __future__ import annotations

import asyncio
import html
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from publishers.base import (
    Article,
    ArticlePhoto,
    PublishError,
    PublishResult,
    retry_after_seconds,
)
from publishers.format import paragraphs
from publishers.images import PhotoTooLargeError, prepare_photo
from publishers.sanitize import clean_html

USER_AGENT = "Warta-WordPress/1"
# Every status but trash: a post an earlier attempt created is found whatever became of it.
_FIND_STATUSES = "publish,draft,future,pending,private"
_ERROR_TEXT_LIMIT = 200


@dataclass(frozen=True)
class UploadedPhoto:
    """A photo already in the WordPress media library, as the body formatter needs it."""

    id: int
    url: str
    alt: str
    caption: str


def photo_caption(photo: ArticlePhoto) -> str:
    """The plain-text caption shown under a photo: the caption, then the credit."""
    caption = (photo.caption or "").strip()
    credit = (photo.credit or "").strip()
    if credit:
        return f"{caption} (Foto: {credit})" if caption else f"Foto: {credit}"
    return caption


def render_wordpress_body(article: Article, photos: list[UploadedPhoto]) -> str:
    """The post content: the lead in bold, the other paragraphs, then one figure per photo.

    Pure and deterministic. Every piece of text is escaped, and the result goes through the
    shared allow-list cleaner, so nothing the reporter typed can become markup or script.
    """
    blocks = paragraphs(article.body)
    parts: list[str] = []
    for index, block in enumerate(blocks):
        text = "<br>".join(html.escape(line.strip()) for line in block.splitlines())
        parts.append(f"<p><strong>{text}</strong></p>" if index == 0 else f"<p>{text}</p>")
    for photo in photos:
        if not photo.url.lower().startswith(("http://", "https://")):
            continue
        figure = f'<figure><img src="{html.escape(photo.url)}" alt="{html.escape(photo.alt)}">'
        if photo.caption:
            figure += f"<figcaption>{html.escape(photo.caption)}</figcaption>"
        parts.append(figure + "</figure>")
    return clean_html("\n".join(parts))


class WordPressPublisher:
    """Publishes to a WordPress site with the REST API (``/wp-json/wp/v2``)."""

    def __init__(
        self,
        name: str,
        *,
        base_url: str,
        user: str,
        app_password: str,
        status: Literal["publish", "draft"] = "publish",
        category: str | None = None,
        timeout: float = 20.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_photo_bytes: int = 10 * 1024 * 1024,
    ) -> None:
        if status not in ("publish", "draft"):
            raise ValueError(f"status must be 'publish' or 'draft', not {status!r}")
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.user = user
        self._auth = httpx.BasicAuth(user, app_password)
        self.status = status
        self.category = category.strip() if category and category.strip() else None
        self.timeout = timeout
        self.max_photo_bytes = max_photo_bytes
        self._transport = transport

    def __repr__(self) -> str:  # never the password
        return f"WordPressPublisher({self.name!r}, base_url={self.base_url!r}, user={self.user!r})"

    async def publish(self, article: Article, *, remote_id: str | None = None) -> PublishResult:
        async with httpx.AsyncClient(
            base_url=f"{self.base_url}/wp-json/wp/v2/",
            auth=self._auth,
            timeout=httpx.Timeout(self.timeout),
            transport=self._transport,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=False,
        ) as client:
            session = _Session(client, self.user)
            await session.call(
                "GET", "users/me", "check the credentials", params={"context": "edit"}
            )
            post_id = await self._post_id(session, article, remote_id)
            photos = [
                await self._upload(session, article, index, photo, post_id)
                for index, photo in enumerate(article.photos, start=1)
            ]
            terms: dict[str, list[int]] = {
                "tags": [await session.term_id("tags", tag) for tag in _unique(article.tags)]
            }
            if self.category:
                terms["categories"] = [await session.term_id("categories", self.category)]
            fields: dict[str, Any] = {
                "title": html.escape(article.title.strip(), quote=False),
                "content": render_wordpress_body(article, photos),
                "excerpt": html.escape(article.lead, quote=False),
                "slug": article.slug,
                "featured_media": photos[0].id if photos else 0,
                **terms,
            }
            if self.status == "publish":
                # A "draft" target leaves the status alone: the editors publish on the site.
                fields["status"] = "publish"
            post = await session.call("POST", f"posts/{post_id}", "update the post", json=fields)
            _check_post(post, fields, post_id)
            return PublishResult(permalink=str(post["link"]), remote_id=str(post["id"]))

    async def _post_id(self, session: _Session, article: Article, remote_id: str | None) -> int:
        """The post to write to: ``remote_id``, else the one with the slug, else a new draft."""
        if remote_id is not None:
            if not remote_id.strip().isdigit():
                raise PublishError(f"not a WordPress post id: {remote_id!r}", retryable=False)
            return int(remote_id)
        found = await session.call(
            "GET",
            "posts",
            "look for the post",
            params={"slug": article.slug, "status": _FIND_STATUSES, "context": "edit"},
        )
        if isinstance(found, list) and found:
            return int(min(found, key=lambda post: int(post["id"]))["id"])
        # Created as a draft with the slug first, so an attempt cut short is found next time.
        draft = await session.call(
            "POST",
            "posts",
            "create the post",
            json={
                "title": html.escape(article.title.strip(), quote=False),
                "slug": article.slug,
                "status": "draft",
            },
        )
        return int(draft["id"])

    async def _upload(
        self, session: _Session, article: Article, index: int, photo: ArticlePhoto, post_id: int
    ) -> UploadedPhoto:
        try:
            data, mime = await asyncio.to_thread(
                prepare_photo, photo.path, max_bytes=self.max_photo_bytes
            )
        except PhotoTooLargeError:
            raise PublishError(
                f"photo {index} cannot be made smaller than {self.max_photo_bytes} bytes",
                retryable=False,
            ) from None
        except OSError as error:
            raise PublishError(
                f"cannot read photo {index} ({photo.path.name}): {error}", retryable=False
            ) from None
        extension = ".png" if mime == "image/png" else ".jpg"
        filename = f"{article.slug}-{index}{extension}"
        media = await session.call(
            "POST",
            "media",
            f"upload photo {index}",
            content=data,
            headers={
                "Content-Type": mime,
                "Content-Disposition": f'attachment; filename="{filename}"',
            },
        )
        caption = photo_caption(photo)
        alt = (photo.caption or "").strip() or article.title.strip()
        media = await session.call(
            "POST",
            f"media/{int(media['id'])}",
            f"describe photo {index}",
            json={
                "alt_text": alt,
                "caption": html.escape(caption, quote=False),
                "title": html.escape(f"{article.title.strip()} ({index})", quote=False),
                "post": post_id,
            },
        )
        return UploadedPhoto(
            id=int(media["id"]), url=str(media["source_url"]), alt=alt, caption=caption
        )


class _Session:
    """One publish's requests, every failure turned into a ``PublishError``."""

    def __init__(self, client: httpx.AsyncClient, user: str) -> None:
        self.client = client
        self.user = user
        self._terms: dict[tuple[str, str], int] = {}

    async def call(self, method: str, path: str, action: str, **options: Any) -> Any:
        return self.parse(await self.send(method, path, action, **options), action)

    async def send(self, method: str, path: str, action: str, **options: Any) -> httpx.Response:
        try:
            return await self.client.request(method, path, **options)
        except httpx.TimeoutException:
            raise PublishError(
                f"WordPress did not answer in time ({action})", retryable=True
            ) from None
        except httpx.TransportError as error:
            raise PublishError(
                f"cannot reach WordPress ({action}): {type(error).__name__}", retryable=True
            ) from None

    def parse(self, response: httpx.Response, action: str) -> Any:
        if response.is_success:
            try:
                return response.json()
            except ValueError:
                # An HTML page where the REST API should be: a wrong url, or a site without
                # pretty permalinks. Trying again will not help.
                raise PublishError(
                    f"{response.url} answered {response.status_code} without JSON ({action}); "
                    "check the target's url",
                    retryable=False,
                ) from None
        raise self._error(response, action)

    def _error(self, response: httpx.Response, action: str) -> PublishError:
        status = response.status_code
        code, message = _error_details(response)
        detail = f"{code}: {message}" if message else code
        if status == 429:
            return PublishError(
                f"WordPress asked to slow down ({action}, {detail})",
                retryable=True,
                retry_after=_retry_after(response.headers.get("Retry-After")),
            )
        if status >= 500 or status == 408:
            return PublishError(
                f"WordPress failed with {status} ({action}, {detail})", retryable=True
            )
        if status == 401:
            return PublishError(
                f"WordPress rejected the credentials of user {self.user} ({code})", retryable=False
            )
        if status == 403:
            return PublishError(
                f"WordPress does not let user {self.user} {action} ({code})", retryable=False
            )
        if status == 413:
            return PublishError(
                f"WordPress found the request too large ({action})", retryable=False
            )
        if status == 404 and action == "update the post":
            return PublishError(
                f"the WordPress post is gone ({detail}); it was deleted on the site",
                retryable=False,
            )
        return PublishError(f"WordPress refused to {action}: {status} {detail}", retryable=False)

    async def term_id(self, taxonomy: str, name: str) -> int:
        """The id of the category or tag called ``name``, created when it does not exist yet."""
        key = (taxonomy, name.casefold())
        if key in self._terms:
            return self._terms[key]
        kind = "category" if taxonomy == "categories" else "tag"
        found = await self.call(
            "GET",
            taxonomy,
            f"look up the {kind} {name!r}",
            params={"search": name, "per_page": 100},
        )
        for term in found if isinstance(found, list) else []:
            if html.unescape(str(term.get("name", ""))).casefold() == name.casefold():
                self._terms[key] = int(term["id"])
                return self._terms[key]
        action = f"create the {kind} {name!r}"
        response = await self.send("POST", taxonomy, action, json={"name": name})
        if response.status_code == 400 and _error_details(response)[0] == "term_exists":
            # Made meanwhile, or differing only in a way the search missed: WordPress names it.
            try:
                term_id = int(response.json()["data"]["term_id"])
            except (ValueError, KeyError, TypeError):
                raise self._error(response, action) from None
        else:
            term_id = int(self.parse(response, action)["id"])
        self._terms[key] = term_id
        return term_id


def _check_post(post: Any, fields: dict[str, Any], post_id: int) -> None:
    """WordPress silently drops an unknown category or a bad featured image: check the answer."""
    if not isinstance(post, dict) or "id" not in post or "link" not in post:
        raise PublishError("WordPress answered without the post", retryable=True)
    problems = []
    if int(post["id"]) != post_id:
        problems.append(f"id {post['id']} instead of {post_id}")
    if int(post.get("featured_media") or 0) != fields["featured_media"]:
        problems.append(
            f"featured image {post.get('featured_media')} not {fields['featured_media']}"
        )
    for taxonomy in ("categories", "tags"):
        if taxonomy in fields and not set(fields[taxonomy]) <= set(post.get(taxonomy) or []):
            problems.append(f"{taxonomy} {post.get(taxonomy)} lack {fields[taxonomy]}")
    if problems:
        raise PublishError(
            f"WordPress saved post {post['id']} differently: " + "; ".join(problems),
            retryable=False,
        )


def _error_details(response: httpx.Response) -> tuple[str, str]:
    """WordPress's ``code`` and ``message`` (JSON), or the status and a bit of the text."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("code"):
        return str(data["code"]), " ".join(str(data.get("message") or "").split())[
            :_ERROR_TEXT_LIMIT
        ]
    return f"http_{response.status_code}", response.reason_phrase


def _retry_after(value: str | None) -> float | None:
    return retry_after_seconds(value)


def _unique(names: tuple[str, ...]) -> list[str]:
    seen: dict[str, str] = {}
    for name in names:
        if name.strip() and name.strip().casefold() not in seen:
            seen[name.strip().casefold()] = name.strip()
    return list(seen.values())
