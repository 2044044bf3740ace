"""``warta run``: one process that serves the channels, the outbox and the HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import uvicorn

from bot.app import Warta
from bot.http import make_http_app

log = logging.getLogger(__name__)


async def albums_forever(warta: Warta, stop: asyncio.Event, *, interval: float = 1.0) -> None:
    """Hand each album to the desk once its channel's quiet time has passed."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(warta.intake.flush_albums)
        except Exception:
            log.exception("album flush failed; trying again")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


async def serve(warta: Warta, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set: recover unhandled messages, then every loop side by side."""
    recovered = await asyncio.to_thread(warta.recover)
    if recovered:
        log.info("handled %d message(s) stored before the last stop", recovered)
    await warta.alarms.start()
    tasks = [
        asyncio.create_task(warta.dispatcher.run_forever(stop)),
        asyncio.create_task(albums_forever(warta, stop)),
    ]
    server = uvicorn.Server(
        uvicorn.Config(
            make_http_app(warta),
            host=warta.settings.http.host,
            port=warta.settings.http.port,
            log_level="warning",
            lifespan="off",
        )
    )
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    tasks.append(asyncio.create_task(server.serve()))
    started = []
    try:
        for channel in warta.channels.values():
            await channel.start()
            started.append(channel)
            tasks.append(asyncio.create_task(channel.run(stop)))
        await stop.wait()
    finally:
        stop.set()
        server.should_exit = True
        await warta.alarms.stop()
        await asyncio.gather(*tasks, return_exceptions=True)
        for channel in started:
            await channel.stop()


def run_forever(warta: Warta) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(warta, stop)

    asyncio.run(main())
