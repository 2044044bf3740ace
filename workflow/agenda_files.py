"""Read agenda files (CSV, iCalendar) into agenda rows, and write the month's agenda book.

Pure: the caller reads the bytes and stores the rows. Reading is all-or-nothing: one bad row
and ``parse_agenda_file`` raises ``AgendaFileError`` listing every bad line, so an editor fixes
the file once and imports it whole, never half of it.

Rules beyond the obvious ones (each has a test):

- Window: rows must start between ``today - PAST_DAYS`` and ``today + FUTURE_DAYS`` (desk
  zone, both days included). A CSV date outside it is an error (``out_of_window``: a typed
  2062 is a typo); iCalendar events outside it are skipped, since an exported calendar carries
  years of history, and recurring events are expanded only inside it.
- All rows come back in the desk zone, sorted by start. All-day rows start at 00.00 of their
  day and end at 00.00 after their last day (exclusive, as iCalendar's DTEND).
- Duplicates (same ``source_key``): an identical copy is dropped; different content under one
  key is an error (``duplicate``) unless iCalendar's SEQUENCE says which copy is newer.
- Problem details are Indonesian, for the editor; ``code`` is stable, for templates and tests.
  Line 0 means the whole file.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
from dateutil.rrule import rrule, rruleset, rrulestr

from workflow.when import ZONE_NAMES, Unclear, UnclearCode, parse_dates, parse_when

PAST_DAYS = 31
FUTURE_DAYS = 400
MAX_OCCURRENCES = 1000
"""The most occurrences one recurring event may have inside the window."""
HEADER_SEARCH_ROWS = 10
"""How many rows may sit above a CSV's header (a sheet title, a blank line)."""
MAX_TEXT_LENGTH = 500
"""The longest title, leaders or place accepted (the agenda table's column size)."""
MAX_UID_LENGTH = 200
"""A longer UID is hashed, so every ``source_key`` fits in 300 characters."""


class ProblemCode(StrEnum):
    """Why a file or one of its rows was refused."""

    UNKNOWN_FORMAT = "unknown_format"  # neither CSV nor iCalendar (or an Excel workbook)
    EMPTY = "empty"  # no rows at all (or, for iCalendar, none inside the window)
    MALFORMED = "malformed"  # the file's structure is broken; the line is the broken one
    MISSING_COLUMN = "missing_column"  # CSV header lacks tanggal, mulai or kegiatan
    DUPLICATE_COLUMN = "duplicate_column"  # two CSV columns mean the same thing
    TOO_MANY_CELLS = "too_many_cells"  # more filled cells than columns (an unquoted comma)
    BAD_DATE = "bad_date"
    PAST_DATE = "past_date"  # a date without a year that has just passed: write the year
    OUT_OF_WINDOW = "out_of_window"  # a CSV date before/after the import window
    BAD_TIME = "bad_time"
    END_BEFORE_START = "end_before_start"
    MISSING_TITLE = "missing_title"
    MISSING_START = "missing_start"  # a VEVENT without DTSTART
    UNKNOWN_TIMEZONE = "unknown_timezone"  # a TZID neither known nor defined in the file
    BAD_RULE = "bad_rule"  # an RRULE that cannot be expanded (or expands too often)
    TOO_LONG = "too_long"  # a title, leaders or place longer than MAX_TEXT_LENGTH
    DUPLICATE = "duplicate"  # same source_key as an earlier row, different content


@dataclass(frozen=True)
class FileProblem:
    """One reason a file was refused: the line to fix (0 for the whole file) and why."""

    line: int
    code: ProblemCode
    detail: str


class AgendaFileError(ValueError):
    """The file was refused and nothing may be imported; ``problems`` lists every bad line."""

    def __init__(self, problems: Sequence[FileProblem]) -> None:
        self.problems = sorted(problems, key=lambda problem: (problem.line, problem.code))
        summary = "; ".join(
            f"baris {p.line}: {p.detail}" if p.line else p.detail for p in self.problems
        )
        super().__init__(summary)


@dataclass(frozen=True)
class AgendaRow:
    """One agenda item read from a file, ready for the caller to add, update or cancel.

    ``source_key`` is the item's identity across re-imports, so the caller updates instead of
    duplicating: ``csv:<sha1 of "YYYY-MM-DD|HH:MM|title">`` (title case-folded, spaces
    collapsed; "sehari" for the time of an all-day row), ``ics:<UID>`` for a single event,
    ``ics:<UID>:<occurrence>`` for each occurrence of a recurring one (its original start in
    UTC, ``20261202T020000Z``, or ``20261202`` all day; a moved occurrence keeps it), and
    ``ics-nouid:<sha1 of start and title>`` for an event without UID (``ics:~<sha1 of UID>``
    replaces ``ics:<UID>`` for a UID longer than ``MAX_UID_LENGTH``).
    """

    title: str
    starts_at: datetime  # aware, in the desk zone
    ends_at: datetime | None  # None when the file gives no end (or "sampai selesai")
    all_day: bool
    leaders: str = ""
    place: str = ""
    notes: str = ""
    source_key: str = ""
    line: int = 0  # the CSV line, or the line of BEGIN:VEVENT
    cancelled: bool = False  # STATUS:CANCELLED (or METHOD:CANCEL): cancel the stored item
    open_end: bool = False  # "09.00 - selesai": an end was written, but not its time


def parse_agenda_file(data: bytes, *, filename: str, tz: ZoneInfo, today: date) -> list[AgendaRow]:
    """Read an agenda file into rows sorted by start, or raise ``AgendaFileError``.

    The format comes from the content (``BEGIN:VCALENDAR``) first, then the extension: .ics
    is iCalendar, .csv/.tsv/.txt is CSV. Text may be UTF-8 (with or without BOM), UTF-16 with
    BOM, or Windows-1252 as old Excel saves it.
    """
    window = _Window(today - timedelta(days=PAST_DAYS), today + timedelta(days=FUTURE_DAYS), tz)
    if not data.strip():
        raise AgendaFileError([FileProblem(0, ProblemCode.EMPTY, "File kosong.")])
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        detail = "Ini file Excel/ODS. Mohon simpan sebagai CSV (Simpan Sebagai → CSV) lalu kirim."
        raise AgendaFileError([FileProblem(0, ProblemCode.UNKNOWN_FORMAT, detail)])
    text = _decode(data)
    extension = PurePosixPath(filename.replace("\\", "/").lower()).suffix
    if text.lstrip().upper().startswith("BEGIN:VCALENDAR") or extension in _ICS_EXTENSIONS:
        rows, problems = _read_ics(text, tz=tz, window=window)
    elif extension in _CSV_EXTENSIONS and "\x00" not in text:
        rows, problems = _read_csv(text, tz=tz, window=window)
    else:
        detail = f"Format file {filename!r} tidak dikenal. Kirim file .csv atau .ics."
        raise AgendaFileError([FileProblem(0, ProblemCode.UNKNOWN_FORMAT, detail)])
    if problems:
        raise AgendaFileError(problems)
    if not rows:
        raise AgendaFileError([FileProblem(0, ProblemCode.EMPTY, _empty_detail(window))])
    return sorted(rows, key=lambda row: (row.starts_at, row.line, row.source_key))


# --- shared ------------------------------------------------------------------------------------

_ICS_EXTENSIONS = frozenset((".ics", ".ical", ".icalendar", ".ifb"))
_CSV_EXTENSIONS = frozenset((".csv", ".tsv", ".txt"))
_DAY_NAMES = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
_MONTH_NAMES = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
_ZONE_LABELS = {zone: label for label, zone in ZONE_NAMES.items()} | {"Asia/Pontianak": "WIB"}


@dataclass(frozen=True)
class _Window:
    """The days an import may touch, in the desk zone, both ends included."""

    first: date
    last: date
    tz: ZoneInfo

    def holds(self, moment: datetime | date) -> bool:
        day = moment.astimezone(self.tz).date() if isinstance(moment, datetime) else moment
        return self.first <= day <= self.last

    def wall_bounds(self, zone: tzinfo) -> tuple[datetime, datetime]:
        """Naive wall-clock bounds in ``zone``, a day wider on each side (``holds`` decides)."""
        start = datetime.combine(self.first, time(0), self.tz).astimezone(zone)
        end = datetime.combine(self.last + timedelta(days=1), time(0), self.tz).astimezone(zone)
        margin = timedelta(days=1)
        return start.replace(tzinfo=None) - margin, end.replace(tzinfo=None) + margin


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")  # never fails: every byte is a character


def long_date(day: date) -> str:
    """``Rabu, 2 Desember 2026``, as the desk writes dates."""
    return f"{_DAY_NAMES[day.weekday()]}, {day.day} {_MONTH_NAMES[day.month - 1]} {day.year}"


def _short_date(day: date) -> str:
    return f"{day.day} {_MONTH_NAMES[day.month - 1]} {day.year}"


def _empty_detail(window: _Window) -> str:
    return (
        "Tidak ada kegiatan yang dapat dibaca antara "
        f"{_short_date(window.first)} dan {_short_date(window.last)}."
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _paragraphs(text: str) -> str:
    lines = (line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    return "\n".join(line for line in lines if line)


def _too_long(**texts: str) -> list[tuple[ProblemCode, str]]:
    names = {"title": "Nama kegiatan", "leaders": "Pimpinan", "place": "Tempat"}
    problems = []
    for name, text in texts.items():
        if len(text) > MAX_TEXT_LENGTH:
            detail = f"{names[name]} terlalu panjang: {len(text)} huruf (paling banyak "
            detail += f"{MAX_TEXT_LENGTH})."
            problems.append((ProblemCode.TOO_LONG, detail))
    return problems


def _keep_unique(rows: Iterable[AgendaRow], problems: list[FileProblem]) -> list[AgendaRow]:
    """Drop identical copies of a row; report a key reused for different content."""
    kept: dict[str, AgendaRow] = {}
    for row in rows:
        first = kept.setdefault(row.source_key, row)
        if first is not row and replace(first, line=0) != replace(row, line=0):
            detail = (
                f"Kegiatan {row.title!r} sama dengan baris {first.line} (tanggal, jam dan nama "
                "kegiatan), tetapi isinya berbeda. Mohon hapus salah satu."
            )
            problems.append(FileProblem(row.line, ProblemCode.DUPLICATE, detail))
    return list(kept.values())


# --- CSV ---------------------------------------------------------------------------------------

_COLUMN_ALIASES = {
    "date": ("tanggal", "tgl", "date", "hari tanggal", "hari tgl", "tanggal kegiatan"),
    "start": ("mulai", "jam mulai", "waktu mulai", "start", "start time", "waktu", "jam",
              "pukul", "time"),
    "end": ("selesai", "jam selesai", "waktu selesai", "end", "end time", "sampai", "hingga"),
    "title": ("kegiatan", "acara", "judul", "title", "event", "nama kegiatan", "nama acara",
              "uraian kegiatan", "agenda", "agenda kegiatan"),
    "leaders": ("pimpinan", "pejabat", "leader", "leaders", "pimpinan daerah", "dihadiri",
                "dihadiri oleh", "yang hadir", "pejabat yang hadir"),
    "place": ("tempat", "lokasi", "place", "location", "venue", "tempat kegiatan"),
    "notes": ("keterangan", "catatan", "notes", "note", "ket", "deskripsi", "description"),
}  # fmt: skip
_COLUMN_OF = {alias: column for column, aliases in _COLUMN_ALIASES.items() for alias in aliases}
_REQUIRED_COLUMNS = {"date": "tanggal", "start": "mulai (jam)", "title": "kegiatan"}
_DELIMITERS = (",", ";", "\t")
_ALL_DAY_WORDS = frozenset(
    ("sehari", "seharian", "sehari penuh", "sepanjang hari", "all day", "all-day", "allday")
)
# A date in a file must name its month; words that count from today would count from the
# wrong day (the file may be imported days after it was written).
_RELATIVE_WORDS = frozenset(
    ("besok", "esok", "lusa", "kemarin", "ini", "sekarang", "nanti", "depan", "lalu")
)
_HAS_MONTH = re.compile(
    r"\d\s*[/.-]\s*\d|\b(?:jan|feb|peb|mar|apr|mei|may|jun|jul|agu|agt|ags|aug|sep|okt|oct"
    r"|nov|nop|des|dec)[a-z]*\b",
    re.IGNORECASE,
)
_SPREADSHEET_MIDNIGHT = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2})[ T]00:00(?::00)?$")
_DATE_HINT = "tulis seperti 2/12/2026 atau Rabu, 2 Desember 2026"
_TIME_HINT = "tulis seperti 09.00, 09.00-11.00, 09.00 - selesai, atau seharian"


class _BrokenCsv(Exception):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line


def _header_name(cell: str) -> str:
    without_notes = re.sub(r"\(.*?\)", " ", cell.casefold())  # "Jam Mulai (WIB)"
    return " ".join(re.sub(r"[^0-9a-z]+", " ", without_notes).split())


def _header_score(cells: Sequence[str]) -> int:
    return len({_COLUMN_OF[name] for name in map(_header_name, cells) if name in _COLUMN_OF})


def _records(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """Non-empty records with the line each begins on (a quoted cell may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records, line = [], 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                records.append((line, cells))
            line = reader.line_num + 1
    except csv.Error as error:
        raise _BrokenCsv(line, str(error)) from error
    return records


def _find_header(text: str) -> tuple[list[tuple[int, list[str]]], int]:
    """The records under the delimiter whose header names the most known columns, and the
    header's index among them; ``-1`` when no delimiter gives a known column."""
    best: tuple[int, list[tuple[int, list[str]]], int] | None = None
    broken: _BrokenCsv | None = None
    for delimiter in _DELIMITERS:
        try:
            records = _records(text, delimiter)
        except _BrokenCsv as error:
            broken = broken or error
            continue
        for index, (_, cells) in enumerate(records[:HEADER_SEARCH_ROWS]):
            score = _header_score(cells)
            if best is None or score > best[0]:
                best = (score, records, index)
    if best is None:
        assert broken is not None
        raise broken
    score, records, index = best
    return records, index if score else -1


def _read_csv(
    text: str, *, tz: ZoneInfo, window: _Window
) -> tuple[list[AgendaRow], list[FileProblem]]:
    try:
        records, header_index = _find_header(text)
    except _BrokenCsv as error:
        detail = f"Baris ini tidak dapat dibaca sebagai CSV ({error})."
        return [], [FileProblem(error.line, ProblemCode.MALFORMED, detail)]
    if header_index < 0:
        wanted = ", ".join(_REQUIRED_COLUMNS.values())
        detail = f"Judul kolom tidak dikenali. Baris pertama harus berisi judul kolom: {wanted}."
        line = records[0][0] if records else 1
        return [], [FileProblem(line, ProblemCode.MISSING_COLUMN, detail)]
    header_line, header = records[header_index]
    columns, problems = _columns(header_line, header)
    if problems:
        return [], problems
    rows = []
    for line, cells in records[header_index + 1 :]:
        row = _csv_row(line, cells, len(header), columns, tz=tz, window=window, problems=problems)
        if row is not None:
            rows.append(row)
    return _keep_unique(rows, problems), problems


def _columns(line: int, header: Sequence[str]) -> tuple[dict[str, int], list[FileProblem]]:
    columns: dict[str, int] = {}
    problems = []
    for index, cell in enumerate(header):
        column = _COLUMN_OF.get(_header_name(cell))
        if column is None:
            continue  # "No", "Hari", anything else: not ours
        if column in columns:
            first = header[columns[column]].strip()
            detail = f"Kolom {cell.strip()!r} dan {first!r} berarti sama. Mohon hapus salah satu."
            problems.append(FileProblem(line, ProblemCode.DUPLICATE_COLUMN, detail))
        else:
            columns[column] = index
    for column, name in _REQUIRED_COLUMNS.items():
        if column not in columns:
            detail = f"Kolom {name!r} tidak ada."
            problems.append(FileProblem(line, ProblemCode.MISSING_COLUMN, detail))
    return columns, problems


def _csv_row(
    line: int,
    cells: Sequence[str],
    width: int,
    columns: dict[str, int],
    *,
    tz: ZoneInfo,
    window: _Window,
    problems: list[FileProblem],
) -> AgendaRow | None:
    if any(cell.strip() for cell in cells[width:]):
        detail = (
            f"Baris ini berisi {len(cells)} kolom, judul kolom hanya {width}. Mungkin ada tanda "
            "koma/titik koma di dalam teks: beri tanda kutip pada teks itu."
        )
        problems.append(FileProblem(line, ProblemCode.TOO_MANY_CELLS, detail))
        return None

    def cell(column: str) -> str:
        index = columns.get(column)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    found: list[FileProblem] = []
    day = _csv_day(cell("date"), window)
    if isinstance(day, tuple):
        found.append(FileProblem(line, *day))
    # The time is checked even when the date is bad, so one message lists both.
    times = _csv_times(
        cell("start"), cell("end"), day if isinstance(day, date) else window.first, tz
    )
    if isinstance(times, tuple):
        found.append(FileProblem(line, *times))
    title, leaders, place = (_one_line(cell(name)) for name in ("title", "leaders", "place"))
    if not title:
        detail = "Nama kegiatan kosong."
        found.append(FileProblem(line, ProblemCode.MISSING_TITLE, detail))
    found += [
        FileProblem(line, *problem)
        for problem in _too_long(title=title, leaders=leaders, place=place)
    ]
    if found:
        problems.extend(found)
        return None
    assert isinstance(times, _Times)
    start_key = "sehari" if times.all_day else f"{times.starts_at:%H:%M}"
    identity = f"{times.starts_at.date().isoformat()}|{start_key}|{title.casefold()}"
    return AgendaRow(
        title=title,
        starts_at=times.starts_at,
        ends_at=times.ends_at,
        all_day=times.all_day,
        leaders=leaders,
        place=place,
        notes=_paragraphs(cell("notes")),
        source_key="csv:" + hashlib.sha1(identity.encode()).hexdigest(),
        line=line,
        open_end=times.open_end,
    )


def _csv_day(text: str, window: _Window) -> date | tuple[ProblemCode, str]:
    written = _SPREADSHEET_MIDNIGHT.sub(r"\1", text)
    if not written:
        return ProblemCode.BAD_DATE, f"Tanggal kosong; {_DATE_HINT}."
    words = set(re.findall(r"[a-z]+", written.lower()))
    if words & _RELATIVE_WORDS or not _HAS_MONTH.search(written):
        return ProblemCode.BAD_DATE, f"Tanggal {written!r} kurang lengkap; {_DATE_HINT}."
    # Read from the window's first day, so a date in the last month is not "past".
    days = parse_dates(written, today=window.first)
    if isinstance(days, Unclear):
        return _date_problem(written, days, window)
    if len(days) != 1:
        return ProblemCode.BAD_DATE, f"{written!r} berisi {len(days)} hari; satu baris satu hari."
    if days[0] > window.last:
        return ProblemCode.OUT_OF_WINDOW, _outside(days[0], window)
    return days[0]


def _outside(day: date, window: _Window) -> str:
    return (
        f"Tanggal {_short_date(day)} di luar rentang impor "
        f"({_short_date(window.first)} s.d. {_short_date(window.last)})."
    )


def _date_problem(written: str, unclear: Unclear, window: _Window) -> tuple[ProblemCode, str]:
    if unclear.code is UnclearCode.PAST_DATE and len(unclear.dates) == 2:
        passed = unclear.dates[0]
        detail = f"{written!r} sudah lewat ({_short_date(passed)}); mohon tulis tahunnya."
        return ProblemCode.PAST_DATE, detail
    if unclear.code is UnclearCode.PAST_DATE and unclear.dates:
        return ProblemCode.OUT_OF_WINDOW, _outside(unclear.dates[0], window)
    if unclear.code is UnclearCode.WEEKDAY_MISMATCH and unclear.weekday is not None:
        day = unclear.dates[0]
        detail = (
            f"{_short_date(day)} jatuh pada hari {_DAY_NAMES[day.weekday()]}, bukan "
            f"{_DAY_NAMES[unclear.weekday]}."
        )
        return ProblemCode.BAD_DATE, detail
    return ProblemCode.BAD_DATE, f"Tanggal {written!r} tidak dapat dibaca; {_DATE_HINT}."


@dataclass(frozen=True)
class _Times:
    starts_at: datetime
    ends_at: datetime | None
    all_day: bool
    open_end: bool = False


def _csv_times(start: str, end: str, day: date, tz: ZoneInfo) -> _Times | tuple[ProblemCode, str]:
    if _one_line(start).casefold() in _ALL_DAY_WORDS and not end:
        return _all_day(day, day, tz)
    if not start:
        return ProblemCode.BAD_TIME, f"Jam mulai kosong; {_TIME_HINT}."
    written = f"{start} - {end}" if end else start
    when = parse_when(f"{day.isoformat()} {written}", today=day)
    if isinstance(when, Unclear):
        return _time_problem(written, when)
    if when.day != day:
        return ProblemCode.BAD_TIME, f"Kolom jam berisi tanggal lain ({written!r})."
    if when.all_day:
        return _all_day(day, day, tz)
    zone = ZoneInfo(ZONE_NAMES[when.zone_label]) if when.zone_label else tz
    starts_at = datetime.combine(day, when.start, zone).astimezone(tz)
    ends_at = None if when.end is None else datetime.combine(day, when.end, zone).astimezone(tz)
    return _Times(starts_at, ends_at, all_day=False, open_end=when.open_end)


def _all_day(first: date, last: date, tz: ZoneInfo) -> _Times:
    start = datetime.combine(first, time(0), tz)
    return _Times(start, datetime.combine(last + timedelta(days=1), time(0), tz), all_day=True)


def _time_problem(written: str, unclear: Unclear) -> tuple[ProblemCode, str]:
    if unclear.code is UnclearCode.END_BEFORE_START:
        start, end = unclear.times
        detail = f"Jam selesai {end:%H.%M} tidak setelah jam mulai {start:%H.%M}."
        return ProblemCode.END_BEFORE_START, detail
    if unclear.code is UnclearCode.AMBIGUOUS_HOUR:
        early, late = unclear.times
        detail = f"Jam {written!r} bisa {early:%H.%M} atau {late:%H.%M}; tulis dua digit jam."
        return ProblemCode.BAD_TIME, detail
    return ProblemCode.BAD_TIME, f"Jam {written!r} tidak dapat dibaca; {_TIME_HINT}."


# --- iCalendar ---------------------------------------------------------------------------------

_CONTENT_LINE = re.compile(
    r'[A-Za-z0-9-]+(?:;[A-Za-z0-9-]+=(?:"[^"]*"|[^";:,]*)(?:,(?:"[^"]*"|[^";:,]*))*)*:'
)
_PHYSICAL_LINE = re.compile(r"\r\n|\r|\n")
_USED_PROPERTIES = frozenset(
    ("DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID", "UID",
     "SUMMARY", "LOCATION", "DESCRIPTION", "STATUS", "SEQUENCE")
)  # fmt: skip
_SUPPORTED_FREQUENCIES = frozenset(("HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"))
_HTML_TAG = re.compile(
    r"<\s*(/?)\s*(br|p|div|li|ul|ol|b|strong|i|em|u|span|a|font)\b[^>]*>", re.IGNORECASE
)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Unfolded content lines, each with the physical line it begins on; blank lines dropped."""
    lines: list[tuple[int, str]] = []
    for number, physical in enumerate(_PHYSICAL_LINE.split(text), start=1):
        if physical[:1] in (" ", "\t") and lines:
            lines[-1] = (lines[-1][0], lines[-1][1] + physical[1:])
        elif physical.strip():
            lines.append((number, physical))
    return lines


def _syntax_problems(lines: Sequence[tuple[int, str]]) -> list[FileProblem]:
    """Lines that are not ``NAME[;params]:value``, and BEGIN/END that do not pair up."""
    problems: list[FileProblem] = []

    def broken(line: int, detail: str) -> None:
        problems.append(FileProblem(line, ProblemCode.MALFORMED, detail))

    if not lines or lines[0][1].strip().upper() != "BEGIN:VCALENDAR":
        broken(
            lines[0][0] if lines else 0, "Ini bukan file iCalendar (harus diawali BEGIN:VCALENDAR)."
        )
        return problems
    open_components: list[tuple[int, str]] = []
    for line, content in lines:
        if not _CONTENT_LINE.match(content):
            broken(line, f"Baris ini tidak berformat iCalendar: {content[:60]!r}.")
            continue
        name, _, value = content.partition(":")
        name, value = name.upper(), value.strip().upper()
        if name == "BEGIN":
            open_components.append((line, value))
        elif name == "END":
            names = [component for _, component in open_components]
            if value not in names:
                broken(line, f"END:{value} tanpa BEGIN:{value}.")
                continue
            while open_components[-1][1] != value:
                begun, component = open_components.pop()
                broken(begun, f"BEGIN:{component} tidak ditutup dengan END:{component}.")
            open_components.pop()
        elif not open_components:
            broken(line, "Baris ini berada di luar BEGIN:VCALENDAR … END:VCALENDAR.")
    for begun, component in open_components:
        broken(begun, f"BEGIN:{component} tidak ditutup dengan END:{component}.")
    return problems


@dataclass
class _Event:
    """One VEVENT as read, before expansion; moments are aware, or dates for all-day."""

    line: int
    identity: str  # "ics:<UID>" or "ics-nouid:<sha1>"
    recurrence_id: str  # "" for a master; the occurrence key for an override
    recurrence_start: datetime | date | None
    start: datetime | date
    end: datetime | date | None
    title: str
    place: str
    notes: str
    cancelled: bool
    sequence: int
    content: tuple[str, ...]  # the event's lines, timestamps left out: equal means identical
    rules: list[icalendar.vRecur] = field(default_factory=list)
    rdates: list[datetime | date] = field(default_factory=list)
    exdates: list[datetime | date] = field(default_factory=list)

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)


class _EventProblem(Exception):
    def __init__(self, code: ProblemCode, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def _read_ics(
    text: str, *, tz: ZoneInfo, window: _Window
) -> tuple[list[AgendaRow], list[FileProblem]]:
    lines = _logical_lines(text)
    problems = _syntax_problems(lines)
    if problems:
        return [], problems
    try:
        calendars = icalendar.Calendar.from_ical(text, multiple=True)
    except Exception as error:  # the parser's errors are of many types; all mean a broken file
        detail = f"File iCalendar tidak dapat dibaca: {str(error)[:120]}"
        return [], [FileProblem(0, ProblemCode.MALFORMED, detail)]
    event_lines = iter(line for line, content in lines if content.strip().upper() == "BEGIN:VEVENT")
    events: dict[tuple[str, str], _Event] = {}
    for calendar in calendars:
        floating = _floating_zone(calendar, tz)
        cancel_all = str(calendar.get("METHOD", "")).strip().upper() == "CANCEL"
        for component in calendar.walk("VEVENT"):
            line = next(event_lines, 0)
            try:
                event = _read_event(component, line, floating, cancel_all)
            except _EventProblem as problem:
                problems.append(FileProblem(line, problem.code, problem.detail))
                continue
            _keep_newest(events, event, problems)
    rows: list[AgendaRow] = []
    overridden = {(event.identity, event.recurrence_id) for event in events.values()}
    for event in events.values():
        try:
            rows += _event_rows(event, overridden, window)
        except _EventProblem as problem:
            problems.append(FileProblem(event.line, problem.code, problem.detail))
    return _keep_unique(rows, problems), problems


def _floating_zone(calendar: icalendar.Calendar, tz: ZoneInfo) -> tzinfo:
    """Google writes the calendar's zone in X-WR-TIMEZONE; floating times are in it."""
    name = str(calendar.get("X-WR-TIMEZONE", "")).strip()
    try:
        return ZoneInfo(name) if name else tz
    except (ZoneInfoNotFoundError, ValueError):
        return tz


def _keep_newest(
    events: dict[tuple[str, str], _Event], event: _Event, problems: list[FileProblem]
) -> None:
    key = (event.identity, event.recurrence_id)
    earlier = events.get(key)
    if earlier is None or event.sequence > earlier.sequence:
        events[key] = event
    elif event.sequence == earlier.sequence and event.content != earlier.content:
        detail = (
            f"UID kegiatan ini sama dengan kegiatan di baris {earlier.line}, tetapi isinya "
            "berbeda (SEQUENCE sama). Mohon ekspor ulang kalender."
        )
        problems.append(FileProblem(event.line, ProblemCode.DUPLICATE, detail))


def _read_event(
    component: icalendar.Event, line: int, floating: tzinfo, cancel_all: bool
) -> _Event:
    for name, message in component.errors:
        if name in _USED_PROPERTIES:
            raise _EventProblem(ProblemCode.MALFORMED, f"{name} tidak dapat dibaca ({message}).")
    start = _moment(component, "DTSTART", floating)
    if start is None:
        raise _EventProblem(ProblemCode.MISSING_START, "Kegiatan ini tidak punya DTSTART.")
    end = _end(component, start, floating)
    title = _one_line(_text(component, "SUMMARY"))
    uid = _text(component, "UID").strip()
    if len(uid) > MAX_UID_LENGTH:
        identity = "ics:~" + hashlib.sha1(uid.encode()).hexdigest()
    elif uid:
        identity = f"ics:{uid}"
    else:
        fallback = f"{_occurrence_key(start)}|{title.casefold()}"
        identity = "ics-nouid:" + hashlib.sha1(fallback.encode()).hexdigest()
    recurrence_start = _moment(component, "RECURRENCE-ID", floating)
    skipped = ("DTSTAMP", "LAST-MODIFIED", "CREATED")
    content = tuple(
        line for line in component.to_ical().decode().splitlines() if not line.startswith(skipped)
    )
    return _Event(
        line=line,
        identity=identity,
        recurrence_id="" if recurrence_start is None else _occurrence_key(recurrence_start),
        recurrence_start=recurrence_start,
        start=start,
        end=end,
        title=title,
        place=_one_line(_text(component, "LOCATION")),
        notes=_paragraphs(_plain(_text(component, "DESCRIPTION"))),
        cancelled=cancel_all or _text(component, "STATUS").strip().upper() == "CANCELLED",
        sequence=_sequence(component),
        content=content,
        rules=_all(component, "RRULE"),
        rdates=_dates(component, "RDATE", floating),
        exdates=_dates(component, "EXDATE", floating),
    )


def _all(component: icalendar.Event, name: str) -> list[Any]:
    value = component.get(name)
    return [] if value is None else value if isinstance(value, list) else [value]


def _text(component: icalendar.Event, name: str) -> str:
    values = _all(component, name)
    return str(values[0]) if values else ""


def _sequence(component: icalendar.Event) -> int:
    try:
        return int(_text(component, "SEQUENCE") or 0)
    except ValueError:
        return 0


def _plain(text: str) -> str:
    """Descriptions from Google Calendar may carry HTML; keep the words and line breaks."""
    if not _HTML_TAG.search(text):
        return text

    def replace(match: re.Match[str]) -> str:
        closing, tag = match.group(1), match.group(2).lower()
        return "\n" if tag == "br" or (closing and tag in ("p", "div", "li")) else ""

    return html.unescape(_HTML_TAG.sub(replace, text))


def _aware(value: object, name: str, params: object, floating: tzinfo) -> datetime | date:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value
        if isinstance(params, dict) and params.get("TZID"):
            detail = f"Zona waktu {params['TZID']!r} pada {name} tidak dikenal."
            raise _EventProblem(ProblemCode.UNKNOWN_TIMEZONE, detail)
        return value.replace(tzinfo=floating)
    if isinstance(value, date):
        return value
    raise _EventProblem(ProblemCode.MALFORMED, f"{name} bukan tanggal atau waktu.")


def _moment(component: icalendar.Event, name: str, floating: tzinfo) -> datetime | date | None:
    values = _all(component, name)
    if not values:
        return None
    return _aware(getattr(values[0], "dt", None), name, values[0].params, floating)


def _dates(component: icalendar.Event, name: str, floating: tzinfo) -> list[datetime | date]:
    moments = []
    for dates in _all(component, name):
        for value in getattr(dates, "dts", ()):
            moment = value.dt[0] if isinstance(value.dt, tuple) else value.dt  # PERIOD: its start
            moments.append(_aware(moment, name, value.params, floating))
    return moments


def _end(
    component: icalendar.Event, start: datetime | date, floating: tzinfo
) -> datetime | date | None:
    """The exclusive end: DTEND, else DTSTART + DURATION; an all-day event lasts its day."""
    end = _moment(component, "DTEND", floating)
    if end is None and (durations := _all(component, "DURATION")):
        duration = getattr(durations[0], "dt", None)
        if not isinstance(duration, timedelta):
            raise _EventProblem(ProblemCode.MALFORMED, "DURATION tidak dapat dibaca.")
        end = start + (timedelta(days=duration.days) if type(start) is date else duration)
    if end is None:
        return start + timedelta(days=1) if type(start) is date else None
    if isinstance(start, datetime) != isinstance(end, datetime):
        raise _EventProblem(ProblemCode.BAD_TIME, "DTSTART dan DTEND tidak sejenis.")
    if end < start:  # type: ignore[operator]  # both dates or both datetimes, checked above
        raise _EventProblem(ProblemCode.END_BEFORE_START, "Selesai sebelum mulai (DTEND).")
    if end == start:  # zero length: all day means that day; a timed event has no end
        return start + timedelta(days=1) if type(start) is date else None
    return end


def _occurrence_key(moment: datetime | date) -> str:
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return moment.strftime("%Y%m%d")


def _event_rows(
    event: _Event, overridden: set[tuple[str, str]], window: _Window
) -> list[AgendaRow]:
    if event.recurrence_id:
        # An occurrence moved out of the window still counts, so the caller sees it moved.
        assert event.recurrence_start is not None
        if not (window.holds(event.start) or window.holds(event.recurrence_start)):
            return []
        return [_row(event, event.start, f"{event.identity}:{event.recurrence_id}", window.tz)]
    if not event.rules and not event.rdates:
        if not window.holds(event.start):
            return []
        return [_row(event, event.start, event.identity, window.tz)]
    rows = []
    for start in _occurrences(event, window):
        key = _occurrence_key(start)
        if (event.identity, key) not in overridden:
            rows.append(_row(event, start, f"{event.identity}:{key}", window.tz))
    return rows


def _occurrences(event: _Event, window: _Window) -> list[datetime | date]:
    """The starts of a recurring event inside the window, expanded in its own wall-clock time
    (so a weekly 09.00 stays 09.00 across a daylight-saving change)."""
    zone = event.start.tzinfo if isinstance(event.start, datetime) else window.tz
    assert zone is not None

    def wall(moment: datetime | date) -> datetime:
        if isinstance(moment, datetime):
            return moment.astimezone(zone).replace(tzinfo=None)
        return datetime.combine(moment, time(0))

    first = wall(event.start)
    recurrence = rruleset()
    recurrence.rdate(first)  # DTSTART is always the first occurrence
    for rule in event.rules:
        recurrence.rrule(_rule(rule, first, wall))
    for moment in event.rdates:
        recurrence.rdate(wall(moment))
    excluded_days = set()
    for moment in event.exdates:
        if isinstance(moment, datetime) or event.all_day:
            recurrence.exdate(wall(moment))
        else:
            excluded_days.add(moment)  # a date excludes that whole day of a timed event
    low, high = window.wall_bounds(zone)
    starts: list[datetime | date] = []
    for occurrence in recurrence.between(low, high, inc=True):
        if occurrence.date() in excluded_days:
            continue
        start = occurrence.date() if event.all_day else occurrence.replace(tzinfo=zone)
        if window.holds(start):
            starts.append(start)
    if len(starts) > MAX_OCCURRENCES:
        detail = (
            f"Pengulangan (RRULE) menghasilkan {len(starts)} kegiatan; "
            f"paling banyak {MAX_OCCURRENCES}."
        )
        raise _EventProblem(ProblemCode.BAD_RULE, detail)
    return starts


def _rule(
    rule: icalendar.vRecur, first: datetime, wall: Callable[[datetime | date], datetime]
) -> rrule:
    frequency = "".join(rule.get("FREQ", [""])).upper()
    if frequency not in _SUPPORTED_FREQUENCIES:
        detail = f"Pengulangan FREQ={frequency or '?'} tidak didukung."
        raise _EventProblem(ProblemCode.BAD_RULE, detail)
    # dateutil wants UNTIL in the same (naive) clock as DTSTART: convert it to wall time.
    without_until = icalendar.vRecur({k: v for k, v in rule.items() if k != "UNTIL"})
    try:
        expanded = rrulestr(without_until.to_ical().decode(), dtstart=first)
        if until := rule.get("UNTIL"):
            last = until[0]
            if isinstance(last, datetime):
                limit = wall(last) if last.tzinfo else last
            else:
                limit = datetime.combine(last, time.max)
            expanded = expanded.replace(until=limit)
    except (ValueError, TypeError) as error:
        raise _EventProblem(ProblemCode.BAD_RULE, f"RRULE tidak dapat dibaca ({error}).") from error
    return expanded


def _row(event: _Event, start: datetime | date, source_key: str, tz: ZoneInfo) -> AgendaRow:
    if not event.title and not event.cancelled:  # a cancellation only needs its key
        raise _EventProblem(ProblemCode.MISSING_TITLE, "Kegiatan ini tidak punya SUMMARY (judul).")
    if too_long := _too_long(title=event.title, place=event.place):
        raise _EventProblem(*too_long[0])
    if isinstance(start, datetime):
        assert isinstance(event.start, datetime)
        length = None if event.end is None else event.end - event.start  # type: ignore[operator]
        starts_at = start.astimezone(tz)
        ends_at = None if length is None else (start + length).astimezone(tz)
        all_day = False
    else:
        assert type(event.start) is date and type(event.end) is date
        days = (event.end - event.start).days
        starts_at = datetime.combine(start, time(0), tz)
        ends_at = datetime.combine(start + timedelta(days=days), time(0), tz)
        all_day = True
    return AgendaRow(
        title=event.title,
        starts_at=starts_at,
        ends_at=ends_at,
        all_day=all_day,
        place=event.place,
        notes=event.notes,
        source_key=source_key,
        line=event.line,
        cancelled=event.cancelled,
    )


# --- agenda book -------------------------------------------------------------------------------

BOOK_COLUMNS = (
    "no", "tanggal", "mulai", "selesai", "kegiatan", "pimpinan", "tempat", "keterangan",
    "status", "penugasan", "berita", "riwayat",
)  # fmt: skip
_STATUS_WORDS = {"planned": "terjadwal", "cancelled": "dibatalkan"}
# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection");
# titles and notes come from outside, so such cells get a leading apostrophe.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class BookEntry:
    """One agenda item as Warta recorded it, with what the desk did about it."""

    number: int
    title: str
    starts_at: datetime
    ends_at: datetime | None
    leaders: str
    place: str
    notes: str
    status: str  # "planned" | "cancelled"
    assignments: list[str]  # ["Rina (diterima 1 Des 16.05 WIB)", "Anton (ditolak: sakit)"]
    story: str  # "#12 terbit", or ""
    history: list[str]  # ["1 Des 10.02 WIB ditambahkan oleh Dedi (perintah)", …]
    all_day: bool = False  # starts at 00.00; ends_at is 00.00 after the last day


def _status_word(entry: BookEntry) -> str:
    try:
        return _STATUS_WORDS[entry.status]
    except KeyError:
        message = f"agenda entry #{entry.number} has unknown status {entry.status!r}"
        raise ValueError(message) from None


def _in_order(entries: Iterable[BookEntry]) -> list[BookEntry]:
    return sorted(entries, key=lambda entry: (entry.starts_at, entry.number))


def _clock(moment: datetime, tz: ZoneInfo) -> str:
    return f"{moment.astimezone(tz):%H.%M}"


def _zone_label(tz: ZoneInfo, moment: datetime) -> str:
    return _ZONE_LABELS.get(tz.key) or moment.astimezone(tz).tzname() or tz.key


def _last_day(entry: BookEntry, tz: ZoneInfo) -> date:
    """The last day an all-day entry covers (its end is exclusive)."""
    start = entry.starts_at.astimezone(tz).date()
    if entry.ends_at is None:
        return start
    return max(start, (entry.ends_at.astimezone(tz) - timedelta(microseconds=1)).date())


def _safe_cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def book_csv(entries: Sequence[BookEntry], *, tz: ZoneInfo) -> str:
    """The agenda book as CSV (comma, CRLF, one row per entry, lists one item per line in the
    cell). Encode it as ``utf-8-sig`` so Excel shows Indonesian text correctly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(BOOK_COLUMNS)
    for entry in _in_order(entries):
        local = entry.starts_at.astimezone(tz)
        if entry.all_day:
            last = _last_day(entry, tz)
            start, end = "sehari", "" if last == local.date() else last.isoformat()
        elif entry.ends_at is None:
            start, end = _clock(local, tz), "selesai"
        else:
            ends = entry.ends_at.astimezone(tz)
            start = _clock(local, tz)
            end = _clock(ends, tz) if ends.date() == local.date() else f"{ends:%Y-%m-%d %H.%M}"
        texts = (entry.title, entry.leaders, entry.place, entry.notes)
        lists = ("\n".join(entry.assignments), entry.story, "\n".join(entry.history))
        writer.writerow(
            (
                entry.number,
                local.date().isoformat(),
                start,
                end,
                *map(_safe_cell, texts),
                _status_word(entry),
                *map(_safe_cell, lists),
            )
        )
    return out.getvalue()


_BOOK_STYLE = """\
@page { size: A4 landscape; margin: 12mm 10mm; }
* { box-sizing: border-box; }
body { font-family: "Segoe UI", Arial, sans-serif; font-size: 9.5pt; color: #000; margin: 0; }
h1 { font-size: 14pt; margin: 0 0 2pt; }
p.jumlah { margin: 0 0 8pt; color: #333; }
table { width: 100%; border-collapse: collapse; }
thead { display: table-header-group; }
th, td { border: 0.5pt solid #555; padding: 3pt 4pt; text-align: left; vertical-align: top; }
thead th { background: #d9d9d9; }
tr { break-inside: avoid; page-break-inside: avoid; }
tr.hari th { background: #efefef; font-size: 10.5pt; break-after: avoid; page-break-after: avoid; }
tr.dibatalkan td { color: #555; }
tr.dibatalkan .judul { text-decoration: line-through; }
.catatan { font-size: 8.5pt; color: #333; }
ul { margin: 0; padding-left: 11pt; }
td.no { width: 4%; } td.waktu { width: 11%; } td.kegiatan { width: 21%; }
"""
_BOOK_HEADINGS = (
    "No", "Waktu", "Kegiatan", "Pimpinan", "Tempat", "Status", "Penugasan", "Berita", "Riwayat",
)  # fmt: skip


def _escape(text: str) -> str:
    """Escaped text with its line breaks kept."""
    return "<br>".join(html.escape(line) for line in text.splitlines())


def _html_list(items: Sequence[str]) -> str:
    if not items:
        return ""
    return "<ul>" + "".join(f"<li>{_escape(item)}</li>" for item in items) + "</ul>"


def _html_time(entry: BookEntry, tz: ZoneInfo) -> str:
    local = entry.starts_at.astimezone(tz)
    if entry.all_day:
        last = _last_day(entry, tz)
        return "Sepanjang hari" + ("" if last == local.date() else f", s.d. {long_date(last)}")
    label = _zone_label(tz, local)
    if entry.ends_at is None:
        return f"{_clock(local, tz)} {label} – selesai"
    ends = entry.ends_at.astimezone(tz)
    if ends.date() == local.date():
        return f"{_clock(local, tz)}–{_clock(ends, tz)} {label}"
    return f"{_clock(local, tz)} {label} – {long_date(ends.date())} {_clock(ends, tz)} {label}"


def _html_row(entry: BookEntry, tz: ZoneInfo) -> str:
    status = _status_word(entry)
    title = f'<div class="judul"><strong>{_escape(entry.title)}</strong></div>'
    notes = f'<div class="catatan">{_escape(entry.notes)}</div>' if entry.notes else ""
    cells = (
        f'<td class="no">{entry.number}</td>',
        f'<td class="waktu">{html.escape(_html_time(entry, tz))}</td>',
        f'<td class="kegiatan">{title}{notes}</td>',
        f"<td>{_escape(entry.leaders)}</td>",
        f"<td>{_escape(entry.place)}</td>",
        f"<td>{status.capitalize()}</td>",
        f"<td>{_html_list(entry.assignments)}</td>",
        f"<td>{_escape(entry.story)}</td>",
        f'<td class="catatan">{_html_list(entry.history)}</td>',
    )
    css_class = ' class="dibatalkan"' if entry.status == "cancelled" else ""
    return f"<tr{css_class}>" + "".join(cells) + "</tr>"


def book_html(entries: Sequence[BookEntry], *, tz: ZoneInfo, title: str) -> str:
    """The agenda book as a complete HTML document to print on A4 landscape: one table, the
    entries grouped under their day ("Rabu, 2 Desember 2026"), times in the desk's zone."""
    ordered = _in_order(entries)
    cancelled = sum(entry.status == "cancelled" for entry in ordered)
    count = f"{len(ordered)} kegiatan" + (f", {cancelled} dibatalkan" if cancelled else "")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="id">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        f"<style>\n{_BOOK_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="jumlah">{html.escape(count)}</p>',
    ]
    if not ordered:
        parts.append("<p>Belum ada agenda.</p>")
    else:
        headings = "".join(f"<th>{heading}</th>" for heading in _BOOK_HEADINGS)
        parts += ["<table>", f"<thead><tr>{headings}</tr></thead>"]
        day: date | None = None
        for entry in ordered:
            local_day = entry.starts_at.astimezone(tz).date()
            if local_day != day:
                parts += [] if day is None else ["</tbody>"]
                parts.append("<tbody>")
                span = len(_BOOK_HEADINGS)
                parts.append(
                    f'<tr class="hari"><th colspan="{span}">{long_date(local_day)}</th></tr>'
                )
                day = local_day
            parts.append(_html_row(entry, tz))
        parts += ["</tbody>", "</table>"]
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)
