"""Coverage assignments: /tugaskan, /terima and /tolak, and the suggestion of who is free."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from handlers.agenda_items import ITEM, item_from, local_day
from handlers.coverage import end_assignment, start_submission_clock
from handlers.desk import Desk
from handlers.messages import Button
from handlers.turn import Turn
from storage import agenda as book
from storage import repo
from storage.models import AgendaItem, Assignment
from workflow.lifecycle import Role
from workflow.sla import Step


def tell_assigned(turn: Turn, item: AgendaItem, name: str, **values: Any) -> None:
    for assignment in book.assignments_of(turn.session, [item.id or 0]).get(item.id or 0, []):
        if assignment.status in book.OPEN_ASSIGNMENT:
            reporter = turn.desk.people.get(assignment.reporter_id)
            if reporter is not None:
                turn.tell(reporter, name, item=item, **values)


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
    found = item_from(turn, turn.args, "3 <reporter>")
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
    end_assignment(turn.session, current[0], "cancelled", turn.now, turn.person.id)
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


def _my_assignment(turn: Turn, usage: str) -> tuple[Assignment, AgendaItem, str] | None:
    """The reporter's offered assignment: the one named (/terima 3), or the only one."""
    assert turn.person is not None
    waiting = ("offered",) if turn.command in ("accept", "terima") else ("offered", "accepted")
    open_ones = [
        (a, i)
        for a, i in book.open_assignments(turn.session, turn.person.id)
        if a.status in waiting
    ]
    match = ITEM.match(turn.args)
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
        end_assignment(turn.session, assignment, "declined", turn.now, turn.person.id)
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
        turn.written += turn.desk.reach.post_to_group(
            turn.session,
            "assignment_declined_group",
            now=turn.now,
            skip=(turn.msg.channel, turn.msg.chat_id),
            item=item,
            reporter=turn.person,
            reason=reason,
        )
