"""The duty roster: a December worked by hand, every guarantee as a property, swaps and exports."""

from __future__ import annotations

import calendar
import math
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflow.roster import (
    ChangeRefused,
    Roster,
    RosterChangeRefused,
    RosterRules,
    Slot,
    WarningCode,
    generate_roster,
    swap,
    to_csv,
    to_ical,
)

PEOPLE = ("ani", "budi", "citra", "dedi")
ONE_SHIFT = RosterRules(people=PEOPLE, shifts=("pagi",))
CHRISTMAS = date(2026, 12, 25)
CUTI_BERSAMA = date(2026, 12, 24)
DECEMBER_HOLIDAYS = frozenset({CHRISTMAS, CUTI_BERSAMA})
PAGI = (time(8, 0), time(16, 0))


def december(**kwargs: object) -> Roster:
    return generate_roster(2026, 12, ONE_SHIFT, holidays=DECEMBER_HOLIDAYS, **kwargs)


def days_between(first: date, last: date) -> frozenset[date]:
    return frozenset(first + timedelta(days=n) for n in range((last - first).days + 1))


# --- Independent checks, written from the module docstring -----------------------------------


def expected_slots(
    year: int, month: int, rules: RosterRules, holidays: frozenset[date]
) -> list[tuple[date, str]]:
    """The month's (day, shift) pairs, worked out from the calendar."""
    expected = []
    for number in range(1, calendar.monthrange(year, month)[1] + 1):
        day = date(year, month, number)
        if day in holidays:
            shifts = rules.holiday_shifts
        elif day.weekday() in (calendar.SATURDAY, calendar.SUNDAY):
            shifts = rules.weekend_shifts
        else:
            shifts = rules.shifts
        expected += [(day, shift) for shift in shifts]
    return expected


def on_leave(person: str, day: date, leave: dict[str, frozenset[date]]) -> bool:
    return day in leave.get(person, frozenset())


def day_limit(roster: Roster, day: date, leave: dict[str, frozenset[date]]) -> int:
    shifts = sum(1 for slot in roster.slots if slot.day == day)
    available = sum(1 for person in roster.people if not on_leave(person, day, leave))
    return 1 if available == 0 or shifts <= available else math.ceil(shifts / available)


def consecutive_pairs(slots: tuple[Slot, ...] | list[Slot]) -> list[int]:
    """Indexes i where one person holds slots i and i + 1."""
    return [
        i
        for i in range(len(slots) - 1)
        if slots[i].person is not None and slots[i].person == slots[i + 1].person
    ]


def check_hard_constraints(roster: Roster, leave: dict[str, frozenset[date]]) -> None:
    """Guarantees 1 and 2: leave is respected, empty slots and double shifts only when forced."""
    load = Counter((slot.person, slot.day) for slot in roster.slots if slot.person is not None)
    for slot in roster.slots:
        available = [p for p in roster.people if not on_leave(p, slot.day, leave)]
        if slot.person is None:
            assert not available, f"{slot} left empty although {available} are free"
        else:
            assert slot.person in roster.people
            assert not on_leave(slot.person, slot.day, leave), f"{slot}: on leave"
    for (person, day), held in load.items():
        assert held <= day_limit(roster, day, leave), f"{person} holds {held} shifts on {day}"
    doubles = {(w.person, w.day) for w in roster.warnings if w.code is WarningCode.DOUBLE_SHIFT}
    assert doubles == {key for key, held in load.items() if held > 1}
    unfilled = [(w.day, w.shift) for w in roster.warnings if w.code is WarningCode.UNFILLED]
    assert unfilled == [(slot.day, slot.shift) for slot in roster.unfilled]


def check_fairness(roster: Roster, leave: dict[str, frozenset[date]]) -> None:
    """Guarantee 3, exactly as the module docstring states it, and its two corollaries."""
    counts = roster.counts()
    duty_days = {slot.day for slot in roster.slots}
    free = {p: {d for d in duty_days if not on_leave(p, d, leave)} for p in roster.people}
    load = Counter((slot.person, slot.day) for slot in roster.slots)
    for a in roster.people:
        for b in roster.people:
            if counts[a] >= counts[b] + 2:
                for slot in roster.slots:
                    if slot.person == a:
                        at_limit = load[b, slot.day] >= day_limit(roster, slot.day, leave)
                        blocked = on_leave(b, slot.day, leave) or at_limit
                        assert blocked, f"{a} ({counts[a]}) could hand {slot} to {b} ({counts[b]})"
            if free[a] <= free[b]:
                assert counts[a] <= counts[b] + (0 if free[a] < free[b] else 1), (a, b, counts)
    full_time = [counts[p] for p in roster.people if free[p] == duty_days]
    if full_time:
        assert max(full_time) - min(full_time) <= 1
        for person in roster.people:
            if free[person] != duty_days:
                assert counts[person] <= min(full_time)


def check_consecutive(roster: Roster, leave: dict[str, frozenset[date]]) -> None:
    """Guarantee 4: every consecutive pair is reported, and no exchange would lower their number."""
    slots = list(roster.slots)
    pairs = consecutive_pairs(slots)
    reported = [
        (w.follows, Slot(w.day, w.shift, w.person))
        for w in roster.warnings
        if w.code is WarningCode.CONSECUTIVE
    ]
    assert reported == [(slots[i], slots[i + 1]) for i in pairs]

    def allowed(person: str, day: date, load: Counter[tuple[str, date]]) -> bool:
        within_limit = load[person, day] <= day_limit(roster, day, leave)
        return within_limit and not on_leave(person, day, leave)

    in_pairs = {i for start in pairs for i in (start, start + 1)}
    for first in in_pairs:
        for second in range(len(slots)):
            one, other = slots[first].person, slots[second].person
            if one is None or other is None or one == other:
                continue
            exchanged = slots.copy()
            exchanged[first] = Slot(slots[first].day, slots[first].shift, other)
            exchanged[second] = Slot(slots[second].day, slots[second].shift, one)
            load = Counter((s.person, s.day) for s in exchanged)
            if allowed(other, slots[first].day, load) and allowed(one, slots[second].day, load):
                assert len(consecutive_pairs(exchanged)) >= len(pairs), (first, second)


def check_everything(
    roster: Roster,
    rules: RosterRules,
    holidays: frozenset[date],
    leave: dict[str, frozenset[date]],
) -> None:
    assert [(s.day, s.shift) for s in roster.slots] == expected_slots(
        roster.year, roster.month, rules, holidays
    )
    check_hard_constraints(roster, leave)
    check_fairness(roster, leave)
    check_consecutive(roster, leave)


# --- December 2026, worked by hand ------------------------------------------------------------
# 31 days, 8 of them Saturday or Sunday, and the 24th (cuti bersama) and 25th (Christmas) off:
# 21 working days for four people is 6 + 5 + 5 + 5.


def test_december_counts_follow_the_rotation():
    roster = december()
    assert roster.counts() == {"ani": 6, "budi": 5, "citra": 5, "dedi": 5}
    assert [slot.person for slot in roster.slots[:5]] == ["ani", "budi", "citra", "dedi", "ani"]
    assert roster.warnings == ()
    check_everything(roster, ONE_SHIFT, DECEMBER_HOLIDAYS, {})


def test_december_has_no_duty_on_weekends_or_holidays():
    roster = december()
    duty_days = {slot.day for slot in roster.slots}
    assert len(roster.slots) == len(duty_days) == 21
    assert not any(day.weekday() >= 5 for day in duty_days)
    assert CHRISTMAS not in duty_days and CUTI_BERSAMA not in duty_days
    assert roster.on(date(2026, 12, 5)) == [] and roster.on(CHRISTMAS) == []
    assert roster.on(date(2026, 12, 1)) == [Slot(date(2026, 12, 1), "pagi", "ani")]


def test_a_seed_rotates_who_starts():
    assert december(seed=1).counts() == {"ani": 5, "budi": 6, "citra": 5, "dedi": 5}
    assert december(seed=1).slots[0].person == "budi"
    assert december(seed=4) == december(seed=0)


def test_december_leave_is_respected_and_shared_fairly():
    cuti = days_between(date(2026, 12, 14), date(2026, 12, 18))
    leave = {"citra": cuti}
    roster = december(unavailable=leave)
    assert not [slot for slot in roster.slots if slot.person == "citra" and slot.day in cuti]
    counts = roster.counts()
    assert sum(counts.values()) == 21
    assert counts["citra"] <= min(counts["ani"], counts["budi"], counts["dedi"])
    check_everything(roster, ONE_SHIFT, DECEMBER_HOLIDAYS, leave)


def test_someone_on_leave_all_month_gets_nothing_and_the_rest_share_evenly():
    leave = {"dedi": days_between(date(2026, 12, 1), date(2026, 12, 31))}
    roster = december(unavailable=leave)
    assert roster.counts() == {"ani": 7, "budi": 7, "citra": 7, "dedi": 0}
    check_everything(roster, ONE_SHIFT, DECEMBER_HOLIDAYS, leave)


def test_a_day_with_nobody_available_is_left_empty_and_reported():
    day = date(2026, 12, 2)
    leave = {person: frozenset({day}) for person in PEOPLE}
    roster = december(unavailable=leave)
    assert roster.on(day) == [Slot(day, "pagi", None)]
    assert roster.unfilled == (Slot(day, "pagi", None),)
    [warning] = roster.warnings
    assert (warning.code, warning.day) == (WarningCode.UNFILLED, day)
    assert warning.message == "2026-12-02 pagi: nobody is available"
    check_everything(roster, ONE_SHIFT, DECEMBER_HOLIDAYS, leave)


def test_too_few_people_for_the_shifts_means_reported_double_shifts():
    rules = RosterRules(people=("ani", "budi"), shifts=("pagi", "siang", "malam"))
    roster = generate_roster(2026, 12, rules)
    first_day = roster.on(date(2026, 12, 1))
    assert Counter(slot.person for slot in first_day) == {"ani": 2, "budi": 1}
    codes = Counter(w.code for w in roster.warnings)
    assert codes[WarningCode.DOUBLE_SHIFT] == 23  # one per working day
    assert roster.counts() == {"ani": 35, "budi": 34}
    check_everything(roster, rules, frozenset(), {})


def test_one_person_alone_holds_consecutive_shifts_and_each_pair_is_reported():
    rules = RosterRules(people=("ani",), shifts=("pagi",), weekend_shifts=("pagi",))
    roster = generate_roster(2026, 2, rules)
    consecutive = [w for w in roster.warnings if w.code is WarningCode.CONSECUTIVE]
    assert len(consecutive) == 27
    assert consecutive[0].message == "2026-02-02 pagi: ani again, straight after 2026-02-01 pagi"


def test_weekend_and_holiday_shifts():
    rules = RosterRules(PEOPLE, ("pagi", "siang"), weekend_shifts=("pagi",), holiday_shifts=("x",))
    roster = generate_roster(2026, 12, rules, holidays=frozenset({date(2026, 12, 26)}))
    assert [s.shift for s in roster.on(date(2026, 12, 1))] == ["pagi", "siang"]
    assert [s.shift for s in roster.on(date(2026, 12, 5))] == ["pagi"]
    assert [s.shift for s in roster.on(date(2026, 12, 26))] == ["x"]  # a holiday on Saturday


@pytest.mark.parametrize(
    ("rules", "problem"),
    [
        (dict(people=(), shifts=("pagi",)), "at least one person"),
        (dict(people=("ani", "ani"), shifts=("pagi",)), "people lists ani more than once"),
        (dict(people=("ani",), shifts=("pagi", "pagi")), "shifts lists pagi more than once"),
        (dict(people=("ani",), shifts=("",)), "shifts has an empty name"),
    ],
)
def test_rules_are_checked_when_built(rules: dict, problem: str):
    with pytest.raises(ValueError, match=problem):
        RosterRules(**rules)


def test_leave_outside_the_month_and_of_people_not_rostered_is_ignored():
    leave = {"ani": frozenset({date(2026, 11, 30)}), "zaki": frozenset({date(2026, 12, 1)})}
    assert december(unavailable=leave) == december()


# --- Every guarantee, on random months ----------------------------------------------------------

SHIFT_NAMES = ("pagi", "siang", "malam")


@st.composite
def leave_patterns(draw: st.DrawFn, days: list[date]) -> frozenset[date]:
    """No leave, scattered days, one block of cuti, or the whole month."""
    kind = draw(st.sampled_from(["none", "none", "scattered", "block", "month"]))
    if kind == "scattered":
        return draw(st.frozensets(st.sampled_from(days), max_size=len(days)))
    if kind == "block":
        start = draw(st.integers(0, len(days) - 1))
        length = draw(st.integers(1, 14))
        return frozenset(days[start : start + length])
    return frozenset(days) if kind == "month" else frozenset()


@st.composite
def scenarios(
    draw: st.DrawFn, *, leave: bool = True
) -> tuple[int, int, RosterRules, frozenset[date], dict[str, frozenset[date]], int]:
    year, month = draw(st.integers(2024, 2030)), draw(st.integers(1, 12))
    days = [date(year, month, n) for n in range(1, calendar.monthrange(year, month)[1] + 1)]
    people = tuple(f"p{n}" for n in range(draw(st.integers(1, 12))))
    shifts = SHIFT_NAMES[: draw(st.integers(1, 3))]
    rules = RosterRules(
        people=people,
        shifts=shifts,
        weekend_shifts=draw(st.sampled_from([(), shifts[:1], shifts])),
        holiday_shifts=draw(st.sampled_from([(), shifts[:1]])),
    )
    holidays = draw(st.frozensets(st.sampled_from(days), max_size=4))
    leaves = {p: draw(leave_patterns(days)) for p in people} if leave else {}
    return year, month, rules, holidays, leaves, draw(st.integers(0, 30))


@settings(max_examples=250, deadline=None)
@given(scenarios())
def test_every_roster_keeps_every_guarantee(scenario):
    year, month, rules, holidays, leave, seed = scenario
    roster = generate_roster(year, month, rules, holidays=holidays, unavailable=leave, seed=seed)
    check_everything(roster, rules, holidays, leave)
    again = generate_roster(year, month, rules, holidays=holidays, unavailable=leave, seed=seed)
    assert again == roster


@settings(max_examples=100, deadline=None)
@given(scenarios(leave=False), st.data())
def test_with_enough_people_and_no_leave_nobody_works_back_to_back(scenario, data):
    """No leave, at least two people and no more shifts on a day than people: a clean rotation.

    This covers the usual rule of thumb (2 x shifts + 1 people) and more.
    """
    year, month, rules, holidays, _, seed = scenario
    most_shifts = max(len(rules.shifts), len(rules.weekend_shifts), len(rules.holiday_shifts))
    size = data.draw(st.integers(max(2, most_shifts), 12), label="people")
    rules = replace(rules, people=tuple(f"p{n}" for n in range(size)))
    roster = generate_roster(year, month, rules, holidays=holidays, seed=seed)
    assert roster.warnings == ()
    counts = roster.counts().values()
    assert max(counts) - min(counts) <= 1


# --- Swapping -------------------------------------------------------------------------------


def test_swap_replaces_the_only_shift_and_keeps_the_rest():
    roster = december()
    day = date(2026, 12, 2)
    changed = swap(roster, day, None, "dedi")
    assert changed.on(day) == [Slot(day, "pagi", "dedi")]
    assert [s for s in changed.slots if s.day != day] == [s for s in roster.slots if s.day != day]
    assert changed.counts() == {"ani": 6, "budi": 4, "citra": 5, "dedi": 6}


def test_swap_reports_a_consecutive_pair_it_creates():
    roster = december()
    changed = swap(roster, date(2026, 12, 2), "pagi", "ani")  # ani also holds the 1st
    [warning] = changed.warnings
    assert warning.code is WarningCode.CONSECUTIVE
    assert warning.follows == Slot(date(2026, 12, 1), "pagi", "ani")


def test_swap_to_the_same_person_changes_nothing():
    roster = december()
    assert swap(roster, date(2026, 12, 1), None, "ani") is roster


TWO_SHIFTS = RosterRules(people=PEOPLE, shifts=("pagi", "siang"))


@pytest.mark.parametrize(
    ("rules", "day", "shift", "person", "code"),
    [
        (ONE_SHIFT, date(2026, 12, 5), None, "ani", ChangeRefused.NO_SUCH_SHIFT),
        (ONE_SHIFT, date(2026, 12, 1), "malam", "ani", ChangeRefused.NO_SUCH_SHIFT),
        (TWO_SHIFTS, date(2026, 12, 1), None, "ani", ChangeRefused.SHIFT_REQUIRED),
        (ONE_SHIFT, date(2026, 12, 1), None, "zaki", ChangeRefused.UNKNOWN_PERSON),
        (ONE_SHIFT, date(2026, 12, 1), None, "citra", ChangeRefused.ON_LEAVE),
        (TWO_SHIFTS, date(2026, 12, 1), "siang", "ani", ChangeRefused.ALREADY_ON_DUTY),
    ],
)
def test_swap_refusals(rules, day, shift, person, code):
    leave = {"citra": frozenset({date(2026, 12, 1)})}
    roster = generate_roster(2026, 12, rules, unavailable=leave)
    assert roster.on(date(2026, 12, 1))[0].person == "ani"
    with pytest.raises(RosterChangeRefused) as refused:
        swap(roster, day, shift, person)
    assert refused.value.code is code
    assert isinstance(refused.value, ValueError)


def test_swap_may_double_a_shift_when_too_few_are_available():
    rules = RosterRules(people=("ani", "budi"), shifts=("pagi", "siang", "malam"))
    roster = generate_roster(2026, 12, rules)
    day = date(2026, 12, 1)
    assert [s.person for s in roster.on(day)] == ["ani", "budi", "ani"]
    changed = swap(roster, day, "malam", "budi")
    assert [s.person for s in changed.on(day)] == ["ani", "budi", "budi"]


# --- Exports --------------------------------------------------------------------------------


def small_roster() -> Roster:
    """Three days of 2026-12 from Friday to Sunday, with weekend duty, two people, two shifts."""
    rules = RosterRules(("ani", "budi"), ("pagi", "siang"), weekend_shifts=("pagi",))
    roster = generate_roster(2026, 12, rules, unavailable={"budi": frozenset({date(2026, 12, 6)})})
    keep = {date(2026, 12, 4), date(2026, 12, 5), date(2026, 12, 6)}
    return Roster(2026, 12, roster.people, tuple(s for s in roster.slots if s.day in keep))


def test_csv_golden_text():
    assert to_csv(small_roster()) == (
        "tanggal,hari,shift,petugas\n"
        "2026-12-04,Jumat,pagi,ani\n"
        "2026-12-04,Jumat,siang,budi\n"
        "2026-12-05,Sabtu,pagi,budi\n"  # budi twice in a row: only ani is free on Sunday
        "2026-12-06,Minggu,pagi,ani\n"
    )


def test_csv_leaves_an_empty_slot_blank_and_quotes_commas():
    roster = Roster(2026, 12, ("a,b",), (Slot(date(2026, 12, 1), "pagi", None),))
    assert to_csv(roster).splitlines()[1] == "2026-12-01,Selasa,pagi,"
    roster = Roster(2026, 12, ("a,b",), (Slot(date(2026, 12, 1), "pagi", "a,b"),))
    assert to_csv(roster).splitlines()[1] == '2026-12-01,Selasa,pagi,"a,b"'


def unfold(text: str) -> list[str]:
    """Content lines of an iCalendar text, checking CRLF endings and the 75-octet limit."""
    assert text.endswith("\r\n")
    physical = text[:-2].split("\r\n")
    assert all("\n" not in line and "\r" not in line for line in physical)
    assert all(len(line.encode("utf-8")) <= 75 for line in physical)
    lines: list[str] = []
    for line in physical:
        if line.startswith(" "):
            lines[-1] += line[1:]
        else:
            lines.append(line)
    return lines


def events(lines: list[str]) -> list[dict[str, str]]:
    found, current = [], None
    for line in lines:
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            found.append(current)
            current = None
        elif current is not None:
            name, _, value = line.partition(":")
            current[name] = value
    return found


def test_ical_has_one_event_per_slot_in_the_desk_time_zone():
    roster = december()
    text = to_ical(roster, {"ani": "Ani Lestari"}, "Asia/Jakarta", {"pagi": PAGI})
    lines = unfold(text)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines and "TZID:Asia/Jakarta" in lines
    assert "TZOFFSETTO:+0700" in lines
    found = events(lines)
    assert len(found) == len(roster.slots) == 21
    assert found[0] == {
        "UID": "roster-2026-12-01-pagi@warta",
        "DTSTAMP": "20261201T000000Z",
        "DTSTART;TZID=Asia/Jakarta": "20261201T080000",
        "DTEND;TZID=Asia/Jakarta": "20261201T160000",
        "SUMMARY": "Piket Media Center: Ani Lestari",
        "DESCRIPTION": "Shift pagi",
    }
    assert found[1]["SUMMARY"] == "Piket Media Center: budi"  # no display name: the key
    assert len({event["UID"] for event in found}) == 21


def test_ical_folds_long_lines_escapes_text_and_ends_night_shifts_next_day():
    name = "Ratna Kusumawardhani, S.I.Kom.; Koordinator Liputan Pemerintahan Kota — Bagian Humas"
    roster = Roster(2026, 12, ("ratna",), (Slot(date(2026, 12, 31), "malam", "ratna"),))
    stamp = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)
    night = {"malam": (time(22, 0), time(6, 0))}
    text = to_ical(roster, {"ratna": name}, "Asia/Jayapura", night, stamp=stamp)
    [event] = events(unfold(text))
    escaped = name.replace(",", "\\,").replace(";", "\\;")
    assert event["SUMMARY"] == f"Piket Media Center: {escaped}"
    assert event["DTSTART;TZID=Asia/Jayapura"] == "20261231T220000"
    assert event["DTEND;TZID=Asia/Jayapura"] == "20270101T060000"
    assert event["DTSTAMP"] == "20261130T091500Z"
    assert "\r\n " in text  # the summary was folded


def test_ical_describes_a_daylight_saving_change_in_the_month():
    rules = RosterRules(people=("ani", "budi"), shifts=("pagi",), weekend_shifts=("pagi",))
    roster = generate_roster(2026, 3, rules)
    lines = unfold(to_ical(roster, {}, "Europe/Amsterdam", {"pagi": PAGI}))
    start = lines.index("BEGIN:DAYLIGHT")
    assert lines[start : start + 5] == [
        "BEGIN:DAYLIGHT",
        "DTSTART:20260329T020000",
        "TZOFFSETFROM:+0100",
        "TZOFFSETTO:+0200",
        "TZNAME:CEST",
    ]


def test_ical_needs_times_for_every_shift():
    with pytest.raises(ValueError, match="pagi"):
        to_ical(december(), {}, "Asia/Jakarta", {})


def test_ical_parses_back_with_icalendar_when_installed():
    icalendar = pytest.importorskip("icalendar")
    calendar_ = icalendar.Calendar.from_ical(
        to_ical(december(), {}, "Asia/Jakarta", {"pagi": PAGI})
    )
    assert len(calendar_.walk("VEVENT")) == 21
