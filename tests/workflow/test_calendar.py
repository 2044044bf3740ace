"""The business calendar: working hours, Indonesian holidays and cuti bersama, paused clocks,
H+1, zones east and west, and a zone with daylight saving."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflow.calendar import (
    BusinessCalendar,
    ClockMode,
    NoWorkingTime,
    indonesian_holidays,
    parse_working_hours,
)

WIB = ZoneInfo("Asia/Jakarta")
WITA = ZoneInfo("Asia/Makassar")
WIT = ZoneInfo("Asia/Jayapura")
BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = parse_working_hours({"mon-thu": "07.30-16.00", "fri": "07.30-16.30"})
WH, ALWAYS = ClockMode.WORKING_HOURS, ClockMode.ALWAYS


def desk(tz: ZoneInfo = WIB, **extra: object) -> BusinessCalendar:
    return BusinessCalendar(tz=tz, hours=OFFICE, days_off=indonesian_holidays(), **extra)  # type: ignore[arg-type]


def local(tz: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=tz)


def wib(*parts: int) -> datetime:
    return local(WIB, *parts)


def test_the_holiday_table_knows_christmas_and_its_cuti_bersama():
    calendar = desk()
    assert calendar.is_day_off(date(2026, 12, 25))
    assert calendar.holiday_name(date(2026, 12, 25)) == "Hari Raya Natal"
    assert calendar.is_day_off(date(2026, 12, 24))  # cuti bersama
    assert "Cuti Bersama" in (calendar.holiday_name(date(2026, 12, 24)) or "")
    assert not calendar.is_day_off(date(2026, 12, 23))
    assert calendar.is_day_off(date(2031, 8, 17))  # the table grows to any year asked about


ADD_WORKING_HOURS = [
    # (start, clock time, due) on the WIB office calendar: Mon-Thu 07.30-16.00, Fri 07.30-16.30
    pytest.param(wib(2026, 12, 2, 9, 0), timedelta(hours=3), wib(2026, 12, 2, 12, 0), id="inside"),
    pytest.param(
        wib(2026, 12, 2, 15, 0), timedelta(hours=3), wib(2026, 12, 3, 9, 30), id="over-night"
    ),
    pytest.param(
        wib(2026, 12, 2, 18, 0), timedelta(hours=3), wib(2026, 12, 3, 10, 30), id="evening-start"
    ),
    pytest.param(
        wib(2026, 12, 2, 5, 0), timedelta(hours=1), wib(2026, 12, 2, 8, 30), id="before-opening"
    ),
    pytest.param(
        wib(2026, 12, 4, 15, 30), timedelta(hours=3), wib(2026, 12, 7, 9, 30), id="over-weekend"
    ),
    pytest.param(
        wib(2026, 12, 5, 10, 0), timedelta(hours=2), wib(2026, 12, 7, 9, 30), id="saturday-start"
    ),
    pytest.param(
        wib(2026, 12, 23, 15, 0),
        timedelta(hours=3),
        wib(2026, 12, 28, 9, 30),
        id="over-cuti-bersama-christmas-and-weekend",
    ),
    pytest.param(
        wib(2026, 12, 2, 13, 0), timedelta(hours=3), wib(2026, 12, 2, 16, 0), id="ends-at-closing"
    ),
    pytest.param(
        wib(2026, 12, 2, 9, 0),
        timedelta(hours=20),
        wib(2026, 12, 4, 12, 0),
        id="several-days",
    ),
]


@pytest.mark.parametrize(("start", "amount", "due"), ADD_WORKING_HOURS)
def test_a_working_hours_clock_pauses_outside_office_hours(
    start: datetime, amount: timedelta, due: datetime
):
    calendar = desk()
    assert calendar.add(start, amount, WH) == due
    assert calendar.between(start, due, WH) == amount


def test_an_around_the_clock_clock_does_not_pause():
    calendar = desk()
    start = wib(2026, 12, 24, 22, 0)  # a holiday evening
    assert calendar.add(start, timedelta(hours=3), ALWAYS) == wib(2026, 12, 25, 1, 0)
    assert calendar.between(start, wib(2026, 12, 25, 1, 0), ALWAYS) == timedelta(hours=3)


def test_a_lunch_break_pauses_the_clock():
    calendar = BusinessCalendar(
        tz=WIB, hours=parse_working_hours({"mon-fri": "08.00-12.00, 13.00-16.00"})
    )
    assert calendar.add(wib(2026, 12, 2, 11, 0), timedelta(hours=2), WH) == wib(2026, 12, 2, 14, 0)


def test_extra_days_off_and_extra_working_days_from_the_config():
    calendar = desk(
        extra_days_off={date(2026, 12, 3): "HUT Kota"},
        extra_working_days=frozenset({date(2026, 12, 5)}),
    )
    assert calendar.holiday_name(date(2026, 12, 3)) == "HUT Kota"
    # Wednesday 15.00 + 3h: 1h on Wednesday, Thursday off, Friday 07.30 + 2h.
    assert calendar.add(wib(2026, 12, 2, 15, 0), timedelta(hours=3), WH) == wib(2026, 12, 4, 9, 30)
    # The Saturday declared a working day keeps the hours of the week's first working day.
    assert calendar.intervals_on(date(2026, 12, 5)) == ((time(7, 30), time(16, 0)),)
    assert calendar.next_working_day(date(2026, 12, 4)) == date(2026, 12, 5)


H_PLUS_ONE = [
    pytest.param(wib(2026, 12, 2, 10, 0), wib(2026, 12, 3, 16, 0), id="wednesday"),
    pytest.param(wib(2026, 12, 3, 23, 0), wib(2026, 12, 4, 16, 30), id="thursday-night"),
    pytest.param(wib(2026, 12, 4, 11, 0), wib(2026, 12, 7, 16, 0), id="friday"),
    pytest.param(wib(2026, 12, 6, 9, 0), wib(2026, 12, 7, 16, 0), id="sunday"),
    pytest.param(wib(2026, 12, 23, 9, 0), wib(2026, 12, 28, 16, 0), id="before-christmas"),
    pytest.param(wib(2026, 12, 31, 9, 0), wib(2027, 1, 4, 16, 0), id="new-year"),
]


@pytest.mark.parametrize(("start", "due"), H_PLUS_ONE)
def test_h_plus_one_is_the_close_of_the_next_working_day(start: datetime, due: datetime):
    assert desk().end_of_next_working_day(start) == due


@pytest.mark.parametrize(
    ("tz", "start_utc", "due_local"),
    [
        # 02.00 UTC is 09.00 WIB, 10.00 WITA, 11.00 WIT: each office counts its own hours.
        pytest.param(WIB, datetime(2026, 12, 2, 2, 0, tzinfo=UTC), (2026, 12, 2, 12, 0), id="wib"),
        pytest.param(
            WITA, datetime(2026, 12, 2, 2, 0, tzinfo=UTC), (2026, 12, 2, 13, 0), id="wita"
        ),
        pytest.param(WIT, datetime(2026, 12, 2, 2, 0, tzinfo=UTC), (2026, 12, 2, 14, 0), id="wit"),
        # 23.30 UTC on the 1st is already 08.30 WIT on the 2nd (the local day begins "early").
        pytest.param(
            WIT, datetime(2026, 12, 1, 23, 30, tzinfo=UTC), (2026, 12, 2, 11, 30), id="wit-early"
        ),
    ],
)
def test_working_hours_are_the_desks_local_hours(
    tz: ZoneInfo, start_utc: datetime, due_local: tuple[int, ...]
):
    due = desk(tz).add(start_utc, timedelta(hours=3), WH)
    assert due == local(tz, *due_local)


def test_a_zone_with_daylight_saving_keeps_its_office_hours_on_both_sides():
    calendar = BusinessCalendar(tz=BERLIN, hours=parse_working_hours({"mon-fri": "08.00-16.00"}))
    # Friday 27 March 2026 15.00 CET + 2h: 1h on Friday, the clocks change on Sunday,
    # and Monday opens at 08.00 CEST (06.00 UTC, no longer 07.00 UTC).
    due = calendar.add(local(BERLIN, 2026, 3, 27, 15, 0), timedelta(hours=2), WH)
    assert due == local(BERLIN, 2026, 3, 30, 9, 0)
    assert due.astimezone(UTC) == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    # Around the clock, a window over the change is real time: 3 hours are 3 hours.
    start = local(BERLIN, 2026, 3, 29, 1, 30)
    assert calendar.add(start, timedelta(hours=3), ALWAYS) - start == timedelta(hours=3)
    assert calendar.add(start, timedelta(hours=3), ALWAYS) == local(BERLIN, 2026, 3, 29, 5, 30)


def test_a_calendar_without_working_time_refuses_a_working_hours_clock():
    with pytest.raises(NoWorkingTime):
        BusinessCalendar(tz=WIB).add(wib(2026, 12, 2, 9, 0), timedelta(hours=1), WH)


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"mon-fri": "16.00-07.30"}, "ends before it starts"),
        ({"mon": "07.30"}, "not a range of hours"),
        ({"monday-funday": "07.30-16.00"}, "not a day"),
        ({"fri-mon": "07.30-16.00"}, "from Monday to Sunday"),
        ({"mon": "7.3x-16.00"}, "not a time"),
        ({"mon-fri": "08.00-12.00, 11.00-16.00"}, "overlap"),
        ({"mon-fri": "08.00-16.00", "fri": "08.00-11.00"}, "given twice"),
    ],
)
def test_working_hours_that_cannot_be_read_are_refused(spec: dict, problem: str):
    with pytest.raises(ValueError, match=problem):
        BusinessCalendar(tz=WIB, hours=parse_working_hours(spec))


def test_working_hours_read_indonesian_day_names_and_days_off():
    hours = parse_working_hours({"sen-kam": "07:30-16:00", "jum": "07.30-16.30", "sab": "libur"})
    assert hours[0] == hours[3] == ((time(7, 30), time(16, 0)),)
    assert hours[4] == ((time(7, 30), time(16, 30)),)
    assert hours[5] == ()
    assert 6 not in hours


instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
amounts = st.integers(min_value=0, max_value=60 * 60 * 24 * 5).map(lambda s: timedelta(seconds=s))


@settings(max_examples=300, deadline=None)
@given(start=instants, amount=amounts, tz=st.sampled_from([WIB, WIT, BERLIN]))
def test_between_undoes_add(start: datetime, amount: timedelta, tz: ZoneInfo):
    calendar = desk(tz)
    due = calendar.add(start, amount, WH)
    assert due >= start
    assert calendar.between(start, due, WH) == amount
    if amount:
        # The clock stops at a moment inside working hours (or at closing time).
        local_due = due.astimezone(tz)
        intervals = calendar.intervals_on(local_due.date())
        assert any(begin < local_due.time() <= end for begin, end in intervals)


@settings(max_examples=200, deadline=None)
@given(start=instants, first=amounts, second=amounts.filter(bool))
def test_adding_in_two_steps_is_adding_once(start: datetime, first: timedelta, second: timedelta):
    calendar = desk()
    in_two_steps = calendar.add(calendar.add(start, first, WH), second, WH)
    assert in_two_steps == calendar.add(start, first + second, WH)
