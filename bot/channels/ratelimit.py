"""Asyncio rate limiting for Telegram sends: a global cap, per-chat limits and 429 holds."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

GROUP_WINDOW = 60.0
"""Length in seconds of the rolling window that ``group_per_minute`` counts over."""

IDLE_AFTER = 120.0
"""A chat with no send, hold or waiter for longer than this is forgotten."""

PRUNE_EVERY = 30.0
"""How often (seconds of clock time) the chat table is swept for idle chats."""


@dataclass
class _ChatState:
    """What the limiter remembers about one chat."""

    sends: deque[float]
    """Recent send times, oldest first (at most ``group_per_minute`` of them)."""
    held_until: float = -math.inf
    """No send before this time (Telegram's ``retry_after``)."""
    touched: float = -math.inf
    """Last time this chat was sent to or held."""
    waiters: int = 0
    """Coroutines inside :meth:`ChatRateLimiter.acquire` for this chat; never pruned while > 0."""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Serialises acquires for this chat only, so one chat's wait never blocks another chat."""


class ChatRateLimiter:
    """Paces Telegram sends: globally, per private chat, per group, and around 429 holds.

    * Globally at most ``global_per_second`` sends a second, evenly spaced (a token bucket
      holding one token), which keeps under Telegram's ~30 messages a second.
    * Per chat at most ``private_per_second`` sends a second (the same spacing smooths bursts
      in groups, as Telegram asks for about one message a second in any chat).
    * Per group at most ``group_per_minute`` sends in any rolling minute.
    * :meth:`hold` (after a 429's ``retry_after``) stops sends to that chat only.

    A chat waits for its own limits first and only then takes a global slot, so a held or
    throttled chat never occupies the global bucket and other chats keep flowing. Acquires for
    the same chat are served one at a time in arrival order; different chats never wait on each
    other except for the global slot. Chats idle for more than two minutes are forgotten.
    """

    def __init__(
        self,
        *,
        global_per_second: float = 25,
        private_per_second: float = 1.0,
        group_per_minute: int = 20,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not global_per_second > 0 or math.isinf(global_per_second):
            raise ValueError(f"global_per_second must be positive, not {global_per_second!r}")
        if not private_per_second > 0 or math.isinf(private_per_second):
            raise ValueError(f"private_per_second must be positive, not {private_per_second!r}")
        if isinstance(group_per_minute, bool) or not isinstance(group_per_minute, int):
            raise TypeError(f"group_per_minute must be an int, not {group_per_minute!r}")
        if group_per_minute < 1:
            raise ValueError(f"group_per_minute must be at least 1, not {group_per_minute}")
        self._global_interval = 1.0 / global_per_second
        self._chat_interval = 1.0 / private_per_second
        self._group_limit = group_per_minute
        self._clock = clock
        self._sleep = sleep
        # A chat forgotten after this long has nothing left that could still limit it.
        self._idle_after = max(IDLE_AFTER, GROUP_WINDOW, self._chat_interval)
        self._next_global = -math.inf  # earliest time the next global slot may be used
        self._chats: dict[str, _ChatState] = {}
        self._last_prune = -math.inf

    @property
    def tracked_chats(self) -> int:
        """How many chats the limiter currently remembers (idle ones are pruned)."""
        return len(self._chats)

    async def acquire(self, chat_id: str, *, is_group: bool) -> None:
        """Wait until a send to ``chat_id`` is allowed now, and count it as sent."""
        now = self._clock()
        self._maybe_prune(now)
        state = self._state(chat_id, now)
        state.waiters += 1
        try:
            async with state.lock:
                while True:
                    # The chat's own limits first, without touching the global bucket.
                    wait = self._chat_wait(state, self._clock(), is_group)
                    if wait > 0:
                        await self._sleep(wait)
                        continue
                    wait = self._take_global(self._clock())
                    if wait > 0:
                        await self._sleep(wait)
                    now = self._clock()
                    # A hold may have arrived during the global wait: then wait for the chat
                    # again (the global slot is given up, which only errs on the safe side).
                    if self._chat_wait(state, now, is_group) <= 0:
                        state.sends.append(now)
                        state.touched = max(state.touched, now)
                        return
        finally:
            state.waiters -= 1

    def hold(self, chat_id: str, seconds: float) -> None:
        """Allow no send to ``chat_id`` for ``seconds`` from now (a 429's ``retry_after``).

        Only that chat is held; a shorter hold never shortens a longer one already in place.
        """
        if not seconds > 0:
            return
        now = self._clock()
        self._maybe_prune(now)
        state = self._state(chat_id, now)
        state.held_until = max(state.held_until, now + seconds)
        state.touched = max(state.touched, now)

    def ready_in(self, chat_id: str, *, is_group: bool) -> float:
        """Seconds until :meth:`acquire` would return (0 when now), without taking a slot.

        This is exact for a caller with no other acquire in flight; concurrent acquires
        queued for the same chat or the global slot make the real wait longer.
        """
        now = self._clock()
        global_wait = max(0.0, self._next_global - now)
        state = self._chats.get(chat_id)
        if state is None:
            return global_wait
        return max(self._chat_wait(state, now, is_group), global_wait)

    # -- internals ---------------------------------------------------------------------------

    def _state(self, chat_id: str, now: float) -> _ChatState:
        """The chat's state, created (as touched now) if the chat is new or was forgotten."""
        state = self._chats.get(chat_id)
        if state is None:
            state = _ChatState(sends=deque(maxlen=self._group_limit), touched=now)
            self._chats[chat_id] = state
        return state

    def _chat_wait(self, state: _ChatState, now: float, is_group: bool) -> float:
        """Seconds until the chat's own limits (spacing, group window, hold) allow a send."""
        ready_at = state.held_until
        if state.sends:
            ready_at = max(ready_at, state.sends[-1] + self._chat_interval)
            if is_group and len(state.sends) >= self._group_limit:
                ready_at = max(ready_at, state.sends[-self._group_limit] + GROUP_WINDOW)
        return max(0.0, ready_at - now)

    def _take_global(self, now: float) -> float:
        """Reserve the next global slot; return the seconds to wait for it.

        The reservation is made without awaiting, so concurrent callers get distinct slots.
        """
        slot = max(self._next_global, now)
        self._next_global = slot + self._global_interval
        return slot - now

    def _maybe_prune(self, now: float) -> None:
        """Forget chats idle for longer than ``IDLE_AFTER`` (swept every ``PRUNE_EVERY``)."""
        if now - self._last_prune < PRUNE_EVERY:
            return
        self._last_prune = now
        idle = [
            chat_id
            for chat_id, state in self._chats.items()
            if state.waiters == 0 and now - max(state.touched, state.held_until) > self._idle_after
        ]
        for chat_id in idle:
            del self._chats[chat_id]
