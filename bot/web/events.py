"""Live updates for browsers: events fanned out per topic as server-sent events."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

HEARTBEAT = 15.0
"""Seconds between keep-alive comments, so proxies and browsers keep the stream open."""
QUEUE_LIMIT = 500


class Hub:
    """Browsers subscribe to topics (a chat, a person, the board); Warta publishes to them.

    ``publish`` may be called from any thread; each subscriber has its own bounded queue, so
    a stalled browser tab slows nobody else (it misses events and reloads instead)."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def publish(self, topic: str, event: dict[str, Any]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop is closing
            loop.call_soon_threadsafe(self._deliver, topic, event)

    def _deliver(self, topic: str, event: dict[str, Any]) -> None:
        for queue in list(self._subscribers.get(topic, ())):
            if queue.qsize() >= QUEUE_LIMIT:
                queue.put_nowait({"type": "reload"})  # too far behind: start afresh
                continue
            queue.put_nowait(event)

    async def stream(self, topics: Iterable[str]) -> AsyncIterator[str]:
        """The server-sent events of ``topics`` until the browser goes away."""
        self._loop = self._loop or asyncio.get_running_loop()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        wanted = set(topics)
        for topic in wanted:
            self._subscribers.setdefault(topic, set()).add(queue)
        try:
            yield "retry: 2000\n\n"
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), timeout=HEARTBEAT)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if event.get("type") == "_closed":
                    return
                yield f"data: {json.dumps(event, ensure_ascii=False)}\n\n"
        finally:
            for topic in wanted:
                self._subscribers.get(topic, set()).discard(queue)

    def close(self) -> None:
        """End every stream (Warta is stopping): the browsers reconnect to the next Warta."""
        for queues in self._subscribers.values():
            for queue in queues:
                queue.put_nowait({"type": "_closed"})

    def listeners(self, topic: str) -> int:
        return len(self._subscribers.get(topic, ()))
