"""Agenda files: CSV and iCalendar imports (chat and CLI), and the month's agenda book."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlmodel import Session

from handlers.agenda import cancel_item
from handlers.agenda_items import local_day
from handlers.announce import announce_if_late
from handlers.command import PLANNERS
from handlers.coverage import move_submission_clocks
from handlers.desk import Desk
from handlers.turn import Turn
from storage import agenda as book
from storage.models import AgendaItem, Story
from workflow.agenda_files import (
    AgendaFileError,
    AgendaRow,
    BookEntry,
    FileProblem,
    ProblemCode,
    parse_agenda_file,
)
from workflow.digest import day_bounds

MAX_IMPORT_ROWS = 500


@dataclass
class ImportResult:
    added: list[AgendaItem]
    updated: list[AgendaItem]
    unchanged: int
    cancelled: list[AgendaItem]


def import_rows(
    session: Session,
    desk: Desk,
    rows: list[AgendaRow],
    *,
    source: str,
    actor_id: int | None,
    now: datetime,
) -> ImportResult:
    """Add new items, update changed ones and cancel withdrawn ones; an item seen before (same
    source key: the iCalendar UID, or date, time and title of a CSV row) is never doubled."""
    result = ImportResult([], [], 0, [])
    for row in rows:
        ends_at = row.ends_at or row.starts_at + desk.options.agenda.default_duration
        values = {
            "title": row.title[:500],
            "leaders": row.leaders[:500],
            "place": row.place[:500],
            "notes": row.notes,
            "starts_at": row.starts_at.astimezone(UTC),
            "ends_at": ends_at.astimezone(UTC),
            "all_day": row.all_day,
            "open_end": row.open_end,
        }
        existing = book.item_by_key(session, row.source_key) if row.source_key else None
        if existing is None:
            if row.cancelled:
                result.unchanged += 1
                continue
            item = book.add_item(
                session,
                now=now,
                actor_id=actor_id,
                source=source,
                source_key=row.source_key or None,
                **values,
            )
            result.added.append(item)
            continue
        if row.cancelled:
            if existing.status == "planned":
                cancel_item(
                    session,
                    desk,
                    existing,
                    reason="dibatalkan di berkas impor",
                    actor_id=actor_id,
                    now=now,
                    source=source,
                )
                result.cancelled.append(existing)
            else:
                result.unchanged += 1
            continue
        changed = {
            name: value for name, value in values.items() if getattr(existing, name) != value
        }
        if not changed:
            result.unchanged += 1
            continue
        for name, value in changed.items():
            setattr(existing, name, value)
        existing.updated_at = now
        session.add(existing)
        if "starts_at" in changed or "ends_at" in changed:
            for assignment in move_submission_clocks(session, desk, existing, now):
                reporter = desk.people.get(assignment.reporter_id)
                if reporter is not None:
                    desk.reach.tell_privately(
                        session,
                        reporter,
                        "assignment_item_changed",
                        now=now,
                        item=existing,
                        field="when",
                    )
        book.record(
            session,
            kind="agenda",
            action="edit",
            actor_id=actor_id,
            now=now,
            item_id=existing.id,
            detail={"source": source, "fields": sorted(changed)},
        )
        result.updated.append(existing)
    announce_if_late(session, desk, result.added, now)
    return result


def is_agenda_import(turn: Turn) -> bool:
    """A message that only carries agenda files (no command, no text) from the Kasi or an
    editor imports them; beside a reporter's coverage such a file is just not attached."""
    files = [entry for entry in turn.media if entry.get("kind") == "agenda_file"]
    if not files or turn.command or turn.msg.text.strip():
        return False
    person = turn.person
    return (person is not None and bool(person.roles & PLANNERS)) or len(files) == len(turn.media)


def import_agenda_file(turn: Turn) -> None:
    """An editor sent CSV or iCalendar files: each is imported whole, or not at all with the
    lines to fix."""
    assert turn.person is not None
    tz = turn.options.tz
    for entry in turn.media:
        if entry.get("kind") != "agenda_file":
            continue
        filename = entry.get("filename") or "agenda"
        if entry.get("rejected"):
            turn.outcome = "import_failed"
            turn.reply("agenda_file_too_large", filename=filename, limit=entry.get("limit"))
            continue
        data = base64.b64decode(entry["data_b64"])
        try:
            rows = parse_agenda_file(data, filename=filename, tz=tz, today=local_day(turn.now, tz))
            if len(rows) > MAX_IMPORT_ROWS:
                raise AgendaFileError(
                    [FileProblem(0, ProblemCode.TOO_LONG, f"lebih dari {MAX_IMPORT_ROWS} kegiatan")]
                )
        except AgendaFileError as error:
            turn.outcome = "import_failed"
            turn.reply("agenda_import_failed", filename=filename, problems=error.problems)
            continue
        source = "ics" if rows and rows[0].source_key.startswith("ics") else "csv"
        result = import_rows(
            turn.session, turn.desk, rows, source=source, actor_id=turn.person.id, now=turn.now
        )
        turn.outcome = "imported"
        turn.reply(
            "agenda_imported",
            filename=filename,
            added=result.added,
            updated=result.updated,
            unchanged=result.unchanged,
            cancelled=result.cancelled,
        )


_ACTIONS = {
    "add": "ditambahkan",
    "edit": "diubah",
    "cancel": "dibatalkan",
    "assign": "penugasan dibuat",
    "accepted": "penugasan diterima",
    "declined": "penugasan ditolak",
    "covered": "liputan masuk",
}


_ANSWERS = {
    "offered": "menunggu jawaban",
    "accepted": "diterima",
    "declined": "ditolak",
    "covered": "liputan masuk",
    "cancelled": "dibatalkan",
}


def agenda_book(session: Session, desk: Desk, year: int, month: int) -> list[BookEntry]:
    """Every agenda item of a month, cancelled ones too, with its assignments, the story it
    produced and who changed what when: the SOP's "buku jadwal kegiatan"."""
    tz = desk.options.tz
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    start, _ = day_bounds(first, tz)
    end, _ = day_bounds(following, tz)
    items = list(book.items_between(session, start, end, cancelled=True))
    ids = [item.id or 0 for item in items]
    assignments = book.assignments_of(session, ids)
    history = book.history_of(session, ids)
    people = desk.people

    def name(person_id: int | None) -> str:
        person = people.get(person_id)
        return person.name if person else "Warta"

    def stamp(moment: datetime) -> str:
        local = moment.astimezone(tz)
        return f"{local:%d/%m %H.%M}"

    entries = []
    for item in items:
        rows = assignments.get(item.id or 0, [])
        stories = [session.get(Story, row.story_id) for row in rows if row.story_id is not None]
        entries.append(
            BookEntry(
                number=item.number,
                title=item.title,
                starts_at=item.starts_at,
                ends_at=None if item.open_end else item.ends_at,
                leaders=item.leaders,
                place=item.place,
                notes=item.notes
                + (f" (batal: {item.cancel_reason})" if item.cancel_reason else ""),
                status=item.status,
                assignments=[
                    f"{name(row.reporter_id)} ({_ANSWERS.get(row.status, row.status)}"
                    + (f": {row.reason}" if row.reason else "")
                    + ")"
                    for row in rows
                ],
                story=", ".join(f"#{story.number} {story.state}" for story in stories if story),
                history=[
                    f"{stamp(event.at)} {_ACTIONS.get(event.action, event.action)} oleh "
                    f"{name(event.actor_id)}"
                    for event in history.get(item.id or 0, [])
                ],
                all_day=item.all_day,
            )
        )
    return entries
