"""The monthly report of a fixture month driven through a real desk: golden CSV files, the HTML's
tables and figures, the PDF printed from it, and charts that draw the same bytes each time."""

from __future__ import annotations

import gc
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from bs4 import BeautifulSoup
from pypdf import PdfReader

from bot.report import (
    ENTRY_MARK,
    PrintLinksError,
    ReportFiles,
    gather,
    make_report,
    month_bounds,
    print_links,
    render_html,
    render_pdf,
    stories_per_day_chart,
    time_per_step_chart,
)
from tests.support import Chat, FakeClock, make_chat
from workflow.sla import SlaPolicy, Step

GOLDEN = Path(__file__).parent / "golden"
NOVEMBER = date(2026, 11, 1)
SETTINGS = {
    "sla": {"submission": "1h", "editing": "3h", "publishing": "2h", "digest_at": "off"},
    "agenda": {"announce_at": "off"},
    "roster": {"people": ["dedi", "sari", "rina", "anton"], "announce_at": "off"},
}


def targets(folder: Path, sites: tuple[str, ...]) -> dict:
    """Folder targets: their permalinks are ``file:`` pages, so archiving a story checks its
    links without any network."""
    return {"targets": [{"name": s, "kind": "folder", "path": str(folder / s)} for s in sites]}


class Month:
    """Drives the desk through November 2026 like its people would, story by story."""

    def __init__(self, chat: Chat, clock: FakeClock) -> None:
        self.chat, self.clock = chat, clock
        self.number = 0

    def at(self, day: int, hour: int, minute: int = 0, *, month: int = 11) -> None:
        """Move the clock forward to hh.mm WIB on ``day`` of ``month`` 2026."""
        target = datetime(2026, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=7)
        assert target >= self.clock.now, "the fixture month only moves forward"
        self.clock.now = target

    def say(self, who: str, text: str) -> list[str]:
        return self.chat.send(who, text)

    def submit(self, reporter: str, title: str) -> int:
        replies = self.say(reporter, f"{title}\nPALANGKA RAYA – {title}, kata Wali Kota.")
        self.number += 1
        assert f"#{self.number}" in replies[0], replies
        return self.number

    def publish(self, number: int, operator: str = "budi") -> None:
        replies = self.say(operator, f"/terbitkan {number}")
        assert any("sudah terbit" in reply for reply in replies), replies

    def archive(self, number: int, editor: str) -> None:
        """Ask for the archive; the next sweep checks the links and photos and archives."""
        self.say(editor, f"/arsipkan {number}")
        self.sweep()

    def story(
        self,
        day: int,
        hour: int,
        reporter: str,
        editor: str,
        title: str,
        *,
        archive: bool = True,
    ) -> int:
        """One story on time all the way: edited in an hour, published half an hour later,
        archived half an hour after that."""
        self.at(day, hour)
        number = self.submit(reporter, title)
        self.at(day, hour, 20)
        self.say(editor, f"/sunting {number}")
        self.at(day, hour + 1)
        self.say(editor, f"/verifikasi {number} semua")
        self.at(day, hour + 1, 30)
        self.publish(number)
        if archive:
            self.at(day, hour + 2)
            self.archive(number, editor)
        return number

    def sweep(self) -> None:
        assert self.chat.warta.watch is not None
        self.chat.warta.watch.sweep()
        self.chat.flush()


def drive_november(month: Month) -> None:
    """Stories, deadlines met and missed, a revision, a spike, two assignments, the roster with
    leave and a swap, from the last weekend of October to the evening of 30 November."""
    m = month
    m.at(30, 9, month=10)
    m.say("hendra", "/cuti sari 16-17 November | cuti tahunan")
    m.say("hendra", "/roster buat 2026-11")
    m.say("hendra", "/roster setujui 2026-11")
    # Submitted in October, published just after midnight: in November's published list only.
    m.at(31, 22, month=10)
    m.submit("rina", "Festival Budaya Isen Mulang Ditutup")
    m.say("dedi", "/sunting 1")
    m.at(31, 23, month=10)
    m.say("dedi", "/verifikasi 1 semua")
    m.at(1, 0, 30)
    m.publish(1)

    # Monday 2 November: one on time, one edited late, one sent back and resubmitted late and
    # published the next morning, one spiked.
    m.story(2, 7, "rina", "dedi", "Wali Kota Buka Musrenbang Kecamatan Pahandut")
    m.at(2, 9)
    late_edit = m.submit("anton", "Pasar Murah di Jalan Tjilik Riwut")
    m.at(2, 10)
    m.say("dedi", f"/sunting {late_edit}")
    m.at(2, 12, 1)
    m.sweep()  # the breach of its editing, held by Dedi
    m.at(2, 12, 35)
    m.say("dedi", f"/verifikasi {late_edit} semua")  # 35 minutes late
    m.at(2, 13)
    revised = m.submit("rina", "Peninjauan Banjir di Kelurahan Menteng")
    m.publish(late_edit)
    m.at(2, 14)
    m.say("sari", f"/kembalikan {revised} kutipan Lurah belum ada")
    m.archive(late_edit, "sari")
    m.at(2, 15, 30)  # the revision was due at 15.00
    m.say("rina", f"/revisi {revised} Peninjauan Banjir di Kelurahan Menteng\nLurah: air surut.")
    m.at(2, 15, 45)
    m.say("sari", f"/sunting {revised}")
    m.at(2, 16)
    spiked = m.submit("anton", "Vaksinasi di Puskesmas Pahandut")
    m.at(2, 16, 30)
    m.say("sari", f"/verifikasi {revised} semua")  # publishing due at 18.30
    m.say("hendra", f"/batal {spiked} berita ganda dengan #{late_edit}")
    m.at(2, 18, 31)
    m.sweep()  # the publishing breach, held by every operator
    m.at(3, 8)
    m.publish(revised)
    m.at(3, 9)
    m.archive(1, "dedi")  # a day after its H+1
    m.at(3, 10)
    m.archive(revised, "sari")

    # Tuesday 3 November: two events of Wednesday's agenda, each with its reporter.
    m.at(3, 11)
    m.say(
        "dedi",
        "/agenda tambah 4/11 09.00-11.00 | Rapat koordinasi penanganan banjir | Wali Kota "
        "| Aula Peteng Karuhei",
    )
    m.say(
        "dedi",
        "/agenda tambah 4/11 13.00-14.00 | Penyerahan bantuan sosial | Wakil Wali Kota "
        "| Kelurahan Menteng",
    )
    m.say("dedi", "/tugaskan 1 rina")
    m.say("dedi", "/tugaskan 2 anton")
    m.chat.send("rina", "/terima", private=True)
    m.chat.send("anton", "/terima", private=True)

    # Wednesday 4 November: Rina's duty goes to Sari (Rina covers the morning's event); one coverage
    # on time, one late.
    m.at(4, 7)
    m.say("hendra", "/tukar 4/11 sari")
    m.story(4, 11, "rina", "dedi", "Rapat Koordinasi Banjir di Aula Peteng Karuhei")
    m.at(4, 15, 20)  # due at 15.00, an hour after the event ended
    covered = m.submit("anton", "Bantuan Sosial untuk Warga Kelurahan Menteng")
    m.at(4, 15, 40)
    m.say("sari", f"/sunting {covered}")
    m.at(4, 16, 30)
    m.say("sari", f"/verifikasi {covered} semua")
    m.at(4, 17)
    m.publish(covered)
    m.at(4, 18)
    m.archive(covered, "sari")

    # The rest of the month: a quiet run of stories on time.
    m.say("hendra", "/cuti anton 20/11 | sakit")  # on duty that day: nobody took it over
    regular = [
        (9, 9, "rina", "dedi", "Apel Pagi Aparatur Sipil Negara di Halaman Balai Kota"),
        (10, 10, "anton", "sari", "Pelantikan Pejabat Administrator"),
        (12, 9, "rina", "dedi", "Sosialisasi Pajak Daerah di Pasar Besar"),
        (16, 13, "anton", "dedi", "Penataan Taman Kota Kamaruddin"),
        (18, 8, "rina", "sari", "Jalan Yos Sudarso Diperbaiki"),
        (23, 10, "anton", "dedi", "Lomba Perahu Hias di Sungai Kahayan"),
        (25, 9, "rina", "sari", "Bundaran Besar Jadi Lokasi Car Free Day"),
    ]
    for day, hour, reporter, editor, title in regular:
        m.story(day, hour, reporter, editor, title)
    # Friday 27 November: published, never archived (documentation due Monday 30 at 16.00).
    m.story(27, 9, "anton", "dedi", "Wakil Wali Kota Tinjau Posyandu", archive=False)

    # Monday 30 November: one story overdue at midnight, one still within its window.
    m.at(30, 20)
    m.submit("rina", "Malam Renungan HUT Korpri")
    m.at(30, 22)
    m.submit("anton", "Persiapan Natal di Kota Palangka Raya")
    m.at(1, 8, month=12)
    m.sweep()


def build_month(
    db_url: str, folder: Path, sites: tuple[str, ...] = ("mediacenter", "portal")
) -> tuple[Chat, FakeClock]:
    clock = FakeClock(datetime(2026, 10, 30, 2, 0, tzinfo=UTC))
    chat = make_chat(db_url, folder, clock=clock, publish=targets(folder, sites), **SETTINGS)
    drive_november(Month(chat, clock))
    return chat, clock


@dataclass
class Built:
    chat: Chat
    clock: FakeClock
    folder: Path
    files: ReportFiles
    english: ReportFiles

    @property
    def policy(self) -> SlaPolicy:
        return self.chat.desk.options.sla


def pdf_problem() -> str | None:
    """Why WeasyPrint cannot print here (it loads Pango, a system library), or None."""
    from bot.report import load_weasyprint

    try:
        load_weasyprint()
    except (ImportError, OSError, Warning) as error:  # a missing HarfBuzz-Subset warns
        return f"{type(error).__name__}: {error}".splitlines()[0]
    return None


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """November on SQLite, reported once in Indonesian and once in English."""
    problem = pdf_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"WeasyPrint is required in CI: {problem}")
        pytest.skip(f"WeasyPrint cannot print here: {problem}")
    folder = tmp_path_factory.mktemp("november")
    chat, clock = build_month(f"sqlite:///{folder / 'warta.db'}", folder)
    policy = chat.desk.options.sla
    files = make_report(
        chat.warta.db, month=NOVEMBER, out_dir=folder / "id", policy=policy, now=clock.now
    )
    english = make_report(
        chat.warta.db,
        month=NOVEMBER,
        out_dir=folder / "en",
        policy=policy,
        now=clock.now,
        locale="en",
    )
    yield Built(chat, clock, folder, files, english)
    chat.warta.close()


def golden(name: str, actual: bytes, folder: Path) -> None:
    """Compare with the checked-in file (``WARTA_UPDATE_GOLDEN=1`` rewrites it); the test's
    own folder, part of every folder target's permalink, reads ``file:///FOLDER``."""
    text = actual.decode("utf-8-sig").replace(folder.as_uri(), "file:///FOLDER")
    path = GOLDEN / name
    if os.environ.get("WARTA_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(text.encode("utf-8-sig"))
    assert text == path.read_bytes().decode("utf-8-sig")


def test_the_csv_files_match_the_golden_files_on_every_database(db_url: str, tmp_path: Path):
    # One site: on PostgreSQL two sites confirming at the same moment can leave a story
    # "publishing" for good (each transaction sees the other's job unfinished).
    chat, clock = build_month(db_url, tmp_path, sites=("mediacenter",))
    try:
        files = make_report(
            chat.warta.db,
            month=NOVEMBER,
            out_dir=tmp_path / "laporan",
            policy=chat.desk.options.sla,
            now=clock.now,
            pdf=False,
        )
    finally:
        chat.warta.close()
    assert [path.name for path in (files.stories_csv, files.breaches_csv, files.roster_csv)] == [
        "cerita-2026-11.csv",
        "pelanggaran-2026-11.csv",
        "piket-2026-11.csv",
    ]
    assert files.pdf is None and files.html.name == "laporan-2026-11.html"
    for path in (files.stories_csv, files.breaches_csv, files.roster_csv):
        data = path.read_bytes()
        assert data.startswith(b"\xef\xbb\xbf")  # the byte-order mark: Excel reads UTF-8
        assert data.count(b"\r\n") == data.count(b"\n")
        golden(path.name, data, tmp_path)


def test_the_figures_of_the_month(built: Built):
    report = gather(built.chat.warta.db, month=NOVEMBER, policy=built.policy, now=built.clock.now)

    summary = report.summary
    assert (summary.covered, summary.published, summary.spiked, summary.still_open) == (
        16,
        13,
        1,
        2,
    )
    assert summary.published_in_month == 14  # with #1, submitted on 31 October
    assert (summary.finished, summary.on_time, summary.breaches) == (45, 40, 7)
    assert report.as_of == datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # midnight WIB
    steps = {figure.step.value: figure for figure in report.steps}
    assert [(f.finished, f.on_time) for f in steps.values()] == [
        (3, 1),
        (15, 14),
        (14, 13),
        (13, 12),
    ]
    assert steps["submission"].median == timedelta(minutes=80)  # 0, 80 and 90 minutes
    assert steps["submission"].p90 == timedelta(minutes=90)
    assert steps["editing"].window == timedelta(hours=3) and steps["documentation"].window is None
    people = {(f.step.value, f.person): (f.finished, f.on_time) for f in report.people}
    assert people[("editing", "Dedi")] == (8, 7)
    assert people[("publishing", "Budi")] == (14, 13)  # who ordered it, not Warta
    assert people[("submission", "Anton")] == (1, 0)

    breaches = [(b.run.story_number, b.run.step.value, b.still_open) for b in report.breaches]
    assert breaches == [
        (3, "editing", False),
        (4, "submission", False),
        (1, "documentation", False),
        (4, "publishing", False),
        (7, "submission", False),
        (15, "documentation", True),
        (16, "editing", True),
    ]
    late = {(b.run.story_number, b.run.step.value): b for b in report.breaches}
    assert late[(3, "editing")].late_by == timedelta(minutes=35)
    assert late[(3, "editing")].run.holder == "Dedi"
    assert late[(4, "submission")].run.reason == "kutipan Lurah belum ada"
    assert late[(4, "publishing")].run.holder_role == "operator"
    assert late[(16, "editing")].late_by == timedelta(hours=1)  # from 23.00 to midnight
    assert late[(7, "submission")].run.item_number == 2

    stories = {line.number: line for line in report.stories}
    assert stories[4].state == "archived" and stories[5].state == "spiked"
    assert stories[17].state == "submitted" and stories[17].published_at is None
    assert stories[4].steps[Step.SUBMISSION].on_time is False
    assert stories[4].steps[Step.EDITING].spent == timedelta(hours=2)  # before and after revision
    assert report.targets == ("mediacenter", "portal")

    roster = {slot.day.day: slot for slot in report.roster}
    assert roster[4].person == "Sari" and roster[4].swaps[0].before == "Rina"
    assert roster[20].person == "Anton" and roster[20].on_leave
    assert roster[20].leave_reason == "sakit"
    assert [(away.person, away.day.day) for away in report.leave] == [
        ("Sari", 16),
        ("Sari", 17),
        ("Anton", 20),
    ]


def test_figures_stand_as_they_were_at_the_cut_off(built: Built):
    """A report of a month still running counts what had happened by then: later steps,
    publications and archives do not change it."""
    monday_night = datetime(2026, 11, 2, 17, 0, tzinfo=UTC)  # 3 November, 00.00 WIB

    report = gather(built.chat.warta.db, month=NOVEMBER, policy=built.policy, now=monday_night)

    assert report.as_of == monday_night
    summary = report.summary
    assert (summary.covered, summary.published, summary.spiked, summary.still_open) == (4, 2, 1, 1)
    assert {line.number: line.state for line in report.stories}[4] == "verified"
    late = {(b.run.story_number, b.run.step.value): b for b in report.breaches}
    assert set(late) == {(3, "editing"), (4, "submission"), (1, "documentation"), (4, "publishing")}
    assert late[(4, "publishing")].still_open
    assert late[(4, "publishing")].late_by == timedelta(hours=5, minutes=30)
    assert late[(1, "documentation")].late_by == timedelta(hours=8)
    with pytest.raises(ValueError, match="2026-12 has not begun"):
        gather(built.chat.warta.db, month=date(2026, 12, 1), policy=built.policy, now=monday_night)


def test_the_month_runs_from_local_midnight_to_local_midnight():
    assert month_bounds(date(2026, 11, 1), ZoneInfo("Asia/Jakarta")) == (
        datetime(2026, 10, 31, 17, 0, tzinfo=UTC),
        datetime(2026, 11, 30, 17, 0, tzinfo=UTC),
    )
    assert month_bounds(date(2026, 12, 1), ZoneInfo("Asia/Jayapura")) == (
        datetime(2026, 11, 30, 15, 0, tzinfo=UTC),
        datetime(2026, 12, 31, 15, 0, tzinfo=UTC),
    )


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def figure(page: BeautifulSoup, name: str) -> str:
    found = page.select_one(f'[data-figure="{name}"]')
    assert found is not None, name
    return found.get_text(strip=True)


def test_the_html_report_has_its_tables_and_figures(built: Built):
    page = soup(built.files.html)

    assert page.html is not None and page.html["lang"] == "id"
    assert "Laporan Bulanan" in page.title.get_text() and "November 2026" in page.title.get_text()
    assert [figure(page, name) for name in ("covered", "published", "spiked", "still_open")] == [
        "16",
        "13",
        "1",
        "2",
    ]
    assert figure(page, "published_in_month") == "14"
    assert figure(page, "on_time") == "40 dari 45 (88%)"
    assert figure(page, "breaches") == "7"
    steps = {
        row["data-step"]: [cell.get_text(strip=True) for cell in row.find_all("td")]
        for row in page.select("#tabel-tahap tbody tr")
    }
    assert steps["editing"] == [
        "Penyuntingan dan verifikasi",
        "≤ 3 jam",
        "15",
        "14",
        "93%",
        "1 jam",
        "1 jam 10 menit",
    ]
    assert steps["documentation"][1] == "H+1 (akhir hari kerja berikutnya)"
    people = [[c.get_text(strip=True) for c in row.find_all("td")] for row in page.select(
        "#tabel-petugas tbody tr")]  # fmt: skip
    assert ["", "Budi", "14", "13", "92%", "30 menit"] not in people
    assert ["Penerbitan", "Budi", "14", "13", "92%", "30 menit"] in people
    breaches = page.select("#daftar-pelanggaran .entri")
    assert [(b["data-story"], b["data-step"], b["data-minutes"]) for b in breaches][:2] == [
        ("3", "editing", "35"),
        ("4", "submission", "30"),
    ]
    assert "penanggung jawab: Dedi" in breaches[0].get_text(" ", strip=True)
    assert "alasan tercatat: kutipan Lurah belum ada" in breaches[1].get_text(" ", strip=True)
    assert "masih berjalan" in breaches[-1].get_text(" ", strip=True)
    roster = page.select("#tabel-piket tbody tr")
    assert len(roster) == 21
    swapped = [row.get_text(" ", strip=True) for row in roster if "Ditukar" in row.get_text()]
    assert swapped == [
        "Rabu, 4 November 2026 piket Sari disetujui Ditukar: Rina → Sari, oleh Hendra "
        "(Rab 4/11 07.00)"
    ]
    assert [row["class"] for row in roster if "Cuti" in row.get_text()] == [["cuti"]]
    published = page.select("#daftar-terbit .entri")
    assert len(published) == 14
    links = published[0].find_all("a")
    assert [link.get_text() for link in links] == ["mediacenter", "portal"]
    assert links[0]["href"].startswith("file://") and links[0]["href"].endswith("/index.html")
    # One self-contained page: inline style, charts as data URIs, nothing to fetch.
    images = page.find_all("img")
    assert len(images) == 2 and all(
        img["src"].startswith("data:image/png;base64,") for img in images
    )
    assert not page.find_all(["script", "link", "iframe"])
    assert "@page" in page.style.get_text() and "counter(pages)" in page.style.get_text()


def test_the_english_report_says_it_all_in_english(built: Built):
    page = soup(built.english.html)

    assert built.english.html.name == "report-2026-11.html"
    assert built.english.stories_csv.name == "stories-2026-11.csv"
    text = page.get_text(" ", strip=True)
    assert page.html is not None and page.html["lang"] == "en"
    assert "Monthly Report" in text and "Missed deadlines (7)" in text
    assert "Editing and verification" in text and "35 minutes late" in text
    assert figure(page, "on_time") == "40 of 45 (88%)"
    for indonesian in ("Laporan", "terlambat", "Penerbitan", "berjalan", "disetujui", "Ringkasan"):
        assert indonesian not in text, indonesian
    assert '"Page "' in page.style.get_text() and "Halaman" not in page.style.get_text()
    header = built.english.stories_csv.read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.startswith("number;title;reporter;submitted (WIB);published (WIB);state;")


def pdf_text(path: Path) -> list[str]:
    reader = PdfReader(path)
    return [page.extract_text() for page in reader.pages]


def test_the_pdf_is_printed_from_the_html(built: Built):
    assert built.files.pdf is not None and built.files.pdf.name == "laporan-2026-11.pdf"
    pages = pdf_text(built.files.pdf)

    assert len(pages) == 6  # cover, summary, timeliness and people, breaches, roster, published
    assert "Laporan Bulanan" in pages[0] and "November 2026" in pages[0]
    assert "Halaman" not in pages[0]  # no footer on the cover
    for number, text in enumerate(pages[1:], start=2):
        assert f"Halaman {number} dari 6" in text
    assert "Berita masuk" in pages[1] and "40 dari 45 (88%)" in pages[1]
    assert "terlambat 35 menit" in pages[3] and "terlambat 13 jam 30 menit" in pages[3]
    assert "Jadwal piket" in pages[4] and "cuti tahunan" in pages[4]
    assert "Berita terbit (14)" in pages[5]
    english = pdf_text(built.english.pdf) if built.english.pdf else []
    assert len(english) == 6 and "Page 2 of 6" in english[1]


def site_links(path: Path) -> list[tuple[int, tuple[float, float, float, float], str]]:
    """The PDF's links to web addresses: page, rectangle (points, from the top left), URL."""
    found = []
    for number, page in enumerate(PdfReader(path).pages):
        height = float(page.mediabox.height)
        for annotation in page.get("/Annots") or ():
            annotation = annotation.get_object()
            if "/URI" not in annotation.get("/A", {}):
                continue
            x1, y1, x2, y2 = (float(value) for value in annotation["/Rect"])
            rectangle = (min(x1, x2), height - max(y1, y2), max(x1, x2), height - min(y1, y2))
            found.append((number, rectangle, str(annotation["/A"]["/URI"])))
    return found


def words_on_pages(path: Path) -> list[list[tuple[str, tuple[float, float, float, float]]]]:
    """Each page's words with their boxes (points, from the top left), as poppler reads them."""
    tool = shutil.which("pdftotext")
    if tool is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pdftotext (poppler-utils, from .ci/setup) is required in CI")
        pytest.skip("pdftotext (poppler-utils) is not installed")
    out = subprocess.run(
        [tool, "-bbox", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    word = re.compile(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    )
    return [
        [
            (text, (float(a), float(b), float(c), float(d)))
            for a, b, c, d, text in word.findall(page)
        ]
        for page in out.split("<page ")[1:]
    ]


def overlap(one: tuple[float, ...], other: tuple[float, ...]) -> float:
    """Intersection over union of two rectangles (x1, y1, x2, y2)."""
    width = min(one[2], other[2]) - max(one[0], other[0])
    height = min(one[3], other[3]) - max(one[1], other[1])
    if width <= 0 or height <= 0:
        return 0.0
    common = width * height
    area = (one[2] - one[0]) * (one[3] - one[1]) + (other[2] - other[0]) * (other[3] - other[1])
    return common / (area - common)


def test_every_published_story_has_its_links_in_the_pdf(built: Built, tmp_path: Path):
    """Most stories list their sites as plain text on the printed page, their links laid
    over the words after layout (PrintLinks): each link must cover its site's name."""
    report = gather(built.chat.warta.db, month=NOVEMBER, policy=built.policy, now=built.clock.now)
    links = print_links(report)
    assert links is not None and links.sample == 1 and len(links.plain) == 13
    expected = sorted(link.url for item in report.publications for link in item.links if link.url)
    assert len(expected) == 28  # 14 stories, two sites each
    printed = tmp_path / "printed.pdf"
    printed.write_bytes(render_pdf(render_html(report, links=links), links=links))

    for pdf in (printed, built.files.pdf, built.english.pdf):
        assert pdf is not None
        found = site_links(pdf)
        assert sorted(url for _page, _box, url in found) == expected
        words = words_on_pages(pdf)
        for page, box, url in found:
            site = "mediacenter" if "/mediacenter/" in url else "portal"
            best = max(words[page], key=lambda word: overlap(word[1], box))
            assert best[0] == site and overlap(best[1], box) > 0.7, (url, box, best)
        # The entries' marks are taken out of the PDF's outline; the days stay in it.
        titles, outline = [], list(PdfReader(pdf).outline)
        while outline:
            item = outline.pop()
            if isinstance(item, list):
                outline.extend(item)
            else:
                titles.append(item.title)
        assert ENTRY_MARK not in titles
        assert {"Minggu, 1 November 2026 (1)", "Sunday 1 November 2026 (1)"} & set(titles)
    # The browser's page has every link as a link, and no marks.
    page = soup(built.files.html)
    assert sorted(a["href"] for a in page.select("#daftar-terbit a")) == expected
    assert ENTRY_MARK not in page.get_text() and ENTRY_MARK not in str(page.style)
    assert gc.isenabled()  # the report paused the cycle collector, and no longer


def test_links_that_cannot_be_placed_are_refused(built: Built):
    """The browser's page has no marks to place the links by: render_pdf says so (and
    make_report then prints every link as an element)."""
    report = gather(built.chat.warta.db, month=NOVEMBER, policy=built.policy, now=built.clock.now)
    links = print_links(report)
    assert links is not None

    with pytest.raises(PrintLinksError, match="marks 0 entries, the list has 14"):
        render_pdf(render_html(report), links=links)
    assert gc.isenabled()


def test_the_charts_are_the_same_bytes_each_time(built: Built):
    report = gather(built.chat.warta.db, month=NOVEMBER, policy=built.policy, now=built.clock.now)

    for draw in (stories_per_day_chart, time_per_step_chart):
        first, second = draw(report, locale="id"), draw(report, locale="id")
        assert first == second
        assert first.startswith(b"\x89PNG\r\n\x1a\n")
        assert b"Software" not in first  # no matplotlib version in the file
        width = int.from_bytes(first[16:20], "big")
        assert width == 1080  # 7.2 inches at 150 dpi: sharp on A4
        assert draw(report, locale="en") != first  # the labels are translated


def test_an_empty_month_is_reported_too(built: Built, tmp_path: Path):
    files = make_report(
        built.chat.warta.db,
        month=date(2026, 9, 1),
        out_dir=tmp_path,
        policy=built.policy,
        now=built.clock.now,
    )

    page = soup(files.html)
    assert figure(page, "covered") == "0" and figure(page, "on_time") == "0 dari 0 (—)"
    text = page.get_text(" ", strip=True)
    assert "Tidak ada tahap yang melewati batas waktu dalam bulan ini." in text
    assert "Tidak ada jadwal piket untuk bulan ini." in text
    assert "Tidak ada berita terbit dalam bulan ini." in text
    assert files.pdf is not None and len(PdfReader(files.pdf).pages) == 6
    assert files.breaches_csv.read_text(encoding="utf-8-sig").count("\n") == 1  # the header


def test_making_a_pdf_leaves_truncated_photos_refused(tmp_path):
    """WeasyPrint's import turns on Pillow's global "load truncated images"; a report made
    in the running Warta must not make the publishers accept a broken photo."""
    import pytest
    from PIL import ImageFile

    from bot.report import render_pdf

    try:
        render_pdf("<p>Halo</p>")
    except OSError as missing:  # Pango absent outside CI: nothing to check
        pytest.skip(f"WeasyPrint cannot run here: {missing}")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
