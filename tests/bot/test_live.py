"""``warta check --live``: one line per target, and nothing published or created anywhere.

Against the real WordPress (.ci/wordpress-setup), a webhook receiver and an SMTP server on
127.0.0.1, a port that refuses connections, and an HTTPS server with a self-signed
certificate."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import Settings
from bot.live import LiveResult, check_targets, format_results
from tests.fakes.https_server import https_server, web_server
from tests.publishers.test_email import Smtp, smtp_server  # noqa: F401  (fixture)
from tests.publishers.test_webhook import SECRET, Receiver, receiver  # noqa: F401  (fixture)
from tests.publishers.test_wordpress import (  # noqa: F401  (fixtures)
    wordpress,
    wordpress_author,
)
from tests.support import desk_settings


def settings(tmp_path: Path, *targets: dict[str, Any]) -> Settings:
    return desk_settings(
        f"sqlite:///{tmp_path / 'warta.db'}", tmp_path, publish={"targets": list(targets)}
    )


def wordpress_target(config: dict[str, str], **fields: Any) -> dict[str, Any]:
    return {
        "name": fields.pop("name", "mediacenter"),
        "kind": "wordpress",
        "url": config["url"],
        "user": config["user"],
        "password_env": "WP_PASS",
        "password": config["app_password"],
        **fields,
    }


def check(tmp_path: Path, *targets: dict[str, Any]) -> list[LiveResult]:
    return asyncio.run(check_targets(settings(tmp_path, *targets)))


def only(results: list[LiveResult]) -> LiveResult:
    [result] = results
    return result


def categories_named(config: dict[str, str], name: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{config['url']}/wp-json/wp/v2/categories", params={"search": name}, timeout=20
    )
    response.raise_for_status()
    return response.json()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections: bound, never listening."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]


# --- WordPress --------------------------------------------------------------------------------


def test_a_working_wordpress(wordpress: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    category = f"Rubrik {uuid.uuid4().hex[:10]}"
    result = only(check(tmp_path, wordpress_target(wordpress, category=category)))

    assert result.ok, result.line
    assert result.line.startswith("WordPress 6.1") and f"at {wordpress['url']}" in result.line
    assert "user warta (editor) can publish" in result.line
    assert f"category «{category}» will be created" in result.line
    assert categories_named(wordpress, category) == []  # checked, not made


def test_a_wrong_application_password(wordpress: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    wrong = "abcd EFGH ijkl MNOP qrst UVWX"
    result = only(check(tmp_path, wordpress_target({**wordpress, "app_password": wrong})))

    assert not result.ok
    assert "rejected the credentials of user warta" in result.line
    assert "make a new Application Password for warta" in result.line and "WP_PASS" in result.line
    assert wrong not in result.line


@pytest.mark.parametrize("suffix", ["/wp-json", "/wp-json/wp/v2/"])
def test_a_url_inside_the_site(wordpress: dict[str, str], tmp_path: Path, suffix: str) -> None:  # noqa: F811
    result = only(
        check(tmp_path, wordpress_target({**wordpress, "url": wordpress["url"] + suffix}))
    )

    assert not result.ok
    assert f"give the site's root, {wordpress['url']}" in result.line


CITY_PAGE = b"<!doctype html><html><head><title>Kota Palangka Raya</title></head></html>"


@pytest.mark.parametrize("status", [200, 404])
def test_a_site_that_is_no_wordpress(tmp_path: Path, status: int) -> None:
    with web_server(status=status, body=CITY_PAGE, content_type="text/html") as url:
        config = {"url": url, "user": "warta", "app_password": "x"}
        result = only(check(tmp_path, wordpress_target(config)))

    assert not result.ok
    assert "the site's root" in result.line and "permalinks" in result.line
    assert "<" not in result.line


def test_an_author_and_a_missing_category(
    wordpress_author: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    category = f"Rubrik {uuid.uuid4().hex[:10]}"
    result = only(check(tmp_path, wordpress_target(wordpress_author, category=category)))

    assert not result.ok
    assert "user warta-author (author) may not create categories (manage_categories)" in result.line
    assert (
        f"create the category «{category}» on the site, or give it the Editor role" in result.line
    )
    assert categories_named(wordpress_author, category) == []


def test_an_author_and_an_existing_category(
    wordpress: dict[str, str],  # noqa: F811
    wordpress_author: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    result = only(check(tmp_path, wordpress_target(wordpress_author, category="Uncategorized")))

    assert result.ok, result.line
    assert "user warta-author (author) can publish, category «Uncategorized» exists" in result.line


def test_wordpress_on_a_closed_port(closed_port: int, tmp_path: Path) -> None:
    config = {"url": f"http://127.0.0.1:{closed_port}", "user": "warta", "app_password": "x"}
    result = only(check(tmp_path, wordpress_target(config)))

    assert not result.ok
    assert "cannot connect to 127.0.0.1: connection refused" in result.line
    assert "reachable from this machine" in result.line


def test_wordpress_with_a_self_signed_certificate(tmp_path: Path) -> None:
    with https_server(tmp_path) as url:
        config = {"url": url, "user": "warta", "app_password": "x"}
        result = only(check(tmp_path, wordpress_target(config)))

    assert not result.ok
    assert result.line.startswith("the HTTPS certificate of 127.0.0.1 is not valid")
    assert "renew or fix the site's HTTPS certificate" in result.line


# --- webhook, e-mail, folder, manual ----------------------------------------------------------


def webhook_target(url: str, **fields: Any) -> dict[str, Any]:
    return {
        "name": "portal",
        "kind": "webhook",
        "url": url,
        "secret_env": "HOOK_SECRET",
        "secret": SECRET,
        **fields,
    }


def test_a_webhook_that_answers_gets_nothing_published(
    receiver: Receiver,  # noqa: F811
    tmp_path: Path,
) -> None:
    result = only(check(tmp_path, webhook_target(receiver.url)))

    assert result.ok, result.line
    assert result.line.startswith(f"webhook at {receiver.url} answers (HTTP")
    assert receiver.received == []  # it records every POST


def test_a_webhook_on_a_closed_port_and_behind_a_bad_certificate(
    closed_port: int, tmp_path: Path
) -> None:
    with https_server(tmp_path) as url:
        refused, certificate = check(
            tmp_path,
            webhook_target(f"http://127.0.0.1:{closed_port}/hook"),
            webhook_target(f"{url}/hook", name="arsip"),
        )

    assert not refused.ok and "connection refused" in refused.line
    assert not certificate.ok and "certificate of 127.0.0.1 is not valid" in certificate.line


def email_target(server: Smtp, **fields: Any) -> dict[str, Any]:
    return {
        "name": "redaksi",
        "kind": "email",
        "host": server.host,
        "port": server.port,
        "sender": "warta@example.go.id",
        "to": ["redaksi@example.go.id"],
        "starttls": False,
        **fields,
    }


def test_an_smtp_server_is_greeted_and_logged_in_to_without_sending(
    smtp_server: Smtp,  # noqa: F811
    tmp_path: Path,
) -> None:
    good, bad = check(
        tmp_path,
        email_target(smtp_server, username="humas", password_env="MAIL_PASS", password="sandi"),
        email_target(
            smtp_server, name="salah", username="humas", password_env="MAIL_PASS", password="x"
        ),
    )

    assert good.ok, good.line
    assert f"mail server 127.0.0.1:{smtp_server.port}" in good.line
    assert "logged in as humas; nothing sent" in good.line
    assert not bad.ok and "refused the login of humas" in bad.line and "MAIL_PASS" in bad.line
    assert smtp_server.recorder.delivered == []


def test_an_smtp_server_that_offers_no_starttls(smtp_server: Smtp, tmp_path: Path) -> None:  # noqa: F811
    result = only(check(tmp_path, email_target(smtp_server, starttls=True)))

    assert not result.ok
    assert "check the port and the starttls setting" in result.line


def test_folders_and_manual_targets(tmp_path: Path) -> None:
    (tmp_path / "berkas").write_text("bukan folder")
    results = check(
        tmp_path,
        {"name": "arsip", "kind": "folder", "path": str(tmp_path / "arsip")},
        {"name": "rusak", "kind": "folder", "path": str(tmp_path / "berkas" / "arsip")},
        {"name": "infopublik", "kind": "manual"},
    )

    assert [r.ok for r in results] == [True, False, True]
    assert results[0].line == (
        f"folder {tmp_path / 'arsip'} will be created (in {tmp_path}, which is writable)"
    )
    assert not (tmp_path / "arsip").exists()
    assert "is a file" in results[1].line
    assert results[2].line.startswith("published by hand")


def test_format_results() -> None:
    text = format_results(
        [
            LiveResult("mediacenter", True, "WordPress 6.1.9 at https://mc.example.go.id"),
            LiveResult("portal", False, "the HTTPS certificate of portal.example.go.id …"),
        ]
    )
    assert text == (
        "✓ mediacenter: WordPress 6.1.9 at https://mc.example.go.id\n"
        "✗ portal: the HTTPS certificate of portal.example.go.id …"
    )
