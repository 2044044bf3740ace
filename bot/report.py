"""The monthly report ("laporan bulanan"): a month's figures read from the database, drawn as a
printable A4 page with charts, printed to PDF from that page, and written as CSV for Excel."""

from __future__ import annotations

import base64
import calendar as month_calendar
import csv
import gc
import io
import logging
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from handlers.render import humanize_duration, zone_label
from storage.clocks import DONE, OPEN
from storage.db import Database
from storage.models import (
    AgendaItem,
    Assignment,
    AuditEvent,
    DeskEvent,
    Leave,
    OutboxItem,
    Person,
    RosterSlot,
    SlaClock,
    Story,
)
from workflow.calendar import ClockMode
from workflow.lifecycle import StoryEvent, StoryState
from workflow.sla import SlaPolicy, Step, step_holder

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
LOCALES = ("id", "en")
CSV_DELIMITER = ";"
"""Excel opens a CSV by splitting it at the list separator of the Windows region: ``;`` in
Indonesia, where ``,`` is the decimal mark. LibreOffice and pandas take either."""
OFFICE = "Dinas Komunikasi, Informatika, Statistik dan Persandian"
UNIT = "Media Center"
CHART_DPI = 150
CHART_FONT = "DejaVu Sans"
"""Shipped with matplotlib itself, so a chart looks (and hashes) the same on every machine."""
WINDOWED_STEPS = (Step.SUBMISSION, Step.EDITING, Step.PUBLISHING)
"""The steps with a fixed window, drawn against it; documentation is due at H+1."""
_CHUNK = 500
"""Ids per ``IN (…)`` list: well inside every database's limit on bound parameters."""


# -- what the report says ---------------------------------------------------------------------


@dataclass(frozen=True)
class StepRun:
    """One run of a step's clock (an ``sla_clock`` row) as it stood at the report's cut-off."""

    step: Step
    story_id: int | None
    story_number: int | None
    title: str
    item_number: int | None
    """The agenda item, for the submission clock of an assignment."""
    started_at: datetime
    due_at: datetime
    finished_at: datetime | None
    """None while the run was still open at the cut-off."""
    outcome: str
    duration: timedelta | None
    """Clock time from start to finish, in the run's own clock (working hours or not)."""
    person: str | None
    """Who did the step: the reporter who sent, the editor who verified (or sent back or
    spiked), the operator who ordered publishing, the editor who archived."""
    holder: str | None
    """Who held the step when it breached (a name), when it breached."""
    holder_role: str | None
    """The role that held it when nobody in particular did (``editor``, ``operator``)."""
    reason: str | None

    def late_by(self, as_of: datetime) -> timedelta:
        end = self.finished_at if self.finished_at is not None else as_of
        return max(end - self.due_at, timedelta(0))

    @property
    def on_time(self) -> bool | None:
        return None if self.finished_at is None else self.finished_at <= self.due_at


@dataclass(frozen=True)
class Breach:
    run: StepRun
    late_by: timedelta
    still_open: bool


def _percent(on_time: int, finished: int) -> int | None:
    """Whole percent, rounded down as in the daily digest (99.6 % never reads as 100 %)."""
    return None if finished == 0 else on_time * 100 // finished


@dataclass(frozen=True)
class StepFigures:
    """Runs of one step completed in the month: how many, how many on time, how long."""

    step: Step
    window: timedelta | None
    finished: int
    on_time: int
    median: timedelta | None
    p90: timedelta | None

    @property
    def percent_on_time(self) -> int | None:
        return _percent(self.on_time, self.finished)


@dataclass(frozen=True)
class PersonFigures:
    step: Step
    person: str | None
    finished: int
    on_time: int
    median: timedelta | None

    @property
    def percent_on_time(self) -> int | None:
        return _percent(self.on_time, self.finished)


@dataclass(frozen=True)
class StepTotal:
    """One story's time in one step (all its runs finished by the cut-off) and whether every
    run kept its deadline; None where the story had no run of the step."""

    spent: timedelta | None
    on_time: bool | None


@dataclass(frozen=True)
class Link:
    """Where a story stands on one publish target: its permalink, or why there is none."""

    target: str
    url: str | None
    status: str
    note: str | None = None


@dataclass(frozen=True)
class StoryLine:
    number: int
    title: str
    reporter: str
    submitted_at: datetime
    published_at: datetime | None
    state: str
    """The story's state at the cut-off (from the audit trail)."""
    steps: Mapping[Step, StepTotal]
    links: Mapping[str, Link]


@dataclass(frozen=True)
class Publication:
    number: int
    title: str
    reporter: str
    submitted_at: datetime
    published_at: datetime
    links: tuple[Link, ...]


@dataclass(frozen=True)
class Swap:
    day: date
    shift: str
    before: str | None
    after: str | None
    by: str | None
    at: datetime


@dataclass(frozen=True)
class DutySlot:
    day: date
    shift: str
    person: str | None
    approved: bool
    swaps: tuple[Swap, ...]
    on_leave: bool
    """The person on duty had leave recorded for that day."""
    leave_reason: str | None
    holiday: str | None


@dataclass(frozen=True)
class LeaveDay:
    person: str
    day: date
    reason: str | None


@dataclass(frozen=True)
class DayCount:
    day: date
    submitted: int
    published: int
    day_off: bool


@dataclass(frozen=True)
class Summary:
    covered: int
    """Stories submitted in the month."""
    published: int
    """Of those, published by the cut-off."""
    spiked: int
    still_open: int
    published_in_month: int
    """Stories first published in the month, whenever they were submitted."""
    finished: int
    on_time: int
    breaches: int

    @property
    def percent_on_time(self) -> int | None:
        return _percent(self.on_time, self.finished)


@dataclass(frozen=True)
class MonthReport:
    """Everything the monthly report shows, in UTC instants and plain values."""

    month: date
    start: datetime
    end: datetime
    as_of: datetime
    """The cut-off: the end of the month, or ``now`` for a month still running."""
    now: datetime
    tz: ZoneInfo
    summary: Summary
    days: tuple[DayCount, ...]
    steps: tuple[StepFigures, ...]
    people: tuple[PersonFigures, ...]
    breaches: tuple[Breach, ...]
    stories: tuple[StoryLine, ...]
    publications: tuple[Publication, ...]
    targets: tuple[str, ...]
    roster: tuple[DutySlot, ...]
    duty_counts: tuple[tuple[str, int], ...]
    leave: tuple[LeaveDay, ...]
    runs: tuple[StepRun, ...]


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    pdf: Path | None
    stories_csv: Path
    breaches_csv: Path
    roster_csv: Path


# -- reading the month ------------------------------------------------------------------------


class StoryRow(NamedTuple):
    id: int
    number: int
    title: str
    state: str
    reporter_id: int
    holder_id: int | None
    created_at: datetime


class ClockRow(NamedTuple):
    """A step's clock, with the assignment (and its agenda item) it may belong to."""

    story_id: int | None
    step: str
    clock_mode: str
    started_at: datetime
    due_at: datetime
    outcome: str
    finished_at: datetime | None
    finished_by_id: int | None
    held_by: str | None
    assignment_story_id: int | None
    assignment_reporter_id: int | None
    assignment_reason: str | None
    item_number: int | None
    item_title: str | None


class EventRow(NamedTuple):
    story_id: int
    actor_id: int | None
    at: datetime
    event: str
    to_state: str | None
    reason: str | None
    detail: dict[str, Any]


class JobRow(NamedTuple):
    story_id: int
    target: str | None
    status: str
    result: dict[str, Any]
    last_error: str | None
    created_at: datetime


class PersonRow(NamedTuple):
    id: int
    key: str
    name: str


@dataclass
class MonthRows:
    """The rows the report of one month is computed from (plain tuples: a month of 3,000
    stories is tens of thousands of rows, too many to build ORM objects for)."""

    people: dict[int, PersonRow]
    stories: dict[int, StoryRow]
    covered: list[int]
    """The stories submitted in the month, by number."""
    clocks: list[ClockRow]
    events: list[EventRow]
    """Transitions (and sites abandoned) of those stories, oldest first."""
    first_published: dict[int, datetime]
    """Stories first published in the month, and when."""
    jobs: list[JobRow]
    roster: list[RosterSlot]
    swaps: list[DeskEvent]
    leave: list[Leave]


def month_bounds(month: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants where the local month starts and the next one starts."""
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    start = datetime.combine(first, time(0), tz).astimezone(UTC)
    end = datetime.combine(following, time(0), tz).astimezone(UTC)
    return start, end


def cut_off(month: date, tz: ZoneInfo, now: datetime) -> datetime:
    """Figures stand as they were at the end of the month (or now, for the running month)."""
    start, end = month_bounds(month, tz)
    if now <= start:
        raise ValueError(f"{month:%Y-%m} has not begun yet")
    return min(end, now)


_STORY_COLUMNS = (
    Story.id,
    Story.number,
    Story.title,
    Story.state,
    Story.reporter_id,
    Story.holder_id,
    Story.created_at,
)


def load_month(session: Session, *, month: date, tz: ZoneInfo, now: datetime) -> MonthRows:
    """Read every row the month's report needs, in a few queries."""
    start, _end = month_bounds(month, tz)
    as_of = cut_off(month, tz, now)
    people = {
        row.id: row
        for row in (PersonRow(*r) for r in session.exec(select(Person.id, Person.key, Person.name)))
    }
    covered = [
        StoryRow(*row)
        for row in session.exec(
            select(*_STORY_COLUMNS)
            .where(col(Story.created_at) >= start, col(Story.created_at) < as_of)
            .order_by(col(Story.number))
        )
    ]
    stories = {story.id: story for story in covered}
    clocks = [
        ClockRow(*row)
        for row in session.exec(
            select(
                SlaClock.story_id,
                SlaClock.step,
                SlaClock.clock_mode,
                SlaClock.started_at,
                SlaClock.due_at,
                SlaClock.outcome,
                SlaClock.finished_at,
                SlaClock.finished_by_id,
                SlaClock.held_by,
                Assignment.story_id,
                Assignment.reporter_id,
                Assignment.reason,
                AgendaItem.number,
                AgendaItem.title,
            )
            .join(Assignment, col(Assignment.id) == SlaClock.assignment_id, isouter=True)
            .join(AgendaItem, col(AgendaItem.id) == Assignment.item_id, isouter=True)
            .where(
                or_(
                    (col(SlaClock.finished_at) >= start) & (col(SlaClock.finished_at) < as_of),
                    (col(SlaClock.due_at) >= start) & (col(SlaClock.due_at) < as_of),
                )
            )
            .order_by(col(SlaClock.due_at), col(SlaClock.id))
        )
    ]
    first = func.min(AuditEvent.at)
    first_published = {
        story_id: at
        for story_id, at in session.exec(
            select(AuditEvent.story_id, first)
            .where(
                AuditEvent.event == StoryEvent.PUBLISH_SUCCEEDED.value,
                col(AuditEvent.at) < as_of,
            )
            .group_by(col(AuditEvent.story_id))
            .having(first >= start)
        )
        if story_id is not None
    }
    wanted = set(first_published)
    wanted.update(clock.story_id or clock.assignment_story_id or 0 for clock in clocks)
    for chunk in _chunks(sorted(wanted - set(stories) - {0})):
        for row in session.exec(select(*_STORY_COLUMNS).where(col(Story.id).in_(chunk))):
            story = StoryRow(*row)
            stories[story.id] = story
    earliest = min([start, *(clock.started_at for clock in clocks)])
    events: list[EventRow] = []
    jobs: list[JobRow] = []
    for chunk in _chunks(sorted(stories)):
        events += (
            EventRow(*row)
            for row in session.exec(
                select(
                    AuditEvent.story_id,
                    AuditEvent.actor_id,
                    AuditEvent.at,
                    AuditEvent.event,
                    AuditEvent.to_state,
                    AuditEvent.reason,
                    AuditEvent.detail,
                )
                .where(
                    col(AuditEvent.story_id).in_(chunk),
                    col(AuditEvent.at) >= earliest,
                    col(AuditEvent.at) < as_of,
                    or_(
                        col(AuditEvent.to_state).is_not(None),
                        AuditEvent.event == "publish_abandoned",
                    ),
                )
                .order_by(col(AuditEvent.at), col(AuditEvent.id))
            )
        )
        jobs += (
            JobRow(*row)
            for row in session.exec(
                select(
                    OutboxItem.story_id,
                    OutboxItem.target,
                    OutboxItem.status,
                    OutboxItem.result,
                    OutboxItem.last_error,
                    OutboxItem.created_at,
                )
                .where(
                    OutboxItem.kind == "publish",
                    col(OutboxItem.story_id).in_(chunk),
                    col(OutboxItem.created_at) < as_of,
                )
                .order_by(col(OutboxItem.id))
            )
        )
    events.sort(key=lambda event: event.at)  # stable: ties keep their id order
    first_day, last_day = _month_days(month)
    roster = session.exec(
        select(RosterSlot)
        .where(RosterSlot.month == f"{month:%Y-%m}")
        .order_by(col(RosterSlot.day), col(RosterSlot.shift), col(RosterSlot.id))
    ).all()
    swaps = session.exec(
        select(DeskEvent)
        .where(
            DeskEvent.kind == "roster",
            DeskEvent.action == "swap",
            col(DeskEvent.day) >= first_day.isoformat(),
            col(DeskEvent.day) <= last_day.isoformat(),
        )
        .order_by(col(DeskEvent.at), col(DeskEvent.id))
    ).all()
    leave = session.exec(
        select(Leave)
        .where(col(Leave.day) >= first_day.isoformat(), col(Leave.day) <= last_day.isoformat())
        .order_by(col(Leave.day), col(Leave.person_id))
    ).all()
    return MonthRows(
        people=people,
        stories=stories,
        covered=[story.id for story in covered],
        clocks=clocks,
        events=events,
        first_published=first_published,
        jobs=jobs,
        roster=list(roster),
        swaps=list(swaps),
        leave=list(leave),
    )


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for begin in range(0, len(ids), _CHUNK):
        yield list(ids[begin : begin + _CHUNK])


def _month_days(month: date) -> tuple[date, date]:
    last = month_calendar.monthrange(month.year, month.month)[1]
    return month.replace(day=1), month.replace(day=last)


# -- computing the figures (pure) -------------------------------------------------------------


def month_report(rows: MonthRows, *, month: date, policy: SlaPolicy, now: datetime) -> MonthReport:
    """The month's figures from its rows, as they stood at the cut-off."""
    tz = policy.tz
    start, end = month_bounds(month, tz)
    as_of = cut_off(month, tz, now)
    names = {person_id: person.name for person_id, person in rows.people.items()}
    events_of: dict[int, list[EventRow]] = defaultdict(list)
    for event in rows.events:
        events_of[event.story_id].append(event)
    jobs_of: dict[int, list[JobRow]] = defaultdict(list)
    for job in rows.jobs:
        jobs_of[job.story_id].append(job)

    runs = tuple(
        _run(clock, rows, names, events_of, jobs_of, policy, as_of) for clock in rows.clocks
    )
    breaches = tuple(
        Breach(run, run.late_by(as_of), still_open=run.finished_at is None)
        for run in runs
        if start <= run.due_at < as_of and (run.finished_at is None or run.finished_at > run.due_at)
    )
    completed = [
        run
        for run in runs
        if run.outcome == DONE and run.finished_at is not None and start <= run.finished_at
    ]
    steps = tuple(_step_figures(step, completed, policy) for step in Step)
    people = _person_figures(completed)

    links = {story_id: _links(jobs) for story_id, jobs in jobs_of.items()}
    targets = tuple(sorted({target for found in links.values() for target in found}))
    late_runs = {id(breach.run) for breach in breaches}
    runs_of: dict[int, list[StepRun]] = defaultdict(list)
    for run in runs:
        if run.story_id is not None:
            runs_of[run.story_id].append(run)
    stories = []
    for story_id in rows.covered:
        story = rows.stories[story_id]
        stories.append(
            StoryLine(
                number=story.number,
                title=story.title,
                reporter=names.get(story.reporter_id, ""),
                submitted_at=story.created_at,
                published_at=rows.first_published.get(story_id),
                state=_state_at(story, events_of.get(story_id, [])),
                steps={
                    step: _step_total(
                        [run for run in runs_of.get(story_id, []) if run.step is step], late_runs
                    )
                    for step in Step
                },
                links=links.get(story_id, {}),
            )
        )
    publications = tuple(
        Publication(
            number=rows.stories[story_id].number,
            title=rows.stories[story_id].title,
            reporter=names.get(rows.stories[story_id].reporter_id, ""),
            submitted_at=rows.stories[story_id].created_at,
            published_at=at,
            links=tuple(links.get(story_id, {}).values()),
        )
        for story_id, at in sorted(
            rows.first_published.items(), key=lambda pair: (pair[1], rows.stories[pair[0]].number)
        )
    )
    spiked = sum(line.state == StoryState.SPIKED for line in stories)
    published = sum(
        line.published_at is not None and line.state != StoryState.SPIKED for line in stories
    )
    summary = Summary(
        covered=len(stories),
        published=published,
        spiked=spiked,
        still_open=len(stories) - published - spiked,
        published_in_month=len(publications),
        finished=sum(figure.finished for figure in steps),
        on_time=sum(figure.on_time for figure in steps),
        breaches=len(breaches),
    )
    roster, counts, leave = _roster(rows, names, policy)
    return MonthReport(
        month=month.replace(day=1),
        start=start,
        end=end,
        as_of=as_of,
        now=now,
        tz=tz,
        summary=summary,
        days=_days(month, stories, publications, policy),
        steps=steps,
        people=people,
        breaches=tuple(
            sorted(breaches, key=lambda b: (b.run.due_at, b.run.story_number or 0, b.run.step))
        ),
        stories=tuple(stories),
        publications=publications,
        targets=targets,
        roster=roster,
        duty_counts=counts,
        leave=leave,
        runs=runs,
    )


def _run(
    clock: ClockRow,
    rows: MonthRows,
    names: Mapping[int, str],
    events_of: Mapping[int, list[EventRow]],
    jobs_of: Mapping[int, list[JobRow]],
    policy: SlaPolicy,
    as_of: datetime,
) -> StepRun:
    step = Step(clock.step)
    story_id = clock.story_id or clock.assignment_story_id
    story = rows.stories.get(story_id or 0)
    finished = clock.finished_at if clock.finished_at and clock.finished_at < as_of else None
    outcome = clock.outcome if finished else OPEN
    duration = (
        policy.calendar.between(clock.started_at, finished, ClockMode(clock.clock_mode))
        if finished
        else None
    )
    events = events_of.get(story_id or 0, [])
    reporter_id = story.reporter_id if story else clock.assignment_reporter_id
    person_id = clock.finished_by_id if finished else None
    if step is Step.SUBMISSION and person_id is None and finished:
        person_id = reporter_id
    if step is Step.PUBLISHING:
        # Publishing ends when the last site confirms (done by Warta itself): the operator is
        # whoever ordered it.
        until = finished or as_of
        ordered = [
            e.actor_id
            for e in events
            if e.event == StoryEvent.PUBLISH and clock.started_at <= e.at <= until
        ]
        person_id = ordered[-1] if ordered else person_id
    late = (finished or as_of) > clock.due_at and clock.due_at < as_of
    holder = holder_role = None
    if late:
        ref = clock.held_by
        if ref is None:
            ref = step_holder(
                step,
                reporter_id=reporter_id,
                holder_id=story.holder_id if story and step is Step.EDITING else None,
            ).ref
        kind, _colon, value = ref.partition(":")
        if kind == "person" and value.isdigit():
            holder = names.get(int(value))
        elif kind == "role":
            holder_role = value
    return StepRun(
        step=step,
        story_id=story_id,
        story_number=story.number if story else None,
        title=story.title if story else clock.item_title or "",
        item_number=clock.item_number,
        started_at=clock.started_at,
        due_at=clock.due_at,
        finished_at=finished,
        outcome=outcome,
        duration=duration,
        person=names.get(person_id) if person_id is not None else None,
        holder=holder,
        holder_role=holder_role,
        reason=_reason(clock, step, events, jobs_of.get(story_id or 0, []), as_of)
        if late
        else None,
    )


def _reason(
    clock: ClockRow,
    step: Step,
    events: Sequence[EventRow],
    jobs: Sequence[JobRow],
    as_of: datetime,
) -> str | None:
    """What the record says about a late step: the reason given with the action that started
    or ended it (the revision asked for, a spike), a site's failure or abandonment while
    publishing, an assignment's decline. Warta asks nobody why a deadline was missed."""
    found: list[str] = []
    until = clock.finished_at if clock.finished_at and clock.finished_at < as_of else as_of
    for event in events:
        if event.reason and clock.started_at <= event.at <= until:
            if event.event == "publish_abandoned":
                target = event.detail.get("target")
                found.append(f"{target}: {event.reason}" if target else event.reason)
            elif event.at in (clock.started_at, clock.finished_at):
                found.append(event.reason)
    if step is Step.PUBLISHING:
        for job in jobs:
            if clock.started_at <= job.created_at <= until and job.last_error:
                found.append(f"{job.target}: {job.last_error}")
    if clock.assignment_reason:
        found.append(clock.assignment_reason)
    return "; ".join(dict.fromkeys(found)) or None


def _step_figures(step: Step, completed: Sequence[StepRun], policy: SlaPolicy) -> StepFigures:
    mine = [run for run in completed if run.step is step]
    durations = sorted(run.duration for run in mine if run.duration is not None)
    return StepFigures(
        step=step,
        window=policy.windows.get(step),
        finished=len(mine),
        on_time=sum(bool(run.on_time) for run in mine),
        median=_median(durations),
        p90=_percentile(durations, 0.9),
    )


def _person_figures(completed: Sequence[StepRun]) -> tuple[PersonFigures, ...]:
    grouped: dict[tuple[Step, str | None], list[StepRun]] = defaultdict(list)
    for run in completed:
        grouped[(run.step, run.person)].append(run)
    order = list(Step)
    figures = [
        PersonFigures(
            step=step,
            person=person,
            finished=len(runs),
            on_time=sum(bool(run.on_time) for run in runs),
            median=_median(sorted(run.duration for run in runs if run.duration is not None)),
        )
        for (step, person), runs in grouped.items()
    ]
    figures.sort(key=lambda f: (order.index(f.step), f.person is None, f.person or ""))
    return tuple(figures)


def _median(durations: Sequence[timedelta]) -> timedelta | None:
    if not durations:
        return None
    return timedelta(seconds=statistics.median(d.total_seconds() for d in durations))


def _percentile(durations: Sequence[timedelta], share: float) -> timedelta | None:
    """The nearest-rank percentile of sorted ``durations``: a time some run really took."""
    if not durations:
        return None
    return durations[max(0, math.ceil(share * len(durations)) - 1)]


def _step_total(runs: Sequence[StepRun], late: set[int]) -> StepTotal:
    if not runs:
        return StepTotal(None, None)
    spent = [run.duration for run in runs if run.duration is not None]
    judged = [run for run in runs if run.finished_at is not None or id(run) in late]
    on_time = None if not judged else not any(id(run) in late for run in judged)
    return StepTotal(sum(spent, timedelta(0)) if spent else None, on_time)


def _state_at(story: StoryRow, events: Sequence[EventRow]) -> str:
    """The story's state at the cut-off: where its last transition before it left it."""
    states = [event.to_state for event in events if event.to_state]
    return states[-1] if states else story.state


def _links(jobs: Sequence[JobRow]) -> dict[str, Link]:
    """Per target: the latest permalink it gave (a correction updates the same post), else
    what became of its latest job."""
    found: dict[str, Link] = {}
    for job in jobs:  # in id order: later rounds win
        target = job.target or ""
        url = job.result.get("permalink") if job.status == "succeeded" else None
        if url:
            found[target] = Link(target, str(url), job.status)
        elif target not in found or found[target].url is None:
            note = job.result.get("reason") or job.last_error
            found[target] = Link(target, None, job.status, str(note) if note else None)
    return dict(sorted(found.items()))


def _days(
    month: date,
    stories: Sequence[StoryLine],
    publications: Sequence[Publication],
    policy: SlaPolicy,
) -> tuple[DayCount, ...]:
    tz = policy.tz
    submitted = Counter(line.submitted_at.astimezone(tz).date() for line in stories)
    published = Counter(p.published_at.astimezone(tz).date() for p in publications)
    first, last = _month_days(month)
    days = (first + timedelta(days=offset) for offset in range((last - first).days + 1))
    return tuple(
        DayCount(
            day=day,
            submitted=submitted[day],
            published=published[day],
            day_off=day.weekday() >= 5 or policy.calendar.is_day_off(day),
        )
        for day in days
    )


def _roster(
    rows: MonthRows, names: Mapping[int, str], policy: SlaPolicy
) -> tuple[tuple[DutySlot, ...], tuple[tuple[str, int], ...], tuple[LeaveDay, ...]]:
    by_key = {person.key: person.name for person in rows.people.values()}
    swaps: dict[tuple[str, str], list[Swap]] = defaultdict(list)
    for event in rows.swaps:
        day = event.day or ""
        shift = str(event.detail.get("shift", ""))
        before, after = event.detail.get("from"), event.detail.get("to")
        swaps[(day, shift)].append(
            Swap(
                day=date.fromisoformat(day),
                shift=shift,
                before=by_key.get(before, before) if before else None,
                after=by_key.get(after, after) if after else None,
                by=names.get(event.actor_id) if event.actor_id is not None else None,
                at=event.at,
            )
        )
    leave = {(row.person_id, row.day): row for row in rows.leave}
    slots = []
    for row in rows.roster:
        day = date.fromisoformat(row.day)
        away = leave.get((row.person_id, row.day)) if row.person_id is not None else None
        slots.append(
            DutySlot(
                day=day,
                shift=row.shift,
                person=names.get(row.person_id) if row.person_id is not None else None,
                approved=row.status == "approved",
                swaps=tuple(swaps.get((row.day, row.shift), ())),
                on_leave=away is not None,
                leave_reason=away.reason if away else None,
                holiday=policy.calendar.holiday_name(day),
            )
        )
    counts = Counter(slot.person for slot in slots if slot.person)
    leave_days = tuple(
        LeaveDay(names.get(row.person_id, "?"), date.fromisoformat(row.day), row.reason)
        for row in rows.leave
    )
    return tuple(slots), tuple(sorted(counts.items())), leave_days


# -- words ------------------------------------------------------------------------------------

WORDS: Mapping[str, Mapping[str, Any]] = {
    "id": {
        "title": "Laporan Bulanan",
        "file": {
            "report": "laporan",
            "stories": "cerita",
            "breaches": "pelanggaran",
            "roster": "piket",
        },
        "period": "Periode",
        "as_of": "Data sampai",
        "made": "Dibuat",
        "at": "pukul",
        "page": "Halaman",
        "of": "dari",
        "contents": "Isi laporan",
        "summary": "Ringkasan",
        "covered": "Berita masuk",
        "covered_note": "dikirim dalam bulan ini",
        "published": "Terbit",
        "published_note": "dari berita masuk bulan ini",
        "spiked": "Dibatalkan",
        "spiked_note": "tidak layak terbit",
        "still_open": "Masih berjalan",
        "still_open_note": "pada akhir periode",
        "published_in_month": "Berita terbit dalam bulan ini (termasuk kiriman bulan sebelumnya)",
        "overall_on_time": "Tahap selesai tepat waktu",
        "breach_count": "Pelanggaran batas waktu",
        "per_day": "Berita per hari",
        "chart_submitted": "Masuk",
        "chart_published": "Terbit",
        "chart_day": "Tanggal",
        "chart_day_off": "Akhir pekan / hari libur",
        "chart_stories": "Jumlah berita",
        "timeliness": "Ketepatan waktu per tahap (mutu baku)",
        "timeliness_note": (
            "Tahap yang selesai dalam bulan ini; waktu dihitung dengan jam tahap itu sendiri. "
            "P90: 90% tahap selesai dalam waktu ini atau lebih cepat."
        ),
        "step": "Tahap",
        "window": "Batas waktu",
        "finished": "Selesai",
        "on_time": "Tepat waktu",
        "median": "Median",
        "p90": "P90",
        "no_data": "belum ada",
        "time_per_step": "Waktu per tahap terhadap batas waktunya",
        "chart_minutes": "Menit",
        "chart_window": "Batas waktu",
        "per_person": "Ketepatan waktu per petugas",
        "per_person_note": (
            "Reporter untuk pengiriman liputan, redaktur untuk penyuntingan dan verifikasi serta "
            "pendokumentasian, admin/operator (yang memerintahkan terbit) untuk penerbitan."
        ),
        "person": "Petugas",
        "nobody": "tanpa nama",
        "breaches": "Pelanggaran batas waktu",
        "breaches_none": "Tidak ada tahap yang melewati batas waktu dalam bulan ini.",
        "story": "Berita",
        "item": "agenda",
        "due": "Batas waktu",
        "ended": "Selesai",
        "late": "Terlambat",
        "holder": "Penanggung jawab",
        "reason": "Alasan tercatat",
        "still_running": "masih berjalan",
        "late_by": "terlambat {}",
        "breaches_note": (
            "Urut menurut batas waktu. Daftar yang sama, untuk diurutkan dan disaring, ada di "
            "berkas {file}."
        ),
        "cancelled": "tahap dibatalkan",
        "roster": "Jadwal piket",
        "roster_none": "Tidak ada jadwal piket untuk bulan ini.",
        "date": "Tanggal",
        "shift": "Shift",
        "on_duty": "Petugas",
        "status": "Status",
        "approved": "disetujui",
        "draft": "draf",
        "changes": "Perubahan",
        "notes": "Keterangan",
        "swapped": "ditukar",
        "by": "oleh",
        "on_leave": "cuti",
        "holiday": "libur",
        "duty_counts": "Jumlah piket per petugas",
        "leave": "Cuti tercatat",
        "leave_none": "Tidak ada cuti tercatat.",
        "days": "hari",
        "publications": "Berita terbit",
        "publications_none": "Tidak ada berita terbit dalam bulan ini.",
        "publications_note": (
            "Per hari terbit: situs (klik untuk membuka) — jam, nomor dan reporter — judul. "
            "Alamat lengkap setiap situs ada di berkas {file}."
        ),
        "title_col": "Judul",
        "reporter": "Reporter",
        "submitted": "Dikirim",
        "published_col": "Terbit",
        "links": "Tautan",
        "no_link": "belum ada tautan",
        "yes": "ya",
        "no": "tidak",
        "minutes": "menit",
        "state_col": "status",
        "steps": {
            "submission": "Pengiriman liputan",
            "editing": "Penyuntingan dan verifikasi",
            "publishing": "Penerbitan",
            "documentation": "Pendokumentasian",
        },
        "steps_short": {
            "submission": "pengiriman",
            "editing": "penyuntingan",
            "publishing": "penerbitan",
            "documentation": "dokumentasi",
        },
        "h1": "H+1 (akhir hari kerja berikutnya)",
        "roles": {
            "section_head": "Kasi",
            "editor": "semua Redaktur",
            "operator": "semua Admin/Operator",
            "reporter": "semua Reporter",
        },
        "states": {
            "submitted": "menunggu penyuntingan",
            "editing": "sedang disunting",
            "verified": "terverifikasi",
            "publishing": "sedang diterbitkan",
            "published": "terbit",
            "revision_requested": "dikembalikan untuk revisi",
            "spiked": "dibatalkan",
            "archived": "diarsipkan",
        },
        "job_states": {
            "pending": "menunggu",
            "in_progress": "sedang dikirim",
            "retrying": "dicoba lagi",
            "failed": "gagal",
            "waiting": "menunggu alamat",
            "abandoned": "diabaikan",
            "succeeded": "terbit",
        },
        "csv_stories": (
            "nomor",
            "judul",
            "reporter",
            "dikirim ({zone})",
            "terbit ({zone})",
            "status",
        ),
        "csv_step_minutes": "{step} (menit)",
        "csv_step_on_time": "{step} tepat waktu",
        "csv_link": "tautan {target}",
        "csv_breaches": (
            "berita",
            "agenda",
            "judul",
            "tahap",
            "mulai ({zone})",
            "batas waktu ({zone})",
            "selesai ({zone})",
            "terlambat (menit)",
            "masih berjalan",
            "penanggung jawab",
            "alasan",
        ),
        "csv_roster": (
            "tanggal",
            "hari",
            "shift",
            "petugas",
            "status",
            "ditukar dari",
            "ditukar oleh",
            "waktu tukar ({zone})",
            "petugas cuti",
            "keterangan",
        ),
    },
    "en": {
        "title": "Monthly Report",
        "file": {
            "report": "report",
            "stories": "stories",
            "breaches": "breaches",
            "roster": "roster",
        },
        "period": "Period",
        "as_of": "Figures as of",
        "made": "Made",
        "at": "at",
        "page": "Page",
        "of": "of",
        "contents": "Contents",
        "summary": "Summary",
        "covered": "Stories in",
        "covered_note": "submitted this month",
        "published": "Published",
        "published_note": "of this month's stories",
        "spiked": "Spiked",
        "spiked_note": "not fit to publish",
        "still_open": "Still open",
        "still_open_note": "at the end of the period",
        "published_in_month": "Stories published this month (including earlier submissions)",
        "overall_on_time": "Steps finished on time",
        "breach_count": "Missed deadlines",
        "per_day": "Stories per day",
        "chart_submitted": "Submitted",
        "chart_published": "Published",
        "chart_day": "Day",
        "chart_day_off": "Weekend / day off",
        "chart_stories": "Stories",
        "timeliness": "On time per step",
        "timeliness_note": (
            "Steps finished this month, timed in each step's own clock. "
            "P90: 90% of the steps finished within this time or faster."
        ),
        "step": "Step",
        "window": "Deadline",
        "finished": "Finished",
        "on_time": "On time",
        "median": "Median",
        "p90": "P90",
        "no_data": "none yet",
        "time_per_step": "Time per step against its deadline",
        "chart_minutes": "Minutes",
        "chart_window": "Deadline",
        "per_person": "On time per person",
        "per_person_note": (
            "Reporters for submission, editors for editing and verification and for "
            "documentation, operators (who ordered publishing) for publishing."
        ),
        "person": "Person",
        "nobody": "no name",
        "breaches": "Missed deadlines",
        "breaches_none": "No step missed its deadline this month.",
        "story": "Story",
        "item": "agenda",
        "due": "Due",
        "ended": "Finished",
        "late": "Late",
        "holder": "Held by",
        "reason": "Reason recorded",
        "still_running": "still open",
        "late_by": "{} late",
        "breaches_note": (
            "In order of their deadlines. The same list, to sort and filter, is in the file {file}."
        ),
        "cancelled": "step cancelled",
        "roster": "Duty roster",
        "roster_none": "No duty roster for this month.",
        "date": "Date",
        "shift": "Shift",
        "on_duty": "On duty",
        "status": "Status",
        "approved": "approved",
        "draft": "draft",
        "changes": "Changes",
        "notes": "Notes",
        "swapped": "swapped",
        "by": "by",
        "on_leave": "on leave",
        "holiday": "holiday",
        "duty_counts": "Duty days per person",
        "leave": "Leave recorded",
        "leave_none": "No leave recorded.",
        "days": "days",
        "publications": "Published stories",
        "publications_none": "No story was published this month.",
        "publications_note": (
            "By day of publication: sites (click to open) — time, number and reporter — "
            "title. Every site's full address is in the file {file}."
        ),
        "title_col": "Title",
        "reporter": "Reporter",
        "submitted": "Submitted",
        "published_col": "Published",
        "links": "Links",
        "no_link": "no link yet",
        "yes": "yes",
        "no": "no",
        "minutes": "min",
        "state_col": "state",
        "steps": {
            "submission": "Submission",
            "editing": "Editing and verification",
            "publishing": "Publishing",
            "documentation": "Documentation",
        },
        "steps_short": {
            "submission": "submission",
            "editing": "editing",
            "publishing": "publishing",
            "documentation": "documentation",
        },
        "h1": "H+1 (end of the next working day)",
        "roles": {
            "section_head": "section head",
            "editor": "all editors",
            "operator": "all operators",
            "reporter": "all reporters",
        },
        "states": {
            "submitted": "waiting for editing",
            "editing": "being edited",
            "verified": "verified",
            "publishing": "publishing",
            "published": "published",
            "revision_requested": "sent back for revision",
            "spiked": "spiked",
            "archived": "archived",
        },
        "job_states": {
            "pending": "waiting",
            "in_progress": "sending",
            "retrying": "retrying",
            "failed": "failed",
            "waiting": "waiting for the address",
            "abandoned": "abandoned",
            "succeeded": "published",
        },
        "csv_stories": (
            "number",
            "title",
            "reporter",
            "submitted ({zone})",
            "published ({zone})",
            "state",
        ),
        "csv_step_minutes": "{step} (minutes)",
        "csv_step_on_time": "{step} on time",
        "csv_link": "link {target}",
        "csv_breaches": (
            "story",
            "agenda item",
            "title",
            "step",
            "started ({zone})",
            "due ({zone})",
            "finished ({zone})",
            "late (minutes)",
            "still open",
            "held by",
            "reason",
        ),
        "csv_roster": (
            "date",
            "weekday",
            "shift",
            "on duty",
            "status",
            "swapped from",
            "swapped by",
            "swapped at ({zone})",
            "on leave",
            "notes",
        ),
    },
}


def _words(locale: str) -> Mapping[str, Any]:
    if locale not in WORDS:
        raise ValueError(f"no report words for locale {locale!r} (use one of {LOCALES})")
    return WORDS[locale]


class _Format:
    """Dates, times and durations as the desk writes them in ``locale``."""

    def __init__(self, tz: ZoneInfo, locale: str) -> None:
        self.tz, self.locale = tz, locale

    def day(self, value: date | datetime) -> str:
        day = value.astimezone(self.tz).date() if isinstance(value, datetime) else value
        pattern = "EEEE, d MMMM y" if self.locale == "id" else "EEEE d MMMM y"
        return format_date(day, pattern, locale=self.locale)

    def short_day(self, value: date | datetime) -> str:
        """``Sen 2/11`` (``Mon 2/11``): narrow table cells."""
        day = value.astimezone(self.tz).date() if isinstance(value, datetime) else value
        return f"{format_date(day, 'EEE', locale=self.locale)} {day.day}/{day.month}"

    def weekday(self, value: date) -> str:
        return format_date(value, "EEEE", locale=self.locale)

    def month(self, value: date) -> str:
        return format_date(value, "MMMM y", locale=self.locale)

    def clock(self, value: datetime) -> str:
        local = value.astimezone(self.tz)
        return f"{local:%H}{'.' if self.locale == 'id' else ':'}{local:%M}"

    def moment(self, value: datetime) -> str:
        """``Sen 2/11 08.00``."""
        return f"{self.short_day(value)} {self.clock(value)}"

    def full_moment(self, value: datetime) -> str:
        words = _words(self.locale)
        return f"{self.day(value)} {words['at']} {self.clock(value)} {self.zone(value)}"

    def end_of_day(self, day: date) -> str:
        """``Senin, 30 November 2026 pukul 24.00 WIB``: where a month's figures stop."""
        moment = datetime.combine(day + timedelta(days=1), time(0), self.tz)
        separator = "." if self.locale == "id" else ":"
        return f"{self.day(day)} {_words(self.locale)['at']} 24{separator}00 {self.zone(moment)}"

    def zone(self, value: datetime) -> str:
        return zone_label(self.tz, value)

    def csv_time(self, value: datetime | None) -> str:
        """Local time as Excel reads a date and time in any language: ``2026-11-02 08:00``."""
        return "" if value is None else f"{value.astimezone(self.tz):%Y-%m-%d %H:%M}"

    def duration(self, value: timedelta | None) -> str:
        return "—" if value is None else humanize_duration(value, self.locale)


def _minutes(value: timedelta | None) -> str:
    return "" if value is None else str(round(value.total_seconds() / 60))


# -- CSV --------------------------------------------------------------------------------------

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """A cell Excel shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _csv(rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=CSV_DELIMITER, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()


def stories_csv(report: MonthReport, *, locale: str = "id") -> str:
    """One row per story submitted in the month: times, state, minutes per step and whether
    each step kept its deadline, a link per publish target."""
    words, fmt = _words(locale), _Format(report.tz, locale)
    zone = fmt.zone(report.start)
    header = [heading.format(zone=zone) for heading in words["csv_stories"]]
    for step in Step:
        name = words["steps_short"][step.value]
        header += [
            words["csv_step_minutes"].format(step=name),
            words["csv_step_on_time"].format(step=name),
        ]
    header += [words["csv_link"].format(target=target) for target in report.targets]
    rows: list[list[object]] = [header]
    for line in report.stories:
        row: list[object] = [
            line.number,
            line.title,
            line.reporter,
            fmt.csv_time(line.submitted_at),
            fmt.csv_time(line.published_at),
            words["states"].get(line.state, line.state),
        ]
        for step in Step:
            total = line.steps[step]
            row += [_minutes(total.spent), _flag(total.on_time, words)]
        for target in report.targets:
            link = line.links.get(target)
            row.append(
                link.url or words["job_states"].get(link.status, link.status) if link else ""
            )
        rows.append(row)
    return _csv(rows)


def breaches_csv(report: MonthReport, *, locale: str = "id") -> str:
    """Every step that missed its deadline in the month, with who held it and why."""
    words, fmt = _words(locale), _Format(report.tz, locale)
    zone = fmt.zone(report.start)
    rows: list[list[object]] = [[h.format(zone=zone) for h in words["csv_breaches"]]]
    for breach in report.breaches:
        run = breach.run
        rows.append(
            [
                run.story_number or "",
                f"A{run.item_number}" if run.item_number else "",
                run.title,
                words["steps"][run.step.value],
                fmt.csv_time(run.started_at),
                fmt.csv_time(run.due_at),
                fmt.csv_time(run.finished_at),
                _minutes(breach.late_by),
                _flag(breach.still_open, words),
                _holder(run, words),
                run.reason or "",
            ]
        )
    return _csv(rows)


def roster_csv(report: MonthReport, *, locale: str = "id") -> str:
    """The month's duty roster as it was served: who was on duty, swaps and leave."""
    words, fmt = _words(locale), _Format(report.tz, locale)
    zone = fmt.zone(report.start)
    rows: list[list[object]] = [[h.format(zone=zone) for h in words["csv_roster"]]]
    for slot in report.roster:
        last = slot.swaps[-1] if slot.swaps else None
        notes = [f"{words['holiday']}: {slot.holiday}"] if slot.holiday else []
        if slot.on_leave:
            notes.append(f"{words['on_leave']}: {slot.leave_reason or '—'}")
        rows.append(
            [
                slot.day.isoformat(),
                fmt.weekday(slot.day),
                slot.shift,
                slot.person or "",
                words["approved"] if slot.approved else words["draft"],
                (last.before or "") if last else "",
                (last.by or "") if last else "",
                fmt.csv_time(last.at) if last else "",
                _flag(slot.on_leave, words),
                "; ".join(notes),
            ]
        )
    return _csv(rows)


def _flag(value: bool | None, words: Mapping[str, Any]) -> str:
    return "" if value is None else words["yes"] if value else words["no"]


def _holder(run: StepRun, words: Mapping[str, Any]) -> str:
    if run.holder:
        return run.holder
    if run.holder_role:
        return str(words["roles"].get(run.holder_role, run.holder_role))
    return ""


# -- charts -----------------------------------------------------------------------------------

_CHART_STYLE = {
    "font.family": CHART_FONT,
    "font.size": 8.5,
    "axes.titlesize": 9.5,
    "axes.edgecolor": "#555555",
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "svg.hashsalt": "warta",  # the same ids if a chart is ever drawn as SVG
}
_BLUE, _GREEN, _ORANGE, _RED, _GREY = "#2f5d8a", "#5b9b5b", "#e0a030", "#c0392b", "#eeeeee"


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)  # Agg, whatever backend the process chose: no display needed
    out = io.BytesIO()
    # No "Software" text chunk (it names the matplotlib version): the bytes depend on the
    # figure alone.
    figure.savefig(out, format="png", dpi=CHART_DPI, metadata={"Software": None})
    return out.getvalue()


def stories_per_day_chart(report: MonthReport, *, locale: str = "id") -> bytes:
    """Bars of the stories submitted and published each day; days off are shaded."""
    words = _words(locale)
    with rc_context(_CHART_STYLE):
        figure = Figure(figsize=(7.2, 2.6), dpi=CHART_DPI, layout="constrained")
        axes = figure.add_subplot()
        numbers = [day.day.day for day in report.days]
        off = [day.day.day for day in report.days if day.day_off]
        for number in off:
            axes.axvspan(number - 0.5, number + 0.5, color=_GREY, zorder=0,
                         label=words["chart_day_off"] if number == off[0] else None)  # fmt: skip
        width = 0.4
        axes.bar(
            [n - width / 2 for n in numbers],
            [day.submitted for day in report.days],
            width,
            label=words["chart_submitted"],
            color=_BLUE,
            zorder=2,
        )
        axes.bar(
            [n + width / 2 for n in numbers],
            [day.published for day in report.days],
            width,
            label=words["chart_published"],
            color=_GREEN,
            zorder=2,
        )
        axes.set_xlim(0.4, len(numbers) + 0.6)
        axes.set_xticks(numbers)
        axes.tick_params(axis="x", labelsize=7)
        axes.set_xlabel(f"{words['chart_day']} ({_Format(report.tz, locale).month(report.month)})")
        axes.set_ylabel(words["chart_stories"])
        axes.yaxis.get_major_locator().set_params(integer=True)
        axes.grid(axis="y", color="#dddddd", linewidth=0.5, zorder=1)
        axes.spines[["top", "right"]].set_visible(False)
        axes.legend(loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False, ncols=3)
        top = max([day.submitted for day in report.days] + [day.published for day in report.days])
        axes.set_ylim(0, max(top, 1) * 1.05 + 0.5)
        return _png(figure)


def time_per_step_chart(report: MonthReport, *, locale: str = "id") -> bytes:
    """Median and P90 of each windowed step, in minutes, with the step's window as a line."""
    words, fmt = _words(locale), _Format(report.tz, locale)
    figures = [figure for figure in report.steps if figure.step in WINDOWED_STEPS]
    with rc_context(_CHART_STYLE):
        figure = Figure(figsize=(7.2, 2.8), dpi=CHART_DPI, layout="constrained")
        axes = figure.add_subplot()
        width = 0.3
        top = 1.0
        for index, step in enumerate(figures):
            values = [_in_minutes(step.median), _in_minutes(step.p90)]
            for offset, value, color, label in (
                (-width / 2, values[0], _BLUE, words["median"]),
                (width / 2, values[1], _ORANGE, words["p90"]),
            ):
                if value is None:
                    continue
                axes.bar(index + offset, value, width, color=color, zorder=2,
                         label=label if index == 0 else None)  # fmt: skip
                axes.annotate(
                    f"{value:.0f}",
                    (index + offset, value),
                    xytext=(0, 2),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=7.5,
                )
                top = max(top, value)
            if step.finished == 0:
                axes.annotate(
                    words["no_data"], (index, 0), xytext=(0, 4), textcoords="offset points",
                    ha="center", va="bottom", fontsize=8, color="#777777",
                )  # fmt: skip
            if step.window is not None:
                window = step.window.total_seconds() / 60
                axes.hlines(window, index - 0.42, index + 0.42, colors=_RED, linestyles="dashed",
                            linewidth=1.2, zorder=3,
                            label=words["chart_window"] if index == 0 else None)  # fmt: skip
                axes.annotate(
                    fmt.duration(step.window),
                    (index + 0.42, window),
                    xytext=(2, 0),
                    textcoords="offset points",
                    va="center",
                    fontsize=7.5,
                    color=_RED,
                )
                top = max(top, window)
        axes.set_xticks(range(len(figures)))
        axes.set_xticklabels([words["steps"][f.step.value] for f in figures])
        axes.set_xlim(-0.6, len(figures) - 0.4)
        axes.set_ylim(0, top * 1.12)
        axes.set_ylabel(words["chart_minutes"])
        axes.grid(axis="y", color="#dddddd", linewidth=0.5, zorder=1)
        axes.spines[["top", "right"]].set_visible(False)
        axes.legend(loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False, ncols=3)
        return _png(figure)


def _in_minutes(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds() / 60


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# -- HTML and PDF -----------------------------------------------------------------------------


def _css_string(value: str) -> Markup:
    """A quoted CSS string (the page footer's text), safe inside the <style> element."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ")
    return Markup(f'"{escaped}"')


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["css_string"] = _css_string
    return environment


_ENVIRONMENT = _environment()


ENTRY_MARK = "warta-entri"
"""How the printed page marks each entry of the published-story list for ``render_pdf``
(as a bookmark label, taken out again before the PDF is written), and the prefix of the ids
of the sample's links."""


@dataclass(frozen=True)
class PrintLinks:
    """The links of the published-story list, for the page WeasyPrint prints.

    A month has thousands of published stories with a link per site each, and WeasyPrint
    spends about a quarter of a millisecond on every element it lays out and draws, whatever
    it holds: three links a story cost more than the rest of the report. So on the printed page
    a story with a permalink on every site lists its sites as plain text, the same words at the
    start of every entry, and ``render_pdf`` lays each link over its word after layout: the
    words stand in each entry where they stand in the ``sample``, an entry printed with real
    links, relative to the entry's top left corner (which WeasyPrint reports for each entry,
    marked as a bookmark)."""

    entries: tuple[int, ...]
    """The story number of every entry of the list, in order."""
    sample: int
    plain: Mapping[int, tuple[str, ...]]
    """Story number → one URL per site, in the sample's order, for the entries printed plain."""


class PrintLinksError(Exception):
    """The links of ``PrintLinks`` could not be placed: the printed page is not as expected
    (or WeasyPrint no longer reports positions as it did)."""


def print_links(report: MonthReport) -> PrintLinks | None:
    """Which published stories the printed page lists with their sites as plain text: those
    with a permalink on every target, but the first of them, the sample. None for fewer than
    two such stories."""
    complete = [
        item
        for item in report.publications
        if tuple(link.target for link in item.links) == report.targets
        and all(link.url for link in item.links)
    ]
    if len(complete) < 2:
        return None
    return PrintLinks(
        entries=tuple(item.number for item in report.publications),
        sample=complete[0].number,
        plain={item.number: tuple(str(link.url) for link in item.links) for item in complete[1:]},
    )


def render_html(
    report: MonthReport,
    *,
    locale: str = "id",
    office: str = OFFICE,
    unit: str = UNIT,
    links: PrintLinks | None = None,
) -> str:
    """The report as one self-contained HTML page (charts inline) to print on A4. With
    ``links`` (``print_links(report)``), the page for ``render_pdf(html, links=links)``: the
    published stories those links cover list their sites as plain text."""
    charts = _charts(report, locale)
    return _page(report, charts, locale=locale, office=office, unit=unit, links=links)


def _charts(report: MonthReport, locale: str) -> dict[str, str]:
    return {
        "per_day": _data_uri(stories_per_day_chart(report, locale=locale)),
        "per_step": _data_uri(time_per_step_chart(report, locale=locale)),
    }


def _page(
    report: MonthReport,
    charts: Mapping[str, str],
    *,
    locale: str,
    office: str,
    unit: str,
    links: PrintLinks | None,
) -> str:
    words, fmt = _words(locale), _Format(report.tz, locale)
    first, last = _month_days(report.month)
    template = _ENVIRONMENT.get_template("report.html.j2")
    files = {kind: path.name for kind, path in file_names(report.month, locale).items()}
    days: dict[date, list[Publication]] = defaultdict(list)
    for item in report.publications:  # in the order published
        days[item.published_at.astimezone(report.tz).date()].append(item)
    return template.render(
        r=report,
        w=words,
        f=fmt,
        locale=locale,
        office=office,
        unit=unit,
        first=first,
        last=last,
        charts=charts,
        files=files,
        minutes=_minutes,
        holder=lambda run: _holder(run, words),
        windowed=WINDOWED_STEPS,
        publication_days=list(days.items()),
        plain=links.plain if links else {},
        plain_sites=" · ".join(report.targets),
        sample=links.sample if links else None,
        entry_mark=ENTRY_MARK,
    )


def load_weasyprint() -> None:
    """Import WeasyPrint (it loads Pango, a system library) without its side effect: on
    import it turns on Pillow's process-wide "load truncated images", and Warta's publishers
    must keep refusing a truncated photo, so the setting is put back."""
    from PIL import ImageFile

    before = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        import weasyprint  # noqa: F401
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = before


def render_pdf(html: str, *, links: PrintLinks | None = None) -> bytes:
    """Print the report's HTML to PDF with WeasyPrint; nothing outside the page is fetched.
    With ``links``, the page came from ``render_html(..., links=links)`` and the links of its
    plain-text sites are added after layout."""
    # Imported here: WeasyPrint loads Pango (a system library) on import, which the CSV and
    # HTML parts of the report do not need.
    load_weasyprint()
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols=("data",), fail_on_errors=True)
    with _collector_paused():
        document = HTML(string=html, url_fetcher=fetcher).render()
        finisher = _LinkLayer(document, links) if links else None
        return bytes(document.write_pdf(finisher=finisher))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector paused: a month's report makes millions of objects (rows,
    figures, WeasyPrint's boxes), most of them alive until the end, and the collector's passes
    over them, each one longer as the heap grows, took a third of the time. What is garbage
    is collected as usual afterwards, by the first collection after the report is made."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _LinkLayer:
    """A WeasyPrint finisher that lays the links of ``PrintLinks`` over their words.

    Made from the laid-out document, before it is written: it takes the entries' marks out of
    the bookmarks (each gives where its entry's top left corner is), and finds the sample's
    words by their ids. Positions are CSS pixels from the page's top left corner; the PDF page
    is the CSS page at 0.75 point a pixel, its y axis upwards."""

    SCALE = 0.75

    def __init__(self, document: Any, links: PrintLinks) -> None:
        try:
            self._place(document, links)
        except (KeyError, IndexError, TypeError, ValueError) as error:
            raise PrintLinksError(f"cannot place the links of the printed list: {error}") from error

    def _place(self, document: Any, links: PrintLinks) -> None:
        corners: list[tuple[int, float, float]] = []
        for number, page in enumerate(document.pages):
            kept = []
            for bookmark in page.bookmarks:  # (level, label, (x, y), state)
                if bookmark[1] == ENTRY_MARK:
                    corners.append((number, bookmark[2][0], bookmark[2][1]))
                else:
                    kept.append(bookmark)
            page.bookmarks[:] = kept
        if len(corners) != len(links.entries):
            raise ValueError(
                f"the printed page marks {len(corners)} entries, the list has {len(links.entries)}"
            )
        where = dict(zip(links.entries, corners, strict=True))
        sample_page, sample_x, sample_y = where[links.sample]
        sites = len(next(iter(links.plain.values())))
        anchors = document.pages[sample_page].anchors
        words = [f"{ENTRY_MARK}-{place}" for place in range(sites)]
        if any(word not in anchors for word in words):
            raise ValueError(f"the sample entry #{links.sample} has no links {', '.join(words)}")
        # Each word's rectangle, relative to its entry's top left corner.
        offsets = [
            (x1 - sample_x, y1 - sample_y, x2 - sample_x, y2 - sample_y)
            for x1, y1, x2, y2 in (anchors[word] for word in words)
        ]
        self.heights = [page.height for page in document.pages]
        self.areas: dict[int, list[tuple[str, tuple[float, float, float, float]]]] = defaultdict(
            list
        )
        for story, urls in links.plain.items():
            number, x, y = where[story]
            for url, (x1, y1, x2, y2) in zip(urls, offsets, strict=True):
                self.areas[number].append((url, (x + x1, y + y1, x + x2, y + y2)))

    def __call__(self, document: Any, pdf: Any) -> None:
        try:
            self._annotate(pdf)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as error:
            raise PrintLinksError(f"cannot add the links of the printed list: {error}") from error

    def _annotate(self, pdf: Any) -> None:
        import pydyf

        kids = pdf.pages["Kids"]  # [number, 0, "R"] for each page
        scale = self.SCALE
        for number, areas in self.areas.items():
            page = pdf.objects[kids[3 * number]]
            height = self.heights[number]
            annotations = page.setdefault("Annots", pydyf.Array())
            for url, (x1, y1, x2, y2) in areas:
                annotation = pydyf.Dictionary(
                    {
                        "Type": "/Annot",
                        "Subtype": "/Link",
                        "Rect": pydyf.Array(
                            [x1 * scale, (height - y2) * scale, x2 * scale, (height - y1) * scale]
                        ),
                        "BS": pydyf.Dictionary({"W": 0}),
                        "A": pydyf.Dictionary(
                            {"Type": "/Action", "S": "/URI", "URI": pydyf.String(url)}
                        ),
                    }
                )
                pdf.add_object(annotation)
                annotations.append(annotation.reference)


# -- the whole report -------------------------------------------------------------------------


def gather(db: Database, *, month: date, policy: SlaPolicy, now: datetime) -> MonthReport:
    """The month's figures as they stood at its end (or ``now``, for the running month)."""
    with db.transaction() as session:
        rows = load_month(session, month=month, tz=policy.tz, now=now)
    return month_report(rows, month=month, policy=policy, now=now)


def make_report(
    db: Database,
    *,
    month: date,
    out_dir: Path,
    policy: SlaPolicy,
    now: datetime,
    locale: str = "id",
    office: str = OFFICE,
    unit: str = UNIT,
    pdf: bool = True,
) -> ReportFiles:
    """Write the monthly report of ``month`` (its first day; local time in ``policy.tz``) to
    ``out_dir``: the HTML page, the PDF printed from it (see ``PrintLinks``), and three CSV
    files for Excel."""
    with _collector_paused():
        report = gather(db, month=month, policy=policy, now=now)
        names = {kind: out_dir / name for kind, name in file_names(report.month, locale).items()}
        out_dir.mkdir(parents=True, exist_ok=True)
        charts = _charts(report, locale)
        page = partial(_page, report, charts, locale=locale, office=office, unit=unit)
        names["html"].write_text(page(links=None), encoding="utf-8")
        if pdf:
            links = print_links(report)
            try:
                printed = render_pdf(page(links=links), links=links)
            except PrintLinksError as problem:
                # Slower, and the same PDF: every site link laid out as an element.
                log.warning("monthly report %s: %s; printing every link", f"{month:%Y-%m}", problem)
                printed = render_pdf(page(links=None))
            names["pdf"].write_bytes(printed)
        tables = {
            "stories": stories_csv(report, locale=locale),
            "breaches": breaches_csv(report, locale=locale),
            "roster": roster_csv(report, locale=locale),
        }
        for kind, text in tables.items():
            # With its byte-order mark Excel reads the file as UTF-8 (and shows é, “ ” right).
            names[kind].write_bytes(text.encode("utf-8-sig"))
        return ReportFiles(
            html=names["html"],
            pdf=names["pdf"] if pdf else None,
            stories_csv=names["stories"],
            breaches_csv=names["breaches"],
            roster_csv=names["roster"],
        )


def file_names(month: date, locale: str = "id") -> dict[str, Path]:
    """The report's file names for ``month``, in the report's language:
    ``laporan-2026-11.html``, ``laporan-2026-11.pdf``, ``cerita-``, ``pelanggaran-`` and
    ``piket-2026-11.csv`` (``report-``, ``stories-``, ``breaches-``, ``roster-`` in English)."""
    names, suffix = _words(locale)["file"], f"{month:%Y-%m}"
    return {
        "html": Path(f"{names['report']}-{suffix}.html"),
        "pdf": Path(f"{names['report']}-{suffix}.pdf"),
        **{kind: Path(f"{names[kind]}-{suffix}.csv") for kind in ("stories", "breaches", "roster")},
    }
