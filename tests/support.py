"""Test helpers: a desk built on a real database, driven like a chat transcript."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.app import Warta, build
from bot.channels.local import LocalChannel, Said
from bot.channels.markup import plain
from bot.config import Settings
from handlers.messages import ChatKind, InboundMedia, InboundMessage

GROUP = "redaksi"
PEOPLE = [
    {"key": "hendra", "name": "Hendra", "roles": ["section_head", "editor"]},
    {"key": "dedi", "name": "Dedi", "roles": ["editor"]},
    {"key": "sari", "name": "Sari", "roles": ["editor"]},
    {"key": "budi", "name": "Budi", "roles": ["operator"]},
    {"key": "rina", "name": "Rina", "roles": ["reporter"]},
    {"key": "anton", "name": "Anton", "roles": ["reporter"], "locale": "en"},
]
STORY = """Wali Kota Buka Musrenbang
PALANGKA RAYA – Wali Kota membuka Musrenbang di Aula Peteng Karuhei.

"Usulan warga jadi dasar perencanaan," kata Wali Kota."""


def desk_settings(db_url: str, folder: Path, **overrides: Any) -> Settings:
    raw: dict[str, Any] = {
        "data_dir": str(folder),
        "database_url": db_url,
        "sla": {"submission": "1h", "editing": "3h", "publishing": "2h"},
        "verification": {
            "checklist": [
                {"key": "fakta", "label": "Fakta sudah dicek"},
                {"key": "nama", "label": "Nama dan jabatan benar"},
                {"key": "foto", "label": "Keterangan foto", "required": False},
            ]
        },
        "people": PEOPLE,
        "publish": {"targets": [{"name": "arsip", "kind": "folder", "path": str(folder / "pub")}]},
    }
    raw.update(overrides)
    return Settings.model_validate(raw)


class StepTime:
    """The rate limiter's clock: a wait moves it on at once, so nothing sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)  # let other tasks run, as a real wait would


class FakeClock:
    """A clock tests move by hand (08.00 WIB on a Wednesday)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 12, 2, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def jpeg(color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


def photo(color: tuple[int, int, int] = (200, 30, 30), caption: str | None = None) -> InboundMedia:
    return InboundMedia(kind="photo", data=jpeg(color), filename="foto.jpg", caption=caption)


class Chat:
    """Plays people's messages into a real Warta and returns what Warta said, as plain text."""

    def __init__(self, warta: Warta, messenger: LocalChannel, clock: FakeClock) -> None:
        self.warta, self.messenger, self.clock = warta, messenger, clock
        self._next_id = 0
        self.last: list[Said] = []

    @property
    def desk(self):
        return self.warta.desk

    @property
    def intake(self):
        return self.warta.intake

    def message(
        self,
        who: str,
        text: str = "",
        *,
        media: tuple[InboundMedia, ...] = (),
        reply_to: str | None = None,
        private: bool = False,
        message_id: str | None = None,
        channel: str = "local",
        sender: str | None = None,
    ) -> InboundMessage:
        self._next_id += 1
        return InboundMessage(
            channel=channel,
            chat_id=who if private else GROUP,
            message_id=message_id or f"in-{self._next_id}",
            sender=sender or who,
            text=text,
            chat_kind=ChatKind.PRIVATE if private else ChatKind.GROUP,
            media=media,
            reply_to_message_id=reply_to,
        )

    def send(self, who: str, text: str = "", **options: Any) -> list[str]:
        """Deliver a message, run the outbox, and return Warta's replies (plain text)."""
        self.intake.receive(self.message(who, text, **options))
        return self.flush()

    def deliver(self, msg: InboundMessage) -> list[str]:
        self.intake.receive(msg)
        return self.flush()

    def flush(self) -> list[str]:
        asyncio.run(self.warta.dispatcher.drain())
        self.last = self.messenger.take()
        return [plain(said.text) for said in self.last]

    def to(self, recipient: str) -> list[str]:
        """The plain text of the last replies addressed to ``recipient``."""
        return [plain(s.text) for s in self.last if s.recipient == recipient]

    def last_id(self, recipient: str = GROUP) -> str:
        return [s.message_id for s in self.last if s.recipient == recipient][-1]


def make_chat(
    db_url: str, folder: Path, *, clock: FakeClock | None = None, **overrides: Any
) -> Chat:
    clock = clock or FakeClock()
    messenger = LocalChannel()
    warta = build(
        desk_settings(db_url, folder, **overrides), channels={"local": messenger}, clock=clock
    )
    return Chat(warta, messenger, clock)


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium through Playwright (a skip outside CI when either is missing; a
    failure in CI). Playwright's sync API keeps an event loop running in this thread while it
    is open: open it after a test's asyncio work is done, or for a whole module of browser
    tests, so that the asyncio tests that follow start their own loops."""
    in_ci = os.environ.get("CI") == "true"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        if in_ci:
            pytest.fail(f"Playwright is required in CI: {error}")
        pytest.skip(f"Playwright not installed: {error}")
    if not Path(CHROMIUM).exists():
        if in_ci:
            pytest.fail("Chromium is required in CI (apt-get install chromium)")
        pytest.skip("Chromium not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield browser
        finally:
            browser.close()
