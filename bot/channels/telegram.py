"""The Telegram channel: updates in (polling or webhook), messages, cards and button answers out.

Telegram types stay in this module: updates become :class:`InboundMessage`, and the desk's
outbox items become Bot API calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeDefault,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from bot.channels.base import Abilities, Channel, ChannelContext, PermanentSendError, RetryLater
from bot.channels.buttons import ButtonSigner
from bot.channels.markup import Markup, plain
from bot.channels.ratelimit import ChatRateLimiter
from bot.channels.telegram_text import TELEGRAM_LIMIT, split_message
from bot.config import TelegramConfig
from handlers.messages import Button, ChatKind, InboundMedia, InboundMessage

log = logging.getLogger(__name__)

CHANNEL = "telegram"
ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member")
CALLBACK_LIMIT = 64
DOWNLOAD_ATTEMPTS = 3
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def chat_address(chat_id: int, thread_id: int | None) -> str:
    """Warta's address of a chat: the chat id, with ``:topic`` for a forum topic, so that
    replies and announcements about a story land in the topic it came from."""
    return f"{chat_id}:{thread_id}" if thread_id else str(chat_id)


def parse_address(address: str) -> tuple[int, int | None]:
    chat, _, thread = address.partition(":")
    return int(chat), int(thread) if thread else None


def seconds_of(value: Any) -> float:
    """``retry_after`` is a number of seconds or a timedelta, depending on PTB's settings."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramChannel(Channel):
    """Feeds the desk from Telegram (polling or webhook) and delivers the outbox to Telegram."""

    kind = "telegram"

    def __init__(
        self,
        context: ChannelContext,
        *,
        config: TelegramConfig,
        limiter: ChatRateLimiter | None = None,
        bot: Bot | None = None,
    ) -> None:
        super().__init__(context)
        token = config.token.get_secret_value()
        self.config = config
        self.max_download_bytes = context.max_download_bytes
        self.abilities = Abilities(
            markup=Markup.TELEGRAM_HTML,
            max_text=TELEGRAM_LIMIT,
            edit_in_place=True,
            buttons=True,
            max_buttons=8,
            album_quiet=config.album_quiet,
        )
        self.limiter = limiter or ChatRateLimiter()
        self.signer = ButtonSigner(token.encode(), limit=CALLBACK_LIMIT)
        self.bot = bot or Bot(
            token,
            base_url=config.base_url or "https://api.telegram.org/bot",
            base_file_url=config.base_file_url or "https://api.telegram.org/file/bot",
            request=HTTPXRequest(connection_pool_size=8),
            get_updates_request=HTTPXRequest(connection_pool_size=1),
        )
        self.offset: int | None = None
        # Parts of split messages already accepted by Telegram, so a retry sends only the rest.
        self._sent_parts: dict[tuple[str, int], list[int]] = {}

    # -- lifespan -----------------------------------------------------------------------------

    def group_addresses(self) -> tuple[str, ...]:
        if self.config.group_chat_id is None:
            return ()
        return (chat_address(self.config.group_chat_id, self.config.cards_topic_id),)

    def routes(self) -> list[BaseRoute]:
        if self.config.mode != "webhook":
            return []
        return [Route(WEBHOOK_PATH, self._webhook, methods=["POST"])]

    async def connect(self) -> None:
        """Open the Bot API client (``start`` does this and more)."""
        await self.bot.initialize()

    async def start(self) -> None:
        """Connect the bot, publish its command menu, and choose polling or the webhook."""
        await self.connect()
        await self.publish_commands()
        if self.config.mode == "webhook":
            await self.bot.set_webhook(
                url=(self.config.webhook_url or "").rstrip("/") + WEBHOOK_PATH,
                secret_token=self.config.webhook_secret.get_secret_value(),
                allowed_updates=list(ALLOWED_UPDATES),
            )
        else:
            await self.bot.delete_webhook(drop_pending_updates=False)

    async def run(self, stop: asyncio.Event) -> None:
        if self.config.mode == "polling":
            await self.poll_forever(stop)

    async def stop(self) -> None:
        with contextlib.suppress(TelegramError):
            await self.bot.shutdown()

    def describe(self) -> str:
        where = f"group {self.config.group_chat_id}" if self.config.group_chat_id else "no group"
        return f"telegram ({self.config.mode}, {where})"

    async def live_check(self) -> tuple[bool, str]:
        try:
            await self.connect()
        except InvalidToken:
            return False, "Telegram does not accept the bot token: check WARTA_TELEGRAM_TOKEN"
        except TelegramError as error:
            return False, f"the Bot API cannot be reached ({error}): check the network or base_url"
        try:
            found = f"bot @{self.bot.username}"
            group = self.config.group_chat_id
            if group is None:
                return True, f"{found}; no group_chat_id yet (warta telegram whereami shows it)"
            try:
                chat = await self.bot.get_chat(group)
            except TelegramError as error:
                return False, (
                    f"{found}, but group {group} is not reachable ({error}): add the bot to the "
                    "group, or correct group_chat_id"
                )
            return True, f"{found} in «{chat.title or chat.id}» ({self.config.mode})"
        finally:
            await self.stop()

    async def _webhook(self, request: Request) -> Response:
        expected = self.config.webhook_secret.get_secret_value()
        given = request.headers.get(SECRET_HEADER, "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            log.warning("Telegram webhook call with a wrong secret token refused")
            return Response(status_code=403)
        try:
            update = self.parse_update(json.loads(await request.body()))
        except (ValueError, TypeError, KeyError):
            return Response(status_code=400)
        # Answered only after the update is stored: Telegram retries whatever failed.
        await self.handle_update(update)
        return JSONResponse({})

    # -- inbound ------------------------------------------------------------------------------

    async def poll_once(self, *, timeout: float | None = None) -> int:
        """Fetch pending updates and handle each in order; the offset moves past an update only
        once it is stored, so an update that was fetched but not stored is fetched again."""
        wait = self.config.poll_timeout if timeout is None else timeout
        updates = await self.bot.get_updates(
            offset=self.offset,
            timeout=timedelta(seconds=wait),
            allowed_updates=list(ALLOWED_UPDATES),
        )
        for update in updates:
            await self.handle_update(update)
            self.offset = update.update_id + 1
        return len(updates)

    async def poll_forever(self, stop: asyncio.Event) -> None:
        delay = 1.0
        while not stop.is_set():
            try:
                await self.poll_once()
                delay = 1.0
            except TelegramError as error:
                # NetworkError, or Conflict while another poller or a webhook holds the bot.
                log.warning("Telegram polling: %s; trying again in %.0f s", error, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                delay = min(delay * 2, 60.0)
            except Exception:
                # Anything else (a full disk, the database away): the update was not stored and
                # the offset did not move past it, so it is fetched again after the pause.
                log.exception("Telegram polling failed; trying again in %.0f s", delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                delay = min(delay * 2, 60.0)

    async def handle_update(self, update: Update) -> None:
        """Turn one update into a normalized message and hand it to the desk (which stores it
        before anything is answered)."""
        msg: InboundMessage | None = None
        if update.callback_query is not None:
            msg = self._from_callback(update.callback_query)
        elif update.message is not None:
            msg = await self._from_message(update.message)
        if msg is not None:
            await asyncio.to_thread(self.context.receive, msg)

    def parse_update(self, data: dict[str, Any]) -> Update:
        return Update.de_json(data, self.bot)

    def _for_another_bot(self, text: str) -> bool:
        """``/bantuan@SomeOtherBot``: a command addressed to another bot in the group."""
        first = text.split(maxsplit=1)[0] if text.startswith("/") else ""
        _command, at, name = first.partition("@")
        return bool(at) and name.lower() != (self.bot.username or "").lower()

    def _chat_kind(self, chat_type: str) -> ChatKind:
        return ChatKind.PRIVATE if chat_type == "private" else ChatKind.GROUP

    def _foreign(self, chat_id: int, chat_type: str) -> bool:
        """A group that is not the editors' group (when one is configured)."""
        return (
            chat_type != "private"
            and self.config.group_chat_id is not None
            and chat_id != self.config.group_chat_id
        )

    async def _from_message(self, message: Message) -> InboundMessage:
        chat = message.chat
        sender = message.from_user
        foreign = self._foreign(chat.id, chat.type)
        media = [] if foreign else await self._media_of(message)  # nothing to fetch for them
        notes = ("foreign_chat",) if foreign else ()
        if self._for_another_bot(message.text or ""):
            notes += ("other_bot",)
        thread = message.message_thread_id if message.is_topic_message else None
        return InboundMessage(
            channel=CHANNEL,
            chat_id=chat_address(chat.id, thread),
            message_id=str(message.message_id),
            sender=str(sender.id) if sender else f"chat:{chat.id}",
            sender_name=sender.full_name if sender else chat.title,
            text=message.text or message.caption or "",
            chat_kind=self._chat_kind(chat.type),
            media=tuple(media),
            reply_to_message_id=(
                str(message.reply_to_message.message_id) if message.reply_to_message else None
            ),
            group_id=message.media_group_id,
            notes=notes,
        )

    def _from_callback(self, query: CallbackQuery) -> InboundMessage | None:
        message = query.message
        if message is None:
            return None
        chat = message.chat
        verified = self.signer.verify(query.data or "")
        thread = (
            message.message_thread_id
            if isinstance(message, Message) and message.is_topic_message
            else None
        )
        base = InboundMessage(
            channel=CHANNEL,
            chat_id=chat_address(chat.id, thread),
            message_id=f"cb{query.id}",
            sender=str(query.from_user.id),
            sender_name=query.from_user.full_name,
            chat_kind=self._chat_kind(chat.type),
            reply_to_message_id=str(message.message_id),
            callback_id=query.id,
        )
        if verified is None:
            # Kept as written, for the audit trail; the router never runs it.
            return replace(base, text=query.data or "", notes=("forged_button",))
        command, version = verified
        return replace(base, text=command, card_version=version)

    async def _media_of(self, message: Message) -> list[InboundMedia]:
        found: list[tuple[str, Any, str | None, str | None]] = []
        if message.photo:
            found.append(("photo", message.photo[-1], None, "image/jpeg"))
        if message.document:
            document = message.document
            kind = "photo" if (document.mime_type or "").startswith("image/") else "file"
            found.append((kind, document, document.file_name, document.mime_type))
        if message.video:
            found.append(("video", message.video, message.video.file_name, message.video.mime_type))
        if message.voice:
            found.append(("voice", message.voice, None, message.voice.mime_type))
        if message.audio:
            found.append(("voice", message.audio, message.audio.file_name, message.audio.mime_type))
        caption = message.caption if message.caption and message.media_group_id else None
        return [
            await self._download(kind, item, filename, mime, caption)
            for kind, item, filename, mime in found
        ]

    async def _download(
        self, kind: str, item: Any, filename: str | None, mime: str | None, caption: str | None
    ) -> InboundMedia:
        """Fetch a file through getFile, refusing an oversized one before downloading it."""
        size = item.file_size or 0
        if size > self.max_download_bytes:
            return InboundMedia(
                kind=kind, data=b"", filename=filename, mime=mime, problem="too_large", size=size
            )
        last_error = ""
        for attempt in range(DOWNLOAD_ATTEMPTS):
            try:
                file = await self.bot.get_file(item.file_id)
                if (file.file_size or 0) > self.max_download_bytes:
                    size = file.file_size or 0
                    return InboundMedia(
                        kind=kind,
                        data=b"",
                        filename=filename,
                        mime=mime,
                        problem="too_large",
                        size=size,
                    )
                data = bytes(await file.download_as_bytearray())
                return InboundMedia(kind=kind, data=data, filename=filename, mime=mime)
            except RetryAfter as error:
                last_error = str(error)
                await asyncio.sleep(min(seconds_of(error.retry_after), 10))
            except TelegramError as error:
                last_error = str(error)
                if isinstance(error, BadRequest):
                    break
                await asyncio.sleep(0.5 * 2**attempt)
        log.warning("download of %s failed: %s", item.file_id, last_error)
        return InboundMedia(
            kind=kind, data=b"", filename=filename, mime=mime, problem="download_failed", size=size
        )

    # -- outbound (the outbox dispatcher's Messenger) -----------------------------------------

    async def _call(self, address: str, call: Callable[[], Any]) -> Any:
        """Make one Bot API call to a chat within the rate limits, translating errors."""
        chat_id = address.partition(":")[0]
        await self.limiter.acquire(chat_id, is_group=chat_id.startswith("-"))
        try:
            return await call()
        except RetryAfter as error:
            seconds = seconds_of(error.retry_after)
            self.limiter.hold(chat_id, seconds)
            raise RetryLater(seconds, f"Telegram asked to wait {seconds:g} s") from None
        except Forbidden as error:
            raise PermanentSendError(f"Telegram refused: {error.message}") from None

    async def send(
        self,
        *,
        recipient: str,
        text: str,
        reply_to: str | None,
        template: str | None = None,
        story: int | None = None,
    ) -> str | None:
        parts = split_message(self.render(text))
        key = (recipient, hash(text))
        done = self._sent_parts.setdefault(key, [])
        for index, part in enumerate(parts):
            if index < len(done):
                continue
            reply = None
            if index == 0 and reply_to and reply_to.isdigit():
                reply = ReplyParameters(int(reply_to), allow_sending_without_reply=True)
            sent = await self._send_part(recipient, part, reply)
            done.append(sent.message_id)
        self._sent_parts.pop(key, None)
        if len(self._sent_parts) > 1000:  # partial sends of items that were given up on
            self._sent_parts.clear()
        return str(done[-1]) if done else None

    async def _send_part(self, recipient: str, text: str, reply: ReplyParameters | None) -> Message:
        chat_id, thread_id = parse_address(recipient)

        async def call(html: bool = True) -> Message:
            return await self.bot.send_message(
                chat_id,
                text if html else plain(text),
                message_thread_id=thread_id,
                parse_mode=ParseMode.HTML if html else None,
                reply_parameters=reply,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )

        try:
            return await self._call(recipient, call)
        except BadRequest as error:
            if "parse entities" in error.message.lower():
                log.warning("Telegram could not parse a message's HTML; sending it as plain text")
                return await self._call(recipient, lambda: call(html=False))
            raise PermanentSendError(f"Telegram refused: {error.message}") from None

    async def send_document(self, *, recipient: str, path: Path, caption: str) -> str | None:
        """A file (a report's PDF) with its caption (Telegram keeps 1,024 characters of it)."""
        chat_id, thread_id = parse_address(recipient)
        rendered = self.render(caption)
        short = rendered if len(rendered) <= 1024 else self.render(plain(caption)[:1000] + "…")

        async def call() -> Message:
            with path.open("rb") as data:
                return await self.bot.send_document(
                    chat_id,
                    document=data,
                    filename=path.name,
                    caption=short,
                    parse_mode=ParseMode.HTML,
                    message_thread_id=thread_id,
                )

        try:
            sent = await self._call(recipient, call)
        except BadRequest as error:
            raise PermanentSendError(f"Telegram refused the file: {error.message}") from None
        return str(sent.message_id)

    async def show_card(
        self, *, recipient: str, text: str, buttons: list[Button], message_id: str | None
    ) -> str:
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        b.label, callback_data=self.signer.sign(b.command, b.card_version)
                    )
                    for b in row
                ]
                for row in rows
            ]
        )
        text = split_message(self.render(text))[0]
        chat_id, thread_id = parse_address(recipient)
        if message_id:
            try:
                await self._call(
                    recipient,
                    lambda: self.bot.edit_message_text(
                        text,
                        chat_id=chat_id,
                        message_id=int(message_id),
                        parse_mode=ParseMode.HTML,
                        reply_markup=markup,
                        link_preview_options=LinkPreviewOptions(is_disabled=True),
                    ),
                )
                return message_id
            except BadRequest as error:
                if "not modified" in error.message.lower():
                    return message_id
                if "not found" not in error.message.lower():
                    raise PermanentSendError(f"Telegram refused: {error.message}") from None
        sent = await self._call(
            recipient,
            lambda: self.bot.send_message(
                chat_id,
                text,
                message_thread_id=thread_id,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            ),
        )
        return str(sent.message_id)

    async def answer_button(self, *, callback_id: str, text: str) -> None:
        text = plain(text)[:190]
        try:
            await self.bot.answer_callback_query(callback_id, text=text, show_alert=len(text) > 60)
        except BadRequest as error:  # too old: the presser has moved on
            raise PermanentSendError(f"Telegram refused: {error.message}") from None

    # -- set-up -------------------------------------------------------------------------------

    async def publish_commands(self) -> None:
        """Show the commands in Telegram's menu: Indonesian aliases (English names for ``en``),
        everything in groups, what a reporter needs in private chats."""
        renderer = self.context.renderer
        for language in (None, "id", "en"):
            locale = language or self.context.locale
            for scope, private_only in (
                (BotCommandScopeAllGroupChats(), False),
                (BotCommandScopeAllPrivateChats(), True),
                (BotCommandScopeDefault(), True),
            ):
                commands = [
                    BotCommand(
                        command.alias if locale == "id" else command.name,
                        renderer.render(
                            "command_summary", locale=locale, command_name=command.name
                        )[:256],
                    )
                    for command in self.context.commands
                    if command.private or not private_only
                ]
                await self.bot.set_my_commands(commands, scope=scope, language_code=language)

    async def chats_seen(self) -> list[tuple[int, str, str]]:
        """The chats in the pending updates (id, type, title), without confirming any update."""
        updates = await self.bot.get_updates(timeout=timedelta(0), allowed_updates=[])
        chats: dict[int, tuple[int, str, str]] = {}
        for update in updates:
            chat = update.effective_chat
            if chat is not None:
                title = chat.title or chat.full_name or chat.username or ""
                chats[chat.id] = (chat.id, chat.type, title)
        return list(chats.values())
