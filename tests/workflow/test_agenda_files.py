"""Agenda files: CSV and iCalendar read into rows (or refused line by line), and the agenda book."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date

from workflow.agenda_files import (
    FUTURE_DAYS,
    PAST_DAYS,
    AgendaFileError,
    AgendaRow,
    BookEntry,
    book_csv,
    book_html,
    long_date,
    parse_agenda_file,
)

FIXTURES = Path(__file__).parent / "fixtures" / "agenda"
WIB = ZoneInfo("Asia/Jakarta")
TODAY = date(2026, 11, 25)  # a Wednesday; the import window is 25 Oct 2026 – 30 Dec 2027
WINDOW_FIRST = date(2026, 10, 25)
WINDOW_LAST = date(2027, 12, 30)


def at(day: int, hour: int, minute: int = 0, *, month: int = 12, year: int = 2026) -> datetime:
    """A December 2026 moment in WIB, the desk's zone."""
    return datetime(year, month, day, hour, minute, tzinfo=WIB)


def midnight(day: int, *, month: int = 12, year: int = 2026) -> datetime:
    return at(day, 0, month=month, year=year)


def parse(data: bytes | str, filename: str = "agenda.csv") -> list[AgendaRow]:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return parse_agenda_file(raw, filename=filename, tz=WIB, today=TODAY)


def refused(data: bytes | str, filename: str = "agenda.csv") -> list[tuple[int, str]]:
    """The (line, code) of every problem the file is refused for."""
    with pytest.raises(AgendaFileError) as caught:
        parse(data, filename)
    return [(problem.line, problem.code) for problem in caught.value.problems]


def when(row: AgendaRow) -> tuple[datetime, datetime | None, bool]:
    return row.starts_at, row.ends_at, row.all_day


def csv_text(*lines: str) -> str:
    return "\r\n".join(lines) + "\r\n"


def one_row(header: str, row: str) -> AgendaRow:
    [found] = parse(csv_text(header, row))
    return found


# --- CSV files ---------------------------------------------------------------------------------


def test_comma_file_with_bom_reads_every_column_and_the_line_each_row_begins_on():
    rows = parse((FIXTURES / "desember_koma.csv").read_bytes())

    assert [(r.line, r.title, r.leaders, r.place, r.notes) for r in rows] == [
        (2, "Apel pagi gabungan", "Wali Kota, Sekda", "Halaman Balai Kota", ""),
        (
            3,
            "Musrenbang Kelurahan Menteng, tahap II",
            "Wakil Wali Kota",
            "Aula Kelurahan Menteng",
            "Undangan 100 orang.\nBawa kamera cadangan.",
        ),
        (5, "Pameran UMKM Hari Jadi Kota", "", "Taman Kota Kamaruddin", ""),  # after 2-line cell
        (6, "Peninjauan banjir Sungai Kahayan", "Wali Kota", "Jalan Yos Sudarso", ""),
    ]
    assert [when(r) for r in rows] == [
        (at(1, 7, 30), at(1, 8, 30), False),
        (at(2, 9), None, False),  # "selesai": an end was written, but no time
        (midnight(3), midnight(4), True),
        (at(4, 13, 30), at(4, 15), False),
    ]
    assert [r.open_end for r in rows] == [False, True, False, False]
    assert all(r.source_key.startswith("csv:") and len(r.source_key) == 44 for r in rows)
    assert not any(r.cancelled for r in rows)


def test_old_excel_file_semicolons_cp1252_and_title_rows_above_the_header():
    rows = parse((FIXTURES / "desember_excel_cp1252.csv").read_bytes())

    assert [(r.line, r.title, r.leaders, r.place, r.notes) for r in rows] == [
        (5, "Rapat koordinasi penanganan banjir", "Sekda", "Aula Peteng Karuhei", ""),
        (
            6,
            "Penyerahan bantuan sosial “Sembako Murah”",
            "Wali Kota",
            "Pasar Besar",
            "Stan Kafé UMKM ikut",
        ),
    ]
    assert [when(r) for r in rows] == [
        (at(7, 8), at(7, 10), False),  # "08.00 – 10.00": Excel's en dash
        (at(8, 14), None, False),  # "pukul 14.00 s.d. selesai"
    ]


@pytest.mark.parametrize(
    "header, row",
    [
        (
            "Tanggal,Mulai,Selesai,Kegiatan,Pimpinan,Tempat,Keterangan",
            "02/12/2026,09.00,11.00,Rapat koordinasi,Wali Kota,Balai Kota,Bawa ID",
        ),
        (
            "date,start,end,title,leaders,location,notes",
            "2026-12-02,09:00,11:00,Rapat koordinasi,Wali Kota,Balai Kota,Bawa ID",
        ),
        (
            "TGL;Jam Mulai (WIB);Jam Selesai (WIB);Acara;Pejabat;Lokasi;Catatan",
            "2-12-2026;09.00;11.00;Rapat koordinasi;Wali Kota;Balai Kota;Bawa ID",
        ),
        (
            "Hari/Tanggal\tWaktu\tJudul\tLeader\tPlace\tKet",
            "Rabu, 2 Desember 2026\t09.00 - 11.00 WIB\tRapat koordinasi\tWali Kota\tBalai Kota\t"
            "Bawa ID",
        ),
        (
            "No,Event,Date,Time,Dokumentasi,Location,Pimpinan,Description",  # any order, extras
            "7,Rapat koordinasi,2 Desember 2026,09.00-11.00,Foto & video,Balai Kota,Wali Kota,"
            "Bawa ID",
        ),
    ],
    ids=["indonesian", "english", "semicolon-variants", "tab-hari-tanggal", "shuffled-extra"],
)
def test_headers_in_indonesian_or_english_with_common_variants(header: str, row: str):
    found = one_row(header, row)

    assert (found.title, found.leaders, found.place, found.notes) == (
        "Rapat koordinasi",
        "Wali Kota",
        "Balai Kota",
        "Bawa ID",
    )
    assert when(found) == (at(2, 9), at(2, 11), False)


@pytest.mark.parametrize(
    "time_cell, expected",
    [
        ("09.00", (at(2, 9), None, False)),
        ("09:00", (at(2, 9), None, False)),
        ("09.00 WIB", (at(2, 9), None, False)),
        ("09.00-11.00", (at(2, 9), at(2, 11), False)),
        ("09.00 - selesai", (at(2, 9), None, False)),
        ("pukul 13.30 s.d. 15.00", (at(2, 13, 30), at(2, 15), False)),
        ("08.00-16.00 WITA", (at(2, 7), at(2, 15), False)),  # converted to the desk's zone
        ("jam 3 sore", (at(2, 15), None, False)),
        ("sehari", (midnight(2), midnight(3), True)),
        ("Seharian", (midnight(2), midnight(3), True)),
        ("sehari penuh", (midnight(2), midnight(3), True)),
    ],
)
def test_a_single_waktu_column_holds_a_time_or_a_range(time_cell: str, expected: tuple):
    found = one_row("Tanggal,Waktu,Kegiatan", f"02/12/2026,{time_cell},Rapat koordinasi")

    assert when(found) == expected


@pytest.mark.parametrize(
    "date_cell",
    [
        "02/12/2026",
        "2/12/2026",
        "2-12-2026",
        "2.12.2026",
        "2026-12-02",
        "2026-12-02 00:00:00",  # a spreadsheet's date cell saved with its time
        "02/12/26",
        "2 Desember 2026",
        "2 Des 2026",
        "Rabu, 2 Desember 2026",
        "2/12",  # no year: the next 2 December from the window's start
    ],
)
def test_dates_as_the_desk_writes_them(date_cell: str):
    found = one_row("Tanggal;Mulai;Kegiatan", f"{date_cell};09.00;Rapat koordinasi")

    assert found.starts_at == at(2, 9)


@pytest.mark.parametrize(
    "time_cell, open_end",
    [
        ("09.00", False),
        ("09.00 - selesai", True),
        ("09.00 s/d selesai", True),
        ("09.00-11.00", False),
    ],
)
def test_sampai_selesai_is_kept_apart_from_no_end(time_cell: str, open_end: bool):
    found = one_row("Tanggal,Waktu,Kegiatan", f"02/12/2026,{time_cell},Rapat koordinasi")

    assert found.open_end is open_end


def test_texts_longer_than_the_agenda_table_holds_are_refused():
    long_title, long_place = "Rapat " * 90, "Balai Kota " * 50

    assert refused(
        csv_text("Tanggal,Mulai,Kegiatan,Tempat", f"02/12/2026,09.00,{long_title},{long_place}")
    ) == [(2, "too_long"), (2, "too_long")]
    assert refused(
        calendar(*event(f"SUMMARY:{long_title}", "DTSTART:20261202T020000Z")), "a.ics"
    ) == [(4, "too_long")]


def test_a_date_in_the_last_month_is_not_refused_as_past():
    found = one_row("Tanggal,Mulai,Kegiatan", "28/10/2026,09.00,Rapat koordinasi")

    assert found.starts_at == at(28, 9, month=10)


@pytest.mark.parametrize(
    "date_cell, time_cell, title, code",
    [
        ("", "09.00", "Rapat", "bad_date"),
        ("31/02/2026", "09.00", "Rapat", "bad_date"),
        ("besok", "09.00", "Rapat", "bad_date"),  # counts from the wrong day in a file
        ("Senin depan", "09.00", "Rapat", "bad_date"),
        ("Selasa, 2 Desember 2026", "09.00", "Rapat", "bad_date"),  # 2 December is a Wednesday
        ("3-5 Desember 2026", "09.00", "Rapat", "bad_date"),  # one row, one day
        ("tanggal dua", "09.00", "Rapat", "bad_date"),
        ("1/9/2026", "09.00", "Rapat", "out_of_window"),
        ("2/12/2062", "09.00", "Rapat", "out_of_window"),
        ("20/10", "09.00", "Rapat", "past_date"),  # yearless, just before the window: ask
        ("02/12/2026", "", "Rapat", "bad_time"),
        ("02/12/2026", "-", "Rapat", "bad_time"),
        ("02/12/2026", "pagi", "Rapat", "bad_time"),
        ("02/12/2026", "1.30", "Rapat", "bad_time"),  # 01.30 or 13.30?
        ("02/12/2026", "25.00", "Rapat", "bad_time"),
        ("02/12/2026", "jam sembilan", "Rapat", "bad_time"),
        ("02/12/2026", "11.00-09.00", "Rapat", "end_before_start"),
        ("02/12/2026", "09.00", "", "missing_title"),
        ("02/12/2026", "09.00", "   ", "missing_title"),
    ],
)
def test_a_bad_cell_refuses_the_file_on_its_line(
    date_cell: str, time_cell: str, title: str, code: str
):
    text = csv_text("Tanggal,Waktu,Kegiatan", "01/12/2026,08.00,Apel pagi", "")
    text += f'"{date_cell}","{time_cell}","{title}"\r\n'

    assert refused(text) == [(4, code)]


def test_the_detail_tells_the_editor_what_to_fix_in_indonesian():
    text = csv_text(
        "Tanggal,Waktu,Kegiatan",
        '"Selasa, 2 Desember 2026",09.00,Rapat',
        "02/12/2026,1.30,Rapat",
        "20/10,09.00,Rapat",
    )
    with pytest.raises(AgendaFileError) as caught:
        parse(text)

    details = [problem.detail for problem in caught.value.problems]
    assert details == [
        "2 Desember 2026 jatuh pada hari Rabu, bukan Selasa.",
        "Jam '1.30' bisa 01.30 atau 13.30; tulis dua digit jam.",
        "'20/10' sudah lewat (20 Oktober 2026); mohon tulis tahunnya.",
    ]
    assert str(caught.value).startswith("baris 2: 2 Desember 2026 jatuh pada hari Rabu")


def test_every_bad_line_is_listed_and_nothing_is_returned():
    data = (FIXTURES / "baris_salah.csv").read_bytes()

    problems = refused(data)

    # Line 6 is blank; line 7 is wrong twice (the date and the missing title).
    assert problems == [(4, "bad_time"), (7, "bad_date"), (7, "missing_title")]
    assert {line for line, _ in problems} == {4, 7}


@pytest.mark.parametrize(
    "header, missing",
    [
        ("Tanggal,Kegiatan,Tempat", ["mulai (jam)"]),
        ("Tanggal,Mulai,Tempat", ["kegiatan"]),
        ("Waktu,Tempat,Keterangan", ["tanggal", "kegiatan"]),
    ],
)
def test_a_missing_required_column_is_named_on_the_header_line(header: str, missing: list[str]):
    with pytest.raises(AgendaFileError) as caught:
        parse(csv_text(header, "02/12/2026,09.00,Balai Kota"))

    problems = caught.value.problems
    assert [(p.line, p.code) for p in problems] == [(1, "missing_column")] * len(missing)
    assert [p.detail for p in problems] == [f"Kolom {name!r} tidak ada." for name in missing]


def test_a_file_without_any_known_header_is_refused_on_line_1():
    assert refused(csv_text("02/12/2026,09.00,Rapat", "03/12/2026,10.00,Apel")) == [
        (1, "missing_column")
    ]


def test_two_columns_for_the_same_field_are_refused():
    text = csv_text("Tanggal,Waktu,Jam Mulai,Kegiatan", "02/12/2026,09.00,09.00,Rapat")

    assert refused(text) == [(1, "duplicate_column")]


def test_an_unquoted_comma_that_shifts_the_columns_is_caught():
    text = csv_text(
        "Tanggal,Mulai,Kegiatan,Tempat",
        "02/12/2026,09.00,Rapat koordinasi, evaluasi,Balai Kota",
        "03/12/2026,09.00,Apel,",  # an empty trailing cell is not a shift
    )

    assert refused(text) == [(2, "too_many_cells")]


def test_an_identical_row_twice_is_imported_once():
    rows = parse(
        csv_text(
            "Tanggal,Mulai,Kegiatan,Tempat",
            "02/12/2026,09.00,Rapat koordinasi,Balai Kota",
            "2 Desember 2026,09:00, Rapat  koordinasi ,Balai Kota",  # the same, once read
        )
    )

    assert [(row.line, row.title) for row in rows] == [(2, "Rapat koordinasi")]


def test_the_same_item_twice_with_different_details_is_refused_on_the_second_line():
    problems = refused(
        csv_text(
            "Tanggal,Mulai,Kegiatan,Tempat",
            "02/12/2026,09.00,Rapat koordinasi,Balai Kota",
            "03/12/2026,09.00,Rapat koordinasi,Balai Kota",  # another day: another item
            "02/12/2026,09.00,Rapat koordinasi,Aula Peteng Karuhei",
            "03/12/2026,09.00,RAPAT KOORDINASI,Balai Kota",  # the same key: which spelling?
        )
    )

    assert problems == [(4, "duplicate"), (5, "duplicate")]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_encodings_and_line_endings(encoding: str, newline: str):
    text = newline.join(["Tanggal;Mulai;Kegiatan", "02/12/2026;09.00;Peresmian Kafé Kahayan", ""])

    [found] = parse(text.encode(encoding))

    assert (found.title, found.starts_at, found.line) == ("Peresmian Kafé Kahayan", at(2, 9), 2)


@pytest.mark.parametrize(
    "data, filename, code",
    [
        (b"", "agenda.csv", "empty"),
        (b" \r\n\r\n", "agenda.ics", "empty"),
        (b"Tanggal,Mulai,Kegiatan\r\n", "agenda.csv", "empty"),
        (b"Tanggal,Mulai,Kegiatan\r\n,,\r\n", "agenda.csv", "empty"),
        (b"%PDF-1.7 ...", "agenda.pdf", "unknown_format"),
        (b"Tanggal,Mulai,Kegiatan\r\n", "agenda.docx", "unknown_format"),
        (b"PK\x03\x04\x14\x00\x06\x00", "agenda.xlsx", "unknown_format"),
        (b"PK\x03\x04\x14\x00\x06\x00", "agenda.csv", "unknown_format"),  # renamed workbook
        (b"Tanggal,Mulai\x00,Kegiatan\r\n", "agenda.csv", "unknown_format"),
    ],
)
def test_empty_and_unknown_files(data: bytes, filename: str, code: str):
    assert refused(data, filename) == [(0, code)]


# --- iCalendar files ---------------------------------------------------------------------------


def calendar(*lines: str, head: tuple[str, ...] = ()) -> str:
    """A calendar as Google or Outlook would export it (CRLF line endings)."""
    return csv_text(
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Pemkot//Agenda//ID", *head, *lines,
        "END:VCALENDAR",
    )  # fmt: skip


def event(*lines: str, uid: str = "rapat-1@pemkot") -> tuple[str, ...]:
    uid_line = (f"UID:{uid}",) if uid else ()
    return ("BEGIN:VEVENT", *uid_line, "DTSTAMP:20261120T010000Z", *lines, "END:VEVENT")


def ics(*lines: str, head: tuple[str, ...] = (), filename: str = "agenda.ics") -> list[AgendaRow]:
    return parse(calendar(*lines, head=head), filename)


@pytest.mark.parametrize(
    "lines, expected",
    [
        (("DTSTART:20261202T020000Z", "DTEND:20261202T040000Z"), (at(2, 9), at(2, 11), False)),
        (
            (
                "DTSTART;TZID=Asia/Jakarta:20261202T090000",
                "DTEND;TZID=Asia/Jakarta:20261202T110000",
            ),
            (at(2, 9), at(2, 11), False),
        ),
        (  # WITA is an hour ahead of the desk
            ("DTSTART;TZID=Asia/Makassar:20261202T100000", "DURATION:PT1H30M"),
            (at(2, 9), at(2, 10, 30), False),
        ),
        (("DTSTART:20261202T090000", "DTEND:20261202T110000"), (at(2, 9), at(2, 11), False)),
        (("DTSTART:20261202T090000",), (at(2, 9), None, False)),  # no end written
        (("DTSTART:20261202T090000", "DTEND:20261202T090000"), (at(2, 9), None, False)),
        (
            ("DTSTART;VALUE=DATE:20261203", "DTEND;VALUE=DATE:20261204"),
            (midnight(3), midnight(4), True),  # DTEND is exclusive
        ),
        (
            ("DTSTART;VALUE=DATE:20261203", "DTEND;VALUE=DATE:20261206"),
            (midnight(3), midnight(6), True),
        ),
        (("DTSTART;VALUE=DATE:20261203",), (midnight(3), midnight(4), True)),
        (("DTSTART;VALUE=DATE:20261203", "DURATION:P2D"), (midnight(3), midnight(5), True)),
        (  # Outlook's zone names
            ('DTSTART;TZID="SE Asia Standard Time":20261202T090000', "DURATION:PT2H"),
            (at(2, 9), at(2, 11), False),
        ),
    ],
    ids=[
        "utc",
        "tzid-jakarta",
        "tzid-makassar-duration",
        "floating",
        "no-end",
        "zero-length",
        "all-day",
        "all-day-three-days",
        "all-day-no-end",
        "all-day-duration",
        "windows-zone",
    ],
)
def test_event_times(lines: tuple[str, ...], expected: tuple):
    [row] = ics(*event("SUMMARY:Rapat koordinasi", *lines))

    assert when(row) == expected
    assert row.starts_at.tzinfo == WIB
    assert (row.title, row.source_key, row.line, row.cancelled) == (
        "Rapat koordinasi",
        "ics:rapat-1@pemkot",
        4,
        False,
    )


def test_a_zone_defined_in_the_file_is_used():
    [row] = ics(
        "BEGIN:VTIMEZONE",
        "TZID:Waktu Indonesia Tengah",
        "BEGIN:STANDARD",
        "DTSTART:19700101T000000",
        "TZOFFSETFROM:+0800",
        "TZOFFSETTO:+0800",
        "TZNAME:WITA",
        "END:STANDARD",
        "END:VTIMEZONE",
        *event(
            "SUMMARY:Kunjungan kerja",
            "DTSTART;TZID=Waktu Indonesia Tengah:20261202T100000",
            "DTEND;TZID=Waktu Indonesia Tengah:20261202T120000",
        ),
    )

    assert when(row) == (at(2, 9), at(2, 11), False)


def test_floating_times_follow_the_calendars_own_zone_when_it_names_one():
    [row] = ics(
        *event("SUMMARY:Kunjungan kerja", "DTSTART:20261202T100000"),
        head=("X-WR-TIMEZONE:Asia/Makassar",),
    )

    assert row.starts_at == at(2, 9)


def test_text_fields_are_unescaped_unfolded_and_stripped_of_html():
    [row] = ics(
        *event(
            "DTSTART:20261202T020000Z",
            "SUMMARY:Musrenbang Kelurahan Menteng\\, tahap II: penyusunan prioritas pembangunan",
            "  tahun 2027",
            "LOCATION:Aula Kelurahan Menteng\\; lantai 2",
            "DESCRIPTION:Undangan 100 orang.<br>Bawa kamera <b>cadangan</b> &amp; tripod.\\n"
            "Kontak: Dedi",
        )
    )

    assert row.title == (
        "Musrenbang Kelurahan Menteng, tahap II: penyusunan prioritas pembangunan tahun 2027"
    )
    assert row.place == "Aula Kelurahan Menteng; lantai 2"
    assert row.notes == "Undangan 100 orang.\nBawa kamera cadangan & tripod.\nKontak: Dedi"
    assert row.leaders == ""  # iCalendar has no field for it


def test_a_weekly_rule_without_end_is_expanded_only_inside_the_window():
    rows = ics(
        *event(
            "SUMMARY:Apel pagi",
            "DTSTART;TZID=Asia/Jakarta:20260107T073000",  # a Wednesday, long before the window
            "DTEND;TZID=Asia/Jakarta:20260107T083000",
            "RRULE:FREQ=WEEKLY;BYDAY=WE",
        )
    )

    starts = [row.starts_at for row in rows]
    assert starts[0] == at(28, 7, 30, month=10)  # first Wednesday on or after 25 October
    assert starts[-1] == at(29, 7, 30, month=12, year=2027)  # last one before 30 Dec 2027
    assert len(rows) == 62
    assert all(b - a == timedelta(weeks=1) for a, b in pairwise(starts))
    assert all(row.ends_at == row.starts_at + timedelta(hours=1) for row in rows)
    assert rows[0].source_key == "ics:rapat-1@pemkot:20261028T003000Z"
    assert len({row.source_key for row in rows}) == 62
    assert {row.line for row in rows} == {4}


def test_a_rule_with_until_exdate_and_a_moved_occurrence():
    rows = ics(
        *event(
            "SUMMARY:Rapat pimpinan",
            "DTSTART;TZID=Asia/Jakarta:20261202T090000",
            "DTEND;TZID=Asia/Jakarta:20261202T100000",
            "RRULE:FREQ=WEEKLY;UNTIL=20261230T020000Z",  # 09.00 WIB on the 30th: included
            "EXDATE;TZID=Asia/Jakarta:20261223T090000",
        ),
        *event(
            "RECURRENCE-ID;TZID=Asia/Jakarta:20261209T090000",
            "SUMMARY:Rapat pimpinan (diundur)",
            "DTSTART;TZID=Asia/Jakarta:20261210T130000",
            "DTEND;TZID=Asia/Jakarta:20261210T140000",
        ),
    )

    assert [(row.source_key, row.starts_at, row.title, row.line) for row in rows] == [
        ("ics:rapat-1@pemkot:20261202T020000Z", at(2, 9), "Rapat pimpinan", 4),
        ("ics:rapat-1@pemkot:20261209T020000Z", at(10, 13), "Rapat pimpinan (diundur)", 13),
        ("ics:rapat-1@pemkot:20261216T020000Z", at(16, 9), "Rapat pimpinan", 4),
        ("ics:rapat-1@pemkot:20261230T020000Z", at(30, 9), "Rapat pimpinan", 4),
    ]


def test_rdate_adds_an_occurrence_and_a_date_exdate_removes_a_whole_day():
    rows = ics(
        *event(
            "SUMMARY:Rapat pimpinan",
            "DTSTART;TZID=Asia/Jakarta:20261201T090000",
            "RRULE:FREQ=DAILY;COUNT=4",
            "RDATE;TZID=Asia/Jakarta:20261210T140000",
            "EXDATE;VALUE=DATE:20261202",
        )
    )

    assert [row.starts_at for row in rows] == [at(1, 9), at(3, 9), at(4, 9), at(10, 14)]


def test_a_rule_keeps_its_own_wall_clock_across_daylight_saving():
    rows = ics(
        *event(
            "SUMMARY:Rapat daring dengan kota kembar",
            "DTSTART;TZID=Europe/Amsterdam:20270318T090000",
            "RRULE:FREQ=WEEKLY;COUNT=3",
        )
    )

    # 09.00 in Amsterdam is 15.00 WIB in winter and 14.00 WIB from 28 March 2027.
    expected = [at(18, 15, month=3, year=2027), at(25, 15, month=3, year=2027)]
    assert [row.starts_at for row in rows] == [*expected, at(1, 14, month=4, year=2027)]
    assert rows[2].source_key == "ics:rapat-1@pemkot:20270401T070000Z"


def test_calendars_exported_one_after_another_are_all_read():
    text = calendar(*event("SUMMARY:Apel pagi", "DTSTART:20261201T003000Z", uid="a"))
    text += calendar(*event("SUMMARY:Rapat koordinasi", "DTSTART:20261202T020000Z", uid="b"))

    rows = parse(text, "gabungan.ics")

    assert [(row.title, row.line) for row in rows] == [("Apel pagi", 4), ("Rapat koordinasi", 14)]


def test_a_yearly_all_day_rule_keeps_its_dates():
    rows = ics(
        *event(
            "SUMMARY:Hari Jadi Kota Palangka Raya",
            "DTSTART;VALUE=DATE:19570717",
            "DTEND;VALUE=DATE:19570718",
            "RRULE:FREQ=YEARLY",
        )
    )

    assert [(when(row), row.source_key) for row in rows] == [
        (
            (midnight(17, month=7, year=2027), midnight(18, month=7, year=2027), True),
            "ics:rapat-1@pemkot:20270717",
        )
    ]


def test_cancelled_events_come_back_flagged():
    rows = ics(
        *event("SUMMARY:Pasar murah", "DTSTART:20261203T020000Z", "STATUS:CANCELLED"),
        *event("SUMMARY:Vaksinasi", "DTSTART:20261204T020000Z", "STATUS:CONFIRMED", uid="v-1"),
    )

    assert [(row.title, row.cancelled) for row in rows] == [
        ("Pasar murah", True),
        ("Vaksinasi", False),
    ]


def test_one_cancelled_occurrence_of_a_rule():
    rows = ics(
        *event(
            "SUMMARY:Apel pagi",
            "DTSTART;TZID=Asia/Jakarta:20261202T073000",
            "RRULE:FREQ=WEEKLY;COUNT=3",
        ),
        *event(
            "RECURRENCE-ID;TZID=Asia/Jakarta:20261209T073000",
            "DTSTART;TZID=Asia/Jakarta:20261209T073000",
            "STATUS:CANCELLED",  # no SUMMARY: a cancellation only needs its key
        ),
    )

    assert [(row.starts_at.day, row.cancelled) for row in rows] == [
        (2, False),
        (9, True),
        (16, False),
    ]


def test_an_outlook_cancellation_message_cancels_its_events():
    [row] = ics(
        *event("SUMMARY:Pelantikan pejabat", "DTSTART:20261203T020000Z"), head=("METHOD:CANCEL",)
    )

    assert row.cancelled


def test_an_event_without_uid_gets_a_stable_key_from_its_start_and_title():
    text = calendar(*event("SUMMARY:Pasar murah", "DTSTART:20261203T020000Z", uid=""))
    retitled = text.replace("Pasar murah", "Pasar murah Ramadan")

    [first], [again], [changed] = (
        parse(text, "a.ics"),
        parse(text, "a.ics"),
        parse(retitled, "a.ics"),
    )

    assert first.source_key.startswith("ics-nouid:")
    assert first.source_key == again.source_key
    assert changed.source_key != first.source_key


def test_a_very_long_uid_is_hashed_so_the_key_stays_short():
    uid = "040000008200E00074C5B7101A82E008" * 10
    text = calendar(
        *event("SUMMARY:Rapat", "DTSTART:20261202T020000Z", "RRULE:FREQ=DAILY;COUNT=2", uid=uid)
    )

    first, second = parse(text, "a.ics")

    assert first.source_key.startswith("ics:~") and len(first.source_key) <= 80
    assert first.source_key.split(":")[1] == second.source_key.split(":")[1]
    assert [row.source_key for row in parse(text, "a.ics")] == [first.source_key, second.source_key]


def test_events_outside_the_window_and_todos_are_skipped():
    rows = ics(
        *event("SUMMARY:Rapat lama", "DTSTART:20250102T020000Z", uid="lama"),
        *event("SUMMARY:Rapat jauh", "DTSTART:20280102T020000Z", uid="jauh"),
        *event("SUMMARY:Rapat koordinasi", "DTSTART:20261202T020000Z"),
        "BEGIN:VTODO",
        "UID:todo-1",
        "SUMMARY:Siapkan rilis",
        "END:VTODO",
        "BEGIN:VJOURNAL",
        "UID:journal-1",
        "SUMMARY:Catatan",
        "END:VJOURNAL",
    )

    assert [row.title for row in rows] == ["Rapat koordinasi"]


def test_a_calendar_with_nothing_inside_the_window_is_empty():
    problems = refused(calendar(*event("SUMMARY:Rapat lama", "DTSTART:20250102T020000Z")), "a.ics")

    assert problems == [(0, "empty")]


def test_the_content_decides_the_format_before_the_extension():
    text = calendar(*event("SUMMARY:Rapat koordinasi", "DTSTART:20261202T020000Z"))

    for filename in ("agenda.txt", "agenda.csv", "agenda", "kalender.ICS"):
        [row] = parse(text, filename)
        assert row.title == "Rapat koordinasi"


@pytest.mark.parametrize(
    "lines, problems",
    [
        (  # a pasted line inside an event
            event("SUMMARY:Rapat", "DTSTART:20261202T020000Z", "ini baris sampah"),
            [(9, "malformed")],
        ),
        (event("SUMMARY:Rapat", "DTSTART:20261202T020000Z")[:-1], [(4, "malformed")]),  # no END
        (("END:VEVENT",), [(4, "malformed")]),  # END without BEGIN
        (event("SUMMARY:Rapat", "DTSTART:bukan-tanggal"), [(4, "malformed")]),
        (
            event("SUMMARY:Rapat", "DTSTART:20261202T020000Z", "DURATION:dua jam"),
            [(4, "malformed")],
        ),
        (
            event("SUMMARY:Rapat", "DTSTART;TZID=Mars/Olympus:20261202T090000"),
            [(4, "unknown_timezone")],
        ),
        (event("SUMMARY:Rapat", "DTEND:20261202T020000Z"), [(4, "missing_start")]),
        (event("DTSTART:20261202T020000Z"), [(4, "missing_title")]),
        (
            event("SUMMARY:Rapat", "DTSTART:20261202T090000", "DTEND:20261202T080000"),
            [(4, "end_before_start")],
        ),
        (
            event("SUMMARY:Rapat", "DTSTART;VALUE=DATE:20261202", "DTEND:20261202T080000"),
            [(4, "bad_time")],
        ),
        (
            event("SUMMARY:Rapat", "DTSTART:20261202T090000", "RRULE:FREQ=MINUTELY"),
            [(4, "bad_rule")],
        ),
        (
            event("SUMMARY:Rapat", "DTSTART:20261202T090000", "RRULE:FREQ=KADANG"),
            [(4, "malformed")],
        ),
        (  # every bad event is listed, each on its own line
            (
                *event("DTSTART:20261202T020000Z", uid="a"),
                *event("SUMMARY:Rapat", "DTSTART:20261203T020000Z", uid="b"),
                *event("SUMMARY:Apel", "DTSTART:kemarin", uid="c"),
            ),
            [(4, "missing_title"), (15, "malformed")],
        ),
    ],
    ids=[
        "garbage-line",
        "unclosed-event",
        "end-without-begin",
        "bad-dtstart",
        "bad-duration",
        "unknown-zone",
        "no-dtstart",
        "no-summary",
        "end-before-start",
        "date-and-time-mixed",
        "minutely-rule",
        "unknown-frequency",
        "two-bad-events",
    ],
)
def test_broken_calendars_are_refused_on_the_line_to_fix(lines: tuple[str, ...], problems: list):
    assert refused(calendar(*lines), "agenda.ics") == problems


def test_a_file_named_ics_that_is_not_a_calendar_is_malformed_on_line_1():
    assert refused("<!DOCTYPE html>\n<p>Sesi berakhir</p>\n", "agenda.ics") == [(1, "malformed")]


@pytest.mark.parametrize(
    "second, expected_title, problems",
    [
        (("SUMMARY:Rapat koordinasi", "DTSTART:20261202T020000Z"), "Rapat koordinasi", []),
        (
            ("SUMMARY:Rapat koordinasi (ruang 2)", "DTSTART:20261202T020000Z", "SEQUENCE:2"),
            "Rapat koordinasi (ruang 2)",
            [],
        ),
        (
            ("SUMMARY:Rapat koordinasi (ruang 2)", "DTSTART:20261202T020000Z"),
            None,
            [(10, "duplicate")],
        ),
    ],
    ids=["identical-copy", "newer-sequence-wins", "same-sequence-differs"],
)
def test_the_same_uid_twice(second: tuple[str, ...], expected_title: str | None, problems: list):
    text = calendar(*event("SUMMARY:Rapat koordinasi", "DTSTART:20261202T020000Z"), *event(*second))

    if problems:
        assert refused(text, "a.ics") == problems
    else:
        assert [row.title for row in parse(text, "a.ics")] == [expected_title]


# --- re-import ---------------------------------------------------------------------------------


def test_parsing_the_same_files_twice_gives_the_same_keys():
    for name in ("desember_koma.csv", "desember_excel_cp1252.csv"):
        data = (FIXTURES / name).read_bytes()
        assert [r.source_key for r in parse(data)] == [r.source_key for r in parse(data)]


def test_a_csv_key_follows_day_start_and_title_not_the_other_cells_or_the_row_order():
    first = parse(
        csv_text(
            "Tanggal,Mulai,Kegiatan,Tempat",
            "02/12/2026,09.00,Rapat koordinasi,Balai Kota",
            "03/12/2026,10.00,Apel pagi,Balai Kota",
        )
    )
    edited = parse(
        csv_text(
            "Kegiatan,Tanggal,Mulai,Tempat",
            "Apel pagi,3 Desember 2026,10:00,Halaman Balai Kota",
            "Rapat  Koordinasi,02/12/2026,09.00 WIB,Aula Peteng Karuhei",
        )
    )

    assert [r.source_key for r in first] == [r.source_key for r in edited]
    assert [r.place for r in edited] == ["Aula Peteng Karuhei", "Halaman Balai Kota"]


def test_a_retitled_ics_event_keeps_its_key_so_the_caller_updates_it():
    def keys(title: str) -> list[str]:
        rows = ics(
            *event(f"SUMMARY:{title}", "DTSTART:20261202T020000Z"),
            *event(
                f"SUMMARY:{title}", "DTSTART:20261202T020000Z", "RRULE:FREQ=DAILY;COUNT=2", uid="r"
            ),
        )
        return [row.source_key for row in rows]

    assert keys("Rapat koordinasi") == keys("Rapat koordinasi banjir")
    assert keys("Rapat koordinasi") == [
        "ics:rapat-1@pemkot",
        "ics:r:20261202T020000Z",
        "ics:r:20261203T020000Z",
    ]


# --- agenda book -------------------------------------------------------------------------------


def entry(**changes: object) -> BookEntry:
    values: dict[str, object] = {
        "number": 1,
        "title": "Rapat koordinasi penanganan banjir",
        "starts_at": at(2, 9),
        "ends_at": at(2, 11),
        "leaders": "Wali Kota, Sekda",
        "place": "Aula Peteng Karuhei",
        "notes": "",
        "status": "planned",
        "assignments": [],
        "story": "",
        "history": [],
    }
    return BookEntry(**(values | changes))  # type: ignore[arg-type]


BOOK = [
    entry(
        number=2,
        title="Pasar murah",
        starts_at=at(3, 8),
        ends_at=None,
        leaders="Wakil Wali Kota",
        place="Pasar Besar",
        status="cancelled",
        history=["2 Des 15.00 WIB dibatalkan oleh Sari: hujan lebat"],
    ),
    entry(
        notes="Bawa kamera cadangan",
        assignments=["Rina (diterima 1 Des 16.05 WIB)", "Anton (ditolak: sakit)"],
        story="#12 terbit",
        history=[
            "1 Des 10.02 WIB ditambahkan oleh Dedi (perintah)",
            "1 Des 11.00 WIB diubah oleh Sari: tempat",
        ],
    ),
]


def test_book_csv_golden():
    assert book_csv(BOOK, tz=WIB) == (
        "no,tanggal,mulai,selesai,kegiatan,pimpinan,tempat,keterangan,status,penugasan,berita,"
        "riwayat\r\n"
        '1,2026-12-02,09.00,11.00,Rapat koordinasi penanganan banjir,"Wali Kota, Sekda",'
        "Aula Peteng Karuhei,Bawa kamera cadangan,terjadwal,"
        '"Rina (diterima 1 Des 16.05 WIB)\nAnton (ditolak: sakit)",#12 terbit,'
        '"1 Des 10.02 WIB ditambahkan oleh Dedi (perintah)\n'
        '1 Des 11.00 WIB diubah oleh Sari: tempat"\r\n'
        "2,2026-12-03,08.00,selesai,Pasar murah,Wakil Wali Kota,Pasar Besar,,dibatalkan,,,"
        "2 Des 15.00 WIB dibatalkan oleh Sari: hujan lebat\r\n"
    )


def test_book_csv_writes_all_day_and_other_zone_entries_in_the_desk_zone():
    entries = [
        entry(starts_at=midnight(3), ends_at=midnight(4), all_day=True),
        entry(number=2, starts_at=midnight(4), ends_at=midnight(7), all_day=True),
        entry(
            number=3,
            starts_at=datetime(2026, 12, 5, 1, 0, tzinfo=ZoneInfo("UTC")),
            ends_at=datetime(2026, 12, 5, 4, 0, tzinfo=ZoneInfo("UTC")),
        ),
        entry(number=4, starts_at=at(6, 20), ends_at=at(7, 1)),
    ]

    rows = list(csv.reader(io.StringIO(book_csv(entries, tz=WIB), newline="")))

    assert [row[:4] for row in rows[1:]] == [
        ["1", "2026-12-03", "sehari", ""],
        ["2", "2026-12-04", "sehari", "2026-12-06"],
        ["3", "2026-12-05", "08.00", "11.00"],  # given in UTC
        ["4", "2026-12-06", "20.00", "2026-12-07 01.00"],
    ]


def test_book_csv_defuses_cells_a_spreadsheet_would_run_as_formulas():
    text = book_csv(
        [entry(title='=HYPERLINK("http://x","klik")', notes="-2+3", place="@A1")], tz=WIB
    )

    row = next(csv.DictReader(io.StringIO(text, newline="")))
    assert (row["kegiatan"], row["keterangan"], row["tempat"]) == (
        '\'=HYPERLINK("http://x","klik")',
        "'-2+3",
        "'@A1",
    )


def test_the_book_csv_can_be_imported_again():
    planned = [e for e in BOOK if e.status == "planned"]

    [row] = parse(book_csv(planned, tz=WIB).encode("utf-8-sig"), "buku-agenda.csv")

    assert (row.title, row.leaders, row.place, row.notes) == (
        "Rapat koordinasi penanganan banjir",
        "Wali Kota, Sekda",
        "Aula Peteng Karuhei",
        "Bawa kamera cadangan",
    )
    assert when(row) == (at(2, 9), at(2, 11), False)


class _TagChecker(HTMLParser):
    """Records text and checks that every non-void element is closed in order."""

    VOID = frozenset(("meta", "br", "link", "hr", "img"))

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.errors.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_book_html_is_a_complete_printable_document():
    page = book_html(BOOK, tz=WIB, title="Agenda Kegiatan Pimpinan Daerah — Desember 2026")

    assert page.startswith('<!DOCTYPE html>\n<html lang="id">')
    assert page.rstrip().endswith("</html>")
    assert '<meta charset="utf-8">' in page
    assert "@page { size: A4 landscape;" in page
    checker = _TagChecker()
    checker.feed(page)
    checker.close()
    assert checker.errors == [] and checker.open == []
    assert "<title>Agenda Kegiatan Pimpinan Daerah — Desember 2026</title>" in page


def test_book_html_groups_by_day_with_indonesian_day_names_and_wib_times():
    page = book_html(BOOK, tz=WIB, title="Agenda")

    assert page.index("Rabu, 2 Desember 2026") < page.index("Kamis, 3 Desember 2026")
    assert page.count('<tr class="hari">') == 2
    assert "09.00–11.00 WIB" in page
    assert "08.00 WIB – selesai" in page
    assert '<tr class="dibatalkan">' in page and ">Dibatalkan<" in page
    assert "<li>Rina (diterima 1 Des 16.05 WIB)</li>" in page
    assert "2 kegiatan, 1 dibatalkan" in page


def test_book_html_escapes_every_text():
    page = book_html(
        [
            entry(
                title="Rapat <b>& evaluasi",
                leaders='Sekda "Plt"',
                place="<script>alert(1)</script>",
                notes="baris 1\nbaris <2>",
                assignments=["Rina <rina@pemkot>"],
                story="#12 <terbit>",
                history=["diubah oleh <Sari> & Dedi"],
            )
        ],
        tz=WIB,
        title="Agenda <Desember> & Januari",
    )

    assert "Rapat &lt;b&gt;&amp; evaluasi" in page
    assert "Rapat <b>&" not in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Sekda &quot;Plt&quot;" in page
    assert "baris 1<br>baris &lt;2&gt;" in page
    assert "Rina &lt;rina@pemkot&gt;" in page and "#12 &lt;terbit&gt;" in page
    assert "diubah oleh &lt;Sari&gt; &amp; Dedi" in page
    assert "<h1>Agenda &lt;Desember&gt; &amp; Januari</h1>" in page


def test_book_html_all_day_and_empty_books():
    page = book_html(
        [entry(starts_at=midnight(3), ends_at=midnight(6), all_day=True)], tz=WIB, title="A"
    )
    assert "Sepanjang hari, s.d. Sabtu, 5 Desember 2026" in page

    empty = book_html([], tz=WIB, title="Agenda")
    assert "<p>Belum ada agenda.</p>" in empty and "<table>" not in empty


def test_a_book_entry_with_an_unknown_status_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown status 'draft'"):
        book_csv([entry(status="draft")], tz=WIB)


def test_long_dates_match_babels_indonesian():
    day = date(2026, 1, 1)
    while day.year == 2026:
        assert long_date(day) == format_date(day, "EEEE, d MMMM y", locale="id")
        day += timedelta(days=1)


def test_the_window_constants_match_the_tests_dates():
    assert TODAY - timedelta(days=PAST_DAYS) == WINDOW_FIRST
    assert TODAY + timedelta(days=FUTURE_DAYS) == WINDOW_LAST
