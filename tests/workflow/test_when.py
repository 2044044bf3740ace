"""Reading agenda, leave and month phrases: every phrasing editors type, and every refusal."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflow.when import (
    DEFAULT_DURATION,
    LIKELY_LONGEST,
    MAX_DAYS,
    ZONE_NAMES,
    Unclear,
    UnclearCode,
    When,
    parse_dates,
    parse_month,
    parse_when,
)

TODAY = date(2026, 11, 25)  # a Wednesday
LATE_DECEMBER = date(2026, 12, 28)  # a Monday, four days before New Year
C = UnclearCode


def d(month: int, day: int, year: int = 2026) -> date:
    return date(year, month, day)


def at(
    day: date,
    start: str,
    end: str | None = None,
    *,
    explicit_end: bool | None = None,
    all_day: bool = False,
    zone: str | None = None,
) -> When:
    """The When a phrase should give; "09.00" style times, as the desk writes them."""

    def clock(text: str) -> time:
        hour, minute = text.split(".")
        return time(int(hour), int(minute))

    return When(
        day=day,
        start=clock(start),
        end=clock(end) if end else None,
        explicit_end=end is not None if explicit_end is None else explicit_end,
        all_day=all_day,
        zone_label=zone,
    )


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


# --- parse_when: phrases that are understood ---------------------------------------------------

WHEN_CASES = [
    # relative days
    pytest.param("hari ini 14.00", at(d(11, 25), "14.00"), id="hari-ini"),
    pytest.param("besok 09.00", at(d(11, 26), "09.00"), id="besok"),
    pytest.param("esok hari pukul 08.00", at(d(11, 26), "08.00"), id="esok-hari"),
    pytest.param("lusa jam 10", at(d(11, 27), "10.00"), id="lusa"),
    pytest.param("nanti malam 19.30", at(d(11, 25), "19.30"), id="nanti-malam"),
    pytest.param("malam ini jam 8", at(d(11, 25), "20.00"), id="malam-ini"),
    pytest.param("nanti sore jam 4", at(d(11, 25), "16.00"), id="nanti-sore-bare-hour"),
    pytest.param("besok pagi jam 7.30", at(d(11, 26), "07.30"), id="besok-pagi-jam"),
    # weekdays: the next occurrence after today (today is a Wednesday)
    pytest.param("Senin 09.00", at(d(11, 30), "09.00"), id="senin"),
    pytest.param("Selasa jam 9", at(d(12, 1), "09.00"), id="selasa"),
    pytest.param("Rabu jam 9", at(d(12, 2), "09.00"), id="rabu-on-a-wednesday-is-next-week"),
    pytest.param("Rabu ini jam 15", at(d(11, 25), "15.00"), id="rabu-ini-is-today"),
    pytest.param("Kamis jam 9", at(d(11, 26), "09.00"), id="kamis"),
    pytest.param("Jumat jam 13.30", at(d(11, 27), "13.30"), id="jumat"),
    pytest.param("Jum'at jam 13.30", at(d(11, 27), "13.30"), id="jum-apostrophe-at"),
    pytest.param("Jum’at jam 13.30", at(d(11, 27), "13.30"), id="jum-curly-apostrophe-at"),
    pytest.param("Sabtu pagi jam 6.30", at(d(11, 28), "06.30"), id="sabtu-pagi"),
    pytest.param("Minggu pagi jam 6", at(d(11, 29), "06.00"), id="minggu-is-sunday"),
    pytest.param("Ahad jam 7", at(d(11, 29), "07.00"), id="ahad"),
    pytest.param("hari Senin pukul 09.00", at(d(11, 30), "09.00"), id="hari-senin"),
    pytest.param("Senin depan jam 10", at(d(11, 30), "10.00"), id="senin-depan"),
    pytest.param("Jumat depan jam 10", at(d(12, 4), "10.00"), id="jumat-depan-is-next-week"),
    pytest.param("Senin minggu depan jam 9", at(d(11, 30), "09.00"), id="senin-minggu-depan"),
    pytest.param("Kamis pekan depan jam 9", at(d(12, 3), "09.00"), id="kamis-pekan-depan"),
    pytest.param("minggu depan hari Selasa jam 9", at(d(12, 1), "09.00"), id="week-then-day"),
    # dates, day first
    pytest.param("2/12 jam 9", at(d(12, 2), "09.00"), id="slash-no-year"),
    pytest.param("02/12/2026 09.00", at(d(12, 2), "09.00"), id="slash-year"),
    pytest.param("2-12-2026 09.00", at(d(12, 2), "09.00"), id="dash-year"),
    pytest.param("2.12.2026 09.00", at(d(12, 2), "09.00"), id="dotted-date-then-time"),
    pytest.param("2/12/26 09.00", at(d(12, 2), "09.00"), id="two-digit-year"),
    pytest.param("2026-12-02 09:00", at(d(12, 2), "09.00"), id="iso"),
    pytest.param("2 Desember 09.00", at(d(12, 2), "09.00"), id="month-name"),
    pytest.param("2 Des 2026 09.00", at(d(12, 2), "09.00"), id="month-abbreviation-year"),
    pytest.param("tgl 2 Desember 2026 09.00", at(d(12, 2), "09.00"), id="tgl"),
    pytest.param("tanggal 2/12 09.00", at(d(12, 2), "09.00"), id="tanggal-slash"),
    pytest.param("2 December 09.00", at(d(12, 2), "09.00"), id="english-month"),
    pytest.param("tgl 2 jam 9", at(d(12, 2), "09.00"), id="day-of-month-alone"),
    pytest.param("tgl 30 jam 9", at(d(11, 30), "09.00"), id="day-of-month-this-month"),
    pytest.param("3/1 jam 9", at(d(1, 3, 2027), "09.00"), id="yearless-date-next-year"),
    pytest.param("29/2 jam 9", at(d(2, 29, 2028), "09.00"), id="leap-day-next-leap-year"),
    pytest.param("Rabu 2/12 jam 9", at(d(12, 2), "09.00"), id="weekday-and-date-agree"),
    pytest.param(
        "Rabu, 2 Desember 2026 pukul 09.00 WIB",
        at(d(12, 2), "09.00", zone="WIB"),
        id="formal-full",
    ),
    pytest.param(
        "pada hari Kamis tanggal 26 November 2026 pukul 09.00 WIB",
        at(d(11, 26), "09.00", zone="WIB"),
        id="formal-with-fillers",
    ),
    pytest.param("Kamis (26/11) pukul 09.00", at(d(11, 26), "09.00"), id="date-in-brackets"),
    pytest.param("minggu depan tgl 2 jam 9", at(d(12, 2), "09.00"), id="week-and-date-agree"),
    # times
    pytest.param("besok 9.00", at(d(11, 26), "09.00"), id="one-digit-hour"),
    pytest.param("besok 09:00", at(d(11, 26), "09.00"), id="colon"),
    pytest.param("besok pukul 14.00", at(d(11, 26), "14.00"), id="pukul"),
    pytest.param("besok pkl. 13.30", at(d(11, 26), "13.30"), id="pkl"),
    pytest.param("besok jam 14", at(d(11, 26), "14.00"), id="jam-24-hour"),
    pytest.param("besok jam 8 pagi", at(d(11, 26), "08.00"), id="pagi"),
    pytest.param("besok jam 3 sore", at(d(11, 26), "15.00"), id="sore"),
    pytest.param("besok jam 7 malam", at(d(11, 26), "19.00"), id="malam"),
    pytest.param("besok pukul 12 siang", at(d(11, 26), "12.00"), id="siang-noon"),
    pytest.param("besok jam 1 siang", at(d(11, 26), "13.00"), id="siang-after-noon"),
    pytest.param("besok jam 6 petang", at(d(11, 26), "18.00"), id="petang"),
    pytest.param("besok jam 4 dini hari", at(d(11, 26), "04.00"), id="dini-hari"),
    pytest.param("besok jam 5 subuh", at(d(11, 26), "05.00"), id="subuh"),
    pytest.param("besok jam 8.30 malam", at(d(11, 26), "20.30"), id="malam-with-minutes"),
    pytest.param("besok 9 pagi", at(d(11, 26), "09.00"), id="bare-number-with-pagi"),
    pytest.param("besok jam 8", at(d(11, 26), "08.00"), id="office-hour-7-11-is-morning"),
    pytest.param("besok jam 11", at(d(11, 26), "11.00"), id="eleven-is-morning"),
    pytest.param("besok jam 12", at(d(11, 26), "12.00"), id="twelve-is-noon"),
    pytest.param("besok jam 0", at(d(11, 26), "00.00"), id="zero-is-midnight"),
    pytest.param("besok 03.00", at(d(11, 26), "03.00"), id="leading-zero-is-24-hour"),
    pytest.param("besok jam setengah 9", at(d(11, 26), "08.30"), id="setengah"),
    pytest.param("besok setengah 3 sore", at(d(11, 26), "14.30"), id="setengah-sore"),
    pytest.param("besok 14.00 WIB", at(d(11, 26), "14.00", zone="WIB"), id="wib"),
    pytest.param("besok 14.00 WITA", at(d(11, 26), "14.00", zone="WITA"), id="wita"),
    pytest.param("besok 14.00 wit", at(d(11, 26), "14.00", zone="WIT"), id="wit"),
    pytest.param("besok 14.00 WIB, WIB", at(d(11, 26), "14.00", zone="WIB"), id="zone-twice"),
    # ranges
    pytest.param("besok 09.00-11.00", at(d(11, 26), "09.00", "11.00"), id="range-dash"),
    pytest.param("besok 09.00 - 11.00", at(d(11, 26), "09.00", "11.00"), id="range-spaced"),
    pytest.param("besok 09.00–11.00", at(d(11, 26), "09.00", "11.00"), id="range-en-dash"),
    pytest.param("besok 09.00 — 11.00", at(d(11, 26), "09.00", "11.00"), id="range-em-dash"),
    pytest.param("besok 09.00 s.d. 11.00", at(d(11, 26), "09.00", "11.00"), id="range-s.d."),
    pytest.param("besok 09.00 s.d 11.00", at(d(11, 26), "09.00", "11.00"), id="range-s.d"),
    pytest.param("besok 09.00 s/d 11.00", at(d(11, 26), "09.00", "11.00"), id="range-s/d"),
    pytest.param("besok 09.00 sd 11.00", at(d(11, 26), "09.00", "11.00"), id="range-sd"),
    pytest.param("besok 09.00 sampai 11.00", at(d(11, 26), "09.00", "11.00"), id="sampai"),
    pytest.param(
        "besok 09.00 sampai dengan 11.00", at(d(11, 26), "09.00", "11.00"), id="sampai-dengan"
    ),
    pytest.param("besok 09.00 hingga 11.00", at(d(11, 26), "09.00", "11.00"), id="hingga"),
    pytest.param(
        "besok pukul 09.00 sampai selesai",
        at(d(11, 26), "09.00", explicit_end=True),
        id="sampai-selesai",
    ),
    pytest.param(
        "besok 09.00-selesai", at(d(11, 26), "09.00", explicit_end=True), id="dash-selesai"
    ),
    pytest.param(
        "Kamis, 26/11/2026 pukul 08.00 WIB s.d. selesai",
        at(d(11, 26), "08.00", explicit_end=True, zone="WIB"),
        id="formal-open-end",
    ),
    pytest.param(
        "besok dari jam 9 sampai jam 11", at(d(11, 26), "09.00", "11.00"), id="dari-sampai"
    ),
    pytest.param("besok jam 9-11", at(d(11, 26), "09.00", "11.00"), id="jam-hour-range"),
    pytest.param("besok 8-10", at(d(11, 26), "08.00", "10.00"), id="bare-hour-range"),
    pytest.param("besok 8 - 10 malam", at(d(11, 26), "20.00", "22.00"), id="bare-range-malam"),
    pytest.param("besok 8-selesai", at(d(11, 26), "08.00", explicit_end=True), id="bare-open"),
    pytest.param("besok jam 7-9 malam", at(d(11, 26), "19.00", "21.00"), id="start-borrows"),
    pytest.param(
        "besok jam 9 pagi sampai 2 siang", at(d(11, 26), "09.00", "14.00"), id="two-periods"
    ),
    pytest.param("nanti malam jam 7-9", at(d(11, 25), "19.00", "21.00"), id="phrase-period"),
    pytest.param(
        "besok 19.30 WIB s/d 22.00 WIB",
        at(d(11, 26), "19.30", "22.00", zone="WIB"),
        id="zone-on-both-ends",
    ),
    # ranges as the desk writes them ("09.00-11.00" is range-dash above): an end is read as
    # written, never guessed to be after noon
    pytest.param("besok 13.00-15.00", at(d(11, 26), "13.00", "15.00"), id="desk-afternoon"),
    pytest.param("besok 11.00-13.00", at(d(11, 26), "11.00", "13.00"), id="desk-across-noon"),
    pytest.param("besok 19.30-21.00", at(d(11, 26), "19.30", "21.00"), id="desk-evening"),
    pytest.param("besok 11.00-12.00", at(d(11, 26), "11.00", "12.00"), id="desk-until-noon"),
    pytest.param(
        "besok 08.00 - 12.00 WIB", at(d(11, 26), "08.00", "12.00", zone="WIB"), id="desk-wib"
    ),
    pytest.param("besok pukul 10 s.d. 12", at(d(11, 26), "10.00", "12.00"), id="desk-pukul-s.d."),
    pytest.param(
        "besok 10.00 sampai selesai",
        at(d(11, 26), "10.00", explicit_end=True),
        id="desk-sampai-selesai",
    ),
    # ... and read after noon only when the writer said so, on the end or on the start
    pytest.param("besok 11.00-1.00 siang", at(d(11, 26), "11.00", "13.00"), id="end-siang"),
    pytest.param("besok 11.00-1 siang", at(d(11, 26), "11.00", "13.00"), id="bare-end-siang"),
    pytest.param("besok jam 3 sore-5", at(d(11, 26), "15.00", "17.00"), id="start-sore-carries"),
    pytest.param("besok jam 1 siang - 3", at(d(11, 26), "13.00", "15.00"), id="start-siang"),
    pytest.param("besok siang jam 11-1", at(d(11, 26), "11.00", "13.00"), id="phrase-siang"),
    pytest.param("nanti sore jam 4-7", at(d(11, 25), "16.00", "19.00"), id="phrase-sore"),
    pytest.param("besok 10 pm", at(d(11, 26), "22.00"), id="pm"),
    pytest.param("besok 9 AM - 1 PM", at(d(11, 26), "09.00", "13.00"), id="am-to-pm"),
    pytest.param("besok 11.00-1.00 PM", at(d(11, 26), "11.00", "13.00"), id="end-pm"),
    pytest.param("besok 10.00-11.00 PM", at(d(11, 26), "22.00", "23.00"), id="start-borrows-pm"),
    # mixed order, case, punctuation
    pytest.param("pukul 14.00 besok", at(d(11, 26), "14.00"), id="time-first"),
    pytest.param("besok, 26 November, pukul 14.00", at(d(11, 26), "14.00"), id="day-and-date"),
    pytest.param("BESOK  ,, JAM 9", at(d(11, 26), "09.00"), id="shouting-and-commas"),
    pytest.param("besok mulai pukul 08.00", at(d(11, 26), "08.00"), id="mulai"),
    pytest.param("jam 7-9 malam besok", at(d(11, 26), "19.00", "21.00"), id="range-first"),
    # all day
    pytest.param("besok seharian", at(d(11, 26), "00.00", all_day=True), id="seharian"),
    pytest.param("Sabtu sehari penuh", at(d(11, 28), "00.00", all_day=True), id="sehari-penuh"),
    pytest.param("2/12 sepanjang hari", at(d(12, 2), "00.00", all_day=True), id="sepanjang"),
]


@pytest.mark.parametrize(("text", "expected"), WHEN_CASES)
def test_parse_when_understands(text: str, expected: When):
    assert parse_when(text, today=TODAY) == expected


LATE_DECEMBER_CASES = [
    pytest.param("3/1 jam 9", at(d(1, 3, 2027), "09.00"), id="3/1-is-next-january"),
    pytest.param("3 Januari jam 9", at(d(1, 3, 2027), "09.00"), id="januari-is-next-year"),
    pytest.param("2/1/2027 jam 9", at(d(1, 2, 2027), "09.00"), id="with-year"),
    pytest.param("31 Desember jam 20", at(d(12, 31), "20.00"), id="this-december"),
    pytest.param("besok jam 9", at(d(12, 29), "09.00"), id="besok"),
    pytest.param("lusa jam 9", at(d(12, 30), "09.00"), id="lusa"),
    pytest.param("Jumat jam 9", at(d(1, 1, 2027), "09.00"), id="jumat-is-new-year"),
    pytest.param("Jumat 1/1 jam 9", at(d(1, 1, 2027), "09.00"), id="jumat-1/1-agree"),
    pytest.param("Senin jam 9", at(d(1, 4, 2027), "09.00"), id="senin-on-a-monday"),
    pytest.param("Senin ini jam 9", at(d(12, 28), "09.00"), id="senin-ini-is-today"),
    pytest.param("Senin depan jam 9", at(d(1, 4, 2027), "09.00"), id="senin-depan"),
    pytest.param("Kamis depan jam 9", at(d(1, 7, 2027), "09.00"), id="kamis-depan"),
    pytest.param("tgl 2 jam 9", at(d(1, 2, 2027), "09.00"), id="day-of-month-next-month"),
]


@pytest.mark.parametrize(("text", "expected"), LATE_DECEMBER_CASES)
def test_parse_when_rolls_over_the_year(text: str, expected: When):
    assert parse_when(text, today=LATE_DECEMBER) == expected


MONTH_WORDS = [
    *[(word, 1) for word in ("Januari", "Jan", "January")],
    *[(word, 2) for word in ("Februari", "Feb", "Pebruari", "February")],
    *[(word, 3) for word in ("Maret", "Mar", "March")],
    *[(word, 4) for word in ("April", "Apr")],
    *[(word, 5) for word in ("Mei", "May")],
    *[(word, 6) for word in ("Juni", "Jun", "June")],
    *[(word, 7) for word in ("Juli", "Jul", "July")],
    *[(word, 8) for word in ("Agustus", "Agu", "Agt", "Ags", "August", "Aug")],
    *[(word, 9) for word in ("September", "Sep", "Sept")],
    *[(word, 10) for word in ("Oktober", "Okt", "October", "Oct")],
    *[(word, 11) for word in ("November", "Nov", "Nop", "Nopember")],
    *[(word, 12) for word in ("Desember", "Des", "December", "Dec")],
]


@pytest.mark.parametrize(("word", "month"), MONTH_WORDS, ids=[word for word, _ in MONTH_WORDS])
def test_every_month_name_and_abbreviation(word: str, month: int):
    assert parse_when(f"1 {word} 2027 jam 9", today=TODAY) == at(d(month, 1, 2027), "09.00")
    assert parse_month(f"{word} 2027", today=TODAY) == (2027, month)


WEEKDAY_WORDS = ["senin", "selasa", "rabu", "kamis", "jumat", "sabtu", "minggu"]
SUNDAY_BEFORE_INI = "ahad"  # "minggu ini" is this week, not this Sunday


@pytest.mark.parametrize("today", days(d(11, 23), d(11, 29)), ids=lambda day: f"{day:%a}")
def test_a_weekday_alone_is_the_next_one_and_ini_counts_today(today: date):
    for weekday, word in enumerate(WEEKDAY_WORDS):
        alone = parse_when(f"{word} jam 9", today=today)
        this_word = SUNDAY_BEFORE_INI if word == "minggu" else word
        this = parse_when(f"{this_word} ini jam 9", today=today)
        assert isinstance(alone, When) and isinstance(this, When)
        assert alone.day.weekday() == this.day.weekday() == weekday
        assert 1 <= (alone.day - today).days <= 7, word
        assert 0 <= (this.day - today).days <= 6, word


# --- parse_when: phrases Warta asks about ------------------------------------------------------

UNCLEAR_CASES = [
    pytest.param("", {"code": C.EMPTY}, id="empty"),
    pytest.param("  , ,  ", {"code": C.EMPTY}, id="only-commas"),
    pytest.param(
        "besok rapat jam 9", {"code": C.UNKNOWN_WORDS, "words": ("rapat",)}, id="unknown-word"
    ),
    pytest.param(
        "besok di Balai Kota jam 9",
        {"code": C.UNKNOWN_WORDS, "words": ("di", "balai", "kota")},
        id="place-in-the-when",
    ),
    pytest.param("besok 09.00 -", {"code": C.UNKNOWN_WORDS, "words": ("-",)}, id="dangling-range"),
    pytest.param(
        "2-12 besok",
        {"code": C.AMBIGUOUS_HOUR, "times": (time(2), time(14))},
        id="dashed-numbers-without-a-year-are-hours",
    ),
    pytest.param(
        "tgl 2-12 jam 9",
        {"code": C.UNKNOWN_WORDS, "words": ("-", "12")},
        id="dashed-date-needs-a-year",
    ),
    pytest.param(
        "besok 9", {"code": C.UNKNOWN_WORDS, "words": ("9",)}, id="bare-number-is-not-a-time"
    ),
    pytest.param("pukul 14.00", {"code": C.NO_DATE}, id="no-date"),
    pytest.param("jam 9 pagi", {"code": C.NO_DATE}, id="no-date-with-period"),
    pytest.param(
        "minggu depan",
        {
            "code": C.VAGUE_DATE,
            "written": "minggu depan",
            "dates": tuple(days(d(11, 30), d(12, 6))),
        },
        id="minggu-depan",
    ),
    pytest.param(
        "pekan depan jam 9",
        {"code": C.VAGUE_DATE, "dates": tuple(days(d(11, 30), d(12, 6)))},
        id="pekan-depan",
    ),
    pytest.param(
        "minggu ini jam 9",
        {"code": C.VAGUE_DATE, "dates": tuple(days(d(11, 25), d(11, 29)))},
        id="minggu-ini-offers-the-days-left",
    ),
    pytest.param(
        "bulan depan jam 9",
        {"code": C.VAGUE_DATE, "dates": tuple(days(d(12, 1), d(12, 31)))},
        id="bulan-depan",
    ),
    pytest.param(
        "Senin bulan depan jam 9",
        {"code": C.VAGUE_DATE, "dates": (d(12, 7), d(12, 14), d(12, 21), d(12, 28))},
        id="senin-bulan-depan",
    ),
    pytest.param("besok jam 25", {"code": C.BAD_TIME, "written": "jam 25"}, id="jam-25"),
    pytest.param("besok jam 24", {"code": C.BAD_TIME, "written": "jam 24"}, id="jam-24"),
    pytest.param("besok 09.60", {"code": C.BAD_TIME, "written": "09.60"}, id="minute-60"),
    pytest.param("jam 25", {"code": C.BAD_TIME}, id="bad-time-before-no-date"),
    pytest.param("31/2 jam 9", {"code": C.BAD_DATE, "written": "31/2"}, id="31/2"),
    pytest.param("30/2/2027 jam 9", {"code": C.BAD_DATE}, id="30/2/2027"),
    pytest.param("29/2/2027 jam 9", {"code": C.BAD_DATE}, id="29/2-not-a-leap-year"),
    pytest.param("32 Desember jam 9", {"code": C.BAD_DATE}, id="day-32"),
    pytest.param("2/13 jam 9", {"code": C.BAD_DATE, "written": "2/13"}, id="month-13"),
    pytest.param("tgl 32 jam 9", {"code": C.BAD_DATE}, id="tgl-32"),
    pytest.param(
        "2/12/2025 jam 9", {"code": C.PAST_DATE, "dates": (d(12, 2, 2025),)}, id="past-year"
    ),
    pytest.param(
        "2/11 jam 9",
        {"code": C.PAST_DATE, "written": "2/11", "dates": (d(11, 2), d(11, 2, 2027))},
        id="yearless-recently-passed",
    ),
    pytest.param(
        "24 November jam 9",
        {"code": C.PAST_DATE, "dates": (d(11, 24), d(11, 24, 2027))},
        id="yesterday-by-name",
    ),
    pytest.param("kemarin jam 9", {"code": C.PAST_DATE, "dates": (d(11, 24),)}, id="kemarin"),
    pytest.param("Senin lalu jam 9", {"code": C.PAST_DATE, "dates": (d(11, 16),)}, id="lalu"),
    pytest.param(
        "Senin minggu ini jam 9",
        {"code": C.PAST_DATE, "dates": (d(11, 23),)},
        id="this-weeks-monday-has-passed",
    ),
    pytest.param(
        "minggu lalu jam 9", {"code": C.PAST_DATE, "dates": (d(11, 22),)}, id="minggu-lalu"
    ),
    pytest.param(
        "Senin 2/12 jam 9",
        {"code": C.WEEKDAY_MISMATCH, "weekday": 0, "dates": (d(12, 2), d(11, 30))},
        id="senin-2/12",
    ),
    pytest.param(
        "Jumat, 2 Desember 2026 pukul 9",
        {"code": C.WEEKDAY_MISMATCH, "weekday": 4, "dates": (d(12, 2), d(11, 27))},
        id="jumat-2-desember",
    ),
    pytest.param(
        "besok Senin jam 9",
        {"code": C.WEEKDAY_MISMATCH, "weekday": 0, "dates": (d(11, 26), d(11, 30))},
        id="besok-is-not-senin",
    ),
    pytest.param(
        "besok, 2 Desember, pukul 14.00",
        {"code": C.CONFLICTING_DATES, "dates": (d(11, 26), d(12, 2))},
        id="besok-vs-date",
    ),
    pytest.param(
        "besok lusa jam 9",
        {"code": C.CONFLICTING_DATES, "dates": (d(11, 26), d(11, 27))},
        id="besok-lusa",
    ),
    pytest.param(
        "minggu depan tgl 10 jam 9",
        {"code": C.CONFLICTING_DATES, "written": "minggu depan", "dates": (d(12, 10),)},
        id="date-outside-the-week",
    ),
    pytest.param(
        "besok pagi",
        {"code": C.NO_TIME, "written": "pagi", "dates": (d(11, 26),)},
        id="pagi-is-not-a-time",
    ),
    pytest.param("Senin", {"code": C.NO_TIME, "dates": (d(11, 30),)}, id="weekday-only"),
    pytest.param(
        "besok jam 3",
        {
            "code": C.AMBIGUOUS_HOUR,
            "written": "jam 3",
            "times": (time(3), time(15)),
            "dates": (d(11, 26),),
        },
        id="jam-3",
    ),
    pytest.param(
        "besok jam 1", {"code": C.AMBIGUOUS_HOUR, "times": (time(1), time(13))}, id="jam-1"
    ),
    pytest.param(
        "besok 6.30",
        {"code": C.AMBIGUOUS_HOUR, "times": (time(6, 30), time(18, 30))},
        id="6.30-without-zero",
    ),
    pytest.param(
        "besok 2.12",
        {"code": C.AMBIGUOUS_HOUR, "times": (time(2, 12), time(14, 12))},
        id="two-dotted-numbers-are-a-time",
    ),
    pytest.param(
        "besok jam 3-5",
        {"code": C.AMBIGUOUS_HOUR, "times": (time(3), time(15))},
        id="ambiguous-range",
    ),
    pytest.param(
        "besok jam 14 pagi",
        {"code": C.PERIOD_MISMATCH, "written": "jam 14 pagi", "words": ("pagi",)},
        id="jam-14-pagi",
    ),
    pytest.param(
        "besok pagi jam 14",
        {"code": C.PERIOD_MISMATCH, "written": "jam 14", "words": ("pagi",)},
        id="besok-pagi-jam-14",
    ),
    pytest.param(
        "besok pagi jam 9 malam",
        {"code": C.PERIOD_MISMATCH, "words": ("malam", "pagi")},
        id="two-periods-disagree",
    ),
    pytest.param(
        "besok jam 12 malam",
        {"code": C.PERIOD_MISMATCH, "words": ("malam",)},
        id="midnight-is-asked",
    ),
    pytest.param(
        "nanti malam jam 3", {"code": C.PERIOD_MISMATCH, "words": ("malam",)}, id="malam-jam-3"
    ),
    pytest.param(
        "besok 11.00-09.00",
        {"code": C.END_BEFORE_START, "times": (time(11), time(9)), "dates": (d(11, 26),)},
        id="end-before-start",
    ),
    pytest.param(
        "besok 09.00-09.00",
        {"code": C.END_BEFORE_START, "times": (time(9), time(9))},
        id="end-equals-start",
    ),
    pytest.param(
        "besok 22.00-02.00",
        {"code": C.END_BEFORE_START, "times": (time(22), time(2))},
        id="past-midnight",
    ),
    # an end before the start is asked about, whatever reading after noon it might have
    pytest.param(
        "besok 11.00-10.00",
        {
            "code": C.END_BEFORE_START,
            "times": (time(11), time(10)),
            "dates": (d(11, 26),),
            "likely_end": None,  # 22.00 would make 11 hours: likelier a slip than an evening
        },
        id="end-an-hour-before-start-is-not-22.00",
    ),
    pytest.param(
        "besok 11.00-1.00",
        {"code": C.END_BEFORE_START, "times": (time(11), time(1)), "likely_end": time(13)},
        id="11.00-1.00-offers-13.00",
    ),
    pytest.param(
        "besok jam 10-2",
        {"code": C.END_BEFORE_START, "times": (time(10), time(2)), "likely_end": time(14)},
        id="jam-10-2-offers-14.00",
    ),
    pytest.param(
        "besok jam 11-1",
        {"code": C.END_BEFORE_START, "times": (time(11), time(1)), "likely_end": time(13)},
        id="jam-11-1-offers-13.00",
    ),
    pytest.param(
        "besok 13.00-2.00",
        {"code": C.END_BEFORE_START, "times": (time(13), time(2)), "likely_end": time(14)},
        id="a-24-hour-start-does-not-carry-the-end",
    ),
    pytest.param(
        "besok pagi jam 9-1",
        {"code": C.END_BEFORE_START, "times": (time(9), time(1)), "likely_end": time(13)},
        id="pagi-does-not-carry-the-end",
    ),
    pytest.param(
        "besok 08.00-5.00",
        {"code": C.END_BEFORE_START, "times": (time(8), time(5)), "likely_end": time(17)},
        id="a-working-day-is-offered",
    ),
    pytest.param(
        "besok 07.30-5.00",
        {"code": C.END_BEFORE_START, "times": (time(7, 30), time(5)), "likely_end": None},
        id="longer-than-likely-is-not-offered",
    ),
    pytest.param(
        "besok 11.00-09.00",
        {"code": C.END_BEFORE_START, "times": (time(11), time(9)), "likely_end": None},
        id="a-leading-zero-end-is-24-hour",
    ),
    pytest.param(
        "besok 09.00-9.00",
        {"code": C.END_BEFORE_START, "times": (time(9), time(9)), "likely_end": None},
        id="end-equals-start-offers-nothing",
    ),
    pytest.param(
        "besok 21.00-01.00",
        {"code": C.END_BEFORE_START, "times": (time(21), time(1)), "likely_end": None},
        id="21.00-01.00-crosses-midnight",
    ),
    pytest.param(
        "besok 21.00-1.00",
        {"code": C.END_BEFORE_START, "times": (time(21), time(1)), "likely_end": None},
        id="21.00-1.00-crosses-midnight",
    ),
    pytest.param(
        "besok jam 8 malam-1",
        {"code": C.END_BEFORE_START, "times": (time(20), time(1)), "likely_end": None},
        id="malam-does-not-carry-past-midnight",
    ),
    pytest.param(
        "besok jam 12 AM",
        {"code": C.PERIOD_MISMATCH, "words": ("am",)},
        id="12-am-is-asked",
    ),
    pytest.param(
        "besok jam 9 jam 10",
        {"code": C.CONFLICTING_TIMES, "words": ("jam 9", "jam 10")},
        id="two-times",
    ),
    pytest.param(
        "besok seharian jam 9",
        {"code": C.CONFLICTING_TIMES, "words": ("jam 9",)},
        id="all-day-and-a-time",
    ),
    pytest.param(
        "besok 09.00 WIB - 11.00 WITA",
        {"code": C.CONFLICTING_TIMES, "words": ("WIB", "WITA")},
        id="two-zones",
    ),
]


@pytest.mark.parametrize(("text", "expected"), UNCLEAR_CASES)
def test_parse_when_asks(text: str, expected: dict):
    result = parse_when(text, today=TODAY)
    assert isinstance(result, Unclear)
    assert {field: getattr(result, field) for field in expected} == expected
    assert result.explain


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "27/12 jam 9",
            {"code": C.PAST_DATE, "dates": (d(12, 27), d(12, 27, 2027))},
            id="yesterday-without-year",
        ),
        pytest.param(
            "27/12/2026 jam 9", {"code": C.PAST_DATE, "dates": (d(12, 27),)}, id="yesterday"
        ),
        pytest.param(
            "Senin 2/1 jam 9",
            {"code": C.WEEKDAY_MISMATCH, "weekday": 0, "dates": (d(1, 2, 2027), d(1, 4, 2027))},
            id="senin-2/1",
        ),
    ],
)
def test_parse_when_asks_late_in_december(text: str, expected: dict):
    result = parse_when(text, today=LATE_DECEMBER)
    assert isinstance(result, Unclear)
    assert {field: getattr(result, field) for field in expected} == expected


@pytest.mark.parametrize("start", range(7, 24), ids=lambda hour: f"{hour:02d}.00")
def test_a_bare_end_is_read_as_written_and_asked_about_when_before_the_start(start: int):
    for end in range(1, 12):
        result = parse_when(f"besok {start:02d}.00-{end}.00", today=TODAY)
        if end > start:
            assert result == at(d(11, 26), f"{start:02d}.00", f"{end:02d}.00")
            continue
        assert isinstance(result, Unclear), (start, end)
        assert (result.code, result.times) == (C.END_BEFORE_START, (time(start), time(end)))
        later = timedelta(hours=end + 12 - start)
        offered = time(end + 12) if timedelta(0) < later <= LIKELY_LONGEST else None
        assert result.likely_end == offered, (start, end)


# --- When: the caller's helpers ----------------------------------------------------------------


def test_an_end_left_unwritten_takes_the_default_duration():
    when = parse_when("besok 09.00", today=TODAY)
    assert isinstance(when, When)
    assert (when.end, when.explicit_end, when.open_end) == (None, False, False)
    assert when.default_duration == DEFAULT_DURATION == timedelta(hours=2)
    assert when.starts_at() == datetime(2026, 11, 26, 9, 0)
    assert when.ends_at() == datetime(2026, 11, 26, 11, 0)
    assert when.end_or_default() == time(11, 0)


def test_the_default_duration_is_the_callers():
    when = parse_when("besok 09.00", today=TODAY, default_duration=timedelta(minutes=90))
    assert isinstance(when, When)
    assert when.ends_at() == datetime(2026, 11, 26, 10, 30)


def test_a_written_end_wins_over_the_default():
    when = parse_when("besok 09.00-09.30", today=TODAY)
    assert isinstance(when, When)
    assert (when.explicit_end, when.open_end) == (True, False)
    assert when.ends_at() == datetime(2026, 11, 26, 9, 30)


def test_sampai_selesai_is_an_open_end_planned_with_the_default():
    when = parse_when("besok 09.00 s.d. selesai", today=TODAY)
    assert isinstance(when, When)
    assert (when.end, when.explicit_end, when.open_end) == (None, True, True)
    assert when.ends_at() == datetime(2026, 11, 26, 11, 0)


def test_a_whole_day_ends_at_midnight():
    when = parse_when("besok seharian", today=TODAY)
    assert isinstance(when, When)
    assert when.starts_at() == datetime(2026, 11, 26, 0, 0)
    assert when.ends_at() == datetime(2026, 11, 27, 0, 0)


def test_a_default_end_past_midnight_lands_on_the_next_day():
    when = parse_when("besok 23.00", today=TODAY)
    assert isinstance(when, When)
    assert when.ends_at() == datetime(2026, 11, 27, 1, 0)
    assert when.end_or_default() == time(1, 0)


def test_times_stay_wall_clock_and_the_zone_is_only_named():
    when = parse_when("besok 09.00 WITA", today=TODAY)
    assert isinstance(when, When)
    assert when.starts_at() == datetime(2026, 11, 26, 9, 0)
    assert when.starts_at().tzinfo is None
    zoned = when.starts_at().replace(tzinfo=ZoneInfo(ZONE_NAMES[when.zone_label]))
    assert zoned.utcoffset() == timedelta(hours=8)


def test_every_zone_label_names_a_real_zone():
    offsets = {
        label: ZoneInfo(name).utcoffset(datetime(2026, 1, 1)) for label, name in ZONE_NAMES.items()
    }
    assert offsets == {
        "WIB": timedelta(hours=7),
        "WITA": timedelta(hours=8),
        "WIT": timedelta(hours=9),
    }


@pytest.mark.parametrize(
    "duration", [timedelta(0), timedelta(minutes=-5)], ids=["zero", "negative"]
)
def test_a_default_duration_must_be_positive(duration: timedelta):
    with pytest.raises(ValueError, match="default_duration"):
        parse_when("besok 09.00", today=TODAY, default_duration=duration)


def test_the_unclear_codes_are_a_stable_contract():
    assert {code.value for code in UnclearCode} == {
        "empty",
        "unknown_words",
        "no_date",
        "vague_date",
        "bad_date",
        "past_date",
        "conflicting_dates",
        "weekday_mismatch",
        "no_time",
        "bad_time",
        "ambiguous_hour",
        "period_mismatch",
        "conflicting_times",
        "end_before_start",
        "too_long",
        "no_month",
        "bad_month",
    }
    assert Unclear(C.NO_DATE, "x").code == "no_date"


# --- parse_dates -------------------------------------------------------------------------------

DATES_CASES = [
    pytest.param("besok", [d(11, 26)], id="besok"),
    pytest.param("hari ini", [d(11, 25)], id="hari-ini"),
    pytest.param("besok dan lusa", [d(11, 26), d(11, 27)], id="besok-dan-lusa"),
    pytest.param("3 Desember", [d(12, 3)], id="one-day"),
    pytest.param("3-5 Desember", days(d(12, 3), d(12, 5)), id="day-range-month"),
    pytest.param("3 - 5 Desember", days(d(12, 3), d(12, 5)), id="day-range-spaced"),
    pytest.param("3–5 Des", days(d(12, 3), d(12, 5)), id="day-range-en-dash"),
    pytest.param("tgl 3-5 Des", days(d(12, 3), d(12, 5)), id="tgl-range"),
    pytest.param("3/12-5/12", days(d(12, 3), d(12, 5)), id="slash-range"),
    pytest.param("3/12 - 5/12/2026", days(d(12, 3), d(12, 5)), id="slash-range-end-year"),
    pytest.param("3/12, 7/12, 10/12", [d(12, 3), d(12, 7), d(12, 10)], id="list"),
    pytest.param("3, 7 dan 10 Desember", [d(12, 3), d(12, 7), d(12, 10)], id="bare-days-list"),
    pytest.param("3 s.d. 5 Desember 2026", days(d(12, 3), d(12, 5)), id="s.d.-with-year"),
    pytest.param("3 sampai 5 Desember", days(d(12, 3), d(12, 5)), id="sampai"),
    pytest.param("3, 5-7 Desember", [d(12, 3), *days(d(12, 5), d(12, 7))], id="list-and-range"),
    pytest.param("28 Desember - 2 Januari", days(d(12, 28), d(1, 2, 2027)), id="across-new-year"),
    pytest.param("Senin-Rabu", days(d(11, 30), d(12, 2)), id="weekday-range"),
    pytest.param("Senin, 30 November", [d(11, 30)], id="weekday-and-date"),
    pytest.param("3/12 dan 3/12", [d(12, 3)], id="repeated-day-once"),
    pytest.param("1/12 - 31/1", days(d(12, 1), d(1, 31, 2027)), id="exactly-62-days"),
    pytest.param("tanggal 27 s/d 30", days(d(11, 27), d(11, 30)), id="bare-range"),
    pytest.param("20/11/2026 - 30/11/2026", days(d(11, 20), d(11, 30)), id="leave-under-way"),
]


@pytest.mark.parametrize(("text", "expected"), DATES_CASES)
def test_parse_dates_understands(text: str, expected: list[date]):
    assert parse_dates(text, today=TODAY) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("30/12-3/1", days(d(12, 30), d(1, 3, 2027)), id="30/12-3/1"),
        pytest.param("2-4 Januari", days(d(1, 2, 2027), d(1, 4, 2027)), id="next-january"),
        pytest.param("27-29 Desember", days(d(12, 27), d(12, 29)), id="leave-already-begun"),
    ],
)
def test_parse_dates_rolls_over_the_year(text: str, expected: list[date]):
    assert parse_dates(text, today=LATE_DECEMBER) == expected


DATES_UNCLEAR_CASES = [
    pytest.param("", {"code": C.EMPTY}, id="empty"),
    pytest.param("rina 3 Desember", {"code": C.UNKNOWN_WORDS, "words": ("rina",)}, id="name"),
    pytest.param("31/2", {"code": C.BAD_DATE, "written": "31/2"}, id="31/2"),
    pytest.param("31 November", {"code": C.BAD_DATE}, id="31-november"),
    pytest.param("minggu depan", {"code": C.VAGUE_DATE}, id="minggu-depan"),
    pytest.param("kemarin", {"code": C.PAST_DATE, "dates": (d(11, 24),)}, id="kemarin"),
    pytest.param(
        "2/11", {"code": C.PAST_DATE, "dates": (d(11, 2), d(11, 2, 2027))}, id="recently-passed"
    ),
    pytest.param(
        "1/11/2026 - 3/11/2026", {"code": C.PAST_DATE, "dates": (d(11, 3),)}, id="range-ended"
    ),
    pytest.param(
        "Senin, 2/12",
        {"code": C.WEEKDAY_MISMATCH, "weekday": 0, "dates": (d(12, 2), d(11, 30))},
        id="weekday-mismatch",
    ),
    pytest.param(
        "5-3 Desember",
        {"code": C.END_BEFORE_START, "dates": (d(12, 5), d(12, 3))},
        id="reversed-days",
    ),
    pytest.param(
        "5/12-3/12",
        {"code": C.END_BEFORE_START, "dates": (d(12, 5), d(12, 3))},
        id="reversed-dates",
    ),
    pytest.param(
        "1/12 - 1/2",
        {"code": C.TOO_LONG, "dates": (d(12, 1), d(2, 1, 2027))},
        id="63-days",
    ),
    pytest.param(
        "1-31 Desember, 1-31 Januari, 1 Februari",
        {"code": C.TOO_LONG, "dates": (d(12, 1), d(2, 1, 2027))},
        id="63-days-in-pieces",
    ),
]


@pytest.mark.parametrize(("text", "expected"), DATES_UNCLEAR_CASES)
def test_parse_dates_asks(text: str, expected: dict):
    result = parse_dates(text, today=TODAY)
    assert isinstance(result, Unclear)
    assert {field: getattr(result, field) for field in expected} == expected
    assert result.explain


def test_max_days_is_two_months_of_leave():
    assert MAX_DAYS == 62


# --- parse_month -------------------------------------------------------------------------------

MONTH_CASES = [
    pytest.param("2026-12", TODAY, (2026, 12), id="iso"),
    pytest.param("2026/12", TODAY, (2026, 12), id="year-slash-month"),
    pytest.param("12/2026", TODAY, (2026, 12), id="month-slash-year"),
    pytest.param("12-2026", TODAY, (2026, 12), id="month-dash-year"),
    pytest.param("12.2026", TODAY, (2026, 12), id="month-dot-year"),
    pytest.param("Desember 2026", TODAY, (2026, 12), id="name-year"),
    pytest.param("Des 2026", TODAY, (2026, 12), id="abbreviation-year"),
    pytest.param("bulan Desember 2026", TODAY, (2026, 12), id="bulan-name-year"),
    pytest.param("  desember   2026 ", TODAY, (2026, 12), id="spaces"),
    pytest.param("December 2026", TODAY, (2026, 12), id="english"),
    pytest.param("Oktober 2026", TODAY, (2026, 10), id="past-month-with-year"),
    pytest.param("Desember", TODAY, (2026, 12), id="next-december"),
    pytest.param("November", TODAY, (2026, 11), id="this-month-counts"),
    pytest.param("Oktober", TODAY, (2027, 10), id="passed-month-is-next-year"),
    pytest.param("Januari", TODAY, (2027, 1), id="januari"),
    pytest.param("bulan ini", TODAY, (2026, 11), id="bulan-ini"),
    pytest.param("bulan depan", TODAY, (2026, 12), id="bulan-depan"),
    pytest.param("bulan lalu", TODAY, (2026, 10), id="bulan-lalu"),
    pytest.param("Desember", LATE_DECEMBER, (2026, 12), id="december-in-december"),
    pytest.param("Januari", LATE_DECEMBER, (2027, 1), id="januari-in-december"),
    pytest.param("bulan depan", LATE_DECEMBER, (2027, 1), id="bulan-depan-in-december"),
    pytest.param("bulan lalu", d(1, 5, 2027), (2026, 12), id="bulan-lalu-in-january"),
]


@pytest.mark.parametrize(("text", "today", "expected"), MONTH_CASES)
def test_parse_month_understands(text: str, today: date, expected: tuple[int, int]):
    assert parse_month(text, today=today) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", {"code": C.EMPTY}, id="empty"),
        pytest.param("13/2026", {"code": C.BAD_MONTH, "written": "13/2026"}, id="month-13"),
        pytest.param("2026-00", {"code": C.BAD_MONTH}, id="month-0"),
        pytest.param("2026", {"code": C.NO_MONTH}, id="year-only"),
        pytest.param("bulan", {"code": C.NO_MONTH}, id="bulan-only"),
        pytest.param("kemarin", {"code": C.UNKNOWN_WORDS, "words": ("kemarin",)}, id="unknown"),
    ],
)
def test_parse_month_asks(text: str, expected: dict):
    result = parse_month(text, today=TODAY)
    assert isinstance(result, Unclear)
    assert {field: getattr(result, field) for field in expected} == expected


# --- whatever an editor types, the answer is a When, a list or a question ----------------------

PIECES = [
    *["besok", "lusa", "hari ini", "nanti", "malam", "pagi", "sore", "siang", "dini hari"],
    *["senin", "rabu", "minggu", "ahad", "ini", "depan", "lalu", "pekan", "bulan", "tgl"],
    *["2/12", "31/2", "3/1", "29/2", "2.12.2026", "2-12-2026", "2026-12-02", "Desember", "Jan"],
    *["jam", "pukul", "09.00", "9.30", "14:00", "jam 8", "jam 3", "jam 25", "setengah", "12"],
    *["2", "5", "31", "2026", "-", "–", "s.d.", "s/d", "sampai", "selesai", "WIB", "WITA", ","],
    *["seharian", "sehari", "penuh", "dan", "(", ")", "'", ":"],
]
PHRASES = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=8).map(" ".join),
    st.text(max_size=30),
)
TODAYS = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))


@settings(max_examples=400, deadline=None)
@given(text=PHRASES, today=TODAYS)
def test_parse_when_always_answers_sensibly(text: str, today: date):
    result = parse_when(text, today=today)
    if isinstance(result, Unclear):
        assert result.code in set(UnclearCode) and result.explain
        return
    assert result.day >= today
    assert result.end is None or result.end > result.start
    assert result.explicit_end or result.end is None
    assert result.ends_at() > result.starts_at()


@settings(max_examples=400, deadline=None)
@given(text=PHRASES, today=TODAYS)
def test_parse_dates_always_answers_sensibly(text: str, today: date):
    result = parse_dates(text, today=today)
    if isinstance(result, Unclear):
        assert result.code in set(UnclearCode) and result.explain
        return
    assert result == sorted(set(result))
    assert 1 <= len(result) <= MAX_DAYS
    assert result[-1] >= today


@settings(max_examples=200, deadline=None)
@given(text=PHRASES, today=TODAYS)
def test_parse_month_always_answers_sensibly(text: str, today: date):
    result = parse_month(text, today=today)
    if isinstance(result, Unclear):
        assert result.code in set(UnclearCode) and result.explain
        return
    assert 1 <= result[1] <= 12
