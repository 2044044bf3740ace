"""The playground: the desk's group chat and private chats with Warta in a browser.

Served by Warta itself on its one HTTP server, driving the real desk: a persona picker with
the configured people, text, photos (several at once make one submission), commands, story
cards with buttons redrawn in place, and everything Warta says arriving live (server-sent
events). What was said is read back from the inbox and the outbox, so a reload or a restart
shows the whole conversation.
"""

from __future__ import annotations

import asyncio
import html
import mimetypes
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import col, select
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from bot.channels.base import Abilities, Channel, ChannelContext
from bot.channels.buttons import ButtonSigner
from bot.channels.markup import Markup, plain, render
from bot.config import PlaygroundConfig
from bot.web.guard import CSRF_FIELD, CSRF_HEADER
from bot.web.site import Web
from handlers.messages import Button, ChatKind, InboundMedia, InboundMessage
from storage.models import InboxMessage, OutboxItem, Story, StoryCard
from workflow.delivery import ItemState

GROUP = "@group"
"""The desk's group chat (a person's key never holds an @, so no private chat is called so)."""
HISTORY = 150
"""How many earlier messages of a chat a page shows when it opens."""
MAX_FILES = 20
_MEDIA_PATH = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}\.[a-z0-9]{1,5}$")


def private_chat(key: str) -> str:
    """A person's private chat with Warta: their playground address, which is their key."""
    return key


@dataclass(frozen=True)
class Entry:
    """One line of a chat as the page shows it."""

    id: str
    kind: str  # "message" | "card" | "notice"
    who: str
    mine_of: str | None
    at: datetime | None
    html: str
    reply_to: str | None = None
    photos: tuple[str, ...] = ()
    buttons: tuple[tuple[str, str], ...] = ()

    def as_json(self, *, room: str, time: str) -> dict[str, Any]:
        return {
            "type": self.kind,
            "room": room,
            "id": self.id,
            "who": self.who,
            "mine_of": self.mine_of,
            "time": time,
            "ts": self.at.timestamp() if self.at else 0,
            "html": self.html,
            "reply_to": self.reply_to,
            "photos": list(self.photos),
            "buttons": [{"label": label, "data": data} for label, data in self.buttons],
        }


class PlaygroundChannel(Channel):
    """The browser channel: every person of the desk, one click away (see the module doc)."""

    kind = "playground"

    def __init__(self, context: ChannelContext, *, config: PlaygroundConfig) -> None:
        super().__init__(context)
        self.config = config
        web = context.extra.get("web")
        assert isinstance(web, Web), "the playground needs the web pages (composition root)"
        self.web = web
        self._desk = context.extra["desk"]  # the desk is made after the channels: ask later
        self.folders: dict[str, Path] = dict(context.extra.get("folders", {}))  # type: ignore[arg-type]
        self.signer = ButtonSigner(secrets.token_bytes(32))
        self.abilities = Abilities(
            markup=Markup.NEUTRAL,
            max_text=20_000,
            edit_in_place=True,
            buttons=True,
            max_buttons=8,
        )
        web.home = "/play"

    @property
    def desk(self) -> Any:
        return self._desk()  # type: ignore[operator]

    # -- the contract -------------------------------------------------------------------------

    def group_addresses(self) -> tuple[str, ...]:
        return (GROUP,)

    def describe(self) -> str:
        return f"playground at {self.web.public_url}/play"

    def published_url(self, target: str) -> str | None:
        """Where the published copies of a folder target are served (links on the cards)."""
        return f"{self.web.public_url}/play/published/{target}" if target in self.folders else None

    async def start(self) -> None:
        self.web.hub.bind(asyncio.get_running_loop())

    async def send(
        self,
        *,
        recipient: str,
        text: str,
        reply_to: str | None,
        template: str | None = None,
        story: int | None = None,
    ) -> str:
        message_id = ""
        for part in self.parts(text):
            message_id = f"pg-{uuid.uuid4().hex[:16]}"
            entry = Entry(
                id=message_id,
                kind="message",
                who="Warta",
                mine_of=None,
                at=self._now(),
                html=render(part, Markup.EMAIL_HTML),
                reply_to=reply_to,
            )
            self._publish(recipient, entry)
            reply_to = None
        return message_id

    async def show_card(
        self, *, recipient: str, text: str, buttons: list[Button], message_id: str | None
    ) -> str:
        card_id = message_id or f"pg-{uuid.uuid4().hex[:16]}"
        entry = self._card_entry(card_id, text, buttons, self._now())
        self._publish(recipient, entry)
        return card_id

    async def answer_button(self, *, callback_id: str, text: str) -> None:
        key = callback_id.partition(":")[0]
        self.web.hub.publish(f"person:{key}", {"type": "notice", "text": plain(text)[:300]})

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/play", self._pick, methods=["GET"]),
            Route("/play/media/{path:path}", self._media, methods=["GET"]),
            Route("/play/published/{target}/{path:path}", self._published, methods=["GET"]),
            Route("/play/{key}", self._chat_page, methods=["GET"]),
            Route("/play/{key}/events", self._events, methods=["GET"]),
            Route("/play/{key}/send", self._send_form, methods=["POST"]),
            Route("/play/{key}/press", self._press, methods=["POST"]),
        ]

    # -- pages --------------------------------------------------------------------------------

    def _guarded(self, request: Request) -> Response | None:
        if self.web.guard.allows(request):
            return None
        return Response(status_code=303, headers={"Location": "/login"})

    def _person(self, key: str) -> Any:
        person = next((p for p in self.desk.people.by_id.values() if p.key == key), None)
        if person is None or not person.roles:
            raise HTTPException(404, "no such person on this desk")
        return person

    async def _pick(self, request: Request) -> Response:
        if (refused := self._guarded(request)) is not None:
            return refused
        people = sorted(
            (p for p in self.desk.people.by_id.values() if p.roles), key=lambda p: p.name
        )
        return self.web.pages.page("play_index.html", people=people)

    async def _chat_page(self, request: Request) -> Response:
        if (refused := self._guarded(request)) is not None:
            return refused
        person = self._person(request.path_params["key"])
        group, private = await asyncio.gather(
            asyncio.to_thread(self._history, GROUP, person.key),
            asyncio.to_thread(self._history, private_chat(person.key), person.key),
        )
        return self.web.pages.page(
            "play.html",
            person=person,
            group=group,
            private=private,
            csrf=self.web.guard.csrf(request),
        )

    async def _events(self, request: Request) -> Response:
        if (refused := self._guarded(request)) is not None:
            return refused
        person = self._person(request.path_params["key"])
        topics = (f"chat:{GROUP}", f"chat:{private_chat(person.key)}", f"person:{person.key}")
        return StreamingResponse(
            self.web.hub.stream(topics),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    # -- what people do -----------------------------------------------------------------------

    async def _send_form(self, request: Request) -> Response:
        if (refused := self._guarded(request)) is not None:
            return refused
        person = self._person(request.path_params["key"])
        limit = self.context.max_download_bytes
        try:
            form = await request.form(max_files=MAX_FILES, max_part_size=limit + 1)
        except Exception:  # too many files, a part over the limit, a broken form
            return JSONResponse({"error": "form"}, status_code=413)
        try:
            if not self.web.guard.check_csrf(request, str(form.get(CSRF_FIELD, ""))):
                return JSONResponse({"error": "csrf"}, status_code=403)
            chat = GROUP if form.get("chat") == "group" else private_chat(person.key)
            text = str(form.get("text", ""))[:100_000]
            reply_to = str(form.get("reply_to") or "") or None
            media = [
                await self._inbound_media(upload, limit)
                for upload in form.getlist("files")
                if isinstance(upload, UploadFile) and upload.filename
            ]
        finally:
            await form.close()
        if not text.strip() and not media:
            return JSONResponse({"error": "empty"}, status_code=400)
        message_id = f"in-{uuid.uuid4().hex[:16]}"
        msg = InboundMessage(
            channel=self.name,
            chat_id=chat,
            message_id=message_id,
            sender=person.key,
            sender_name=person.name,
            text=text,
            chat_kind=ChatKind.GROUP if chat == GROUP else ChatKind.PRIVATE,
            media=tuple(media),
            reply_to_message_id=reply_to,
        )
        receipt = await asyncio.to_thread(self.context.receive, msg)
        entry = await asyncio.to_thread(self._inbound_entry, receipt.inbox_id, person.key)
        if entry is not None:
            self._publish(chat, entry)
        return JSONResponse({"id": message_id, "outcome": receipt.outcome})

    async def _inbound_media(self, upload: UploadFile, limit: int) -> InboundMedia:
        data = await upload.read(limit + 1)
        mime = upload.content_type or mimetypes.guess_type(upload.filename or "")[0]
        kind = "photo" if (mime or "").startswith("image/") else "file"
        if len(data) > limit:
            return InboundMedia(
                kind=kind,
                data=b"",
                filename=upload.filename,
                mime=mime,
                problem="too_large",
                size=len(data),
            )
        return InboundMedia(kind=kind, data=data, filename=upload.filename, mime=mime)

    async def _press(self, request: Request) -> Response:
        if (refused := self._guarded(request)) is not None:
            return refused
        person = self._person(request.path_params["key"])
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "form"}, status_code=400)
        if not self.web.guard.check_csrf(request, request.headers.get(CSRF_HEADER)):
            return JSONResponse({"error": "csrf"}, status_code=403)
        chat = GROUP if body.get("chat") == "group" else private_chat(person.key)
        data = str(body.get("data", ""))[:500]
        callback_id = f"{person.key}:{uuid.uuid4().hex[:12]}"
        base = InboundMessage(
            channel=self.name,
            chat_id=chat,
            message_id=f"cb-{callback_id}",
            sender=person.key,
            sender_name=person.name,
            chat_kind=ChatKind.GROUP if chat == GROUP else ChatKind.PRIVATE,
            reply_to_message_id=str(body.get("card", ""))[:200] or None,
            callback_id=callback_id,
        )
        verified = self.signer.verify(data)
        if verified is None:
            msg = InboundMessage(**{**base.__dict__, "text": data, "notes": ("forged_button",)})
        else:
            command, version = verified
            msg = InboundMessage(**{**base.__dict__, "text": command, "card_version": version})
        receipt = await asyncio.to_thread(self.context.receive, msg)
        return JSONResponse({"outcome": receipt.outcome})

    async def _media(self, request: Request) -> Response:
        if (refused := self._guarded(request)) is not None:
            return refused
        path = request.path_params["path"]
        if not _MEDIA_PATH.fullmatch(path):
            return Response(status_code=404)
        file = self.desk.media.path_of(path)
        if not file.is_file():
            return Response(status_code=404)
        return FileResponse(file, headers={"Cache-Control": "private, max-age=86400"})

    async def _published(self, request: Request) -> Response:
        if (refused := self._guarded(request)) is not None:
            return refused
        root = self.folders.get(request.path_params["target"])
        if root is None:
            return Response(status_code=404)
        wanted = (root / request.path_params["path"]).resolve()
        if wanted.is_dir():
            wanted = wanted / "index.html"
        if not wanted.is_relative_to(root.resolve()) or not wanted.is_file():
            return Response(status_code=404)
        return FileResponse(wanted)

    # -- what the pages show ------------------------------------------------------------------

    def _publish(self, chat: str, entry: Entry) -> None:
        time = self.web.pages.env.filters["hm"](entry.at) if entry.at else ""
        room = "group" if chat == GROUP else "private"
        self.web.hub.publish(f"chat:{chat}", entry.as_json(room=room, time=time))

    def _now(self) -> datetime:
        return self.desk.clock()

    def _card_entry(
        self, card_id: str, text: str, buttons: list[Button], at: datetime | None
    ) -> Entry:
        return Entry(
            id=card_id,
            kind="card",
            who="Warta",
            mine_of=None,
            at=at,
            html=render(text, Markup.EMAIL_HTML),
            buttons=tuple(
                (button.label, self.signer.sign(button.command, button.card_version))
                for button in buttons
            ),
        )

    def _inbound_entry(self, inbox_id: int, viewer: str) -> Entry | None:
        with self.desk.db.transaction() as session:
            row = session.get(InboxMessage, inbox_id)
            return self._entry_of_inbound(row) if row is not None else None

    def _entry_of_inbound(self, row: InboxMessage) -> Entry:
        payload = row.payload or {}
        person = self.desk.people.find(self.name, row.sender)
        photos = tuple(
            f"/play/media/{entry['path']}"
            for entry in payload.get("media", [])
            if entry.get("kind") == "photo" and entry.get("path")
        )
        text = html.escape(row.text or "")
        return Entry(
            id=row.message_id,
            kind="message",
            who=person.name if person else payload.get("sender_name") or row.sender,
            mine_of=row.sender,
            at=row.received_at,
            html=render(text, Markup.EMAIL_HTML) if text.strip() else "",
            reply_to=payload.get("reply_to"),
            photos=photos,
        )

    def _history(self, chat: str, viewer: str) -> list[Entry]:
        """The chat's last messages, both ways, oldest first; each card once, as it is now."""
        entries: list[tuple[datetime, int, Entry]] = []
        with self.desk.db.transaction() as session:
            inbound = session.exec(
                select(InboxMessage)
                .where(InboxMessage.channel == self.name, InboxMessage.chat_id == chat)
                .order_by(col(InboxMessage.id).desc())
                .limit(HISTORY)
            ).all()
            for row in inbound:
                if (row.payload or {}).get("callback_id"):
                    continue  # a button press is not a message in the chat
                entries.append((row.received_at, 0, self._entry_of_inbound(row)))
            outbound = session.exec(
                select(OutboxItem)
                .where(
                    OutboxItem.channel == self.name,
                    OutboxItem.recipient == chat,
                    OutboxItem.kind == "message",
                    OutboxItem.status == ItemState.SENT,
                )
                .order_by(col(OutboxItem.id).desc())
                .limit(HISTORY)
            ).all()
            for item in outbound:
                message_id = str(item.result.get("message_id") or f"out-{item.id}")
                entries.append(
                    (
                        item.done_at or item.created_at,
                        1,
                        Entry(
                            id=message_id,
                            kind="message",
                            who="Warta",
                            mine_of=None,
                            at=item.done_at,
                            html=render(item.text or "", Markup.EMAIL_HTML),
                            reply_to=item.reply_to,
                        ),
                    )
                )
            # A card stands where it was first posted (just after its story arrived), drawn as
            # the story is now: it is edited in place, not posted again.
            cards = session.exec(
                select(StoryCard, Story.created_at)
                .join(Story, col(Story.id) == StoryCard.story_id)
                .where(StoryCard.channel == self.name, StoryCard.chat_id == chat)
            ).all()
            shown = [(card.story_id, card.message_id, created) for card, created in cards]
        for story_id, card_id, created in shown:
            view = self.desk.cards.view(story_id, self.name, chat, now=self._now())
            card = self._card_entry(card_id, view.text, view.buttons, created)
            entries.append((created, 2, card))
        entries.sort(key=lambda found: (found[0], found[1]))
        return [entry for _at, _order, entry in entries[-HISTORY:]]
