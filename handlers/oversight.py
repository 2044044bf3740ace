"""Oversight for the section head: the daily digest's figures and what is late now."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from handlers.desk import Desk
from handlers.roster import digest_extras
from storage import clocks
from storage.models import AgendaItem, Assignment, AuditEvent, SlaClock, Story
from workflow.digest import ClockRecord, day_bounds, digest_figures
from workflow.sla import Step, step_holder

SOON = timedelta(hours=1)
"""/terlambat also lists what falls due within this."""


def digest_values(session: Session, desk: Desk, day: date, now: datetime) -> dict[str, Any]:
    """Everything the digest of ``day`` shows, as of ``now``."""
    tz = desk.options.tz
    start, end = day_bounds(day, tz)
    rows = clocks.clocks_touching(session, start, end)
    items = _items_of(session, [clock for clock, _story in rows])
    figures = digest_figures(
        (_record(desk, clock, story, items.get(clock.id or 0)) for clock, story in rows),
        day=day,
        tz=tz,
        now=now,
    )
    submitted = session.exec(
        select(func.count())
        .select_from(Story)
        .where(col(Story.created_at) >= start, col(Story.created_at) < end)
    ).one()
    published = session.exec(
        select(func.count(func.distinct(AuditEvent.story_id))).where(
            AuditEvent.event == "publish_succeeded",
            col(AuditEvent.at) >= start,
            col(AuditEvent.at) < end,
        )
    ).one()
    morning = day + timedelta(days=1)
    extras = digest_extras(session, desk, morning)
    return {
        "day": day,
        "morning": morning,
        "figures": figures,
        "submitted": submitted,
        "published": published,
        "duty": extras.get("duty", []),
        "agenda": extras.get("agenda", []),
        "assignments": extras.get("assignments", {}),
        "people": desk.people.by_id,
    }


def digest_text(desk: Desk, day: date, *, locale: str | None = None) -> str:
    """The digest of ``day`` as it reads now (``warta digest``, ``/ringkasan``)."""
    now = desk.clock()
    with desk.db.transaction() as session:
        values = digest_values(session, desk, day, now)
    return desk.renderer.render("daily_digest", locale=locale, now=now, **values)


def late_values(session: Session, desk: Desk, now: datetime) -> dict[str, Any]:
    """Open clocks overdue or due within the hour, most urgent first, with who holds each
    now (``/terlambat``)."""
    rows = clocks.open_clocks(session, due_before=now + SOON)
    items = _items_of(session, [clock for clock, _story in rows])
    records = [
        _record(desk, clock, story, items.get(clock.id or 0), current=True) for clock, story in rows
    ]
    return {
        "overdue": [r for r in records if r.due_at <= now],
        "soon": [r for r in records if r.due_at > now],
    }


def _record(
    desk: Desk,
    clock: SlaClock,
    story: Story | None,
    assigned: tuple[AgendaItem, int] | None = None,
    *,
    current: bool = False,
) -> ClockRecord:
    item, reporter_id = assigned if assigned else (None, None)
    return ClockRecord(
        story_number=story.number if story else None,
        title=story.title if story else item.title if item else "",
        item_number=item.number if item else None,
        step=Step(clock.step),
        started_at=clock.started_at,
        due_at=clock.due_at,
        finished_at=clock.finished_at,
        outcome=clock.outcome,
        held_by=_held_by_label(desk, clock, story, reporter_id, current=current),
    )


def _held_by_label(
    desk: Desk,
    clock: SlaClock,
    story: Story | None,
    reporter_id: int | None = None,
    *,
    current: bool = False,
) -> str | None:
    """Who held the step at its breach, or (``current``, and for a step still open
    without a breach) who holds it now."""
    ref = None if current else clock.held_by
    if ref is None and clock.outcome == clocks.OPEN and (story or reporter_id):
        ref = step_holder(
            Step(clock.step),
            reporter_id=story.reporter_id if story else reporter_id,
            holder_id=story.holder_id if story else None,
        ).ref
    if ref is None:
        return None
    kind, _colon, value = ref.partition(":")
    if kind == "person":
        person = desk.people.get(int(value))
        return person.name if person else None
    return f"role:{value}"


def _items_of(session: Session, rows: list[SlaClock]) -> dict[int, tuple[AgendaItem, int]]:
    """The agenda item and reporter behind each assignment clock, by clock id."""
    wanted = {clock.assignment_id: clock.id or 0 for clock in rows if clock.assignment_id}
    if not wanted:
        return {}
    found = session.exec(
        select(Assignment, AgendaItem)
        .join(AgendaItem, col(AgendaItem.id) == Assignment.item_id)
        .where(col(Assignment.id).in_(list(wanted)))
    ).all()
    return {wanted[a.id or 0]: (item, a.reporter_id) for a, item in found}


def digest_day(argument: str, *, today: date) -> date | None:
    """The day ``/ringkasan`` asks about: yesterday by default, ``hari ini``/``today``, or a
    date written ``2026-12-02`` or ``2/12`` (this year or the last)."""
    text = argument.strip().lower()
    if text in ("", "kemarin", "yesterday"):
        return today - timedelta(days=1)
    if text in ("hari ini", "today", "sekarang", "now"):
        return today
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    day, slash, month = text.partition("/")
    if slash and day.isdigit() and month.isdigit():
        for year in (today.year, today.year - 1):
            try:
                candidate = date(year, int(month), int(day))
            except ValueError:
                continue
            if candidate <= today:
                return candidate
        return None
    return None
