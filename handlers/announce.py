"""The H-1 announcement: tomorrow's agenda posted in the group at its hour, and late additions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from handlers.agenda_items import day_values, local_day
from handlers.desk import Desk
from storage import agenda as book
from storage import clocks
from storage.models import AgendaItem
from workflow.sla import Step

AGENDA_JOB = "agenda_h1"


def _moment(day: date, at: time | None, tz: ZoneInfo) -> datetime | None:
    return None if at is None else datetime.combine(day, at, tz).astimezone(UTC)


def next_agenda_moment(session: Session, desk: Desk, now: datetime) -> datetime | None:
    """The next H-1 announcement, answer deadline or pre-event reminder."""
    options = desk.options.agenda
    today = local_day(now, desk.options.tz)
    moments = [book.next_assignment_moment(session, now, options.remind_before)]
    for job, at in ((AGENDA_JOB, options.announce_at), ("duty", options.duty_announce_at)):
        moment = _moment(today, at, desk.options.tz)
        if moment is None:
            continue
        if clocks.daily_run_done(session, job=job, day=today.isoformat()):
            moment = _moment(today + timedelta(days=1), at, desk.options.tz)
        moments.append(moment)
    found = [m for m in moments if m is not None]
    return min(found) if found else None


def agenda_sweep(session: Session, desk: Desk, now: datetime) -> list[int]:
    """Announce tomorrow's agenda at its time (H-1), alert editors of unanswered assignments,
    remind reporters before their events. Each is done once (a daily run, or a guarded column)."""
    written: list[int] = []
    options = desk.options.agenda
    tz = desk.options.tz
    today = local_day(now, tz)
    yesterday = today - timedelta(days=1)
    late_moment = _moment(yesterday, options.announce_at, tz)
    if (
        late_moment is not None
        and clocks.daily_run_done(
            session, job=AGENDA_JOB, day=(yesterday - timedelta(days=1)).isoformat()
        )
        and clocks.claim_daily_run(session, job=AGENDA_JOB, day=yesterday.isoformat(), now=now)
    ):
        # Warta was down over yesterday's announcement and past midnight: today's agenda is
        # posted now, marked as late, rather than never.
        written += announce_tomorrow(session, desk, today, now, late=True)
    moment = _moment(today, options.announce_at, tz)
    if moment is not None and clocks.claim_due_run(
        session,
        job=AGENDA_JOB,
        day=today.isoformat(),
        moment=moment,
        now=now,
        grace=desk.options.late_after,
    ):
        written += announce_tomorrow(session, desk, today + timedelta(days=1), now)
    for assignment, item in book.unanswered_by(session, now):
        if clocks.set_once(session, assignment, "alerted_at", now):
            reporter = desk.people.get(assignment.reporter_id)
            written += desk.reach.post_to_group(
                session, now=now, name="assignment_no_answer", item=item, reporter=reporter
            )
    for assignment, item in book.to_remind(session, now, options.remind_before):
        if clocks.set_once(session, assignment, "reminded_at", now):
            reporter = desk.people.get(assignment.reporter_id)
            if reporter is not None:
                sent = desk.reach.tell_privately(
                    session,
                    reporter,
                    "assignment_reminder",
                    now=now,
                    item=item,
                    assignment=assignment,
                    window=desk.options.sla.windows[Step.SUBMISSION],
                )
                written += [sent] if sent else []
    return written


def announce_tomorrow(
    session: Session, desk: Desk, day: date, now: datetime, *, late: bool = False
) -> list[int]:
    """Post ``day``'s agenda (normally tomorrow's; today's when the announcement is late)."""
    values = day_values(session, desk, day)
    if not values["items"] and not desk.options.sla.calendar.is_working_day(day):
        return []  # nothing planned for a weekend or holiday: no need to say so
    for item in values["items"]:
        item.announced_at = now
        session.add(item)
    unassigned = [
        item
        for item in values["items"]
        if not any(a.status in ("offered", "accepted") for a in values["assignments"][item.id])
    ]
    return desk.reach.post_to_group(
        session, now=now, name="agenda_h1", unassigned=unassigned, late=late, **values
    )


def announce_if_late(
    session: Session, desk: Desk, items: AgendaItem | list[AgendaItem], now: datetime
) -> None:
    """Items for tomorrow added after the H-1 announcement are announced at once (several
    from one import in one message)."""
    tz = desk.options.tz
    today = local_day(now, tz)
    late = [
        item
        for item in (items if isinstance(items, list) else [items])
        if local_day(item.starts_at, tz) == today + timedelta(days=1)
    ]
    if not late or not clocks.daily_run_done(session, job=AGENDA_JOB, day=today.isoformat()):
        return
    for item in late:
        item.announced_at = now
        session.add(item)
    desk.reach.post_to_group(session, now=now, name="agenda_late_added", items=late)
