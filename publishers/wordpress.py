"""The WordPress target: photos to the media library, the story as a post, over the REST API.

Authentication is an Application Password (HTTP Basic). A publish is safe to repeat: with a
``remote_id`` the post is updated; without one, a post with the article's slug (any status but
trash) is looked up first and updated, and a new post starts as a draft carrying that slug, so an
attempt that failed half way is found again by the next one instead of making a second post.

Nothing is created before the account is known to be allowed to do all of it (``users/me``:
write, publish, upload, create the category). Each photo is uploaded once per site, remembered
by its content (:class:`~publishers.base.UploadMemory`), so a retry or a correction re-uploads
nothing; what this publisher learnt (the account, term ids, photos it saw) is kept while it lives.

Formatting (:func:`render_wordpress_body`) is a pure function, kept apart from the sending.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx

from publishers.base import (
    Article,
    ArticlePhoto,
    PublishCause,
    PublishError,
    PublishResult,
    UploadMemory,
)
from publishers.format import paragraphs
from publishers.images import prepare_for_target
from publishers.sanitize import clean_html
from publishers.wordpress_api import (
    Account,
    WordPressApi,
    error_code,
    missing_capabilities,
    not_the_root,
    open_client,
    permission_error,
)

# Every status but trash: a post an earlier attempt created is found whatever became of it.
_FIND_STATUSES = "publish,draft,future,pending,private"
# After these the account is looked up again: someone may have fixed it on the site.
_ACCOUNT_PROBLEMS = (PublishCause.CREDENTIALS, PublishCause.PERMISSION)


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


@dataclass
class _SitePhoto:
    """A photo this publisher has seen on the site, and the description it last gave it."""

    id: int
    url: str
    alt: str | None = None
    caption: str | None = None


@dataclass
class _Attempt:
    """One publish: its requests, and whether it trusted what an earlier one learnt."""

    api: WordPressApi
    trusted_memory: bool = False


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
        uploads: UploadMemory | None = None,
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
        self.uploads = uploads
        self._transport = transport
        self._account: Account | None = None
        self._terms: dict[tuple[str, str], int] = {}
        self._photos: dict[str, _SitePhoto] = {}  # by the sha256 of the photo file

    def __repr__(self) -> str:  # never the password
        return f"WordPressPublisher({self.name!r}, base_url={self.base_url!r}, user={self.user!r})"

    def client(self) -> httpx.AsyncClient:
        return open_client(
            self.base_url, auth=self._auth, timeout=self.timeout, transport=self._transport
        )

    def api(self, client: httpx.AsyncClient) -> WordPressApi:
        return WordPressApi(client, base_url=self.base_url, user=self.user, timeout=self.timeout)

    async def publish(self, article: Article, *, remote_id: str | None = None) -> PublishResult:
        wrong_url = not_the_root(self.base_url)
        if wrong_url:
            raise wrong_url
        async with self.client() as client:
            api = self.api(client)
            attempt = _Attempt(api)
            try:
                return await self._publish(attempt, article, remote_id)
            except PublishError as error:
                if error.cause in _ACCOUNT_PROBLEMS:
                    self._account = None
                raise

    async def account(self, api: WordPressApi) -> Account:
        """Who the credentials log in as: asked once while this publisher lives."""
        if self._account is None:
            self._account = await api.account()
        return self._account

    async def check_access(self, api: WordPressApi, *, photos: bool) -> int | None:
        """Make sure the account may do everything a publish does, before anything is created;
        return the category's id (None: no category, or one still to be created)."""
        account = await self.account(api)
        category_id = None
        if self.category:
            category_id = await self._find_term(api, "categories", self.category)
        missing = missing_capabilities(
            account,
            publish=self.status == "publish",
            photos=photos,
            new_category=bool(self.category) and category_id is None,
        )
        if missing:
            raise permission_error(account, missing, self.category)
        return category_id

    async def _publish(
        self, attempt: _Attempt, article: Article, remote_id: str | None
    ) -> PublishResult:
        api = attempt.api
        if self.category and ("categories", self.category.casefold()) in self._terms:
            attempt.trusted_memory = True
        category_id = await self.check_access(api, photos=bool(article.photos))
        terms: dict[str, list[int]] = {
            "tags": [await self._term(attempt, "tags", tag) for tag in _unique(article.tags)]
        }
        if self.category:
            terms["categories"] = [
                category_id or await self._term(attempt, "categories", self.category)
            ]
        post_id = await self._post_id(api, article, remote_id)
        photos = [
            await self._photo(attempt, article, index, photo, post_id)
            for index, photo in enumerate(article.photos, start=1)
        ]
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
        response = await api.send("POST", f"posts/{post_id}", "update the post", json=fields)
        if response.status_code == 400 and error_code(response) == "rest_invalid_featured_media":
            raise self._stale(
                attempt, f"post {post_id}: featured image {fields['featured_media']} is gone"
            )
        if response.status_code == 404:
            raise PublishError(
                f"the WordPress post {post_id} is gone; it was deleted on the site",
                retryable=False,
                cause=PublishCause.REJECTED,
            )
        post = api.parse(response, "update the post")
        problems = _differences(post, fields, post_id)
        if problems:
            raise self._stale(attempt, f"WordPress saved post {post_id} differently: {problems}")
        return PublishResult(permalink=str(post["link"]), remote_id=str(post["id"]))

    def _stale(self, attempt: _Attempt, message: str) -> PublishError:
        """WordPress dropped a term or a photo this publisher thought it had (someone deleted
        it on the site): forget what was learnt; when it was trusted, the next try looks again."""
        self._terms.clear()
        self._photos.clear()
        return PublishError(message, retryable=attempt.trusted_memory, cause=PublishCause.REJECTED)

    async def _post_id(self, api: WordPressApi, article: Article, remote_id: str | None) -> int:
        """The post to write to: ``remote_id``, else the one with the slug, else a new draft."""
        if remote_id is not None:
            if not remote_id.strip().isdigit():
                raise PublishError(
                    f"not a WordPress post id: {remote_id!r}",
                    retryable=False,
                    cause=PublishCause.REJECTED,
                )
            return int(remote_id)
        found = await api.call(
            "GET",
            "posts",
            "look for the post",
            params={"slug": article.slug, "status": _FIND_STATUSES, "context": "edit"},
        )
        if isinstance(found, list) and found:
            return int(min(found, key=lambda post: int(post["id"]))["id"])
        # Created as a draft with the slug first, so an attempt cut short is found next time.
        draft = await api.call(
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

    # -- photos ----------------------------------------------------------------------------

    async def _photo(
        self, attempt: _Attempt, article: Article, index: int, photo: ArticlePhoto, post_id: int
    ) -> UploadedPhoto:
        """The photo in the media library, uploaded only if the site does not have it yet,
        and described (alt text, caption) only if that changed."""
        api = attempt.api
        digest = await asyncio.to_thread(_file_sha256, photo.path, index)
        caption = photo_caption(photo)
        # The alt text falls back on the story's first title: a corrected title alone
        # re-describes no photo.
        alt = (photo.caption or "").strip() or (article.original_title or article.title).strip()
        site_photo = await self._known_photo(attempt, digest)
        fields: dict[str, Any] = {}
        if site_photo is None:
            site_photo = await self._upload(api, article, index, photo)
            await self._remember(digest, site_photo)
            title = (article.original_title or article.title).strip()
            fields = {"title": html.escape(f"{title} ({index})", quote=False), "post": post_id}
        escaped_caption = html.escape(caption, quote=False)
        if fields or site_photo.alt != alt or site_photo.caption != escaped_caption:
            fields |= {"alt_text": alt, "caption": escaped_caption}
            media = await api.call(
                "POST", f"media/{site_photo.id}", f"describe photo {index}", json=fields
            )
            site_photo.url = str(media.get("source_url") or site_photo.url)
            site_photo.alt, site_photo.caption = alt, escaped_caption
        self._photos[digest] = site_photo
        return UploadedPhoto(id=site_photo.id, url=site_photo.url, alt=alt, caption=caption)

    async def _known_photo(self, attempt: _Attempt, digest: str) -> _SitePhoto | None:
        """The photo as the site has it, if it was uploaded before: seen by this publisher,
        or remembered and still in the media library."""
        if digest in self._photos:
            attempt.trusted_memory = True
            return self._photos[digest]
        if self.uploads is None:
            return None
        remembered = await asyncio.to_thread(self.uploads.known, self.name, digest)
        if remembered is None or not remembered[0].isdigit():
            return None
        response = await attempt.api.send(
            "GET",
            f"media/{remembered[0]}",
            "look for an uploaded photo",
            params={"context": "edit"},
        )
        if response.status_code in (401, 403, 404, 410):
            return None  # deleted on the site (or out of this account's reach): upload again
        media = attempt.api.parse(response, "look for an uploaded photo")
        caption = media.get("caption")
        return _SitePhoto(
            id=int(media["id"]),
            url=str(media.get("source_url") or remembered[1] or ""),
            alt=str(media.get("alt_text") or ""),
            caption=str(caption.get("raw") or "") if isinstance(caption, dict) else None,
        )

    async def _remember(self, digest: str, site_photo: _SitePhoto) -> None:
        if self.uploads is not None:
            await asyncio.to_thread(
                self.uploads.remember, self.name, digest, str(site_photo.id), site_photo.url
            )

    async def _upload(
        self, api: WordPressApi, article: Article, index: int, photo: ArticlePhoto
    ) -> _SitePhoto:
        data, mime = await asyncio.to_thread(
            prepare_for_target,
            photo.path,
            index=index,
            max_bytes=self.max_photo_bytes,
        )
        extension = ".png" if mime == "image/png" else ".jpg"
        filename = f"{article.slug}-{index}{extension}"
        media = await api.call(
            "POST",
            "media",
            f"upload photo {index}",
            content=data,
            headers={
                "Content-Type": mime,
                "Content-Disposition": f'attachment; filename="{filename}"',
            },
        )
        return _SitePhoto(id=int(media["id"]), url=str(media.get("source_url") or ""))

    # -- categories and tags ---------------------------------------------------------------

    async def _find_term(self, api: WordPressApi, taxonomy: str, name: str) -> int | None:
        """The id of the category or tag called ``name``, or None when the site has none."""
        key = (taxonomy, name.casefold())
        if key in self._terms:
            return self._terms[key]
        kind = "category" if taxonomy == "categories" else "tag"
        found = await api.call(
            "GET",
            taxonomy,
            f"look up the {kind} {name!r}",
            params={"search": name, "per_page": 100},
        )
        for term in found if isinstance(found, list) else []:
            if html.unescape(str(term.get("name", ""))).casefold() == name.casefold():
                self._terms[key] = int(term["id"])
                return self._terms[key]
        return None

    async def _term(self, attempt: _Attempt, taxonomy: str, name: str) -> int:
        """The id of the category or tag called ``name``, created when it does not exist yet."""
        key = (taxonomy, name.casefold())
        if key in self._terms:
            attempt.trusted_memory = True
            return self._terms[key]
        term_id = await self._find_term(attempt.api, taxonomy, name)
        if term_id is not None:
            return term_id
        kind = "category" if taxonomy == "categories" else "tag"
        action = f"create the {kind} {name!r}"
        response = await attempt.api.send("POST", taxonomy, action, json={"name": name})
        if response.status_code == 400 and error_code(response) == "term_exists":
            # Made meanwhile, or differing only in a way the search missed: WordPress names it.
            try:
                term_id = int(response.json()["data"]["term_id"])
            except (ValueError, KeyError, TypeError):
                raise attempt.api.error(response, action) from None
        else:
            term_id = int(attempt.api.parse(response, action)["id"])
        self._terms[key] = term_id
        return term_id


def _file_sha256(path: Path, index: int) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as source:
            while chunk := source.read(1 << 20):
                digest.update(chunk)
    except OSError as error:
        raise PublishError(
            f"cannot read photo {index} ({path.name}): {error.strerror or error}",
            retryable=False,
            cause=PublishCause.IMAGE,
        ) from None
    return digest.hexdigest()


def _differences(post: Any, fields: dict[str, Any], post_id: int) -> str:
    """WordPress silently drops an unknown category or a bad featured image: check the answer."""
    if not isinstance(post, dict) or "id" not in post or "link" not in post:
        raise PublishError(
            "WordPress answered without the post", retryable=True, cause=PublishCause.SITE_ERROR
        )
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
    return "; ".join(problems)


def _unique(names: tuple[str, ...]) -> list[str]:
    seen: dict[str, str] = {}
    for name in names:
        if name.strip() and name.strip().casefold() not in seen:
            seen[name.strip().casefold()] = name.strip()
    return list(seen.values())
