"""The desk's business calendar: working hours per weekday, public holidays, and clock arithmetic.

A step's clock either runs around the clock (news does not stop on Sunday) or only in working
hours, when it pauses over nights, weekends and holidays. All arithmetic is done on UTC instants;
working intervals are laid out in local wall-clock time and converted, so a zone with daylight
saving keeps its office hours on both sides of the change.
"""

from __future__ import annotations

from collections.abc import Container, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import holidays as holiday_tables

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SEARCH_DAYS = 3 * 366
"""How far ahead a working-hours clock looks for working time before giving up."""

Interval = tuple[time, time]


class ClockMode(StrEnum):
    """Whether a step's clock runs all the time or only in working hours."""

    ALWAYS = "always"
    WORKING_HOURS = "working_hours"


class NoWorkingTime(ValueError):
    """The calendar has no working time within the search horizon (every day is off)."""


def indonesian_holidays(
    *, categories: tuple[str, ...] = ("public", "government"), subdivision: str | None = None
) -> holiday_tables.HolidayBase:
    """Indonesia's public holidays, with *cuti bersama* (the "government" category), named in
    Indonesian; the table grows by itself to whatever year is asked about."""
    return holiday_tables.country_holidays(
        "ID", subdiv=subdivision, categories=categories, language="id"
    )


@dataclass(frozen=True)
class BusinessCalendar:
    """Working hours per weekday (0 = Monday) in ``tz``, and the days off."""

    tz: ZoneInfo
    hours: Mapping[int, tuple[Interval, ...]] = field(default_factory=dict)
    days_off: Container[date] = frozenset()
    extra_days_off: Mapping[date, str] = field(default_factory=dict)
    extra_working_days: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        for weekday, intervals in self.hours.items():
            if weekday not in range(7):
                raise ValueError(f"weekday {weekday} is not 0 (Monday) to 6 (Sunday)")
            ends = [time.min] + [end for _start, end in intervals]
            for (start, end), previous_end in zip(intervals, ends, strict=False):
                if not start < end:
                    raise ValueError(f"{WEEKDAYS[weekday]}: {start}-{end} ends before it starts")
                if start < previous_end:
                    raise ValueError(f"{WEEKDAYS[weekday]}: working hours overlap or are unsorted")

    # -- days ---------------------------------------------------------------------------------

    def local_day(self, instant: datetime) -> date:
        return instant.astimezone(self.tz).date()

    def holiday_name(self, day: date) -> str | None:
        """The name of the holiday on ``day`` (from the config first, then the table)."""
        if day in self.extra_days_off:
            return self.extra_days_off[day]
        if day in self.days_off:
            getter = getattr(self.days_off, "get", None)
            return str(getter(day)) if getter else "libur"
        return None

    def is_day_off(self, day: date) -> bool:
        """A public holiday, *cuti bersama* or an extra day off (unless declared a working day)."""
        if day in self.extra_working_days:
            return False
        return day in self.extra_days_off or day in self.days_off

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        """Working hours on ``day`` (local wall-clock), none on a day off."""
        if self.is_day_off(day):
            return ()
        intervals = self.hours.get(day.weekday(), ())
        if not intervals and day in self.extra_working_days:
            # A Saturday declared a working day keeps the hours of the week's first working day.
            intervals = next((self.hours[w] for w in range(7) if self.hours.get(w)), ())
        return intervals

    def is_working_day(self, day: date) -> bool:
        return bool(self.intervals_on(day))

    def next_working_day(self, day: date) -> date:
        """The first working day after ``day``."""
        for offset in range(1, SEARCH_DAYS):
            candidate = day + timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        raise NoWorkingTime("no working day in the next three years; check the working hours")

    def _utc_intervals(self, start_day: date) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals as UTC instants, day by day from ``start_day``."""
        for offset in range(SEARCH_DAYS):
            day = start_day + timedelta(days=offset)
            for begin, end in self.intervals_on(day):
                yield (
                    datetime.combine(day, begin, tzinfo=self.tz).astimezone(UTC),
                    datetime.combine(day, end, tzinfo=self.tz).astimezone(UTC),
                )

    # -- clock arithmetic ---------------------------------------------------------------------

    def add(self, start: datetime, amount: timedelta, mode: ClockMode) -> datetime:
        """The instant ``amount`` of clock time after ``start`` (UTC).

        In working-hours mode the clock only runs inside working intervals: a step started in
        the evening starts counting when the office opens.
        """
        start = _utc(start)
        if mode is ClockMode.ALWAYS:
            return start + amount
        remaining = amount
        # Start a day early: in a zone far east of UTC the local day may begin "yesterday".
        for begin, end in self._utc_intervals(self.local_day(start) - timedelta(days=1)):
            if end <= start:
                continue
            cursor = max(begin, start)
            available = end - cursor
            if remaining <= available:
                return cursor + remaining
            remaining -= available
        raise NoWorkingTime("no working time in the next three years; check the working hours")

    def between(self, start: datetime, end: datetime, mode: ClockMode) -> timedelta:
        """Clock time from ``start`` to ``end`` (negative when ``end`` comes first)."""
        start, end = _utc(start), _utc(end)
        if end < start:
            return -self.between(end, start, mode)
        if mode is ClockMode.ALWAYS:
            return end - start
        total = timedelta(0)
        for begin, stop in self._utc_intervals(self.local_day(start) - timedelta(days=1)):
            if begin >= end:
                break
            overlap = min(stop, end) - max(begin, start)
            if overlap > timedelta(0):
                total += overlap
        return total

    def end_of_next_working_day(self, start: datetime) -> datetime:
        """Closing time of the first working day after ``start``'s local day (H+1), UTC."""
        day = self.next_working_day(self.local_day(start))
        closing = self.intervals_on(day)[-1][1]
        return datetime.combine(day, closing, tzinfo=self.tz).astimezone(UTC)


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    return instant.astimezone(UTC)


def parse_working_hours(spec: Mapping[str, str | None]) -> dict[int, tuple[Interval, ...]]:
    """Read ``{"mon-thu": "07.30-16.00", "fri": "07.30-11.30, 13.00-16.30", "sat": "off"}``.

    Day names are English or Indonesian abbreviations (``mon``/``sen``); ranges wrap the week
    in order (``mon-fri``). Times are written ``07.30`` or ``07:30``.
    """
    hours: dict[int, tuple[Interval, ...]] = {}
    for days, value in spec.items():
        intervals = _parse_intervals(value)
        for weekday in _parse_days(days):
            if weekday in hours:
                raise ValueError(f"'{WEEKDAYS[weekday]}' is given twice in the working hours")
            hours[weekday] = intervals
    return hours


_DAY_NAMES = {
    **{name: index for index, name in enumerate(WEEKDAYS)},
    **{name: index for index, name in enumerate(("sen", "sel", "rab", "kam", "jum", "sab", "min"))},
}


def _parse_days(text: str) -> list[int]:
    days: list[int] = []
    for part in str(text).lower().replace(" ", "").split(","):
        first, _dash, last = part.partition("-")
        try:
            begin = _DAY_NAMES[first[:3]]
            end = _DAY_NAMES[last[:3]] if last else begin
        except KeyError:
            raise ValueError(f"'{part}' is not a day or a range of days like mon-fri") from None
        if end < begin:
            raise ValueError(f"'{part}': a range of days runs from Monday to Sunday")
        days.extend(range(begin, end + 1))
    return days


def _parse_intervals(value: str | None) -> tuple[Interval, ...]:
    if value is None or str(value).strip().lower() in ("", "off", "libur", "-"):
        return ()
    intervals = []
    for part in str(value).split(","):
        begin, dash, end = part.strip().partition("-")
        if not dash:
            raise ValueError(f"'{part.strip()}' is not a range of hours like 07.30-16.00")
        intervals.append((_parse_time(begin), _parse_time(end)))
    return tuple(intervals)


def _parse_time(text: str) -> time:
    cleaned = text.strip().replace(".", ":")
    hour, _colon, minute = cleaned.partition(":")
    try:
        if hour.strip() == "24" and int(minute or 0) == 0:
            return time.max
        return time(int(hour), int(minute or 0))
    except ValueError:
        raise ValueError(f"'{text.strip()}' is not a time like 07.30") from None
