"""Read the forgiving Indonesian date and time phrases editors type in agenda and leave commands."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum

DEFAULT_DURATION = timedelta(hours=2)
# The longest item an end read twelve hours later may make for Warta to offer that reading
# ("11.00-1.00": 13.00?); "11.00-10.00" would last 11 hours, more likely a slip.
LIKELY_LONGEST = timedelta(hours=9)
MAX_DAYS = 62
RECENTLY_PASSED = timedelta(days=60)
ZONE_NAMES = {"WIB": "Asia/Jakarta", "WITA": "Asia/Makassar", "WIT": "Asia/Jayapura"}


class UnclearCode(StrEnum):
    """Why a phrase could not be read; each code carries the data listed beside it."""

    EMPTY = "empty"  # nothing was written
    UNKNOWN_WORDS = "unknown_words"  # words: the words not understood
    NO_DATE = "no_date"  # no day was written
    VAGUE_DATE = "vague_date"  # written: "minggu depan"; dates: the days it could mean
    BAD_DATE = "bad_date"  # written: a date that does not exist ("31/2")
    PAST_DATE = "past_date"  # written; dates: the past day (and next year's, for a yearless date)
    CONFLICTING_DATES = "conflicting_dates"  # dates: the different days written
    WEEKDAY_MISMATCH = "weekday_mismatch"  # weekday; dates: the date written, the weekday's date
    NO_TIME = "no_time"  # dates: the day; written: a part of the day given instead ("pagi")
    BAD_TIME = "bad_time"  # written: a time that does not exist ("jam 25")
    AMBIGUOUS_HOUR = "ambiguous_hour"  # written; times: morning and evening readings; dates
    PERIOD_MISMATCH = "period_mismatch"  # written: the time; words: the part(s) of the day
    CONFLICTING_TIMES = "conflicting_times"  # words: the times or zone labels written
    END_BEFORE_START = "end_before_start"  # times (or dates): start and end as read; likely_end
    TOO_LONG = "too_long"  # dates: the first and last day asked for (more than MAX_DAYS)
    NO_MONTH = "no_month"  # no month was written
    BAD_MONTH = "bad_month"  # written: a month number outside 1–12


@dataclass(frozen=True)
class Unclear:
    """A phrase Warta should ask about instead of guessing; templates render the question."""

    code: UnclearCode
    explain: str
    written: str = ""
    dates: tuple[date, ...] = ()
    times: tuple[time, ...] = ()
    weekday: int | None = None  # 0 is Senin (Monday), as in date.weekday()
    words: tuple[str, ...] = ()
    # end_before_start: the end read twelve hours later ("11.00-1.00": 13.00), when that is after
    # the start and makes an item of at most LIKELY_LONGEST; offered, never assumed.
    likely_end: time | None = None


@dataclass(frozen=True)
class When:
    """When an agenda item happens, in the local wall-clock time of the zone written (or the
    desk's): ``end`` is None when none was written or it was "sampai selesai"."""

    day: date
    start: time
    end: time | None = None
    explicit_end: bool = False
    all_day: bool = False
    zone_label: str | None = None
    default_duration: timedelta = DEFAULT_DURATION

    @property
    def open_end(self) -> bool:
        """Whether the editor wrote "sampai selesai": an end was given, but not its time."""
        return self.explicit_end and self.end is None

    def starts_at(self) -> datetime:
        """The naive local start; attach the zone of ``zone_label`` (or the desk's) to use it."""
        return datetime.combine(self.day, self.start)

    def ends_at(self) -> datetime:
        """The naive local end: as written, else midnight for a whole day, else the default."""
        if self.all_day:
            return datetime.combine(self.day + timedelta(days=1), time(0, 0))
        if self.end is not None:
            return datetime.combine(self.day, self.end)
        return self.starts_at() + self.default_duration

    def end_or_default(self) -> time:
        """The end's wall-clock time (past midnight it wraps; use ``ends_at`` for the day)."""
        return self.ends_at().time()


# --- words -------------------------------------------------------------------------------------

_MONTHS = {
    **dict.fromkeys(("januari", "jan", "january"), 1),
    **dict.fromkeys(("februari", "pebruari", "feb", "peb", "february"), 2),
    **dict.fromkeys(("maret", "mar", "march"), 3),
    **dict.fromkeys(("april", "apr"), 4),
    **dict.fromkeys(("mei", "may"), 5),
    **dict.fromkeys(("juni", "jun", "june"), 6),
    **dict.fromkeys(("juli", "jul", "july"), 7),
    **dict.fromkeys(("agustus", "agu", "agt", "ags", "agus", "august", "aug"), 8),
    **dict.fromkeys(("september", "sep", "sept"), 9),
    **dict.fromkeys(("oktober", "okt", "october", "oct"), 10),
    **dict.fromkeys(("november", "nopember", "nov", "nop"), 11),
    **dict.fromkeys(("desember", "des", "december", "dec"), 12),
}
_WEEKDAYS = {
    "senin": 0,
    "selasa": 1,
    "rabu": 2,
    "kamis": 3,
    "jumat": 4,
    "jum'at": 4,
    "sabtu": 5,
    "minggu": 6,  # also "week": "minggu depan" is read as a week, not a Sunday
    "ahad": 6,
}
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_RELATIVE_DAYS = {
    "hari ini": 0,
    "sekarang": 0,
    "nanti": 0,
    "besok": 1,
    "esok": 1,
    "lusa": 2,
    "kemarin": -1,
}
_SHIFTS = {"ini": 0, "depan": 1, "lalu": -1}
# The hours each part of the day covers, on the 24-hour clock.
_PERIODS = {
    "pagi": range(1, 12),
    "siang": range(10, 16),
    "sore": range(14, 19),
    "petang": range(15, 20),
    "malam": range(18, 24),
    "dini hari": range(0, 6),
    "subuh": range(3, 7),
    "am": range(1, 12),  # "12 AM" is asked, as "jam 12 malam" is
    "pm": range(12, 24),
}
# Parts of the day after noon: a start marked with one carries an earlier bare end past noon.
_AFTERNOON = frozenset(("siang", "sore", "petang", "malam", "pm"))
_ZONES = ("wib", "wita", "wit")
# Words that add nothing to the day or time; anything else unread is asked about.
_WHEN_FILLERS = frozenset(
    ("pada", "hari", "tanggal", "tgl", "pukul", "pkl", "jam", "mulai", "dari", "sekitar", "tepat")
)
_DATES_FILLERS = frozenset(("pada", "hari", "tanggal", "tgl", "mulai", "dari", "dan", "serta"))

# --- tokens ------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
      (?P<iso>(?P<iso_y>\d{4})-(?P<iso_m>\d{1,2})-(?P<iso_d>\d{1,2}))(?!\d)
    | (?P<dmy>(?P<dmy_d>\d{1,2})(?P<sep>[./-])(?P<dmy_m>\d{1,2})(?P=sep)
        (?P<dmy_y>\d{4}|\d{2}))(?!\d)
    | (?P<dm>(?P<dm_d>\d{1,2})/(?P<dm_m>\d{1,2}))(?![\d/])
    | (?P<clock>(?:(?:pukul|pkl|jam)\.?\s*)?(?P<clock_h>\d{1,2})[.:](?P<clock_m>\d{2}))(?!\d)
    | (?P<hour>(?:pukul|pkl|jam)\.?\s*(?P<hour_h>\d{1,2}))(?!\d|/\d)
    | (?P<range>s\.?\s?d\b\.?|s/d\.?|sampai\s+dengan\b|sampai\b|hingga\b|-)
    | (?P<number>\d+)
    | (?P<word>[a-z]+(?:'[a-z]+)?)
    | (?P<space>[\s,;:.()]+)
    | (?P<other>\S)
    """,
    re.VERBOSE,
)
_KINDS = ("iso", "dmy", "dm", "clock", "hour", "range", "number", "word", "space", "other")
_NORMALISE = str.maketrans({"–": "-", "—": "-", "‒": "-", "−": "-", "’": "'", "‘": "'"})


@dataclass(frozen=True)
class _Token:
    kind: str
    match: re.Match[str]

    @property
    def text(self) -> str:
        return self.match.group(0)


def _normalise(text: str) -> str:
    return text.translate(_NORMALISE).lower()


def _tokenize(text: str) -> list[_Token]:
    tokens = []
    for match in _TOKEN.finditer(text):
        kind = next(kind for kind in _KINDS if match.group(kind) is not None)
        if kind != "space":
            tokens.append(_Token(kind, match))
    return tokens


class _Reader:
    """A cursor over the tokens of one normalised phrase."""

    def __init__(self, text: str) -> None:
        self.text = _normalise(text)
        self.tokens = _tokenize(self.text)
        self.at = 0

    def done(self) -> bool:
        return self.at >= len(self.tokens)

    def peek(self, ahead: int = 0) -> _Token | None:
        index = self.at + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def word(self, ahead: int = 0) -> str:
        token = self.peek(ahead)
        return token.text if token is not None and token.kind == "word" else ""

    def kind(self, ahead: int = 0) -> str:
        token = self.peek(ahead)
        return token.kind if token is not None else ""

    def take(self, count: int = 1) -> _Token:
        self.at += count
        return self.tokens[self.at - 1]

    def take_word(self, *words: str) -> str | None:
        word = self.word()
        if word in words:
            self.at += 1
            return word
        return None

    def written_since(self, index: int) -> str:
        """The phrase's text from token ``index`` up to the last token taken."""
        return self.text[self.tokens[index].match.start() : self.tokens[self.at - 1].match.end()]


# --- days --------------------------------------------------------------------------------------


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _bad_date(written: str) -> Unclear:
    return Unclear(UnclearCode.BAD_DATE, f"{written!r} is not a date", written=written)


def _past(day: date, written: str, *later: date) -> Unclear:
    explain = f"{written!r} is {day.isoformat()}, already past"
    return Unclear(UnclearCode.PAST_DATE, explain, written=written, dates=(day, *later))


@dataclass(frozen=True)
class _Fixed:
    """A day that needs no anchor: relative ("besok") or written with its year."""

    day: date
    written: str

    def resolve(self, today: date) -> date | Unclear:
        return _past(self.day, self.written) if self.day < today else self.day

    def on_or_after(self, anchor: date) -> date | None:
        return self.day


@dataclass(frozen=True)
class _MonthDay:
    """A day and month without a year ("2 Desember", "2/12")."""

    day: int
    month: int
    written: str

    def resolve(self, today: date) -> date | Unclear:
        upcoming = self.on_or_after(today)
        if upcoming is None:
            return _bad_date(self.written)
        passed = self.on_or_before(today - timedelta(days=1))
        if passed is not None and today - passed < RECENTLY_PASSED:
            return _past(passed, self.written, upcoming)
        return upcoming

    def on_or_after(self, anchor: date) -> date | None:
        years = range(anchor.year, anchor.year + 9)  # 9 years reach the next 29 February
        days = (_safe_date(year, self.month, self.day) for year in years)
        return next((day for day in days if day is not None and day >= anchor), None)

    def on_or_before(self, anchor: date) -> date | None:
        years = range(anchor.year, anchor.year - 9, -1)
        days = (_safe_date(year, self.month, self.day) for year in years)
        return next((day for day in days if day is not None and day <= anchor), None)

    def start_for(self, end: date) -> date | None:
        """This day as the start of a range ending on ``end``: in the end's year, or the year
        before when the range crosses New Year ("28/12-3/1")."""
        crosses_new_year = self.month > end.month
        return _safe_date(end.year - crosses_new_year, self.month, self.day)


def _months_from(anchor: date) -> list[tuple[int, int]]:
    """(year, month - 1) of the 13 months starting with the anchor's."""
    index = anchor.year * 12 + anchor.month - 1
    return [divmod(index + offset, 12) for offset in range(13)]


@dataclass(frozen=True)
class _DayOfMonth:
    """A day of the month alone ("tgl 2"); in a list or range it borrows the month that follows."""

    day: int
    written: str

    def resolve(self, today: date) -> date | Unclear:
        day = self.on_or_after(today)
        return _bad_date(self.written) if day is None else day

    def on_or_after(self, anchor: date) -> date | None:
        days = (_safe_date(year, month + 1, self.day) for year, month in _months_from(anchor))
        return next((day for day in days if day is not None and day >= anchor), None)

    def start_for(self, end: date) -> date | None:
        """This day in the month of ``end`` ("3-5 Desember", "3, 7, 10 Desember")."""
        return _safe_date(end.year, end.month, self.day)


@dataclass(frozen=True)
class _Weekday:
    """A weekday, with "ini", "depan" or "lalu" if one was written after it."""

    weekday: int
    shift: str
    written: str

    def resolve(self, today: date) -> date | Unclear:
        monday = today - timedelta(days=today.weekday())
        if self.shift in ("depan", "lalu"):
            day = monday + timedelta(days=7 * _SHIFTS[self.shift] + self.weekday)
            return _past(day, self.written) if day < today else day
        return self.on_or_after(today if self.shift == "ini" else today + timedelta(days=1))

    def on_or_after(self, anchor: date) -> date:
        return anchor + timedelta(days=(self.weekday - anchor.weekday()) % 7)


@dataclass(frozen=True)
class _Vague:
    """A week or month without a day ("minggu depan"): it narrows, but does not name, a day."""

    days: tuple[date, ...]
    written: str

    def resolve(self, today: date) -> Unclear:
        ahead = tuple(day for day in self.days if day >= today)
        if not ahead:
            return _past(self.days[-1], self.written)
        explain = f"{self.written!r} names no single day"
        return Unclear(UnclearCode.VAGUE_DATE, explain, written=self.written, dates=ahead)


_DaySpec = _Fixed | _MonthDay | _DayOfMonth | _Weekday | _Vague


def _with_year(day: int, month: int, year: int, written: str) -> _Fixed | Unclear:
    found = _safe_date(year + 2000 if year < 100 else year, month, day)
    return _bad_date(written) if found is None else _Fixed(found, written)


def _without_year(day: int, month: int, written: str) -> _MonthDay | Unclear:
    # 2000 is a leap year, so this accepts 29 February and refuses 30 February or month 13.
    return (
        _bad_date(written)
        if _safe_date(2000, month, day) is None
        else _MonthDay(day, month, written)
    )


def _week(today: date, shift: int, written: str) -> _Vague:
    monday = today - timedelta(days=today.weekday()) + timedelta(weeks=shift)
    return _Vague(tuple(monday + timedelta(days=offset) for offset in range(7)), written)


def _month_start(today: date, shift: int) -> date:
    """The first day of the month ``shift`` months after today's."""
    year, month = divmod(today.year * 12 + today.month - 1 + shift, 12)
    return date(year, month + 1, 1)


def _month(today: date, shift: int, written: str) -> _Vague:
    first, after = _month_start(today, shift), _month_start(today, shift + 1)
    return _Vague(tuple(first + timedelta(days=n) for n in range((after - first).days)), written)


def _read_numeric_date(reader: _Reader) -> _DaySpec | Unclear | None:
    token, start = reader.peek(), reader.at
    if token is None or token.kind not in ("iso", "dmy", "dm"):
        return None
    reader.take()
    group = token.match.group
    if token.kind == "iso":
        return _with_year(int(group("iso_d")), int(group("iso_m")), int(group("iso_y")), token.text)
    if token.kind == "dmy":
        day, month, year = int(group("dmy_d")), int(group("dmy_m")), int(group("dmy_y"))
        return _with_year(day, month, year, reader.written_since(start))
    return _without_year(int(group("dm_d")), int(group("dm_m")), token.text)


def _read_named_date(reader: _Reader, *, bare_numbers: bool) -> _DaySpec | Unclear | None:
    """Read "2 Desember [2026]", or a bare day of the month where one is expected."""
    start = reader.at
    if reader.kind() != "number" or len(reader.peek().text) > 2:
        return None
    day = int(reader.peek().text)
    month = _MONTHS.get(reader.word(1))
    if month is None:
        if not bare_numbers:
            return None
        reader.take()
        written = reader.written_since(start)
        return _DayOfMonth(day, written) if 1 <= day <= 31 else _bad_date(written)
    reader.take(2)
    if reader.kind() == "number" and len(reader.peek().text) == 4:
        year = int(reader.take().text)
        return _with_year(day, month, year, reader.written_since(start))
    return _without_year(day, month, reader.written_since(start))


def _read_day_word(reader: _Reader, today: date) -> _DaySpec | None:
    """Read a relative day, a week or month, or a weekday."""
    start, word, after = reader.at, reader.word(), reader.word(1)
    relative = f"{word} {after}" if f"{word} {after}" in _RELATIVE_DAYS else word
    if relative in _RELATIVE_DAYS:
        reader.take(len(relative.split()))
    elif word in ("minggu", "pekan", "bulan") and after in _SHIFTS:
        reader.take(2)
        vague = _month if word == "bulan" else _week
        return vague(today, _SHIFTS[after], reader.written_since(start))
    elif word in _WEEKDAYS:
        reader.take()
        shift = reader.take_word(*_SHIFTS) or ""
        return _Weekday(_WEEKDAYS[word], shift, reader.written_since(start))
    else:
        return None
    return _Fixed(today + timedelta(days=_RELATIVE_DAYS[relative]), reader.written_since(start))


def _read_day(reader: _Reader, today: date, *, bare_numbers: bool) -> _DaySpec | Unclear | None:
    """Read one day expression at the cursor, or nothing (and take nothing)."""
    found = _read_numeric_date(reader)
    if found is None:
        found = _read_named_date(reader, bare_numbers=bare_numbers)
    return _read_day_word(reader, today) if found is None else found


# --- times -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Clock:
    """A time as written: the hour before any part of the day is applied."""

    hour: int
    minute: int
    padded: bool  # "08.00": a leading zero marks a 24-hour time
    period: str | None
    zone: str | None
    written: str

    @property
    def literal(self) -> bool:
        return self.padded or self.hour == 0 or self.hour >= 13

    @property
    def twelve_hour(self) -> bool:
        """Whether the hour, as written, could as well mean twelve hours later ("1.00")."""
        return self.period is None and not self.padded and 1 <= self.hour <= 11


@dataclass(frozen=True)
class _Span:
    start: _Clock
    end: _Clock | None
    open_end: bool  # "sampai selesai"


def _peek_period(reader: _Reader, ahead: int = 0) -> tuple[str, int] | None:
    if reader.word(ahead) == "dini" and reader.word(ahead + 1) == "hari":
        return "dini hari", 2
    return (reader.word(ahead), 1) if reader.word(ahead) in _PERIODS else None


def _read_period(reader: _Reader) -> str | None:
    found = _peek_period(reader)
    if found is None:
        return None
    reader.take(found[1])
    return found[0]


def _read_half_hour(reader: _Reader) -> tuple[str, str] | None:
    """Read "jam setengah 9": half an hour before nine, 8.30 (12.30 for "setengah 1")."""
    skip = 1 if reader.word() in ("jam", "pukul", "pkl") else 0
    if reader.word(skip) != "setengah" or reader.kind(skip + 1) != "number":
        return None
    hour = int(reader.peek(skip + 1).text)
    if not 1 <= hour <= 24:
        return None
    reader.take(skip + 2)
    return str(hour - 1 or 12), "30"


def _read_clock(reader: _Reader, *, bare: bool) -> _Clock | None:
    """Read "09.00", "jam 9", "9 pagi" (or a bare "11" after a range sign) with its period and
    zone label."""
    token, start = reader.peek(), reader.at
    if token is None:
        return None
    if half := _read_half_hour(reader):
        hour, minute = half
    elif token.kind == "clock":
        hour, minute = token.match.group("clock_h"), token.match.group("clock_m")
    elif token.kind == "hour":
        hour, minute = token.match.group("hour_h"), "0"
    elif token.kind == "number" and len(token.text) <= 2:
        if not bare and _peek_period(reader, ahead=1) is None:
            return None
        hour, minute = token.text, "0"
    else:
        return None
    if not half:
        reader.take()
    period = _read_period(reader)
    zone = reader.take_word(*_ZONES)
    padded = len(hour) == 2 and hour.startswith("0")
    written = reader.written_since(start)
    return _Clock(int(hour), int(minute), padded, period, zone and zone.upper(), written)


def _opens_hour_range(reader: _Reader) -> bool:
    """Whether a bare number starts a range of hours ("besok 8-10"): one agenda item has one
    day, so there it cannot be a range of days."""
    ends_in_time = reader.kind(2) in ("number", "clock", "hour") or reader.word(2) == "selesai"
    return reader.kind() == "number" and reader.kind(1) == "range" and ends_in_time


def _read_span(reader: _Reader, *, hour_ranges: bool) -> _Span | None:
    """Read a time or a range of times ("09.00-11.00", "pukul 9 sampai selesai")."""
    start = _read_clock(reader, bare=hour_ranges and _opens_hour_range(reader))
    if start is None:
        return None
    mark = reader.at
    if reader.kind() == "range":
        reader.take()
        if reader.take_word("selesai"):
            return _Span(start, None, open_end=True)
        end = _read_clock(reader, bare=True)
        if end is not None:
            return _Span(start, end, open_end=False)
        reader.at = mark
    return _Span(start, None, open_end=False)


def _read_all_day(reader: _Reader) -> bool:
    pairs = {("sehari", "penuh"), ("sepanjang", "hari"), ("satu", "hari")}
    if reader.word() == "seharian":
        reader.take()
        return True
    if (reader.word(), reader.word(1)) in pairs:
        reader.take(2)
        reader.take_word("penuh")
        return True
    return False


def _bad_clock(clock: _Clock) -> Unclear | None:
    if clock.hour <= 23 and clock.minute <= 59:
        return None
    explain = f"{clock.written!r} is not a time of day"
    return Unclear(UnclearCode.BAD_TIME, explain, written=clock.written)


def _hour_in(hour: int, period: str) -> int | None:
    """The reading of ``hour`` that falls in ``period`` ("jam 3 sore" is 15), if one does."""
    readings = [hour, hour + 12] if 1 <= hour <= 11 else [hour, 0] if hour == 12 else [hour]
    return next((reading for reading in readings if reading in _PERIODS[period]), None)


def _period_mismatch(clock: _Clock, *periods: str) -> Unclear:
    explain = f"{clock.written!r} does not fall in {' / '.join(periods)}"
    return Unclear(UnclearCode.PERIOD_MISMATCH, explain, written=clock.written, words=periods)


def _start_hour(clock: _Clock, phrase: str | None, end: _Clock | None) -> int | Unclear:
    """The start's hour: in its own or the phrase's part of the day, else in the end's ("jam
    7-9 malam") unless that would put it after the end ("11.00-1.00 PM"), else as written."""
    periods = tuple(dict.fromkeys(p for p in (clock.period, phrase) if p is not None))
    if periods:
        hour = _hour_in(clock.hour, periods[0])
        if hour is None or any(hour not in _PERIODS[period] for period in periods):
            return _period_mismatch(clock, *periods)
        return hour
    if end is not None and end.period is not None:
        hour, end_hour = _hour_in(clock.hour, end.period), _hour_in(end.hour, end.period)
        if hour is not None and (end_hour is None or hour <= end_hour):
            return hour
    if clock.literal or clock.hour >= 7:
        return clock.hour
    readings = (time(clock.hour, clock.minute), time(clock.hour + 12, clock.minute))
    explain = f"{clock.written!r} could be {readings[0]:%H.%M} or {readings[1]:%H.%M}"
    return Unclear(UnclearCode.AMBIGUOUS_HOUR, explain, written=clock.written, times=readings)


def _end_hour(clock: _Clock, start: time, *, afternoon: bool) -> int | Unclear:
    """The end's hour: in its own part of the day, else as written; a bare end before the start
    is read twelve hours later only when the start was marked after noon (``afternoon``)."""
    if clock.period is not None:
        hour = _hour_in(clock.hour, clock.period)
        return _period_mismatch(clock, clock.period) if hour is None else hour
    later = clock.hour + 12
    if afternoon and clock.twelve_hour and time(clock.hour, clock.minute) < start:
        return later if time(later, clock.minute) > start else clock.hour
    return clock.hour


def _likely_end(clock: _Clock, start: time, end: time) -> time | None:
    """The reading of a bare end before the start that Warta offers but does not assume."""
    if not clock.twelve_hour or end >= start:
        return None
    later = time(clock.hour + 12, clock.minute)
    length = datetime.combine(date.min, later) - datetime.combine(date.min, start)
    return later if timedelta(0) < length <= LIKELY_LONGEST else None


# --- parse_when --------------------------------------------------------------------------------


@dataclass
class _Scan:
    """Everything one agenda phrase said, in the order written."""

    days: list[_DaySpec] = field(default_factory=list)
    spans: list[_Span] = field(default_factory=list)
    periods: list[str] = field(default_factory=list)
    zones: list[str] = field(default_factory=list)
    all_day: bool = False
    unknown: list[str] = field(default_factory=list)
    errors: list[Unclear] = field(default_factory=list)


def _scan_when(reader: _Reader, today: date) -> _Scan:
    scan, after_tanggal = _Scan(), False
    while not reader.done():
        bare, after_tanggal = after_tanggal, False
        if (span := _read_span(reader, hour_ranges=not bare)) is not None:
            scan.spans.append(span)
            clocks = [clock for clock in (span.start, span.end) if clock is not None]
            scan.errors += [e for e in map(_bad_clock, clocks) if e is not None]
            scan.zones += [clock.zone for clock in clocks if clock.zone]
        elif (day := _read_day(reader, today, bare_numbers=bare)) is not None:
            (scan.errors if isinstance(day, Unclear) else scan.days).append(day)
        elif (period := _read_period(reader)) is not None:
            scan.periods.append(period)
            if reader.take_word("ini"):  # "malam ini"
                scan.days.append(_Fixed(today, f"{period} ini"))
        elif _read_all_day(reader):
            scan.all_day = True
        else:
            word = reader.take().text
            after_tanggal = word in ("tgl", "tanggal")
            if word in _ZONES:
                scan.zones.append(word.upper())
            elif word not in _WHEN_FILLERS:
                scan.unknown.append(word)
    return scan


def _weekday_mismatch(weekday: _Weekday, day: date, today: date) -> Unclear:
    own = weekday.resolve(today)
    candidates = (day,) if isinstance(own, Unclear) else (day, own)
    explain = f"{day.isoformat()} is a {_WEEKDAY_NAMES[day.weekday()]}, not {weekday.written!r}"
    return Unclear(
        UnclearCode.WEEKDAY_MISMATCH,
        explain,
        written=weekday.written,
        dates=candidates,
        weekday=weekday.weekday,
    )


def _weekday_day(weekday: _Weekday, vagues: list[_Vague], today: date) -> date | Unclear:
    if not vagues:
        return weekday.resolve(today)
    matches = tuple(day for day in vagues[0].days if day.weekday() == weekday.weekday)
    if len(matches) == 1:
        return matches[0]
    written = f"{weekday.written} {vagues[0].written}"
    return Unclear(UnclearCode.VAGUE_DATE, f"{written!r} names several days", written, matches)


def _pick_day(specs: list[_DaySpec], today: date) -> date | Unclear:
    weekdays = [spec for spec in specs if isinstance(spec, _Weekday)]
    vagues = [spec for spec in specs if isinstance(spec, _Vague)]
    days: list[date] = []
    for spec in specs:
        if not isinstance(spec, _Weekday | _Vague):
            day = spec.resolve(today)
            if isinstance(day, Unclear):
                return day
            days += [] if day in days else [day]
    if len(days) > 1:
        return Unclear(UnclearCode.CONFLICTING_DATES, "different days written", dates=tuple(days))
    if days:
        day = days[0]
    elif weekdays:
        day = _weekday_day(weekdays[0], vagues, today)
    elif vagues:
        return vagues[0].resolve(today)
    else:
        return Unclear(UnclearCode.NO_DATE, "no day written")
    if isinstance(day, Unclear):
        return day
    if mismatch := next((w for w in weekdays if w.weekday != day.weekday()), None):
        return _weekday_mismatch(mismatch, day, today)
    if outside := next((vague for vague in vagues if day not in vague.days), None):
        explain = f"{day.isoformat()} is not in {outside.written!r}"
        return Unclear(UnclearCode.CONFLICTING_DATES, explain, outside.written, (day,))
    return _past(day, specs[0].written) if day < today else day


def _pick_times(scan: _Scan, day: date) -> tuple[time, time | None, bool] | Unclear:
    """The start, the end (if written) and whether an end was written."""
    if scan.all_day and not scan.spans:
        return time(0, 0), None, False
    if not scan.spans:
        written = " ".join(scan.periods)
        return Unclear(UnclearCode.NO_TIME, "no time written", written, dates=(day,))
    written = tuple(
        clock.written for span in scan.spans for clock in (span.start, span.end) if clock
    )
    if len(scan.spans) > 1 or scan.all_day:
        return Unclear(UnclearCode.CONFLICTING_TIMES, "more than one time", words=written)
    periods = tuple(dict.fromkeys(scan.periods))
    if len(periods) > 1:
        return Unclear(UnclearCode.PERIOD_MISMATCH, "parts of the day disagree", words=periods)
    span = scan.spans[0]
    hour = _start_hour(span.start, periods[0] if periods else None, span.end)
    if isinstance(hour, Unclear):
        return hour
    start = time(hour, span.start.minute)
    if span.end is None:
        return start, None, span.open_end
    afternoon = any(period in _AFTERNOON for period in (span.start.period, *periods))
    hour = _end_hour(span.end, start, afternoon=afternoon)
    if isinstance(hour, Unclear):
        return hour
    end = time(hour, span.end.minute)
    if end <= start:
        likely = _likely_end(span.end, start, end)
        explain = f"ends at {end:%H.%M}, not after its start at {start:%H.%M}"
        explain += f" ({likely:%H.%M} would be a guess)" if likely else ""
        return Unclear(
            UnclearCode.END_BEFORE_START,
            explain,
            times=(start, end),
            dates=(day,),
            likely_end=likely,
        )
    return start, end, True


def parse_when(
    text: str, *, today: date, default_duration: timedelta = DEFAULT_DURATION
) -> When | Unclear:
    """Read an agenda phrase ("besok 09.00-11.00 WIB") into one day and a start (and end).

    The parts may come in any order; case, commas and filler words ("pada", "hari", "tanggal",
    "pukul", "jam", "mulai", "dari") do not matter; any other word is asked about. Where a
    phrase leaves a choice open:

    - Day and month are written day first. A date without a year is its next occurrence on or
      after today, except one that passed less than ``RECENTLY_PASSED`` ago: that is refused as
      ``past_date`` (a slip is likelier than next year). Two-digit years are 20yy.
    - Three dotted numbers are a date ("2.12.2026"); two, with exactly two digits after the dot
      or colon, are a time ("09.00", "9:30"). A slash makes a date ("2/12"); a dashed date needs
      its year ("2-12-2026"), because "8-10" is a range of hours (and "3-5 Des", of days).
    - A weekday alone is its next occurrence after today ("Senin" said on a Monday is next
      Monday); "Senin ini" counts today; "Senin depan" is the Monday of next calendar week
      (weeks start on Monday), "Senin lalu" that of last week. "minggu depan", "pekan ini" or
      "bulan depan" name no day: alone they are ``vague_date``; with a weekday or date they
      narrow it ("Senin minggu depan"). "minggu" before "ini/depan/lalu" is a week, not Sunday.
    - A lone number is a time only after "jam"/"pukul", before a part of the day ("9 pagi") or
      in a range ("8-10"). An hour without a part of the day means 07–12 and 13–23 as written,
      and 0 as midnight; a leading zero ("03.00") marks a 24-hour time. Hours 1–6 without either
      are ``ambiguous_hour``.
    - A part of the day ("pagi", "siang", "sore", "petang", "malam", "dini hari", "subuh", or
      "AM"/"PM") right after a time belongs to it ("jam 3 sore" is 15.00); one elsewhere ("besok
      pagi", "nanti malam") applies to the start, and must agree with the start's own.
    - In a range, a start without its own part of the day borrows the end's ("jam 7-9 malam")
      unless that puts it after the end ("11.00-1.00 PM" starts at 11.00). An end without one is
      read as written ("jam 9-11", "11.00-13.00"), never guessed to be after noon: only when the
      start is marked "siang", "sore", "petang", "malam" or "PM" (its own or the phrase's) is a
      bare end before the start read twelve hours later ("jam 3 sore-5" ends at 17.00, "nanti
      malam jam 7-9" at 21.00). An end not after the start is refused as ``end_before_start``
      ("11.00-10.00", "jam 10-2"), offering in ``likely_end`` the later reading of a bare 1–11
      end if that makes an item of at most ``LIKELY_LONGEST`` ("11.00-1.00": 13.00?); the desk
      does not schedule past midnight ("21.00-01.00").
    - "sampai selesai" / "-selesai" gives ``explicit_end`` with no ``end`` (``open_end``).
    - Times are local wall-clock times; a WIB/WITA/WIT label is reported in ``zone_label`` (see
      ``ZONE_NAMES``), never converted.
    """
    if default_duration <= timedelta(0):
        raise ValueError("default_duration must be positive")
    reader = _Reader(text)
    if reader.done():
        return Unclear(UnclearCode.EMPTY, "nothing written")
    scan = _scan_when(reader, today)
    if scan.unknown:
        explain = f"not understood: {' '.join(scan.unknown)}"
        return Unclear(UnclearCode.UNKNOWN_WORDS, explain, words=tuple(scan.unknown))
    if scan.errors:
        return scan.errors[0]
    day = _pick_day(scan.days, today)
    if isinstance(day, Unclear):
        return day
    zones = tuple(dict.fromkeys(scan.zones))
    if len(zones) > 1:
        return Unclear(UnclearCode.CONFLICTING_TIMES, "different time zones", words=zones)
    times = _pick_times(scan, day)
    if isinstance(times, Unclear):
        return times if times.dates else replace(times, dates=(day,))
    start, end, explicit_end = times
    zone = zones[0] if zones else None
    return When(day, start, end, explicit_end, scan.all_day, zone, default_duration)


# --- parse_dates -------------------------------------------------------------------------------


def _read_dated(reader: _Reader, today: date) -> _DaySpec | Unclear | None:
    """Read one day for a list; a weekday followed by a date ("Senin, 30/11") is checked."""
    found = _read_day(reader, today, bare_numbers=True)
    if not isinstance(found, _Weekday) or reader.kind() not in ("iso", "dmy", "dm", "number"):
        return found
    dated = _read_day(reader, today, bare_numbers=True)
    if not isinstance(dated, _Fixed | _MonthDay | _DayOfMonth):
        return found if dated is None else dated
    day = dated.resolve(today)
    if isinstance(day, Unclear):
        return day
    if day.weekday() != found.weekday:
        return _weekday_mismatch(found, day, today)
    return _Fixed(day, f"{found.written} {dated.written}")


def _day_of(spec: _DaySpec, today: date) -> date | Unclear:
    """A day for a leave list; a past fixed day is judged later, with the whole list."""
    return spec.day if isinstance(spec, _Fixed) else spec.resolve(today)


def _resolve_range(first: _DaySpec, last: _DaySpec, today: date) -> tuple[date, date] | Unclear:
    """Days of a range: a yearless start takes the end's year ("28/12-3/1", "3-5 Desember")."""
    for spec in (first, last):
        if isinstance(spec, _Vague):
            return spec.resolve(today)
    if isinstance(first, _MonthDay | _DayOfMonth):
        last_day = _day_of(last, today)
        if isinstance(last_day, Unclear):
            return last_day
        first_day = first.start_for(last_day)
    else:
        first_day = _day_of(first, today)
        if isinstance(first_day, Unclear):
            return first_day
        last_day = last.on_or_after(first_day)
    if first_day is None or last_day is None:
        return _bad_date(f"{first.written} - {last.written}")
    return first_day, last_day


def _resolve_item(
    first: _DaySpec, last: _DaySpec | None, today: date, anchor: date | None
) -> tuple[date, date] | Unclear:
    if last is not None:
        return _resolve_range(first, last, today)
    if isinstance(first, _DayOfMonth) and anchor is not None:
        day = first.start_for(anchor)  # "3, 7, 10 Desember": 3 and 7 borrow December
    else:
        day = _day_of(first, today)
    if day is None:
        return _bad_date(first.written)
    return day if isinstance(day, Unclear) else (day, day)


def _too_long(first: date, last: date) -> Unclear:
    explain = f"{(last - first).days + 1} days; at most {MAX_DAYS}"
    return Unclear(UnclearCode.TOO_LONG, explain, dates=(first, last))


_Item = tuple[_DaySpec, _DaySpec | None]


def _scan_dates(reader: _Reader, today: date) -> tuple[list[_Item], list[str], list[Unclear]]:
    items: list[_Item] = []
    unknown: list[str] = []
    errors: list[Unclear] = []
    while not reader.done():
        first = _read_dated(reader, today)
        if first is None:
            word = reader.take().text
            unknown += [] if word in _DATES_FILLERS else [word]
            continue
        mark, last = reader.at, None
        if reader.kind() == "range":
            reader.take()
            last = _read_dated(reader, today)
            if last is None:
                reader.at = mark
        for spec in (first, last):
            if isinstance(spec, Unclear):
                errors.append(spec)
        if not isinstance(first, Unclear) and not isinstance(last, Unclear):
            items.append((first, last))
    return items, unknown, errors


def parse_dates(text: str, *, today: date) -> list[date] | Unclear:
    """Read the days of a leave entry ("3-5 Desember", "3/12, 7/12") into a sorted list.

    Days are read as ``parse_when`` reads them, and may be listed (commas, "dan") or given as
    inclusive ranges. A bare day takes the month of the next dated item ("3, 7, 10 Desember",
    "3-5 Desember"); a yearless range start takes the end's year, or the year before when the
    range crosses New Year ("28/12-3/1"). A range that has already begun is accepted (leave
    recorded late); one that has ended is ``past_date``. More than ``MAX_DAYS`` is ``too_long``.
    """
    reader = _Reader(text)
    if reader.done():
        return Unclear(UnclearCode.EMPTY, "nothing written")
    items, unknown, errors = _scan_dates(reader, today)
    if unknown:
        explain = f"not understood: {' '.join(unknown)}"
        return Unclear(UnclearCode.UNKNOWN_WORDS, explain, words=tuple(unknown))
    if errors:
        return errors[0]
    days: set[date] = set()
    anchor = None
    for first, last in reversed(items):
        span = _resolve_item(first, last, today, anchor)
        if isinstance(span, Unclear):
            return span
        start, end = span
        if end < start:
            explain = f"range ends {end.isoformat()}, before its start {start.isoformat()}"
            return Unclear(UnclearCode.END_BEFORE_START, explain, dates=(start, end))
        if (end - start).days >= MAX_DAYS:
            return _too_long(start, end)
        days.update(start + timedelta(days=n) for n in range((end - start).days + 1))
        if not isinstance(first, _Weekday | _Vague):
            anchor = start
    ordered = sorted(days)
    if not ordered:
        return Unclear(UnclearCode.NO_DATE, "no day written")
    if len(ordered) > MAX_DAYS:
        return _too_long(ordered[0], ordered[-1])
    if ordered[-1] < today:
        return _past(ordered[-1], reader.text.strip())
    return ordered


# --- parse_month -------------------------------------------------------------------------------


def parse_month(text: str, *, today: date) -> tuple[int, int] | Unclear:
    """Read a month for a report or roster ("Desember 2026", "12/2026") as (year, month).

    A month without a year is its next occurrence, this month included; "bulan ini", "bulan
    depan" and "bulan lalu" count from today. Past months are accepted (reports look back).
    """
    words = re.sub(r"[\s,]+", " ", _normalise(text)).strip(" .")
    if not words:
        return Unclear(UnclearCode.EMPTY, "nothing written")
    numeric = re.fullmatch(r"(\d{4}) ?[-/.] ?(\d{1,2})|(\d{1,2}) ?[-/.] ?(\d{4})", words)
    shifted = re.fullmatch(r"bulan (ini|depan|lalu)", words)
    named = re.fullmatch(r"(?:bulan )?([a-z]+)(?: (\d{4}))?", words)
    if numeric:
        year, month = map(int, (numeric[1], numeric[2]) if numeric[1] else (numeric[4], numeric[3]))
        if 1 <= month <= 12:
            return year, month
        return Unclear(UnclearCode.BAD_MONTH, f"{words!r} has no month {month}", written=words)
    if shifted:
        first = _month_start(today, _SHIFTS[shifted[1]])
        return first.year, first.month
    if named and named[1] in _MONTHS:
        month = _MONTHS[named[1]]
        if named[2]:
            return int(named[2]), month
        return (today.year if month >= today.month else today.year + 1), month
    unknown = tuple(
        w for w in words.split() if w not in _MONTHS and w != "bulan" and not w.isdigit()
    )
    if unknown:
        return Unclear(
            UnclearCode.UNKNOWN_WORDS, f"not understood: {' '.join(unknown)}", words=unknown
        )
    return Unclear(UnclearCode.NO_MONTH, "no month written", written=words)
