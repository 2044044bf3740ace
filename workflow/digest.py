"""Figures of the section head's daily digest: on-time rates per step, breaches, what is open."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from workflow.sla import Step

OPEN, DONE, CANCELLED = "open", "done", "cancelled"


@dataclass(frozen=True)
class ClockRecord:
    """One run of a step's clock, as the digest sees it."""

    story_number: int | None
    title: str
    step: Step
    started_at: datetime
    due_at: datetime
    finished_at: datetime | None
    outcome: str
    held_by: str | None = None
    """Who held the step when it breached (a name or a role, ready to show)."""
    item_number: int | None = None
    """The agenda item, for the submission clock of an assignment (no story yet)."""

    def late_by(self, now: datetime) -> timedelta:
        """How far past the deadline the step ended (or is, while open); zero when on time."""
        end = self.finished_at if self.finished_at is not None else now
        return max(end - self.due_at, timedelta(0))


@dataclass(frozen=True)
class StepFigures:
    step: Step
    finished: int
    on_time: int

    @property
    def late(self) -> int:
        return self.finished - self.on_time

    @property
    def percent_on_time(self) -> int | None:
        """Whole percent, rounded down so 99.6 % never reads as 100 %; None with nothing done."""
        return None if self.finished == 0 else self.on_time * 100 // self.finished


@dataclass(frozen=True)
class Breach:
    record: ClockRecord
    late_by: timedelta
    still_open: bool


@dataclass(frozen=True)
class DigestFigures:
    day: date
    steps: list[StepFigures]
    breaches: list[Breach]
    open: list[ClockRecord]
    overdue: list[ClockRecord]


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants where the local ``day`` starts and the next one starts."""
    start = datetime.combine(day, time(0), tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC)
    return start, end


def digest_figures(
    records: Iterable[ClockRecord], *, day: date, tz: ZoneInfo, now: datetime
) -> DigestFigures:
    """The digest of local ``day``: steps finished that day and how many on time, every step
    that breached its deadline that day (by how much, and whether it is still open), and every
    clock still running ``now`` in deadline order."""
    start, end = day_bounds(day, tz)
    records = list(records)
    steps = []
    for step in Step:
        finished = [r for r in records if r.step is step and _finished_within(r, start, end)]
        on_time = sum(1 for r in finished if r.finished_at and r.finished_at <= r.due_at)
        steps.append(StepFigures(step, len(finished), on_time))
    breaches = [
        Breach(r, r.late_by(now), still_open=r.outcome == OPEN)
        for r in records
        if start <= r.due_at < end
        and r.outcome != CANCELLED
        and (r.finished_at is None or r.finished_at > r.due_at)
        and r.due_at <= now
    ]
    breaches.sort(key=lambda breach: (-breach.late_by, breach.record.due_at))
    still_open = sorted(
        (r for r in records if r.outcome == OPEN), key=lambda r: (r.due_at, r.story_number or 0)
    )
    return DigestFigures(
        day=day,
        steps=steps,
        breaches=breaches,
        open=still_open,
        overdue=[r for r in still_open if r.due_at <= now],
    )


def _finished_within(record: ClockRecord, start: datetime, end: datetime) -> bool:
    return (
        record.outcome == DONE
        and record.finished_at is not None
        and start <= record.finished_at < end
    )
