"""Every command Warta understands, listed once; /help and the README table come from this list."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from handlers.agenda import (
    accept,
    agenda,
    assign,
    decline,
    import_agenda_file,
    is_agenda_import,
)
from handlers.desk import Turn
from handlers.messages import Button
from handlers.render import Renderer
from handlers.roster import duty, leave, roster, swap_duty
from storage import repo
from storage.models import Story

if TYPE_CHECKING:
    from handlers.watch import Watch
from workflow.lifecycle import (
    PEOPLE_ROLES,
    Decision,
    Refusal,
    Refused,
    Role,
    StoryEvent,
    StoryState,
    decide,
    events_from,
    roles_for,
)

Handler = Callable[[Turn], None]
_NUMBER = re.compile(r"^#?(\d{1,9})\b\s*(.*)$", re.DOTALL)
_COMMAND = re.compile(r"^/([A-Za-z_]+)(?:@\w+)?(?:\s+(.*))?$", re.DOTALL)
_CONFIRM_ALL = {"semua", "all"}


@dataclass(frozen=True)
class Command:
    """A chat command: English name, Indonesian alias, who may use it and what it does."""

    name: str
    alias: str
    handler: Handler
    args: str = ""
    event: StoryEvent | None = None
    roles: frozenset[Role] | None = None

    def visible_to(self, roles: frozenset[Role]) -> bool:
        allowed = roles_for(self.event) if self.event else self.roles
        return allowed is None or not allowed.isdisjoint(roles)

    def allowed_roles(self) -> tuple[Role, ...]:
        allowed = roles_for(self.event) if self.event else self.roles
        if allowed is None:
            return ()
        return tuple(role for role in PEOPLE_ROLES if role in allowed)


# -- routing ----------------------------------------------------------------------------------


def route(turn: Turn) -> None:
    """Send the message to its command, its story (a reply) or the submission handler."""
    msg = turn.msg
    if "foreign_chat" in msg.notes:
        turn.outcome = "foreign_chat"  # a group that is not the desk's: kept, not answered
        return
    if "forged_button" in msg.notes:
        turn.outcome = "forged_button"
        turn.answer("button_invalid")
        return
    match = _COMMAND.match(msg.text.strip())
    if match:
        name = match.group(1).lower()
        turn.command, turn.args = name, (match.group(2) or "").strip()
        command = BY_NAME.get(name)
        if command is None:
            turn.outcome = "unknown_command"
            suggestions = difflib.get_close_matches(name, BY_NAME, n=1, cutoff=0.6)
            turn.reply(
                "unknown_command", command=name, suggestion=suggestions[0] if suggestions else None
            )
            return
        if turn.person is None and command.name not in ("help", "whoami"):
            _not_registered(turn)
            return
        if command.event is None and turn.person and not command.visible_to(turn.person.roles):
            turn.outcome = "not_allowed"
            turn.reply("command_not_allowed", command=command, roles=command.allowed_roles())
            return
        command.handler(turn)
        return
    if turn.person is None:
        if not turn.desk.is_group(msg):
            _not_registered(turn)
        else:
            turn.outcome = "ignored"
        return
    if is_agenda_import(turn):
        import_agenda_file(turn)
        return
    if msg.reply_to_message_id:
        story = repo.story_by_message(
            turn.session, msg.channel, msg.chat_id, msg.reply_to_message_id
        )
        if story is not None and (msg.text.strip() or turn.media):
            _reply_to_story(turn, story)
            return
    if Role.REPORTER in turn.person.roles and _looks_like_submission(turn):
        submit(turn)
        return
    if turn.desk.is_group(msg):
        turn.outcome = "ignored"
    else:
        turn.outcome = "hint"
        turn.reply("private_hint")


def _looks_like_submission(turn: Turn) -> bool:
    """In a group only a message with a body or a photo is coverage; privately, anything is."""
    if not turn.desk.is_group(turn.msg):
        return True
    lines = [line for line in turn.msg.text.splitlines() if line.strip()]
    return len(lines) >= 2 or bool(turn.media)


def _not_registered(turn: Turn) -> None:
    turn.outcome = "not_registered"
    turn.reply("not_registered", channel=turn.msg.channel, address=turn.msg.sender)


# -- helpers shared by the story commands -----------------------------------------------------


def _split_text(text: str) -> tuple[str, str]:
    lines = text.strip().splitlines()
    title = lines[0].strip() if lines else ""
    body = "\n".join(lines[1:]).strip()
    return title, body


def _check_text(turn: Turn, title: str, body: str, *, raw: str) -> bool:
    """Refuse empty, title-less or oversized text with advice; True when it is usable."""
    options = turn.options
    if len(raw) > options.max_text_chars:
        turn.outcome = "too_long"
        turn.reply("text_too_long", length=len(raw), limit=options.max_text_chars)
        return False
    if not title and not body:
        turn.outcome = "empty"
        turn.reply("submission_empty")
        return False
    if not body:
        turn.outcome = "no_body"
        turn.reply("submission_needs_body", title=title)
        return False
    if len(title) > options.max_title_chars:
        turn.outcome = "title_too_long"
        turn.reply("title_too_long", length=len(title), limit=options.max_title_chars)
        return False
    return True


def _story_from_args(turn: Turn, usage: str) -> tuple[Story, str] | None:
    """Read the story number at the start of the arguments; answer when it is missing or wrong."""
    match = _NUMBER.match(turn.args)
    if not match:
        turn.outcome = "usage"
        turn.reply("usage", command=turn.command, usage=usage)
        return None
    story = repo.story_by_number(turn.session, int(match.group(1)))
    if story is None:
        turn.outcome = "not_found"
        turn.reply("story_not_found", number=int(match.group(1)))
        return None
    if turn.msg.card_version is not None and turn.msg.card_version != story.lock_version:
        # A button on an old card: the story moved on since it was drawn.
        turn.outcome = "stale_button"
        turn.answer("button_stale", story=story)
        turn.touch(story)
        return None
    return story, match.group(2).strip()


def _refuse(turn: Turn, story: Story | None, refusal: Refusal) -> None:
    turn.outcome = f"refused:{refusal.code.value}"
    holder_id = refusal.holder_id or (story.holder_id if story else None)
    holder = turn.desk.people.get(holder_id)
    next_commands = [
        command
        for event in refusal.allowed_events
        for command in COMMANDS
        if command.event is event
    ]
    contacts = {
        person.name
        for role in refusal.roles
        if role is not Role.SYSTEM
        for person in turn.desk.people.with_role(role)
    }
    values = {
        "story": story,
        "refusal": refusal,
        "holder": holder,
        "next_commands": list(dict.fromkeys(next_commands)),
        "missing": [_checklist_label(turn, key) for key in refusal.missing],
        "contacts": sorted(contacts),
    }
    if turn.msg.callback_id:
        turn.answer("refusal", **values)  # shown to the presser only, not to the whole group
    else:
        turn.reply("refusal", **values)


def _checklist_label(turn: Turn, key: str) -> str:
    spec = next((item for item in turn.options.checklist if item.key == key), None)
    return spec.label(turn.locale) if spec else key


def _decide(
    turn: Turn,
    story: Story | None,
    event: StoryEvent,
    *,
    reason: str | None = None,
    missing: tuple[str, ...] = (),
) -> Decision | None:
    assert turn.person is not None
    outcome = decide(
        repo.facts(story) if story else None,
        event,
        turn.person.actor(),
        reason=reason,
        missing_checklist=missing,
    )
    if isinstance(outcome, Refusal):
        _refuse(turn, story, outcome)
        return None
    return outcome


def _apply(turn: Turn, story: Story, decision: Decision, *, reason: str | None = None) -> None:
    assert turn.person is not None
    turn.desk.apply(
        turn.session, story, decision, actor_id=turn.person.id, now=turn.now, reason=reason
    )
    turn.touch(story)
    turn.outcome = decision.transition.event.value


def _attach_media(turn: Turn, story: Story) -> tuple[int, list[dict[str, object]]]:
    """Attach the message's accepted files to the story; return how many, and the refused ones."""
    added, refused = 0, []
    for entry in turn.media:
        if entry.get("kind") == "agenda_file":
            continue  # a spreadsheet or calendar beside coverage is not part of the story
        if entry.get("rejected"):
            refused.append(entry)
            continue
        if added >= turn.options.max_photos:
            refused.append({**entry, "rejected": "count", "limit": turn.options.max_photos})
            continue
        added += repo.attach_media(
            turn.session,
            story_id=story.id or 0,
            sha256=str(entry["sha256"]),
            kind=str(entry["kind"]),
            mime=str(entry["mime"]),
            size=int(entry["size"]),
            stored_path=str(entry["path"]),
            filename=entry.get("filename"),
            caption=entry.get("caption"),
            now=turn.now,
        )
    return added, refused


def _link_origin(turn: Turn, story: Story) -> None:
    repo.link_message(
        turn.session,
        story_id=story.id or 0,
        channel=turn.msg.channel,
        chat_id=turn.msg.chat_id,
        message_id=turn.msg.message_id,
    )


# -- story commands ---------------------------------------------------------------------------


def submit(turn: Turn) -> None:
    """Create a story from a reporter's coverage: title line, body, optional photos."""
    from handlers.agenda import link_submission, strip_named_item

    assert turn.person is not None
    raw = turn.args if turn.command else turn.msg.text
    named, raw = strip_named_item(raw)
    title, body = _split_text(raw)
    if _decide(turn, None, StoryEvent.SUBMIT) is None:
        return
    if not _check_text(turn, title, body, raw=raw):
        return
    story = repo.create_story(
        turn.session,
        title=title,
        body=body,
        reporter_id=turn.person.id,
        channel=turn.msg.channel,
        chat_id=turn.msg.chat_id,
        now=turn.now,
        policy=turn.options.sla,
    )
    added, refused = _attach_media(turn, story)
    _link_origin(turn, story)
    link = link_submission(
        turn.session, turn.desk, story, reporter_id=turn.person.id, named=named, now=turn.now
    )
    turn.touch(story)
    turn.outcome = "submitted"
    turn.reply("story_received", story=story, photos=added, refused=refused, link=link)


def claim(turn: Turn) -> None:
    """Claim a story for editing (also reopens a published story for a correction)."""
    found = _story_from_args(turn, "12")
    if found is None:
        return
    story, _ = found
    decision = _decide(turn, story, StoryEvent.CLAIM)
    if decision is None:
        return
    reopened = story.state == StoryState.PUBLISHED
    _apply(turn, story, decision)
    version = repo.current_text(turn.session, story)
    turn.reply("story_claimed", story=story, version=version, reopened=reopened)


def update_text(turn: Turn) -> None:
    """Store a new version of a story's text: /revisi 12 followed by the full new text."""
    found = _story_from_args(turn, "12 <judul>\n<isi berita>")
    if found is None:
        return
    story, text = found
    _new_text(turn, story, text)


def _reply_to_story(turn: Turn, story: Story) -> None:
    """A reply to a story's message: new text (a version or a resubmission), or more photos."""
    if turn.msg.text.strip():
        _new_text(turn, story, turn.msg.text)
        return
    assert turn.person is not None
    if turn.person.id != story.reporter_id and turn.person.id != story.holder_id:
        turn.outcome = "ignored"
        return
    added, refused = _attach_media(turn, story)
    repo.audit(
        turn.session,
        story_id=story.id,
        actor_id=turn.person.id,
        event="media_added",
        now=turn.now,
        detail={"count": added},
    )
    turn.outcome = "media_added"
    turn.touch(story)
    turn.reply("media_added", story=story, photos=added, refused=refused)


def _new_text(turn: Turn, story: Story, text: str) -> None:
    assert turn.person is not None
    state = StoryState(story.state)
    # A reporter (who is not also on the desk) amends or resubmits; the ownership rule of the
    # table then tells another reporter that the story is not theirs.
    as_reporter = Role.REPORTER in turn.person.roles and not turn.person.roles & {
        Role.EDITOR,
        Role.SECTION_HEAD,
    }
    if as_reporter and state is StoryState.REVISION_REQUESTED:
        event = StoryEvent.RESUBMIT
    elif as_reporter and state is StoryState.SUBMITTED:
        event = StoryEvent.AMEND
    else:
        event = StoryEvent.ADD_VERSION
    decision = _decide(turn, story, event)
    if decision is None:
        return
    title, body = _split_text(text)
    if not _check_text(turn, title, body, raw=text):
        return
    previous = repo.current_text(turn.session, story)
    if (previous.title, previous.body) == (title, body):
        turn.outcome = "unchanged"
        turn.reply("version_unchanged", story=story)
        return
    version = repo.add_version(
        turn.session, story, title=title, body=body, author_id=turn.person.id, now=turn.now
    )
    added, refused = _attach_media(turn, story)
    turn.touch(story)
    if decision.changes_state:
        _apply(turn, story, decision)
    else:
        repo.audit(
            turn.session,
            story_id=story.id,
            actor_id=turn.person.id,
            event=event.value,
            from_state=story.state,
            to_state=story.state,
            now=turn.now,
            detail={"version": version.number},
        )
        turn.outcome = event.value
    _link_origin(turn, story)
    if event is StoryEvent.RESUBMIT and turn.msg.chat_id != story.origin_chat:
        turn.desk.announce(turn.session, story, "story_back_from_revision", now=turn.now)
    turn.reply(
        "story_resubmitted" if event is StoryEvent.RESUBMIT else "version_added",
        story=story,
        version=version,
        photos=added,
        refused=refused,
    )


def list_versions(turn: Turn) -> None:
    """List a story's versions and show what the last change altered."""
    found = _story_from_args(turn, "12")
    if found is None:
        return
    story, _ = found
    versions = repo.versions(turn.session, story.id or 0)
    authors = {version.author_id: turn.desk.people.get(version.author_id) for version in versions}
    diff: list[str] = []
    if len(versions) >= 2:
        before, after = versions[-2], versions[-1]
        diff = list(
            difflib.unified_diff(
                f"{before.title}\n{before.body}".splitlines(),
                f"{after.title}\n{after.body}".splitlines(),
                f"v{before.number}",
                f"v{after.number}",
                n=1,
                lineterm="",
            )
        )[2:]
    turn.outcome = "versions"
    turn.reply("story_versions", story=story, versions=versions, authors=authors, diff=diff)


def verify(turn: Turn) -> None:
    """Confirm checklist items (/verifikasi 12 fakta nama, or semua); verify when all are done."""
    found = _story_from_args(
        turn, "12 [semua | " + " ".join(i.key for i in turn.options.checklist) + "]"
    )
    if found is None:
        return
    story, rest = found
    if _decide(turn, story, StoryEvent.VERIFY) is None:
        return
    assert turn.person is not None
    checklist = turn.options.checklist
    keys = {item.key for item in checklist}
    words = [word.strip(",.;").lower() for word in rest.split() if word.strip(",.;")]
    if any(word in _CONFIRM_ALL for word in words):
        chosen = [item.key for item in checklist]
    else:
        unknown = [word for word in words if word not in keys]
        if unknown:
            turn.outcome = "unknown_checklist_item"
            turn.reply("checklist_unknown", story=story, unknown=unknown, checklist=checklist)
            return
        chosen = words
    repo.mark_checklist(
        turn.session,
        story_id=story.id or 0,
        version=story.current_version,
        items=chosen,
        person_id=turn.person.id,
        now=turn.now,
    )
    marks = repo.checklist_marks(turn.session, story.id or 0, story.current_version)
    missing = tuple(item.key for item in checklist if item.required and item.key not in marks)
    decision = _decide(turn, story, StoryEvent.VERIFY, missing=missing) if not missing else None
    if missing or decision is None:
        if missing:
            turn.outcome = "checklist_progress"
            names = {
                mark.person_id: turn.desk.people.get(mark.person_id) for mark in marks.values()
            }
            turn.reply(
                "checklist_progress", story=story, checklist=checklist, marks=marks, names=names
            )
        return
    confirmed = {key: mark.person_id for key, mark in marks.items()}
    turn.desk.apply(
        turn.session,
        story,
        decision,
        actor_id=turn.person.id,
        now=turn.now,
        reason=None,
        detail={"checklist": confirmed, "version": story.current_version},
    )
    turn.touch(story)
    turn.outcome = "verify"
    turn.reply("story_verified", story=story)


def request_revision(turn: Turn) -> None:
    """Send a story back to its reporter with the reason (/kembalikan 12 nama pejabat kurang)."""
    _with_reason(turn, StoryEvent.REQUEST_REVISION, "story_returned", "revision_requested_private")


def spike(turn: Turn) -> None:
    """Drop a story that will not be published, with the reason."""
    _with_reason(turn, StoryEvent.SPIKE, "story_spiked", "story_spiked_private")


def _with_reason(turn: Turn, event: StoryEvent, chat_message: str, private_message: str) -> None:
    found = _story_from_args(turn, "12 <alasan>")
    if found is None:
        return
    story, reason = found
    decision = _decide(turn, story, event, reason=reason)
    if decision is None:
        return
    _apply(turn, story, decision, reason=reason)
    reporter = turn.desk.people.get(story.reporter_id)
    assert reporter is not None
    told = turn.tell(reporter, private_message, story=story, reason=reason, by=turn.person)
    turn.reply(chat_message, story=story, reason=reason, reporter=reporter, told=told)


def publish(turn: Turn) -> None:
    """Publish a verified story to every configured website at once."""
    found = _story_from_args(turn, "12")
    if found is None:
        return
    story, _ = found
    decision = _decide(turn, story, StoryEvent.PUBLISH)
    if decision is None:
        return
    _apply(turn, story, decision)
    for target in turn.options.targets:
        repo.enqueue_publish(
            turn.session,
            story_id=story.id or 0,
            target=target,
            publish_round=story.lock_version,
            now=turn.now,
        )
    turn.reply("story_publishing", story=story, targets=turn.options.targets)


def release(turn: Turn) -> None:
    """Give a claimed story back so another editor can take it."""
    _simple(turn, StoryEvent.RELEASE, "story_released")


def archive(turn: Turn) -> None:
    """Archive a published story once it is documented (SOP step 7, H+1)."""
    _simple(turn, StoryEvent.ARCHIVE, "story_archived")


def _simple(turn: Turn, event: StoryEvent, message: str) -> None:
    found = _story_from_args(turn, "12")
    if found is None:
        return
    story, _ = found
    decision = _decide(turn, story, event)
    if decision is None:
        return
    _apply(turn, story, decision)
    turn.reply(message, story=story)


# -- publishing targets -----------------------------------------------------------------------

_URL = re.compile(r"^https?://\S+$")


def _publishing(turn: Turn, usage: str) -> tuple[Story, str, list] | None:
    """The story (which must be publishing, or published for /terbit) and its latest jobs."""
    found = _story_from_args(turn, usage)
    if found is None:
        return None
    story, rest = found
    assert turn.person is not None
    if not turn.person.roles & {Role.OPERATOR, Role.SECTION_HEAD}:
        _refuse(
            turn,
            story,
            Refusal(Refused.ROLE, StoryEvent.PUBLISH, roles=(Role.SECTION_HEAD, Role.OPERATOR)),
        )
        return None
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
        if job.status in ("failed", "retrying") and (wanted is None or job.target == wanted)
    ]
    for job in chosen:
        job.status, job.attempts, job.next_attempt_at = "pending", 0, turn.now
        turn.session.add(job)
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
    if job.status == "succeeded":
        turn.outcome = "already_published"
        turn.reply("target_already_done", story=story, target=job.target)
        return
    job.status, job.done_at, job.claimed_until = "abandoned", turn.now, None
    job.result = {**job.result, "reason": reason.strip()}
    turn.session.add(job)
    _target_event(turn, story, "publish_abandoned", job.target, reason=reason.strip())
    turn.outcome = "publish_abandoned"
    turn.reply("target_abandoned", story=story, target=job.target, reason=reason.strip())
    turn.desk.settle_publishing(turn.session, story, turn.now)


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
    job.status, job.done_at, job.claimed_until = "succeeded", turn.now, None
    job.result = {**job.result, "permalink": parts[1], "reported": True}
    turn.session.add(job)
    _target_event(turn, story, "publish_reported", job.target, url=parts[1])
    turn.outcome = "publish_reported"
    turn.reply("target_reported", story=story, target=job.target, url=parts[1])
    turn.desk.settle_publishing(turn.session, story, turn.now)


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


# -- story cards ------------------------------------------------------------------------------

# The buttons under a story's card in each state: (label in the templates, command alias, args).
CARD_BUTTONS: dict[StoryState, tuple[tuple[str, str, str], ...]] = {
    StoryState.SUBMITTED: (("claim", "sunting", ""),),
    # Sending back and spiking need a typed reason, so they have no button.
    StoryState.EDITING: (("verify", "verifikasi", "semua"), ("release", "lepas", "")),
    StoryState.VERIFIED: (("publish", "terbitkan", ""),),
    StoryState.PUBLISHED: (("archive", "arsipkan", ""), ("correct", "sunting", "")),
}


def card_buttons(renderer: Renderer, story: Story) -> list[Button]:
    """The buttons a story's card shows now; each press is checked like the typed command."""
    return [
        Button(
            label=renderer.render("button_label", key=key),
            command=f"/{alias} {story.number} {args}".strip(),
            story_number=story.number,
            card_version=story.lock_version,
        )
        for key, alias, args in CARD_BUTTONS.get(StoryState(story.state), ())
    ]


# -- information ------------------------------------------------------------------------------


def status(turn: Turn) -> None:
    """Show one story: state, who holds it, versions, photos, deadline and published links."""
    found = _story_from_args(turn, "12")
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
        for command in COMMANDS
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
    turn.reply("late_list", **_watch(turn).late_values(turn.session, turn.now))


def digest(turn: Turn) -> None:
    """Show the daily digest: yesterday's, or of the day asked for."""
    from handlers.watch import digest_day

    today = turn.now.astimezone(turn.options.tz).date()
    day = digest_day(turn.args, today=today)
    if day is None:
        turn.outcome = "bad_date"
        turn.reply("digest_day_unclear", argument=turn.args.strip())
        return
    turn.outcome = "digest"
    turn.reply("daily_digest", **_watch(turn).digest_values(turn.session, day, turn.now))


def _watch(turn: Turn) -> Watch:
    from handlers.watch import Watch

    return turn.desk.watch or Watch(turn.desk)


def show_help(turn: Turn) -> None:
    """List the commands the asker's roles allow."""
    roles = turn.person.roles if turn.person else frozenset()
    commands = [command for command in COMMANDS if command.visible_to(roles)]
    turn.outcome = "help"
    turn.reply("help", commands=commands, registered=turn.person is not None)


def whoami(turn: Turn) -> None:
    """Say who Warta thinks you are, your roles and your address on this channel."""
    turn.outcome = "whoami"
    turn.reply("whoami", channel=turn.msg.channel, address=turn.msg.sender)


_EVERYONE = None
_PEOPLE = frozenset(PEOPLE_ROLES)
_WRITERS = frozenset({Role.SECTION_HEAD, Role.EDITOR, Role.REPORTER})
_PUBLISHERS = frozenset({Role.SECTION_HEAD, Role.OPERATOR})
_STAFF = frozenset({Role.SECTION_HEAD, Role.EDITOR, Role.OPERATOR})
_PLANNERS = frozenset({Role.SECTION_HEAD, Role.EDITOR})
_REPORTERS = frozenset({Role.REPORTER})

COMMANDS: tuple[Command, ...] = (
    Command("submit", "kirim", submit, "<judul>\n<isi berita>", event=StoryEvent.SUBMIT),
    Command("edit", "sunting", claim, "12", event=StoryEvent.CLAIM),
    Command("update", "revisi", update_text, "12 <judul>\n<isi berita>", roles=_WRITERS),
    Command("versions", "versi", list_versions, "12", roles=_PEOPLE),
    Command("verify", "verifikasi", verify, "12 [semua | butir …]", event=StoryEvent.VERIFY),
    Command(
        "revise", "kembalikan", request_revision, "12 <alasan>", event=StoryEvent.REQUEST_REVISION
    ),
    Command("spike", "batal", spike, "12 <alasan>", event=StoryEvent.SPIKE),
    Command("publish", "terbitkan", publish, "12", event=StoryEvent.PUBLISH),
    Command("retry", "ulang", retry_publish, "12 [situs]", roles=_PUBLISHERS),
    Command("abandon", "abaikan", abandon_target, "12 <situs> <alasan>", roles=_PUBLISHERS),
    Command("published", "terbit", report_published, "12 <situs> <alamat>", roles=_PUBLISHERS),
    Command("release", "lepas", release, "12", event=StoryEvent.RELEASE),
    Command("archive", "arsipkan", archive, "12", event=StoryEvent.ARCHIVE),
    Command("status", "status", status, "12", roles=_PEOPLE),
    Command("list", "daftar", list_open, roles=_PEOPLE),
    Command("late", "terlambat", late, roles=_PEOPLE),
    Command(
        "agenda", "agenda", agenda, "[besok | Senin | tambah … | ubah … | batal …]", roles=_PEOPLE
    ),
    Command("assign", "tugaskan", assign, "3 <reporter>", roles=_PLANNERS),
    Command("accept", "terima", accept, "[3]", roles=_REPORTERS),
    Command("decline", "tolak", decline, "[3] <alasan>", roles=_REPORTERS),
    Command(
        "roster", "roster", roster, "[2026-12 | buat 2026-12 | setujui 2026-12]", roles=_PEOPLE
    ),
    Command("swap", "tukar", swap_duty, "<tanggal> <orang>", roles=_PLANNERS),
    Command("leave", "cuti", leave, "<orang> <tanggal>", roles=_PLANNERS),
    Command("duty", "piket", duty, "[besok | tanggal]", roles=_PEOPLE),
    Command("digest", "ringkasan", digest, "[kemarin | hari ini | 2026-12-02]", roles=_STAFF),
    Command("help", "bantuan", show_help, roles=_EVERYONE),
    Command("whoami", "siapa", whoami, roles=_EVERYONE),
)

BY_NAME: dict[str, Command] = {
    **{command.name: command for command in COMMANDS},
    **{command.alias: command for command in COMMANDS},
    "start": next(command for command in COMMANDS if command.name == "help"),
}
