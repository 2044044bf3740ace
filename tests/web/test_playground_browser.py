"""The playground in a real browser: a reporter files a story with two photos, an editor
sees its card arrive live and edits and verifies it with the card's buttons, a reporter's
press of Terbitkan is refused, an operator publishes, the card links the article and it
opens; the desk board follows the story through its columns. Screenshots of every page at
desktop and phone width are saved (``$WARTA_SCREENSHOTS`` keeps them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support import STORY, jpeg
from tests.web.conftest import Served

DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
WAIT = 15_000  # ms: how long an expectation waits for the live page (never a sleep)


def persona(browser: Any, served: Served, key: str, viewport: dict[str, int] = DESKTOP) -> Any:
    """A tab of its own for one person (one browser context each, as separate people)."""
    context = browser.new_context(viewport=viewport, locale="id-ID")
    page = context.new_page()
    page.goto(f"{served.url}/play/{key}")
    page.wait_for_selector(".composer")
    return page


def card(page: Any, number: int) -> Any:
    return page.locator(".room[data-room='group'] .msg.card", has_text=f"#{number}").last


def column(board: Any, key: str) -> Any:
    """A column of the desk board, by its step (submitted, editing, verified, published …)."""
    return board.locator(f"section.column[aria-labelledby='column-{key}']")


def test_a_story_from_a_phone_to_published_in_the_browser(
    browser: Any, tmp_path: Path, screenshots: Path
):
    from playwright.sync_api import expect

    photos = []
    for index, color in enumerate(((200, 40, 40), (40, 160, 60))):
        path = tmp_path / f"foto-lapangan-{index + 1}.jpg"
        path.write_bytes(jpeg(color, size=(320, 240)))
        photos.append(str(path))

    with Served(tmp_path) as served:
        editor = persona(browser, served, "dedi")
        board = browser.new_context(viewport=DESKTOP, locale="id-ID").new_page()
        board.goto(f"{served.url}/board")
        reporter = persona(browser, served, "rina", PHONE)

        # The reporter files coverage with two photos from a phone.
        reporter.fill(".room[data-room='group'] textarea", STORY)
        reporter.set_input_files(".room[data-room='group'] input[type='file']", photos)
        expect(reporter.locator(".room[data-room='group'] .files")).to_contain_text("2")
        reporter.click(".room[data-room='group'] button.send")
        expect(reporter.locator(".room[data-room='group'] .log")).to_contain_text(
            "Berita #1", timeout=WAIT
        )
        expect(reporter.locator(".msg.mine .photos img")).to_have_count(2, timeout=WAIT)
        reporter.screenshot(path=str(screenshots / "play-reporter-phone.png"), full_page=True)

        # The editor's open tab gets the card live, and edits and verifies with its buttons.
        expect(card(editor, 1)).to_contain_text("menunggu penyuntingan", timeout=WAIT)
        expect(column(board, "submitted")).to_contain_text("#1 Wali Kota", timeout=WAIT)
        card(editor, 1).get_by_role("button", name="Sunting").click()
        expect(card(editor, 1)).to_contain_text("sedang disunting", timeout=WAIT)
        expect(column(board, "editing")).to_contain_text("#1 Wali Kota", timeout=WAIT)
        expect(column(board, "submitted")).not_to_contain_text("#1 Wali Kota")
        card(editor, 1).get_by_role("button", name="Verifikasi").click()
        expect(card(editor, 1)).to_contain_text("terverifikasi", timeout=WAIT)
        expect(column(board, "verified")).to_contain_text("#1 Wali Kota", timeout=WAIT)
        editor.screenshot(path=str(screenshots / "play-editor-desktop.png"), full_page=True)

        # A reporter pressing Terbitkan is refused, privately.
        card(reporter, 1).get_by_role("button", name="Terbitkan").click()
        expect(reporter.locator(".toast")).to_contain_text("hanya", timeout=WAIT)
        expect(card(editor, 1)).to_contain_text("terverifikasi")

        # The operator publishes; the card links the article, and the article opens.
        operator = persona(browser, served, "budi")
        card(operator, 1).get_by_role("button", name="Terbitkan").click()
        expect(card(operator, 1)).to_contain_text("sudah terbit", timeout=WAIT)
        link = card(operator, 1).locator("a[href*='/play/published/arsip/']").first
        expect(link).to_be_visible(timeout=WAIT)
        href = link.get_attribute("href")
        assert href and href.startswith(served.url)
        article = operator.context.new_page()
        article.goto(href)
        expect(article.locator("body")).to_contain_text("Wali Kota Buka Musrenbang")
        article.screenshot(path=str(screenshots / "article-desktop.png"), full_page=True)

        # The board saw the story move on without a reload.
        expect(column(board, "published")).to_contain_text("#1 Wali Kota", timeout=WAIT)
        expect(column(board, "verified")).not_to_contain_text("#1 Wali Kota")
        board.screenshot(path=str(screenshots / "board-desktop.png"), full_page=True)
        board.set_viewport_size(PHONE)
        board.screenshot(path=str(screenshots / "board-phone.png"), full_page=True)
        reporter.set_viewport_size(DESKTOP)
        reporter.screenshot(path=str(screenshots / "play-reporter-desktop.png"), full_page=True)
        editor.set_viewport_size(PHONE)
        editor.screenshot(path=str(screenshots / "play-editor-phone.png"), full_page=True)
        picker = browser.new_context(viewport=PHONE).new_page()
        picker.goto(f"{served.url}/play")
        picker.screenshot(path=str(screenshots / "play-picker-phone.png"), full_page=True)
    assert len(list(screenshots.glob("*.png"))) == 8


def test_a_page_off_this_machine_asks_for_the_password(browser: Any, tmp_path: Path):
    from playwright.sync_api import expect

    with Served(tmp_path, web={"password": "rahasia-redaksi-2026"}) as served:
        page = browser.new_context().new_page()
        page.goto(f"{served.url}/play/rina")
        expect(page).to_have_url(f"{served.url}/login")
        page.fill("#password", "salah")
        page.click("button[type='submit']")
        expect(page.locator(".error")).to_contain_text("Kata sandi salah")
        page.fill("#password", "rahasia-redaksi-2026")
        page.click("button[type='submit']")
        page.goto(f"{served.url}/play/rina")
        expect(page.locator(".composer").first).to_be_visible()
        # A form sent without the session's token is refused, whatever the cookie says.
        answer = page.request.post(f"{served.url}/play/rina/send", multipart={"text": "x"})
        assert answer.status == 403


@pytest.mark.parametrize("title", ["<script>alert(1)</script>", '<img src=x onerror="alert(1)">'])
def test_what_people_write_is_shown_as_text(browser: Any, tmp_path: Path, title: str):
    from playwright.sync_api import expect

    with Served(tmp_path) as served:
        page = persona(browser, served, "rina")
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.fill(".room[data-room='group'] textarea", f"{title}\nIsi berita.")
        page.click(".room[data-room='group'] button.send")
        expect(page.locator(".msg.mine").last).to_contain_text(title, timeout=WAIT)
        expect(page.locator(".msg.card").last).to_contain_text(title, timeout=WAIT)
        assert dialogs == [] and page.locator(".log img[src='x']").count() == 0
