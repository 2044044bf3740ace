"""Agenda items, assignments, the duty roster and leave, in the caller's transaction; every
change is also written to the desk's append-only record (``desk_event``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from storage.models import AgendaItem, Assignment, DeskEvent, Leave, RosterSlot
from storage.repo import next_number

OPEN_ASSIGNMENT = ("offered", "accepted")


def record(
    session: Session,
    *,
    kind: str,
    action: str,
    actor_id: int | None,
    now: datetime,
    item_id: int | None = None,
    assignment_id: int | None = None,
    day: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one line to the desk's record (who did what to which item, slot or day)."""
    session.add(
        DeskEvent(
            at=now,
            actor_id=actor_id,
            kind=kind,
            action=action,
            item_id=item_id,
            assignment_id=assignment_id,
            day=day,
            detail=detail or {},
        )
    )


# -- agenda items -----------------------------------------------------------------------------


def add_item(
    session: Session,
    *,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
    actor_id: int | None,
    source: str,
    leaders: str = "",
    place: str = "",
    notes: str = "",
    all_day: bool = False,
    open_end: bool = False,
    source_key: str | None = None,
) -> AgendaItem:
    item = AgendaItem(
        number=next_number(session, "agenda"),
        title=title,
        leaders=leaders,
        place=place,
        starts_at=starts_at,
        ends_at=ends_at,
        all_day=all_day,
        open_end=open_end,
        notes=notes,
        source=source,
        source_key=source_key,
        created_by_id=actor_id,
        created_at=now,
        updated_at=now,
    )
    session.add(item)
    session.flush()
    record(
        session,
        kind="agenda",
        action="add",
        actor_id=actor_id,
        now=now,
        item_id=item.id,
        detail={"source": source, "title": title, "starts_at": starts_at.isoformat()},
    )
    return item


def item_by_number(session: Session, number: int) -> AgendaItem | None:
    return session.exec(select(AgendaItem).where(AgendaItem.number == number)).first()


def item_by_key(session: Session, source_key: str) -> AgendaItem | None:
    return session.exec(select(AgendaItem).where(AgendaItem.source_key == source_key)).first()


def items_between(
    session: Session, start: datetime, end: datetime, *, cancelled: bool = False
) -> Sequence[AgendaItem]:
    """Items starting in [start, end), by start time."""
    query = select(AgendaItem).where(
        col(AgendaItem.starts_at) >= start, col(AgendaItem.starts_at) < end
    )
    if not cancelled:
        query = query.where(AgendaItem.status == "planned")
    return session.exec(query.order_by(col(AgendaItem.starts_at), col(AgendaItem.number))).all()


def assignments_of(session: Session, item_ids: Iterable[int]) -> dict[int, list[Assignment]]:
    ids = list(item_ids)
    found: dict[int, list[Assignment]] = defaultdict(list)
    if ids:
        rows = session.exec(
            select(Assignment)
            .where(col(Assignment.item_id).in_(ids))
            .order_by(col(Assignment.assigned_at))
        ).all()
        for row in rows:
            found[row.item_id].append(row)
    return found


def open_assignments(session: Session, reporter_id: int) -> list[tuple[Assignment, AgendaItem]]:
    """The reporter's assignments not yet covered (offered or accepted), soonest event first."""
    rows = session.exec(
        select(Assignment, AgendaItem)
        .join(AgendaItem, col(AgendaItem.id) == Assignment.item_id)
        .where(
            Assignment.reporter_id == reporter_id,
            col(Assignment.status).in_(OPEN_ASSIGNMENT),
            AgendaItem.status == "planned",
        )
        .order_by(col(AgendaItem.starts_at))
    ).all()
    return [(assignment, item) for assignment, item in rows]


def busy_reporters(session: Session, start: datetime, end: datetime) -> set[int]:
    """Reporters with an open or accepted assignment to an event overlapping [start, end)."""
    rows = session.exec(
        select(Assignment.reporter_id)
        .join(AgendaItem, col(AgendaItem.id) == Assignment.item_id)
        .where(
            col(Assignment.status).in_(OPEN_ASSIGNMENT),
            AgendaItem.status == "planned",
            col(AgendaItem.starts_at) < end,
            col(AgendaItem.ends_at) > start,
        )
    ).all()
    return set(rows)


def unanswered_by(session: Session, now: datetime) -> list[tuple[Assignment, AgendaItem]]:
    """Offered assignments whose answer time has passed and whose editors were not told."""
    rows = session.exec(
        select(Assignment, AgendaItem)
        .join(AgendaItem, col(AgendaItem.id) == Assignment.item_id)
        .where(
            Assignment.status == "offered",
            col(Assignment.alerted_at).is_(None),
            col(Assignment.answer_due_at) <= now,
            AgendaItem.status == "planned",
        )
    ).all()
    return [(assignment, item) for assignment, item in rows]


def to_remind(session: Session, now: datetime, lead: Any) -> list[tuple[Assignment, AgendaItem]]:
    """Open assignments whose event starts within ``lead`` and whose reporter was not reminded."""
    rows = session.exec(
        select(Assignment, AgendaItem)
        .join(AgendaItem, col(AgendaItem.id) == Assignment.item_id)
        .where(
            col(Assignment.status).in_(OPEN_ASSIGNMENT),
            col(Assignment.reminded_at).is_(None),
            AgendaItem.status == "planned",
            col(AgendaItem.starts_at) > now,
            col(AgendaItem.starts_at) <= now + lead,
        )
    ).all()
    return [(assignment, item) for assignment, item in rows]


def next_assignment_moment(session: Session, now: datetime, lead: Any) -> datetime | None:
    """The next answer deadline or pre-event reminder (for the alarm clock)."""
    from sqlmodel import func

    answer = session.exec(
        select(func.min(Assignment.answer_due_at)).where(
            Assignment.status == "offered", col(Assignment.alerted_at).is_(None)
        )
    ).one()
    start = session.exec(
        select(func.min(AgendaItem.starts_at))
        .join(Assignment, col(Assignment.item_id) == AgendaItem.id)
        .where(
            col(Assignment.status).in_(OPEN_ASSIGNMENT),
            col(Assignment.reminded_at).is_(None),
            AgendaItem.status == "planned",
            col(AgendaItem.starts_at) > now,
        )
    ).one()
    moments = [m for m in (answer, start - lead if start else None) if m is not None]
    return min(moments) if moments else None


# -- roster and leave -------------------------------------------------------------------------


def roster_of(session: Session, month: str) -> Sequence[RosterSlot]:
    return session.exec(
        select(RosterSlot)
        .where(RosterSlot.month == month)
        .order_by(col(RosterSlot.day), col(RosterSlot.id))
    ).all()


def duty_on(session: Session, day: date, *, drafts: bool = False) -> Sequence[RosterSlot]:
    """Who is on duty on ``day`` by the approved roster (a draft counts only when asked)."""
    query = select(RosterSlot).where(RosterSlot.day == day.isoformat())
    if not drafts:
        query = query.where(RosterSlot.status == "approved")
    return session.exec(query.order_by(col(RosterSlot.shift), col(RosterSlot.id))).all()


@dataclass
class RosterWrite:
    month: str
    slots: list[tuple[date, str, int | None]] = field(default_factory=list)


def replace_roster(
    session: Session, plan: RosterWrite, *, actor_id: int | None, now: datetime
) -> None:
    """Put a freshly generated month in place of the old one (as a draft)."""
    for old in roster_of(session, plan.month):
        session.delete(old)
    session.flush()
    for day, shift, person_id in plan.slots:
        session.add(
            RosterSlot(
                month=plan.month,
                day=day.isoformat(),
                shift=shift,
                person_id=person_id,
                status="draft",
                updated_by_id=actor_id,
                updated_at=now,
            )
        )
    record(
        session,
        kind="roster",
        action="generate",
        actor_id=actor_id,
        now=now,
        day=plan.month,
        detail={"slots": len(plan.slots)},
    )


def leave_between(session: Session, first: date, last: date) -> dict[int, set[date]]:
    rows = session.exec(
        select(Leave).where(col(Leave.day) >= first.isoformat(), col(Leave.day) <= last.isoformat())
    ).all()
    found: dict[int, set[date]] = defaultdict(set)
    for row in rows:
        found[row.person_id].add(date.fromisoformat(row.day))
    return found


def add_leave(
    session: Session,
    *,
    person_id: int,
    days: Iterable[date],
    reason: str | None,
    actor_id: int | None,
    now: datetime,
) -> list[date]:
    """Record leave days (days already recorded are kept once); returns the new ones."""
    existing = leave_between(session, date.min, date.max).get(person_id, set())
    added = [day for day in days if day not in existing]
    for day in added:
        session.add(
            Leave(
                person_id=person_id,
                day=day.isoformat(),
                reason=reason,
                created_by_id=actor_id,
                created_at=now,
            )
        )
    if added:
        record(
            session,
            kind="leave",
            action="add",
            actor_id=actor_id,
            now=now,
            detail={
                "person_id": person_id,
                "days": [d.isoformat() for d in added],
                "reason": reason,
            },
        )
    return added


def history_of(session: Session, item_ids: Iterable[int]) -> dict[int, list[DeskEvent]]:
    ids = list(item_ids)
    found: dict[int, list[DeskEvent]] = defaultdict(list)
    if ids:
        rows = session.exec(
            select(DeskEvent).where(col(DeskEvent.item_id).in_(ids)).order_by(col(DeskEvent.at))
        ).all()
        for row in rows:
            if row.item_id is not None:
                found[row.item_id].append(row)
    return found
