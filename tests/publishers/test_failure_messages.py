"""How a failed publish reads in the chat: the cause in the reader's language, then a short
detail, escaped; the messages without a cause read as before."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from handlers.render import Renderer
from publishers.base import PublishCause


@dataclass
class Story:
    number: int = 12
    title: str = "Wali Kota Buka Musrenbang"


@dataclass
class Item:
    """The fields of an outbox item that ``publication_line`` reads."""

    status: str
    target: str = "mediacenter"
    attempts: int = 1
    last_error: str | None = None
    result: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def renderer() -> Renderer:
    return Renderer(tz=ZoneInfo("Asia/Jakarta"))


CERTIFICATE_DETAIL = (
    "WordPress (log in): the HTTPS certificate of portal.example.go.id is not valid: "
    "self-signed certificate"
)


def failed(renderer: Renderer, locale: str, **values: Any) -> str:
    return renderer.render(
        "publish_target_failed", locale=locale, story=Story(), target="portal", **values
    )


def test_the_cause_is_named_in_indonesian(renderer: Renderer) -> None:
    text = failed(renderer, "id", error=CERTIFICATE_DETAIL, cause=PublishCause.CERTIFICATE)
    assert "Penyebab: <b>sertifikat HTTPS situs tidak sah</b> — <i>WordPress (log in)" in text
    assert "perbaiki sertifikat HTTPS" in text
    assert "mohon periksa situs tersebut" not in text


def test_the_cause_is_named_in_english(renderer: Renderer) -> None:
    text = failed(renderer, "en", error=CERTIFICATE_DETAIL, cause="certificate")
    assert "Cause: <b>the HTTPS certificate of the site is not valid</b> — <i>WordPress" in text
    assert "renew or fix its HTTPS certificate" in text


@pytest.mark.parametrize("cause", list(PublishCause))
@pytest.mark.parametrize("locale", ["id", "en"])
def test_every_cause_has_words_and_advice_in_every_language(
    renderer: Renderer, locale: str, cause: PublishCause
) -> None:
    text = failed(renderer, locale, error="detail", cause=cause)
    assert f"<b>{cause.value}</b>" not in text  # a translation, not the code
    assert "&#39;" not in text  # no apostrophe of the template's own turns into an entity
    lines = text.splitlines()
    assert len(lines) == 3 and lines[1].endswith("— <i>detail</i>")
    assert lines[2] not in ("Admin/Operator mohon periksa situs tersebut.", "")


def test_the_detail_is_escaped(renderer: Renderer) -> None:
    text = failed(renderer, "id", error="HTTP 500: <script>x</script>", cause="site_error")
    assert "<script>" not in text and "&lt;script&gt;" in text


@pytest.mark.parametrize("locale", ["id", "en"])
def test_without_a_cause_the_message_is_as_before(renderer: Renderer, locale: str) -> None:
    text = failed(renderer, locale, error="no publish target lama is configured")
    before = {
        "id": (
            "❌ Berita <b>#12</b> «Wali Kota Buka Musrenbang» gagal diterbitkan ke portal.\n"
            "Penyebab: no publish target lama is configured\n"
            "Admin/Operator mohon periksa situs tersebut."
        ),
        "en": (
            "❌ Story <b>#12</b> “Wali Kota Buka Musrenbang” could not be published to portal.\n"
            "Cause: no publish target lama is configured\n"
            "Operators, please check that site."
        ),
    }
    assert text == before[locale]


def test_an_unknown_cause_shows_its_code(renderer: Renderer) -> None:
    text = failed(renderer, "id", error="detail", cause="quota")
    assert "Penyebab: <b>quota</b>" in text


def line(renderer: Renderer, locale: str, item: Item, **values: Any) -> str:
    return renderer.render("publication_line", locale=locale, item=item, **values)


def test_a_failed_line_names_the_cause_stored_with_the_item(renderer: Renderer) -> None:
    item = Item("failed", last_error="user penulis (author) may not create categories", result={})
    item.result["cause"] = "permission"
    assert line(renderer, "id", item) == (
        "❌ mediacenter: akun Warta tidak punya izin yang diperlukan — "
        "user penulis (author) may not create categories (/ulang atau /abaikan)"
    )
    assert line(renderer, "en", item).startswith(
        "❌ mediacenter: the Warta account lacks a permission it needs — user penulis"
    )


def test_a_failed_line_takes_a_cause_given_as_argument(renderer: Renderer) -> None:
    item = Item("failed", last_error="HTTP 503 maintenance: Sedang pemeliharaan")
    text = line(renderer, "id", item, cause=PublishCause.SITE_ERROR)
    assert text.startswith("❌ mediacenter: situs sedang bermasalah — HTTP 503")


def test_a_retrying_line_names_the_cause(renderer: Renderer) -> None:
    item = Item(
        "retrying",
        attempts=3,
        last_error="WordPress (log in): cannot connect to x: connection refused",
        result={"cause": "unreachable"},
    )
    assert line(renderer, "id", item) == (
        "⏳ mediacenter (percobaan ke-3: situs tidak dapat dihubungi — "
        "WordPress (log in): cannot connect to x: connection refused)"
    )


@pytest.mark.parametrize("locale", ["id", "en"])
def test_lines_without_a_cause_are_as_before(renderer: Renderer, locale: str) -> None:
    failed_item = Item("failed", last_error="boom")
    retrying = Item("retrying", attempts=2, last_error="boom")
    done = Item("succeeded", result={"permalink": "https://situs/berita"})
    expected = {
        "id": (
            "❌ mediacenter: boom (/ulang atau /abaikan)",
            "⏳ mediacenter (percobaan ke-2: boom)",
        ),
        "en": ("❌ mediacenter: boom (/retry or /abandon)", "⏳ mediacenter (attempt 2: boom)"),
    }
    assert (line(renderer, locale, failed_item), line(renderer, locale, retrying)) == expected[
        locale
    ]
    # The permalink is a link (Warta's markup), read as the bare address on plain channels.
    link = '<a href="https://situs/berita">https://situs/berita</a>'
    assert line(renderer, locale, done) == f"✅ mediacenter: {link}"
