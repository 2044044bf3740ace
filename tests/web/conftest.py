"""A real Warta serving its pages on 127.0.0.1, and a real browser (Debian's Chromium)."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import Warta, build
from bot.config import Settings
from bot.run import bind, serve
from tests.support import PEOPLE, chromium

SCREENSHOTS = (
    Path(os.environ.get("WARTA_SCREENSHOTS", "")) if os.environ.get("WARTA_SCREENSHOTS") else None
)


class Served:
    """``warta run``'s serve loop in a thread of its own, on a port chosen by the system."""

    def __init__(self, folder: Path, **overrides: Any) -> None:
        self.sock = bind("127.0.0.1", 0)
        self.port = self.sock.getsockname()[1]
        raw: dict[str, Any] = {
            "data_dir": str(folder),
            "database_url": f"sqlite:///{folder / 'warta.db'}",
            "people": PEOPLE,
            "verification": {"checklist": [{"key": "fakta", "label": "Fakta sudah dicek"}]},
            "publish": {
                "targets": [{"name": "arsip", "kind": "folder", "path": str(folder / "pub")}]
            },
            "channels": [{"kind": "playground"}],
            "http": {"port": self.port},
        }
        raw.update(overrides)
        self.warta: Warta = build(Settings.model_validate(raw))
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._ready.set()
            await serve(self.warta, self._stop, sock=self.sock)

        asyncio.run(main())

    def __enter__(self) -> Served:
        self._thread.start()
        self._ready.wait(timeout=30)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)
        self.warta.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module (closed with it, so that the asyncio tests that follow in
    the same run start their own loops)."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where the run's screenshots go: $WARTA_SCREENSHOTS, or the test's own folder."""
    folder = SCREENSHOTS or tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
