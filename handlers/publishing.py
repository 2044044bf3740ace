"""An operator's say over each website of a publishing story: /ulang, /abaikan and /terbit."""

from __future__ import annotations

import re

from handlers.delivery import settle_publishing
from handlers.stories import story_from_args
from handlers.turn import Turn
from storage import repo
from storage.models import Story
from workflow.delivery import ItemEvent
from workflow.lifecycle import StoryState

_URL = re.compile(r"^https?://\S+$")


def _publishing(turn: Turn, usage: str) -> tuple[Story, str, list] | None:
    """The story (which must be publishing, or published for /terbit) and its latest jobs."""
    found = story_from_args(turn, usage)
    if found is None:
        return None
    story, rest = found
    jobs = repo.latest_publications(turn.session, story.id or 0)
    if story.state != StoryState.PUBLISHING.value or not jobs:
        turn.outcome = "not_publishing"
        turn.reply("not_publishing", story=story)
        return None
    return story, rest, jobs


def _job_for(turn: Turn, story: Story, jobs: list, target: str):
    job = next((job for job in jobs if job.target == target), None)
    if job is None:
        turn.outcome = "unknown_target"
        turn.reply("unknown_target", story=story, target=target, targets=[j.target for j in jobs])
    return job


def retry_publish(turn: Turn) -> None:
    """Try failed targets again now: /ulang 12, or /ulang 12 portal for one target."""
    found = _publishing(turn, "12 [situs]")
    if found is None:
        return
    story, rest, jobs = found
    wanted = rest.split()[0].lower() if rest.split() else None
    if wanted and _job_for(turn, story, jobs, wanted) is None:
        return
    chosen = [
        job
        for job in jobs
        if (wanted is None or job.target == wanted)
        and repo.move_item(
            turn.session,
            job,
            ItemEvent.RETRY_NOW,
            now=turn.now,
            attempts=0,
            next_attempt_at=turn.now,
        )
    ]
    repo.audit(
        turn.session,
        story_id=story.id,
        actor_id=turn.person.id if turn.person else None,
        event="publish_retry",
        now=turn.now,
        detail={"targets": [job.target for job in chosen]},
    )
    turn.touch(story)
    turn.outcome = "publish_retry" if chosen else "nothing_to_retry"
    turn.reply("publish_retried", story=story, targets=[job.target for job in chosen])


def abandon_target(turn: Turn) -> None:
    """Give up on one site for this story, with the reason: /abaikan 12 infopublik situs mati."""
    found = _publishing(turn, "12 <situs> <alasan>")
    if found is None:
        return
    story, rest, jobs = found
    target, _, reason = rest.partition(" ")
    if not target or not reason.strip():
        turn.outcome = "usage"
        turn.reply("usage", command=turn.command, usage="12 <situs> <alasan>")
        return
    job = _job_for(turn, story, jobs, target.lower())
    if job is None:
        return
    if not repo.move_item(
        turn.session, job, ItemEvent.ABANDON, now=turn.now, result={"reason": reason.strip()}
    ):
        turn.outcome = "already_published"
        turn.reply("target_already_done", story=story, target=job.target)
        return
    _target_event(turn, story, "publish_abandoned", job.target, reason=reason.strip())
    turn.outcome = "publish_abandoned"
    turn.reply("target_abandoned", story=story, target=job.target, reason=reason.strip())
    settle_publishing(turn.desk, turn.session, story, turn.now)


def report_published(turn: Turn) -> None:
    """Report the live address of a story on a site without an API: /terbit 12 infopublik URL."""
    found = _publishing(turn, "12 <situs> <alamat>")
    if found is None:
        return
    story, rest, jobs = found
    parts = rest.split()
    if len(parts) != 2:
        turn.outcome = "usage"
        turn.reply("usage", command=turn.command, usage="12 <situs> <alamat https://…>")
        return
    job = _job_for(turn, story, jobs, parts[0].lower())
    if job is None:
        return
    if not _URL.match(parts[1]):
        turn.outcome = "bad_url"
        turn.reply("url_invalid", url=parts[1])
        return
    repo.move_item(
        turn.session,
        job,
        ItemEvent.REPORT,
        now=turn.now,
        result={"permalink": parts[1], "reported": True},
    )
    _target_event(turn, story, "publish_reported", job.target, url=parts[1])
    turn.outcome = "publish_reported"
    turn.reply("target_reported", story=story, target=job.target, url=parts[1])
    settle_publishing(turn.desk, turn.session, story, turn.now)


def _target_event(turn: Turn, story: Story, event: str, target: str | None, **detail: str) -> None:
    repo.audit(
        turn.session,
        story_id=story.id,
        actor_id=turn.person.id if turn.person else None,
        event=event,
        now=turn.now,
        reason=detail.get("reason"),
        detail={"target": target, **detail},
    )
