"""The normalized inbound message every channel produces, what the desk knows of each channel,
and the desk's options."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from workflow.sla import SlaPolicy

DEFAULT_DIGEST_AT = time(7, 0)


class ChatKind(StrEnum):
    GROUP = "group"
    PRIVATE = "private"


@dataclass(frozen=True)
class InboundMedia:
    """A file that came with a message; the bytes are checked before they are stored."""

    kind: str
    data: bytes
    filename: str | None = None
    mime: str | None = None
    caption: str | None = None
    problem: str | None = None
    """Why the channel could not fetch the file (``too_large``, ``download_failed``)."""
    size: int = 0


@dataclass(frozen=True)
class InboundMessage:
    """One message from any channel: who, which chat, what it says and what it answers."""

    channel: str
    chat_id: str
    message_id: str
    sender: str
    text: str = ""
    sender_name: str | None = None
    chat_kind: ChatKind = ChatKind.GROUP
    media: tuple[InboundMedia, ...] = ()
    reply_to_message_id: str | None = None
    notes: tuple[str, ...] = field(default=())
    group_id: str | None = None
    """Parts of one album share it; Warta waits for the last part and makes one story."""
    callback_id: str | None = None
    """Set when the message is a button press; the answer goes back to the button."""
    card_version: int | None = None
    """The story version the pressed button was drawn for; an older one is refused as stale."""


@dataclass(frozen=True)
class Button:
    """A button under a story card: its label and the command it sends when pressed."""

    label: str
    command: str
    story_number: int
    card_version: int


@dataclass(frozen=True)
class ChannelTraits:
    """What the desk must know of a running channel, as plain data (no channel library)."""

    name: str
    group: tuple[str, ...] = ()
    """The addresses that make up the desk's group on this channel (cards and news go there)."""
    edit_in_place: bool = True
    """False: a sent message cannot be changed, so a card is re-sent on state changes only."""
    buttons: bool = True
    """False: cards and questions list the commands to type instead of buttons."""
    private: bool = True
    """Whether Warta can reach a person one to one on this channel."""
    virtual_group: bool = False
    """The channel has no group Warta can join (WhatsApp): the desk's group on it is every
    member reached one to one, each getting what concerns them (or everything)."""
    relay_chat: bool = False
    """In a virtual group, a member's plain chat is passed on to the other members."""
    album_quiet: timedelta = timedelta(seconds=3)
    """Photos sent together arrive as parts; the album is complete after this much quiet."""
    quick_replies: int = 0
    """Without buttons, how many of a card's typed commands may also go as tap-to-send replies."""


@dataclass(frozen=True)
class ChecklistSpec:
    key: str
    labels: dict[str, str]
    required: bool = True

    def label(self, locale: str) -> str:
        return self.labels.get(locale) or next(iter(self.labels.values()))


@dataclass(frozen=True)
class ArchiveOptions:
    """H+1 documentation: automatic archiving before the deadline."""

    auto: bool = False
    lead: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class CopyOptions:
    """The e-mail copy and the chat copy of one reporter's coverage (SOP step 4)."""

    within: timedelta = timedelta(hours=2)
    similarity: float = 0.8
    remind_missing: bool = False
    remind_after: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class AgendaOptions:
    """The agenda, assignments and roster settings the handlers need."""

    announce_at: time | None = time(15, 0)
    """The H-1 announcement of tomorrow's agenda (local time), or None."""
    default_duration: timedelta = timedelta(hours=2)
    answer_within: timedelta = timedelta(hours=2)
    remind_before: timedelta = timedelta(hours=1)
    roster_people: tuple[str, ...] = ()
    """Person keys eligible for duty; empty means every reporter and editor."""
    shifts: tuple[str, ...] = ("piket",)
    weekend_shifts: tuple[str, ...] = ()
    holiday_shifts: tuple[str, ...] = ()
    shift_times: dict[str, tuple[time, time]] = field(
        default_factory=lambda: {"piket": (time(7, 30), time(16, 0))}
    )
    duty_announce_at: time | None = time(7, 0)
    """When the group is told who is on duty today, or None."""


@dataclass(frozen=True)
class DeskOptions:
    """What the handlers need from the configuration, without depending on its file format."""

    tz: ZoneInfo
    locale: str
    sla: SlaPolicy
    checklist: tuple[ChecklistSpec, ...]
    targets: tuple[str, ...]
    max_text_chars: int = 20_000
    max_title_chars: int = 200
    max_photos: int = 20
    channels: tuple[ChannelTraits, ...] = ()
    """The running channels, in the configuration's order (the order private messages try)."""
    remind_in: tuple[str, ...] = ("group", "private")
    """Where reminders go: the group (naming who must act), privately, or both."""
    missed: str = "late"
    """Alarms that fell due while Warta was down: sent "late" one by one, or "fold"ed into one
    catch-up message per chat."""
    late_after: timedelta = timedelta(minutes=5)
    """An alarm sent this long after its moment is marked as late."""
    digest_at: time | None = DEFAULT_DIGEST_AT
    """When the section head gets the daily digest (local time), or None for never."""
    agenda: AgendaOptions = field(default_factory=AgendaOptions)
    archive: ArchiveOptions = field(default_factory=ArchiveOptions)
    copies: CopyOptions | None = None
    """With the official mailbox: how its copy and the chat copy of coverage become one story."""

    @property
    def card_chats(self) -> tuple[tuple[str, str], ...]:
        """(channel, chat) pairs where every story has a living card: the desk's group (a
        virtual group's members are added per story, see :class:`handlers.reach.Reach`)."""
        return tuple((c.name, address) for c in self.channels for address in c.group)
