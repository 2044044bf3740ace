"""The monthly duty roster of the media-center post: /roster (show, buat, setujui), /tukar,
/cuti, /piket, the morning duty announcement, and the CSV / iCalendar exports."""

from __future__ import annotations

import calendar as month_calendar
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from handlers.agenda_items import day_values, local_day
from handlers.desk import Desk
from handlers.turn import Turn
from storage import agenda as book
from storage import clocks, repo
from storage.models import RosterSlot
from workflow.lifecycle import Role
from workflow.roster import (
    Roster,
    RosterChangeRefused,
    RosterRules,
    Slot,
    generate_roster,
    swap,
    to_csv,
    to_ical,
)
from workflow.when import Unclear, parse_dates, parse_month

DUTY_JOB = "duty"


def month_key(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def eligible(desk: Desk) -> list[repo.PersonRecord]:
    """The people of the roster: those named in the config, else every reporter and editor
    (the section head excepted)."""
    keys = desk.options.agenda.roster_people
    people = list(desk.people.by_id.values())
    if keys:
        by_key = {person.key: person for person in people}
        return [by_key[key] for key in keys if key in by_key]
    chosen = [
        p
        for p in people
        if p.roles & {Role.REPORTER, Role.EDITOR} and Role.SECTION_HEAD not in p.roles
    ]
    return sorted(chosen, key=lambda person: person.id)


def _days_off(desk: Desk, year: int, month: int) -> frozenset[date]:
    calendar = desk.options.sla.calendar
    last = month_calendar.monthrange(year, month)[1]
    days = (date(year, month, day) for day in range(1, last + 1))
    return frozenset(day for day in days if calendar.is_day_off(day))


def generate_month(
    session: Session, desk: Desk, year: int, month: int, *, actor_id: int | None, now: datetime
) -> Roster:
    """Build a fair month from the eligible people, their leave and the holidays; store it as
    a draft in place of any earlier draft."""
    people = eligible(desk)
    if not people:
        raise ValueError("nobody is eligible for the roster (roster.people in the config)")
    options = desk.options.agenda
    first = date(year, month, 1)
    last = date(year, month, month_calendar.monthrange(year, month)[1])
    leave = book.leave_between(session, first, last)
    roster = generate_roster(
        year,
        month,
        RosterRules(
            people=tuple(p.key for p in people),
            shifts=options.shifts,
            weekend_shifts=options.weekend_shifts,
            holiday_shifts=options.holiday_shifts,
        ),
        holidays=_days_off(desk, year, month),
        unavailable={p.key: frozenset(leave.get(p.id, set())) for p in people},
    )
    ids = {p.key: p.id for p in people}
    today = local_day(now, desk.options.tz)
    # Days already past keep who was on duty: regenerating mid-month redoes only the rest.
    kept = {
        (row.day, row.shift): row.person_id
        for row in book.roster_of(session, month_key(year, month))
        if row.day < today.isoformat()
    }
    plan = book.RosterWrite(
        month=month_key(year, month),
        slots=[
            (
                slot.day,
                slot.shift,
                kept.get(
                    (slot.day.isoformat(), slot.shift),
                    ids.get(slot.person) if slot.person else None,
                ),
            )
            for slot in roster.slots
        ],
    )
    book.replace_roster(session, plan, actor_id=actor_id, now=now)
    return roster


def stored_roster(session: Session, desk: Desk, year: int, month: int) -> Roster | None:
    """The month as stored (with swaps), as a :class:`Roster` for display and export."""
    rows = book.roster_of(session, month_key(year, month))
    if not rows:
        return None
    keys = {person.id: person.key for person in desk.people.by_id.values()}
    people = tuple(p.key for p in eligible(desk))
    slots = tuple(
        Slot(date.fromisoformat(row.day), row.shift, keys.get(row.person_id or -1)) for row in rows
    )
    extra = tuple(k for k in dict.fromkeys(s.person for s in slots if s.person) if k not in people)
    first = date(year, month, 1)
    last = date(year, month, month_calendar.monthrange(year, month)[1])
    leave = book.leave_between(session, first, last)
    pairs = frozenset((keys[person_id], day) for person_id, days in leave.items() for day in days)
    return Roster(year, month, people + extra, slots, pairs)


def month_values(session: Session, desk: Desk, year: int, month: int) -> dict[str, Any]:
    roster = stored_roster(session, desk, year, month)
    rows = book.roster_of(session, month_key(year, month))
    by_key = {person.key: person for person in desk.people.by_id.values()}
    return {
        "month": date(year, month, 1),
        "roster": roster,
        "approved": bool(rows) and all(row.status == "approved" for row in rows),
        "people": by_key,
        "counts": roster.counts() if roster else {},
        "warnings": roster.warnings if roster else (),
    }


# -- commands ---------------------------------------------------------------------------------


def roster(turn: Turn) -> None:
    """Show a month's roster; ``buat`` generates it, ``setujui`` approves it."""
    verb, _, rest = turn.args.partition(" ")
    verb = verb.lower()
    action = {"buat": "generate", "generate": "generate", "setujui": "approve"}.get(verb)
    action = action or {"approve": "approve"}.get(verb)
    phrase = rest if action else turn.args
    today = local_day(turn.now, turn.options.tz)
    words = phrase.split()
    again = bool(words) and words[-1].lower() in ("ulang", "again")
    if again:
        phrase = " ".join(words[:-1])
    parsed = parse_month(phrase, today=today) if phrase.strip() else (today.year, today.month)
    if isinstance(parsed, Unclear):
        turn.outcome = "bad_month"
        turn.reply("roster_month_unclear", written=phrase.strip())
        return
    year, month = parsed
    assert turn.person is not None
    if action == "generate":
        existing = book.roster_of(turn.session, month_key(year, month))
        if existing and all(row.status == "approved" for row in existing) and not again:
            turn.outcome = "roster_approved_already"
            turn.reply("roster_already_approved", month=date(year, month, 1))
            return
        try:
            generate_month(
                turn.session, turn.desk, year, month, actor_id=turn.person.id, now=turn.now
            )
        except ValueError as problem:
            turn.outcome = "roster_impossible"
            turn.reply("roster_impossible", problem=str(problem))
            return
        turn.outcome = "roster_generated"
        turn.session.flush()
        turn.reply(
            "roster_month", generated=True, **month_values(turn.session, turn.desk, year, month)
        )
        return
    if action == "approve":
        rows = book.roster_of(turn.session, month_key(year, month))
        if not rows:
            turn.outcome = "no_roster"
            turn.reply("roster_none", month=date(year, month, 1))
            return
        for row in rows:
            row.status, row.updated_at = "approved", turn.now
            turn.session.add(row)
        book.record(
            turn.session,
            kind="roster",
            action="approve",
            actor_id=turn.person.id,
            now=turn.now,
            day=month_key(year, month),
        )
        turn.outcome = "roster_approved"
        turn.reply("roster_approved", month=date(year, month, 1))
        return
    values = month_values(turn.session, turn.desk, year, month)
    if values["roster"] is None:
        turn.outcome = "no_roster"
        turn.reply("roster_none", month=date(year, month, 1))
        return
    turn.outcome = "roster"
    turn.reply("roster_month", generated=False, **values)


def swap_duty(turn: Turn) -> None:
    """Put someone else on a day's duty without regenerating: /tukar 5/12 anton (or
    /tukar 5/12 siang anton when the day has several shifts)."""
    words = turn.args.split()
    if len(words) < 2:
        turn.outcome = "usage"
        turn.reply("usage", command=turn.command, usage="<tanggal> [shift] <orang>")
        return
    person = turn.desk.people.find_name(words[-1])
    shift = None
    phrase_words = words[:-1]
    known_shifts = {*turn.options.agenda.shifts, *turn.options.agenda.weekend_shifts}
    known_shifts |= set(turn.options.agenda.holiday_shifts)
    if phrase_words and phrase_words[-1].lower() in {s.lower() for s in known_shifts}:
        shift = next(s for s in known_shifts if s.lower() == phrase_words[-1].lower())
        phrase_words = phrase_words[:-1]
    if person is None:
        turn.outcome = "unknown_person"
        turn.reply("unknown_person", written=words[-1], people=eligible(turn.desk))
        return
    today = local_day(turn.now, turn.options.tz)
    days = parse_dates(" ".join(phrase_words), today=today)
    if isinstance(days, Unclear) or len(days) != 1:
        turn.outcome = "bad_date"
        turn.reply("roster_day_unclear", written=" ".join(phrase_words))
        return
    day = days[0]
    current = stored_roster(turn.session, turn.desk, day.year, day.month)
    if current is None:
        turn.outcome = "no_roster"
        turn.reply("roster_none", month=date(day.year, day.month, 1))
        return
    try:
        changed = swap(current, day, shift, person.key)
    except RosterChangeRefused as refused:
        turn.outcome = f"swap_{refused.code.value}"
        turn.reply(
            "roster_swap_refused",
            code=refused.code.value,
            day=day,
            member=person,
            shifts=[slot.shift for slot in current.on(day)],
        )
        return
    before = {(s.day, s.shift): s.person for s in current.slots}
    assert turn.person is not None
    for slot in changed.on(day):
        if before.get((slot.day, slot.shift)) == slot.person:
            continue
        row = next(
            r
            for r in book.roster_of(turn.session, month_key(day.year, day.month))
            if r.day == day.isoformat() and r.shift == slot.shift
        )
        old = turn.desk.people.get(row.person_id)
        row.person_id, row.updated_by_id, row.updated_at = person.id, turn.person.id, turn.now
        turn.session.add(row)
        book.record(
            turn.session,
            kind="roster",
            action="swap",
            actor_id=turn.person.id,
            now=turn.now,
            day=day.isoformat(),
            detail={"shift": slot.shift, "from": old.key if old else None, "to": person.key},
        )
        turn.outcome = "swapped"
        turn.reply("roster_swapped", day=day, shift=slot.shift, old=old, new=person)
        if old is not None and old.id != person.id:
            turn.tell(old, "roster_swapped_private", day=day, shift=slot.shift, new=person)
        turn.tell(person, "roster_assigned_private", day=day, shift=slot.shift)
        return
    turn.outcome = "unchanged"
    turn.reply("roster_unchanged", day=day, on_duty=person)


def leave(turn: Turn) -> None:
    """Record leave: /cuti rina 3-5 Desember [| alasan]."""
    text, _, reason = turn.args.partition("|")
    name, _, phrase = text.strip().partition(" ")
    person = turn.desk.people.find_name(name) if name else None
    if person is None or not phrase.strip():
        turn.outcome = "usage" if person or not name else "unknown_person"
        if name and person is None:
            turn.reply("unknown_person", written=name, people=eligible(turn.desk))
        else:
            turn.reply("usage", command=turn.command, usage="<orang> <tanggal> [| alasan]")
        return
    today = local_day(turn.now, turn.options.tz)
    days = parse_dates(phrase.strip(), today=today)
    if isinstance(days, Unclear):
        turn.outcome = "bad_date"
        turn.reply("leave_days_unclear", written=phrase.strip(), unclear=days)
        return
    assert turn.person is not None
    added = book.add_leave(
        turn.session,
        person_id=person.id,
        days=days,
        reason=reason.strip() or None,
        actor_id=turn.person.id,
        now=turn.now,
    )
    on_duty = [
        row
        for day in days
        for row in book.duty_on(turn.session, day, drafts=True)
        if row.person_id == person.id
    ]
    turn.outcome = "leave_added"
    turn.reply("leave_added", member=person, days=days, added=added, on_duty=on_duty)


def duty(turn: Turn) -> None:
    """Who is on duty today (or on the day asked)."""
    today = local_day(turn.now, turn.options.tz)
    day = today
    if turn.args.strip():
        days = parse_dates(turn.args.strip(), today=today)
        if isinstance(days, Unclear) or len(days) != 1:
            turn.outcome = "bad_date"
            turn.reply("roster_day_unclear", written=turn.args.strip())
            return
        day = days[0]
    turn.outcome = "duty"
    turn.reply("duty_day", **duty_values(turn.session, turn.desk, day))


def duty_values(session: Session, desk: Desk, day: date) -> dict[str, Any]:
    slots: list[RosterSlot] = list(book.duty_on(session, day))
    return {
        "day": day,
        "slots": slots,
        "people": desk.people.by_id,
        "times": desk.options.agenda.shift_times,
    }


# -- the watch's part -------------------------------------------------------------------------


def duty_sweep(session: Session, desk: Desk, now: datetime) -> list[int]:
    """Tell the group each morning who is on duty (once a day)."""
    at = desk.options.agenda.duty_announce_at
    if at is None:
        return []
    tz = desk.options.tz
    today = local_day(now, tz)
    moment = datetime.combine(today, at, tz)
    if not clocks.claim_due_run(
        session,
        job=DUTY_JOB,
        day=today.isoformat(),
        moment=moment,
        now=now,
        grace=desk.options.late_after,
    ):
        return []
    values = duty_values(session, desk, today)
    if not values["slots"]:
        return []
    return desk.reach.post_to_group(session, "duty_morning", now=now, **values)


def digest_extras(session: Session, desk: Desk, day: date) -> dict[str, Any]:
    """Today's duty officers and agenda for the morning digest."""
    names = [
        desk.people.by_id[row.person_id].name
        for row in book.duty_on(session, day)
        if row.person_id in desk.people.by_id
    ]
    agenda = day_values(session, desk, day)
    return {"duty": names, "agenda": agenda["items"], "assignments": agenda["assignments"]}


def export_month(
    session: Session, desk: Desk, year: int, month: int, *, fmt: str, tz_name: str
) -> str:
    roster_now = stored_roster(session, desk, year, month)
    if roster_now is None:
        raise LookupError(f"no roster for {month_key(year, month)}")
    if fmt == "csv":
        return to_csv(roster_now)
    names = {person.key: person.name for person in desk.people.by_id.values()}
    return to_ical(roster_now, names, tz_name, desk.options.agenda.shift_times)
