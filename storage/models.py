"""The sqlmodel tables; the database row is the source of truth for every story."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Text, TypeDecorator, UniqueConstraint, text
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always hands them back aware (SQLite forgets zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utc_column(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def text_column(*, nullable: bool = False) -> Any:
    return Field(sa_column=Column(Text, nullable=nullable))


def json_column() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Person(SQLModel, table=True):
    """A member of the desk, mirrored from config.yaml at start."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=64)
    name: str = Field(max_length=200)
    locale: str | None = Field(default=None, max_length=8)
    active: bool = True
    prefer: str | None = Field(default=None, max_length=32)
    """The channel to reach the person privately on, when they have several."""


class PersonRole(SQLModel, table=True):
    person_id: int = Field(foreign_key="person.id", primary_key=True)
    role: str = Field(primary_key=True, max_length=32)


class Identity(SQLModel, table=True):
    """How a person is recognised on a channel: Telegram user id, WhatsApp number, e-mail."""

    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    channel: str = Field(max_length=32)
    address: str = Field(max_length=200)


class Counter(SQLModel, table=True):
    """Named counters (the short story numbers), bumped atomically."""

    name: str = Field(primary_key=True, max_length=32)
    value: int = 0


class Story(SQLModel, table=True):
    # A state's or a reporter's stories newest first straight from an index (search filters
    # walk them until enough are found); the creation time for date ranges.
    __table_args__ = (
        Index("ix_story_state_newest", "state", "id"),
        Index("ix_story_reporter_newest", "reporter_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: int = Field(unique=True)
    title: str = Field(max_length=500)
    state: str = Field(max_length=32)
    reporter_id: int = Field(foreign_key="person.id")
    holder_id: int | None = Field(default=None, foreign_key="person.id")
    current_version: int = 1
    origin_channel: str = Field(max_length=32)
    origin_chat: str = Field(max_length=200)
    step: str | None = Field(default=None, max_length=32)
    step_started_at: datetime | None = utc_column(nullable=True)
    step_due_at: datetime | None = utc_column(nullable=True, index=True)
    created_at: datetime = utc_column(index=True)
    updated_at: datetime = utc_column()
    last_reason: str | None = text_column(nullable=True)
    lock_version: int = 1


class StoryVersion(SQLModel, table=True):
    """The full text of every version of a story, who wrote it and when."""

    __table_args__ = (UniqueConstraint("story_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    story_id: int = Field(foreign_key="story.id", index=True)
    number: int
    title: str = Field(max_length=500)
    body: str = text_column()
    author_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = utc_column()
    note: str | None = Field(default=None, max_length=200)


class Media(SQLModel, table=True):
    """A file attached to a story, stored in the media folder under its content hash."""

    __table_args__ = (UniqueConstraint("story_id", "sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    story_id: int = Field(foreign_key="story.id", index=True)
    sha256: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    mime: str = Field(max_length=100)
    size: int
    stored_path: str = Field(max_length=300)
    filename: str | None = Field(default=None, max_length=300)
    caption: str | None = text_column(nullable=True)
    position: int = 0
    created_at: datetime = utc_column()


class ChecklistMark(SQLModel, table=True):
    """One verification checklist item confirmed by a person for one version of a story."""

    __table_args__ = (UniqueConstraint("story_id", "version", "item"),)

    id: int | None = Field(default=None, primary_key=True)
    story_id: int = Field(foreign_key="story.id", index=True)
    version: int
    item: str = Field(max_length=64)
    person_id: int = Field(foreign_key="person.id")
    at: datetime = utc_column()


class AuditEvent(SQLModel, table=True):
    """Append-only trail: who did what to which story, when, from which state to which, and why."""

    id: int | None = Field(default=None, primary_key=True)
    story_id: int | None = Field(default=None, foreign_key="story.id", index=True)
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    at: datetime = utc_column()
    event: str = Field(max_length=48)
    from_state: str | None = Field(default=None, max_length=32)
    to_state: str | None = Field(default=None, max_length=32)
    reason: str | None = text_column(nullable=True)
    detail: dict[str, Any] = json_column()


class StoryMessage(SQLModel, table=True):
    """A chat message that belongs to a story, so a reply to it reaches that story."""

    __table_args__ = (UniqueConstraint("channel", "chat_id", "message_id"),)

    id: int | None = Field(default=None, primary_key=True)
    story_id: int = Field(foreign_key="story.id", index=True)
    channel: str = Field(max_length=32)
    chat_id: str = Field(max_length=200)
    message_id: str = Field(max_length=200)


class InboxMessage(SQLModel, table=True):
    """Every inbound message, stored once (by channel, chat and message id) before any reply."""

    __table_args__ = (UniqueConstraint("channel", "chat_id", "message_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    chat_id: str = Field(max_length=200)
    message_id: str = Field(max_length=200)
    sender: str = Field(max_length=200)
    text: str | None = text_column(nullable=True)
    payload: dict[str, Any] = json_column()
    group_id: str | None = Field(default=None, max_length=100, index=True)
    received_at: datetime = utc_column()
    processed_at: datetime | None = utc_column(nullable=True)
    outcome: str | None = Field(default=None, max_length=64)
    attempts: int = 0
    """How often handling this message failed (it is set aside after a few)."""
    last_error: str | None = text_column(nullable=True)


class OutboxItem(SQLModel, table=True):
    """Every outbound message and publish job, written with the change that caused it."""

    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    channel: str | None = Field(default=None, max_length=32)
    recipient: str | None = Field(default=None, max_length=200)
    target: str | None = Field(default=None, max_length=64)
    story_id: int | None = Field(default=None, foreign_key="story.id", index=True)
    inbox_id: int | None = Field(default=None, foreign_key="inboxmessage.id")
    reply_to: str | None = Field(default=None, max_length=200)
    text: str | None = text_column(nullable=True)
    payload: dict[str, Any] = json_column()
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = utc_column()
    claimed_until: datetime | None = utc_column(nullable=True)
    claimed_by: str | None = Field(default=None, max_length=64)
    """The instance working on the item; its claim ends when that instance stops renewing."""
    created_at: datetime = utc_column()
    done_at: datetime | None = utc_column(nullable=True)
    last_error: str | None = text_column(nullable=True)
    result: dict[str, Any] = json_column()


class StoryCard(SQLModel, table=True):
    """The one message per story and chat that shows its living status, edited in place."""

    __table_args__ = (UniqueConstraint("story_id", "channel", "chat_id"),)

    id: int | None = Field(default=None, primary_key=True)
    story_id: int = Field(foreign_key="story.id", index=True)
    channel: str = Field(max_length=32)
    chat_id: str = Field(max_length=200)
    message_id: str = Field(max_length=200)
    state: str | None = Field(default=None, max_length=32)
    """The story state the card shows (a channel that cannot edit in place gets a new card
    only when this changes)."""
    updated_at: datetime = utc_column()


class SlaClock(SQLModel, table=True):
    """One run of a step's clock ("mutu baku"): when it started, when it is due, how it ended.

    A story has at most one open clock; the step it moves to opens the next. Kept for good, so
    the digest and the monthly report can tell what was on time.
    """

    __tablename__ = "sla_clock"
    __table_args__ = (
        Index("ix_sla_clock_open", "outcome", "due_at"),
        # At most one running clock per story, whatever two instances do at once.
        Index(
            "uq_sla_clock_open_story",
            "story_id",
            unique=True,
            sqlite_where=text("outcome = 'open'"),
            postgresql_where=text("outcome = 'open'"),
        ),
        Index(
            "uq_sla_clock_open_assignment",
            "assignment_id",
            unique=True,
            sqlite_where=text("outcome = 'open'"),
            postgresql_where=text("outcome = 'open'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    story_id: int | None = Field(default=None, foreign_key="story.id", index=True)
    assignment_id: int | None = Field(default=None, foreign_key="assignment.id", index=True)
    step: str = Field(max_length=32)
    clock_mode: str = Field(max_length=16)
    started_at: datetime = utc_column()
    due_at: datetime = utc_column()
    outcome: str = Field(default="open", max_length=16)
    finished_at: datetime | None = utc_column(nullable=True, index=True)
    finished_by_id: int | None = Field(default=None, foreign_key="person.id")
    breached_at: datetime | None = utc_column(nullable=True)
    held_by: str | None = Field(default=None, max_length=64)
    """Who held the step at its breach: ``person:<id>`` or ``role:<role>``."""


class SlaAlarm(SQLModel, table=True):
    """A planned reminder or breach of one clock, keyed (clock, point): sent exactly once, in the
    transaction that writes its messages to the outbox."""

    __tablename__ = "sla_alarm"
    __table_args__ = (
        UniqueConstraint("clock_id", "point"),
        Index("ix_sla_alarm_due", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    clock_id: int = Field(foreign_key="sla_clock.id", index=True)
    point: str = Field(max_length=16)
    due_at: datetime = utc_column()
    status: str = Field(default="pending", max_length=16)
    """pending, then sent, late (sent after a downtime), folded (into a catch-up message),
    superseded (a later point of the same clock was due too) or cancelled (the step ended)."""
    done_at: datetime | None = utc_column(nullable=True)
    outbox_id: int | None = Field(default=None, foreign_key="outboxitem.id")


class Lease(SQLModel, table=True):
    """A named lease: the instance holding it (until it expires) is the scheduler leader."""

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=200)
    epoch: int = 1
    acquired_at: datetime = utc_column()
    expires_at: datetime = utc_column()


class PublishedMedia(SQLModel, table=True):
    """A photo already uploaded to a target (by its content), so no retry or correction
    uploads it twice."""

    __tablename__ = "published_media"
    __table_args__ = (UniqueConstraint("target", "sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    target: str = Field(max_length=64)
    sha256: str = Field(max_length=64)
    remote_id: str = Field(max_length=200)
    url: str | None = text_column(nullable=True)
    created_at: datetime = utc_column()


class MemberSetting(SQLModel, table=True):
    """How much of the desk's traffic a member of a virtual group wants on a channel."""

    __tablename__ = "member_setting"

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    channel: str = Field(primary_key=True, max_length=32)
    mode: str = Field(max_length=16)
    """``all`` (every story's progress) or ``mine`` (only what concerns them)."""
    updated_at: datetime = utc_column()


class DailyRun(SQLModel, table=True):
    """A once-a-day job (the digest, announcements) done for a local day: never done twice."""

    job: str = Field(primary_key=True, max_length=32)
    day: str = Field(primary_key=True, max_length=10)
    done_at: datetime = utc_column()
    holder: str | None = Field(default=None, max_length=200)


class AgendaItem(SQLModel, table=True):
    """One event of the city leaders' agenda ("buku jadwal kegiatan"), by command or import."""

    __tablename__ = "agenda_item"

    id: int | None = Field(default=None, primary_key=True)
    number: int = Field(unique=True)
    title: str = Field(max_length=500)
    leaders: str = Field(default="", max_length=500)
    place: str = Field(default="", max_length=500)
    starts_at: datetime = utc_column(index=True)
    ends_at: datetime = utc_column()
    all_day: bool = False
    open_end: bool = False
    notes: str = text_column()
    source: str = Field(max_length=16)
    source_key: str | None = Field(default=None, max_length=300, unique=True)
    status: str = Field(default="planned", max_length=16, index=True)
    cancel_reason: str | None = text_column(nullable=True)
    created_by_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()
    announced_at: datetime | None = utc_column(nullable=True)


class Assignment(SQLModel, table=True):
    """A reporter assigned to cover an agenda item: offered, then accepted or declined, and
    finally covered by the story it produced."""

    __table_args__ = (
        Index(
            "uq_assignment_open",
            "item_id",
            "reporter_id",
            unique=True,
            sqlite_where=text("status IN ('offered', 'accepted')"),
            postgresql_where=text("status IN ('offered', 'accepted')"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="agenda_item.id", index=True)
    reporter_id: int = Field(foreign_key="person.id", index=True)
    status: str = Field(default="offered", max_length=16, index=True)
    assigned_by_id: int | None = Field(default=None, foreign_key="person.id")
    assigned_at: datetime = utc_column()
    answer_due_at: datetime | None = utc_column(nullable=True)
    answered_at: datetime | None = utc_column(nullable=True)
    reason: str | None = text_column(nullable=True)
    story_id: int | None = Field(default=None, foreign_key="story.id")
    reminded_at: datetime | None = utc_column(nullable=True)
    alerted_at: datetime | None = utc_column(nullable=True)


class RosterSlot(SQLModel, table=True):
    """One duty post of one day in the monthly roster ("jadwal piket")."""

    __tablename__ = "roster_slot"
    __table_args__ = (UniqueConstraint("day", "shift"),)

    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(max_length=7, index=True)
    day: str = Field(max_length=10, index=True)
    shift: str = Field(max_length=32)
    person_id: int | None = Field(default=None, foreign_key="person.id")
    status: str = Field(default="draft", max_length=16)
    updated_by_id: int | None = Field(default=None, foreign_key="person.id")
    updated_at: datetime = utc_column()


class Leave(SQLModel, table=True):
    """A day a person is on leave (cuti) or otherwise unavailable for duty."""

    __table_args__ = (UniqueConstraint("person_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    day: str = Field(max_length=10, index=True)
    reason: str | None = Field(default=None, max_length=300)
    created_by_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = utc_column()


class DeskEvent(SQLModel, table=True):
    """Append-only record of the agenda book, assignments, the roster and leave: who did what
    and when (the SOP's "buku jadwal kegiatan" and roster changes)."""

    __tablename__ = "desk_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = utc_column(index=True)
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    kind: str = Field(max_length=16)
    action: str = Field(max_length=32)
    item_id: int | None = Field(default=None, foreign_key="agenda_item.id", index=True)
    assignment_id: int | None = Field(default=None, foreign_key="assignment.id")
    day: str | None = Field(default=None, max_length=10)
    detail: dict[str, Any] = json_column()


class WhatsAppContact(SQLModel, table=True):
    """A WhatsApp number Warta talks to: when it last wrote (its 24-hour window), whether a
    message was refused as outside the window since, the nudge, and its photos' burst."""

    __tablename__ = "whatsapp_contact"

    address: str = Field(primary_key=True, max_length=32)
    """The number as the people's config writes it: ``+62…``."""
    last_inbound_at: datetime | None = utc_column(nullable=True)
    closed_at: datetime | None = utc_column(nullable=True)
    """When a free-form message was sent that Twilio refused as outside the window (63016)."""
    nudged_at: datetime | None = utc_column(nullable=True)
    holding: bool = False
    """Messages to this member wait in the outbox until they write."""
    burst_id: str | None = Field(default=None, max_length=64)
    """The album their photos and text of the last few seconds make (one submission)."""
    burst_at: datetime | None = utc_column(nullable=True)
    burst_text: bool = False
    """The burst already has its text (another text starts another submission)."""
    updated_at: datetime = utc_column()


class WhatsAppMessage(SQLModel, table=True):
    """One message Warta sent through Twilio, by its SID, and the furthest state Twilio reported
    for it (status callbacks arrive in any order)."""

    __tablename__ = "whatsapp_message"

    sid: str = Field(primary_key=True, max_length=64)
    address: str = Field(max_length=32)
    sent_as: str = Field(max_length=16)
    """``free`` (free-form, inside the window), ``template``, ``nudge``, or ``unknown``."""
    kind: str | None = Field(default=None, max_length=64)
    """The kind of message (``sla_reminder`` …), as the outbox named it."""
    batch: str = Field(max_length=32, index=True)
    """The parts of one long text share it."""
    text: str | None = text_column(nullable=True)
    """A free-form message's text (on its first part), to send again as a template or after
    the member writes when Twilio says the window was closed."""
    status: str = Field(max_length=16)
    error_code: int | None = None
    requeued: bool = False
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()


class StoryCopy(SQLModel, table=True):
    """Which copies of a story's coverage arrived (SOP step 4: by e-mail *and* in the chat):
    ``side`` is ``email`` or ``chat``; ``outcome`` says what the copy was (the ``first``, the
    ``same`` text, a new ``version``), or ``reminded`` while a missing copy was asked for."""

    __tablename__ = "story_copy"
    __table_args__ = (UniqueConstraint("story_id", "side"),)

    id: int | None = Field(default=None, primary_key=True)
    story_id: int = Field(foreign_key="story.id", index=True)
    side: str = Field(max_length=16)
    outcome: str = Field(max_length=16)
    inbox_id: int | None = Field(default=None)
    at: datetime = utc_column()


class StoryArchive(SQLModel, table=True):
    """A story's H+1 documentation (SOP step 7): asked for, checked, and its record once
    archived (the final text, versions, photos, links, step times and the audit trail)."""

    __tablename__ = "story_archive"

    story_id: int = Field(foreign_key="story.id", primary_key=True)
    status: str = Field(max_length=16)
    """``requested``, ``checking`` (an automatic try), ``problem`` or ``archived``."""
    requested_by: int | None = Field(default=None, foreign_key="person.id")
    force: bool = False
    requested_at: datetime | None = utc_column(nullable=True)
    checked_at: datetime | None = utc_column(nullable=True)
    archived_at: datetime | None = utc_column(nullable=True)
    checks: dict[str, Any] = json_column()
    record: dict[str, Any] = json_column()
