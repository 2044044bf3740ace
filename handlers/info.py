"""What the desk can ask Warta: a story's status, the open stories, what is late, the digest,
the commands, and who Warta thinks you are."""

from __future__ import annotations

from handlers import oversight
from handlers.command import Command
from handlers.stories import story_from_args
from handlers.turn import Turn
from storage import repo
from storage.models import Story
from workflow.lifecycle import StoryState, events_from


def status(turn: Turn) -> None:
    """Show one story: state, who holds it, versions, photos, deadline and published links."""
    found = story_from_args(turn, "12")
    if found is None:
        return
    story, _ = found
    session = turn.session
    publications = repo.latest_publications(session, story.id or 0)
    turn.outcome = "status"
    turn.reply(
        "story_status",
        story=story,
        reporter=turn.desk.people.get(story.reporter_id),
        holder=turn.desk.people.get(story.holder_id),
        media=repo.media_of(session, story.id or 0),
        publications=publications,
        next_commands=_next_commands(story, turn),
    )


def _next_commands(story: Story, turn: Turn) -> list[Command]:
    assert turn.person is not None
    events = events_from(StoryState(story.state))
    return [
        command
        for command in turn.commands
        if command.event in events and command.visible_to(turn.person.roles)
    ]


def list_open(turn: Turn) -> None:
    """List the open stories, soonest deadline first, with who holds each."""
    session = turn.session
    stories = repo.open_stories(session)
    people = {
        person_id: turn.desk.people.get(person_id)
        for story in stories
        for person_id in (story.reporter_id, story.holder_id)
        if person_id is not None
    }
    turn.outcome = "list"
    turn.reply("story_list", stories=stories, people=people)


def late(turn: Turn) -> None:
    """List what is past its deadline or due within the hour, most urgent first."""
    turn.outcome = "late"
    turn.reply("late_list", **oversight.late_values(turn.session, turn.desk, turn.now))


def digest(turn: Turn) -> None:
    """Show the daily digest: yesterday's, or of the day asked for."""
    today = turn.now.astimezone(turn.options.tz).date()
    day = oversight.digest_day(turn.args, today=today)
    if day is None:
        turn.outcome = "bad_date"
        turn.reply("digest_day_unclear", argument=turn.args.strip())
        return
    turn.outcome = "digest"
    turn.reply("daily_digest", **oversight.digest_values(turn.session, turn.desk, day, turn.now))


def show_help(turn: Turn) -> None:
    """List the commands the asker's roles allow."""
    roles = turn.person.roles if turn.person else frozenset()
    commands = [command for command in turn.commands if command.visible_to(roles)]
    turn.outcome = "help"
    turn.reply("help", commands=commands, registered=turn.person is not None)


def whoami(turn: Turn) -> None:
    """Say who Warta thinks you are, your roles and your address on this channel."""
    turn.outcome = "whoami"
    turn.reply("whoami", channel=turn.msg.channel, address=turn.msg.sender)
