"""The story's commands (SOP steps 4-7): submit, edit, new versions, verify, send back, spike,
publish, release and archive, and what a reply to a story's message does."""

from __future__ import annotations

import difflib
import re

from handlers.copies import find_original, same_text, side_of
from handlers.copies import record as record_copy
from handlers.coverage import link_submission, strip_named_item
from handlers.turn import Turn
from storage import repo
from storage.media import FILENAME_PREFIXES, safe_filename
from storage.models import Story
from workflow.lifecycle import Decision, Refusal, Role, StoryEvent, StoryState, decide

_NUMBER = re.compile(r"^#?(\d{1,9})\b\s*(.*)$", re.DOTALL)
_CONFIRM_ALL = {"semua", "all"}


def split_text(text: str) -> tuple[str, str]:
    lines = text.strip().splitlines()
    title = lines[0].strip() if lines else ""
    body = "\n".join(lines[1:]).strip()
    return title, body


def check_text(turn: Turn, title: str, body: str, *, raw: str) -> bool:
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


def story_from_args(turn: Turn, usage: str) -> tuple[Story, str] | None:
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


def refuse(turn: Turn, story: Story | None, refusal: Refusal) -> None:
    turn.outcome = f"refused:{refusal.code.value}"
    turn.record_refusal(f"{refusal.code.value}:{refusal.event.value}", story=story)
    holder_id = refusal.holder_id or (story.holder_id if story else None)
    holder = turn.desk.people.get(holder_id)
    next_commands = [
        command
        for event in refusal.allowed_events
        for command in turn.commands
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


def decide_or_refuse(
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
        refuse(turn, story, outcome)
        return None
    return outcome


def apply(turn: Turn, story: Story, decision: Decision, *, reason: str | None = None) -> None:
    assert turn.person is not None
    turn.desk.apply(
        turn.session, story, decision, actor_id=turn.person.id, now=turn.now, reason=reason
    )
    turn.touch(story)
    turn.outcome = decision.transition.event.value


def attach_media(turn: Turn, story: Story) -> tuple[int, list[dict[str, object]]]:
    """Attach the message's accepted files to the story; return how many, and the refused ones.

    Each file is named by its place in the story (foto-3.jpg), so the photos of an album or
    of later messages never share a name downstream."""
    added, refused = 0, []
    already: int | None = None  # counted when the first file is attached (most messages have none)
    for entry in turn.media:
        if entry.get("kind") == "agenda_file":
            continue  # a spreadsheet or calendar beside coverage is not part of the story
        if entry.get("rejected"):
            refused.append(entry)
            continue
        if added >= turn.options.max_photos:
            refused.append({**entry, "rejected": "count", "limit": turn.options.max_photos})
            continue
        if already is None:
            already = len(repo.media_of(turn.session, story.id or 0))
        added += repo.attach_media(
            turn.session,
            story_id=story.id or 0,
            sha256=str(entry["sha256"]),
            kind=str(entry["kind"]),
            mime=str(entry["mime"]),
            size=int(entry["size"]),
            stored_path=str(entry["path"]),
            filename=safe_filename(
                None,
                mime=str(entry["mime"]),
                index=already + added + 1,
                prefix=FILENAME_PREFIXES.get(str(entry["kind"]), "berkas"),
            ),
            caption=entry.get("caption"),
            now=turn.now,
        )
    return added, refused


def link_origin(turn: Turn, story: Story) -> None:
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
    assert turn.person is not None
    raw = turn.args if turn.command else turn.msg.text
    named, raw = strip_named_item(raw)
    title, body = split_text(raw)
    if decide_or_refuse(turn, None, StoryEvent.SUBMIT) is None:
        return
    if not check_text(turn, title, body, raw=raw):
        return
    copies = turn.options.copies
    if copies is not None:
        original = find_original(
            turn.session,
            copies,
            reporter_id=turn.person.id,
            channel=turn.msg.channel,
            title=title,
            body=body,
            now=turn.now,
            named_item=named,
        )
        if original is not None:
            take_copy(turn, original, title, body)
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
    added, refused = attach_media(turn, story)
    link_origin(turn, story)
    link = link_submission(
        turn.session, turn.desk, story, reporter_id=turn.person.id, named=named, now=turn.now
    )
    if copies is not None:
        record_copy(
            turn.session,
            story_id=story.id or 0,
            channel=turn.msg.channel,
            outcome="first",
            now=turn.now,
            inbox_id=turn.inbox_id,
        )
    turn.touch(story)
    turn.outcome = "submitted"
    turn.reply("story_received", story=story, photos=added, refused=refused, link=link)


def take_copy(turn: Turn, story: Story, title: str, body: str) -> None:
    """The other copy of a story's coverage (by e-mail and in the chat, SOP step 4): recorded
    as the official copy; a new version where its text differs (and the story may still
    change); its photos added. The story's clock is the first copy's."""
    assert turn.person is not None
    current = repo.current_text(turn.session, story)
    outcome = "same"
    version = None
    if not same_text(title, body, current.title, current.body):
        if StoryState(story.state) is StoryState.SUBMITTED:
            version = repo.add_version(
                turn.session, story, title=title, body=body, author_id=turn.person.id, now=turn.now
            )
            outcome = "version"
        else:
            outcome = "differs"  # being edited already: the editor is told, the text kept
    added, refused = attach_media(turn, story)
    link_origin(turn, story)
    record_copy(
        turn.session,
        story_id=story.id or 0,
        channel=turn.msg.channel,
        outcome="same" if outcome == "differs" else outcome,
        now=turn.now,
        inbox_id=turn.inbox_id,
    )
    repo.audit(
        turn.session,
        story_id=story.id,
        actor_id=turn.person.id,
        event="copy_received",
        now=turn.now,
        detail={"channel": turn.msg.channel, "outcome": outcome, "photos": added},
    )
    turn.touch(story)
    turn.outcome = f"copy_{outcome}"
    turn.reply(
        "story_copy_received",
        story=story,
        side=side_of(turn.msg.channel),
        outcome=outcome,
        version=version,
        photos=added,
        refused=refused,
    )
    holder = turn.desk.people.get(story.holder_id) if story.holder_id else None
    if outcome == "differs" and holder is not None:
        excerpt = body if len(body) <= 1500 else body[:1499].rstrip() + "…"
        turn.tell(
            holder,
            "story_copy_differs",
            story=story,
            side=side_of(turn.msg.channel),
            title=title,
            excerpt=excerpt,
        )


def claim(turn: Turn) -> None:
    """Claim a story for editing (also reopens a published story for a correction)."""
    found = story_from_args(turn, "12")
    if found is None:
        return
    story, _ = found
    decision = decide_or_refuse(turn, story, StoryEvent.CLAIM)
    if decision is None:
        return
    reopened = story.state == StoryState.PUBLISHED
    apply(turn, story, decision)
    version = repo.current_text(turn.session, story)
    turn.reply("story_claimed", story=story, version=version, reopened=reopened)


def update_text(turn: Turn) -> None:
    """Store a new version of a story's text: /revisi 12 followed by the full new text."""
    found = story_from_args(turn, "12 <judul>\n<isi berita>")
    if found is None:
        return
    story, text = found
    _new_text(turn, story, text)


def reply_to_story(turn: Turn, story: Story) -> None:
    """A reply to a story's message: new text (a version or a resubmission), or more photos."""
    if turn.msg.text.strip():
        _new_text(turn, story, turn.msg.text)
        return
    assert turn.person is not None
    if turn.person.id != story.reporter_id and turn.person.id != story.holder_id:
        turn.outcome = "ignored"
        return
    added, refused = attach_media(turn, story)
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
    decision = decide_or_refuse(turn, story, event)
    if decision is None:
        return
    title, body = split_text(text)
    if not check_text(turn, title, body, raw=text):
        return
    previous = repo.current_text(turn.session, story)
    if (previous.title, previous.body) == (title, body):
        turn.outcome = "unchanged"
        turn.reply("version_unchanged", story=story)
        return
    version = repo.add_version(
        turn.session, story, title=title, body=body, author_id=turn.person.id, now=turn.now
    )
    added, refused = attach_media(turn, story)
    turn.touch(story)
    if decision.changes_state:
        apply(turn, story, decision)
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
    link_origin(turn, story)
    if event is StoryEvent.RESUBMIT and turn.msg.chat_id != story.origin_chat:
        turn.desk.reach.announce(turn.session, story, "story_back_from_revision", now=turn.now)
    turn.reply(
        "story_resubmitted" if event is StoryEvent.RESUBMIT else "version_added",
        story=story,
        version=version,
        photos=added,
        refused=refused,
    )


def list_versions(turn: Turn) -> None:
    """List a story's versions and show what the last change altered."""
    found = story_from_args(turn, "12")
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
    found = story_from_args(
        turn, "12 [semua | " + " ".join(i.key for i in turn.options.checklist) + "]"
    )
    if found is None:
        return
    story, rest = found
    if decide_or_refuse(turn, story, StoryEvent.VERIFY) is None:
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
    decision = (
        decide_or_refuse(turn, story, StoryEvent.VERIFY, missing=missing) if not missing else None
    )
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
    found = story_from_args(turn, "12 <alasan>")
    if found is None:
        return
    story, reason = found
    decision = decide_or_refuse(turn, story, event, reason=reason)
    if decision is None:
        return
    apply(turn, story, decision, reason=reason)
    reporter = turn.desk.people.get(story.reporter_id)
    assert reporter is not None
    told = turn.tell(reporter, private_message, story=story, reason=reason, by=turn.person)
    turn.reply(chat_message, story=story, reason=reason, reporter=reporter, told=told)


def publish(turn: Turn) -> None:
    """Publish a verified story to every configured website at once."""
    found = story_from_args(turn, "12")
    if found is None:
        return
    story, _ = found
    decision = decide_or_refuse(turn, story, StoryEvent.PUBLISH)
    if decision is None:
        return
    apply(turn, story, decision)
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


def _simple(turn: Turn, event: StoryEvent, message: str) -> None:
    found = story_from_args(turn, "12")
    if found is None:
        return
    story, _ = found
    decision = decide_or_refuse(turn, story, event)
    if decision is None:
        return
    apply(turn, story, decision)
    turn.reply(message, story=story)
