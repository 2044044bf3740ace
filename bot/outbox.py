"""The outbox dispatcher: delivers messages and publish jobs after commit, with retries."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.channels.base import Channel, PermanentSendError, RetryLater
from handlers.cards import CardView
from handlers.delivery import Delivery
from handlers.desk import Clock, Desk, utc_now
from handlers.messages import Button
from publishers.base import Article, ArticlePhoto, Publisher, PublishError
from publishers.format import render_package
from storage import repo
from storage.db import Database
from storage.media import MediaStore
from storage.models import OutboxItem, Story

log = logging.getLogger(__name__)


def backoff(attempt: int, *, base: timedelta, cap: timedelta) -> timedelta:
    """Capped exponential backoff with full jitter between half and the whole delay."""
    delay = min(cap.total_seconds(), base.total_seconds() * 2 ** max(0, attempt - 1))
    return timedelta(seconds=delay * random.uniform(0.5, 1.0))


class OutboxDispatcher:
    """Claims due outbox items, delivers them, and records each outcome in the database."""

    def __init__(
        self,
        *,
        db: Database,
        desk: Desk,
        delivery: Delivery,
        media: MediaStore,
        channels: Mapping[str, Channel],
        publishers: Mapping[str, Publisher],
        clock: Clock = utc_now,
        instance: str = "warta",
        max_attempts: int = 8,
        lease: timedelta = timedelta(seconds=15),
        base_delay: timedelta = timedelta(seconds=5),
        max_delay: timedelta = timedelta(minutes=15),
        message_retry_for: timedelta = timedelta(days=2),
        message_max_delay: timedelta = timedelta(minutes=5),
        documents: Callable[[dict[str, Any]], Path] | None = None,
    ) -> None:
        self.db, self.desk, self.delivery, self.media = db, desk, delivery, media
        self.channels, self.publishers = dict(channels), dict(publishers)
        self.clock = clock
        self.instance = instance
        self.max_attempts, self.lease = max_attempts, lease
        self.base_delay, self.max_delay = base_delay, max_delay
        self.message_retry_for, self.message_max_delay = message_retry_for, message_max_delay
        self.documents = documents
        """Makes the file a message carries (``payload.document``), e.g. a monthly report."""
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        db.after_outbox_commit.append(self.wake)

    def wake(self) -> None:
        """Something was queued: look now rather than at the next tick (any thread)."""
        loop, event = self._loop, self._wake
        if loop is not None and event is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop is closing
                loop.call_soon_threadsafe(event.set)

    async def run_once(self, limit: int = 100) -> int:
        """Deliver what is due now, in order within each lane; return how many were tried."""
        items = await asyncio.to_thread(self._claim, limit, frozenset())
        lanes = _by_lane(items)
        await asyncio.gather(*(self._run_lane(lane_items) for lane_items in lanes.values()))
        return len(items)

    async def drain(self, *, rounds: int = 20) -> None:
        """Run until nothing is due (publishing a story queues its announcement, and so on)."""
        for _ in range(rounds):
            if await self.run_once() == 0:
                return

    async def run_forever(self, stop: asyncio.Event, *, interval: float = 1.0) -> None:
        """Keep one task per busy lane: a slow chat (rate limits, a 429) delays only itself,
        while other chats, button answers and publish jobs go on. A commit that queues
        something wakes this loop at once; ``interval`` is the backstop for retries."""
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        running: dict[repo.Lane, asyncio.Task[None]] = {}
        renewing = asyncio.create_task(self._renew_forever(stop))
        while not stop.is_set():
            self._wake.clear()
            try:
                items = await asyncio.to_thread(self._claim, 100, frozenset(running))
                for lane, lane_items in _by_lane(items).items():
                    task = asyncio.create_task(self._run_lane(lane_items))
                    running[lane] = task
                    task.add_done_callback(lambda _t, lane=lane: self._lane_done(running, lane))
            except Exception:
                log.exception("outbox round failed; trying again")
            await _first_of(stop, self._wake, timeout=interval)
        await asyncio.gather(*running.values(), return_exceptions=True)
        renewing.cancel()
        await asyncio.gather(renewing, return_exceptions=True)
        self._loop = self._wake = None

    def _lane_done(self, running: dict[repo.Lane, asyncio.Task[None]], lane: repo.Lane) -> None:
        """A lane is free again: what queued behind it (a reply behind a card) goes now."""
        running.pop(lane, None)
        if self._wake is not None:
            self._wake.set()

    async def _renew_forever(self, stop: asyncio.Event) -> None:
        """Keep this instance's claims alive while it works on them: a claim that is not
        renewed (its instance died) runs out within ``lease`` and another takes the item."""
        every = self.lease.total_seconds() / 3
        while not stop.is_set():
            await _first_of(stop, None, timeout=every)
            try:
                await asyncio.to_thread(self._renew)
            except Exception:
                log.exception("could not renew the outbox claims; trying again")

    def _renew(self) -> int:
        with self.db.transaction() as session:
            return repo.renew_claims(
                session, instance=self.instance, until=self.clock() + self.lease
            )

    def _claim(self, limit: int, busy: frozenset[repo.Lane]) -> list[OutboxItem]:
        with self.db.transaction() as session:
            return repo.claim_due(
                session,
                now=self.clock(),
                lease=self.lease,
                limit=limit,
                busy=busy,
                instance=self.instance,
            )

    async def _run_lane(self, items: list[OutboxItem]) -> None:
        batches = self._batches(items)
        for index, batch in enumerate(batches):
            ok = await self._deliver(batch)
            if not ok:
                # Keep the chat's order: what follows a failed message waits for its retry.
                for later in batches[index + 1 :]:
                    for item in later:
                        await asyncio.to_thread(self._postpone, item)
                return

    def _batches(self, items: list[OutboxItem]) -> list[list[OutboxItem]]:
        """The lane's items as the messages they make: one each, except on a channel where
        every message costs (``joins``), where a run of plain messages and cards queued
        together for one chat becomes one message (see ``_joins``)."""
        channel = self.channels.get(items[0].channel or "") if items else None
        if channel is None or not channel.abilities.joins:
            return [[item] for item in items]
        batches: list[list[OutboxItem]] = []
        for item in items:
            last = batches[-1] if batches else None
            if last is not None and _joins(channel, last, item):
                last.append(item)
            else:
                batches.append([item])
        return batches

    async def _deliver(self, batch: list[OutboxItem]) -> bool:
        item = batch[0]
        assert item.id is not None
        try:
            if len(batch) > 1:
                await self._send_joined(batch)
            elif item.kind == "publish":
                await self._publish(item)
            elif item.kind == "card":
                await self._card(item)
            elif item.kind == "callback":
                await self._callback(item)
            else:
                await self._send(item)
        except RetryLater as error:
            for each in batch:
                await asyncio.to_thread(self._retry_at, each, str(error), error.seconds)
            return False
        except (PublishError, PermanentSendError) as error:
            retryable = isinstance(error, PublishError) and error.retryable
            wait = error.retry_after if isinstance(error, PublishError) else None
            cause = error.cause.value if isinstance(error, PublishError) and error.cause else None
            for each in batch:
                await asyncio.to_thread(self._failed, each, str(error), retryable, wait, cause)
            return False
        except Exception as error:
            log.warning("outbox %s (%s) failed: %r", item.id, item.kind, error)
            for each in batch:
                await asyncio.to_thread(self._failed, each, _describe(error), True)
            return False
        return True

    async def _send_joined(self, batch: list[OutboxItem]) -> None:
        """Several messages and cards for one chat as one message (see ``_batches``)."""
        channel = self._channel(batch[0])
        name, chat_id = batch[0].channel or "", batch[0].recipient or ""
        texts: list[str] = []
        buttons: list[Button] = []
        views: dict[int, CardView] = {}
        for item in batch:
            if item.kind == "card":
                view = await asyncio.to_thread(
                    self.desk.cards.view, item.story_id or 0, name, chat_id, now=self.clock()
                )
                views[item.id or 0] = view
                if view.skip:
                    continue
                text, buttons = view.text, view.buttons
            else:
                text = item.text or ""
            if text.strip():
                texts.append(text.strip("\n"))
        remote_id: str | None = None
        if texts:
            joined = "\n\n".join(texts)
            if buttons:
                remote_id = await channel.show_card(
                    recipient=chat_id, text=joined, buttons=buttons, message_id=None
                )
            else:
                remote_id = await channel.send(
                    recipient=chat_id,
                    text=joined,
                    reply_to=None,
                )
        for item in batch:
            view = views.get(item.id or 0)
            if view is None:
                await asyncio.to_thread(self.delivery.message_sent, item.id or 0, remote_id)
                continue
            await asyncio.to_thread(
                self.delivery.card_shown,
                item.id or 0,
                story_id=item.story_id or 0,
                channel=name,
                chat_id=chat_id,
                message_id=view.message_id if view.skip else remote_id,
                state=view.state,
            )

    async def _send(self, item: OutboxItem) -> None:
        channel = self._channel(item)
        buttons = [Button(**button) for button in item.payload.get("buttons", [])]
        document = item.payload.get("document")
        if document:
            # A file made at delivery (a monthly report): made again on a retry.
            if self.documents is None:
                raise PermanentSendError("this Warta makes no documents")
            path = await asyncio.to_thread(self.documents, dict(document))
            remote_id = await channel.send_document(
                recipient=item.recipient or "", path=path, caption=item.text or ""
            )
        elif buttons and channel.abilities.buttons:
            # A question with answer buttons (an assignment to accept or decline).
            remote_id = await channel.show_card(
                recipient=item.recipient or "",
                text=item.text or "",
                buttons=buttons,
                message_id=None,
            )
        else:
            remote_id = await channel.send(
                recipient=item.recipient or "",
                text=item.text or "",
                reply_to=item.reply_to,
                template=item.payload.get("template"),
                story=item.story_id,
            )
        await asyncio.to_thread(self.delivery.message_sent, item.id or 0, remote_id)

    def _channel(self, item: OutboxItem) -> Channel:
        channel = self.channels.get(item.channel or "")
        if channel is None:
            raise PermanentSendError(f"no channel '{item.channel}' is running")
        return channel

    async def _card(self, item: OutboxItem) -> None:
        channel = self._channel(item)
        name, chat_id, story_id = item.channel or "", item.recipient or "", item.story_id or 0
        view = await asyncio.to_thread(
            self.desk.cards.view, story_id, name, chat_id, now=self.clock()
        )
        message_id = view.message_id
        if not view.skip:
            message_id = await channel.show_card(
                recipient=chat_id, text=view.text, buttons=view.buttons, message_id=message_id
            )
        await asyncio.to_thread(
            self.delivery.card_shown,
            item.id or 0,
            story_id=story_id,
            channel=name,
            chat_id=chat_id,
            message_id=message_id,
            state=view.state,
        )

    async def _callback(self, item: OutboxItem) -> None:
        channel = self._channel(item)
        await channel.answer_button(callback_id=item.recipient or "", text=item.text or "")
        await asyncio.to_thread(self.delivery.message_sent, item.id or 0, None)

    async def _publish(self, item: OutboxItem) -> None:
        publisher = self.publishers.get(item.target or "")
        if publisher is None:
            raise PublishError(f"no publish target '{item.target}' is configured", retryable=False)
        article, remote_id = await asyncio.to_thread(self._article, item)
        if getattr(publisher, "manual", False):
            # No API: the operators get a ready-to-paste package and report the live URL.
            await asyncio.to_thread(
                self.delivery.manual_package, item.id or 0, render_package(article)
            )
            return
        result = await publisher.publish(article, remote_id=remote_id)
        await asyncio.to_thread(
            self.delivery.publish_succeeded,
            item.id or 0,
            permalink=result.permalink,
            remote_id=result.remote_id,
        )

    def _article(self, item: OutboxItem) -> tuple[Article, str | None]:
        """The story's current version as an article, and the target's post from before."""
        story_id = item.story_id or 0
        with self.db.transaction() as session:
            remote_id = repo.known_remote_id(session, story_id, item.target or "")
            first = repo.versions(session, story_id)[0]
            story = session.get(Story, story_id)
            assert story is not None
            version = repo.current_text(session, story)
            reporter = self.desk.people.get(story.reporter_id)
            photos = tuple(
                ArticlePhoto(
                    path=self.media.path_of(media.stored_path),
                    mime=media.mime,
                    caption=media.caption,
                    filename=media.filename,
                    credit=reporter.name if reporter else None,
                )
                for media in repo.media_of(session, story_id)
                if media.kind == "photo"
            )
            return Article(
                story_number=story.number,
                version=version.number,
                title=version.title,
                body=version.body,
                reporter=reporter.name if reporter else "",
                photos=photos,
                submitted_at=story.created_at,
                original_title=first.title,
                # The moment of /terbitkan: the same for every retry, so a retry sends the
                # same article (a webhook's Idempotency-Key promises identical bytes).
                published_at=item.created_at,
            ), remote_id

    def _failed(
        self,
        item: OutboxItem,
        error: str,
        retryable: bool,
        retry_after: float | None = None,
        cause: str | None = None,
    ) -> None:
        """Try again later, or give up: a publish job after ``max_attempts``; a chat message
        only when it has been failing for ``message_retry_for`` (a channel outage of hours
        must not lose the desk's messages), waiting at most ``message_max_delay`` between
        tries so that it leaves soon after the channel is back."""
        now = self.clock()
        retry_at: datetime | None = None
        if item.kind == "publish":
            if retryable and item.attempts < self.max_attempts:
                delay = backoff(item.attempts, base=self.base_delay, cap=self.max_delay)
                if retry_after is not None:  # the site said how long to wait: at least that
                    delay = max(delay, timedelta(seconds=retry_after))
                retry_at = now + delay
        elif retryable and now - _retrying_since(item) < self.message_retry_for:
            cap = self.message_max_delay
            retry_at = now + backoff(item.attempts, base=self.base_delay, cap=cap)
        self.delivery.delivery_failed(item.id or 0, error=error, retry_at=retry_at, cause=cause)

    def _retry_at(self, item: OutboxItem, error: str, seconds: float) -> None:
        """Wait as the channel asked, without using up one of the item's attempts."""
        until = self.clock() + timedelta(seconds=seconds)
        self.delivery.postpone(item.id or 0, until=until, error=error)

    def _postpone(self, item: OutboxItem) -> None:
        self.delivery.postpone(item.id or 0)


def _retrying_since(item: OutboxItem) -> datetime:
    """When the item's window of retries began: its creation, or an operator's re-send."""
    resent = item.result.get("resent_at")
    return max(item.created_at, datetime.fromisoformat(resent)) if resent else item.created_at


async def _first_of(stop: asyncio.Event, wake: asyncio.Event | None, *, timeout: float) -> None:
    """Wait until ``stop`` or ``wake`` is set, or ``timeout`` seconds pass."""
    waits = [asyncio.ensure_future(stop.wait())]
    if wake is not None:
        waits.append(asyncio.ensure_future(wake.wait()))
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()


def _joins(channel: Channel, batch: list[OutboxItem], item: OutboxItem) -> bool:
    """Whether ``item`` may go out in one message with the run ``batch`` before it: plain
    messages and cards. A card ends a run (its reply buttons stay at the end); a question with
    buttons goes alone, and so does a message the channel sends in a form of its own (a
    reminder as an approved template)."""

    def plain(each: OutboxItem) -> bool:
        if each.kind == "card":
            return True
        return (
            each.kind == "message"
            and not each.payload.get("buttons")
            and not each.payload.get("document")
            and channel.joinable(each.payload.get("template"))
        )

    return plain(item) and all(plain(each) for each in batch) and batch[-1].kind != "card"


def _by_lane(items: list[OutboxItem]) -> dict[repo.Lane, list[OutboxItem]]:
    lanes: dict[repo.Lane, list[OutboxItem]] = defaultdict(list)
    for item in items:
        lanes[repo.lane_of(item)].append(item)
    return lanes


def _describe(error: Exception) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
