"""SLA arithmetic: which SOP step a story is in, when it is due, and how much time is left."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from workflow.lifecycle import StoryState


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


def deadline(
    step: Step,
    started_at: datetime,
    windows: Mapping[Step, timedelta],
    tz: ZoneInfo,
) -> datetime:
    """When ``step``, started at ``started_at`` (aware), is due.

    Documentation is due by the end of the day after (H+1) in the desk's time zone; the
    other steps are due a configured window after they start.
    """
    if started_at.tzinfo is None:
        raise ValueError("started_at must be timezone-aware")
    if step is Step.DOCUMENTATION:
        local_day = started_at.astimezone(tz).date()
        end_of_next_day = datetime.combine(local_day + timedelta(days=2), time(0, 0), tzinfo=tz)
        return end_of_next_day.astimezone(started_at.tzinfo)
    # Add the window in UTC: in a zone with daylight saving, wall-clock arithmetic would make a
    # window that spans the change an hour long or short.
    return (started_at.astimezone(UTC) + windows[step]).astimezone(started_at.tzinfo)


def time_left(due: datetime, now: datetime) -> timedelta:
    """Positive while there is time; negative by how much the deadline has passed."""
    return due.astimezone(UTC) - now.astimezone(UTC)
