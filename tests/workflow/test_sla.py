"""SLA arithmetic: the SOP step of every state, when a step's clock restarts, and when it is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from workflow.calendar import (
    BusinessCalendar,
    ClockMode,
    indonesian_holidays,
    parse_working_hours,
)
from workflow.lifecycle import Role, StoryState
from workflow.sla import (
    DEFAULT_WINDOWS,
    ReminderPoint,
    SlaPolicy,
    Step,
    StepHolder,
    starts_new_step,
    step_holder,
    step_of,
    submission_clock_start,
    time_left,
)

S = StoryState


def deadline(step: Step, started: datetime, windows: dict, tz: ZoneInfo) -> datetime:
    """The deadline on an around-the-clock desk (no working hours configured)."""
    return SlaPolicy(calendar=BusinessCalendar(tz=tz), windows=windows).due(step, started)


JAKARTA = ZoneInfo("Asia/Jakarta")  # WIB, UTC+7
JAYAPURA = ZoneInfo("Asia/Jayapura")  # WIT, UTC+9

# Which step of the SOP a story in each state is waiting on (written by hand from the SOP).
STEP_OF = {
    S.REVISION_REQUESTED: Step.SUBMISSION,  # step 4: back with the reporter
    S.SUBMITTED: Step.EDITING,  # step 5: waiting for an editor
    S.EDITING: Step.EDITING,
    S.VERIFIED: Step.PUBLISHING,  # step 6: waiting for the operator
    S.PUBLISHING: Step.PUBLISHING,
    S.PUBLISHED: Step.DOCUMENTATION,  # step 7: documented by H+1
    S.SPIKED: None,
    S.ARCHIVED: None,
}


def test_every_state_has_an_expected_step():
    assert set(STEP_OF) == set(StoryState)


@pytest.mark.parametrize("state", list(StoryState))
def test_step_of_every_state(state: StoryState):
    assert step_of(state) is STEP_OF[state]


NEW_STEP = [
    # (old, new, whether the move starts a step's clock afresh)
    pytest.param(None, S.SUBMITTED, True, id="submit"),
    pytest.param(S.SUBMITTED, S.SUBMITTED, False, id="amend"),
    pytest.param(S.SUBMITTED, S.EDITING, False, id="claim"),
    pytest.param(S.EDITING, S.EDITING, False, id="add_version"),
    pytest.param(S.EDITING, S.SUBMITTED, False, id="release"),
    pytest.param(S.EDITING, S.VERIFIED, True, id="verify"),
    pytest.param(S.SUBMITTED, S.VERIFIED, True, id="submitted-to-verified"),
    pytest.param(S.SUBMITTED, S.REVISION_REQUESTED, True, id="revise-submitted"),
    pytest.param(S.EDITING, S.REVISION_REQUESTED, True, id="revise-editing"),
    pytest.param(S.VERIFIED, S.REVISION_REQUESTED, True, id="revise-verified"),
    pytest.param(S.REVISION_REQUESTED, S.SUBMITTED, True, id="resubmit"),
    pytest.param(S.VERIFIED, S.PUBLISHING, False, id="publish"),
    pytest.param(S.PUBLISHING, S.PUBLISHED, True, id="publish_succeeded"),
    pytest.param(S.PUBLISHED, S.EDITING, True, id="correction-claim"),
    pytest.param(S.PUBLISHED, S.ARCHIVED, False, id="archive"),
    pytest.param(S.SUBMITTED, S.SPIKED, False, id="spike-submitted"),
    pytest.param(S.EDITING, S.SPIKED, False, id="spike-editing"),
    pytest.param(S.VERIFIED, S.SPIKED, False, id="spike-verified"),
    pytest.param(S.REVISION_REQUESTED, S.SPIKED, False, id="spike-revision"),
]


@pytest.mark.parametrize(("old", "new", "fresh"), NEW_STEP)
def test_starts_new_step(old: StoryState | None, new: StoryState, fresh: bool):
    assert starts_new_step(old, new) is fresh


def test_the_default_windows_are_the_sops():
    assert dict(DEFAULT_WINDOWS) == {
        Step.SUBMISSION: timedelta(hours=1),
        Step.EDITING: timedelta(hours=3),
        Step.PUBLISHING: timedelta(hours=2),
    }


WINDOWED = [Step.SUBMISSION, Step.EDITING, Step.PUBLISHING]
START = datetime(2026, 12, 2, 9, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("step", "due"),
    [
        (Step.SUBMISSION, datetime(2026, 12, 2, 10, 15, tzinfo=UTC)),
        (Step.EDITING, datetime(2026, 12, 2, 12, 15, tzinfo=UTC)),
        (Step.PUBLISHING, datetime(2026, 12, 2, 11, 15, tzinfo=UTC)),
    ],
)
def test_a_windowed_step_is_due_its_default_window_after_it_starts(step: Step, due: datetime):
    assert deadline(step, START, DEFAULT_WINDOWS, JAKARTA) == due


CUSTOM_WINDOWS = {
    Step.SUBMISSION: timedelta(minutes=45),
    Step.EDITING: timedelta(hours=4, minutes=30),
    Step.PUBLISHING: timedelta(days=1),
}


@pytest.mark.parametrize("step", WINDOWED)
@pytest.mark.parametrize("tz", [UTC, JAKARTA], ids=["utc", "wib"])
def test_a_windowed_step_uses_the_window_it_is_given(step: Step, tz: ZoneInfo):
    started = START.astimezone(tz)

    due = deadline(step, started, CUSTOM_WINDOWS, JAKARTA)

    assert due == started + CUSTOM_WINDOWS[step]
    assert due - START == CUSTOM_WINDOWS[step]
    assert due.tzinfo is UTC


def wib(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=JAKARTA)


def wit(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=JAYAPURA)


DOCUMENTATION = [
    # (started, desk zone, due: the start of the day after next on the desk's calendar)
    pytest.param(wib(2026, 12, 2, 10, 0), JAKARTA, wib(2026, 12, 4, 0, 0), id="wib-morning"),
    pytest.param(wib(2026, 12, 2, 0, 0), JAKARTA, wib(2026, 12, 4, 0, 0), id="wib-midnight"),
    pytest.param(
        wib(2026, 12, 2, 23, 59, 59), JAKARTA, wib(2026, 12, 4, 0, 0), id="wib-last-second"
    ),
    # 23:30 WIB on 2 December, given as 16:30 UTC: the desk's date counts, whatever the zone.
    pytest.param(
        datetime(2026, 12, 2, 16, 30, tzinfo=UTC),
        JAKARTA,
        wib(2026, 12, 4, 0, 0),
        id="wib-late-evening-given-in-utc",
    ),
    # 17:30 UTC on 2 December is already 00:30 WIB on 3 December.
    pytest.param(
        datetime(2026, 12, 2, 17, 30, tzinfo=UTC),
        JAKARTA,
        wib(2026, 12, 5, 0, 0),
        id="wib-next-day-while-utc-is-not",
    ),
    pytest.param(wib(2026, 12, 31, 8, 0), JAKARTA, wib(2027, 1, 2, 0, 0), id="wib-new-year"),
    pytest.param(wib(2028, 2, 28, 8, 0), JAKARTA, wib(2028, 3, 1, 0, 0), id="wib-leap-year"),
    pytest.param(wit(2026, 12, 2, 23, 30), JAYAPURA, wit(2026, 12, 4, 0, 0), id="wit-evening"),
    pytest.param(
        datetime(2026, 12, 2, 14, 30, tzinfo=UTC),
        JAYAPURA,
        wit(2026, 12, 4, 0, 0),
        id="wit-evening-given-in-utc",
    ),
    # 16:00 UTC is 23:00 WIB (2 December) but 01:00 WIT (3 December): the desk's zone decides.
    pytest.param(
        datetime(2026, 12, 2, 16, 0, tzinfo=UTC),
        JAYAPURA,
        wit(2026, 12, 5, 0, 0),
        id="wit-already-tomorrow",
    ),
    pytest.param(
        datetime(2026, 12, 2, 16, 0, tzinfo=UTC),
        JAKARTA,
        wib(2026, 12, 4, 0, 0),
        id="wib-same-instant-still-today",
    ),
]


@pytest.mark.parametrize(("started", "tz", "due"), DOCUMENTATION)
def test_without_working_hours_documentation_is_due_at_the_end_of_the_next_day(
    started: datetime, tz: ZoneInfo, due: datetime
):
    result = deadline(Step.DOCUMENTATION, started, {}, tz)

    assert result == due
    assert result.astimezone(tz).timetuple()[:6] == due.timetuple()[:6]


def test_documentation_for_a_late_evening_in_wib_given_in_utc():
    """2026-12-02 23:30 WIB is 16:30 UTC, and is due 2026-12-04 00:00 WIB (17:00 UTC on the 3rd)."""
    started = datetime(2026, 12, 2, 16, 30, tzinfo=UTC)
    assert started == wib(2026, 12, 2, 23, 30)

    due = deadline(Step.DOCUMENTATION, started, DEFAULT_WINDOWS, JAKARTA)

    assert due == datetime(2026, 12, 3, 17, 0, tzinfo=UTC)
    assert due.astimezone(JAKARTA).replace(tzinfo=None) == datetime(2026, 12, 4, 0, 0)


@pytest.mark.parametrize("step", list(Step))
def test_a_naive_start_is_refused(step: Step):
    with pytest.raises(ValueError, match="timezone-aware"):
        deadline(step, datetime(2026, 12, 2, 10, 0), DEFAULT_WINDOWS, JAKARTA)


DUE = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "left"),
    [
        pytest.param(DUE - timedelta(minutes=90), timedelta(minutes=90), id="before"),
        pytest.param(DUE, timedelta(0), id="at"),
        pytest.param(DUE + timedelta(minutes=5), timedelta(minutes=-5), id="after"),
        pytest.param(wib(2026, 12, 2, 18, 0), timedelta(hours=1), id="before-now-in-wib"),
        pytest.param(wib(2026, 12, 2, 21, 30), timedelta(hours=-2, minutes=-30), id="after-wib"),
    ],
)
def test_time_left_is_positive_before_and_negative_after_the_deadline(
    now: datetime, left: timedelta
):
    result = time_left(DUE, now)

    assert result == left
    assert (result > timedelta(0)) is (now < DUE)
    assert (result < timedelta(0)) is (now > DUE)


def test_windows_are_real_time_across_a_daylight_saving_change():
    amsterdam = ZoneInfo("Europe/Amsterdam")
    start = datetime(2026, 3, 29, 1, 30, tzinfo=amsterdam)  # clocks jump 02:00 -> 03:00
    due = deadline(Step.EDITING, start, DEFAULT_WINDOWS, amsterdam)
    assert due.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=3)
    assert time_left(due, start) == timedelta(hours=3)


# -- the policy: working-hours steps, reminder points, holders ---------------------------------

OFFICE_CALENDAR = BusinessCalendar(
    tz=JAKARTA,
    hours=parse_working_hours({"mon-thu": "07.30-16.00", "fri": "07.30-16.30"}),
    days_off=indonesian_holidays(),
)
HALF, EIGHTY = ReminderPoint(fraction=0.5), ReminderPoint(fraction=0.8)
HALF_HOUR_BEFORE = ReminderPoint(before=timedelta(minutes=30))


def policy(**overrides: object) -> SlaPolicy:
    values: dict = {
        "calendar": OFFICE_CALENDAR,
        "reminders": {step: (HALF, EIGHTY) for step in Step},
    }
    values.update(overrides)
    return SlaPolicy(**values)


@pytest.mark.parametrize(
    ("step", "started", "due"),
    [
        # Around the clock (the default for the three windowed steps): nights and holidays count.
        pytest.param(
            Step.EDITING, wib(2026, 12, 24, 22, 0), wib(2026, 12, 25, 1, 0), id="editing-holiday"
        ),
        pytest.param(
            Step.SUBMISSION, wib(2026, 12, 6, 20, 0), wib(2026, 12, 6, 21, 0), id="sunday-evening"
        ),
        pytest.param(
            Step.PUBLISHING, wib(2026, 12, 2, 23, 30), wib(2026, 12, 3, 1, 30), id="over-midnight"
        ),
        # Documentation: the close of the next working day (H+1), over weekends and holidays.
        pytest.param(
            Step.DOCUMENTATION, wib(2026, 12, 2, 14, 0), wib(2026, 12, 3, 16, 0), id="doc-wed"
        ),
        pytest.param(
            Step.DOCUMENTATION, wib(2026, 12, 4, 14, 0), wib(2026, 12, 7, 16, 0), id="doc-fri"
        ),
        pytest.param(
            Step.DOCUMENTATION,
            wib(2026, 12, 23, 14, 0),
            wib(2026, 12, 28, 16, 0),
            id="doc-christmas",
        ),
    ],
)
def test_each_steps_deadline_on_the_office_calendar(step: Step, started: datetime, due: datetime):
    assert policy().due(step, started) == due


def test_a_working_hours_only_step_pauses_over_the_night():
    editing_in_office_hours = policy(
        clocks={Step.EDITING: ClockMode.WORKING_HOURS, Step.DOCUMENTATION: ClockMode.WORKING_HOURS}
    )
    assert editing_in_office_hours.due(Step.EDITING, wib(2026, 12, 2, 15, 0)) == wib(
        2026, 12, 3, 9, 30
    )
    # Friday closes at 16.30: 1h30 on Friday, 1h30 on Monday morning.
    assert editing_in_office_hours.due(Step.EDITING, wib(2026, 12, 4, 15, 0)) == wib(
        2026, 12, 7, 9, 0
    )


def test_reminder_points_and_the_breach_in_order():
    started = wib(2026, 12, 2, 9, 0)
    alarms = policy().alarms(Step.EDITING, started, policy().due(Step.EDITING, started))
    assert [(alarm.point, alarm.at) for alarm in alarms] == [
        ("50%", wib(2026, 12, 2, 10, 30)),
        ("80%", wib(2026, 12, 2, 11, 24)),
        ("breach", wib(2026, 12, 2, 12, 0)),
    ]
    assert alarms[-1].is_breach


def test_a_point_before_the_end_and_points_that_do_not_fit():
    points = (HALF_HOUR_BEFORE, ReminderPoint(before=timedelta(hours=4)), HALF)
    p = policy(reminders={Step.SUBMISSION: points})
    started = wib(2026, 12, 2, 9, 0)
    alarms = p.alarms(Step.SUBMISSION, started, p.due(Step.SUBMISSION, started))
    # "4 hours before" a 1-hour window would fall before the start, and 50 % is the same
    # moment as "30 minutes before": both left out.
    assert [(alarm.point, alarm.at) for alarm in alarms] == [
        ("-30m", wib(2026, 12, 2, 9, 30)),
        ("breach", wib(2026, 12, 2, 10, 0)),
    ]


def test_reminder_points_of_a_working_hours_clock_are_measured_in_working_time():
    p = policy(
        clocks={Step.EDITING: ClockMode.WORKING_HOURS},
        reminders={Step.EDITING: (HALF, HALF_HOUR_BEFORE)},
    )
    started = wib(2026, 12, 2, 15, 0)
    due = p.due(Step.EDITING, started)
    assert due == wib(2026, 12, 3, 9, 30)
    # Half of 3 working hours is 1h30: 1 hour on Wednesday, 30 minutes on Thursday morning.
    assert [(a.point, a.at) for a in p.alarms(Step.EDITING, started, due)] == [
        ("50%", wib(2026, 12, 3, 8, 0)),
        ("-30m", wib(2026, 12, 3, 9, 0)),
        ("breach", wib(2026, 12, 3, 9, 30)),
    ]


def test_alarms_across_a_daylight_saving_change_are_distinct_instants():
    amsterdam = ZoneInfo("Europe/Amsterdam")
    p = SlaPolicy(
        calendar=BusinessCalendar(tz=amsterdam),
        reminders={Step.EDITING: (HALF, EIGHTY, HALF_HOUR_BEFORE)},
    )
    for started in (
        datetime(2026, 3, 29, 0, 30, tzinfo=amsterdam),  # spring forward at 02.00
        datetime(2026, 10, 25, 0, 30, tzinfo=amsterdam),  # fall back at 03.00: 02.xx twice
    ):
        alarms = p.alarms(Step.EDITING, started, p.due(Step.EDITING, started))
        instants = [alarm.at for alarm in alarms]
        assert instants == sorted(set(instants))
        assert instants[-1] - started == timedelta(hours=3)
        assert instants[0] - started == timedelta(hours=1, minutes=30)


@pytest.mark.parametrize(
    ("point", "key"),
    [
        (ReminderPoint(fraction=0.5), "50%"),
        (ReminderPoint(fraction=0.875), "87.5%"),
        (ReminderPoint(before=timedelta(minutes=30)), "-30m"),
        (ReminderPoint(before=timedelta(minutes=1, seconds=30)), "-1m30s"),
    ],
)
def test_reminder_point_keys_are_stable(point: ReminderPoint, key: str):
    assert point.key == key


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"fraction": 1.0},
        {"fraction": 0.0},
        {"before": timedelta(0)},
        {"fraction": 0.5, "before": timedelta(minutes=1)},
    ],
)
def test_a_reminder_point_must_make_sense(kwargs: dict):
    with pytest.raises(ValueError):
        ReminderPoint(**kwargs)


@pytest.mark.parametrize(
    ("step", "holder_id", "expected"),
    [
        (Step.SUBMISSION, None, StepHolder(person_id=5)),
        (Step.EDITING, None, StepHolder(role=Role.EDITOR)),
        (Step.EDITING, 2, StepHolder(person_id=2)),
        (Step.PUBLISHING, 2, StepHolder(role=Role.OPERATOR)),
        (Step.DOCUMENTATION, None, StepHolder(role=Role.EDITOR)),
    ],
)
def test_who_holds_each_step(step: Step, holder_id: int | None, expected: StepHolder):
    assert step_holder(step, reporter_id=5, holder_id=holder_id) == expected


def test_a_submission_clock_starts_at_the_events_end_or_at_receipt():
    received = wib(2026, 12, 2, 9, 0)
    event_end = wib(2026, 12, 2, 11, 0)
    assert submission_clock_start(event_end, received) == event_end
    assert submission_clock_start(None, received) == received
