"""The desk board: open stories by step with their deadlines, today's agenda and duty, and
the last week's on-time share per SOP step — a read-only page that updates itself."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from bot.web.events import Hub
from bot.web.guard import Guard
from bot.web.pages import Pages
from handlers.agenda_items import day_values, local_day
from handlers.desk import Desk
from handlers.render import humanize_duration, zone_label
from handlers.roster import duty_values
from storage import clocks, repo
from storage.models import AgendaItem, Assignment, SlaClock, Story
from workflow.digest import ClockRecord, StepFigures, day_bounds, digest_figures
from workflow.lifecycle import Role, StoryState
from workflow.sla import Step, step_holder, step_of

TOPIC = "board"
"""The hub topic the board listens to: anything published there makes browsers refresh."""

CHART_DAYS = 7
NEAR_SHARE = 0.2
NEAR_AT_LEAST = timedelta(minutes=30)
"""A story turns amber when what is left of its step is within 20 % of the step's window or
within 30 minutes, whichever is larger."""

COLUMNS: tuple[tuple[str, tuple[StoryState, ...]], ...] = (
    ("submitted", (StoryState.SUBMITTED, StoryState.REVISION_REQUESTED)),
    ("editing", (StoryState.EDITING,)),
    ("verified", (StoryState.VERIFIED,)),
    ("publishing", (StoryState.PUBLISHING,)),
    ("published", (StoryState.PUBLISHED,)),
)
"""The board's columns, left to right, and the story states each shows. A story sent back
for revision waits in the first column, marked as being back with its reporter."""


@dataclass(frozen=True)
class BoardStory:
    """One open story as a card: who wrote it, who must act now, and how its deadline stands."""

    number: int
    title: str
    state: str
    step: str | None
    reporter: str
    holder_name: str | None
    """The person who must act now (the claiming editor, the reporter of a returned story)."""
    holder_role: str | None
    """Or, when nobody in particular holds the step, the role that must act (``editor``)."""
    started_at: datetime | None
    due_at: datetime | None
    near_at: datetime | None
    """When the card turns amber (``due_at`` less the step's near margin)."""
    left: timedelta | None
    """Time left to the deadline; negative by how late the step is."""
    status: str
    """``late`` (past due), ``near`` (due soon) or ``ok``."""
    returned: bool
    """Back with the reporter for revision (shown in the first column)."""


@dataclass(frozen=True)
class BoardColumn:
    key: str
    stories: list[BoardStory]


@dataclass(frozen=True)
class Coverage:
    """One reporter's assignment to an agenda item and how it stands."""

    name: str
    status: str
    """``offered``, ``accepted``, ``declined`` or ``covered``."""
    reason: str | None


@dataclass(frozen=True)
class AgendaLine:
    number: int
    title: str
    leaders: str
    place: str
    starts_at: datetime
    ends_at: datetime
    all_day: bool
    open_end: bool
    coverage: list[Coverage]
    covered: str
    """``covered`` (the story is in), ``accepted``, ``offered`` (waiting for an answer) or
    ``none`` (nobody is assigned, or everyone declined)."""


@dataclass(frozen=True)
class DutyLine:
    name: str | None
    shift: str
    starts: time | None
    ends: time | None


@dataclass(frozen=True)
class ChartRow:
    """One SOP step: its figures for each day of the chart, then for the whole week."""

    step: Step
    days: list[StepFigures]
    total: StepFigures


@dataclass(frozen=True)
class OnTimeChart:
    days: list[date]
    rows: list[ChartRow]


def board_values(desk: Desk, *, now: datetime) -> dict[str, Any]:
    """Everything the board shows as of ``now``, read in one transaction (nothing written)."""
    tz = desk.options.tz
    today = local_day(now, tz)
    with desk.db.transaction() as session:
        stories = list(repo.open_stories(session))
        agenda = day_values(session, desk, today)
        duty = duty_values(session, desk, today)
        chart = on_time_chart(session, desk, today=today, now=now)
    cards = [_card(desk, story, now) for story in stories]
    columns = [
        BoardColumn(
            key,
            sorted((c for c in cards if StoryState(c.state) in states), key=_urgency),
        )
        for key, states in COLUMNS
    ]
    return {
        "now": now,
        "today": today,
        "zone": zone_label(tz, now),
        "columns": columns,
        "agenda": [
            _agenda_line(desk, item, agenda["assignments"][item.id]) for item in agenda["items"]
        ],
        "duty": _duty_lines(desk, duty),
        "chart": chart,
    }


def on_time_chart(session: Session, desk: Desk, *, today: date, now: datetime) -> OnTimeChart:
    """The on-time share per step for each of the last seven local days (today included),
    computed by the digest's own figures from one read of the week's clocks."""
    tz = desk.options.tz
    days = [today - timedelta(days=back) for back in range(CHART_DAYS - 1, -1, -1)]
    start, _ = day_bounds(days[0], tz)
    _, end = day_bounds(today, tz)
    records = [
        _record(clock, story) for clock, story in clocks.clocks_touching(session, start, end)
    ]
    per_day = {day: digest_figures(records, day=day, tz=tz, now=now).steps for day in days}
    rows = []
    for step in Step:
        figures = [next(f for f in per_day[day] if f.step is step) for day in days]
        total = StepFigures(
            step,
            finished=sum(figure.finished for figure in figures),
            on_time=sum(figure.on_time for figure in figures),
        )
        rows.append(ChartRow(step, figures, total))
    return OnTimeChart(days, rows)


def _record(clock: SlaClock, story: Story | None) -> ClockRecord:
    """A clock as the digest reads it (who held a breach does not change any figure)."""
    return ClockRecord(
        story_number=story.number if story else None,
        title=story.title if story else "",
        step=Step(clock.step),
        started_at=clock.started_at,
        due_at=clock.due_at,
        finished_at=clock.finished_at,
        outcome=clock.outcome,
    )


def _card(desk: Desk, story: Story, now: datetime) -> BoardStory:
    state = StoryState(story.state)
    step = step_of(state)
    holder = (
        step_holder(step, reporter_id=story.reporter_id, holder_id=story.holder_id)
        if step
        else None
    )
    person = desk.people.get(holder.person_id) if holder and holder.person_id else None
    reporter = desk.people.get(story.reporter_id)
    due = story.step_due_at
    near_at = status = None
    left = due - now if due else None
    if due is not None:
        window = due - story.step_started_at if story.step_started_at else timedelta(0)
        near_at = due - max(window * NEAR_SHARE, NEAR_AT_LEAST)
        status = "late" if now > due else "near" if now >= near_at else "ok"
    return BoardStory(
        number=story.number,
        title=story.title,
        state=state.value,
        step=step.value if step else None,
        reporter=reporter.name if reporter else "—",
        holder_name=person.name if person else None,
        holder_role=holder.role.value if holder and holder.role and not person else None,
        started_at=story.step_started_at,
        due_at=due,
        near_at=near_at,
        left=left,
        status=status or "ok",
        returned=state is StoryState.REVISION_REQUESTED,
    )


NO_DEADLINE = datetime.max.replace(tzinfo=UTC)


def _urgency(card: BoardStory) -> tuple[datetime, int]:
    """Earliest deadline first (so the most overdue story leads); no deadline last."""
    return (card.due_at or NO_DEADLINE, card.number)


def _agenda_line(desk: Desk, item: AgendaItem, assignments: Sequence[Assignment]) -> AgendaLine:
    current = [a for a in assignments if a.status != "cancelled"]
    statuses = {a.status for a in current}
    covered = next(
        (state for state in ("covered", "accepted", "offered") if state in statuses), "none"
    )
    return AgendaLine(
        number=item.number,
        title=item.title,
        leaders=item.leaders,
        place=item.place,
        starts_at=item.starts_at,
        ends_at=item.ends_at,
        all_day=item.all_day,
        open_end=item.open_end,
        coverage=[Coverage(_name(desk, a.reporter_id), a.status, a.reason) for a in current],
        covered=covered,
    )


def _duty_lines(desk: Desk, duty: dict[str, Any]) -> list[DutyLine]:
    times = duty["times"]
    lines = []
    for slot in duty["slots"]:
        person = desk.people.get(slot.person_id)
        start, end = times.get(slot.shift, (None, None))
        lines.append(
            DutyLine(
                name=person.name if person else None,
                shift=slot.shift,
                starts=start,
                ends=end,
            )
        )
    return lines


def _name(desk: Desk, person_id: int | None) -> str:
    person = desk.people.get(person_id)
    return person.name if person else "—"


# -- words and drawing ------------------------------------------------------------------------


class BoardWords:
    """What the templates cannot say with ``tr`` alone: durations, dates, role names."""

    ROLES = {
        "id": {
            Role.EDITOR: "Redaktur",
            Role.OPERATOR: "Admin",
            Role.REPORTER: "Reporter",
            Role.SECTION_HEAD: "Kasi",
        },
        "en": {
            Role.EDITOR: "Editors",
            Role.OPERATOR: "Admins",
            Role.REPORTER: "Reporters",
            Role.SECTION_HEAD: "Section head",
        },
    }

    def __init__(self, locale: str, tz: ZoneInfo) -> None:
        self.locale = locale if locale in self.ROLES else "id"
        self.tz = tz

    def clock(self, moment: datetime | time) -> str:
        """``14.30`` (``14:30`` in English), local time."""
        local = moment.astimezone(self.tz) if isinstance(moment, datetime) else moment
        return local.strftime("%H.%M" if self.locale == "id" else "%H:%M")

    def deadline(self, due: datetime, today: date) -> str:
        """``14.30 WIB`` today, else ``Kam 3 Des 14.30 WIB``."""
        local = due.astimezone(self.tz)
        text = f"{self.clock(local)} {zone_label(self.tz, due)}"
        if local.date() != today:
            text = f"{self.weekday(local.date())} {self.short_day(local.date())} {text}"
        return text

    def left(self, left: timedelta) -> str:
        """``1 jam 20 menit lagi`` / ``terlambat 35 menit`` (the words board.js writes too)."""
        span = humanize_duration(left, self.locale)
        late = left < timedelta(0)
        if self.locale == "id":
            return f"terlambat {span}" if late else f"{span} lagi"
        return f"{span} late" if late else f"{span} left"

    def role(self, role: str) -> str:
        return self.ROLES[self.locale].get(Role(role), role)

    def day(self, day: date) -> str:
        """``Rabu, 2 Desember 2026``."""
        pattern = "EEEE, d MMMM y" if self.locale == "id" else "EEEE d MMMM y"
        return format_date(day, pattern, locale=self.locale)

    def weekday(self, day: date) -> str:
        return format_date(day, "EEE", locale=self.locale)

    def short_day(self, day: date) -> str:
        """``2 Des`` / ``2 Dec``."""
        return format_date(day, "d MMM", locale=self.locale).rstrip(".")


@dataclass(frozen=True)
class Bar:
    """One bar of the on-time chart, placed in SVG user units."""

    x: float
    track_y: float
    track_height: float
    y: float
    height: float
    width: float
    centre: float
    label_y: float
    count_y: float
    percent: str
    count: str
    figure: StepFigures
    day: date | None
    """None for the week's total."""


CHART_SLOT = 44
CHART_MARGIN = 4
CHART_HEADER = 30
CHART_ROW = 80
CHART_BAR = 22
CHART_BAR_MAX = 34


def chart_layout(chart: OnTimeChart) -> dict[str, Any]:
    """The SVG geometry of the chart: a row per step, a slot per day and one for the week.

    Drawn on the server so the page needs no plotting script; the template only places
    what this returns (and escapes every label)."""
    slots = len(chart.days) + 1
    width = 2 * CHART_MARGIN + slots * CHART_SLOT
    rows = []
    for index, row in enumerate(chart.rows):
        top = CHART_HEADER + index * CHART_ROW
        baseline = top + 64
        bars = []
        for slot, (figure, day) in enumerate(
            [*zip(row.days, chart.days, strict=True), (row.total, None)]
        ):
            left = CHART_MARGIN + slot * CHART_SLOT
            share = figure.percent_on_time
            height = CHART_BAR_MAX * share / 100 if share is not None else 0.0
            bars.append(
                Bar(
                    x=left + (CHART_SLOT - CHART_BAR) / 2,
                    track_y=baseline - CHART_BAR_MAX,
                    track_height=CHART_BAR_MAX,
                    y=baseline - height,
                    height=height,
                    width=CHART_BAR,
                    centre=left + CHART_SLOT / 2,
                    label_y=baseline - height - 4,
                    count_y=baseline + 13,
                    percent="–" if share is None else f"{share}%",
                    count="" if share is None else f"{figure.on_time}/{figure.finished}",
                    figure=figure,
                    day=day,
                )
            )
        rows.append({"step": row.step.value, "title_y": top + 13, "bars": bars})
    return {
        "width": width,
        "height": CHART_HEADER + len(chart.rows) * CHART_ROW,
        "days": [
            {"day": day, "centre": CHART_MARGIN + slot * CHART_SLOT + CHART_SLOT / 2}
            for slot, day in enumerate(chart.days)
        ],
        "total_centre": CHART_MARGIN + len(chart.days) * CHART_SLOT + CHART_SLOT / 2,
        "divider": CHART_MARGIN + len(chart.days) * CHART_SLOT,
        "rows": rows,
        "margin": CHART_MARGIN,
    }


# -- routes -----------------------------------------------------------------------------------


def board_routes(*, desk: Desk, pages: Pages, hub: Hub, guard: Guard) -> list[BaseRoute]:
    """``GET /board`` (the page), ``/board/fragment`` (its live part, for refreshing) and
    ``/board/events`` (server-sent events of the ``board`` topic). Nothing here writes."""
    words = BoardWords(pages.locale, pages.tz)

    async def render(request: Request, template: str) -> Response:
        if not guard.allows(request):
            return RedirectResponse("/login", status_code=303)
        found = await asyncio.to_thread(board_values, desk, now=desk.clock())
        response = pages.page(template, **found, say=words, layout=chart_layout(found["chart"]))
        response.headers["Cache-Control"] = "no-store"
        return response

    async def board(request: Request) -> Response:
        return await render(request, "board.html")

    async def fragment(request: Request) -> Response:
        return await render(request, "board_fragment.html")

    async def events(request: Request) -> Response:
        if not guard.allows(request):
            return RedirectResponse("/login", status_code=303)
        return StreamingResponse(
            hub.stream([TOPIC]),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache, no-store", "X-Accel-Buffering": "no"},
        )

    return [
        Route("/board", board, methods=["GET"]),
        Route("/board/fragment", fragment, methods=["GET"]),
        Route("/board/events", events, methods=["GET"]),
    ]
