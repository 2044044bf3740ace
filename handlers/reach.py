"""Where Warta's words go: the desk's group on every running channel, or one person privately."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel import Session

from handlers.messages import Button, ChannelTraits, DeskOptions
from handlers.render import Renderer
from storage import repo
from storage.models import Story
from workflow.lifecycle import Role

log = logging.getLogger(__name__)

ALL, MINE = "all", "mine"
FOLLOWERS = frozenset({Role.SECTION_HEAD, Role.EDITOR, Role.OPERATOR})


def default_mode(roles: frozenset[Role]) -> str:
    """Editors, operators and the Kasi follow every story; reporters their own."""
    return ALL if roles & FOLLOWERS else MINE


class Reach:
    """Addresses messages using only the channels that are configured and running."""

    def __init__(
        self,
        *,
        renderer: Renderer,
        options: DeskOptions,
        people: Callable[[], repo.PeopleDirectory],
    ) -> None:
        self.renderer = renderer
        self.options = options
        self._people = people

    def channel(self, name: str | None) -> ChannelTraits | None:
        return next((c for c in self.options.channels if c.name == name), None)

    def private_channel(self, person: repo.PersonRecord, prefer: str | None = None) -> str | None:
        """The running channel to reach ``person`` one to one on: the one they chose
        (``people[].prefer``), else ``prefer`` (the channel of the conversation at hand),
        else the first running channel in the configuration's order — each only when they
        have an address there; None when no running channel knows them."""
        usable = [c.name for c in self.options.channels if c.private and c.name in person.addresses]
        for wanted in (person.prefer, prefer):
            if wanted in usable:
                return wanted
        return usable[0] if usable else None

    def group_chats(
        self, session: Session, *, about: Story | None = None, fallback: bool = True
    ) -> list[tuple[str, str]]:
        """The desk's group, where Warta posts its own news: the group addresses every running
        channel declares, and on a channel with a virtual group each member who wants this
        news (:meth:`members`); else the group chat Warta heard from most recently on a
        running channel (never a private chat); empty when Warta knows no group yet."""
        chats = list(self.options.card_chats)
        for channel in self.options.channels:
            if channel.virtual_group:
                chats += [(channel.name, chat) for chat in self.members(session, channel, about)]
        if chats or not fallback or any(c.virtual_group for c in self.options.channels):
            return chats
        found = repo.latest_group_chat(session)
        if found is None or self.channel(found[0]) is None:
            log.warning("no group chat is configured or known; group messages are not sent")
            return []
        return [found]

    def members(
        self, session: Session, channel: ChannelTraits, about: Story | None = None
    ) -> list[str]:
        """The members of a channel's virtual group who get news ``about`` a story (or the
        desk's news): everyone in ``all`` mode; in ``mine`` mode only the story's reporter and
        holder. Editors, operators and the section head follow everything unless they chose
        less (``/senyap``); reporters their own stories unless they chose more (``/ramai``)."""
        modes = repo.member_modes(session, channel.name)
        concerned = {about.reporter_id, about.holder_id} if about is not None else set()
        chats = []
        for person in sorted(self._people().by_id.values(), key=lambda p: p.name):
            address = person.addresses.get(channel.name)
            if address is None or not person.roles:
                continue
            mode = modes.get(person.id) or default_mode(person.roles)
            if mode == ALL or person.id in concerned:
                chats.append(address)
        return chats

    def post_to_group(
        self,
        session: Session,
        name: str,
        *,
        now: datetime,
        skip: tuple[str, str] | None = None,
        story_id: int | None = None,
        **values: Any,
    ) -> list[int]:
        """Post Warta's news to the desk's group (see :meth:`group_chats`), in the desk's
        language; ``skip`` is a chat that already has it."""
        written = []
        text: str | None = None
        story = values.get("story")
        about = story if isinstance(story, Story) else None
        for channel, chat in self.group_chats(session, about=about):
            if (channel, chat) == skip:
                continue
            text = text or self.renderer.render(name, now=now, **values)
            written.append(
                repo.enqueue_message(
                    session,
                    channel=channel,
                    recipient=chat,
                    text=text,
                    now=now,
                    story_id=story_id,
                    template=name,
                )
            )
        return written

    def tell_privately(
        self,
        session: Session,
        person: repo.PersonRecord,
        name: str,
        *,
        now: datetime,
        prefer: str | None = None,
        story: Story | None = None,
        buttons: list[Button] | None = None,
        inbox_id: int | None = None,
        **values: Any,
    ) -> int | None:
        """Message ``person`` privately in their language; None when unreachable."""
        channel = self.private_channel(person, prefer)
        if channel is None:
            return None
        traits = self.channel(channel)
        if buttons and traits is not None and not traits.buttons:
            buttons = None  # the text says what to type instead
        values["buttons_shown"] = bool(buttons)
        text = self.renderer.render(
            name,
            locale=self.renderer.locale_for(person.locale),
            now=now,
            person=person,
            story=story,
            **values,
        )
        return repo.enqueue_message(
            session,
            channel=channel,
            recipient=person.addresses[channel],
            text=text,
            now=now,
            story_id=story.id if story else None,
            inbox_id=inbox_id,
            buttons=[vars(button) for button in buttons] if buttons else None,
            template=name,
        )

    def announce(
        self, session: Session, story: Story, name: str, *, now: datetime, **values: Any
    ) -> None:
        """Post Warta's own news about a story to the chat it was submitted in (the desk's
        group when that chat's channel is no longer running)."""
        people = self._people()
        reporter = people.get(story.reporter_id)
        if self.channel(story.origin_channel) is None:
            self.post_to_group(
                session, name, now=now, story=story, reporter=reporter, story_id=story.id, **values
            )
            return
        text = self.renderer.render(name, now=now, story=story, reporter=reporter, **values)
        repo.enqueue_message(
            session,
            channel=story.origin_channel,
            recipient=story.origin_chat,
            text=text,
            now=now,
            story_id=story.id,
            template=name,
        )
