"""The e-mail copy and the chat copy of one reporter's coverage (SOP step 4).

The SOP asks reporters to send coverage by the official e-mail *and* into the chat group.
The first copy to arrive makes the story (and starts its clock); the other, when it is the
same reporter's within ``copies.within`` and its title or text is alike, joins that story as
its official copy — a new version when its text differs. Each story remembers which copies
arrived (its card shows them); with ``remind_missing`` a copy still missing after the
submission deadline is asked for once.
"""

from __future__ import annotations

import difflib
import re
from datetime import datetime

from sqlmodel import Session, col, select

from handlers.messages import CopyOptions
from handlers.reach import Reach
from storage import repo
from storage.models import Assignment, Story, StoryCopy
from workflow.lifecycle import StoryState

EMAIL = "email"
CHAT = "chat"
ARRIVED = ("first", "same", "version")
CLOSED = (StoryState.ARCHIVED.value, StoryState.SPIKED.value)
_WORDS = re.compile(r"\w+")


def side_of(channel: str) -> str:
    """Which copy a message is: the official mailbox's, or the chat's (any chat channel)."""
    return EMAIL if channel == EMAIL else CHAT


def other_side(side: str) -> str:
    return CHAT if side == EMAIL else EMAIL


def _normal(text: str) -> str:
    return " ".join(_WORDS.findall(text.lower()))


def alike(first: str, second: str) -> float:
    """How alike two texts are, 0 to 1, ignoring case, punctuation and spacing."""
    a, b = _normal(first)[:3000], _normal(second)[:3000]
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def same_text(title: str, body: str, other_title: str, other_body: str) -> bool:
    return (_normal(title), _normal(body)) == (_normal(other_title), _normal(other_body))


def arrived(session: Session, story_id: int) -> dict[str, StoryCopy]:
    """The copies of a story, by side (a ``reminded`` row is a copy asked for, not arrived)."""
    rows = session.exec(select(StoryCopy).where(StoryCopy.story_id == story_id)).all()
    return {row.side: row for row in rows}


def shown(session: Session, story_id: int) -> dict[str, bool]:
    """For the card: which copies arrived (empty when the story predates the mailbox)."""
    rows = arrived(session, story_id)
    if not rows:
        return {}
    return {side: side in rows and rows[side].outcome in ARRIVED for side in (CHAT, EMAIL)}


def record(
    session: Session,
    *,
    story_id: int,
    channel: str,
    outcome: str,
    now: datetime,
    inbox_id: int | None = None,
) -> None:
    """Remember that a copy arrived (or, ``reminded``, was asked for)."""
    side = side_of(channel)
    row = arrived(session, story_id).get(side)
    if row is None:
        row = StoryCopy(story_id=story_id, side=side, outcome=outcome, inbox_id=inbox_id, at=now)
    else:
        row.outcome, row.inbox_id, row.at = outcome, inbox_id, now
    session.add(row)
    session.flush()


def find_original(
    session: Session,
    options: CopyOptions,
    *,
    reporter_id: int,
    channel: str,
    title: str,
    body: str,
    now: datetime,
    named_item: int | None = None,
) -> Story | None:
    """The story this submission is the other copy of, or None (then it is a new story):
    one covering the same agenda item it names (``#A3``), else the most alike."""
    side = side_of(channel)
    candidates = session.exec(
        select(Story)
        .where(
            Story.reporter_id == reporter_id,
            col(Story.created_at) >= now - options.within,
            col(Story.state).not_in(CLOSED),
        )
        .order_by(col(Story.created_at).desc())
    ).all()
    best: tuple[float, Story] | None = None
    for story in candidates:
        copies = arrived(session, story.id or 0)
        first_side = side_of(story.origin_channel)
        if first_side == side or (side in copies and copies[side].outcome in ARRIVED):
            continue  # the same side twice is two stories
        if named_item is not None:
            covered = session.exec(
                select(Assignment.item_id).where(Assignment.story_id == story.id)
            ).first()
            if covered == named_item:
                return story  # the same linked assignment: the same story, whatever its words
        current = repo.current_text(session, story)
        score = max(alike(title, current.title), alike(body, current.body))
        if score >= options.similarity and (best is None or score > best[0]):
            best = (score, story)
    return best[1] if best else None


def sweep(
    session: Session,
    *,
    options: CopyOptions | None,
    people: repo.PeopleDirectory,
    reach: Reach,
    now: datetime,
) -> list[int]:
    """Ask reporters, once, for a copy still missing after the submission deadline."""
    if options is None or not options.remind_missing:
        return []
    written: list[int] = []
    firsts = session.exec(
        select(StoryCopy, Story)
        .join(Story, col(Story.id) == StoryCopy.story_id)
        .where(
            StoryCopy.outcome == "first",
            col(StoryCopy.at) <= now - options.remind_after,
            col(StoryCopy.at) >= now - options.remind_after - options.within * 6,
            col(Story.state).not_in(CLOSED),
        )
    ).all()
    for copy, story in firsts:
        missing = other_side(copy.side)
        if missing in arrived(session, story.id or 0):
            continue  # arrived, or asked for already
        reporter = people.get(story.reporter_id)
        if reporter is None:
            continue
        outbox_id = reach.tell_privately(
            session,
            reporter,
            "copy_missing",
            now=now,
            prefer=story.origin_channel,
            story=story,
            missing=missing,
        )
        record(
            session,
            story_id=story.id or 0,
            channel=EMAIL if missing == EMAIL else "chat",
            outcome="reminded",
            now=now,
        )
        if outbox_id is not None:
            written.append(outbox_id)
    return written
