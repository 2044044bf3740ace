"""The leaders' agenda and coverage assignments: /agenda, /tugaskan, /terima, /tolak, the H-1
announcement, answer deadlines, the reminder before an event, and linking a submission to
the assignment it covers (whose submission clock started when the event ended)."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from handlers.desk import Desk, Turn
from handlers.messages import Button
from storage import agenda as book
from storage import clocks, repo
from storage.models import AgendaItem, Assignment, Story
from workflow.agenda_files import (
    AgendaFileError,
    AgendaRow,
    BookEntry,
    FileProblem,
    ProblemCode,
    parse_agenda_file,
)
from workflow.digest import day_bounds
from workflow.lifecycle import Role
from workflow.sla import Step, submission_clock_start
from workflow.when import ZONE_NAMES, Unclear, When, parse_when

AGENDA_JOB = "agenda_h1"
LINK_AHEAD = timedelta(hours=1)
"""A story links by itself only to an assignment whose event starts within this (or began)."""
MAX_IMPORT_ROWS = 500
LISTED = 10
PLANNERS = frozenset({Role.SECTION_HEAD, Role.EDITOR})
_ITEM = re.compile(r"^\s*A?(\d+)\b\s*(.*)$", re.IGNORECASE | re.DOTALL)
_NAMED = re.compile(r"^\s*(?:#?A(\d+)|agenda\s+A?(\d+))\s*$", re.IGNORECASE)
FIELDS = {
    "waktu": "when",
    "when": "when",
    "judul": "title",
    "kegiatan": "title",
    "title": "title",
    "pimpinan": "leaders",
    "leaders": "leaders",
    "tempat": "place",
    "place": "place",
    "catatan": "notes",
    "keterangan": "notes",
    "notes": "notes",
}


def local_day(now: datetime, tz: ZoneInfo) -> date:
    return now.astimezone(tz).date()


def when_to_instants(when: When, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC start and end of a parsed phrase (in the zone written, WIB/WITA/WIT, or the
    desk's)."""
    zone = ZoneInfo(ZONE_NAMES[when.zone_label]) if when.zone_label in ZONE_NAMES else tz
    start = when.starts_at().replace(tzinfo=zone).astimezone(UTC)
    end = when.ends_at().replace(tzinfo=zone).astimezone(UTC)
    return start, end


# -- /agenda ------------------------------------------------------------------------------------


def agenda(turn: Turn) -> None:
    """Show a day's agenda (tomorrow by default), or add, change or cancel an item."""
    verb, _, rest = turn.args.partition(" ")
    verb = verb.lower()
    if verb in ("tambah", "add"):
        _add(turn, rest)
    elif verb in ("ubah", "edit"):
        _edit(turn, rest)
    elif verb in ("batal", "cancel", "batalkan"):
        _cancel(turn, rest)
    else:
        _show(turn, turn.args)


def _may_plan(turn: Turn) -> bool:
    assert turn.person is not None
    if turn.person.roles & PLANNERS:
        return True
    turn.outcome = "not_allowed"
    turn.reply("agenda_planners_only")
    return False


def _show(turn: Turn, phrase: str) -> None:
    tz = turn.options.tz
    today = local_day(turn.now, tz)
    day = today + timedelta(days=1)
    if phrase.strip():
        parsed = parse_when(phrase.strip() + " 00.00", today=today)
        if isinstance(parsed, Unclear) and parsed.code == "past_date" and parsed.dates:
            day = parsed.dates[0]  # looking back at a past day's agenda is fine
        elif isinstance(parsed, Unclear):
            turn.outcome = "bad_date"
            turn.reply("agenda_day_unclear", written=phrase.strip())
            return
        else:
            day = parsed.day
    turn.outcome = "agenda"
    turn.reply("agenda_day", **day_values(turn.session, turn.desk, day))


def day_values(session: Session, desk: Desk, day: date) -> dict[str, Any]:
    start, end = day_bounds(day, desk.options.tz)
    items = list(book.items_between(session, start, end))
    assignments = book.assignments_of(session, (item.id or 0 for item in items))
    return {
        "day": day,
        "items": items,
        "assignments": {item.id: assignments.get(item.id or 0, []) for item in items},
        "people": desk.people.by_id,
    }


def _add(turn: Turn, rest: str) -> None:
    if not _may_plan(turn):
        return
    parts = [part.strip() for part in rest.split("|")]
    if len(parts) < 2 or not parts[0] or not parts[1]:
        turn.outcome = "usage"
        turn.reply("agenda_add_usage")
        return
    tz = turn.options.tz
    parsed = parse_when(
        parts[0],
        today=local_day(turn.now, tz),
        default_duration=turn.options.agenda.default_duration,
    )
    if isinstance(parsed, Unclear):
        turn.outcome = "when_unclear"
        turn.reply("when_unclear", unclear=parsed, written=parts[0])
        return
    starts_at, ends_at = when_to_instants(parsed, tz)
    if starts_at < turn.now - timedelta(hours=12):
        turn.outcome = "when_past"
        turn.reply("agenda_in_the_past", starts_at=starts_at)
        return
    assert turn.person is not None
    item = book.add_item(
        turn.session,
        title=parts[1][:500],
        leaders=(parts[2] if len(parts) > 2 else "")[:500],
        place=(parts[3] if len(parts) > 3 else "")[:500],
        notes=" | ".join(parts[4:]),  # a "|" inside the notes is kept
        starts_at=starts_at,
        ends_at=ends_at,
        all_day=parsed.all_day,
        open_end=parsed.open_end,
        now=turn.now,
        actor_id=turn.person.id,
        source="command",
    )
    turn.outcome = "agenda_added"
    turn.reply(
        "agenda_added", item=item, suggestion=suggest_reporter(turn.session, turn.desk, item)
    )
    announce_if_late(turn.session, turn.desk, item, turn.now)


def _item_from(turn: Turn, rest: str, usage: str) -> tuple[AgendaItem, str] | None:
    match = _ITEM.match(rest)
    if not match:
        turn.outcome = "usage"
        turn.reply("usage", command=turn.command, usage=usage)
        return None
    item = book.item_by_number(turn.session, int(match.group(1)))
    if item is None:
        turn.outcome = "item_not_found"
        turn.reply("agenda_item_not_found", number=int(match.group(1)))
        return None
    return item, match.group(2).strip()


def _edit(turn: Turn, rest: str) -> None:
    if not _may_plan(turn):
        return
    found = _item_from(turn, rest, "ubah 3 waktu|judul|pimpinan|tempat|catatan <isi baru>")
    if found is None:
        return
    item, change = found
    name, _, value = change.partition(" ")
    field_name = FIELDS.get(name.lower())
    if field_name is None or not value.strip():
        turn.outcome = "usage"
        turn.reply("agenda_edit_usage", item=item)
        return
    old = getattr(item, field_name if field_name != "when" else "starts_at")
    if field_name == "when":
        tz = turn.options.tz
        parsed = parse_when(
            value,
            today=local_day(turn.now, tz),
            default_duration=turn.options.agenda.default_duration,
        )
        if isinstance(parsed, Unclear):
            turn.outcome = "when_unclear"
            turn.reply("when_unclear", unclear=parsed, written=value.strip())
            return
        item.starts_at, item.ends_at = when_to_instants(parsed, tz)
        item.all_day, item.open_end = parsed.all_day, parsed.open_end
        _move_submission_clocks(turn.session, turn.desk, item, turn.now)
    else:
        setattr(item, field_name, value.strip()[:500])
    item.updated_at = turn.now
    turn.session.add(item)
    assert turn.person is not None
    book.record(
        turn.session,
        kind="agenda",
        action="edit",
        actor_id=turn.person.id,
        now=turn.now,
        item_id=item.id,
        detail={"field": field_name, "old": str(old), "new": value.strip()},
    )
    turn.outcome = "agenda_edited"
    turn.share("agenda_edited", item=item, field=field_name)
    _tell_assigned(turn, item, "assignment_item_changed", field=field_name)


def _cancel(turn: Turn, rest: str) -> None:
    if not _may_plan(turn):
        return
    found = _item_from(turn, rest, "batal 3 <alasan>")
    if found is None:
        return
    item, reason = found
    if not reason:
        turn.outcome = "usage"
        turn.reply("usage", command=turn.command, usage=f"batal {item.number} <alasan>")
        return
    if item.status == "cancelled":
        turn.outcome = "already_cancelled"
        turn.reply("agenda_already_cancelled", item=item)
        return
    assert turn.person is not None
    cancel_item(turn.session, turn.desk, item, reason=reason, actor_id=turn.person.id, now=turn.now)
    turn.outcome = "agenda_cancelled"
    turn.share("agenda_cancelled", item=item, reason=reason)


def cancel_item(
    session: Session,
    desk: Desk,
    item: AgendaItem,
    *,
    reason: str,
    actor_id: int | None,
    now: datetime,
    source: str | None = None,
) -> None:
    """Cancel an item: its open assignments end (their clocks too) and the reporters are told."""
    item.status, item.cancel_reason, item.updated_at = "cancelled", reason, now
    session.add(item)
    book.record(
        session,
        kind="agenda",
        action="cancel",
        actor_id=actor_id,
        now=now,
        item_id=item.id,
        detail={"reason": reason, **({"source": source} if source else {})},
    )
    for assignment in book.assignments_of(session, [item.id or 0]).get(item.id or 0, []):
        if assignment.status in book.OPEN_ASSIGNMENT:
            _end_assignment(session, assignment, "cancelled", now, actor_id)
            reporter = desk.people.get(assignment.reporter_id)
            if reporter is not None:
                desk.tell_privately(
                    session,
                    reporter,
                    "assignment_item_cancelled",
                    now=now,
                    item=item,
                    reason=reason,
                )


def _tell_assigned(turn: Turn, item: AgendaItem, name: str, **values: Any) -> None:
    for assignment in book.assignments_of(turn.session, [item.id or 0]).get(item.id or 0, []):
        if assignment.status in book.OPEN_ASSIGNMENT:
            reporter = turn.desk.people.get(assignment.reporter_id)
            if reporter is not None:
                turn.tell(reporter, name, item=item, **values)


# -- assignments --------------------------------------------------------------------------------


def suggest_reporter(session: Session, desk: Desk, item: AgendaItem) -> repo.PersonRecord | None:
    """Whoever is on duty that day and free at that time; else any free reporter."""
    busy = book.busy_reporters(session, item.starts_at, item.ends_at)
    day = local_day(item.starts_at, desk.options.tz)
    on_duty = [slot.person_id for slot in book.duty_on(session, day) if slot.person_id]
    on_leave = book.leave_between(session, day, day)
    reporters = [p.id for p in desk.people.with_role(Role.REPORTER)]
    for person_id in [*on_duty, *reporters]:
        person = desk.people.get(person_id)
        if person is None or person_id in busy or day in on_leave.get(person_id, set()):
            continue
        if Role.REPORTER in person.roles:
            return person
    return None


def assign(turn: Turn) -> None:
    """Assign a reporter to an agenda item: /tugaskan 3 rina (without a name: a suggestion)."""
    if not _may_plan(turn):
        return
    found = _item_from(turn, turn.args, "3 <reporter>")
    if found is None:
        return
    item, who = found
    if item.status == "cancelled":
        turn.outcome = "already_cancelled"
        turn.reply("agenda_already_cancelled", item=item)
        return
    if not who:
        turn.outcome = "suggestion"
        turn.reply(
            "assignment_suggestion",
            item=item,
            suggestion=suggest_reporter(turn.session, turn.desk, item),
        )
        return
    if who.lower().startswith(("batal ", "cancel ")):
        _unassign(turn, item, who.split(maxsplit=1)[1])
        return
    reporter = turn.desk.people.find_name(who)
    if reporter is None or Role.REPORTER not in reporter.roles:
        turn.outcome = "unknown_person"
        turn.reply("unknown_person", written=who, people=turn.desk.people.with_role(Role.REPORTER))
        return
    existing = book.assignments_of(turn.session, [item.id or 0]).get(item.id or 0, [])
    if any(a.reporter_id == reporter.id and a.status in book.OPEN_ASSIGNMENT for a in existing):
        turn.outcome = "already_assigned"
        turn.reply("assignment_exists", item=item, reporter=reporter)
        return
    assert turn.person is not None
    due = min(turn.now + turn.options.agenda.answer_within, item.starts_at)
    assignment = Assignment(
        item_id=item.id or 0,
        reporter_id=reporter.id,
        assigned_by_id=turn.person.id,
        assigned_at=turn.now,
        answer_due_at=due if due > turn.now else None,
    )
    turn.session.add(assignment)
    turn.session.flush()
    book.record(
        turn.session,
        kind="assignment",
        action="assign",
        actor_id=turn.person.id,
        now=turn.now,
        item_id=item.id,
        assignment_id=assignment.id,
        detail={"reporter_id": reporter.id},
    )
    start_submission_clock(turn.session, turn.desk, assignment, item, turn.now)
    locale = turn.desk.renderer.locale_for(reporter.locale)
    buttons = [
        Button(
            label=turn.desk.renderer.render("button_label", locale=locale, key=key),
            command=f"/{alias} {item.number}",
            story_number=0,
            card_version=0,
        )
        for key, alias in (("accept", "terima"), ("decline", "tolak"))
    ]
    told = turn.tell(
        reporter,
        "assignment_offered",
        item=item,
        assignment=assignment,
        buttons=buttons,
        window=turn.options.sla.windows[Step.SUBMISSION],
    )
    turn.outcome = "assigned"
    turn.share("assignment_made", item=item, reporter=reporter, assignment=assignment, told=told)


def _unassign(turn: Turn, item: AgendaItem, who: str) -> None:
    """Withdraw an assignment: /tugaskan 3 batal rina."""
    reporter = turn.desk.people.find_name(who)
    rows = book.assignments_of(turn.session, [item.id or 0]).get(item.id or 0, [])
    current = [
        a
        for a in rows
        if reporter and a.reporter_id == reporter.id and a.status in book.OPEN_ASSIGNMENT
    ]
    if reporter is None or not current:
        turn.outcome = "not_assigned"
        turn.reply("assignment_not_found", item=item, written=who)
        return
    assert turn.person is not None
    _end_assignment(turn.session, current[0], "cancelled", turn.now, turn.person.id)
    book.record(
        turn.session,
        kind="assignment",
        action="withdraw",
        actor_id=turn.person.id,
        now=turn.now,
        item_id=item.id,
        assignment_id=current[0].id,
    )
    turn.outcome = "unassigned"
    turn.reply("assignment_withdrawn", item=item, reporter=reporter)
    turn.tell(reporter, "assignment_withdrawn_private", item=item)


def start_submission_clock(
    session: Session, desk: Desk, assignment: Assignment, item: AgendaItem, now: datetime
) -> None:
    """The coverage is due the submission window after the event ends."""
    policy = desk.options.sla
    # An assignment made after its event ended starts the clock when it is made.
    started = max(submission_clock_start(item.ends_at, assignment.assigned_at), now)
    due = policy.due(Step.SUBMISSION, started)
    clocks.open_clock(
        session,
        story_id=None,
        assignment_id=assignment.id,
        step=Step.SUBMISSION,
        mode=policy.clock(Step.SUBMISSION),
        started_at=started,
        due_at=due,
        alarms=policy.alarms(Step.SUBMISSION, started, due),
    )


def _move_submission_clocks(
    session: Session, desk: Desk, item: AgendaItem, now: datetime
) -> list[Assignment]:
    """The event moved: restart the submission clocks of its open assignments, remind again
    before the new time, and keep the answer deadline before the event. Returns them."""
    moved = []
    for assignment in book.assignments_of(session, [item.id or 0]).get(item.id or 0, []):
        if assignment.status not in book.OPEN_ASSIGNMENT:
            continue
        clocks.close_assignment_clock(
            session, assignment.id or 0, now=now, outcome=clocks.CANCELLED
        )
        start_submission_clock(session, desk, assignment, item, now)
        assignment.reminded_at = None
        if assignment.status == "offered" and assignment.answer_due_at is not None:
            due = min(assignment.answer_due_at, item.starts_at)
            assignment.answer_due_at = due if due > now else None
        session.add(assignment)
        moved.append(assignment)
    return moved


def _end_assignment(
    session: Session, assignment: Assignment, status: str, now: datetime, actor_id: int | None
) -> None:
    assignment.status = status
    session.add(assignment)
    outcome = clocks.DONE if status == "covered" else clocks.CANCELLED
    clocks.close_assignment_clock(
        session, assignment.id or 0, now=now, outcome=outcome, actor_id=actor_id
    )


def _my_assignment(turn: Turn, usage: str) -> tuple[Assignment, AgendaItem, str] | None:
    """The reporter's offered assignment: the one named (/terima 3), or the only one."""
    assert turn.person is not None
    waiting = ("offered",) if turn.command in ("accept", "terima") else ("offered", "accepted")
    open_ones = [
        (a, i)
        for a, i in book.open_assignments(turn.session, turn.person.id)
        if a.status in waiting
    ]
    match = _ITEM.match(turn.args)
    rest = turn.args.strip()
    numbers = {item.number for _a, item in open_ones}
    written_as_item = match and (turn.args.strip()[:1] in "Aa" or int(match.group(1)) in numbers)
    if match and (written_as_item or len(open_ones) != 1):
        number, rest = int(match.group(1)), match.group(2).strip()
        chosen = [(a, i) for a, i in open_ones if i.number == number]
        if not chosen:
            turn.outcome = "no_such_assignment"
            turn.reply("assignment_not_yours", number=number, open=open_ones)
            return None
        return chosen[0][0], chosen[0][1], rest
    if len(open_ones) == 1:
        # "/tolak 2 hari lagi ada ujian": a number that is not an item begins the reason.
        return open_ones[0][0], open_ones[0][1], rest
    turn.outcome = "which_assignment"
    turn.reply("assignment_which", open=open_ones, usage=usage)
    return None


def accept(turn: Turn) -> None:
    """Confirm an assignment: /terima (or /terima 3 when there are several)."""
    found = _my_assignment(turn, "3")
    if found is None:
        return
    assignment, item, _rest = found
    _answer(turn, assignment, item, "accepted", None)


def decline(turn: Turn) -> None:
    """Decline an assignment with a reason: /tolak 3 sedang sakit."""
    found = _my_assignment(turn, "3 <alasan>")
    if found is None:
        return
    assignment, item, reason = found
    if not reason and turn.msg.callback_id is None:
        turn.outcome = "usage"
        turn.reply("usage", command=turn.command, usage=f"{item.number} <alasan>")
        return
    _answer(turn, assignment, item, "declined", reason or None)


def _answer(
    turn: Turn, assignment: Assignment, item: AgendaItem, status: str, reason: str | None
) -> None:
    assert turn.person is not None
    assignment.answered_at, assignment.reason = turn.now, reason
    if status == "declined":
        _end_assignment(turn.session, assignment, "declined", turn.now, turn.person.id)
    else:
        assignment.status = "accepted"
        turn.session.add(assignment)
    book.record(
        turn.session,
        kind="assignment",
        action=status,
        actor_id=turn.person.id,
        now=turn.now,
        item_id=item.id,
        assignment_id=assignment.id,
        detail={"reason": reason} if reason else {},
    )
    turn.outcome = status
    if status == "accepted":
        turn.answer("assignment_accepted_short", item=item)
        turn.share("assignment_accepted", item=item, reporter=turn.person)
    else:
        turn.answer("assignment_declined_short", item=item)
        turn.reply("assignment_declined", item=item, reporter=turn.person, reason=reason)
        turn.written += turn.desk.post_to_group(
            turn.session,
            "assignment_declined_group",
            now=turn.now,
            skip=(turn.msg.channel, turn.msg.chat_id),
            item=item,
            reporter=turn.person,
            reason=reason,
        )


# -- linking a submission -----------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """What became of a submission and the reporter's assignments."""

    item: AgendaItem | None = None
    late_by: timedelta | None = None
    choices: tuple[AgendaItem, ...] = ()
    unknown: int | None = None
    """An item named on the first line that is not one of the reporter's open assignments."""


def strip_named_item(text: str) -> tuple[int | None, str]:
    """A first line ``#A3`` or ``agenda 3`` names the assignment; it is not part of the story."""
    first, newline, rest = text.strip().partition("\n")
    match = _NAMED.match(first)
    if not match or not newline:
        return None, text
    return int(match.group(1) or match.group(2)), rest


def link_submission(
    session: Session,
    desk: Desk,
    story: Story,
    *,
    reporter_id: int,
    named: int | None,
    now: datetime,
) -> Link:
    """Link a new story to the reporter's assignment (the one named, or the only open one):
    the assignment is covered and its submission clock ends now."""
    open_ones = book.open_assignments(session, reporter_id)
    if named is not None:
        chosen = [(a, i) for a, i in open_ones if i.number == named]
        if not chosen:
            return Link(choices=tuple(item for _a, item in open_ones), unknown=named)
    else:
        # Without a name, only an event under way or over can be what the story covers.
        current = [(a, i) for a, i in open_ones if i.starts_at <= now + LINK_AHEAD]
        if len(current) != 1:
            return Link(choices=tuple(item for _a, item in current))
        chosen = current
    assignment, item = chosen[0]
    clock = clocks.open_clock_of_assignment(session, assignment.id or 0)
    late_by = None
    if clock is not None and now > clock.due_at:
        late_by = now - clock.due_at
    assignment.story_id = story.id
    _end_assignment(session, assignment, "covered", now, reporter_id)
    book.record(
        session,
        kind="assignment",
        action="covered",
        actor_id=reporter_id,
        now=now,
        item_id=item.id,
        assignment_id=assignment.id,
        detail={"story_id": story.id},
    )
    return Link(item=item, late_by=late_by)


# -- what the watch does for the agenda ----------------------------------------------------------


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
            written += desk.post_to_group(
                session, now=now, name="assignment_no_answer", item=item, reporter=reporter
            )
    for assignment, item in book.to_remind(session, now, options.remind_before):
        if clocks.set_once(session, assignment, "reminded_at", now):
            reporter = desk.people.get(assignment.reporter_id)
            if reporter is not None:
                sent = desk.tell_privately(
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
    return desk.post_to_group(
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
    desk.post_to_group(session, now=now, name="agenda_late_added", items=late)


# -- importing CSV and iCalendar files -----------------------------------------------------------


@dataclass
class ImportResult:
    added: list[AgendaItem]
    updated: list[AgendaItem]
    unchanged: int
    cancelled: list[AgendaItem]


def import_rows(
    session: Session,
    desk: Desk,
    rows: list[AgendaRow],
    *,
    source: str,
    actor_id: int | None,
    now: datetime,
) -> ImportResult:
    """Add new items, update changed ones and cancel withdrawn ones; an item seen before (same
    source key: the iCalendar UID, or date, time and title of a CSV row) is never doubled."""
    result = ImportResult([], [], 0, [])
    for row in rows:
        ends_at = row.ends_at or row.starts_at + desk.options.agenda.default_duration
        values = {
            "title": row.title[:500],
            "leaders": row.leaders[:500],
            "place": row.place[:500],
            "notes": row.notes,
            "starts_at": row.starts_at.astimezone(UTC),
            "ends_at": ends_at.astimezone(UTC),
            "all_day": row.all_day,
            "open_end": row.open_end,
        }
        existing = book.item_by_key(session, row.source_key) if row.source_key else None
        if existing is None:
            if row.cancelled:
                result.unchanged += 1
                continue
            item = book.add_item(
                session,
                now=now,
                actor_id=actor_id,
                source=source,
                source_key=row.source_key or None,
                **values,
            )
            result.added.append(item)
            continue
        if row.cancelled:
            if existing.status == "planned":
                cancel_item(
                    session,
                    desk,
                    existing,
                    reason="dibatalkan di berkas impor",
                    actor_id=actor_id,
                    now=now,
                    source=source,
                )
                result.cancelled.append(existing)
            else:
                result.unchanged += 1
            continue
        changed = {
            name: value for name, value in values.items() if getattr(existing, name) != value
        }
        if not changed:
            result.unchanged += 1
            continue
        for name, value in changed.items():
            setattr(existing, name, value)
        existing.updated_at = now
        session.add(existing)
        if "starts_at" in changed or "ends_at" in changed:
            for assignment in _move_submission_clocks(session, desk, existing, now):
                reporter = desk.people.get(assignment.reporter_id)
                if reporter is not None:
                    desk.tell_privately(
                        session,
                        reporter,
                        "assignment_item_changed",
                        now=now,
                        item=existing,
                        field="when",
                    )
        book.record(
            session,
            kind="agenda",
            action="edit",
            actor_id=actor_id,
            now=now,
            item_id=existing.id,
            detail={"source": source, "fields": sorted(changed)},
        )
        result.updated.append(existing)
    announce_if_late(session, desk, result.added, now)
    return result


def is_agenda_import(turn: Turn) -> bool:
    """A message that only carries agenda files (no command, no text) from the Kasi or an
    editor imports them; beside a reporter's coverage such a file is just not attached."""
    files = [entry for entry in turn.media if entry.get("kind") == "agenda_file"]
    if not files or turn.command or turn.msg.text.strip():
        return False
    person = turn.person
    return (person is not None and bool(person.roles & PLANNERS)) or len(files) == len(turn.media)


def import_agenda_file(turn: Turn) -> None:
    """An editor sent CSV or iCalendar files: each is imported whole, or not at all with the
    lines to fix."""
    if not _may_plan(turn):
        return
    assert turn.person is not None
    tz = turn.options.tz
    for entry in turn.media:
        if entry.get("kind") != "agenda_file":
            continue
        filename = entry.get("filename") or "agenda"
        if entry.get("rejected"):
            turn.outcome = "import_failed"
            turn.reply("agenda_file_too_large", filename=filename, limit=entry.get("limit"))
            continue
        data = base64.b64decode(entry["data_b64"])
        try:
            rows = parse_agenda_file(data, filename=filename, tz=tz, today=local_day(turn.now, tz))
            if len(rows) > MAX_IMPORT_ROWS:
                raise AgendaFileError(
                    [FileProblem(0, ProblemCode.TOO_LONG, f"lebih dari {MAX_IMPORT_ROWS} kegiatan")]
                )
        except AgendaFileError as error:
            turn.outcome = "import_failed"
            turn.reply("agenda_import_failed", filename=filename, problems=error.problems)
            continue
        source = "ics" if rows and rows[0].source_key.startswith("ics") else "csv"
        result = import_rows(
            turn.session, turn.desk, rows, source=source, actor_id=turn.person.id, now=turn.now
        )
        turn.outcome = "imported"
        turn.reply(
            "agenda_imported",
            filename=filename,
            added=result.added,
            updated=result.updated,
            unchanged=result.unchanged,
            cancelled=result.cancelled,
        )


# -- the agenda book ----------------------------------------------------------------------------

_ACTIONS = {
    "add": "ditambahkan",
    "edit": "diubah",
    "cancel": "dibatalkan",
    "assign": "penugasan dibuat",
    "accepted": "penugasan diterima",
    "declined": "penugasan ditolak",
    "covered": "liputan masuk",
}
_ANSWERS = {
    "offered": "menunggu jawaban",
    "accepted": "diterima",
    "declined": "ditolak",
    "covered": "liputan masuk",
    "cancelled": "dibatalkan",
}


def agenda_book(session: Session, desk: Desk, year: int, month: int) -> list[BookEntry]:
    """Every agenda item of a month, cancelled ones too, with its assignments, the story it
    produced and who changed what when: the SOP's "buku jadwal kegiatan"."""
    tz = desk.options.tz
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    start, _ = day_bounds(first, tz)
    end, _ = day_bounds(following, tz)
    items = list(book.items_between(session, start, end, cancelled=True))
    ids = [item.id or 0 for item in items]
    assignments = book.assignments_of(session, ids)
    history = book.history_of(session, ids)
    people = desk.people

    def name(person_id: int | None) -> str:
        person = people.get(person_id)
        return person.name if person else "Warta"

    def stamp(moment: datetime) -> str:
        local = moment.astimezone(tz)
        return f"{local:%d/%m %H.%M}"

    entries = []
    for item in items:
        rows = assignments.get(item.id or 0, [])
        stories = [session.get(Story, row.story_id) for row in rows if row.story_id is not None]
        entries.append(
            BookEntry(
                number=item.number,
                title=item.title,
                starts_at=item.starts_at,
                ends_at=None if item.open_end else item.ends_at,
                leaders=item.leaders,
                place=item.place,
                notes=item.notes
                + (f" (batal: {item.cancel_reason})" if item.cancel_reason else ""),
                status=item.status,
                assignments=[
                    f"{name(row.reporter_id)} ({_ANSWERS.get(row.status, row.status)}"
                    + (f": {row.reason}" if row.reason else "")
                    + ")"
                    for row in rows
                ],
                story=", ".join(f"#{story.number} {story.state}" for story in stories if story),
                history=[
                    f"{stamp(event.at)} {_ACTIONS.get(event.action, event.action)} oleh "
                    f"{name(event.actor_id)}"
                    for event in history.get(item.id or 0, [])
                ],
                all_day=item.all_day,
            )
        )
    return entries
