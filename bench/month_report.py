"""Benchmark the monthly report of a busy month: 3,000 stories, gathered, drawn, printed, listed.

Usage: python bench/month_report.py [--stories 3000 | --small] [--repeat 1]

A month of the desk (December 2026, with Christmas and its *cuti bersama*) is written straight
into the tables, as the desk would have left them: the people (reporters, editors, operators and
the section head), the stories with every transition in the audit trail (most published and
archived, some sent back for revision, some spiked, a few corrected after publishing, the last
ones still open at the cut-off), each step's clock against its window (editing, publishing,
documentation by H+1 in working hours, the submission of a revision or of an assignment's
coverage; late ones with who held them), the publish jobs of three targets (Media Center, Info
Publik, the city portal) with their permalinks, a failed attempt here and there and a site
given up with its reason, the leaders' agenda with the assignments it gave (one declined too
late), and the duty roster with holiday shifts, swaps and leave. A few stories were submitted
on the last days of November, so the month also counts steps that began before it.

Then ``bot.report.make_report`` writes the whole report (gather, HTML, PDF, three CSV files),
as ``warta report`` and ``/laporan`` do, and its parts are timed one by one as it runs them:
``gather`` (read the month and compute it), ``render_html`` (the browser's page, with its two
charts), the PDF (the printed page, ``render_html(..., links=print_links(report))``, printed
by ``render_pdf``, which lays the site links over their words after layout) and the three CSV
files. The first ``make_report`` of the process is timed as ``warta report`` runs it: it
includes WeasyPrint's import (Pango) and the first font lookup. Every timing starts
after a full collection. The PDF's links to the sites are counted (with pypdf) against the
permalinks of the month's published stories: the target counts as met only when none is missing.

Baselines, measured in the same run on the same data:

- the report without its PDF (``make_report(..., pdf=False)``, what ``warta report --no-pdf``
  writes): the ratio whole/baseline is what printing costs on top of everything else;
- the browser's page printed as ``render_pdf`` printed the report before this bench was written:
  every site link an element that WeasyPrint lays out and draws, Python's cycle collector
  running (on today's markup, which is already leaner than it was: the ratio before/PDF
  understates the gain). Its page count is printed beside the PDF's.

Target: the whole report of a month of 3,000 stories under 10 s on a 2-core machine (the exit
status is 1 when it is missed, except with ``--small``: CI's smoke run of 150 stories).
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import tempfile
import time as clock
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar

from pypdf import PdfReader
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import Settings
from bot.report import (
    breaches_csv,
    gather,
    load_weasyprint,
    make_report,
    print_links,
    render_html,
    render_pdf,
    roster_csv,
    stories_csv,
)
from storage.db import Database
from storage.migrate import upgrade
from storage.models import (
    AgendaItem,
    Assignment,
    AuditEvent,
    DeskEvent,
    Leave,
    OutboxItem,
    Person,
    PersonRole,
    RosterSlot,
    SlaClock,
    Story,
    StoryArchive,
    StoryVersion,
)
from workflow.sla import SlaPolicy, Step

TARGET_SECONDS = 10.0
DEFAULT_STORIES, SMALL_STORIES = 3000, 150
SEED = 20261231
MONTH = date(2026, 12, 1)
NOW = datetime(2027, 1, 2, 1, 0, tzinfo=UTC)
"""08.00 WIB on the second working day after the month: the report a section head asks for."""
WIB = timedelta(hours=7)
FIRST_NUMBER = 41_207
"""The desk's running story number where the bench begins (numbers are five digits long)."""
EARLIER_DAYS = 2
"""Days of November whose stories reach into December (published or archived in it)."""

SECTION_HEAD = ("hendra", "Hendra Kusuma")
EDITORS = (
    ("dedi", "Dedi Irawan"),
    ("sari", "Sari Wulandari"),
    ("yohanes", "Yohanes Tambunan"),
    ("fitri", "Fitri Handayani"),
    ("bayu", "Bayu Saputra"),
)
OPERATORS = (("budi", "Budi Santoso"), ("lestari", "Lestari Ningsih"), ("rudi", "Rudi Hartono"))
REPORTERS = (
    ("rina", "Rina Marlina"),
    ("anton", "Anton Simanjuntak"),
    ("dewi", "Dewi Anggraini"),
    ("yusuf", "Yusuf Effendi"),
    ("maria", "Maria Goreti Lamak"),
    ("agus", "Agus Setiawan"),
    ("siti", "Siti Nurhaliza Rahman"),
    ("hendrik", "Hendrik Palar"),
    ("nia", "Nia Kurniasih"),
    ("fajar", "Fajar Nugroho"),
    ("ratna", "Ratna Sari Dewi"),
    ("joko", "Joko Prasetyo"),
)
TARGETS = {
    "mediacenter": "https://mediacenter.palangkaraya.go.id/berita/{year}/{month:02d}/{slug}",
    "infopublik": "https://infopublik.id/kategori/nusantara/{remote}/{slug}",
    "portal": "https://palangkaraya.go.id/berita/{slug}-{remote}",
}
SHIFTS = {"weekday": ("pagi", "siang"), "day_off": ("piket",)}

TOPICS = (
    "Banjir Rendam Permukiman",
    "Kebakaran Hanguskan Rumah Warga",
    "Peresmian Jembatan",
    "Pembangunan Drainase",
    "Perbaikan Jalan Rusak",
    "Vaksinasi Anak Sekolah",
    "Penanganan Stunting",
    "Penataan Pasar Tradisional",
    "Pengangkutan Sampah",
    "Penyaluran Bantuan Sosial",
    "Pelantikan Pejabat Administrator",
    "Musrenbang Kecamatan",
    "Festival Budaya Isen Mulang",
    "Pelatihan UMKM",
    "Beasiswa Mahasiswa Berprestasi",
    "Sambungan Air Bersih PDAM",
    "Penertiban Pedagang Kaki Lima",
    "Pemeriksaan Kesehatan Gratis",
    "Penanaman Pohon",
    "Operasi Pasar Murah Jelang Natal",
    "Pengerukan Sungai",
    "Peninjauan Proyek Jalan Lingkar",
    "Penandatanganan Kerja Sama",
    "Peluncuran Aplikasi Layanan",
    "Persiapan Perayaan Natal dan Tahun Baru",
    "Rapat Koordinasi Pengamanan Nataru",
)
PLACES = (
    "Kelurahan Menteng",
    "Kecamatan Pahandut",
    "Jalan Tjilik Riwut",
    "Bundaran Besar",
    "Sungai Kahayan",
    "Pasar Besar",
    "Aula Peteng Karuhei",
    "Balai Kota",
    "Kelurahan Kereng Bangkirai",
    "Kecamatan Jekan Raya",
    "Kelurahan Panarung",
    "Taman Kota Kamaruddin",
    "Kecamatan Sebangau",
    "Kelurahan Bukit Tunggal",
)
WHO = ("Wali Kota", "Wakil Wali Kota", "Sekda", "Kepala Dinas PUPR", "Kepala BPBD", "Camat")
REVISION_REASONS = (
    "kutipan Lurah belum ada",
    "nama dan jabatan narasumber belum lengkap",
    "angka anggaran berbeda dengan rilis dinas",
    "foto belum ada keterangannya",
    "judul terlalu panjang, lead belum menjawab 5W1H",
)
SPIKE_REASONS = (
    "berita ganda dengan liputan redaktur lain",
    "acara dibatalkan panitia",
    "bahan tidak cukup untuk berita",
    "sudah terbit sebagai rilis resmi dinas",
)
PUBLISH_ERRORS = {
    "infopublik": ("HTTP 502 Bad Gateway", "waktu habis setelah 30 detik"),
    "portal": ("HTTP 503 Service Unavailable", "sertifikat TLS kedaluwarsa"),
    "mediacenter": ("HTTP 500 Internal Server Error",),
}
ABANDON_REASONS = ("situs Info Publik sedang pemeliharaan", "akun kontributor belum aktif")
DECLINE_REASONS = ("sedang meliput acara lain", "sakit", "kendaraan dinas tidak tersedia")

_T = TypeVar("_T")


# -- a month of the desk ----------------------------------------------------------------------


@dataclass
class Rows:
    """Every row the bench writes, by table, in the order the desk would have written them."""

    people: dict[str, int] = field(default_factory=dict)
    stories: list[dict[str, Any]] = field(default_factory=list)
    versions: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    clocks: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    archives: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    assignments: list[dict[str, Any]] = field(default_factory=list)
    roster: list[dict[str, Any]] = field(default_factory=list)
    leave: list[dict[str, Any]] = field(default_factory=list)
    desk_events: list[dict[str, Any]] = field(default_factory=list)


def minutes(low: float, high: float, rnd: random.Random) -> timedelta:
    return timedelta(minutes=rnd.uniform(low, high))


def local(day: date, hour: float) -> datetime:
    """``hour`` (fractional) o'clock WIB on ``day``, in UTC."""
    return datetime.combine(day, time(0), UTC) - WIB + timedelta(hours=hour)


class DeskMonth:
    """Writes a month of stories, each through its steps, as the desk would have recorded them.

    Anything the desk would do after ``NOW`` (the report's moment) is left out: those stories
    stay in the state they had then, with their clocks open."""

    def __init__(self, policy: SlaPolicy, people: dict[str, int]) -> None:
        self.policy, self.people = policy, people
        self.rnd = random.Random(SEED)
        self.rows = Rows(people=people)
        self.number = FIRST_NUMBER
        self.editors = [people[key] for key, _name in (SECTION_HEAD, *EDITORS)]
        self.operators = [people[key] for key, _name in OPERATORS]
        self.reporters = [people[key] for key, _name in REPORTERS]
        self.last_publish = NOW  # when the story being written was last published

    # Each helper records one kind of row; times past NOW are dropped by ``finish``.

    def event(
        self,
        story_id: int,
        actor: int | None,
        at: datetime,
        event: str,
        before: str | None,
        after: str | None,
        reason: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        self.rows.events.append(
            {
                "story_id": story_id,
                "actor_id": actor,
                "at": at,
                "event": event,
                "from_state": before,
                "to_state": after,
                "reason": reason,
                "detail": detail or {},
            }
        )

    def clock(
        self,
        step: Step,
        started: datetime,
        finished: datetime | None,
        by: int | None,
        *,
        story_id: int | None,
        holder: str,
        assignment_id: int | None = None,
        outcome: str = "done",
    ) -> datetime:
        """A step's clock from ``started`` to ``finished``; returns its deadline."""
        due = self.policy.due(step, started)
        self.rows.clocks.append(
            {
                "story_id": story_id,
                "assignment_id": assignment_id,
                "step": step.value,
                "clock_mode": self.policy.clock(step).value,
                "started_at": started,
                "due_at": due,
                "outcome": outcome,
                "finished_at": finished,
                "finished_by_id": by,
                "breached_at": None,
                "held_by": holder,
            }
        )
        return due

    def story(self, submitted: datetime) -> None:
        """One story from submission to archive (or as far as it got by NOW)."""
        rnd = self.rnd
        self.number += 1
        story_id = number = self.number
        reporter = rnd.choice(self.reporters)
        editor = rnd.choice(self.editors)
        title = f"{rnd.choice(WHO)} {rnd.choice(('Tinjau', 'Buka', 'Pantau', 'Resmikan'))} "
        title += f"{rnd.choice(TOPICS)} di {rnd.choice(PLACES)}"
        if rnd.random() < 0.25:
            title = f"{rnd.choice(TOPICS)} di {rnd.choice(PLACES)}"
        version = 1
        state = "submitted"
        self.event(story_id, reporter, submitted, "submit", None, state)
        if rnd.random() < 0.15:
            self.assignment(story_id, reporter, submitted)
        at = submitted
        fate = rnd.random()
        if fate < 0.04:  # spiked while being edited
            spiked = at + minutes(20, 150, rnd)
            reason = rnd.choice(SPIKE_REASONS)
            self.clock(Step.EDITING, at, spiked, editor, story_id=story_id, holder="role:editor")
            self.event(story_id, editor, spiked, "spike", state, "spiked", reason=reason)
            self.add_story(story_id, number, title, reporter, submitted, version, reason)
            return
        if fate < 0.10:  # sent back once for a revision
            claimed = at + minutes(3, 40, rnd)
            asked = claimed + minutes(15, 90, rnd)
            reason = rnd.choice(REVISION_REASONS)
            self.event(story_id, editor, claimed, "claim", state, "editing")
            self.clock(Step.EDITING, at, asked, editor, story_id=story_id, holder="role:editor")
            self.event(
                story_id,
                editor,
                asked,
                "request_revision",
                "editing",
                "revision_requested",
                reason=reason,
            )
            back = asked + minutes(10, 85, rnd)
            self.clock(
                Step.SUBMISSION,
                asked,
                back,
                reporter,
                story_id=story_id,
                holder=f"person:{reporter}",
            )
            self.event(story_id, reporter, back, "resubmit", "revision_requested", "submitted")
            version, at = 2, back
        while True:
            at, editor = self.edit(story_id, at, editor, version)
            at = self.publish(story_id, number, title, at, reopened=version > 2)
            if rnd.random() < 0.02 and version < 3:  # reopened for a correction
                version = 3
                at = at + minutes(60, 300, rnd)
                self.clock(
                    Step.DOCUMENTATION,
                    self.last_publish,
                    at,
                    editor,
                    story_id=story_id,
                    holder="role:editor",
                    outcome="cancelled",
                )
                self.event(story_id, editor, at, "claim", "published", "editing")
                continue
            break
        archived = self.document(story_id, at, editor)
        self.add_story(story_id, number, title, reporter, submitted, version, None)
        if archived is not None:
            self.rows.archives.append(
                {
                    "story_id": story_id,
                    "status": "archived",
                    "requested_by": editor,
                    "force": False,
                    "requested_at": archived,
                    "checked_at": archived,
                    "archived_at": archived,
                    "checks": {"links": 3, "photos": rnd.randint(1, 4)},
                    "record": {},
                }
            )

    def edit(self, story_id: int, at: datetime, editor: int, version: int) -> tuple[datetime, int]:
        """Claimed and verified: mostly within the 3 hours, 6 % late."""
        rnd = self.rnd
        late = rnd.random() < 0.06
        spent = minutes(185, 420, rnd) if late else minutes(25, 170, rnd)
        claimed = at + minutes(2, min(40, spent.total_seconds() / 60 - 10), rnd)
        verified = at + spent
        if version < 3:
            self.event(story_id, editor, claimed, "claim", "submitted", "editing")
        checklist = {"fakta": editor, "nama": editor, "layak": editor}
        self.event(
            story_id,
            editor,
            verified,
            "verify",
            "editing",
            "verified",
            detail={"checklist": checklist, "version": version},
        )
        self.clock(
            Step.EDITING,
            at,
            verified,
            editor,
            story_id=story_id,
            holder=f"person:{editor}" if late else "role:editor",
        )
        return verified, editor

    def publish(
        self, story_id: int, number: int, title: str, at: datetime, *, reopened: bool
    ) -> datetime:
        """Ordered by an operator (4 % too late, mostly at night); three sites confirm."""
        rnd = self.rnd
        operator = rnd.choice(self.operators)
        hour = (at + WIB).hour
        late = rnd.random() < 0.04 or (hour >= 21 and rnd.random() < 0.5)
        ordered = at + (minutes(125, 600, rnd) if late else minutes(4, 100, rnd))
        self.event(story_id, operator, ordered, "publish", "verified", "publishing")
        done = ordered + timedelta(seconds=rnd.uniform(4, 70))
        slug = "-".join(title.lower().replace(",", "").split())[:80]
        abandoned = None
        for target, pattern in TARGETS.items():
            remote = str(900_000 + number * 3 + len(target))
            result: dict[str, Any] = {
                "permalink": pattern.format(year=2026, month=12, slug=slug, remote=remote),
                "remote_id": remote,
            }
            status, attempts, error = "succeeded", 1, None
            roll = rnd.random()
            if roll < 0.03:  # failed once, then went through
                attempts, error = 2, rnd.choice(PUBLISH_ERRORS[target])
                done += minutes(1, 4, rnd)
            elif roll < 0.04 and target == "infopublik" and not reopened:
                status, attempts = "abandoned", 3
                error = rnd.choice(PUBLISH_ERRORS[target])
                abandoned = rnd.choice(ABANDON_REASONS)
                result = {"reason": abandoned}
                done += minutes(8, 40, rnd)
            self.rows.jobs.append(
                {
                    "kind": "publish",
                    "target": target,
                    "story_id": story_id,
                    "payload": {"round": 4 if not reopened else 9},
                    "status": status,
                    "attempts": attempts,
                    "next_attempt_at": ordered,
                    "created_at": ordered,
                    "done_at": done,
                    "last_error": error,
                    "result": result,
                }
            )
            if abandoned and target == "infopublik":
                self.event(
                    story_id,
                    operator,
                    done,
                    "publish_abandoned",
                    None,
                    None,
                    reason=abandoned,
                    detail={"target": target},
                )
                abandoned = None
        self.event(story_id, None, done, "publish_succeeded", "publishing", "published")
        self.clock(Step.PUBLISHING, at, done, None, story_id=story_id, holder="role:operator")
        self.last_publish = done
        return done

    def document(self, story_id: int, published: datetime, editor: int) -> datetime | None:
        """Archived by H+1 (5 % later); returns when, or None when not yet by NOW."""
        rnd = self.rnd
        due = self.policy.due(Step.DOCUMENTATION, published)
        if rnd.random() < 0.05:
            archived = due + minutes(30, 1800, rnd)
        else:
            archived = published + (due - published) * rnd.uniform(0.05, 0.95)
        self.clock(
            Step.DOCUMENTATION, published, archived, editor, story_id=story_id, holder="role:editor"
        )
        self.event(story_id, editor, archived, "archive", "published", "archived")
        return archived if archived <= NOW else None

    def assignment(self, story_id: int, reporter: int, submitted: datetime) -> None:
        """The story covers an agenda event its reporter was assigned: due an hour after it."""
        rnd = self.rnd
        number = len(self.rows.items) + 1
        late = rnd.random() < 0.12
        ends = submitted - (minutes(62, 150, rnd) if late else minutes(5, 55, rnd))
        starts = ends - minutes(60, 180, rnd)
        self.item(number, starts, ends)
        assigned = starts - timedelta(hours=rnd.uniform(16, 30))
        self.rows.assignments.append(
            {
                "id": number,
                "item_id": number,
                "reporter_id": reporter,
                "status": "covered",
                "assigned_by_id": rnd.choice(self.editors),
                "assigned_at": assigned,
                "answer_due_at": assigned + timedelta(hours=2),
                "answered_at": assigned + minutes(5, 90, rnd),
                "reason": None,
                "story_id": story_id,
            }
        )
        self.clock(
            Step.SUBMISSION,
            ends,
            submitted,
            reporter,
            story_id=None,
            holder=f"person:{reporter}",
            assignment_id=number,
        )

    def declined(self, day: date) -> None:
        """An assignment its reporter turned down after the coverage was already due."""
        rnd = self.rnd
        number = len(self.rows.items) + 1
        starts = local(day, rnd.uniform(8, 13))
        ends = starts + minutes(60, 120, rnd)
        self.item(number, starts, ends)
        reporter = rnd.choice(self.reporters)
        answered = ends + minutes(70, 240, rnd)
        self.rows.assignments.append(
            {
                "id": number,
                "item_id": number,
                "reporter_id": reporter,
                "status": "declined",
                "assigned_by_id": rnd.choice(self.editors),
                "assigned_at": starts - timedelta(hours=20),
                "answer_due_at": starts - timedelta(hours=18),
                "answered_at": answered,
                "reason": rnd.choice(DECLINE_REASONS),
                "story_id": None,
            }
        )
        self.clock(
            Step.SUBMISSION,
            ends,
            answered,
            reporter,
            story_id=None,
            holder=f"person:{reporter}",
            assignment_id=number,
            outcome="cancelled",
        )

    def item(self, number: int, starts: datetime, ends: datetime) -> None:
        rnd = self.rnd
        self.rows.items.append(
            {
                "id": number,
                "number": number,
                "title": f"{rnd.choice(TOPICS)} bersama {rnd.choice(WHO)}",
                "leaders": rnd.choice(WHO),
                "place": rnd.choice(PLACES),
                "starts_at": starts,
                "ends_at": ends,
                "all_day": False,
                "open_end": False,
                "notes": "",
                "source": "command",
                "status": "done",
                "created_by_id": rnd.choice(self.editors),
                "created_at": starts - timedelta(days=1),
                "updated_at": starts - timedelta(days=1),
            }
        )

    def add_story(
        self,
        story_id: int,
        number: int,
        title: str,
        reporter: int,
        submitted: datetime,
        version: int,
        reason: str | None,
    ) -> None:
        self.rows.stories.append(
            {
                "id": story_id,
                "number": number,
                "title": title,
                "state": "submitted",  # set from the audit trail by ``finish``
                "reporter_id": reporter,
                "holder_id": None,
                "current_version": version,
                "origin_channel": "telegram",
                "origin_chat": "-1001234567890",
                "created_at": submitted,
                "updated_at": submitted,
                "last_reason": reason,
                "lock_version": 6,
            }
        )
        for number_of in range(1, version + 1):
            self.rows.versions.append(
                {
                    "story_id": story_id,
                    "number": number_of,
                    "title": title,
                    "body": f"PALANGKA RAYA – {title}.",
                    "author_id": reporter,
                    "created_at": submitted,
                    "note": None,
                }
            )

    def roster(self, days: list[date]) -> None:
        """Two shifts on working days, one on weekends and holidays, in turn; annual leave
        planned with the roster, a sick day recorded on the day (nobody took that shift over),
        and three swaps made on the morning of the day."""
        rnd = self.rnd
        staff = [self.people[key] for key, _name in (*EDITORS, *REPORTERS[:4])]
        made = datetime.combine(MONTH - timedelta(days=5), time(2), UTC)
        annual = {(staff[1], days[14]), (staff[1], days[15]), (staff[1], days[16])}
        turn = 0
        for day in days:
            off = day.weekday() >= 5 or self.policy.calendar.is_day_off(day)
            for shift in SHIFTS["day_off" if off else "weekday"]:
                while (staff[turn % len(staff)], day) in annual:
                    turn += 1
                self.rows.roster.append(
                    {
                        "month": f"{MONTH:%Y-%m}",
                        "day": day.isoformat(),
                        "shift": shift,
                        "person_id": staff[turn % len(staff)],
                        "status": "approved",
                        "updated_by_id": self.editors[0],
                        "updated_at": made,
                    }
                )
                turn += 1
        sick_day = days[21].isoformat()
        sick = next(slot for slot in self.rows.roster if slot["day"] == sick_day)["person_id"]
        for person, day, reason, at in (
            *((person, day, "cuti tahunan", made) for person, day in sorted(annual)),
            (sick, days[21], "sakit", local(days[21], 6.8)),
        ):
            self.rows.leave.append(
                {
                    "person_id": person,
                    "day": day.isoformat(),
                    "reason": reason,
                    "created_by_id": self.editors[0],
                    "created_at": at,
                }
            )
        keys = {person_id: key for key, person_id in self.people.items()}
        others = [slot for slot in self.rows.roster if slot["day"] != sick_day]
        for slot in rnd.sample(others, 3):
            before = slot["person_id"]
            after = rnd.choice([person for person in staff if person != before])
            slot["person_id"] = after
            self.rows.desk_events.append(
                {
                    "at": local(date.fromisoformat(slot["day"]), 6.5),
                    "actor_id": self.editors[0],
                    "kind": "roster",
                    "action": "swap",
                    "day": slot["day"],
                    "detail": {"shift": slot["shift"], "from": keys[before], "to": keys[after]},
                }
            )

    def finish(self) -> Rows:
        """Drop what would happen after NOW; set each story's state and open clocks from it."""
        rows = self.rows
        rows.events = sorted((e for e in rows.events if e["at"] <= NOW), key=lambda e: e["at"])
        state: dict[int, str] = {}
        for event in rows.events:
            if event["to_state"]:
                state[event["story_id"]] = event["to_state"]
        for story in rows.stories:
            story["state"] = state[story["id"]]
        kept = []
        for row in rows.clocks:
            if row["started_at"] > NOW:
                continue
            if row["finished_at"] is not None and row["finished_at"] > NOW:
                row.update(outcome="open", finished_at=None, finished_by_id=None)
            end = row["finished_at"] or NOW
            if end > row["due_at"]:
                row["breached_at"] = row["due_at"]
            else:
                row["held_by"] = None
            kept.append(row)
        rows.clocks = sorted(kept, key=lambda row: row["started_at"])
        rows.jobs = sorted(
            (j for j in rows.jobs if j["created_at"] <= NOW), key=lambda job: job["created_at"]
        )
        for job in rows.jobs:
            if job["done_at"] > NOW:
                job.update(status="in_progress", done_at=None, result={})
        return rows


def month_days() -> list[date]:
    following = (MONTH + timedelta(days=32)).replace(day=1)
    return [MONTH + timedelta(days=n) for n in range((following - MONTH).days)]


def submissions(count: int, rnd: random.Random, policy: SlaPolicy) -> Iterator[datetime]:
    """``count`` submission times over the month, busier on working days and in the day."""
    days = month_days()
    weight = {
        day: 0.45 if day.weekday() >= 5 or policy.calendar.is_day_off(day) else 1.0 for day in days
    }
    total = sum(weight.values())
    times = []
    for day in days:
        for _ in range(round(count * weight[day] / total)):
            times.append(local(day, min(23.9, max(6.0, rnd.gauss(13, 3.5)))))
    while len(times) < count:
        times.append(local(rnd.choice(days), rnd.uniform(8, 17)))
    yield from sorted(times[:count])


def plan_month(policy: SlaPolicy, people: dict[str, int], stories: int) -> Rows:
    desk = DeskMonth(policy, people)
    rnd = random.Random(SEED + 1)
    rate = stories / len(month_days())
    earlier = [
        local(MONTH - timedelta(days=day), rnd.uniform(8, 22))
        for day in range(EARLIER_DAYS, 0, -1)
        for _ in range(round(rate))
    ]
    for submitted in sorted(earlier):
        desk.story(submitted)
    for submitted in submissions(stories, rnd, policy):
        desk.story(submitted)
    for day in rnd.sample(month_days()[:-1], max(1, stories // 600)):
        desk.declined(day)
    desk.roster(month_days())
    return desk.finish()


def seed(db: Database, policy: SlaPolicy, stories: int) -> Rows:
    """Write the month straight into the tables, in one transaction."""
    upgrade(db)
    with db.transaction() as session:
        connection = session.connection()
        people = [(SECTION_HEAD, ("section_head", "editor"))]
        people += [(who, ("editor",)) for who in EDITORS]
        people += [(who, ("operator",)) for who in OPERATORS]
        people += [(who, ("reporter",)) for who in REPORTERS]
        table = Person.__table__  # type: ignore[attr-defined]
        connection.execute(
            table.insert(),
            [{"key": key, "name": name, "active": True} for (key, name), _ in people],
        )
        ids = dict(connection.execute(text("SELECT key, id FROM person")).all())
        connection.execute(
            PersonRole.__table__.insert(),  # type: ignore[attr-defined]
            [
                {"person_id": ids[key], "role": role}
                for (key, _n), roles in people
                for role in roles
            ],
        )
        rows = plan_month(policy, ids, stories)
        for model, batch in (
            (Story, rows.stories),
            (StoryVersion, rows.versions),
            (AgendaItem, rows.items),
            (Assignment, rows.assignments),
            (AuditEvent, rows.events),
            (SlaClock, rows.clocks),
            (OutboxItem, rows.jobs),
            (StoryArchive, rows.archives),
            (RosterSlot, rows.roster),
            (Leave, rows.leave),
            (DeskEvent, rows.desk_events),
        ):
            if batch:
                connection.execute(model.__table__.insert(), batch)  # type: ignore[attr-defined]
    with db.engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    return rows


# -- measuring --------------------------------------------------------------------------------


@dataclass
class Figures:
    stories: int
    seeded_s: float
    rows: dict[str, int]
    first_s: float
    """The first whole report in this process: WeasyPrint's import and font lookup included."""
    whole_s: list[float]
    bare_s: list[float]
    """The baseline: the whole report without its PDF."""
    gather_s: float
    html_s: float
    pdf_s: float
    csv_s: float
    before_s: float
    """The browser page printed as ``render_pdf`` printed it before (see the module's doc)."""
    pages: int
    before_pages: int
    html_kb: float
    pdf_kb: float
    published: int
    breaches: int
    links: int
    """Links to a published story's site in the PDF."""
    expected_links: int


def timed(run: Callable[[], _T]) -> tuple[float, _T]:
    """How long ``run`` takes, started after a full collection (as a fresh command is)."""
    gc.collect()
    began = clock.perf_counter()
    result = run()
    return clock.perf_counter() - began, result


def printed_as_before(html: str) -> bytes:
    """The page printed as ``render_pdf`` printed it before this bench's round: every link an
    element WeasyPrint lays out, the cycle collector running."""
    load_weasyprint()
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols=("data",), fail_on_errors=True)
    return bytes(HTML(string=html, url_fetcher=fetcher).write_pdf())


def site_links(pdf: Path) -> int:
    """The PDF's links to a web address (the report has no other kind)."""
    return sum(
        1
        for page in PdfReader(pdf).pages
        for annotation in page.get("/Annots") or ()
        if "/URI" in annotation.get_object().get("/A", {})
    )


def measure(db: Database, policy: SlaPolicy, stories: int, folder: Path, repeat: int) -> Figures:
    seeded_s, rows = timed(lambda: seed(db, policy, stories))
    counts = {
        "events": len(rows.events),
        "clocks": len(rows.clocks),
        "publish jobs": len(rows.jobs),
        "agenda items": len(rows.items),
        "roster slots": len(rows.roster),
    }
    del rows  # the reports below run without the seeding's rows in memory

    def whole(out: str, *, pdf: bool = True) -> float:
        spent, _files = timed(
            lambda: make_report(
                db, month=MONTH, out_dir=folder / out, policy=policy, now=NOW, pdf=pdf
            )
        )
        return spent

    first_s = whole("first")
    whole_s = [whole(f"whole-{n}") for n in range(repeat)]
    bare_s = [whole(f"bare-{n}", pdf=False) for n in range(repeat)]
    # The parts, one by one, as make_report runs them.
    gather_s, report = timed(lambda: gather(db, month=MONTH, policy=policy, now=NOW))
    html_s, html = timed(lambda: render_html(report))
    links = print_links(report)
    pdf_s, pdf = timed(lambda: render_pdf(render_html(report, links=links), links=links))
    csv_s, _tables = timed(lambda: (stories_csv(report), breaches_csv(report), roster_csv(report)))
    before_s, before = timed(lambda: printed_as_before(html))
    (folder / "report.pdf").write_bytes(pdf)
    (folder / "before.pdf").write_bytes(before)
    return Figures(
        stories=report.summary.covered,
        seeded_s=seeded_s,
        rows=counts,
        first_s=first_s,
        whole_s=whole_s,
        bare_s=bare_s,
        gather_s=gather_s,
        html_s=html_s,
        pdf_s=pdf_s,
        csv_s=csv_s,
        before_s=before_s,
        pages=len(PdfReader(folder / "report.pdf").pages),
        before_pages=len(PdfReader(folder / "before.pdf").pages),
        html_kb=len(html.encode()) / 1024,
        pdf_kb=len(pdf) / 1024,
        published=len(report.publications),
        breaches=len(report.breaches),
        links=site_links(folder / "report.pdf"),
        expected_links=sum(1 for item in report.publications for link in item.links if link.url),
    )


def report(figures: Figures) -> bool:
    whole = statistics.median(figures.whole_s)
    bare = statistics.median(figures.bare_s)
    rows = ", ".join(f"{count:,} {name}" for name, count in figures.rows.items())
    print(
        f"\n{figures.stories:,} stories in {MONTH:%B %Y} ({figures.published:,} published, "
        f"{figures.breaches:,} missed deadlines); seeded in {figures.seeded_s:.1f} s\n  ({rows})"
    )
    print(
        f"  whole report, first in the process: {figures.first_s:6.2f} s  "
        "(with WeasyPrint's import and first font lookup)"
    )
    print(
        f"  whole report (make_report):         {whole:6.2f} s  "
        f"(runs: {', '.join(f'{s:.2f}' for s in figures.whole_s)})"
    )
    print(f"    gather (read + compute):          {figures.gather_s:6.2f} s")
    print(
        f"    HTML (render_html, charts):       {figures.html_s:6.2f} s  "
        f"({figures.html_kb:,.0f} KB)"
    )
    print(
        f"    PDF (printed page, render_pdf):   {figures.pdf_s:6.2f} s  ({figures.pages} pages, "
        f"{figures.pdf_s / figures.pages * 1000:.0f} ms a page, {figures.pdf_kb:,.0f} KB; "
        f"{figures.links:,} of {figures.expected_links:,} site links)"
    )
    print(f"    CSV (three files):                {figures.csv_s:6.2f} s")
    print(
        f"  baseline, report without its PDF:   {bare:6.2f} s  "
        f"(ratio whole/baseline {whole / bare:.1f}x)"
    )
    print(
        f"  browser page printed as before:     {figures.before_s:6.2f} s  "
        f"({figures.before_pages} pages; ratio before/PDF {figures.before_s / figures.pdf_s:.1f}x)"
    )
    if figures.links != figures.expected_links:
        print("  the PDF lacks site links: see above")
    worst = max(figures.first_s, whole)
    met = worst < TARGET_SECONDS and figures.links == figures.expected_links
    print(
        f"  target (whole report < {TARGET_SECONDS:.0f} s, first run included): "
        f"{'met' if met else 'NOT met'}"
    )
    return met


def run_month_report(stories: int, *, repeat: int = 1) -> bool:
    """Seed a month of ``stories`` on SQLite in a temporary folder, time its report, print the
    figures; True when the whole report took under the target."""
    with tempfile.TemporaryDirectory(prefix="warta-bench-report-") as name:
        folder = Path(name)
        url = f"sqlite:///{folder / 'warta.db'}"
        settings = Settings.model_validate({"data_dir": str(folder), "database_url": url})
        db = Database(url)
        try:
            return report(measure(db, settings.sla_policy(), stories, folder, repeat))
        finally:
            db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=None, help=f"({DEFAULT_STORIES:,})")
    parser.add_argument(
        "--small", action="store_true", help=f"{SMALL_STORIES} stories (CI's smoke run)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="whole reports to time (1)")
    args = parser.parse_args(argv)
    stories = args.stories or (SMALL_STORIES if args.small else DEFAULT_STORIES)
    if stories < 50 or args.repeat < 1:
        parser.error("at least 50 stories and one repeat")
    met = run_month_report(stories, repeat=args.repeat)
    return 0 if met or args.small else 1


if __name__ == "__main__":
    sys.exit(main())
