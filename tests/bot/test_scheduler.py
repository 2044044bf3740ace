"""The alarm clock: APScheduler wakes the watch on real time with shrunk windows; nothing is
pickled, so a renamed callback still works after a restart; one leader at a time, and two
instances on one database send each reminder once."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlmodel import select

from bot.app import Warta, build
from bot.channels.local import LocalChannel
from bot.scheduler import WAKE_JOB, AlarmClock
from handlers.watch import SweepReport
from storage.models import OutboxItem, SlaAlarm
from tests.support import STORY, Chat, FakeClock, desk_settings

QUIET = {"submission": "1h", "editing": "3h", "publishing": "2h", "digest_at": "off"}


def open_desk(db_url: str, folder: Path, clock=None, **sla: str) -> tuple[Warta, Chat]:
    messenger = LocalChannel()
    settings = desk_settings(
        db_url,
        folder,
        sla={**QUIET, **sla},
        agenda={"announce_at": "off"},
        roster={"announce_at": "off"},
    )
    warta = build(settings, channels={"local": messenger}, clock=clock or FakeClock())
    return warta, Chat(warta, messenger, warta.desk.clock)  # type: ignore[arg-type]


def statuses(warta: Warta) -> dict[str, str]:
    with warta.db.transaction() as session:
        return {row.point: row.status for row in session.exec(select(SlaAlarm)).all()}


@pytest.mark.asyncio
async def test_the_wake_up_job_is_set_for_each_point_in_turn(sqlite_url: str, tmp_path: Path):
    """Editing shrunk to 4 seconds (50 % after 2 s, breach after 4 s) and the periodic sweep
    set to a minute: the wake-up job alone must deliver on time. The clock is moved by hand to
    each moment the job is set for, and the job's own callback is run, as APScheduler would."""
    clock = FakeClock()
    warta, chat = open_desk(sqlite_url, tmp_path, clock=clock, editing="4s")
    alarms = AlarmClock(
        warta.watch,
        db=warta.db,
        sweep_every=timedelta(minutes=1),
        lease_ttl=timedelta(minutes=3),
        clock=clock,
    )
    warta.desk.listeners[:] = [alarms.nudge]
    await alarms.start()
    try:
        await alarms.tick()  # the first sweep at start: nothing due yet
        received = clock()
        await asyncio.to_thread(chat.intake.receive, chat.message("rina", STORY))
        await alarms.reschedule()  # what the nudge does after the story arrived
        seen: dict[str, datetime] = {}
        for expected in ("50%", "80%", "breach"):
            wake = alarms.scheduler.get_job(WAKE_JOB) if alarms.scheduler else None
            assert wake is not None and alarms.wake_at is not None
            clock.now = alarms.wake_at  # the moment the job was set for
            await wake.func()
            sent = [p for p, status in statuses(warta).items() if status == "sent"]
            assert expected in sent and not set(sent) - {*seen, expected}
            seen[expected] = clock()
    finally:
        await alarms.stop()
        warta.close()
    offsets = {point: (moment - received).total_seconds() for point, moment in seen.items()}
    assert offsets == {"50%": 2.0, "80%": pytest.approx(3.2, abs=0.01), "breach": 4.0}


@pytest.mark.asyncio
async def test_a_renamed_callback_still_fires_what_an_earlier_run_planned(
    db_url: str, tmp_path: Path
):
    clock = FakeClock()
    warta, chat = open_desk(db_url, tmp_path, clock=clock)
    chat.intake.receive(chat.message("rina", STORY))
    warta.close()  # the first run ends; its plan is rows in the database, nothing else

    clock.advance(minutes=90)
    warta, chat = open_desk(db_url, tmp_path, clock=clock)
    calls: list[str] = []
    assert warta.watch is not None
    watch = warta.watch

    def look_at_the_clocks_renamed_in_run_two() -> SweepReport:
        calls.append("renamed")
        return watch.sweep()

    alarms = AlarmClock(
        watch,
        db=warta.db,
        sweep_every=timedelta(seconds=20),
        lease_ttl=timedelta(seconds=60),
        clock=clock,
        work=look_at_the_clocks_renamed_in_run_two,
    )
    try:
        await alarms.tick()
        assert calls == ["renamed"]
        assert statuses(warta)["50%"] == "sent"
        tables = set(inspect(warta.db.engine).get_table_names())
        assert not any("apscheduler" in name for name in tables)  # no job store on disk
    finally:
        await alarms.stop()
        warta.close()


def test_one_leader_at_a_time_and_a_bounded_takeover(db_url: str, tmp_path: Path):
    clock = FakeClock()
    warta, _chat = open_desk(db_url, tmp_path, clock=clock)
    assert warta.watch is not None
    ttl, every = timedelta(seconds=60), timedelta(seconds=20)
    first = AlarmClock(warta.watch, db=warta.db, sweep_every=every, lease_ttl=ttl, clock=clock)
    second = AlarmClock(warta.watch, db=warta.db, sweep_every=every, lease_ttl=ttl, clock=clock)
    try:
        assert first._lead() and not second._lead()
        clock.advance(seconds=20)
        assert first._lead() and not second._lead()  # renewed on every sweep
        clock.advance(seconds=59)  # the first instance died right after its last renewal
        assert not second._lead()
        clock.advance(seconds=2)  # its lease ran out: taken over within ttl + one sweep
        assert second._lead() and not first._lead()
        second._release()  # a clean stop hands the lease back at once
        assert first._lead()
    finally:
        warta.close()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_instances_on_one_database_send_each_reminder_once(db_url: str, tmp_path: Path):
    """Several instances are a PostgreSQL set-up; both sweep at the same moment on purpose."""
    clock = FakeClock()
    one, chat = open_desk(db_url, tmp_path / "one", clock=clock)
    two, _ = open_desk(db_url, tmp_path / "two", clock=clock)
    try:
        for number in range(5):
            chat.send("rina", f"Berita {number}\nIsi berita {number}.")
        clock.advance(minutes=90)
        barrier = threading.Barrier(2)
        reports: list[SweepReport] = []

        def sweep(warta: Warta) -> None:
            assert warta.watch is not None
            barrier.wait()
            reports.append(warta.watch.sweep())

        threads = [threading.Thread(target=sweep, args=(w,)) for w in (one, two)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sum(report.sent for report in reports) == 5  # one per story, not ten
        with one.db.transaction() as session:
            halves = session.exec(select(SlaAlarm).where(SlaAlarm.point == "50%")).all()
            reminders = session.exec(
                select(OutboxItem).where(OutboxItem.text.contains("Pengingat"))  # type: ignore[union-attr]
            ).all()
        assert {alarm.status for alarm in halves} == {"sent"}
        assert len(reminders) == 5  # one group message per story (and privately, below)
    finally:
        one.close()
        two.close()


@pytest.mark.asyncio
async def test_two_alarm_clocks_only_the_leader_sweeps(db_url: str, tmp_path: Path):
    clock = FakeClock()
    one, chat = open_desk(db_url, tmp_path / "one", clock=clock)
    two, _ = open_desk(db_url, tmp_path / "two", clock=clock)
    clocks = [
        AlarmClock(
            warta.watch,  # type: ignore[arg-type]
            db=warta.db,
            sweep_every=timedelta(seconds=20),
            lease_ttl=timedelta(seconds=60),
            clock=clock,
            instance=name,
        )
        for warta, name in ((one, "one"), (two, "two"))
    ]
    try:
        chat.intake.receive(chat.message("rina", STORY))
        clock.advance(minutes=90)
        await asyncio.gather(*(alarm.tick() for alarm in clocks))
        leaders = [alarm.instance for alarm in clocks if alarm.leading]
        assert len(leaders) == 1
        assert sum(len(alarm.reports) for alarm in clocks) == 1
        assert statuses(one)["50%"] == "sent"
        # The leader dies; within the lease the other takes over and sends the next point.
        leader = next(alarm for alarm in clocks if alarm.leading)
        follower = next(alarm for alarm in clocks if not alarm.leading)
        clock.advance(minutes=54, seconds=1)  # 10.24: the 80 % point; the lease has expired
        await follower.tick()
        assert follower.leading
        assert statuses(one)["80%"] == "sent"
        assert leader.instance != follower.instance
    finally:
        for alarm in clocks:
            await alarm.stop()
        one.close()
        two.close()


def test_alarm_clock_refuses_a_lease_shorter_than_its_sweep(sqlite_url: str, tmp_path: Path):
    warta, _ = open_desk(sqlite_url, tmp_path)
    try:
        with pytest.raises(ValueError, match="more often than the lease"):
            AlarmClock(
                warta.watch,  # type: ignore[arg-type]
                db=warta.db,
                sweep_every=timedelta(seconds=60),
                lease_ttl=timedelta(seconds=60),
            )
    finally:
        warta.close()


def test_next_wake_is_the_earliest_pending_alarm(sqlite_url: str, tmp_path: Path):
    clock = FakeClock()
    warta, chat = open_desk(sqlite_url, tmp_path, clock=clock)
    try:
        assert warta.watch is not None
        # Nothing planned; the digest, the H-1 agenda and the duty announcement are off.
        assert warta.watch.next_wake() is None
        chat.send("rina", STORY)  # 08.00 WIB: 50 % of editing at 09.30 WIB
        assert warta.watch.next_wake() == datetime(2026, 12, 2, 2, 30, tzinfo=UTC)
    finally:
        warta.close()
