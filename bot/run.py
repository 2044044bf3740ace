"""``warta run``: one process that serves the channels, the outbox and the HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import socket

import uvicorn

from bot.app import Warta
from bot.channels.base import Channel
from bot.http import make_http_app

log = logging.getLogger(__name__)

GRACE = 1.5
"""Seconds the loops get to finish what they are doing after Ctrl-C before they are cut."""
START_RETRY_CAP = 60.0


class StartupError(Exception):
    """Warta cannot start for a reason the operator must fix; the message says how."""


def bind(host: str, port: int) -> socket.socket:
    """Take the HTTP server's address now, so that a taken port is one clear line."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise StartupError(
                f"port {port} on {host} is already in use (another Warta, or another program); "
                "stop it or choose another http.port in the config"
            ) from None
        raise StartupError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def albums_forever(warta: Warta, stop: asyncio.Event, *, interval: float = 1.0) -> None:
    """Hand each album to the desk once its channel's quiet time has passed."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(warta.intake.flush_albums)
        except Exception:
            log.exception("album flush failed; trying again")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


async def channel_forever(channel: Channel, stop: asyncio.Event, started: list[Channel]) -> None:
    """Start a channel (again and again, with a growing pause, while its service cannot be
    reached: one line each time, never a traceback), then let it run until ``stop``."""
    delay = 2.0
    while not stop.is_set():
        try:
            await channel.start()
            break
        except Exception as error:
            log.warning(
                "%s: cannot start (%s); trying again in %.0f s",
                channel.name,
                _one_line(error),
                delay,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(delay * 2, START_RETRY_CAP)
    else:
        return
    started.append(channel)
    log.info("%s: started", channel.describe())
    await channel.run(stop)


async def serve(warta: Warta, stop: asyncio.Event, *, sock: socket.socket | None = None) -> None:
    """Run until ``stop`` is set: recover unhandled messages, then every loop side by side.

    After ``stop`` the loops get :data:`GRACE` seconds, then whatever still waits (a long
    poll, a slow site) is cancelled: its work is in the database and is taken up again at
    the next start (claims run out, updates are fetched again).
    """
    settings = warta.settings.http
    sock = sock or bind(settings.host, settings.port)
    recovered = await asyncio.to_thread(warta.recover)
    if recovered:
        log.info("handled %d message(s) stored before the last stop", recovered)
    await warta.alarms.start()
    server = uvicorn.Server(
        uvicorn.Config(make_http_app(warta), log_level="warning", lifespan="off")
    )
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    started: list[Channel] = []
    tasks = [
        asyncio.create_task(warta.dispatcher.run_forever(stop)),
        asyncio.create_task(albums_forever(warta, stop)),
        asyncio.create_task(server.serve(sockets=[sock])),
        *(
            asyncio.create_task(channel_forever(channel, stop, started))
            for channel in warta.channels.values()
        ),
    ]
    try:
        await stop.wait()
    finally:
        stop.set()
        if warta.web is not None:
            warta.web.hub.close()  # end the browsers' live streams, or the server waits on them
        server.should_exit = True
        await warta.alarms.stop()
        _done, pending = await asyncio.wait(tasks, timeout=GRACE)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for channel in started:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(channel.stop(), timeout=GRACE)
        sock.close()


def run_forever(warta: Warta, *, sock: socket.socket | None = None) -> None:
    """Serve until SIGINT or SIGTERM; a start-up problem raises :class:`StartupError`."""
    sock = sock or bind(warta.settings.http.host, warta.settings.http.port)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(warta, stop, sock=sock)

    asyncio.run(main())


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
