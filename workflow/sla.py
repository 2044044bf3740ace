"""SLA arithmetic: which SOP step a story is in, when it is due, and how much time is left."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from workflow.calendar import BusinessCalendar, ClockMode
from workflow.lifecycle import Role, StoryEvent, StoryState


class Step(StrEnum):
    """The SOP steps whose deadlines ("mutu baku") Warta watches."""

    SUBMISSION = "submission"
    EDITING = "editing"
    PUBLISHING = "publishing"
    DOCUMENTATION = "documentation"


DEFAULT_WINDOWS: Mapping[Step, timedelta] = {
    Step.SUBMISSION: timedelta(hours=1),
    Step.EDITING: timedelta(hours=3),
    Step.PUBLISHING: timedelta(hours=2),
}

_STEP_OF_STATE: Mapping[StoryState, Step] = {
    StoryState.REVISION_REQUESTED: Step.SUBMISSION,
    StoryState.SUBMITTED: Step.EDITING,
    StoryState.EDITING: Step.EDITING,
    StoryState.VERIFIED: Step.PUBLISHING,
    StoryState.PUBLISHING: Step.PUBLISHING,
    StoryState.PUBLISHED: Step.DOCUMENTATION,
}


def step_of(state: StoryState) -> Step | None:
    """The SOP step a story in ``state`` is waiting on (None once it is spiked or archived)."""
    return _STEP_OF_STATE.get(state)


def starts_new_step(old: StoryState | None, new: StoryState) -> bool:
    """Whether moving from ``old`` to ``new`` starts a step's clock afresh.

    Claiming and releasing a story stay inside the editing step, so its deadline stands.
    """
    return step_of(new) is not None and step_of(new) != (step_of(old) if old else None)


@dataclass(frozen=True)
class ReminderPoint:
    """A moment inside a step's window: a share of it (``0.5``) or a time before its end."""

    fraction: float | None = None
    before: timedelta | None = None

    def __post_init__(self) -> None:
        if (self.fraction is None) == (self.before is None):
            raise ValueError("a reminder point is either a fraction or a time before the end")
        if self.fraction is not None and not 0 < self.fraction < 1:
            raise ValueError("a reminder point's share of the window lies between 0 % and 100 %")
        if self.before is not None and self.before <= timedelta(0):
            raise ValueError("a reminder point's time before the deadline must be positive")

    @property
    def key(self) -> str:
        """A stable name, part of the reminder's unique key: ``50%`` or ``-30m``."""
        if self.fraction is not None:
            return f"{round(self.fraction * 100, 2):g}%"
        assert self.before is not None
        minutes, seconds = divmod(int(self.before.total_seconds()), 60)
        return f"-{minutes}m" + (f"{seconds}s" if seconds else "")


BREACH = "breach"
"""The key of the alarm at the deadline itself."""


@dataclass(frozen=True)
class Alarm:
    """One planned wake-up of a step's clock: a reminder point or the breach."""

    point: str
    at: datetime

    @property
    def is_breach(self) -> bool:
        return self.point == BREACH


@dataclass(frozen=True)
class SlaPolicy:
    """The desk's deadlines: a window per step, how each step's clock runs, and the reminder
    points; with the business calendar that pauses working-hours clocks."""

    calendar: BusinessCalendar
    windows: Mapping[Step, timedelta] = field(default_factory=lambda: dict(DEFAULT_WINDOWS))
    clocks: Mapping[Step, ClockMode] = field(
        default_factory=lambda: {Step.DOCUMENTATION: ClockMode.WORKING_HOURS}
    )
    reminders: Mapping[Step, tuple[ReminderPoint, ...]] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return self.calendar.tz

    def clock(self, step: Step) -> ClockMode:
        return self.clocks.get(step, ClockMode.ALWAYS)

    def due(self, step: Step, started_at: datetime) -> datetime:
        """When ``step``, whose clock starts at ``started_at`` (aware), is due (UTC).

        Documentation is due by the end of the next working day (H+1); with no working hours
        configured, by the end of the next calendar day. The other steps are due their window
        of clock time after they start. A submission's clock starts when the covered event
        ends, or when the request arrives if no event is linked
        (:func:`submission_clock_start`).
        """
        if started_at.tzinfo is None:
            raise ValueError("started_at must be timezone-aware")
        if step is Step.DOCUMENTATION:
            if any(self.calendar.hours.values()):
                return self.calendar.end_of_next_working_day(started_at)
            local_day = self.calendar.local_day(started_at)
            next_midnight = datetime.combine(local_day + timedelta(days=2), time(0), self.tz)
            return next_midnight.astimezone(UTC)
        # Windows are added to UTC instants: in a zone with daylight saving, wall-clock
        # arithmetic would make a window that spans the change an hour long or short.
        return self.calendar.add(started_at, self.windows[step], self.clock(step))

    def alarms(self, step: Step, started_at: datetime, due: datetime) -> list[Alarm]:
        """The reminder points of the step's window, then the breach at ``due``, in order.

        A point is measured in the step's own clock: 50 % of a working-hours window is half
        of its working time. Points that fall at or before the start, at or after the deadline,
        or at the same moment as an earlier point are left out.
        """
        mode = self.clock(step)
        length = self.calendar.between(started_at, due, mode)
        planned: dict[str, datetime] = {}
        for point in self.reminders.get(step, ()):
            offset = length * point.fraction if point.fraction is not None else None
            if point.before is not None:
                offset = length - point.before
            if offset is None or offset <= timedelta(0):
                continue
            at = self.calendar.add(started_at, offset, mode)
            if at < due and at not in planned.values():
                planned.setdefault(point.key, at)
        alarms = [Alarm(key, at) for key, at in planned.items()]
        alarms.sort(key=lambda alarm: alarm.at)
        alarms.append(Alarm(BREACH, due.astimezone(UTC)))
        return alarms


@dataclass(frozen=True)
class StepHolder:
    """Who must act for a step: one person, or everyone with a role when nobody holds it."""

    person_id: int | None = None
    role: Role | None = None

    @property
    def ref(self) -> str:
        """A compact record of the holder kept with a breach: ``person:7`` or ``role:editor``."""
        return f"person:{self.person_id}" if self.person_id is not None else f"role:{self.role}"


def step_holder(step: Step, *, reporter_id: int | None, holder_id: int | None) -> StepHolder:
    """The reporter for a submission, the claiming editor (or all editors) for editing, the
    operators for publishing, the editors for documentation."""
    if step is Step.SUBMISSION:
        return StepHolder(person_id=reporter_id) if reporter_id else StepHolder(role=Role.REPORTER)
    if step is Step.EDITING:
        return StepHolder(person_id=holder_id) if holder_id else StepHolder(role=Role.EDITOR)
    if step is Step.DOCUMENTATION:
        return StepHolder(role=Role.EDITOR)  # editors document and /arsipkan
    return StepHolder(role=Role.OPERATOR)


_COMPLETING: Mapping[Step, frozenset[StoryEvent]] = {
    Step.SUBMISSION: frozenset({StoryEvent.RESUBMIT}),
    Step.EDITING: frozenset({StoryEvent.VERIFY, StoryEvent.REQUEST_REVISION, StoryEvent.SPIKE}),
    Step.PUBLISHING: frozenset({StoryEvent.PUBLISH_SUCCEEDED}),
    Step.DOCUMENTATION: frozenset({StoryEvent.ARCHIVE}),
}


def completes_step(step: Step, event: StoryEvent) -> bool:
    """Whether ``event`` is the step's work done (it counts for the on-time figures), rather
    than the step being abandoned: a verified story sent back, a correction reopened."""
    return event in _COMPLETING[step]


def submission_clock_start(event_end: datetime | None, received_at: datetime) -> datetime:
    """A submission's clock starts when the covered event ends (or at receipt, with no event)."""
    return event_end if event_end is not None else received_at


def time_left(due: datetime, now: datetime) -> timedelta:
    """Positive while there is time; negative by how much the deadline has passed."""
    return due.astimezone(UTC) - now.astimezone(UTC)
