"""The monthly duty roster ("jadwal piket"): who holds which shift on which day, shared fairly.

Days and slots. A working day (Monday to Friday) gets ``rules.shifts``; Saturday and Sunday get
``rules.weekend_shifts``; a public holiday gets ``rules.holiday_shifts`` whatever weekday it falls
on. The month's slots are ordered by day, then by shift as listed. Two slots are *consecutive*
when they are adjacent in that order: the shifts of one day, and the last shift of a duty day
with the first of the next day that has duty (Friday's and Monday's when the weekend is off).
A person's *day limit* is the most shifts they may hold on one day: one, or
ceil(shifts / available people) on a day with fewer available people than shifts.

Guarantees of every roster ``generate_roster`` returns (the tests check each as a property):

1. Leave: nobody holds a shift on a day they are unavailable. A slot is empty (person None,
   listed in ``Roster.unfilled``) only when nobody at all is available that day.
2. Days: nobody holds more shifts on a day than the day limit, so one person holds two shifts of a
   day only when fewer people than shifts are available (reported as DOUBLE_SHIFT).
3. Fairness. With count(p) the shifts p holds in the month, for any two people A and B:
   a. if count(A) >= count(B) + 2, then on every day A is on duty B is on leave or already at the
      day limit: none of A's shifts could have gone to B;
   b. if B is available on every duty day A is available, count(A) <= count(B) + 1, and
      count(A) <= count(B) when B is available on more duty days than A.
   So among people with the same availability (for example, nobody on leave) the counts differ by
   at most one, and a person with leave never has more shifts than anyone without leave.
4. Consecutive shifts: every consecutive pair held by one person is reported (CONSECUTIVE). Such
   a pair is left only when no exchange of two slots' people that keeps 1 and 2 would lower the
   number of pairs, and there is none at all when nobody has leave, there are at least two
   people and no day has more shifts than people.
5. Determinism: the same inputs and seed give the same roster; the seed rotates who starts.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType
from zoneinfo import ZoneInfo

WEEKDAY_NAMES = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
UNFILLED_NAME = "(belum terisi)"

_NOBODY_ON_LEAVE: Mapping[str, frozenset[date]] = MappingProxyType({})


@dataclass(frozen=True)
class RosterRules:
    """Who may be rostered, and which shifts each kind of day has."""

    people: tuple[str, ...]
    shifts: tuple[str, ...]
    weekend_shifts: tuple[str, ...] = ()
    holiday_shifts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problems = []
        if not self.people:
            problems.append("a roster needs at least one person")
        for label, names in (
            ("people", self.people),
            ("shifts", self.shifts),
            ("weekend_shifts", self.weekend_shifts),
            ("holiday_shifts", self.holiday_shifts),
        ):
            if any(not name for name in names):
                problems.append(f"{label} has an empty name")
            repeated = sorted(name for name, n in Counter(names).items() if n > 1)
            if repeated:
                problems.append(f"{label} lists {', '.join(repeated)} more than once")
        if problems:
            raise ValueError("; ".join(problems))

    def shifts_on(self, day: date, holidays: frozenset[date]) -> tuple[str, ...]:
        """The shifts ``day`` has: a holiday's, a weekend day's, or a working day's."""
        if day in holidays:
            return self.holiday_shifts
        if day.weekday() >= 5:
            return self.weekend_shifts
        return self.shifts


@dataclass(frozen=True)
class Slot:
    """One shift on one day, and who holds it (None: nobody was available that day)."""

    day: date
    shift: str
    person: str | None


class WarningCode(StrEnum):
    """What a roster could not avoid; each warning names the slot it is about."""

    UNFILLED = "unfilled"
    DOUBLE_SHIFT = "double_shift"
    CONSECUTIVE = "consecutive"


@dataclass(frozen=True)
class RosterWarning:
    """Something the desk should look at: an empty slot, a double shift, back-to-back shifts."""

    code: WarningCode
    day: date
    shift: str
    person: str | None = None
    follows: Slot | None = None  # CONSECUTIVE: the same person's slot right before this one

    @property
    def message(self) -> str:
        """A plain English explanation, for logs and tests."""
        where = f"{self.day.isoformat()} {self.shift}"
        match self.code:
            case WarningCode.UNFILLED:
                return f"{where}: nobody is available"
            case WarningCode.DOUBLE_SHIFT:
                return f"{where}: {self.person} holds another shift that day (too few available)"
            case WarningCode.CONSECUTIVE:
                assert self.follows is not None
                before = f"{self.follows.day.isoformat()} {self.follows.shift}"
                return f"{where}: {self.person} again, straight after {before}"
        return str(self.code)  # pragma: no cover - every code is matched above


@dataclass(frozen=True)
class Roster:
    """A month's slots in order, with the people and leave they were made from."""

    year: int
    month: int
    people: tuple[str, ...]
    slots: tuple[Slot, ...]
    leave: frozenset[tuple[str, date]] = frozenset()  # (person, day) pairs, within the month

    def counts(self) -> dict[str, int]:
        """Shifts per person over the month, every rostered person included, in config order."""
        held = Counter(slot.person for slot in self.slots)
        return {person: held[person] for person in self.people}

    def on(self, day: date) -> list[Slot]:
        """The slots of ``day`` in shift order (empty on a day without duty)."""
        return [slot for slot in self.slots if slot.day == day]

    @property
    def unfilled(self) -> tuple[Slot, ...]:
        return tuple(slot for slot in self.slots if slot.person is None)

    def available_on(self, day: date) -> tuple[str, ...]:
        """The people not on leave on ``day``, in config order."""
        return tuple(person for person in self.people if (person, day) not in self.leave)

    def day_limit(self, day: date) -> int:
        """The most shifts one person may hold on ``day``."""
        return _day_limit(len(self.on(day)), len(self.available_on(day)))

    @property
    def warnings(self) -> tuple[RosterWarning, ...]:
        """Empty slots, double shifts and consecutive pairs, in slot order."""
        found: list[RosterWarning] = []
        seen_today: set[tuple[str, date]] = set()
        previous: Slot | None = None
        for slot in self.slots:
            person = slot.person
            if person is None:
                found.append(RosterWarning(WarningCode.UNFILLED, slot.day, slot.shift))
            elif (person, slot.day) in seen_today:
                found.append(RosterWarning(WarningCode.DOUBLE_SHIFT, slot.day, slot.shift, person))
            if person is not None and previous is not None and previous.person == person:
                found.append(
                    RosterWarning(WarningCode.CONSECUTIVE, slot.day, slot.shift, person, previous)
                )
            if person is not None:
                seen_today.add((person, slot.day))
            previous = slot
        return tuple(found)


class ChangeRefused(StrEnum):
    """Why a manual roster change was refused."""

    NO_SUCH_SHIFT = "no_such_shift"
    SHIFT_REQUIRED = "shift_required"
    UNKNOWN_PERSON = "unknown_person"
    ON_LEAVE = "on_leave"
    ALREADY_ON_DUTY = "already_on_duty"


class RosterChangeRefused(ValueError):
    """A manual change that would break the roster, with a code a template can explain."""

    def __init__(self, code: ChangeRefused, message: str) -> None:
        super().__init__(message)
        self.code = code


def _day_limit(shifts: int, available: int) -> int:
    """The most shifts one person may hold on a day with ``shifts`` and ``available`` people."""
    if available == 0 or shifts <= available:
        return 1
    return math.ceil(shifts / available)


# --- Generating ------------------------------------------------------------------------------


class _Board:
    """The month being filled in: the slots in order, who holds each, and running tallies."""

    def __init__(
        self,
        slots: list[tuple[date, str]],
        people: tuple[str, ...],
        leave: frozenset[tuple[str, date]],
    ) -> None:
        self.days = [day for day, _ in slots]
        self.people = people
        self.holder: list[str | None] = [None] * len(slots)
        self.counts: Counter[str] = Counter()
        self.load: Counter[tuple[str, date]] = Counter()  # shifts per (person, day)
        duty_days = sorted(set(self.days))
        self.available = {
            day: tuple(p for p in people if (p, day) not in leave) for day in duty_days
        }
        shifts_per_day = Counter(self.days)
        self.limit = {
            day: _day_limit(shifts_per_day[day], len(self.available[day])) for day in duty_days
        }
        self.free_days = {
            person: frozenset(day for day in duty_days if person in self.available[day])
            for person in people
        }

    def put(self, index: int, person: str | None) -> None:
        """Give slot ``index`` to ``person``, keeping the tallies."""
        day, old = self.days[index], self.holder[index]
        if old is not None:
            self.counts[old] -= 1
            self.load[old, day] -= 1
        if person is not None:
            self.counts[person] += 1
            self.load[person, day] += 1
        self.holder[index] = person

    def fits(self, person: str, index: int) -> bool:
        """Whether ``person`` (not holding slot ``index``) could take it: free, under the limit."""
        day = self.days[index]
        return person in self.available[day] and self.load[person, day] < self.limit[day]

    def pairs(self, starts: Iterable[int]) -> int:
        """How many of the slot pairs (i, i + 1), for i in ``starts``, one person holds."""
        holder = self.holder
        return sum(
            1
            for i in set(starts)
            if 0 <= i < len(holder) - 1 and holder[i] is not None and holder[i] == holder[i + 1]
        )

    def pair_starts(self) -> list[int]:
        return [i for i in range(len(self.holder) - 1) if self.pairs([i])]


def _fill_in_order(board: _Board, rank: Mapping[str, int]) -> None:
    """Fill the slots in order, each with the available person furthest behind their fair share.

    A person's fair share grows by 1/n for each slot of a day with n available people they are
    available on; "furthest behind" is the lowest count minus share. Ties go to whoever has waited
    longest since their last shift, then to the seeded order. With nobody on leave this is a plain
    rotation. Whoever holds the previous slot is passed over while anyone else can take it.
    """
    share = dict.fromkeys(board.people, Fraction(0))
    last_slot = dict.fromkeys(board.people, -1)
    for index, day in enumerate(board.days):
        available = board.available[day]
        for person in available:
            share[person] += Fraction(1, len(available))
        candidates = [person for person in available if board.fits(person, index)]
        if not candidates:
            continue  # nobody is available that day
        previous = board.holder[index - 1] if index else None
        chosen = min(
            candidates,
            key=lambda p: (p == previous, board.counts[p] - share[p], last_slot[p], rank[p]),
        )
        board.put(index, chosen)
        last_slot[chosen] = index


def _owes(board: _Board, giver: str, taker: str) -> bool:
    """Whether moving one shift from ``giver`` to ``taker`` would make the counts fairer.

    True when the giver has two or more shifts than the taker, or one more while the taker was
    available on every day the giver was and on some more (fairness rules 3a and 3b).
    """
    gap = board.counts[giver] - board.counts[taker]
    return gap >= 2 or (gap == 1 and board.free_days[giver] < board.free_days[taker])


def _fairest_move(board: _Board, rank: Mapping[str, int]) -> tuple[int, str] | None:
    """The shift move that fairness calls for, preferring moves that add no consecutive pair."""
    best: tuple[int, int, int, int, str] | None = None
    for index, giver in enumerate(board.holder):
        if giver is None:
            continue
        for taker in board.people:
            if taker == giver or not _owes(board, giver, taker) or not board.fits(taker, index):
                continue
            near = (index - 1, index)
            before = board.pairs(near)
            board.holder[index] = taker
            added = board.pairs(near) - before
            board.holder[index] = giver
            gap = board.counts[giver] - board.counts[taker]
            option = (added, -gap, -index, rank[taker], taker)  # late moves keep the start
            if best is None or option < best:
                best = option
    return None if best is None else (-best[2], best[4])


def _balance(board: _Board, rank: Mapping[str, int]) -> None:
    """Move shifts until fairness rules 3a and 3b hold.

    Each move lowers the sum of squared counts (a gap of two or more), or keeps it and lowers the
    sum over people of count x days on leave (rule 3b), so the loop ends.
    """
    while (move := _fairest_move(board, rank)) is not None:
        board.put(*move)


def _can_exchange(board: _Board, first: int, second: int) -> bool:
    one, other = board.holder[first], board.holder[second]
    if one is None or other is None or one == other:
        return False
    if board.days[first] == board.days[second]:
        return True  # same day: only the order of the day's shifts changes
    return board.fits(other, first) and board.fits(one, second)


def _exchange(board: _Board, first: int, second: int) -> None:
    one, other = board.holder[first], board.holder[second]
    board.put(first, other)
    board.put(second, one)


def _break_one_pair(board: _Board) -> bool:
    """Exchange two slots' people if that lowers the number of consecutive pairs; say whether."""
    for start in board.pair_starts():
        for index in (start + 1, start):
            for other in range(len(board.holder)):
                if not _can_exchange(board, index, other):
                    continue
                near = (index - 1, index, other - 1, other)
                before = board.pairs(near)
                _exchange(board, index, other)
                if board.pairs(near) < before:
                    return True
                _exchange(board, index, other)
    return False


def _month_days(year: int, month: int) -> list[date]:
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return [first + timedelta(days=n) for n in range((following - first).days)]


def generate_roster(
    year: int,
    month: int,
    rules: RosterRules,
    *,
    holidays: frozenset[date] = frozenset(),
    unavailable: Mapping[str, frozenset[date]] = _NOBODY_ON_LEAVE,
    seed: int = 0,
) -> Roster:
    """The duty roster for ``month`` of ``year``, keeping the guarantees in the module docstring.

    First the slots are filled in order, each going to the available person furthest behind their
    fair share. Then, while one person has a shift that fairness says another should have, the
    move that adds the fewest consecutive pairs is made. Last, while exchanging two slots' people
    removes a consecutive pair, that is done (and fairness restored if it needs to be).
    ``unavailable`` maps a person to the days they are on leave; other names are ignored.
    """
    days = _month_days(year, month)
    holidays = frozenset(holidays)
    slots = [(day, shift) for day in days for shift in rules.shifts_on(day, holidays)]
    leave = frozenset(
        (person, day)
        for person in rules.people
        for day in unavailable.get(person, frozenset())
        if day.year == year and day.month == month
    )
    start = seed % len(rules.people)
    rotated = rules.people[start:] + rules.people[:start]
    rank = {person: position for position, person in enumerate(rotated)}

    board = _Board(slots, rules.people, leave)
    _fill_in_order(board, rank)
    _balance(board, rank)
    # An exchange keeps every count and removes a pair; a fairness move lowers the measures named
    # in _balance. Neither can go on forever, so neither can this loop.
    while _break_one_pair(board):
        _balance(board, rank)
    return Roster(
        year=year,
        month=month,
        people=rules.people,
        slots=tuple(
            Slot(day, shift, person)
            for (day, shift), person in zip(slots, board.holder, strict=True)
        ),
        leave=leave,
    )


# --- Adjusting -------------------------------------------------------------------------------


def swap(roster: Roster, day: date, shift: str | None, person: str) -> Roster:
    """The roster with ``person`` on ``day``'s ``shift`` (None: the day's only shift).

    Refuses a day without that shift, a missing shift name on a day with several, someone not on
    the roster, someone on leave that day, or a second shift that day beyond the day limit. The
    fairness guarantee is about generated rosters; a swap may break it, and the warnings follow.
    """
    today = roster.on(day)
    target = _slot_to_change(today, day, shift)
    if person not in roster.people:
        raise RosterChangeRefused(ChangeRefused.UNKNOWN_PERSON, f"{person} is not on the roster")
    if (person, day) in roster.leave:
        raise RosterChangeRefused(ChangeRefused.ON_LEAVE, f"{person} is on leave on {day}")
    if target.person == person:
        return roster
    held_today = sum(1 for slot in today if slot.person == person)
    if held_today + 1 > roster.day_limit(day):
        raise RosterChangeRefused(
            ChangeRefused.ALREADY_ON_DUTY, f"{person} already holds a shift on {day}"
        )
    changed = Slot(target.day, target.shift, person)
    slots = tuple(changed if slot == target else slot for slot in roster.slots)
    return Roster(roster.year, roster.month, roster.people, slots, roster.leave)


def _slot_to_change(today: list[Slot], day: date, shift: str | None) -> Slot:
    if shift is None:
        if len(today) == 1:
            return today[0]
        if not today:
            raise RosterChangeRefused(ChangeRefused.NO_SUCH_SHIFT, f"{day} has no duty")
        names = ", ".join(slot.shift for slot in today)
        raise RosterChangeRefused(
            ChangeRefused.SHIFT_REQUIRED, f"{day} has several shifts ({names}); name one"
        )
    for slot in today:
        if slot.shift == shift:
            return slot
    raise RosterChangeRefused(ChangeRefused.NO_SUCH_SHIFT, f"{day} has no shift {shift}")


# --- Exporting -------------------------------------------------------------------------------


def to_csv(roster: Roster) -> str:
    """The roster as CSV: ``tanggal,hari,shift,petugas`` (ISO date, Indonesian weekday, key)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["tanggal", "hari", "shift", "petugas"])
    for slot in roster.slots:
        weekday = WEEKDAY_NAMES[slot.day.weekday()]
        writer.writerow([slot.day.isoformat(), weekday, slot.shift, slot.person or ""])
    return buffer.getvalue()


def to_ical(
    roster: Roster,
    names: Mapping[str, str],
    tz_name: str,
    shift_times: Mapping[str, tuple[time, time]],
    *,
    stamp: datetime | None = None,
) -> str:
    """The roster as an RFC 5545 calendar: one event per slot, in the desk's time zone.

    ``names`` maps a person's key to the name shown (the key when missing); ``shift_times``
    gives each shift's local start and end (an end not after the start is on the next day).
    ``stamp`` is the DTSTAMP (aware); by default the start of the month in UTC, so the text
    depends on the roster alone. Lines end in CRLF and are folded at 75 octets.
    """
    missing = sorted({slot.shift for slot in roster.slots} - set(shift_times))
    if missing:
        raise ValueError(f"no start and end time for shift(s): {', '.join(missing)}")
    if stamp is None:
        stamp = datetime(roster.year, roster.month, 1, tzinfo=UTC)
    if stamp.tzinfo is None:
        raise ValueError("stamp must be timezone-aware")
    stamp_text = stamp.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    days = _month_days(roster.year, roster.month)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Warta//Jadwal Piket Media Center//ID",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        *_vtimezone(tz_name, days[0], days[-1] + timedelta(days=1)),
    ]
    for slot in roster.slots:
        lines += _vevent(slot, names, tz_name, shift_times[slot.shift], stamp_text)
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)


def _vevent(
    slot: Slot, names: Mapping[str, str], tz_name: str, times: tuple[time, time], stamp: str
) -> list[str]:
    begins, ends = times
    start = datetime.combine(slot.day, begins.replace(tzinfo=None))
    end = datetime.combine(slot.day, ends.replace(tzinfo=None))
    if end <= start:
        end += timedelta(days=1)  # a night shift ends the next morning
    name = UNFILLED_NAME if slot.person is None else names.get(slot.person, slot.person)
    return [
        "BEGIN:VEVENT",
        f"UID:{_text(f'roster-{slot.day.isoformat()}-{slot.shift}@warta')}",
        f"DTSTAMP:{stamp}",
        f"DTSTART;TZID={tz_name}:{start:%Y%m%dT%H%M%S}",
        f"DTEND;TZID={tz_name}:{end:%Y%m%dT%H%M%S}",
        f"SUMMARY:{_text(f'Piket Media Center: {name}')}",
        f"DESCRIPTION:{_text(f'Shift {slot.shift}')}",
        "END:VEVENT",
    ]


def _vtimezone(tz_name: str, first: date, last: date) -> list[str]:
    """A VTIMEZONE covering ``first`` to ``last`` (RFC 5545 wants one for every TZID used).

    The zone's offset is sampled every quarter hour from a day before to a day after, and each
    change becomes an observance starting at that moment.
    """
    zone = ZoneInfo(tz_name)
    moment = datetime.combine(first - timedelta(days=1), time(0), tzinfo=UTC)
    until = datetime.combine(last + timedelta(days=1), time(0), tzinfo=UTC)
    offset = _offset(zone, moment)
    lines = ["BEGIN:VTIMEZONE", f"TZID:{tz_name}", *_observance(zone, moment, offset, offset)]
    while moment < until:
        moment += timedelta(minutes=15)
        new_offset = _offset(zone, moment)
        if new_offset != offset:
            lines += _observance(zone, moment, offset, new_offset)
            offset = new_offset
    lines.append("END:VTIMEZONE")
    return lines


def _offset(zone: ZoneInfo, moment: datetime) -> timedelta:
    offset = moment.astimezone(zone).utcoffset()
    assert offset is not None  # a ZoneInfo always knows its offset
    return offset


def _observance(zone: ZoneInfo, onset: datetime, before: timedelta, after: timedelta) -> list[str]:
    local = onset.astimezone(zone)
    kind = "DAYLIGHT" if local.dst() else "STANDARD"
    # An observance starts at the local time of its onset, read in the offset before it.
    starts = (onset.replace(tzinfo=None) + before).strftime("%Y%m%dT%H%M%S")
    return [
        f"BEGIN:{kind}",
        f"DTSTART:{starts}",
        f"TZOFFSETFROM:{_utc_offset(before)}",
        f"TZOFFSETTO:{_utc_offset(after)}",
        f"TZNAME:{_text(local.tzname() or '')}",
        f"END:{kind}",
    ]


def _utc_offset(offset: timedelta) -> str:
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}{minutes % 60:02d}"


def _text(value: str) -> str:
    """Escape a TEXT value (RFC 5545 section 3.3.11)."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Fold a content line at 75 octets without splitting a UTF-8 character (section 3.1)."""
    pieces, current, size = [], "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > 75:
            pieces.append(current)
            current, size = " ", 1
        current += char
        size += width
    pieces.append(current)
    return "\r\n".join(pieces)
