"""The alarm clock: APScheduler (in-memory jobs, nothing pickled) wakes Warta when the database
says something is due, and a periodic sweep catches whatever a wake-up missed.

Only the instance holding the scheduler lease sweeps; the lease is renewed on every sweep and
taken over by another instance when it expires, so a dead leader is replaced within
``lease_ttl + sweep_every``. The lease only saves work: every alarm and digest is settled with a
guarded update in the transaction that writes its messages, so even two sweepers send once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from handlers.desk import Clock, utc_now
from handlers.watch import SweepReport, Watch
from storage import clocks
from storage.db import Database

log = logging.getLogger(__name__)

LEASE = "scheduler"
REPORTS_KEPT = 100
WAKE_JOB, SWEEP_JOB = "wake", "sweep"
MAX_ROUNDS = 5
"""Sweeps one wake-up may run back to back while more keeps falling due."""


def instance_name() -> str:
    """A name for this process in the lease table: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class AlarmClock:
    """Wakes the watch at the next due moment and every ``sweep_every``, while leader."""

    def __init__(
        self,
        watch: Watch,
        *,
        db: Database,
        sweep_every: timedelta,
        lease_ttl: timedelta,
        clock: Clock = utc_now,
        instance: str | None = None,
        work: Callable[[], SweepReport] | None = None,
    ) -> None:
        if sweep_every >= lease_ttl:
            raise ValueError("the sweep must run more often than the lease expires")
        self.watch = watch
        self.db = db
        self.sweep_every = sweep_every
        self.lease_ttl = lease_ttl
        self.clock = clock
        self.instance = instance or instance_name()
        self.work = work or watch.sweep
        self.scheduler: AsyncIOScheduler | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.leading = False
        self.reports: deque[SweepReport] = deque(maxlen=REPORTS_KEPT)
        """The latest sweeps' reports (for tests and the health check), bounded."""
        self._wake_at: datetime | None = None
        self._lock = asyncio.Lock()
        self._generation = 0
        self._repaired = False
        self._pending: set[asyncio.Future[None]] = set()

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Sweep at once (catching up a downtime, and first giving a clock to any story that
        lacks one) and then on schedule."""
        self.loop = asyncio.get_running_loop()
        self.scheduler = AsyncIOScheduler(
            timezone=UTC,
            jobstores={"default": MemoryJobStore()},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self.scheduler.add_job(
            self._job,
            IntervalTrigger(seconds=self.sweep_every.total_seconds(), timezone=UTC),
            id=SWEEP_JOB,
            next_run_time=datetime.now(UTC),
        )
        self.scheduler.start()

    async def stop(self) -> None:
        """Stop waking, and hand the lease back so another instance takes over at once."""
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        async with self._lock:  # let a wake-up in flight finish first
            pass
        if self.leading:
            await asyncio.to_thread(self._release)
            self.leading = False

    # -- waking -------------------------------------------------------------------------------

    async def _job(self) -> None:
        """A wake-up as APScheduler runs it: one cut short when Warta stops is not an error
        (what it would have sent is still due, and the next start sends it)."""
        with contextlib.suppress(asyncio.CancelledError):
            await self.tick()

    async def tick(self) -> None:
        """One wake-up: renew (or win) the lease, sweep if leader, set the next wake-up.

        Wake-ups never overlap (one lock); when something fell due during the sweep, the tick
        sweeps again at once instead of scheduling a wake-up in the past.
        """
        async with self._lock:
            for _round in range(MAX_ROUNDS):
                try:
                    self.leading = await asyncio.to_thread(self._lead)
                    if self.leading:
                        if not self._repaired:
                            await asyncio.to_thread(self._repair)
                        self._log(await asyncio.to_thread(self.work))
                except Exception:
                    log.exception("the deadline sweep failed; the next sweep tries again")
                    break
                at = await self._next_wake()
                if not self.leading or at is None or at > self.clock():
                    break
            await self.reschedule()

    def _repair(self) -> None:
        repaired = self.watch.repair()
        self._repaired = True
        if repaired:
            log.info("gave %d story(ies) a deadline clock they lacked", repaired)

    def _log(self, report: SweepReport) -> None:
        self.reports.append(report)
        if report.alarms or report.digests:
            log.info(
                "sent %d reminder(s) (%d late, %d folded, %d superseded), %d digest(s)",
                report.sent + report.late,
                report.late,
                report.folded,
                report.superseded,
                report.digests,
            )

    async def _next_wake(self) -> datetime | None:
        try:
            return await asyncio.to_thread(self.watch.next_wake)
        except Exception:
            log.exception("could not read the next deadline; the periodic sweep stands in")
            return None

    async def reschedule(self) -> None:
        """Set the wake-up job to the next due moment read from the database (a newer call
        wins over an older one still reading)."""
        self._generation += 1
        generation = self._generation
        at = await self._next_wake()
        if generation == self._generation:
            self._set_wake(at)

    def _set_wake(self, at: datetime | None) -> None:
        if self.scheduler is None:
            return
        if at is None:
            if self.scheduler.get_job(WAKE_JOB):
                self.scheduler.remove_job(WAKE_JOB)
            self._wake_at = None
            return
        # A moment already past runs at once; the clock's "now" may differ from the wall clock
        # in tests, so the wake-up is placed relative to it.
        # Never "now": a wake-up that is running cannot start itself again (APScheduler would
        # skip it); what is already due is swept by the running tick or one second later.
        delay = max((at - self.clock()).total_seconds(), 1.0)
        run_at = datetime.now(UTC) + timedelta(seconds=delay)
        self._wake_at = at
        self.scheduler.add_job(
            self._job,
            DateTrigger(run_date=run_at, timezone=UTC),
            id=WAKE_JOB,
            replace_existing=True,
        )

    def nudge(self) -> None:
        """Something changed (a story moved): look again for the next due moment. Safe to call
        from any thread."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(self._reschedule_soon)

    def _reschedule_soon(self) -> None:
        task = asyncio.ensure_future(self.reschedule())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    @property
    def wake_at(self) -> datetime | None:
        """The due moment the wake-up job is set for (None when nothing is planned)."""
        return self._wake_at

    # -- the lease ----------------------------------------------------------------------------

    def _lead(self) -> bool:
        with self.db.transaction() as session:
            return clocks.try_lease(
                session, name=LEASE, holder=self.instance, now=self.clock(), ttl=self.lease_ttl
            )

    def _release(self) -> None:
        with self.db.transaction() as session:
            clocks.release_lease(session, name=LEASE, holder=self.instance, now=self.clock())

    def status(self) -> dict[str, Any]:
        """For the health endpoint: whether this instance leads and when it wakes next."""
        return {
            "instance": self.instance,
            "leader": self.leading,
            "next_wake": self._wake_at.isoformat() if self._wake_at else None,
        }
