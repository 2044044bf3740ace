"""The leaders' agenda: /agenda to show a day, and to add, change or cancel an item."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from handlers.agenda_items import day_values, item_from, local_day, when_to_instants
from handlers.announce import announce_if_late
from handlers.assignments import suggest_reporter, tell_assigned
from handlers.coverage import end_assignment, move_submission_clocks
from handlers.desk import Desk
from handlers.turn import Turn
from storage import agenda as book
from storage.models import AgendaItem
from workflow.when import Unclear, parse_when

LISTED = 10


FIELDS = {
    "waktu": "when",
    "when": "when",
    "judul": "title",
    "kegiatan": "title",
    "title": "title",
    "pimpinan": "leaders",
    "leaders": "leaders",
    "tempat": "place",
    "place": "place",
    "catatan": "notes",
    "keterangan": "notes",
    "notes": "notes",
}


def agenda(turn: Turn) -> None:
    """Show a day's agenda (tomorrow by default), or add, change or cancel an item."""
    verb, _, rest = turn.args.partition(" ")
    verb = verb.lower()
    if verb in ("tambah", "add"):
        _add(turn, rest)
    elif verb in ("ubah", "edit"):
        _edit(turn, rest)
    elif verb in ("batal", "cancel", "batalkan"):
        _cancel(turn, rest)
    else:
        _show(turn, turn.args)


def _show(turn: Turn, phrase: str) -> None:
    tz = turn.options.tz
    today = local_day(turn.now, tz)
    day = today + timedelta(days=1)
    if phrase.strip():
        parsed = parse_when(phrase.strip() + " 00.00", today=today)
        if isinstance(parsed, Unclear) and parsed.code == "past_date" and parsed.dates:
            day = parsed.dates[0]  # looking back at a past day's agenda is fine
        elif isinstance(parsed, Unclear):
            turn.outcome = "bad_date"
            turn.reply("agenda_day_unclear", written=phrase.strip())
            return
        else:
            day = parsed.day
    turn.outcome = "agenda"
    turn.reply("agenda_day", **day_values(turn.session, turn.desk, day))


def _add(turn: Turn, rest: str) -> None:
    parts = [part.strip() for part in rest.split("|")]
    if len(parts) < 2 or not parts[0] or not parts[1]:
        turn.outcome = "usage"
        turn.reply("agenda_add_usage")
        return
    tz = turn.options.tz
    parsed = parse_when(
        parts[0],
        today=local_day(turn.now, tz),
        default_duration=turn.options.agenda.default_duration,
    )
    if isinstance(parsed, Unclear):
        turn.outcome = "when_unclear"
        turn.reply("when_unclear", unclear=parsed, written=parts[0])
        return
    starts_at, ends_at = when_to_instants(parsed, tz)
    if starts_at < turn.now - timedelta(hours=12):
        turn.outcome = "when_past"
        turn.reply("agenda_in_the_past", starts_at=starts_at)
        return
    assert turn.person is not None
    item = book.add_item(
        turn.session,
        title=parts[1][:500],
        leaders=(parts[2] if len(parts) > 2 else "")[:500],
        place=(parts[3] if len(parts) > 3 else "")[:500],
        notes=" | ".join(parts[4:]),  # a "|" inside the notes is kept
        starts_at=starts_at,
        ends_at=ends_at,
        all_day=parsed.all_day,
        open_end=parsed.open_end,
        now=turn.now,
        actor_id=turn.person.id,
        source="command",
    )
    turn.outcome = "agenda_added"
    turn.reply(
        "agenda_added", item=item, suggestion=suggest_reporter(turn.session, turn.desk, item)
    )
    announce_if_late(turn.session, turn.desk, item, turn.now)


def _edit(turn: Turn, rest: str) -> None:
    found = item_from(turn, rest, "ubah 3 waktu|judul|pimpinan|tempat|catatan <isi baru>")
    if found is None:
        return
    item, change = found
    name, _, value = change.partition(" ")
    field_name = FIELDS.get(name.lower())
    if field_name is None or not value.strip():
        turn.outcome = "usage"
        turn.reply("agenda_edit_usage", item=item)
        return
    old = getattr(item, field_name if field_name != "when" else "starts_at")
    if field_name == "when":
        tz = turn.options.tz
        parsed = parse_when(
            value,
            today=local_day(turn.now, tz),
            default_duration=turn.options.agenda.default_duration,
        )
        if isinstance(parsed, Unclear):
            turn.outcome = "when_unclear"
            turn.reply("when_unclear", unclear=parsed, written=value.strip())
            return
        item.starts_at, item.ends_at = when_to_instants(parsed, tz)
        item.all_day, item.open_end = parsed.all_day, parsed.open_end
        move_submission_clocks(turn.session, turn.desk, item, turn.now)
    else:
        setattr(item, field_name, value.strip()[:500])
    item.updated_at = turn.now
    turn.session.add(item)
    assert turn.person is not None
    book.record(
        turn.session,
        kind="agenda",
        action="edit",
        actor_id=turn.person.id,
        now=turn.now,
        item_id=item.id,
        detail={"field": field_name, "old": str(old), "new": value.strip()},
    )
    turn.outcome = "agenda_edited"
    turn.share("agenda_edited", item=item, field=field_name)
    tell_assigned(turn, item, "assignment_item_changed", field=field_name)


def _cancel(turn: Turn, rest: str) -> None:
    found = item_from(turn, rest, "batal 3 <alasan>")
    if found is None:
        return
    item, reason = found
    if not reason:
        turn.outcome = "usage"
        turn.reply("usage", command=turn.command, usage=f"batal {item.number} <alasan>")
        return
    if item.status == "cancelled":
        turn.outcome = "already_cancelled"
        turn.reply("agenda_already_cancelled", item=item)
        return
    assert turn.person is not None
    cancel_item(turn.session, turn.desk, item, reason=reason, actor_id=turn.person.id, now=turn.now)
    turn.outcome = "agenda_cancelled"
    turn.share("agenda_cancelled", item=item, reason=reason)


def cancel_item(
    session: Session,
    desk: Desk,
    item: AgendaItem,
    *,
    reason: str,
    actor_id: int | None,
    now: datetime,
    source: str | None = None,
) -> None:
    """Cancel an item: its open assignments end (their clocks too) and the reporters are told."""
    item.status, item.cancel_reason, item.updated_at = "cancelled", reason, now
    session.add(item)
    book.record(
        session,
        kind="agenda",
        action="cancel",
        actor_id=actor_id,
        now=now,
        item_id=item.id,
        detail={"reason": reason, **({"source": source} if source else {})},
    )
    for assignment in book.assignments_of(session, [item.id or 0]).get(item.id or 0, []):
        if assignment.status in book.OPEN_ASSIGNMENT:
            end_assignment(session, assignment, "cancelled", now, actor_id)
            reporter = desk.people.get(assignment.reporter_id)
            if reporter is not None:
                desk.reach.tell_privately(
                    session,
                    reporter,
                    "assignment_item_cancelled",
                    now=now,
                    item=item,
                    reason=reason,
                )
