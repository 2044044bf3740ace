"""The record of stories handed over on request: a folder (or a .zip of it) that opens offline.

An export holds ``index.html`` (the stories), ``record.json`` (what was exported, when, by
which Warta), a short read-me, and per story ``cerita-<n>/`` with ``index.html`` (the final
text, every version, the photos, the agenda item and assignment it covered, the permalinks,
the time each step took and the audit trail), ``cerita.json`` (the same, for machines) and
``naskah.txt`` (the final text). Photos are copied under generated names (``foto/foto-1.jpg``)
with their sha256. Every link inside is relative; nothing is fetched from the network, and
no path of the machine that made it is written anywhere.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path, PurePosixPath
from types import SimpleNamespace
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined, UndefinedError
from markupsafe import Markup
from sqlmodel import Session, col, select

from handlers.render import Renderer, humanize_duration, zone_label
from storage import repo
from storage.db import Database
from storage.media import FILENAME_PREFIXES, safe_filename
from storage.models import (
    AgendaItem,
    Assignment,
    AuditEvent,
    Media,
    OutboxItem,
    Person,
    SlaClock,
    Story,
    StoryVersion,
)

Locale = Literal["id", "en"]

TEMPLATES = Path(__file__).parent / "templates"
FORMAT = "warta-record"
FORMAT_VERSION = 1
CHUNK = 1024 * 1024
SHOWN_IMAGES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
"""Photo types every browser shows; other photos (HEIC) are linked for download instead."""
PRIVATE_DETAIL = frozenset({"sender", "chat", "address", "recipient"})
"""Audit details that name a chat address or phone number: kept out of a handed-over record."""
WEB_SCHEMES = frozenset({"http", "https"})


class ExportError(Exception):
    """Nothing can be exported as asked. ``reason`` is ``no_story`` (nothing matched),
    ``missing`` (``numbers`` do not exist) or ``exists`` (``path`` is already there); the
    message is English, for logs: the caller says it to people in their language."""

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        numbers: tuple[int, ...] = (),
        path: Path | None = None,
    ) -> None:
        super().__init__(message)
        self.reason, self.numbers, self.path = reason, numbers, path


# -- words -----------------------------------------------------------------------------------

LABELS: Mapping[str, Mapping[str, str]] = {
    "id": {
        "record": "Berkas berita",
        "exported": "Diekspor",
        "scope": "Cakupan",
        "scope_all": "semua berita",
        "scope_month": "berita yang masuk pada {month}",
        "scope_stories": "berita {numbers}",
        "count": "{n} berita",
        "number": "Nomor",
        "title": "Judul",
        "reporter": "Reporter",
        "received": "Diterima",
        "published": "Terbit",
        "state": "Status",
        "links": "Tautan",
        "open": "buka berkas",
        "back": "← Daftar berita",
        "final_text": "Naskah akhir",
        "version": "Versi",
        "versions": "Riwayat versi",
        "version_by": "oleh {author}, {when}",
        "photos": "Foto",
        "no_photos": "Tidak ada foto.",
        "attachments": "Lampiran",
        "download": "unduh",
        "file_missing": "berkas tidak ditemukan di penyimpanan",
        "file_altered": "isi berkas tidak cocok dengan sidik sha256 yang tercatat",
        "agenda": "Agenda dan penugasan",
        "no_agenda": "Berita ini tidak terhubung ke agenda.",
        "agenda_item": "Agenda",
        "agenda_when": "Waktu",
        "agenda_leaders": "Pimpinan",
        "agenda_place": "Tempat",
        "assignment": "Penugasan",
        "assigned_by": "ditugaskan oleh {who}, {when}",
        "answered": "dijawab {when}",
        "publications": "Tautan terbit",
        "no_publications": "Belum diterbitkan.",
        "site": "Situs",
        "address": "Alamat",
        "local_copy": "salinan di folder server: {name}",
        "steps": "Waktu tiap tahap",
        "no_steps": "Belum ada tahap yang tercatat.",
        "step": "Tahap",
        "started": "Mulai",
        "due": "Batas waktu",
        "finished": "Selesai",
        "took": "Lama",
        "result": "Hasil",
        "running": "masih berjalan",
        "on_time": "tepat waktu",
        "late_by": "terlambat {late}",
        "stopped": "dihentikan",
        "audit": "Jejak audit",
        "when": "Waktu",
        "who": "Oleh",
        "action": "Tindakan",
        "states": "Status",
        "note": "Keterangan",
        "files": "Berkas",
        "text_file": "naskah (teks)",
        "json_file": "data (JSON)",
        "record_file": "data ekspor (JSON)",
        "warta": "Warta",
        "none": "—",
        "footer": "Dibuat oleh Warta {version} pada {when}. Dapat dibuka tanpa internet.",
    },
    "en": {
        "record": "News record",
        "exported": "Exported",
        "scope": "Scope",
        "scope_all": "every story",
        "scope_month": "stories received in {month}",
        "scope_stories": "stories {numbers}",
        "count": "{n} stories",
        "number": "Number",
        "title": "Title",
        "reporter": "Reporter",
        "received": "Received",
        "published": "Published",
        "state": "State",
        "links": "Links",
        "open": "open record",
        "back": "← All stories",
        "final_text": "Final text",
        "version": "Version",
        "versions": "Versions",
        "version_by": "by {author}, {when}",
        "photos": "Photos",
        "no_photos": "No photos.",
        "attachments": "Attachments",
        "download": "download",
        "file_missing": "file not found in the media store",
        "file_altered": "the file does not match its recorded sha256",
        "agenda": "Agenda and assignment",
        "no_agenda": "This story is not linked to the agenda.",
        "agenda_item": "Agenda item",
        "agenda_when": "When",
        "agenda_leaders": "Leaders",
        "agenda_place": "Place",
        "assignment": "Assignment",
        "assigned_by": "assigned by {who}, {when}",
        "answered": "answered {when}",
        "publications": "Published links",
        "no_publications": "Not published yet.",
        "site": "Site",
        "address": "Address",
        "local_copy": "copy in a server folder: {name}",
        "steps": "Time each step took",
        "no_steps": "No step recorded yet.",
        "step": "Step",
        "started": "Started",
        "due": "Deadline",
        "finished": "Finished",
        "took": "Took",
        "result": "Result",
        "running": "still running",
        "on_time": "on time",
        "late_by": "{late} late",
        "stopped": "stopped",
        "audit": "Audit trail",
        "when": "When",
        "who": "By",
        "action": "Action",
        "states": "State",
        "note": "Note",
        "files": "Files",
        "text_file": "text",
        "json_file": "data (JSON)",
        "record_file": "export data (JSON)",
        "warta": "Warta",
        "none": "—",
        "footer": "Made by Warta {version} on {when}. These pages open without the internet.",
    },
}

EVENTS: Mapping[str, Mapping[str, str]] = {
    "id": {
        "submit": "mengirim liputan",
        "amend": "mengubah kiriman",
        "claim": "mengambil untuk disunting",
        "release": "melepas berita",
        "add_version": "menyimpan versi baru",
        "verify": "memverifikasi",
        "request_revision": "mengembalikan untuk revisi",
        "resubmit": "mengirim perbaikan",
        "spike": "membatalkan",
        "publish": "memerintahkan terbit",
        "publish_succeeded": "terbit di semua situs",
        "archive": "mengarsipkan",
        "copy_received": "salinan liputan diterima",
        "media_added": "menambah foto atau berkas",
        "publish_retry": "mengulang penerbitan",
        "publish_abandoned": "mengabaikan satu situs",
        "publish_reported": "melaporkan alamat terbit",
        "refused": "perintah ditolak",
        "forged_button": "tombol palsu ditolak",
    },
    "en": {
        "submit": "submitted the coverage",
        "amend": "amended the submission",
        "claim": "claimed it for editing",
        "release": "released it",
        "add_version": "saved a new version",
        "verify": "verified it",
        "request_revision": "sent it back for revision",
        "resubmit": "resubmitted it",
        "spike": "spiked it",
        "publish": "ordered publishing",
        "publish_succeeded": "published on every site",
        "archive": "archived it",
        "copy_received": "a copy of the coverage arrived",
        "media_added": "added photos or files",
        "publish_retry": "retried publishing",
        "publish_abandoned": "gave up on one site",
        "publish_reported": "reported the published address",
        "refused": "a command was refused",
        "forged_button": "a forged button was refused",
    },
}

STATUSES: Mapping[str, Mapping[str, str]] = {
    "id": {
        "succeeded": "terbit",
        "failed": "gagal",
        "waiting": "menunggu alamat",
        "abandoned": "diabaikan",
        "pending": "antre",
        "in_progress": "sedang dikirim",
        "retrying": "dicoba lagi",
        "planned": "terjadwal",
        "cancelled": "batal",
        "offered": "ditawarkan",
        "accepted": "diterima",
        "declined": "ditolak",
        "covered": "diliput",
    },
    "en": {
        "succeeded": "published",
        "failed": "failed",
        "waiting": "waiting for the address",
        "abandoned": "abandoned",
        "pending": "queued",
        "in_progress": "being sent",
        "retrying": "retrying",
        "planned": "planned",
        "cancelled": "cancelled",
        "offered": "offered",
        "accepted": "accepted",
        "declined": "declined",
        "covered": "covered",
    },
}

DETAIL_WORDS: Mapping[str, Mapping[str, str]] = {
    "id": {
        "version": "versi",
        "checklist": "daftar periksa",
        "target": "situs",
        "targets": "situs",
        "url": "alamat",
        "count": "jumlah",
        "photos": "foto",
        "channel": "kanal",
        "outcome": "hasil",
        "text": "teks",
        "button": "tombol",
        "reason": "alasan",
        "true": "ya",
        "false": "tidak",
    },
    "en": {"true": "yes", "false": "no"},
}
"""How an audit row's detail is labelled (keys not listed are shown as they are)."""

READ_ME: Mapping[str, tuple[str, str]] = {
    "id": (
        "BACA-SAYA.txt",
        """Berkas berita dari Warta, Media Center
=====================================

Buka index.html dengan peramban (Chrome, Firefox, Edge). Semua halaman dapat dibuka tanpa
internet; tidak ada yang diambil dari luar folder ini.

Isi folder:
  index.html            daftar berita: nomor, judul, reporter, tanggal, status, tautan
  record.json           kapan diekspor, cakupan, jumlah, versi Warta
  cerita-<nomor>/
    index.html          naskah akhir, semua versi (penulis dan waktu), foto, agenda dan
                        penugasan, tautan terbit tiap situs, waktu tiap tahap, jejak audit
    cerita.json         data yang sama untuk mesin (waktu ISO 8601 dengan zona waktu)
    naskah.txt          naskah akhir, teks biasa
    foto/               foto berita dengan nama buatan Warta (foto-1.jpg, …); sidik
                        sha256 tiap foto tercatat di cerita.json

Waktu ditulis dalam zona {zone}. Foto disimpan dengan nama buatan Warta; nama berkas
dari pengirim tidak dipakai.
""",
    ),
    "en": (
        "README.txt",
        """News record from Warta, Media Center
===================================

Open index.html in a browser (Chrome, Firefox, Edge). Every page opens without the
internet; nothing is fetched from outside this folder.

Contents:
  index.html            the stories: number, title, reporter, dates, state, links
  record.json           when it was exported, the scope, counts, the Warta version
  cerita-<number>/
    index.html          the final text, every version (author and time), the photos, the
                        agenda item and assignment, each site's published link, the time
                        each step took, the audit trail
    cerita.json         the same for machines (ISO 8601 times with their offset)
    naskah.txt          the final text, plain
    foto/               the story's photos under names Warta made (foto-1.jpg, …); each
                        photo's sha256 is in cerita.json

Times are in the {zone} time zone. Photos are stored under names Warta made; the names
files were sent with are not used.
""",
    ),
}

STYLE = Markup(
    """
:root { color-scheme: light; --ink: #1d2430; --muted: #5b6473; --line: #d8dde5;
  --accent: #0b5cad; --soft: #f3f6fa; --late: #a4261b; --ok: #1c6b33; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--ink); background: #fff; }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: .5rem 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1.2rem; margin: 2rem 0 .75rem; padding-bottom: .25rem;
  border-bottom: 2px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1rem 0 .5rem; overflow-wrap: anywhere; }
a { color: var(--accent); }
nav { font-size: .95rem; }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
.meta dt { color: var(--muted); }
.meta dd { margin: 0; overflow-wrap: anywhere; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; background: var(--soft);
  border-left: 4px solid var(--accent); padding: .75rem 1rem; margin: 0; }
table { border-collapse: collapse; width: 100%; font-size: .95rem; }
th, td { text-align: left; vertical-align: top; padding: .4rem .5rem;
  border-bottom: 1px solid var(--line); overflow-wrap: break-word; }
th { background: var(--soft); font-weight: 600; white-space: nowrap; }
caption { text-align: left; color: var(--muted); padding: .25rem 0; }
.url { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .9rem;
  user-select: all; overflow-wrap: anywhere; }
.muted { color: var(--muted); }
.late { color: var(--late); font-weight: 600; }
.ok { color: var(--ok); }
.photos { display: grid; grid-template-columns: repeat(auto-fill, minmax(14rem, 1fr));
  gap: 1rem; }
figure { margin: 0; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { font-size: .9rem; color: var(--muted); overflow-wrap: anywhere; }
details { border: 1px solid var(--line); border-radius: 4px; margin: .5rem 0;
  padding: .25rem .75rem; }
summary { cursor: pointer; font-weight: 600; }
footer { margin-top: 3rem; font-size: .85rem; color: var(--muted); }
@media print {
  nav { display: none; }
  details { border: none; padding: 0; }
  a { color: inherit; text-decoration: none; }
  h2 { break-after: avoid; }
  figure, tr { break-inside: avoid; }
}
"""
)


# -- what is read from the database ----------------------------------------------------------


@dataclass
class _Rows:
    """One story and every row of its record, read in one transaction."""

    story: Story
    versions: Sequence[StoryVersion]
    media: Sequence[Media]
    audit: Sequence[AuditEvent]
    publish_jobs: Sequence[OutboxItem]
    clocks: Sequence[SlaClock]
    assignment: Assignment | None
    agenda: AgendaItem | None


@dataclass
class _Copied:
    """A media file as placed in the export (``relative`` to the story folder)."""

    media: Media
    relative: str | None
    sha256: str | None
    status: str
    """``ok``, ``missing`` (no file in the store) or ``altered`` (its hash changed)."""
    shown: bool = False


@dataclass
class _Export:
    tz: ZoneInfo
    locale: Locale
    now: datetime
    people: dict[int, str]
    words: SimpleNamespace
    states: Renderer
    pages: Environment
    stories: list[dict[str, Any]] = field(default_factory=list)


# -- the public entry point ------------------------------------------------------------------


def export_record(
    db: Database,
    media_root: Path,
    *,
    out: Path,
    story_numbers: list[int] | None = None,
    month: date | None = None,
    tz: ZoneInfo,
    locale: Locale = "id",
    as_zip: bool = False,
    now: datetime | None = None,
) -> Path:
    """Write the record of the chosen stories into folder ``out`` and return its path.

    The stories are those numbered ``story_numbers`` and/or received in ``month`` (local
    dates in ``tz``; any day of the month will do); neither means every story. The export is
    ``out/berkas-cerita-12``, ``out/berkas-2026-11`` or ``out/berkas-semua`` (``.zip`` with
    ``as_zip``). Raises :class:`ExportError` when no story matches, a numbered story does
    not exist, or the export is already there.
    """
    if locale not in LABELS:
        raise ValueError(f"locale must be one of {', '.join(LABELS)}, not {locale!r}")
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    numbers = sorted(set(story_numbers)) if story_numbers is not None else None
    name = export_name(numbers, month)
    final = out / (f"{name}.zip" if as_zip else name)
    if final.exists():
        raise ExportError("exists", f"{final.name} already exists in the output folder", path=final)
    with db.transaction() as session:
        rows = _read(session, numbers, month, tz)
        people = {p.id or 0: p.name for p in session.exec(select(Person)).all()}
    out.mkdir(parents=True, exist_ok=True)
    export = _Export(
        tz=tz,
        locale=locale,
        now=moment,
        people=people,
        words=SimpleNamespace(**LABELS[locale]),
        states=Renderer(tz=tz, default_locale=locale),
        pages=_environment(tz, locale),
    )
    with tempfile.TemporaryDirectory(dir=out, prefix=f".{name}-") as work:
        folder = Path(work) / name
        folder.mkdir()
        for story_rows in rows:
            _write_story(export, folder, story_rows, media_root)
        _write_index(export, folder, numbers=numbers, month=month)
        if as_zip:
            partial = Path(work) / f"{name}.zip"
            _zip(folder, partial, moment.astimezone(tz))
            os.replace(partial, final)
        else:
            folder.rename(final)
    return final


def export_name(story_numbers: Sequence[int] | None, month: date | None) -> str:
    """The export's folder name: ``berkas-cerita-12``, ``berkas-2026-11``, ``berkas-semua``."""
    parts = ["berkas"]
    if month is not None:
        parts.append(f"{month:%Y-%m}")
    if story_numbers:
        shown = [str(n) for n in story_numbers[:5]]
        parts.append("cerita-" + "-".join(shown) + ("-dll" if len(story_numbers) > 5 else ""))
    if len(parts) == 1:
        parts.append("semua")
    return "-".join(parts)


# -- reading ---------------------------------------------------------------------------------


def month_bounds(month: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The first moment of ``month`` and of the month after, local in ``tz``, as UTC."""
    start = datetime(month.year, month.month, 1, tzinfo=tz)
    after = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=tz)
    return start.astimezone(UTC), after.astimezone(UTC)


def _read(
    session: Session, numbers: list[int] | None, month: date | None, tz: ZoneInfo
) -> list[_Rows]:
    query = select(Story).order_by(col(Story.number))
    if numbers is not None:
        query = query.where(col(Story.number).in_(numbers))
    if month is not None:
        start, after = month_bounds(month, tz)
        query = query.where(Story.created_at >= start, Story.created_at < after)
    stories = session.exec(query).all()
    if numbers is not None and month is None:
        missing = tuple(sorted(set(numbers) - {story.number for story in stories}))
        if missing:
            listed = ", ".join(f"#{n}" for n in missing)
            raise ExportError("missing", f"no story {listed}", numbers=missing)
    if not stories:
        raise ExportError("no_story", "no story matches the export's scope")
    return [_rows_of(session, story) for story in stories]


def _rows_of(session: Session, story: Story) -> _Rows:
    story_id = story.id or 0
    assignment = session.exec(
        select(Assignment)
        .where(Assignment.story_id == story_id)
        .order_by(col(Assignment.id).desc())
    ).first()
    agenda = session.get(AgendaItem, assignment.item_id) if assignment is not None else None
    clocks = list(session.exec(select(SlaClock).where(SlaClock.story_id == story_id)).all())
    if assignment is not None:
        clocks += session.exec(
            select(SlaClock).where(SlaClock.assignment_id == assignment.id)
        ).all()
    clocks.sort(key=lambda clock: (clock.started_at, clock.id or 0))
    jobs = session.exec(
        select(OutboxItem)
        .where(OutboxItem.kind == "publish", OutboxItem.story_id == story_id)
        .order_by(col(OutboxItem.id))
    ).all()
    return _Rows(
        story=story,
        versions=repo.versions(session, story_id),
        media=repo.media_of(session, story_id),
        audit=repo.audit_trail(session, story_id),
        publish_jobs=jobs,
        clocks=clocks,
        assignment=assignment,
        agenda=agenda,
    )


# -- one story -------------------------------------------------------------------------------


def _write_story(export: _Export, folder: Path, rows: _Rows, media_root: Path) -> None:
    number = rows.story.number
    story_folder = folder / f"cerita-{number}"
    story_folder.mkdir()
    copied = _copy_media(rows.media, media_root, story_folder)
    record = _story_record(export, rows, copied)
    export.stories.append(record)
    _write_json(story_folder / "cerita.json", record, export.tz)
    final = record["final"]
    (story_folder / "naskah.txt").write_text(
        f"{final['title']}\n\n{final['body'].strip()}\n", encoding="utf-8"
    )
    shown = {c.relative for c in copied if c.shown}
    page = _render(export, "export_story.html.j2", story=record, shown=shown)
    (story_folder / "index.html").write_text(page, encoding="utf-8")


def _copy_media(media: Sequence[Media], media_root: Path, story_folder: Path) -> list[_Copied]:
    """Copy the story's files under generated names, checking each against its sha256."""
    copied: list[_Copied] = []
    counts: dict[str, int] = {}
    for row in media:
        prefix = FILENAME_PREFIXES.get(row.kind, "berkas")
        counts[prefix] = counts.get(prefix, 0) + 1
        subfolder = "foto" if row.kind == "photo" else "lampiran"
        name = safe_filename(None, mime=row.mime, index=counts[prefix], prefix=prefix)
        source = _stored(media_root, row.stored_path)
        if source is None or not source.is_file():
            copied.append(_Copied(row, None, None, "missing"))
            continue
        target = story_folder / subfolder / name
        target.parent.mkdir(exist_ok=True)
        digest = _copy_hashing(source, target)
        copied.append(
            _Copied(
                row,
                f"{subfolder}/{name}",
                digest,
                "ok" if digest == row.sha256 else "altered",
                shown=row.kind == "photo" and row.mime in SHOWN_IMAGES,
            )
        )
    return copied


def _stored(media_root: Path, stored_path: str) -> Path | None:
    """The file a media row names, or None when the name would leave the media folder."""
    relative = PurePosixPath(stored_path)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        return None
    return media_root.joinpath(*relative.parts)


def _copy_hashing(source: Path, target: Path) -> str:
    digest = hashlib.sha256()
    with source.open("rb") as reader, target.open("wb") as writer:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
            writer.write(chunk)
    return digest.hexdigest()


def _story_record(export: _Export, rows: _Rows, copied: Sequence[_Copied]) -> dict[str, Any]:
    """Everything about one story, as plain data: ``cerita.json`` and the page both use it."""
    story, people, locale = rows.story, export.people, export.locale
    final = next((v for v in rows.versions if v.number == story.current_version), rows.versions[-1])
    published = [event.at for event in rows.audit if event.event == "publish_succeeded"]
    return {
        "format": f"{FORMAT}-story",
        "format_version": FORMAT_VERSION,
        "number": story.number,
        "title": story.title,
        "folder": f"cerita-{story.number}",
        "state": story.state,
        "state_label": _state_name(export, story.state),
        "reporter": people.get(story.reporter_id),
        "created_at": story.created_at,
        "updated_at": story.updated_at,
        "first_published_at": published[0] if published else None,
        "last_published_at": published[-1] if published else None,
        "current_version": story.current_version,
        "final": _version(final, people),
        "versions": [_version(version, people) for version in rows.versions],
        "photos": [_file(c) for c in copied if c.media.kind == "photo"],
        "attachments": [_file(c) for c in copied if c.media.kind != "photo"],
        "agenda": _agenda(rows.agenda, locale),
        "assignment": _assignment(rows.assignment, people, locale),
        "publications": _publications(rows.publish_jobs, locale),
        "steps": [_step(export, clock) for clock in rows.clocks],
        "audit": [_audit(export, event) for event in rows.audit],
    }


def _version(version: StoryVersion, people: Mapping[int, str]) -> dict[str, Any]:
    return {
        "number": version.number,
        "title": version.title,
        "body": version.body,
        "author": people.get(version.author_id) if version.author_id is not None else None,
        "created_at": version.created_at,
        "note": version.note,
    }


def _file(copied: _Copied) -> dict[str, Any]:
    media = copied.media
    return {
        "file": copied.relative,
        "sha256": media.sha256,
        "sha256_of_copy": copied.sha256,
        "status": copied.status,
        "mime": media.mime,
        "size": media.size,
        "caption": media.caption,
        "added_at": media.created_at,
    }


def _agenda(item: AgendaItem | None, locale: str) -> dict[str, Any] | None:
    if item is None:
        return None
    return {
        "number": item.number,
        "ref": f"A{item.number}",
        "title": item.title,
        "leaders": item.leaders,
        "place": item.place,
        "starts_at": item.starts_at,
        "ends_at": item.ends_at,
        "all_day": item.all_day,
        "status": item.status,
        "status_label": STATUSES[locale].get(item.status, item.status),
    }


def _assignment(
    assignment: Assignment | None, people: Mapping[int, str], locale: str
) -> dict[str, Any] | None:
    if assignment is None:
        return None
    by = assignment.assigned_by_id
    return {
        "reporter": people.get(assignment.reporter_id),
        "status": assignment.status,
        "status_label": STATUSES[locale].get(assignment.status, assignment.status),
        "assigned_by": people.get(by) if by is not None else None,
        "assigned_at": assignment.assigned_at,
        "answered_at": assignment.answered_at,
        "reason": assignment.reason,
    }


def _publications(jobs: Sequence[OutboxItem], locale: str) -> list[dict[str, Any]]:
    """Per target, in the order first published: the newest job's status and the newest
    permalink (a correction updates the same post, so the link stays)."""
    by_target: dict[str, list[OutboxItem]] = {}
    for job in jobs:
        by_target.setdefault(job.target or "", []).append(job)
    listed = []
    for target, target_jobs in by_target.items():
        latest = target_jobs[-1]
        linked = [job for job in target_jobs if job.result.get("permalink")]
        permalink, local_copy = _public_link(str(linked[-1].result["permalink"]) if linked else "")
        listed.append(
            {
                "target": target,
                "status": latest.status,
                "status_label": STATUSES[locale].get(latest.status, latest.status),
                "permalink": permalink,
                "local_copy": local_copy,
                "reported_by_hand": bool(linked and linked[-1].result.get("reported")),
                "published_at": linked[-1].done_at if linked else None,
                "rounds": len({int(job.payload.get("round", 0)) for job in target_jobs}),
            }
        )
    return listed


def _public_link(permalink: str) -> tuple[str | None, str | None]:
    """A web address is kept; a folder target's ``file://`` link names a path on the server,
    of no use to the reader and not to be handed out: only its last folder is kept."""
    if not permalink:
        return None, None
    parts = urlsplit(permalink)
    if parts.scheme.lower() in WEB_SCHEMES:
        return permalink, None
    path = PurePosixPath(parts.path)
    name = path.parent.name if path.name == "index.html" else path.name
    return None, name or "?"


def _step(export: _Export, clock: SlaClock) -> dict[str, Any]:
    finished = clock.finished_at
    took = (finished - clock.started_at) if finished is not None else None
    late = finished - clock.due_at if finished is not None and finished > clock.due_at else None
    if clock.outcome == "open" and export.now > clock.due_at:
        late = export.now - clock.due_at
    by = clock.finished_by_id
    return {
        "step": clock.step,
        "step_label": _step_name(export, clock.step),
        "started_at": clock.started_at,
        "due_at": clock.due_at,
        "finished_at": finished,
        "took_seconds": int(took.total_seconds()) if took is not None else None,
        "outcome": clock.outcome,
        "on_time": None if clock.outcome != "done" else late is None,
        "late_seconds": int(late.total_seconds()) if late is not None else None,
        "breached_at": clock.breached_at,
        "finished_by": export.people.get(by) if by is not None else None,
    }


def _audit(export: _Export, event: AuditEvent) -> dict[str, Any]:
    actor = event.actor_id
    detail = {k: v for k, v in event.detail.items() if k not in PRIVATE_DETAIL}
    if isinstance(detail.get("checklist"), Mapping):  # item → the id of who confirmed it
        detail["checklist"] = {
            item: export.people.get(who, who) for item, who in detail["checklist"].items()
        }
    return {
        "at": event.at,
        "actor": export.people.get(actor) if actor is not None else None,
        "event": event.event,
        "event_label": EVENTS[export.locale].get(event.event, event.event),
        "from_state": event.from_state,
        "to_state": event.to_state,
        "from_state_label": _state_name(export, event.from_state) if event.from_state else None,
        "to_state_label": _state_name(export, event.to_state) if event.to_state else None,
        "reason": event.reason,
        "detail": detail,
    }


def _state_name(export: _Export, state: str) -> str:
    """The state in the words Warta's messages use for it (the code when it has none)."""
    return _named(export, "state_name", state=state) or state


def _step_name(export: _Export, step: str) -> str:
    return _named(export, "step_name", step=step) or step


def _named(export: _Export, macro: str, **values: str) -> str | None:
    try:
        return export.states.render(macro, locale=export.locale, **values)
    except UndefinedError:  # a state or step the message templates do not know yet
        return None


# -- the index, the read-me, record.json -----------------------------------------------------


def _write_index(
    export: _Export, folder: Path, *, numbers: list[int] | None, month: date | None
) -> None:
    words, locale = export.words, export.locale
    if month is not None:
        scope = words.scope_month.format(month=format_date(month, "MMMM y", locale=locale))
    elif numbers is not None:
        scope = words.scope_stories.format(numbers=", ".join(f"#{n}" for n in numbers))
    else:
        scope = words.scope_all
    if month is not None and numbers is not None:
        numbered = words.scope_stories.format(numbers=", ".join(f"#{n}" for n in numbers))
        scope = f"{scope}; {numbered}"
    stories = export.stories
    counts = {
        "stories": len(stories),
        "versions": sum(len(s["versions"]) for s in stories),
        "photos": sum(len(s["photos"]) for s in stories),
        "attachments": sum(len(s["attachments"]) for s in stories),
        "publications": sum(len(s["publications"]) for s in stories),
        "audit_events": sum(len(s["audit"]) for s in stories),
        "files_missing": sum(
            1 for s in stories for f in s["photos"] + s["attachments"] if f["status"] != "ok"
        ),
    }
    read_me_name, read_me = READ_ME[locale]
    record = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": export.now,
        "time_zone": export.tz.key,
        "locale": locale,
        "warta_version": warta_version(),
        "scope": {
            "stories": numbers,
            "month": f"{month:%Y-%m}" if month is not None else None,
            "description": scope,
        },
        "counts": counts,
        "read_me": read_me_name,
        "stories": [
            {
                "number": s["number"],
                "title": s["title"],
                "state": s["state"],
                "page": f"{s['folder']}/index.html",
                "data": f"{s['folder']}/cerita.json",
            }
            for s in stories
        ],
    }
    _write_json(folder / "record.json", record, export.tz)
    (folder / read_me_name).write_text(
        read_me.format(zone=f"{export.tz.key} ({zone_label(export.tz, export.now)})"),
        encoding="utf-8",
    )
    page = _render(
        export,
        "export_index.html.j2",
        stories=stories,
        scope=scope,
        counts=counts,
        read_me=read_me_name,
    )
    (folder / "index.html").write_text(page, encoding="utf-8")


def warta_version() -> str | None:
    try:
        return importlib.metadata.version("warta")
    except importlib.metadata.PackageNotFoundError:
        return None


# -- rendering and writing -------------------------------------------------------------------


def _render(export: _Export, template: str, **values: Any) -> str:
    return export.pages.get_template(template).render(
        t=export.words,
        locale=export.locale,
        style=STYLE,
        exported_at=export.now,
        warta_version=warta_version() or "",
        **values,
    )


def _environment(tz: ZoneInfo, locale: str) -> Environment:
    """The pages' templates, autoescaped: every story text is shown as text, never as HTML."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        {
            "when": lambda value: _when(value, tz, locale),
            "day": lambda value: format_date(value.astimezone(tz).date(), "d MMM y", locale=locale),
            "iso": lambda value: value.astimezone(tz).isoformat(),
            "took": lambda seconds: humanize_duration(timedelta(seconds=seconds), locale),
            "detail": lambda detail: _detail_text(detail, locale),
        }
    )
    return env


def _when(value: datetime, tz: ZoneInfo, locale: str) -> str:
    """``30 November 2026, 11.40 WIB`` (``11:40`` in English)."""
    local = value.astimezone(tz)
    separator = "." if locale == "id" else ":"
    day = format_date(local.date(), "d MMMM y", locale=locale)
    return f"{day}, {local:%H}{separator}{local:%M} {zone_label(tz, value)}"


def _detail_text(detail: Mapping[str, Any], locale: str) -> str:
    """An audit row's detail as one readable line: ``versi: 2; daftar periksa: fakta, nama``."""
    words = DETAIL_WORDS[locale]
    parts = []
    for key, value in detail.items():
        if value is None or value in ("", [], {}):
            continue
        if isinstance(value, bool):
            shown = words[str(value).lower()]
        elif isinstance(value, Mapping | list | tuple):  # a checklist's keys; targets
            shown = ", ".join(map(str, value))
        else:
            shown = str(value)
        parts.append(f"{words.get(key, key)}: {shown}")
    return "; ".join(parts)


def _write_json(path: Path, data: Any, tz: ZoneInfo) -> None:
    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(tz).isoformat()
        if isinstance(value, date):
            return value.isoformat()
        raise TypeError(f"{type(value).__name__} is not JSON")

    text = json.dumps(data, ensure_ascii=False, indent=2, default=plain)
    path.write_text(text + "\n", encoding="utf-8")


def _zip(folder: Path, target: Path, local_time: datetime) -> None:
    """Zip ``folder`` (as its own top folder) in name order, with the same time on every
    entry, so the same export makes the same archive."""
    stamp = (max(local_time.year, 1980), *local_time.timetuple()[1:6])
    files = sorted(
        (path for path in folder.rglob("*") if path.is_file()),
        key=lambda path: path.relative_to(folder).as_posix(),
    )
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            entry = zipfile.ZipInfo(f"{folder.name}/{path.relative_to(folder).as_posix()}", stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            entry.create_system = 3
            with path.open("rb") as reader, archive.open(entry, "w") as writer:
                shutil.copyfileobj(reader, writer, CHUNK)
