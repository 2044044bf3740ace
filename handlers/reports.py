"""``/laporan 2026-11``: the section head's monthly report, sent privately as a PDF.

The report takes seconds to make, so it is made when its message is delivered (the outbox
carries what to make), never inside the chat's transaction; the asker is told at once that
it is on its way."""

from __future__ import annotations

import re
from datetime import date

from handlers.turn import Turn
from storage import repo

_MONTH = re.compile(r"^\s*(?:(\d{4})-(\d{1,2})|(\d{1,2})[/-](\d{4}))\s*$")


def month_asked(args: str, *, today: date) -> date | None:
    """``2026-11`` or ``11/2026``; nothing means last month. None when unclear."""
    if not args.strip():
        first = today.replace(day=1)
        return (
            first.replace(year=first.year - 1, month=12)
            if first.month == 1
            else first.replace(month=first.month - 1)
        )
    match = _MONTH.match(args)
    if not match:
        return None
    year = int(match.group(1) or match.group(4))
    month = int(match.group(2) or match.group(3))
    if not 1 <= month <= 12 or not 2000 <= year <= 2100:
        return None
    return date(year, month, 1)


def monthly_report(turn: Turn) -> None:
    """Queue the month's report for the asker, privately (it names people and late work)."""
    assert turn.person is not None
    today = turn.now.astimezone(turn.options.tz).date()
    month = month_asked(turn.args, today=today)
    if month is None:
        turn.outcome = "bad_month"
        turn.reply("report_month_unclear", argument=turn.args.strip())
        return
    if month > today:
        turn.outcome = "bad_month"
        turn.reply("report_month_future", month=month)
        return
    person = turn.person
    channel = turn.desk.reach.private_channel(person, turn.msg.channel)
    if channel is None:
        turn.outcome = "unreachable"
        turn.reply("report_unreachable")
        return
    locale = turn.desk.renderer.locale_for(person.locale)
    turn.written.append(
        repo.enqueue_message(
            turn.session,
            channel=channel,
            recipient=person.addresses[channel],
            text=turn.desk.renderer.render(
                "report_ready", locale=locale, now=turn.now, person=person, month=month
            ),
            now=turn.now,
            inbox_id=turn.inbox_id,
            template="report_ready",
            document={"kind": "report", "month": month.strftime("%Y-%m"), "locale": locale},
        )
    )
    turn.outcome = "report"
    turn.reply(
        "report_preparing",
        month=month,
        private=channel != turn.msg.channel or (turn.desk.is_group(turn.msg)),
    )
