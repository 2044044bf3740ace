"""What a WordPress failure tells the operator: its cause, a short detail, retry or not.

A transport stands in for the site (httpx's ``MockTransport``); the certificate case uses a
real HTTPS server with a self-signed certificate on 127.0.0.1."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from publishers.base import Article, ArticlePhoto, PublishCause, PublishError
from publishers.webhook import WebhookPublisher
from publishers.wordpress import WordPressPublisher
from tests.fakes.https_server import https_server

WHEN = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
EDITOR = {
    "id": 2,
    "username": "warta",
    "roles": ["editor"],
    "capabilities": {
        "edit_posts": True,
        "publish_posts": True,
        "upload_files": True,
        "manage_categories": True,
        "editor": True,
    },
}
AUTHOR = {
    "id": 3,
    "username": "penulis",
    "roles": ["author"],
    "capabilities": {"edit_posts": True, "publish_posts": True, "upload_files": True},
}
DB_DOWN_PAGE = """<!DOCTYPE html>
<html lang="en-US"><head><meta charset="UTF-8"><title>Database Error</title>
<style type="text/css">html { background: #f1f1f1; } body { color: #444; }</style></head>
<body id="error-page"><div class="wp-die-message"><h1>Error establishing a database
connection</h1></div></body></html>"""


def article(tmp_path: Path, *, photos: int = 0) -> Article:
    files = []
    for index in range(photos):
        path = tmp_path / f"foto-{index}.jpg"
        Image.new("RGB", (40, 30), (200, 30 * index, 30)).save(path, "JPEG")
        files.append(ArticlePhoto(path=path, mime="image/jpeg", caption=f"Foto {index}"))
    return Article(
        story_number=12,
        version=1,
        title="Wali Kota Buka Musrenbang",
        body="PALANGKA RAYA – Wali Kota membuka Musrenbang.",
        reporter="Rina",
        photos=tuple(files),
        submitted_at=WHEN,
        published_at=WHEN,
    )


class FakeSite:
    """A scripted WordPress: ``answers`` maps "METHOD path" to a response (or an exception);
    anything else is answered like a healthy site. Every request is kept."""

    def __init__(self, me: dict[str, Any] | None = None) -> None:
        self.me = me or EDITOR
        self.answers: dict[str, Callable[[httpx.Request], httpx.Response]] = {}
        self.requests: list[str] = []
        self.next_id = 100

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/wp-json/wp/v2/")
        key = f"{request.method} {path}"
        self.requests.append(key)
        if key in self.answers:
            return self.answers[key](request)
        if key == "GET users/me":
            return httpx.Response(200, json=self.me)
        if request.method == "GET":
            return httpx.Response(200, json=[])
        self.next_id += 1
        if key == "POST categories" or key == "POST tags":
            return httpx.Response(201, json={"id": self.next_id})
        if key == "POST media":
            return httpx.Response(
                201, json={"id": self.next_id, "source_url": f"http://wp.test/{self.next_id}.jpg"}
            )
        if key.startswith("POST media/"):
            media_id = int(path.split("/")[1])
            return httpx.Response(
                200, json={"id": media_id, "source_url": f"http://wp.test/{media_id}.jpg"}
            )
        if key == "POST posts":
            return httpx.Response(201, json={"id": self.next_id})
        if key.startswith("POST posts/"):
            post_id = int(path.split("/")[1])
            sent = json.loads(request.read())
            return httpx.Response(
                200,
                json={
                    "id": post_id,
                    "link": f"http://wp.test/?p={post_id}",
                    "featured_media": sent.get("featured_media", 0),
                    "categories": sent.get("categories", []),
                    "tags": sent.get("tags", []),
                },
            )
        return httpx.Response(404, json={"code": "rest_no_route", "message": "No route"})

    def writes(self) -> list[str]:
        return [key for key in self.requests if not key.startswith("GET ")]


def publisher(site: FakeSite, **options: Any) -> WordPressPublisher:
    return WordPressPublisher(
        "situs",
        base_url=options.pop("base_url", "http://wp.test"),
        user="warta",
        app_password="rahasia-sekali",
        transport=httpx.MockTransport(site.handle),
        **options,
    )


async def failure(site: FakeSite, tmp_path: Path, **options: Any) -> PublishError:
    photos = options.pop("photos", 0)
    with pytest.raises(PublishError) as caught:
        await publisher(site, **options).publish(article(tmp_path, photos=photos))
    return caught.value


def answer(status: int, **response: Any) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, **response)


def fails_with(error: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    return handler


# --- the site cannot be reached, or answers badly ---------------------------------------------


@pytest.mark.asyncio
async def test_a_site_that_is_down_is_unreachable_and_retryable(tmp_path: Path) -> None:
    site = FakeSite()
    site.answers["GET users/me"] = fails_with(httpx.ConnectError("[Errno 111] refused"))
    error = await failure(site, tmp_path)
    assert error.cause is PublishCause.UNREACHABLE and error.retryable
    assert "credentials" not in str(error)


@pytest.mark.asyncio
async def test_a_slow_site_is_a_timeout_and_retryable(tmp_path: Path) -> None:
    site = FakeSite()
    site.answers["GET users/me"] = fails_with(httpx.ReadTimeout("slow"))
    error = await failure(site, tmp_path, timeout=7.0)
    assert error.cause is PublishCause.TIMEOUT and error.retryable
    assert "7 s" in str(error)


@pytest.mark.asyncio
async def test_a_database_error_page_is_a_short_site_error_without_html(tmp_path: Path) -> None:
    site = FakeSite()
    site.answers["GET users/me"] = answer(
        500, text=DB_DOWN_PAGE * 20, headers={"Content-Type": "text/html; charset=UTF-8"}
    )
    error = await failure(site, tmp_path)
    assert error.cause is PublishCause.SITE_ERROR and error.retryable
    message = str(error)
    assert "HTTP 500: Database Error — Error establishing a database connection" in message
    assert "<" not in message and "background" not in message and len(message) <= 250
    assert "credentials" not in message


@pytest.mark.asyncio
async def test_wordpress_json_error_with_html_inside_is_stripped(tmp_path: Path) -> None:
    # wp_die answers a JSON request with the page's HTML as the message.
    site = FakeSite()
    site.answers["GET users/me"] = answer(
        500,
        json={
            "code": "internal_server_error",
            "message": "<h1>Error establishing a database connection</h1>",
            "data": {"status": 500},
        },
    )
    error = await failure(site, tmp_path)
    assert error.cause is PublishCause.SITE_ERROR and error.retryable
    assert "internal_server_error: Error establishing a database connection" in str(error)
    assert "<h1>" not in str(error)


@pytest.mark.asyncio
async def test_a_503_in_the_middle_is_a_retryable_site_error_with_its_code(
    tmp_path: Path,
) -> None:
    site = FakeSite()
    site.answers["POST posts"] = answer(
        503, json={"code": "maintenance", "message": "Sedang pemeliharaan " + "x" * 500}
    )
    error = await failure(site, tmp_path)
    assert error.cause is PublishCause.SITE_ERROR and error.retryable
    assert "HTTP 503 maintenance: Sedang pemeliharaan" in str(error)
    assert len(str(error)) <= 250


# --- a wrong url ------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "url", ["http://wp.test/wp-json", "http://wp.test/wp-json/", "http://wp.test/wp-json/wp/v2"]
)
async def test_a_url_ending_in_wp_json_is_a_wrong_address_before_any_request(
    tmp_path: Path, url: str
) -> None:
    site = FakeSite()
    error = await failure(site, tmp_path, base_url=url)
    assert error.cause is PublishCause.ADDRESS and not error.retryable
    assert "http://wp.test" in str(error) and "root" in str(error)
    assert site.requests == []


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "reply",
    [
        answer(404, json={"code": "rest_no_route", "message": "No route was found"}),
        answer(404, text="<html><title>Page not found</title></html>"),
        answer(200, text="<html><title>Kota Palangka Raya</title></html>"),
        answer(301, headers={"Location": "https://www.wp.test/wp-json/wp/v2/users/me"}),
    ],
)
async def test_no_wordpress_api_at_the_url_is_a_wrong_address(
    tmp_path: Path, reply: Callable[[httpx.Request], httpx.Response]
) -> None:
    site = FakeSite()
    site.answers["GET users/me"] = reply
    error = await failure(site, tmp_path)
    assert error.cause is PublishCause.ADDRESS and not error.retryable
    assert "credentials" not in str(error) and "<" not in str(error)


# --- the account ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_rejected_credentials(tmp_path: Path) -> None:
    site = FakeSite()
    site.answers["GET users/me"] = answer(
        401, json={"code": "incorrect_password", "message": "Kata sandi salah"}
    )
    error = await failure(site, tmp_path)
    assert error.cause is PublishCause.CREDENTIALS and not error.retryable
    assert "user warta" in str(error) and "incorrect_password" in str(error)
    assert "rahasia-sekali" not in str(error)


@pytest.mark.asyncio
async def test_author_without_manage_categories_and_a_missing_category_creates_nothing(
    tmp_path: Path,
) -> None:
    site = FakeSite(me=AUTHOR)
    error = await failure(site, tmp_path, category="Pemerintahan", photos=1)
    assert error.cause is PublishCause.PERMISSION and not error.retryable
    assert "manage_categories" in str(error) and "Pemerintahan" in str(error)
    assert site.writes() == []


@pytest.mark.asyncio
async def test_author_with_an_existing_category_publishes(tmp_path: Path) -> None:
    site = FakeSite(me=AUTHOR)
    site.answers["GET categories"] = answer(200, json=[{"id": 9, "name": "Pemerintahan"}])
    result = await publisher(site, category="Pemerintahan").publish(article(tmp_path, photos=1))
    assert result.remote_id
    assert "POST categories" not in site.requests


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("missing", "options"),
    [("upload_files", {"photos": 1}), ("publish_posts", {}), ("edit_posts", {"status": "draft"})],
)
async def test_each_missing_capability_stops_before_anything_is_made(
    tmp_path: Path, missing: str, options: dict[str, Any]
) -> None:
    me = {**EDITOR, "capabilities": {**EDITOR["capabilities"], missing: False}}
    site = FakeSite(me=me)
    error = await failure(site, tmp_path, **options)
    assert error.cause is PublishCause.PERMISSION and missing in str(error)
    assert site.writes() == []


@pytest.mark.asyncio
async def test_a_draft_target_needs_no_publish_posts(tmp_path: Path) -> None:
    me = {**EDITOR, "capabilities": {"edit_posts": True, "upload_files": True}}
    site = FakeSite(me=me)
    result = await publisher(site, status="draft").publish(article(tmp_path, photos=1))
    assert result.remote_id


@pytest.mark.asyncio
async def test_the_account_is_asked_once_then_again_after_a_credentials_failure(
    tmp_path: Path,
) -> None:
    site = FakeSite()
    wordpress = publisher(site)
    await wordpress.publish(article(tmp_path))
    await wordpress.publish(article(tmp_path))
    assert site.requests.count("GET users/me") == 1

    site.answers["POST posts/101"] = answer(
        401, json={"code": "rest_cannot_edit", "message": "Maaf"}
    )
    with pytest.raises(PublishError) as caught:
        await wordpress.publish(article(tmp_path), remote_id="101")
    assert caught.value.cause is PublishCause.CREDENTIALS
    del site.answers["POST posts/101"]
    await wordpress.publish(article(tmp_path), remote_id="101")
    assert site.requests.count("GET users/me") == 2


@pytest.mark.asyncio
async def test_a_403_on_a_step_is_a_permission_problem_and_the_account_is_asked_again(
    tmp_path: Path,
) -> None:
    site = FakeSite()
    wordpress = publisher(site)
    site.answers["POST media"] = answer(
        403, json={"code": "rest_cannot_create", "message": "Tidak boleh"}
    )
    with pytest.raises(PublishError) as caught:
        await wordpress.publish(article(tmp_path, photos=1))
    assert caught.value.cause is PublishCause.PERMISSION and not caught.value.retryable
    assert "upload photo 1" in str(caught.value)
    del site.answers["POST media"]
    await wordpress.publish(article(tmp_path, photos=1))
    assert site.requests.count("GET users/me") == 2


# --- photos -----------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("content", [b"not a photo", None])
async def test_an_undecodable_photo_is_final_with_cause_image(
    tmp_path: Path, content: bytes | None
) -> None:
    from tests.publishers.test_images import _png_claiming

    path = tmp_path / "rusak.jpg"
    if content is None:
        _png_claiming(path, 20_000, 20_000)  # a decompression bomb
    else:
        path.write_bytes(content)
    site = FakeSite()
    story = article(tmp_path)
    story = Article(**{**story.__dict__, "photos": (ArticlePhoto(path=path, mime="image/jpeg"),)})
    with pytest.raises(PublishError) as caught:
        await publisher(site).publish(story)
    assert caught.value.cause is PublishCause.IMAGE and not caught.value.retryable
    assert "POST media" not in site.requests


# --- certificates and closed ports, for real on 127.0.0.1 ------------------------------------


@pytest.fixture
def self_signed(tmp_path: Path) -> Iterator[str]:
    with https_server(tmp_path) as url:
        yield url


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections: bound, never listening."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]


@pytest.mark.asyncio
async def test_a_self_signed_certificate_is_final_not_a_connection_error(
    self_signed: str, tmp_path: Path
) -> None:
    wordpress = WordPressPublisher(
        "portal", base_url=self_signed, user="warta", app_password="x", timeout=10
    )
    with pytest.raises(PublishError) as caught:
        await wordpress.publish(article(tmp_path))
    assert caught.value.cause is PublishCause.CERTIFICATE and not caught.value.retryable
    assert "certificate" in str(caught.value) and "127.0.0.1" in str(caught.value)

    hook = WebhookPublisher("portal", url=f"{self_signed}/hook", secret="s", timeout=10)
    with pytest.raises(PublishError) as caught:
        await hook.publish(article(tmp_path))
    assert caught.value.cause is PublishCause.CERTIFICATE and not caught.value.retryable


@pytest.mark.asyncio
async def test_a_refused_connection_is_unreachable_and_retryable(
    closed_port: int, tmp_path: Path
) -> None:
    wordpress = WordPressPublisher(
        "portal", base_url=f"http://127.0.0.1:{closed_port}", user="warta", app_password="x"
    )
    with pytest.raises(PublishError) as caught:
        await wordpress.publish(article(tmp_path))
    assert caught.value.cause is PublishCause.UNREACHABLE and caught.value.retryable
    assert "connection refused" in str(caught.value)
