"""H+1 documentation (SOP step 7): a published story is archived with its whole record.

``/arsipkan 12`` (or, with ``archive.auto``, Warta itself shortly before the story's H+1
deadline) asks for the archive; the alarm clock's sweep then checks, outside any database
transaction, that every permalink still answers and every photo is still in the media store,
and in one transaction either archives the story — keeping its record: the final text, every
version, the photos, the agenda item and assignment, the permalinks, each step's time
against its window and the audit trail — or tells the editors what is missing. Nothing is
archived silently with a dead link: ``/arsipkan 12 paksa`` archives anyway, the problems
kept in the record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlmodel import Session, col, select

from handlers.desk import Desk
from handlers.stories import decide_or_refuse, story_from_args
from handlers.turn import Turn
from storage import repo
from storage.models import (
    AgendaItem,
    Assignment,
    AuditEvent,
    Media,
    SlaClock,
    Story,
    StoryArchive,
)
from workflow.delivery import ItemState
from workflow.lifecycle import SYSTEM_ACTOR, Refusal, Role, StoryEvent, StoryState, decide

log = logging.getLogger(__name__)

FORCE_WORDS = frozenset({"paksa", "force"})


@dataclass(frozen=True)
class Check:
    """One thing the archive checked: a permalink or a photo."""

    kind: str  # "link" | "photo"
    name: str  # the target, or the photo's file name
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class Job:
    """A story to archive, with what must be checked first."""

    story_id: int
    links: tuple[tuple[str, str], ...]  # (target, permalink)
    photos: tuple[tuple[str, str, int], ...]  # (file name, stored path, size)
    requested_by: int | None
    force: bool


LinkCheck = Callable[[str], tuple[bool, str]]


# -- the command ------------------------------------------------------------------------------


def request(turn: Turn) -> None:
    """``/arsipkan 12 [paksa]``: ask for the story's archive; the checks follow shortly."""
    found = story_from_args(turn, "12")
    if found is None:
        return
    story, rest = found
    if decide_or_refuse(turn, story, StoryEvent.ARCHIVE) is None:
        return
    assert turn.person is not None
    force = bool(FORCE_WORDS & {word.lower() for word in rest.split()})
    row = turn.session.get(StoryArchive, story.id) or StoryArchive(story_id=story.id or 0)
    row.status, row.requested_by, row.force = "requested", turn.person.id, force
    row.requested_at = turn.now
    turn.session.add(row)
    turn.outcome = "archive_requested"
    turn.reply("archive_checking", story=story, force=force)
    turn.desk.changed()  # the alarm clock looks now, not at its next tick


# -- the sweep --------------------------------------------------------------------------------


def due_jobs(session: Session, desk: Desk, now: datetime) -> list[Job]:
    """Requested archives, and (``archive.auto``) published stories whose H+1 deadline is
    within ``archive.lead``, not tried automatically before."""
    options = desk.options.archive
    stories: dict[int, tuple[Story, StoryArchive | None]] = {}
    for row in session.exec(select(StoryArchive).where(StoryArchive.status == "requested")):
        story = session.get(Story, row.story_id)
        if story is not None:
            stories[row.story_id] = (story, row)
    if options.auto:
        tried = select(StoryArchive.story_id)
        for story in session.exec(
            select(Story).where(
                Story.state == StoryState.PUBLISHED.value,
                col(Story.step_due_at).is_not(None),
                col(Story.step_due_at) <= now + options.lead,
                col(Story.id).not_in(tried),
            )
        ):
            stories.setdefault(story.id or 0, (story, None))
    jobs = []
    for story_id, (story, row) in sorted(stories.items()):
        links = tuple(
            (item.target or "", str(item.result.get("permalink")))
            for item in repo.latest_publications(session, story_id)
            if item.status == ItemState.SUCCEEDED and item.result.get("permalink")
        )
        photos = tuple(
            (media.filename, media.stored_path, media.size)
            for media in session.exec(
                select(Media).where(Media.story_id == story_id).order_by(col(Media.id))
            )
        )
        jobs.append(
            Job(
                story_id=story.id or 0,
                links=links,
                photos=photos,
                requested_by=row.requested_by if row else None,
                force=bool(row and row.force),
            )
        )
    return jobs


def file_link_check(url: str) -> tuple[bool, str]:
    """A folder target's ``file:`` page exists; a web address needs the composition root's
    checker (``bot/linkcheck.py``), which the handlers do not hold."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        path = Path(unquote(parts.path))
        return (True, "") if path.is_file() else (False, "the page is gone")
    return False, "no web link checker is running"


def run_checks(job: Job, *, media_root: Path, link_check: LinkCheck) -> list[Check]:
    """What the archive needs, checked now (no database: links may take seconds)."""
    checks = []
    for target, url in job.links:
        ok, detail = link_check(url)
        checks.append(Check("link", target, ok, detail if not ok else url))
    for name, stored, size in job.photos:
        path = media_root / stored
        if not path.is_file():
            checks.append(Check("photo", name, False, "the file is gone from the media store"))
        elif path.stat().st_size != size:
            checks.append(Check("photo", name, False, "the file has changed size"))
        else:
            checks.append(Check("photo", name, True))
    return checks


def settle(session: Session, desk: Desk, job: Job, checks: list[Check], now: datetime) -> None:
    """Archive the story with its record, or tell the editors what is missing."""
    story = session.get(Story, job.story_id)
    if story is None or story.state != StoryState.PUBLISHED.value:
        return  # corrected, or archived meanwhile
    row = session.get(StoryArchive, job.story_id) or StoryArchive(story_id=job.story_id)
    problems = [check for check in checks if not check.ok]
    row.checked_at = now
    row.checks = {"items": [asdict(check) for check in checks]}
    if problems and not job.force:
        row.status = "problem"
        session.add(row)
        for editor in desk.people.with_role(Role.EDITOR):
            desk.reach.tell_privately(
                session,
                editor,
                "archive_problems",
                now=now,
                story=story,
                problems=[asdict(check) for check in problems],
                automatic=job.requested_by is None,
            )
        return
    requester = desk.people.get(job.requested_by)
    actor = requester.actor() if requester is not None else SYSTEM_ACTOR
    decision = decide(repo.facts(story), StoryEvent.ARCHIVE, actor)
    if isinstance(decision, Refusal):
        log.warning("story #%s cannot be archived: %s", story.number, decision.message)
        return
    desk.apply(
        session,
        story,
        decision,
        actor_id=job.requested_by,
        now=now,
        reason="; ".join(f"{c.name}: {c.detail}" for c in problems) or None,
    )
    row.status, row.archived_at = "archived", now
    row.record = record_of(session, desk, story, checks, now)
    session.add(row)
    desk.cards.enqueue(session, story, now)
    desk.reach.announce(
        session,
        story,
        "archive_done",
        now=now,
        links=sum(1 for c in checks if c.kind == "link" and c.ok),
        photos=sum(1 for c in checks if c.kind == "photo" and c.ok),
        problems=[asdict(check) for check in problems],
        automatic=job.requested_by is None,
    )


def sweep(desk: Desk, now: datetime, *, link_check: LinkCheck | None = None) -> int:
    """Archive what is due; the number of stories settled (archived or reported)."""
    with desk.db.transaction() as session:
        jobs = due_jobs(session, desk, now)
        for job in jobs:
            if job.requested_by is None:  # an automatic try is made once: mark it now
                row = session.get(StoryArchive, job.story_id) or StoryArchive(story_id=job.story_id)
                row.status, row.requested_at = "checking", now
                session.add(row)
    if not jobs:
        return 0
    check = link_check or file_link_check
    for job in jobs:
        checks = run_checks(job, media_root=desk.media.root, link_check=check)
        with desk.db.transaction() as session:
            settle(session, desk, job, checks, now)
    desk.changed()
    return len(jobs)


# -- the record -------------------------------------------------------------------------------


def record_of(
    session: Session, desk: Desk, story: Story, checks: list[Check], now: datetime
) -> dict[str, Any]:
    """Everything the office must be able to show later, as plain data (kept with the story
    at archive time, so a later change elsewhere cannot alter what was documented)."""
    people = desk.people
    tz = desk.options.tz

    def who(person_id: int | None) -> str | None:
        person = people.get(person_id)
        return person.name if person else None

    def at(moment: datetime | None) -> str | None:
        return moment.astimezone(tz).isoformat() if moment else None

    current = repo.current_text(session, story)
    windows = {step.value: window for step, window in desk.options.sla.windows.items()}
    steps = []
    for clock in session.exec(
        select(SlaClock).where(SlaClock.story_id == story.id).order_by(col(SlaClock.id))
    ):
        took = (clock.finished_at - clock.started_at) if clock.finished_at else None
        window = windows.get(clock.step)
        steps.append(
            {
                "step": clock.step,
                "started_at": at(clock.started_at),
                "due_at": at(clock.due_at),
                "finished_at": at(clock.finished_at),
                "outcome": clock.outcome,
                "minutes": round(took.total_seconds() / 60, 1) if took else None,
                "window_minutes": round(window.total_seconds() / 60) if window else None,
                "on_time": clock.breached_at is None and clock.outcome != "open",
            }
        )
    assignment = session.exec(select(Assignment).where(Assignment.story_id == story.id)).first()
    agenda = session.get(AgendaItem, assignment.item_id) if assignment else None
    return {
        "story": {
            "number": story.number,
            "title": current.title,
            "body": current.body,
            "reporter": who(story.reporter_id),
            "submitted_at": at(story.created_at),
            "archived_at": at(now),
        },
        "versions": [
            {
                "number": version.number,
                "title": version.title,
                "author": who(version.author_id),
                "at": at(version.created_at),
                "note": version.note,
            }
            for version in repo.versions(session, story.id or 0)
        ],
        "photos": [
            {"file": media.filename, "sha256": media.sha256, "size": media.size, "kind": media.kind}
            for media in session.exec(select(Media).where(Media.story_id == story.id))
        ],
        "permalinks": [
            {"target": check.name, "url": check.detail if check.ok else None, "ok": check.ok}
            for check in checks
            if check.kind == "link"
        ],
        "checks": [asdict(check) for check in checks],
        "assignment": _plain(assignment, at),
        "agenda_item": _plain(agenda, at),
        "steps": steps,
        "audit": [
            {
                "at": at(event.at),
                "event": event.event,
                "by": who(event.actor_id),
                "from": event.from_state,
                "to": event.to_state,
                "reason": event.reason,
            }
            for event in session.exec(
                select(AuditEvent)
                .where(AuditEvent.story_id == story.id)
                .order_by(col(AuditEvent.id))
            )
        ],
    }


def _plain(row: Any, at: Callable[[datetime | None], str | None]) -> dict[str, Any] | None:
    if row is None:
        return None
    values: dict[str, Any] = {}
    for name, value in row.model_dump().items():
        values[name] = at(value) if isinstance(value, datetime) else value
    return values
