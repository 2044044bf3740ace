"""``warta run``: one process that serves the channels, the outbox and the HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import uvicorn
from telegram.error import TelegramError

from bot.app import Warta
from bot.http import TELEGRAM_WEBHOOK_PATH, make_http_app

log = logging.getLogger(__name__)


async def albums_forever(warta: Warta, stop: asyncio.Event, *, interval: float = 1.0) -> None:
    quiet = warta.settings.telegram.album_quiet
    while not stop.is_set():
        try:
            await asyncio.to_thread(warta.desk.flush_albums, quiet=quiet)
        except Exception:
            log.exception("album flush failed; trying again")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


async def start_telegram(warta: Warta) -> None:
    """Connect the bot, publish its command menu, and choose polling or the webhook."""
    channel, config = warta.telegram, warta.settings.telegram
    assert channel is not None
    await channel.start()
    await channel.publish_commands(warta.renderer, default_locale=warta.settings.locale)
    if config.mode == "webhook":
        await channel.bot.set_webhook(
            url=(config.webhook_url or "").rstrip("/") + TELEGRAM_WEBHOOK_PATH,
            secret_token=config.webhook_secret.get_secret_value(),
            allowed_updates=["message", "callback_query", "my_chat_member"],
        )
    else:
        await channel.bot.delete_webhook(drop_pending_updates=False)


async def serve(warta: Warta, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set: recover unhandled messages, then every loop side by side."""
    recovered = await asyncio.to_thread(warta.recover)
    if recovered:
        log.info("handled %d message(s) stored before the last stop", recovered)
    if warta.alarms is not None:
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
    if warta.telegram is not None:
        await start_telegram(warta)
        if warta.settings.telegram.mode == "polling":
            tasks.append(asyncio.create_task(warta.telegram.poll_forever(stop)))
    try:
        await stop.wait()
    finally:
        server.should_exit = True
        if warta.alarms is not None:
            await warta.alarms.stop()
        await asyncio.gather(*tasks, return_exceptions=True)
        if warta.telegram is not None:
            with contextlib.suppress(TelegramError):
                await warta.telegram.stop()


def run_forever(warta: Warta) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(warta, stop)

    asyncio.run(main())
