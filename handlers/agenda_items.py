"""Agenda items as the commands see them: the item a command names, its day and instants."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from handlers.desk import Desk
from handlers.turn import Turn
from storage import agenda as book
from storage.models import AgendaItem
from workflow.digest import day_bounds
from workflow.when import ZONE_NAMES, When


def local_day(now: datetime, tz: ZoneInfo) -> date:
    return now.astimezone(tz).date()


def when_to_instants(when: When, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC start and end of a parsed phrase (in the zone written, WIB/WITA/WIT, or the
    desk's)."""
    zone = ZoneInfo(ZONE_NAMES[when.zone_label]) if when.zone_label in ZONE_NAMES else tz
    start = when.starts_at().replace(tzinfo=zone).astimezone(UTC)
    end = when.ends_at().replace(tzinfo=zone).astimezone(UTC)
    return start, end


def day_values(session: Session, desk: Desk, day: date) -> dict[str, Any]:
    start, end = day_bounds(day, desk.options.tz)
    items = list(book.items_between(session, start, end))
    assignments = book.assignments_of(session, (item.id or 0 for item in items))
    return {
        "day": day,
        "items": items,
        "assignments": {item.id: assignments.get(item.id or 0, []) for item in items},
        "people": desk.people.by_id,
    }


ITEM = re.compile(r"^\s*A?(\d+)\b\s*(.*)$", re.IGNORECASE | re.DOTALL)


def item_from(turn: Turn, rest: str, usage: str) -> tuple[AgendaItem, str] | None:
    match = ITEM.match(rest)
    if not match:
        turn.outcome = "usage"
        turn.reply("usage", command=turn.command, usage=usage)
        return None
    item = book.item_by_number(turn.session, int(match.group(1)))
    if item is None:
        turn.outcome = "item_not_found"
        turn.reply("agenda_item_not_found", number=int(match.group(1)))
        return None
    return item, match.group(2).strip()
