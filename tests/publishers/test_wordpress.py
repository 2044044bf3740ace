"""The WordPress target against a real WordPress (``.ci/wordpress-setup``), plus its formatter."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from PIL import Image

from publishers.base import Article, ArticlePhoto, PublishCause, PublishError
from publishers.wordpress import UploadedPhoto, WordPressPublisher, render_wordpress_body
from tests.fakes.uploads import MemoryUploads

ROOT = Path(__file__).resolve().parents[2]
CREDENTIALS = Path("/tmp/warta-wordpress.json")
SETUP = ROOT / ".ci" / "wordpress-setup"
GOLDEN = Path(__file__).parent / "golden" / "wordpress_body.html"
IN_CI = os.environ.get("CI") == "true"
WHEN = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


def _problem(config: dict[str, str] | None) -> str | None:
    if config is None:
        return f"{CREDENTIALS} is missing (run .ci/wordpress-setup as root)"
    try:
        response = httpx.get(
            f"{config['url']}/wp-json/wp/v2/users/me",
            params={"context": "edit"},
            auth=(config["user"], config["app_password"]),
            timeout=10,
        )
    except httpx.HTTPError as error:
        return f"WordPress at {config['url']} does not answer: {type(error).__name__}"
    if response.status_code != 200:
        return f"WordPress at {config['url']} answered {response.status_code} to the test user"
    return None


def _read() -> dict[str, str] | None:
    try:
        return json.loads(CREDENTIALS.read_text())
    except (OSError, ValueError):
        return None


@pytest.fixture(scope="session")
def wordpress() -> dict[str, str]:
    """``{"url", "user", "app_password"}`` of a WordPress that answers; set up in CI."""
    config = _read()
    problem = _problem(config)
    if problem and IN_CI:
        subprocess.run([str(SETUP)], check=True, timeout=300)
        config = _read()
        problem = _problem(config)
        if problem:
            pytest.fail(f"WordPress is required in CI: {problem}")
    if problem:
        pytest.skip(f"WordPress not available: {problem}")
    assert config is not None
    return config


# Runs with WordPress loaded, as .ci/wordpress-setup does: makes (once) the user argv[2] with
# the role argv[3] and prints a fresh Application Password for it.
_MAKE_USER = r"""<?php
[$script, $host, $login, $role] = $argv;
$_SERVER['HTTP_HOST'] = $host;
$_SERVER['SERVER_NAME'] = preg_replace('/:.*/', '', $host);
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['REQUEST_METHOD'] = 'GET';
require '/usr/share/wordpress/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/user.php';
$user = get_user_by('login', $login);
if (!$user) {
    $id = wp_insert_user(['user_login' => $login, 'role' => $role,
        'user_pass' => wp_generate_password(32, true, true),
        'user_email' => $login . '@example.invalid']);
    if (is_wp_error($id)) { fwrite(STDERR, $id->get_error_message()); exit(1); }
    $user = get_user_by('id', $id);
}
$created = WP_Application_Passwords::create_new_application_password(
    $user->ID, ['name' => 'warta-tests-' . wp_generate_password(8, false)]);
if (is_wp_error($created)) { fwrite(STDERR, $created->get_error_message()); exit(1); }
echo $created[0];
"""


def wordpress_user(wordpress: dict[str, str], login: str, role: str) -> dict[str, str]:
    """``{"url", "user", "app_password"}`` of a user with ``role`` on the test WordPress,
    made with PHP like .ci/wordpress-setup (the REST API lets no editor make users)."""
    host = httpx.URL(wordpress["url"]).netloc.decode()
    try:
        made = subprocess.run(
            ["php", "-d", "display_errors=stderr", "--", host, login, role],
            input=_MAKE_USER,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except FileNotFoundError:
        made = None
    if made is None or made.returncode != 0 or not made.stdout.strip().isalnum():
        problem = "no php" if made is None else (made.stderr.strip() or made.stdout)[-300:]
        if IN_CI:
            pytest.fail(f"cannot make the WordPress user {login}: {problem}")
        pytest.skip(f"cannot make the WordPress user {login}: {problem}")
    return {"url": wordpress["url"], "user": login, "app_password": made.stdout.strip()}


@pytest.fixture(scope="session")
def wordpress_author(wordpress: dict[str, str]) -> dict[str, str]:
    """An Author on the test WordPress: may publish and upload, may not create categories."""
    return wordpress_user(wordpress, "warta-author", "author")


@pytest.fixture
def api(wordpress: dict[str, str]) -> Iterator[httpx.Client]:
    """A plain client to check what the publisher left on the site."""
    with httpx.Client(
        base_url=f"{wordpress['url']}/wp-json/wp/v2/",
        auth=(wordpress["user"], wordpress["app_password"]),
        timeout=20,
    ) as client:
        yield client


def _publisher(wordpress: dict[str, str], **options: Any) -> WordPressPublisher:
    return WordPressPublisher(
        "situs",
        base_url=wordpress["url"],
        user=wordpress["user"],
        app_password=wordpress["app_password"],
        category=options.pop("category", "Pemerintahan"),
        **options,
    )


def _jpeg(path: Path, color: tuple[int, int, int]) -> Path:
    Image.new("RGB", (320, 200), color).save(path, "JPEG", quality=85)
    return path


def _article(tmp_path: Path, *, photos: int = 3, **fields: Any) -> Article:
    colors = [(200, 30, 30), (30, 200, 30), (30, 30, 200)]
    number = int(uuid.uuid4().int % 900_000_000) + 100_000
    return Article(
        story_number=fields.pop("story_number", number),
        version=fields.pop("version", 1),
        title=fields.pop("title", None) or f"Wali Kota Buka Musrenbang {number}",
        body=fields.pop(
            "body",
            "PALANGKA RAYA – Wali Kota membuka Musrenbang di Aula Peteng Karuhei.\n\n"
            '"Usulan warga jadi dasar perencanaan," kata Wali Kota.',
        ),
        reporter="Rina",
        photos=tuple(
            ArticlePhoto(
                path=_jpeg(tmp_path / f"foto-{index}.jpg", colors[index % 3]),
                mime="image/jpeg",
                caption=f"Suasana Musrenbang {index + 1}",
                credit="Rina/Warta",
            )
            for index in range(photos)
        ),
        submitted_at=WHEN,
        published_at=WHEN,
        tags=fields.pop("tags", ("Musrenbang", "Palangka Raya")),
    )


def _posts_with_slug(api: httpx.Client, slug: str) -> list[dict[str, Any]]:
    response = api.get(
        "posts",
        params={"slug": slug, "status": "publish,draft,future,pending,private", "context": "edit"},
    )
    response.raise_for_status()
    return response.json()


# --- the formatter ----------------------------------------------------------------------------


def test_body_html_matches_the_golden_file(tmp_path: Path) -> None:
    article = Article(
        story_number=7,
        version=1,
        title="Banjir <b>Surut</b>",
        body=(
            "PALANGKA RAYA – Air surut di Jalan <script>alert(1)</script> & sekitarnya.\n"
            "Warga kembali ke rumah.\n\n"
            'Kata lurah: "Aman" <img src=x onerror=alert(1)>\n\n'
            "Bantuan tetap disalurkan."
        ),
        reporter="Rina",
        photos=(),
        submitted_at=WHEN,
        published_at=WHEN,
    )
    photos = [
        UploadedPhoto(
            id=11,
            url="http://127.0.0.1:8089/wp-content/uploads/2026/05/7-banjir-1.jpg",
            alt='Warga "pulang" <rumah>',
            caption="Warga pulang (Foto: Rina/Warta)",
        ),
        UploadedPhoto(id=12, url="javascript:alert(1)", alt="x", caption="jahat"),
        UploadedPhoto(
            id=13, url="https://example.org/a.jpg?x=1&y=2", alt="Tanpa keterangan", caption=""
        ),
    ]
    body = render_wordpress_body(article, photos)
    if os.environ.get("WARTA_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(body + "\n", encoding="utf-8")
    assert body + "\n" == GOLDEN.read_text(encoding="utf-8")
    assert "<script" not in body and "<img src=x" not in body and "javascript:" not in body


# --- errors, with a transport standing in for the site --------------------------------------


def _mock_publisher(handler: Any) -> WordPressPublisher:
    return WordPressPublisher(
        "situs",
        base_url="http://wp.invalid",
        user="warta",
        app_password="rahasia-sekali",
        transport=httpx.MockTransport(handler),
    )


@pytest.mark.asyncio
async def test_429_is_retryable_with_the_asked_delay(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            429, headers={"Retry-After": "7"}, json={"code": "too_many", "message": "Pelan"}
        )

    with pytest.raises(PublishError) as caught:
        await _mock_publisher(handler).publish(_article(tmp_path, photos=0))
    assert caught.value.retryable and caught.value.retry_after == 7.0


@pytest.mark.asyncio
async def test_timeouts_and_connection_errors_are_retryable(tmp_path: Path) -> None:
    for error in (httpx.ReadTimeout("slow"), httpx.ConnectError("refused")):

        def handler(request: httpx.Request, error: Exception = error) -> httpx.Response:
            raise error

        with pytest.raises(PublishError) as caught:
            await _mock_publisher(handler).publish(_article(tmp_path, photos=0))
        assert caught.value.retryable


@pytest.mark.asyncio
async def test_other_4xx_is_final_and_names_the_code(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/users/me"):
            return httpx.Response(200, json={"id": 2})
        return httpx.Response(
            400, json={"code": "rest_invalid_param", "message": "Parameter tidak valid: slug"}
        )

    with pytest.raises(PublishError) as caught:
        await _mock_publisher(handler).publish(_article(tmp_path, photos=0))
    assert not caught.value.retryable
    assert "rest_invalid_param" in str(caught.value)
    assert "rahasia-sekali" not in str(caught.value)


# --- the real WordPress -----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_story_with_three_photos(
    wordpress: dict[str, str], api: httpx.Client, tmp_path: Path
) -> None:
    article = _article(tmp_path)
    result = await _publisher(wordpress).publish(article)

    assert result.remote_id and result.permalink.startswith(wordpress["url"])
    post = api.get(f"posts/{result.remote_id}", params={"context": "edit"}).json()
    assert post["status"] == "publish"
    assert post["slug"] == article.slug
    assert post["title"]["raw"] == article.title
    assert "Aula Peteng Karuhei" in post["content"]["raw"]
    assert post["content"]["raw"].count("<figure>") == 3

    media = api.get("media", params={"parent": post["id"], "context": "edit"}).json()
    assert len(media) == 3
    assert post["featured_media"] in {item["id"] for item in media}
    featured = next(item for item in media if item["id"] == post["featured_media"])
    assert featured["caption"]["raw"] == "Suasana Musrenbang 1 (Foto: Rina/Warta)"
    assert sorted(item["caption"]["raw"] for item in media) == [
        f"Suasana Musrenbang {n} (Foto: Rina/Warta)" for n in (1, 2, 3)
    ]
    assert all(item["alt_text"].startswith("Suasana Musrenbang") for item in media)

    categories = [api.get(f"categories/{i}").json()["name"] for i in post["categories"]]
    assert "Pemerintahan" in categories
    tags = sorted(api.get(f"tags/{i}").json()["name"] for i in post["tags"])
    assert tags == ["Musrenbang", "Palangka Raya"]


@pytest.mark.asyncio
async def test_correction_updates_the_same_post(
    wordpress: dict[str, str], api: httpx.Client, tmp_path: Path
) -> None:
    article = _article(tmp_path, photos=1)
    publisher = _publisher(wordpress)
    first = await publisher.publish(article)

    corrected = Article(
        **{
            **article.__dict__,
            "version": 2,
            "title": article.title + " (Ralat)",
            "body": "PALANGKA RAYA – Musrenbang digelar di Aula Jayang Tingang.",
        }
    )
    second = await publisher.publish(corrected, remote_id=first.remote_id)

    assert second.remote_id == first.remote_id
    post = api.get(f"posts/{second.remote_id}", params={"context": "edit"}).json()
    assert post["title"]["raw"] == corrected.title
    assert "Aula Jayang Tingang" in post["content"]["raw"]
    assert "Peteng Karuhei" not in post["content"]["raw"]


@pytest.mark.asyncio
async def test_retry_after_a_crash_finds_the_post_by_slug(
    wordpress: dict[str, str], api: httpx.Client, tmp_path: Path
) -> None:
    article = _article(tmp_path, photos=1)
    first = await _publisher(wordpress).publish(article)
    # The dispatcher crashed before it stored remote_id: the retry comes without it.
    again = await _publisher(wordpress).publish(article)

    assert again.remote_id == first.remote_id
    assert [post["id"] for post in _posts_with_slug(api, article.slug)] == [int(first.remote_id)]


@pytest.mark.asyncio
async def test_wrong_application_password_is_final(
    wordpress: dict[str, str], tmp_path: Path
) -> None:
    wrong = "abcd EFGH ijkl MNOP qrst UVWX"
    publisher = _publisher({**wordpress, "app_password": wrong})
    with pytest.raises(PublishError) as caught:
        await publisher.publish(_article(tmp_path, photos=1))
    message = str(caught.value)
    assert not caught.value.retryable
    assert f"user {wordpress['user']}" in message and "rest_" in message
    assert wrong not in message and wordpress["app_password"] not in message
    assert wrong not in repr(publisher)


@pytest.mark.asyncio
async def test_server_error_then_success_makes_one_post(
    wordpress: dict[str, str], api: httpx.Client, tmp_path: Path
) -> None:
    real = httpx.AsyncHTTPTransport()
    failures = {"left": 1}

    async def handler(request: httpx.Request) -> httpx.Response:
        # The final write of the post fails once, after the draft and the photo exist.
        final_write = request.method == "POST" and request.url.path.split("/")[-2] == "posts"
        if final_write and failures["left"]:
            failures["left"] -= 1
            return httpx.Response(
                503, json={"code": "maintenance", "message": "Sedang pemeliharaan"}
            )
        return await real.handle_async_request(request)

    article = _article(tmp_path, photos=1)
    publisher = _publisher(wordpress, transport=httpx.MockTransport(handler))
    try:
        with pytest.raises(PublishError) as caught:
            await publisher.publish(article)
        assert caught.value.retryable and "503" in str(caught.value)

        result = await publisher.publish(article)
    finally:
        await real.aclose()

    posts = _posts_with_slug(api, article.slug)
    assert [post["id"] for post in posts] == [int(result.remote_id or 0)]
    assert posts[0]["status"] == "publish"
    assert posts[0]["featured_media"]


class Counting:
    """A transport to the real site that notes every request ("METHOD path")."""

    def __init__(self) -> None:
        self.real = httpx.AsyncHTTPTransport()
        self.requests: list[str] = []

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(f"{request.method} {request.url.path.removeprefix('/wp-json/wp/v2/')}")
        return await self.real.handle_async_request(request)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def uploads(self) -> list[str]:
        return [r for r in self.requests if r == "POST media"]


@pytest_asyncio.fixture
async def counting() -> Any:
    counter = Counting()
    yield counter
    await counter.real.aclose()


def _media_count(api: httpx.Client, search: str) -> int:
    response = api.get("media", params={"search": search, "per_page": 1})
    response.raise_for_status()
    return int(response.headers["X-WP-Total"])


@pytest.mark.asyncio
async def test_author_and_a_missing_category_fail_before_anything_is_created(
    wordpress_author: dict[str, str], api: httpx.Client, tmp_path: Path
) -> None:
    category = f"Rubrik {uuid.uuid4().hex[:10]}"
    article = _article(tmp_path, photos=1)
    publisher = _publisher(wordpress_author, category=category)

    with pytest.raises(PublishError) as caught:
        await publisher.publish(article)

    assert caught.value.cause is PublishCause.PERMISSION and not caught.value.retryable
    message = str(caught.value)
    assert "warta-author (author)" in message and "manage_categories" in message
    assert category in message
    assert _posts_with_slug(api, article.slug) == []
    assert _media_count(api, article.slug) == 0
    assert api.get("categories", params={"search": category}).json() == []


@pytest.mark.asyncio
async def test_author_publishes_when_the_category_exists(
    wordpress_author: dict[str, str], api: httpx.Client, tmp_path: Path
) -> None:
    category = f"Rubrik {uuid.uuid4().hex[:10]}"
    api.post("categories", json={"name": category}).raise_for_status()  # made by the editor
    article = _article(tmp_path, photos=1)

    result = await _publisher(wordpress_author, category=category).publish(article)

    post = api.get(f"posts/{result.remote_id}", params={"context": "edit"}).json()
    assert post["status"] == "publish" and post["featured_media"]
    assert [api.get(f"categories/{i}").json()["name"] for i in post["categories"]] == [category]


@pytest.mark.asyncio
async def test_a_text_correction_costs_one_request_and_uploads_nothing(
    wordpress: dict[str, str], api: httpx.Client, tmp_path: Path, counting: Counting
) -> None:
    article = _article(tmp_path, photos=2)
    publisher = _publisher(wordpress, transport=counting.transport(), uploads=MemoryUploads())
    first = await publisher.publish(article)
    assert len(counting.uploads()) == 2
    counting.requests.clear()

    corrected = Article(
        **{
            **article.__dict__,
            "version": 2,
            "title": article.title + " (Ralat)",
            "body": "PALANGKA RAYA – Musrenbang digelar di Aula Jayang Tingang.",
        }
    )
    second = await publisher.publish(corrected, remote_id=first.remote_id)

    assert counting.requests == [f"POST posts/{first.remote_id}"]
    assert second.remote_id == first.remote_id
    post = api.get(f"posts/{second.remote_id}", params={"context": "edit"}).json()
    assert post["title"]["raw"] == corrected.title
    assert "Aula Jayang Tingang" in post["content"]["raw"]
    assert post["content"]["raw"].count("<figure>") == 2
    assert _media_count(api, article.slug) == 2


@pytest.mark.asyncio
async def test_a_retry_after_a_crash_reuploads_no_photo(
    wordpress: dict[str, str], api: httpx.Client, tmp_path: Path, counting: Counting
) -> None:
    article = _article(tmp_path, photos=2)
    uploads = MemoryUploads()  # the database, which outlives the process
    first = await _publisher(wordpress, uploads=uploads).publish(article)
    assert len(uploads.rows) == 2

    # A new process (nothing learnt in memory) retries without the post id it lost.
    again = await _publisher(wordpress, transport=counting.transport(), uploads=uploads).publish(
        article
    )

    assert again.remote_id == first.remote_id
    assert counting.uploads() == []
    assert not [r for r in counting.requests if r.startswith("POST media")]
    assert _media_count(api, article.slug) == 2


@pytest.mark.asyncio
async def test_a_photo_deleted_on_the_site_is_uploaded_again(
    wordpress: dict[str, str], api: httpx.Client, tmp_path: Path, counting: Counting
) -> None:
    article = _article(tmp_path, photos=1)
    uploads = MemoryUploads()
    first = await _publisher(wordpress, uploads=uploads).publish(article)
    [(old_id, _url)] = uploads.rows.values()
    api.delete(f"media/{old_id}", params={"force": "true"}).raise_for_status()

    again = await _publisher(wordpress, transport=counting.transport(), uploads=uploads).publish(
        article, remote_id=first.remote_id
    )

    assert counting.uploads() == ["POST media"]
    [(new_id, url)] = uploads.rows.values()
    assert new_id != old_id and url
    post = api.get(f"posts/{again.remote_id}", params={"context": "edit"}).json()
    assert post["featured_media"] == int(new_id)
    assert url in post["content"]["raw"]


@pytest.mark.asyncio
async def test_the_same_photo_in_two_stories_is_uploaded_once(
    wordpress: dict[str, str], api: httpx.Client, tmp_path: Path, counting: Counting
) -> None:
    uploads = MemoryUploads()
    publisher = _publisher(wordpress, transport=counting.transport(), uploads=uploads)
    first = _article(tmp_path, photos=1)
    second = _article(tmp_path, photos=1)  # the same file, another story

    one = await publisher.publish(first)
    two = await publisher.publish(second)

    assert len(counting.uploads()) == 1
    posts = [api.get(f"posts/{r.remote_id}", params={"context": "edit"}).json() for r in (one, two)]
    assert posts[0]["featured_media"] == posts[1]["featured_media"] != 0


@pytest.mark.asyncio
async def test_a_photo_deleted_while_the_publisher_runs_is_uploaded_on_the_next_try(
    wordpress: dict[str, str], api: httpx.Client, tmp_path: Path, counting: Counting
) -> None:
    article = _article(tmp_path, photos=1)
    uploads = MemoryUploads()
    publisher = _publisher(wordpress, transport=counting.transport(), uploads=uploads)
    first = await publisher.publish(article)
    [(old_id, _url)] = uploads.rows.values()
    api.delete(f"media/{old_id}", params={"force": "true"}).raise_for_status()

    # The publisher trusted what it saw earlier: WordPress drops the photo, the try can pass.
    with pytest.raises(PublishError) as caught:
        await publisher.publish(article, remote_id=first.remote_id)
    assert caught.value.retryable and caught.value.cause is PublishCause.REJECTED
    counting.requests.clear()
    again = await publisher.publish(article, remote_id=first.remote_id)

    assert counting.uploads() == ["POST media"]
    [(new_id, _url)] = uploads.rows.values()
    post = api.get(f"posts/{again.remote_id}", params={"context": "edit"}).json()
    assert post["featured_media"] == int(new_id) != int(old_id)
