"""Story cards: one living message per story in the desk's group, with the next commands."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from handlers import copies
from handlers.messages import Button, DeskOptions
from handlers.reach import Reach
from handlers.render import Renderer
from storage import repo
from storage.db import Database
from storage.models import Story
from workflow.lifecycle import StoryState

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


@dataclass(frozen=True)
class CardView:
    """A card as one chat should see it now; ``skip`` when that chat needs nothing new (a
    channel that cannot edit in place gets a card only when the story changes state)."""

    text: str
    buttons: list[Button]
    message_id: str | None
    state: str
    skip: bool = False


class Cards:
    """Asks for cards to be drawn, tells the dispatcher what to draw, and remembers it."""

    def __init__(
        self,
        *,
        db: Database,
        renderer: Renderer,
        options: DeskOptions,
        people: Callable[[], repo.PeopleDirectory],
        reach: Reach,
    ) -> None:
        self.db, self.renderer, self.options = db, renderer, options
        self._people = people
        self.reach = reach

    def enqueue(self, session: Session, story: Story, now: datetime) -> None:
        """Ask for the story's card to be redrawn in every card chat — the desk's group, and
        the members of a virtual group who follow this story (once, however many changes
        come before it is drawn)."""
        for channel, chat_id in self.reach.group_chats(session, about=story, fallback=False):
            repo.enqueue_card(
                session, story_id=story.id or 0, channel=channel, chat_id=chat_id, now=now
            )

    def view(self, story_id: int, channel: str, chat_id: str, *, now: datetime) -> CardView:
        """The card of a story as ``chat_id`` on ``channel`` should show it now."""
        traits = next((c for c in self.options.channels if c.name == channel), None)
        in_place = traits is None or traits.edit_in_place
        with_buttons = traits is None or traits.buttons
        replies = 0 if traits is None or with_buttons else traits.quick_replies
        people = self._people()
        with self.db.transaction() as session:
            story = session.get(Story, story_id)
            assert story is not None
            drawn = repo.card_record(session, story_id, channel, chat_id)
            message_id = drawn.message_id if drawn else None
            if not in_place and drawn is not None and drawn.state == story.state:
                return CardView("", [], message_id, story.state, skip=True)
            buttons = card_buttons(self.renderer, story)
            text = self.renderer.render(
                "story_card",
                now=now,
                story=story,
                reporter=people.get(story.reporter_id),
                holder=people.get(story.holder_id),
                photos=len(repo.media_of(session, story_id)),
                publications=repo.latest_publications(session, story_id),
                compact=not in_place,
                typed=[] if with_buttons else [button.command for button in buttons],
                copies=copies.shown(session, story_id) if self.options.copies else {},
            )
            return CardView(
                text=text,
                buttons=buttons if with_buttons else buttons[:replies],
                message_id=message_id if in_place else None,
                state=story.state,
            )

    def shown(
        self,
        item_id: int,
        *,
        story_id: int,
        channel: str,
        chat_id: str,
        message_id: str | None,
        state: str,
        now: datetime,
    ) -> None:
        """Remember which message shows the card (a reply to it reaches the story) and the
        state it shows; settle the outbox item."""
        with self.db.transaction() as session:
            if message_id:
                repo.save_card(
                    session,
                    story_id=story_id,
                    channel=channel,
                    chat_id=chat_id,
                    message_id=message_id,
                    state=state,
                    now=now,
                )
                repo.link_message(
                    session,
                    story_id=story_id,
                    channel=channel,
                    chat_id=chat_id,
                    message_id=message_id,
                )
            repo.mark_done(session, item_id, now=now, result={"message_id": message_id})
