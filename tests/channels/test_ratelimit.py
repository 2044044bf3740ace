"""ChatRateLimiter on fake time: per-chat spacing, group windows, the global cap, holds, pruning."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Coroutine
from typing import Any

import pytest

from bot.channels.ratelimit import ChatRateLimiter

EPS = 1e-9


class StepTime:
    """A clock whose sleep just moves time on by the requested seconds (for one coroutine)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        self.now += seconds


class VirtualTime:
    """Virtual time for many coroutines: when every task is blocked, jump to the next wake-up."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        wake = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self.now + max(seconds, 0.0), next(self._order), wake))
        await wake

    async def run(self, *coros: Coroutine[Any, Any, Any]) -> list[Any]:
        tasks = [asyncio.ensure_future(coro) for coro in coros]
        while True:
            for _ in range(50):  # let everything runnable run until it blocks
                await asyncio.sleep(0)
            if all(task.done() for task in tasks):
                return await asyncio.gather(*tasks)
            while self._timers and self._timers[0][2].done():
                heapq.heappop(self._timers)  # a cancelled sleeper
            assert self._timers, "deadlock: tasks blocked with nobody sleeping"
            self.now = max(self.now, self._timers[0][0])
            while self._timers and self._timers[0][0] <= self.now:
                _, _, wake = heapq.heappop(self._timers)
                if not wake.done():
                    wake.set_result(None)


def limiter_on(time_source: StepTime | VirtualTime, **options: Any) -> ChatRateLimiter:
    return ChatRateLimiter(clock=time_source.clock, sleep=time_source.sleep, **options)


class Recorder:
    """Acquires a slot, then notes (chat, time) as the moment the message went out."""

    def __init__(self, limiter: ChatRateLimiter, time_source: StepTime | VirtualTime) -> None:
        self.limiter, self.time = limiter, time_source
        self.sent: list[tuple[str, float]] = []

    async def send(self, chat_id: str, *, is_group: bool = False) -> float:
        await self.limiter.acquire(chat_id, is_group=is_group)
        at = self.time.clock()
        self.sent.append((chat_id, at))
        return at

    def times(self, chat_id: str | None = None) -> list[float]:
        return [at for chat, at in self.sent if chat_id is None or chat == chat_id]


def offsets(times: list[float], start: float) -> list[float]:
    return [round(at - start, 6) for at in times]


# -- per-chat limits ----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_private_chat_messages_are_spaced_one_second_apart() -> None:
    clock = StepTime()
    rec = Recorder(limiter_on(clock), clock)
    for _ in range(4):
        await rec.send("42")
    assert offsets(rec.times(), 1000.0) == [0.0, 1.0, 2.0, 3.0]
    assert clock.sleeps == pytest.approx([1.0, 1.0, 1.0])


@pytest.mark.asyncio
async def test_time_already_passed_counts_towards_the_spacing() -> None:
    clock = StepTime()
    rec = Recorder(limiter_on(clock), clock)
    await rec.send("42")
    clock.advance(0.7)
    await rec.send("42")
    assert offsets(rec.times(), 1000.0) == [0.0, 1.0]
    assert clock.sleeps == pytest.approx([0.3])
    clock.advance(5)
    await rec.send("42")  # long past the spacing: no wait at all
    assert clock.sleeps == pytest.approx([0.3])


@pytest.mark.asyncio
async def test_group_allows_twenty_a_minute_then_waits_for_the_first_to_leave_the_window() -> None:
    clock = StepTime()
    # 0.01 s apart in the chat and globally, so the rolling minute is what decides
    limiter = limiter_on(clock, private_per_second=100, global_per_second=1000)
    rec = Recorder(limiter, clock)
    for _ in range(22):
        await rec.send("-100123", is_group=True)
    sent = offsets(rec.times(), 1000.0)
    assert sent[:20] == [round(0.01 * i, 6) for i in range(20)]
    assert sent[20] == pytest.approx(60.0)  # the first send (t=0) left the window
    assert sent[21] == pytest.approx(60.01)  # and then the second one
    times = rec.times()
    assert all(times[i + 20] - times[i] >= 60 - EPS for i in range(len(times) - 20))


@pytest.mark.asyncio
async def test_group_keeps_per_chat_smoothing_and_the_rolling_minute() -> None:
    clock = StepTime()
    rec = Recorder(limiter_on(clock), clock)  # defaults: 1/s in a chat, 20 a minute in a group
    for _ in range(21):
        await rec.send("-5", is_group=True)
    sent = offsets(rec.times(), 1000.0)
    assert sent[:20] == [float(i) for i in range(20)]
    assert sent[20] == pytest.approx(60.0)


@pytest.mark.asyncio
async def test_private_chat_is_not_bound_by_the_group_minute() -> None:
    clock = StepTime()
    rec = Recorder(limiter_on(clock), clock)
    for _ in range(25):
        await rec.send("42", is_group=False)
    assert offsets(rec.times(), 1000.0) == [float(i) for i in range(25)]


# -- the global cap ----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_global_cap_spreads_many_chats_at_25_a_second() -> None:
    clock = StepTime()
    rec = Recorder(limiter_on(clock), clock)
    for i in range(100):
        await rec.send(f"user-{i}")  # every chat is fresh, so only the global cap applies
    times = rec.times()
    assert all(b - a >= 0.04 - EPS for a, b in itertools.pairwise(times))
    # never more than 25 in any half-open second, i.e. the 26th is a full second after the 1st
    assert all(times[i + 25] - times[i] >= 1.0 - EPS for i in range(len(times) - 25))
    assert sum(1 for at in times if at < 1001.0 - EPS) == 25
    assert times[-1] - times[0] == pytest.approx(99 * 0.04)  # and not slower than the cap


@pytest.mark.asyncio
async def test_global_cap_holds_for_concurrent_senders_under_telegrams_30_a_second() -> None:
    vt = VirtualTime()
    rec = Recorder(limiter_on(vt), vt)
    await vt.run(*(rec.send(f"user-{i}") for i in range(80)))
    times = sorted(rec.times())
    assert len(times) == 80
    assert all(b - a >= 0.04 - EPS for a, b in itertools.pairwise(times))
    for start in times:
        assert sum(1 for at in times if start <= at <= start + 1.0) <= 26 < 30
    assert times[-1] - times[0] == pytest.approx(79 * 0.04)


@pytest.mark.asyncio
async def test_custom_global_rate_is_honoured() -> None:
    clock = StepTime()
    rec = Recorder(limiter_on(clock, global_per_second=5), clock)
    for i in range(6):
        await rec.send(f"user-{i}")
    assert offsets(rec.times(), 1000.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]


# -- holds after a 429 ------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_hold_delays_only_that_chat() -> None:
    clock = StepTime()
    limiter = limiter_on(clock)
    rec = Recorder(limiter, clock)
    limiter.hold("-100777", 3)
    await rec.send("42")
    await rec.send("-100888", is_group=True)
    assert offsets(rec.times(), 1000.0) == [0.0, 0.04]  # other chats: only the global spacing
    await rec.send("-100777", is_group=True)
    assert offsets(rec.times("-100777"), 1000.0) == [3.0]


@pytest.mark.asyncio
async def test_hold_also_waits_out_the_chats_own_spacing_after_it() -> None:
    clock = StepTime()
    limiter = limiter_on(clock)
    rec = Recorder(limiter, clock)
    await rec.send("42")
    limiter.hold("42", 3)
    await rec.send("42")
    await rec.send("42")
    assert offsets(rec.times(), 1000.0) == [0.0, 3.0, 4.0]


@pytest.mark.asyncio
async def test_a_shorter_hold_does_not_cut_a_longer_one_and_zero_is_a_no_op() -> None:
    clock = StepTime()
    limiter = limiter_on(clock)
    limiter.hold("42", 10)
    limiter.hold("42", 2)
    limiter.hold("42", 0)
    limiter.hold("42", -5)
    assert limiter.ready_in("42", is_group=False) == pytest.approx(10.0)
    limiter.hold("7", 0)
    assert limiter.tracked_chats == 1  # a no-op hold remembers nothing


@pytest.mark.asyncio
async def test_concurrent_acquires_for_other_chats_do_not_queue_behind_a_held_chat() -> None:
    vt = VirtualTime()
    limiter = limiter_on(vt)
    rec = Recorder(limiter, vt)
    limiter.hold("-100777", 3)
    results = await vt.run(
        rec.send("-100777", is_group=True),  # started first, and held
        rec.send("-100777", is_group=True),  # queued behind it: same chat
        rec.send("42"),
        rec.send("43"),
        rec.send("-100888", is_group=True),
    )
    held_1, held_2, *others = offsets(results, 1000.0)
    assert held_1 == pytest.approx(3.0)
    assert held_2 == pytest.approx(4.0)
    # the others went out straight away, one global slot (0.04 s) apart
    assert others == pytest.approx([0.0, 0.04, 0.08])


@pytest.mark.asyncio
async def test_a_hold_arriving_while_a_send_waits_pushes_that_send_back() -> None:
    vt = VirtualTime()
    limiter = limiter_on(vt)
    rec = Recorder(limiter, vt)
    await vt.run(rec.send("42"))

    async def rate_limited_half_a_second_later() -> None:
        await vt.sleep(0.5)
        limiter.hold("42", 5)

    results = await vt.run(rec.send("42"), rate_limited_half_a_second_later(), rec.send("9"))
    assert offsets([results[0]], 1000.0) == [pytest.approx(5.5)]
    assert offsets([results[2]], 1000.0) == [0.04]  # the other chat was never affected


@pytest.mark.asyncio
async def test_a_hold_arriving_while_a_send_waits_for_the_global_slot_still_applies() -> None:
    vt = VirtualTime()
    limiter = limiter_on(vt)
    rec = Recorder(limiter, vt)

    async def rate_limited_at(seconds: float) -> None:
        await vt.sleep(seconds)
        limiter.hold("42", 5)

    # 30 other chats go first, so "42" queues for the global slot at 1.2 s; the 429 comes at 0.5 s
    results = await vt.run(
        *(rec.send(f"user-{i}") for i in range(30)), rec.send("42"), rate_limited_at(0.5)
    )
    assert offsets([results[30]], 1000.0) == [pytest.approx(5.5)]
    assert offsets(rec.times("user-29"), 1000.0) == [pytest.approx(29 * 0.04)]


@pytest.mark.asyncio
async def test_a_busy_chat_does_not_take_global_slots_it_cannot_use_yet() -> None:
    vt = VirtualTime()
    rec = Recorder(limiter_on(vt), vt)
    results = await vt.run(
        *(rec.send(f"user-{i}") for i in range(5)),  # global slots 0 .. 0.16 s are taken
        *(rec.send("42") for _ in range(10)),
        rec.send("43"),
    )
    assert offsets(results[5:15], 1000.0) == [0.2 + i for i in range(10)]
    # "43" came after ten queued messages for "42", yet only one of them held a global slot
    assert offsets([results[15]], 1000.0) == [0.24]


@pytest.mark.asyncio
async def test_same_chat_concurrent_acquires_go_out_in_order_one_second_apart() -> None:
    vt = VirtualTime()
    rec = Recorder(limiter_on(vt), vt)
    results = await vt.run(*(rec.send("42") for _ in range(4)))
    assert offsets(results, 1000.0) == [0.0, 1.0, 2.0, 3.0]


@pytest.mark.asyncio
async def test_a_cancelled_acquire_frees_the_chat_for_the_next_one() -> None:
    vt = VirtualTime()
    limiter = limiter_on(vt)
    rec = Recorder(limiter, vt)
    limiter.hold("42", 3)
    waiting = asyncio.ensure_future(limiter.acquire("42", is_group=False))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not waiting.done()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    results = await vt.run(rec.send("42"))
    assert offsets(results, 1000.0) == [3.0]  # the hold still stands; the lock was released


# -- ready_in ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_ready_in_reports_the_wait_without_taking_a_slot() -> None:
    clock = StepTime()
    limiter = limiter_on(clock)
    assert limiter.ready_in("42", is_group=False) == 0.0
    assert limiter.tracked_chats == 0  # asking does not create an entry
    await limiter.acquire("42", is_group=False)
    clock.advance(0.4)
    assert limiter.ready_in("42", is_group=False) == pytest.approx(0.6)
    assert limiter.ready_in("42", is_group=False) == pytest.approx(0.6)  # asking twice: same
    assert limiter.ready_in("43", is_group=False) == 0.0
    await limiter.acquire("42", is_group=False)
    assert clock.sleeps == pytest.approx([0.6])  # acquire waited exactly what ready_in said
    limiter.hold("42", 7)
    assert limiter.ready_in("42", is_group=False) == pytest.approx(7.0)


@pytest.mark.asyncio
async def test_ready_in_counts_the_global_slot_and_the_group_window() -> None:
    clock = StepTime()
    limiter = limiter_on(clock, private_per_second=100)
    await limiter.acquire("1", is_group=False)
    assert limiter.ready_in("2", is_group=False) == pytest.approx(0.04)  # next global slot
    assert limiter.ready_in("1", is_group=False) == pytest.approx(0.04)  # longer than 0.01 s
    for _ in range(19):
        await limiter.acquire("-9", is_group=True)
    clock.advance(1)
    assert limiter.ready_in("-9", is_group=True) == 0.0  # 19 sends in the minute: one more fits
    await limiter.acquire("-9", is_group=True)
    waited = limiter.ready_in("-9", is_group=True)
    start = clock.now
    await limiter.acquire("-9", is_group=True)
    assert clock.now - start == pytest.approx(waited)
    assert waited > 55


# -- memory -----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_idle_chats_are_pruned_so_the_table_stays_small() -> None:
    clock = StepTime()
    limiter = limiter_on(clock, global_per_second=1000)
    for i in range(500):
        await limiter.acquire(f"user-{i}", is_group=i % 2 == 0)
    assert limiter.tracked_chats == 500
    clock.advance(60)
    await limiter.acquire("fresh-1", is_group=False)
    assert limiter.tracked_chats == 501  # one minute idle is not yet forgotten
    clock.advance(61)
    await limiter.acquire("fresh-2", is_group=False)
    assert limiter.tracked_chats == 2  # the 500 idle for > 2 minutes are gone

    # a stream of one-off chats over time keeps the table bounded, not growing with the total
    sizes = []
    for i in range(2000):
        clock.advance(0.5)
        await limiter.acquire(f"burst-{i}", is_group=False)
        sizes.append(limiter.tracked_chats)
    assert max(sizes) <= (120 + 30) / 0.5 + 5


@pytest.mark.asyncio
async def test_pruning_keeps_held_chats_and_forgets_them_once_the_hold_is_long_over() -> None:
    clock = StepTime()
    limiter = limiter_on(clock)
    limiter.hold("-100777", 300)
    await limiter.acquire("42", is_group=False)
    clock.advance(200)
    await limiter.acquire("43", is_group=False)
    assert limiter.ready_in("-100777", is_group=True) == pytest.approx(100.0)  # still held
    assert limiter.tracked_chats == 2  # 42 was forgotten, the held group was not
    clock.advance(100 + 121)
    await limiter.acquire("44", is_group=False)
    assert limiter.tracked_chats == 1


@pytest.mark.asyncio
async def test_a_chat_with_a_waiter_is_never_pruned() -> None:
    vt = VirtualTime()
    limiter = limiter_on(vt)
    rec = Recorder(limiter, vt)
    limiter.hold("42", 1000)

    async def others_later() -> None:
        await vt.sleep(500)
        await rec.send("43")  # sweeps the table while "42" is still waiting

    results = await vt.run(rec.send("42"), others_later(), rec.send("42"))
    assert offsets(results[::2], 1000.0) == [1000.0, 1001.0]  # the hold and spacing survived


@pytest.mark.asyncio
async def test_a_chat_waiting_longer_than_the_idle_limit_is_not_forgotten() -> None:
    vt = VirtualTime()
    # one global slot every 10 s; one message per 130 s in a chat (so chats idle after 130 s)
    limiter = limiter_on(vt, global_per_second=0.1, private_per_second=1 / 130)
    rec = Recorder(limiter, vt)

    async def later(seconds: float, action: Coroutine[Any, Any, Any] | None = None) -> None:
        await vt.sleep(seconds)
        if action is None:
            limiter.hold("elsewhere", 1)  # a hold sweeps the table for idle chats
        else:
            await action

    results = await vt.run(
        *(rec.send(f"user-{i}") for i in range(15)),  # global slots 0 .. 140 s
        rec.send("42"),  # queued for the global slot at 150 s
        later(140),  # sweep while "42" has waited 140 s
        later(145, rec.send("42")),  # a second message for "42"
    )
    assert offsets([results[15]], 1000.0) == [150.0]
    assert offsets(rec.times("42"), 1000.0) == [150.0, 280.0]  # still spaced 130 s apart


# -- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"global_per_second": 0},
        {"global_per_second": -1},
        {"private_per_second": 0},
        {"private_per_second": float("nan")},
        {"group_per_minute": 0},
    ],
)
def test_rejects_rates_that_would_never_send(options: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ChatRateLimiter(**options)  # type: ignore[arg-type]


def test_rejects_a_fractional_group_limit() -> None:
    with pytest.raises(TypeError):
        ChatRateLimiter(group_per_minute=2.5)  # type: ignore[arg-type]


def test_real_clock_and_sleep_are_the_defaults() -> None:
    limiter = ChatRateLimiter()
    assert limiter._clock is time.monotonic and limiter._sleep is asyncio.sleep
