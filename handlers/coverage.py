"""Coverage and its assignment: linking a submission to the assignment it covers, and the
submission clock that started when the event ended."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from handlers.desk import Desk
from storage import agenda as book
from storage import clocks
from storage.models import AgendaItem, Assignment, Story
from workflow.sla import Step, submission_clock_start

LINK_AHEAD = timedelta(hours=1)
"""A story links by itself only to an assignment whose event starts within this (or began)."""


_NAMED = re.compile(r"^\s*(?:#?A(\d+)|agenda\s+A?(\d+))\s*$", re.IGNORECASE)


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


def move_submission_clocks(
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


def end_assignment(
    session: Session, assignment: Assignment, status: str, now: datetime, actor_id: int | None
) -> None:
    assignment.status = status
    session.add(assignment)
    outcome = clocks.DONE if status == "covered" else clocks.CANCELLED
    clocks.close_assignment_clock(
        session, assignment.id or 0, now=now, outcome=outcome, actor_id=actor_id
    )


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
    end_assignment(session, assignment, "covered", now, reporter_id)
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
