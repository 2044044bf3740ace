"""Step clocks and their alarms, the scheduler lease and once-a-day runs, in the caller's
transaction: the database is the schedule; the scheduler only wakes Warta to read it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, or_, update
from sqlmodel import Session, col, select

from storage.models import AgendaItem, Assignment, DailyRun, Lease, SlaAlarm, SlaClock, Story
from storage.sql import core, insert_ignoring_conflict, is_postgresql
from workflow.calendar import ClockMode
from workflow.sla import Alarm, Step

OPEN, DONE, CANCELLED = "open", "done", "cancelled"
PENDING = "pending"

_CLOCK = SlaClock.__table__
_ALARM = SlaAlarm.__table__
_SETTLE_ALARM = (
    _ALARM.update()
    .where(_ALARM.c.id == bindparam("alarm_id"), _ALARM.c.status == PENDING)
    .values(status=bindparam("new_status"), done_at=bindparam("done_at"))
)


@dataclass
class DueAlarm:
    """A pending alarm whose moment has come, with its clock and what the clock is for: a
    story, or an assignment (coverage due after its agenda item ends)."""

    alarm: SlaAlarm
    clock: SlaClock
    story: Story | None
    assignment: Assignment | None = None
    item: AgendaItem | None = None


def open_clock(
    session: Session,
    *,
    story_id: int | None,
    step: Step,
    mode: ClockMode,
    started_at: datetime,
    due_at: datetime,
    alarms: Sequence[Alarm],
    assignment_id: int | None = None,
) -> int:
    """Start a step's clock and plan its alarms (reminder points and the breach)."""
    clock_id = int(
        core(
            session,
            _CLOCK.insert().returning(_CLOCK.c.id),
            {
                "story_id": story_id,
                "assignment_id": assignment_id,
                "step": step.value,
                "clock_mode": mode.value,
                "started_at": started_at,
                "due_at": due_at,
                "outcome": OPEN,
            },
        ).scalar_one()
    )
    if alarms:
        core(
            session,
            _ALARM.insert(),
            [
                {"clock_id": clock_id, "point": alarm.point, "due_at": alarm.at, "status": PENDING}
                for alarm in alarms
            ],
        )
    return clock_id


def close_clocks(
    session: Session,
    *,
    story_id: int,
    now: datetime,
    actor_id: int | None,
    outcome: str,
    held_by: str | None,
) -> list[int]:
    """End the story's open clock (the step is done, or cancelled) and cancel its pending
    alarms. A step that ends late counts as breached even if its breach alarm never ran."""
    clocks = session.exec(
        select(SlaClock).where(SlaClock.story_id == story_id, SlaClock.outcome == OPEN)
    ).all()
    for clock in clocks:
        clock.outcome, clock.finished_at, clock.finished_by_id = outcome, now, actor_id
        if outcome == DONE and now > clock.due_at and clock.breached_at is None:
            clock.breached_at, clock.held_by = clock.due_at, held_by
        session.add(clock)
    ids = [clock.id for clock in clocks if clock.id is not None]
    if ids:
        session.flush()
        core(
            session,
            _ALARM.update()
            .where(col(_ALARM.c.clock_id).in_(ids), _ALARM.c.status == PENDING)
            .values(status=CANCELLED, done_at=now),
            {},
        )
    return ids


def next_alarm_at(session: Session) -> datetime | None:
    """The earliest pending alarm: the moment the scheduler must wake Warta next."""
    return session.exec(select(func.min(SlaAlarm.due_at)).where(SlaAlarm.status == PENDING)).one()


def due_alarms(session: Session, *, now: datetime, limit: int = 500) -> list[DueAlarm]:
    """Pending alarms due by ``now``, oldest first (rows another instance holds are skipped)."""
    query = (
        select(SlaAlarm, SlaClock, Story, Assignment, AgendaItem)
        .join(SlaClock, col(SlaClock.id) == SlaAlarm.clock_id)
        .join(Story, col(Story.id) == SlaClock.story_id, isouter=True)
        .join(Assignment, col(Assignment.id) == SlaClock.assignment_id, isouter=True)
        .join(AgendaItem, col(AgendaItem.id) == Assignment.item_id, isouter=True)
        .where(SlaAlarm.status == PENDING, col(SlaAlarm.due_at) <= now)
        .order_by(col(SlaAlarm.due_at), col(SlaAlarm.id))
        .limit(limit)
    )
    if is_postgresql(session):
        query = query.with_for_update(of=SlaAlarm, skip_locked=True)  # type: ignore[arg-type]
    return [DueAlarm(*row) for row in session.exec(query).all()]


def settle_alarm(session: Session, alarm_id: int, *, status: str, now: datetime) -> bool:
    """Move a pending alarm to ``status``; False when it was no longer pending (another
    instance or the step's end got there first), in which case nothing may be sent."""
    result = core(
        session, _SETTLE_ALARM, {"alarm_id": alarm_id, "new_status": status, "done_at": now}
    )
    return bool(result.rowcount)


def supersede_earlier(
    session: Session, clock_id: int, before: datetime, *, now: datetime, inclusive: bool = False
) -> None:
    """Mark a clock's pending alarms due before ``before`` as superseded (a later point of the
    same clock speaks for them), whichever sweep batch or instance holds them."""
    due = _ALARM.c.due_at <= before if inclusive else _ALARM.c.due_at < before
    core(
        session,
        _ALARM.update()
        .where(_ALARM.c.clock_id == clock_id, _ALARM.c.status == PENDING, due)
        .values(status="superseded", done_at=now),
        {},
    )


def skip_until(session: Session, moment: datetime, *, now: datetime) -> int:
    """Settle every pending alarm due before ``moment`` as superseded, sending nothing (the
    demo jumps over a night in which no Warta ran; nothing is due then by its story)."""
    result = session.execute(
        update(_ALARM)
        .where(_ALARM.c.status == PENDING, _ALARM.c.due_at < moment)
        .values(status="superseded", done_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def note_outbox(session: Session, alarm_id: int, outbox_id: int | None) -> None:
    if outbox_id is not None:
        core(
            session,
            _ALARM.update().where(_ALARM.c.id == alarm_id).values(outbox_id=outbox_id),
            {},
        )


def mark_breached(session: Session, clock: SlaClock, *, held_by: str) -> None:
    if clock.breached_at is None:
        clock.breached_at, clock.held_by = clock.due_at, held_by
        session.add(clock)


def close_assignment_clock(
    session: Session,
    assignment_id: int,
    *,
    now: datetime,
    outcome: str,
    actor_id: int | None = None,
) -> None:
    """End an assignment's submission clock: covered (done) or cancelled (declined, moved)."""
    for clock in session.exec(
        select(SlaClock).where(SlaClock.assignment_id == assignment_id, SlaClock.outcome == OPEN)
    ).all():
        clock.outcome, clock.finished_at, clock.finished_by_id = outcome, now, actor_id
        if outcome == DONE and now > clock.due_at and clock.breached_at is None:
            clock.breached_at, clock.held_by = clock.due_at, f"person:{actor_id}"
        session.add(clock)
        session.flush()
        core(
            session,
            _ALARM.update()
            .where(_ALARM.c.clock_id == clock.id, _ALARM.c.status == PENDING)
            .values(status=CANCELLED, done_at=now),
            {},
        )


def open_clock_of_assignment(session: Session, assignment_id: int) -> SlaClock | None:
    return session.exec(
        select(SlaClock).where(SlaClock.assignment_id == assignment_id, SlaClock.outcome == OPEN)
    ).first()


def set_once(session: Session, row: Any, column: str, now: datetime) -> bool:
    """Set ``column`` of ``row`` to ``now`` unless someone already has (a guarded update):
    True for the one transaction that did it."""
    table = type(row).__table__
    result = core(
        session,
        table.update().where(table.c.id == row.id, table.c[column].is_(None)).values({column: now}),
        {},
    )
    if result.rowcount:
        from sqlalchemy.orm.attributes import set_committed_value

        set_committed_value(row, column, now)
        return True
    return False


def daily_run_done(session: Session, *, job: str, day: str) -> bool:
    return session.get(DailyRun, (job, day)) is not None


def open_clock_of(session: Session, story_id: int) -> SlaClock | None:
    return session.exec(
        select(SlaClock).where(SlaClock.story_id == story_id, SlaClock.outcome == OPEN)
    ).first()


def open_clocks(
    session: Session, *, due_before: datetime | None = None
) -> list[tuple[SlaClock, Story | None]]:
    """Running clocks in deadline order (only those due before ``due_before`` when given)."""
    query = (
        select(SlaClock, Story)
        .join(Story, col(Story.id) == SlaClock.story_id, isouter=True)
        .where(SlaClock.outcome == OPEN)
        .order_by(col(SlaClock.due_at), col(SlaClock.id))
    )
    if due_before is not None:
        query = query.where(col(SlaClock.due_at) <= due_before)
    return [(clock, story) for clock, story in session.exec(query).all()]


def clocks_touching(
    session: Session, start: datetime, end: datetime
) -> list[tuple[SlaClock, Story | None]]:
    """Clocks that finished or fell due in [start, end), and every clock still open."""
    query = (
        select(SlaClock, Story)
        .join(Story, col(Story.id) == SlaClock.story_id, isouter=True)
        .where(
            or_(
                SlaClock.outcome == OPEN,
                (col(SlaClock.finished_at) >= start) & (col(SlaClock.finished_at) < end),
                (col(SlaClock.due_at) >= start) & (col(SlaClock.due_at) < end),
            )
        )
        .order_by(col(SlaClock.due_at), col(SlaClock.id))
    )
    return [(clock, story) for clock, story in session.exec(query).all()]


def stories_missing_a_clock(session: Session, open_states: Sequence[str]) -> Sequence[Story]:
    """Stories in a step with no open clock (written before clocks existed): to be given one."""
    has_clock = select(SlaClock.id).where(SlaClock.story_id == Story.id, SlaClock.outcome == OPEN)
    return session.exec(
        select(Story).where(
            col(Story.state).in_(open_states),
            col(Story.step).is_not(None),
            col(Story.step_started_at).is_not(None),
            ~has_clock.exists(),
        )
    ).all()


# -- the scheduler lease ----------------------------------------------------------------------


def try_lease(session: Session, *, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease ``name`` for ``holder``; False while another holds it unexpired.

    The lease row is locked for the rest of the transaction, so two instances cannot both
    believe they won it.
    """
    lease = session.get(Lease, name, with_for_update=True)
    if lease is None:
        table = Lease.__table__
        inserted = core(
            session,
            insert_ignoring_conflict(session, table).returning(table.c.name),
            {
                "name": name,
                "holder": holder,
                "epoch": 1,
                "acquired_at": now,
                "expires_at": now + ttl,
            },
        ).first()
        if inserted is not None:
            return True
        lease = session.get(Lease, name, with_for_update=True)
        assert lease is not None
    if lease.holder != holder and lease.expires_at > now:
        return False
    if lease.holder != holder:
        lease.holder, lease.epoch, lease.acquired_at = holder, lease.epoch + 1, now
    lease.expires_at = now + ttl
    session.add(lease)
    return True


def release_lease(session: Session, *, name: str, holder: str, now: datetime) -> None:
    """Give the lease up at a clean stop, so another instance takes over at once."""
    lease = session.get(Lease, name, with_for_update=True)
    if lease is not None and lease.holder == holder:
        lease.expires_at = now
        session.add(lease)


def lease_of(session: Session, name: str) -> Lease | None:
    return session.get(Lease, name)


# -- once-a-day runs --------------------------------------------------------------------------


def claim_daily_run(
    session: Session, *, job: str, day: str, now: datetime, holder: str | None = None
) -> bool:
    """Record that ``job`` ran for ``day``; False when it already had (by anyone)."""
    table = DailyRun.__table__
    inserted = core(
        session,
        insert_ignoring_conflict(session, table).returning(table.c.job),
        {"job": job, "day": day, "done_at": now, "holder": holder},
    ).first()
    return inserted is not None


def claim_due_run(
    session: Session,
    *,
    job: str,
    day: str,
    moment: datetime,
    now: datetime,
    grace: timedelta,
) -> bool:
    """Whether a once-a-day job should run now (its moment has passed and nobody ran it for
    ``day``). A new installation started after the moment does not run it late: that day is
    recorded as its first start."""
    if now < moment:
        return False
    ever = session.exec(select(DailyRun.day).where(DailyRun.job == job).limit(1)).first()
    if ever is None and now - moment > grace:
        claim_daily_run(session, job=job, day=day, now=now, holder="first start")
        return False
    return claim_daily_run(session, job=job, day=day, now=now)
