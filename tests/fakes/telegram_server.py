"""A fake Telegram Bot API server on 127.0.0.1 for Warta's end-to-end tests to talk to."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import mimetypes
import re
import secrets
import socket
import struct
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

JSONDict = dict[str, Any]

# Limits of the real Bot API that Warta runs into.
MESSAGE_TEXT_LIMIT = 4096  # characters, after entity parsing
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64  # bytes
MEDIA_GROUP_SIZE = (2, 10)
GET_FILE_LIMIT = 20 * 1024 * 1024  # getFile refuses bigger files
PHOTO_SIDES = (90, 320, 800)  # thumbnails Telegram adds below the full-size photo

# Update types delivered when allowed_updates was never set or set to [].
DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)  # i.e. everything except chat_member, message_reaction and message_reaction_count

# Parameters that carry JSON objects; form and multipart requests send them JSON-encoded.
JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "media",
        "commands",
        "scope",
        "allowed_updates",
        "reply_parameters",
        "link_preview_options",
    }
)

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

_DEFAULT_ERROR_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
}

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


# --------------------------------------------------------------------------- records


class BotApiError(Exception):
    """An error answer of the Bot API: ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(
        self, error_code: int, description: str, parameters: JSONDict | None = None
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def to_json(self) -> JSONDict:
        body: JSONDict = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad_request(what: str) -> BotApiError:
    return BotApiError(400, f"Bad Request: {what}")


@dataclass
class ApiCall:
    """One HTTP call the bot made: method, decoded params, uploaded files and the answer."""

    method: str  # canonical name ("sendMessage") when known, else as requested
    params: JSONDict
    files: dict[str, bytes]
    time: float  # time.time() when the request arrived
    response: JSONDict | None = None  # None while a long poll is still waiting

    @property
    def ok(self) -> bool:
        return bool(self.response and self.response.get("ok"))

    @property
    def chat_id(self) -> int | str | None:
        value = self.params.get("chat_id")
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            return int(value)
        return value


@dataclass
class UploadedFile:
    """A file part of a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class StoredFile:
    """A file the fake serves from /file/bot<token>/<file_path>."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    kind: str  # photo, document, video, voice, audio
    file_name: str | None = None
    mime_type: str | None = None


@dataclass
class _Failure:
    method: str
    chat_id: int | str | None
    error: BotApiError
    remaining: int


@dataclass
class _Result:
    """A success answer that also carries a top-level description (setWebhook does)."""

    result: Any
    description: str


# --------------------------------------------------------------------------- request decoding


async def _read_params(request: Request) -> tuple[JSONDict, dict[str, UploadedFile]]:
    """Decode query string + JSON, form-encoded or multipart body, like the Bot API accepts."""
    params: JSONDict = dict(request.query_params)
    files: dict[str, UploadedFile] = {}
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    if body:
        if content_type.startswith("application/json"):
            try:
                decoded = json.loads(body)
            except ValueError as exc:
                raise _bad_request("can't parse JSON encoded request") from exc
            if not isinstance(decoded, dict):
                raise _bad_request("can't parse JSON encoded request")
            params.update(decoded)
        elif content_type.startswith("multipart/form-data"):
            fields, files = _parse_multipart(body, content_type)
            params.update(fields)
        else:  # application/x-www-form-urlencoded (and anything else, like Telegram)
            params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    for name in JSON_PARAMS & params.keys():
        if isinstance(params[name], str):
            try:
                params[name] = json.loads(params[name])
            except ValueError as exc:
                raise _bad_request(f"can't parse {name} JSON object") from exc
    return params, files


def _parse_multipart(body: bytes, content_type: str) -> tuple[JSONDict, dict[str, UploadedFile]]:
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise _bad_request("can't parse multipart request: no boundary")
    delimiter = b"\r\n--" + match.group(1).encode("latin-1")
    fields: JSONDict = {}
    files: dict[str, UploadedFile] = {}
    for part in (b"\r\n" + body).split(delimiter)[1:]:
        if part.startswith(b"--"):  # closing delimiter
            break
        head, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name = re.search(r'\bname="([^"]*)"', disposition)
        if not name:
            continue
        filename = re.search(r'\bfilename="([^"]*)"', disposition)
        filename_star = re.search(r"\bfilename\*=(?:utf-8|UTF-8)''([^;]+)", disposition)
        if filename or filename_star or "content-type" in headers:
            files[name.group(1)] = UploadedFile(
                filename=unquote(filename_star.group(1))
                if filename_star
                else (filename.group(1) if filename else None),
                content_type=headers.get("content-type"),
                data=content,
            )
        else:
            fields[name.group(1)] = content.decode("utf-8")
    return fields, files


class _Params:
    """Typed access to request parameters, coercing form strings the way Telegram does."""

    def __init__(self, values: JSONDict, files: dict[str, UploadedFile]) -> None:
        self.values = values
        self.files = files

    def get(self, name: str) -> Any:
        return self.values.get(name)

    def string(self, name: str, *, required: bool = False) -> str | None:
        value = self.values.get(name)
        if value is None:
            if required:
                raise _bad_request(f"{name} is empty")
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def integer(self, name: str, *, required: bool = False) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise _bad_request(f"{name} is empty")
            return None
        if isinstance(value, bool):
            raise _bad_request(f'field "{name}" must be of type Integer')
        try:
            return int(value)
        except (TypeError, ValueError) as exc:
            raise _bad_request(f'field "{name}" must be of type Integer') from exc

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.lower() in ("true", "1")
        return bool(value)


# --------------------------------------------------------------------------- text helpers


def _u16(text: str) -> int:
    """Length in UTF-16 code units: the unit of entity offsets and lengths."""
    return len(text.encode("utf-16-le")) // 2


_HTML_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",  # only <span class="tg-spoiler">
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_SPACES = " \t\r\n\f\v"
_NAMED_CHARACTER_REFERENCES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_CHARACTER_REFERENCE = re.compile(r"&(?:(lt|gt|amp|quot);|#(?:x([0-9A-Fa-f]{1,8})|(\d{1,10}));?)")


def _decode_reference(raw: str, index: int) -> tuple[str, int] | None:
    """The character of an HTML reference at raw[index] ("&amp;", "&#64;") and where it ends.

    Like Telegram, only &lt; &gt; &amp; &quot; and numeric references are decoded.
    """
    match = _CHARACTER_REFERENCE.match(raw, index)
    if not match:
        return None
    named, hexadecimal, decimal = match.groups()
    if named:
        return _NAMED_CHARACTER_REFERENCES[named], match.end()
    code = int(hexadecimal, 16) if hexadecimal else int(decimal)
    if 0xD800 <= code <= 0xDFFF:
        raise _bad_request(
            "can't parse entities: Text contains invalid Unicode characters after decoding "
            "HTML entities, check for unmatched surrogate code units"
        )
    if code == 0 or code > 0x10FFFF:
        return None
    return chr(code), match.end()


def _parse_html(raw: str) -> tuple[str, list[JSONDict]]:
    """parse_mode=HTML the way Telegram (tdlib) parses it: supported tags become entities,
    any other '<' is an error, and error messages carry UTF-8 byte offsets."""

    def fail(what: str) -> BotApiError:
        return _bad_request(f"can't parse entities: {what}")

    def byte_offset(index: int) -> int:
        return len(raw[:index].encode("utf-8"))

    def at(index: int) -> str:
        return raw[index] if index < len(raw) else ""

    text: list[str] = []
    position = 0  # UTF-16 offset in the resulting text
    open_tags: list[tuple[str, JSONDict]] = []
    entities: list[JSONDict] = []
    i = 0
    while i < len(raw):
        char = raw[i]
        if char == "&":
            decoded = _decode_reference(raw, i)
            piece, i = decoded if decoded else ("&", i + 1)
            text.append(piece)
            position += _u16(piece)
            continue
        if char != "<":
            text.append(char)
            position += _u16(char)
            i += 1
            continue
        begin = i
        i += 1
        if at(i) != "/":  # a start tag
            while at(i) and at(i) not in _HTML_SPACES and at(i) != ">":
                i += 1
            if not at(i):
                raise fail(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            tag = raw[begin + 1 : i].lower()
            if tag not in _HTML_ENTITY_TYPES:
                raise fail(f'Unsupported start tag "{tag}" at byte offset {byte_offset(begin)}')
            attributes: dict[str, str] = {}
            while at(i) != ">":
                while at(i) and at(i) in _HTML_SPACES:
                    i += 1
                if not at(i):
                    raise fail(f'Unclosed start tag "{tag}" at byte offset {byte_offset(begin)}')
                if at(i) == ">":
                    break
                name_begin = i
                while at(i) and (at(i).isascii() and (at(i).isalnum() or at(i) in "-_")):
                    i += 1
                name = raw[name_begin:i].lower()
                if not name:
                    raise fail(
                        f'Empty attribute name in the tag "{tag}" at byte offset '
                        f"{byte_offset(begin)}"
                    )
                while at(i) and at(i) in _HTML_SPACES:
                    i += 1
                if at(i) != "=":
                    if (tag, name) == ("blockquote", "expandable"):
                        attributes[name] = ""
                        continue
                    raise fail(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {byte_offset(begin)}'
                    )
                i += 1
                while at(i) and at(i) in _HTML_SPACES:
                    i += 1
                if not at(i):
                    raise fail(f'Unclosed start tag "{tag}" at byte offset {byte_offset(begin)}')
                if at(i) in "'\"":
                    quote, value = at(i), []
                    i += 1
                    while at(i) and at(i) != quote:
                        decoded = _decode_reference(raw, i) if at(i) == "&" else None
                        piece, i = decoded if decoded else (at(i), i + 1)
                        value.append(piece)
                    if at(i) == quote:
                        i += 1
                    attributes[name] = "".join(value)
                else:
                    token_begin = i
                    while at(i) and at(i).isascii() and (at(i).isalnum() or at(i) in ".-"):
                        i += 1
                    if not at(i) or (at(i) not in _HTML_SPACES and at(i) != ">"):
                        offset = byte_offset(token_begin)
                        raise fail(f"Unexpected end of name token at byte offset {offset}")
                    attributes[name] = raw[token_begin:i].lower()
                if not at(i):
                    raise fail(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            i += 1  # the '>'
            entity: JSONDict = {"type": _HTML_ENTITY_TYPES[tag], "offset": position}
            if tag == "span" and attributes.get("class") != "tg-spoiler":
                raise fail(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(begin)}'
                )
            if tag == "a":
                entity["url"] = attributes.get("href", "")
            elif tag == "tg-emoji":
                entity["custom_emoji_id"] = attributes.get("emoji-id", "")
            elif tag == "blockquote" and "expandable" in attributes:
                entity["type"] = "expandable_blockquote"
            elif tag == "code" and open_tags and open_tags[-1][0] == "pre":
                # <pre><code class="language-x"> is a single pre entity with a language
                language = attributes.get("class", "").removeprefix("language-")
                if language:
                    open_tags[-1][1]["language"] = language
                entity["type"] = None
            open_tags.append((tag, entity))
            continue
        # an end tag
        if not open_tags:
            raise fail(f"Unexpected end tag at byte offset {byte_offset(begin)}")
        i += 1
        while at(i) and at(i) not in _HTML_SPACES and at(i) != ">":
            i += 1
        tag = raw[begin + 2 : i].lower()
        while at(i) and at(i) in _HTML_SPACES:
            i += 1
        if at(i) != ">":
            raise fail(f"Unclosed end tag at byte offset {byte_offset(begin)}")
        i += 1
        expected, entity = open_tags.pop()
        if tag != expected:
            raise fail(
                f'Unmatched end tag at byte offset {byte_offset(begin)}, expected "</{expected}>", '
                f'found "</{tag}>"'
            )
        entity["length"] = position - entity["offset"]
        if entity["type"] == "text_link" and not entity["url"]:
            entity["type"] = None  # <a> without href: plain text
        if entity["type"] is not None and entity["length"] > 0:
            entities.append(entity)
    if open_tags:
        raise fail(f'Can\'t find end tag corresponding to start tag "{open_tags[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(text), entities


def _strip_text(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    """Telegram trims leading/trailing whitespace of texts and captions; entities follow."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = _u16(text[: len(text) - len(text.lstrip())])
    end = _u16(stripped)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        stop = min(entity["offset"] + entity["length"] - shift, end)
        if stop > start:
            kept.append({**entity, "offset": start, "length": stop - start})
    return stripped, kept


_AUTO_ENTITY = re.compile(  # simplified versions of Telegram's own rules
    r"(?P<bot_command>(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>]))"
    r"|(?P<mention>(?<!\w)@[A-Za-z0-9_]{2,32}(?!\w))"
    r"|(?P<url>https?://[^\s]+)"
)


def _auto_entities(text: str) -> list[JSONDict]:
    """Entities Telegram detects in text typed by a user: /commands, @mentions and URLs."""
    entities = []
    for match in _AUTO_ENTITY.finditer(text):
        assert match.lastgroup is not None
        entities.append(
            {
                "type": match.lastgroup,
                "offset": _u16(text[: match.start()]),
                "length": _u16(match.group()),
            }
        )
    return entities


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG or JPEG, read from its header."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data[:2] == b"\xff\xd8":
        index = 2
        while index + 9 <= len(data) and data[index] == 0xFF:
            marker = data[index + 1]
            if marker == 0xFF:  # fill byte
                index += 1
                continue
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[index + 5 : index + 9])
                return width, height
            (length,) = struct.unpack(">H", data[index + 2 : index + 4])
            index += 2 + length
    return None


def _extension(filename: str | None, mime_type: str | None, default: str) -> str:
    if filename and "." in filename:
        return "." + filename.rsplit(".", 1)[1].lower()
    return (mime_type and mimetypes.guess_extension(mime_type)) or default


# --------------------------------------------------------------------------- the fake


class _Uvicorn(uvicorn.Server):
    """uvicorn.Server that stops as soon as asked instead of on its next 0.1 s tick."""

    stop_requested: asyncio.Event

    async def main_loop(self) -> None:
        await self.on_tick(0)  # sets the Date and Server headers once
        await self.stop_requested.wait()


class FakeTelegram:
    """A Bot API server for one bot token, plus controls to play the users' side.

    ``with FakeTelegram() as tg:`` starts it on 127.0.0.1 (free port) in a background thread;
    point the real bot at ``tg.base_url`` / ``tg.base_file_url`` with ``tg.token``.
    """

    def __init__(
        self,
        token: str = "123456789:AAF-fake-warta-test-token",
        *,
        bot_first_name: str = "Warta",
        bot_username: str = "warta_test_bot",
    ) -> None:
        self.token = token
        self.bot_user: JSONDict = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)  # notified on every state change
        self._ids = itertools.count(1)

        self._users: dict[int, JSONDict] = {}
        self._chats: dict[int, JSONDict] = {}
        self._messages: dict[int, dict[int, JSONDict]] = {}  # chat id -> message id -> message
        self._last_message_id: dict[int, int] = {}
        self._bot_messages: set[tuple[int, int]] = set()
        self._sent: list[JSONDict] = []
        self._calls: list[ApiCall] = []
        self._files: dict[str, StoredFile] = {}
        self._photo_sets: dict[str, list[JSONDict]] = {}  # any size's file_id -> all sizes
        self._updates: list[JSONDict] = []
        self._next_update_id = 700_000_001
        self._allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
        self._poll_generation = 0
        self._callback_queries: dict[str, JSONDict] = {}
        self._answered_callbacks: list[JSONDict] = []
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._webhook: JSONDict | None = None
        self._failures: list[_Failure] = []
        self._internal_errors: list[str] = []

        self._methods: dict[str, tuple[str, Callable[[_Params], Any]]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates_now,  # long polling happens in _long_poll
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "sendPhoto": self._send_photo,
                "sendMediaGroup": self._send_media_group,
                "sendChatAction": self._send_chat_action,
                "getFile": self._get_file,
                "answerCallbackQuery": self._answer_callback_query,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "getChat": self._get_chat,
            }.items()
        }

        self._app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._api_endpoint, methods=["GET", "POST"]),
                Route("/file/bot{token}/{file_path:path}", self._file_endpoint, methods=["GET"]),
                Route("/{path:path}", self._not_found, methods=["GET", "POST"]),
            ]
        )
        self._server: _Uvicorn | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._updates_arrived: asyncio.Event | None = None
        self._closing = False
        self.port = 0

    # ----------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    def start(self) -> FakeTelegram:
        """Bind a free port on 127.0.0.1 and serve from a background thread."""
        if self._thread is not None:
            raise RuntimeError("FakeTelegram is already started")
        self._closing = False
        # proto=IPPROTO_TCP lets asyncio set TCP_NODELAY on accepted connections; without it
        # every response waits ~40 ms for a delayed ACK (headers and body are two writes).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            log_config=None,  # leave the test process's logging alone
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=2,
        )
        self._server = _Uvicorn(config)
        self._thread = threading.Thread(
            target=self._serve, args=(sock,), name=f"fake-telegram-{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                sock.close()
                raise RuntimeError("fake Telegram server did not start")
            time.sleep(0.005)
        return self

    def _serve(self, sock: socket.socket) -> None:
        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            self._updates_arrived = asyncio.Event()
            assert self._server is not None
            self._server.stop_requested = asyncio.Event()
            await self._server.serve(sockets=[sock])

        try:
            asyncio.run(serve())
        finally:
            sock.close()

    def close(self) -> None:
        """Answer pending long polls, stop the server and join its thread."""
        if self._thread is None or self._server is None:
            return
        with self._lock:
            self._closing = True
        self._wake_pollers()
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                self._loop.call_soon_threadsafe(self._server.stop_requested.set)
        self._thread.join(timeout=10)
        if self._thread.is_alive():
            raise RuntimeError("fake Telegram server did not stop")
        self._thread = None

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
        if exc_type is None and self._internal_errors:
            raise AssertionError(
                "the fake Telegram server crashed:\n" + "\n".join(self._internal_errors)
            )

    # ----------------------------------------------------------------- test side: the world

    def add_user(
        self,
        id: int,  # Telegram's field name
        first_name: str,
        username: str | None = None,
        *,
        last_name: str | None = None,
        language_code: str | None = None,
    ) -> JSONDict:
        """Register a human user; returns the User object as Telegram sends it."""
        user: JSONDict = {"id": id, "is_bot": False, "first_name": first_name}
        for key, value in (
            ("last_name", last_name),
            ("username", username),
            ("language_code", language_code),
        ):
            if value is not None:
                user[key] = value
        with self._lock:
            self._users[id] = user
            return copy.deepcopy(user)

    def add_chat(
        self,
        id: int,  # Telegram's field name
        type: str,  # Telegram's field name
        title: str | None = None,
        first_name: str | None = None,
        is_forum: bool = False,
        *,
        username: str | None = None,
    ) -> JSONDict:
        """Register a chat the bot is in; returns the Chat object as it appears in messages.

        A private chat's id is its user's id (the user is created if unknown).
        """
        if type not in ("private", "group", "supergroup", "channel"):
            raise ValueError(f"unknown chat type {type!r}")
        with self._lock:
            if type == "private":
                user = self._users.get(id)
                if user is None:
                    user = self._users[id] = {
                        "id": id,
                        "is_bot": False,
                        "first_name": first_name or f"User {id}",
                    }
                    if username:
                        user["username"] = username
                chat: JSONDict = {
                    "id": id,
                    "type": "private",
                    "first_name": first_name or user["first_name"],
                }
                if username or user.get("username"):
                    chat["username"] = username or user["username"]
            else:
                if not title:
                    raise ValueError(f"a {type} chat needs a title")
                chat = {"id": id, "type": type, "title": title}
                if username:
                    chat["username"] = username
                if is_forum:
                    if type != "supergroup":
                        raise ValueError("only supergroups can be forums")
                    chat["is_forum"] = True
            self._chats[id] = chat
            return copy.deepcopy(chat)

    def push_message(
        self,
        chat_id: int,
        from_user_id: int,
        text: str | None = None,
        photo: bytes | list[bytes] | None = None,
        document: bytes | None = None,
        video: bytes | None = None,
        voice: bytes | None = None,
        caption: str | None = None,
        media_group_id: str | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
        *,
        entities: list[JSONDict] | None = None,
        file_name: str | None = None,
        mime_type: str | None = None,
        duration: int = 1,
    ) -> JSONDict:
        """A user sends a message: it is stored in the chat and queued as an Update.

        ``photo`` as a list of images is an album: one message per photo, sharing a new
        media_group_id, the caption on the first; the first message is returned.
        /commands, @mentions and URLs in text/caption get entities unless ``entities`` is given.
        Unknown users are created; a chat with id == from_user_id is created as private.
        """
        if isinstance(photo, list):
            if not photo:
                raise ValueError("an album needs at least one photo")
            with self._lock:  # a poll sees the whole album or none of it
                group_id = media_group_id or str(10**17 + next(self._ids))
                messages = [
                    self.push_message(
                        chat_id,
                        from_user_id,
                        photo=image,
                        caption=caption if index == 0 else None,
                        media_group_id=group_id,
                        reply_to_message_id=reply_to_message_id,
                        message_thread_id=message_thread_id,
                        entities=entities if index == 0 else None,
                    )
                    for index, image in enumerate(photo)
                ]
                return messages[0]
        media = [m for m in (photo, document, video, voice) if m is not None]
        if len(media) > 1 or (media and text is not None) or (not media and text is None):
            raise ValueError("a message has exactly one of text, photo, document, video, voice")
        if text is not None and caption is not None:
            raise ValueError("a text message has no caption")
        with self._lock:
            user = self._user(from_user_id)
            chat = self._chat_for_push(chat_id, user)
            content: JSONDict = {}
            if text is not None:
                content["text"] = text
                found = _auto_entities(text) if entities is None else entities
                if found:
                    content["entities"] = found
            if caption is not None:
                content["caption"] = caption
                found = _auto_entities(caption) if entities is None else entities
                if found:
                    content["caption_entities"] = found
            if photo is not None:
                content["photo"] = self._store_photo(photo)
            elif document is not None:
                stored = self._store_file(
                    "document", document, file_name or "document.bin", mime_type
                )
                content["document"] = self._file_object(stored)
            elif video is not None:
                stored = self._store_file("video", video, file_name, mime_type or "video/mp4")
                content["video"] = {
                    **self._file_object(stored),
                    "width": 640,
                    "height": 360,
                    "duration": duration,
                }
            elif voice is not None:
                stored = self._store_file("voice", voice, None, mime_type or "audio/ogg")
                content["voice"] = {**self._file_object(stored), "duration": duration}
            if media_group_id is not None:
                content["media_group_id"] = media_group_id
            content.update(self._placement(chat, message_thread_id, reply_to_message_id))
            message = self._new_message(chat, user, content)
            self._queue_update({"message": copy.deepcopy(message)})
            return copy.deepcopy(message)

    def push_callback_query(
        self, chat_id: int, from_user_id: int, message_id: int, data: str
    ) -> JSONDict:
        """A user presses an inline button of a message; queues and returns the CallbackQuery."""
        with self._lock:
            message = self._messages.get(chat_id, {}).get(message_id)
            if message is None:
                raise ValueError(f"no message {message_id} in chat {chat_id}")
            query = {
                "id": str(4_000_000_000_000_000_000 + next(self._ids)),
                "from": copy.deepcopy(self._user(from_user_id)),
                "message": copy.deepcopy(message),
                "chat_instance": str(abs(chat_id) * 7919 + 1),
                "data": data,
            }
            self._callback_queries[query["id"]] = query
            self._queue_update({"callback_query": copy.deepcopy(query)})
            return copy.deepcopy(query)

    def push_update(self, update: JSONDict) -> JSONDict:
        """Queue any raw Update (an ``update_id`` is added if missing); returns it.

        The fake does not look inside: messages in it are not stored for messages_in().
        """
        with self._lock:
            return copy.deepcopy(self._queue_update(copy.deepcopy(update)))

    def fail_next(
        self,
        method: str,
        chat_id: int | str | None = None,
        error_code: int = 429,
        retry_after: int = 3,
        description: str | None = None,
        *,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (for ``chat_id`` only, if given) fail.

        429 answers carry ``parameters.retry_after`` like Telegram's flood control.
        """
        if error_code == 429:
            error = BotApiError(
                429,
                description or f"Too Many Requests: retry after {retry_after}",
                {"retry_after": retry_after},
            )
        else:
            error = BotApiError(
                error_code,
                description or _DEFAULT_ERROR_DESCRIPTIONS.get(error_code, "Error"),
            )
        with self._lock:
            self._failures.append(_Failure(method.lower(), chat_id, error, times))

    # ----------------------------------------------------------------- test side: inspection

    @property
    def calls(self) -> list[ApiCall]:
        """Every request the bot made, oldest first (including failed ones)."""
        with self._lock:
            return list(self._calls)

    def calls_of(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method.lower() == method.lower()]

    @property
    def sent(self) -> list[JSONDict]:
        """Every message the bot sent, as it was when sent (later edits show in messages_in)."""
        with self._lock:
            return copy.deepcopy(self._sent)

    def messages_in(self, chat_id: int, *, from_bot: bool | None = None) -> list[JSONDict]:
        """Current state of a chat's messages (edits applied, deletions gone), by message_id."""
        with self._lock:
            messages = sorted(self._messages.get(chat_id, {}).values(), key=_message_id)
            if from_bot is not None:
                messages = [
                    m
                    for m in messages
                    if ((chat_id, m["message_id"]) in self._bot_messages) == from_bot
                ]
            return copy.deepcopy(messages)

    def message(self, chat_id: int, message_id: int) -> JSONDict:
        with self._lock:
            return copy.deepcopy(self._messages[chat_id][message_id])

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        with self._lock:
            return copy.deepcopy(self._updates)

    @property
    def answered_callbacks(self) -> list[JSONDict]:
        """answerCallbackQuery calls: callback_query_id plus the text/show_alert/url/cache_time
        given."""
        with self._lock:
            return copy.deepcopy(self._answered_callbacks)

    @property
    def commands(self) -> dict[tuple[str, str], list[JSONDict]]:
        """Bot commands by (scope key, language_code); scope keys: "default",
        "all_private_chats", "all_group_chats", "all_chat_administrators", "chat:<id>",
        "chat_administrators:<id>", "chat_member:<chat id>:<user id>"."""
        with self._lock:
            return copy.deepcopy(self._commands)

    @property
    def webhook(self) -> JSONDict | None:
        """The webhook set by setWebhook (url, secret_token, ...) or None."""
        with self._lock:
            return copy.deepcopy(self._webhook)

    @property
    def internal_errors(self) -> list[str]:
        """Tracebacks of crashes of the fake itself (answered with 500)."""
        with self._lock:
            return list(self._internal_errors)

    def file_bytes(self, file_id: str) -> bytes:
        with self._lock:
            return self._files[file_id].data

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Block until predicate() is true (rechecked on each change); TimeoutError otherwise.

        Only from a thread that does not run the bot; in async tests use wait_until_async.
        """
        with self._changed:
            if not self._changed.wait_for(predicate, timeout):
                raise TimeoutError(f"condition not met within {timeout}s")

    async def wait_until_async(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Await until predicate() is true, letting the event loop run; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout}s")
            await asyncio.sleep(0.01)

    # ----------------------------------------------------------------- HTTP endpoints

    async def _api_endpoint(self, request: Request) -> Response:
        token = request.path_params["token"]
        requested = request.path_params["method"]
        arrived = time.time()
        unreadable: BotApiError | None = None
        try:
            values, files = await _read_params(request)
        except BotApiError as error:
            values, files, unreadable = {}, {}, error
        call = ApiCall(
            method=requested,
            params=values,
            files={name: upload.data for name, upload in files.items()},
            time=arrived,
        )
        with self._lock:
            self._calls.append(call)
        try:
            if unreadable is not None:
                raise unreadable
            if token != self.token:
                raise BotApiError(401, "Unauthorized")
            known = self._methods.get(requested.lower())
            if known is None:
                raise BotApiError(404, "Not Found")
            call.method, handler = known
            params = _Params(values, files)
            with self._lock:
                self._raise_injected_failure(call.method, params)
            if call.method == "getUpdates":
                result: Any = await self._long_poll(params)
            else:
                with self._lock:
                    result = handler(params)
            if isinstance(result, _Result):
                body = {"ok": True, "result": result.result, "description": result.description}
            else:
                body = {"ok": True, "result": result}
            status = 200
        except BotApiError as error:
            body, status = error.to_json(), error.error_code
        except Exception:
            with self._lock:
                self._internal_errors.append(traceback.format_exc())
            body = {"ok": False, "error_code": 500, "description": "Internal Server Error"}
            status = 500
        with self._changed:
            call.response = copy.deepcopy(body)
            self._changed.notify_all()
        return JSONResponse(body, status_code=status)

    async def _file_endpoint(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return JSONResponse(BotApiError(401, "Unauthorized").to_json(), status_code=401)
        file_path = request.path_params["file_path"]
        with self._lock:
            stored = next((f for f in self._files.values() if f.file_path == file_path), None)
        if stored is None:
            return JSONResponse(BotApiError(404, "Not Found").to_json(), status_code=404)
        return Response(stored.data, media_type=stored.mime_type or "application/octet-stream")

    async def _not_found(self, request: Request) -> Response:
        return JSONResponse(BotApiError(404, "Not Found").to_json(), status_code=404)

    def _raise_injected_failure(self, method: str, params: _Params) -> None:
        for failure in self._failures:
            if failure.method != method.lower():
                continue
            if failure.chat_id is not None and str(failure.chat_id) != str(params.get("chat_id")):
                continue
            failure.remaining -= 1
            if failure.remaining <= 0:
                self._failures.remove(failure)
            raise failure.error

    # ----------------------------------------------------------------- getUpdates / webhook

    async def _long_poll(self, params: _Params) -> list[JSONDict]:
        """getUpdates: confirm by offset, then wait up to ``timeout`` s for an update."""
        with self._lock:
            self._poll_generation += 1
            generation = self._poll_generation
            batch = self._get_updates_now(params)
        timeout = max(params.integer("timeout") or 0, 0)
        limit = min(max(params.integer("limit") or 100, 1), 100)
        deadline = time.monotonic() + timeout
        self._wake_pollers()  # an older poll still waiting now ends with 409
        assert self._updates_arrived is not None
        while not batch:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closing:
                break
            self._updates_arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._updates_arrived.wait(), remaining)
            with self._lock:
                if generation != self._poll_generation:
                    raise BotApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; "
                        "make sure that only one bot instance is running",
                    )
                batch = self._deliverable(limit)
        return batch

    def _get_updates_now(self, params: _Params) -> list[JSONDict]:
        if self._webhook is not None:
            raise BotApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.integer("offset")
        if offset and offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset and offset < 0:
            self._updates = self._updates[offset:]
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) or DEFAULT_UPDATE_TYPES
        return self._deliverable(min(max(params.integer("limit") or 100, 1), 100))

    def _deliverable(self, limit: int) -> list[JSONDict]:
        # Updates of types not allowed are dropped: Telegram never delivers them.
        self._updates = [u for u in self._updates if _update_type(u) in self._allowed_updates]
        return copy.deepcopy(self._updates[:limit])

    def _queue_update(self, update: JSONDict) -> JSONDict:
        update.setdefault("update_id", self._next_update_id)
        self._next_update_id = max(self._next_update_id, update["update_id"]) + 1
        self._updates.append(update)
        self._changed.notify_all()
        self._wake_pollers()
        return update

    def _wake_pollers(self) -> None:
        if self._loop is not None and self._updates_arrived is not None:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                self._loop.call_soon_threadsafe(self._updates_arrived.set)

    def _set_webhook(self, params: _Params) -> _Result:
        url = params.string("url") or ""
        if not url:
            return self._delete_webhook(params)
        match = re.fullmatch(r"https://[^/:]+(?::(\d+))?(/.*)?", url)
        if not match:
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if match.group(1) and match.group(1) not in ("80", "88", "443", "8443"):
            raise _bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
        secret = params.string("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise _bad_request("secret token contains unallowed characters")
        if params.flag("drop_pending_updates"):
            self._updates.clear()
        already = self._webhook is not None and self._webhook["url"] == url
        self._webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": params.integer("max_connections") or 40,
            "allowed_updates": params.get("allowed_updates"),
            "ip_address": params.string("ip_address"),
        }
        return _Result(True, "Webhook is already set" if already else "Webhook was set")

    def _delete_webhook(self, params: _Params) -> _Result:
        if params.flag("drop_pending_updates"):
            self._updates.clear()
        existed, self._webhook = self._webhook is not None, None
        return _Result(True, "Webhook was deleted" if existed else "Webhook is already deleted")

    def _get_webhook_info(self, params: _Params) -> JSONDict:
        info: JSONDict = {
            "url": self._webhook["url"] if self._webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook:
            info["max_connections"] = self._webhook["max_connections"]
            if self._webhook["allowed_updates"] is not None:
                info["allowed_updates"] = self._webhook["allowed_updates"]
        return info

    # ----------------------------------------------------------------- messages

    def _get_me(self, params: _Params) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _get_chat(self, params: _Params) -> JSONDict:
        chat = self._resolve_chat(params)
        return {
            **copy.deepcopy(chat),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _send_message(self, params: _Params) -> JSONDict:
        chat = self._resolve_chat(params)
        text, entities = self._formatted(
            params, "text", "entities", MESSAGE_TEXT_LIMIT, "message is too long"
        )
        if not text:
            raise _bad_request("message text is empty")
        content: JSONDict = {"text": text}
        if entities:
            content["entities"] = entities
        return self._send(chat, params, content)

    def _send_photo(self, params: _Params) -> JSONDict:
        chat = self._resolve_chat(params)
        content: JSONDict = {"photo": self._input_photo(params, params.get("photo"), "photo")}
        content.update(self._caption(params))
        return self._send(chat, params, content)

    def _send_media_group(self, params: _Params) -> list[JSONDict]:
        chat = self._resolve_chat(params)
        media = params.get("media")
        if not isinstance(media, list):
            raise _bad_request("media is empty")
        low, high = MEDIA_GROUP_SIZE
        if not low <= len(media) <= high:
            raise _bad_request("wrong number of media items: an album has 2-10 items")
        contents = []
        for item in media:  # check everything before sending anything
            if not isinstance(item, dict) or item.get("type") not in (
                "photo",
                "video",
                "document",
                "audio",
            ):
                raise _bad_request("unsupported media type in media group")
            item_params = _Params(item, params.files)
            if item["type"] == "photo":
                content: JSONDict = {"photo": self._input_photo(params, item.get("media"), "")}
            else:
                stored = self._input_file(params, item.get("media"), "", item["type"])
                content = {item["type"]: self._file_object(stored)}
                if item["type"] in ("video", "audio"):
                    content[item["type"]]["duration"] = item_params.integer("duration") or 1
                if item["type"] == "video":
                    content["video"]["width"] = item_params.integer("width") or 640
                    content["video"]["height"] = item_params.integer("height") or 360
            content.update(self._caption(item_params))
            contents.append(content)
        group_id = str(10**17 + next(self._ids))
        return [self._send(chat, params, {**c, "media_group_id": group_id}) for c in contents]

    def _send_chat_action(self, params: _Params) -> bool:
        self._resolve_chat(params)
        if params.string("action") not in CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True

    def _edit_message_text(self, params: _Params) -> JSONDict:
        message = self._editable_message(params)
        if "text" not in message:
            raise _bad_request("there is no text in the message to edit")
        text, entities = self._formatted(
            params, "text", "entities", MESSAGE_TEXT_LIMIT, "message is too long"
        )
        if not text:
            raise _bad_request("message text is empty")
        markup = self._inline_markup(params)
        if (text, entities, markup) == (
            message["text"],
            message.get("entities", []),
            message.get("reply_markup"),
        ):
            raise BotApiError(400, NOT_MODIFIED)
        message["text"] = text
        _set_or_drop(message, "entities", entities or None)
        _set_or_drop(message, "reply_markup", markup)
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    def _edit_message_reply_markup(self, params: _Params) -> JSONDict:
        message = self._editable_message(params)
        markup = self._inline_markup(params)
        if markup == message.get("reply_markup"):
            raise BotApiError(400, NOT_MODIFIED)
        _set_or_drop(message, "reply_markup", markup)
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    def _delete_message(self, params: _Params) -> bool:
        chat = self._resolve_chat(params)
        message_id = params.integer("message_id", required=True)
        if self._messages.get(chat["id"], {}).pop(message_id, None) is None:
            raise _bad_request("message to delete not found")
        self._bot_messages.discard((chat["id"], message_id))
        return True

    def _send(self, chat: JSONDict, params: _Params, content: JSONDict) -> JSONDict:
        """Store a message from the bot, with placement (thread, reply) and inline keyboard."""
        reply = params.get("reply_parameters") or {}
        if not isinstance(reply, dict):
            raise _bad_request("can't parse reply parameters JSON object")
        reply_to = _Params(reply, {}).integer("message_id") or params.integer("reply_to_message_id")
        if reply_to is not None and reply_to not in self._messages.get(chat["id"], {}):
            if reply.get("allow_sending_without_reply") or params.flag(
                "allow_sending_without_reply"
            ):
                reply_to = None
            else:
                raise _bad_request("message to be replied not found")
        content = {
            **content,
            **self._placement(chat, params.integer("message_thread_id"), reply_to),
        }
        markup = self._inline_markup(params)
        if markup is not None:
            content["reply_markup"] = markup
        sender = None if chat["type"] == "channel" else self.bot_user
        message = self._new_message(chat, sender, content)
        self._bot_messages.add((chat["id"], message["message_id"]))
        self._sent.append(copy.deepcopy(message))
        return copy.deepcopy(message)

    def _new_message(self, chat: JSONDict, sender: JSONDict | None, content: JSONDict) -> JSONDict:
        message_id = self._last_message_id.get(chat["id"], 0) + 1
        self._last_message_id[chat["id"]] = message_id
        message: JSONDict = {"message_id": message_id}
        if sender is not None:
            message["from"] = copy.deepcopy(sender)
        else:
            message["sender_chat"] = copy.deepcopy(chat)
        message["chat"] = copy.deepcopy(chat)
        message["date"] = int(time.time())
        message.update(content)
        self._messages.setdefault(chat["id"], {})[message_id] = message
        self._changed.notify_all()
        return message

    def _placement(self, chat: JSONDict, thread_id: int | None, reply_to: int | None) -> JSONDict:
        """message_thread_id / is_topic_message / reply_to_message fields of a new message."""
        fields: JSONDict = {}
        replied = None
        if reply_to is not None:
            replied = self._messages.get(chat["id"], {}).get(reply_to)
            if replied is None:
                raise ValueError(f"no message {reply_to} in chat {chat['id']}")
            if thread_id is None:
                thread_id = replied.get("message_thread_id")
        if thread_id is not None:
            fields["message_thread_id"] = thread_id
            if chat.get("is_forum"):
                fields["is_topic_message"] = True
        if replied is not None:
            fields["reply_to_message"] = {
                k: copy.deepcopy(v) for k, v in replied.items() if k != "reply_to_message"
            }
        return fields

    def _editable_message(self, params: _Params) -> JSONDict:
        if params.get("inline_message_id") is not None:
            raise _bad_request("inline messages are not supported by the fake")
        chat = self._resolve_chat(params)
        message_id = params.integer("message_id", required=True)
        message = self._messages.get(chat["id"], {}).get(message_id)
        if message is None:
            raise _bad_request("message to edit not found")
        if (chat["id"], message_id) not in self._bot_messages:
            raise _bad_request("message can't be edited")
        return message

    def _formatted(
        self, params: _Params, text_name: str, entities_name: str, limit: int, too_long: str
    ) -> tuple[str, list[JSONDict]]:
        """Text plus entities after parse_mode (HTML is parsed; Markdown modes pass as-is)."""
        raw = params.string(text_name) or ""
        entities = params.get(entities_name)
        if (params.string("parse_mode") or "").lower() == "html" and entities is None:
            text, entities = _parse_html(raw)
        else:
            text, entities = raw, list(entities or [])
        text, entities = _strip_text(text, entities)
        if len(text) > limit:
            raise _bad_request(too_long)
        return text, entities

    def _caption(self, params: _Params) -> JSONDict:
        caption, entities = self._formatted(
            params, "caption", "caption_entities", CAPTION_LIMIT, "message caption is too long"
        )
        fields: JSONDict = {}
        if caption:
            fields["caption"] = caption
            if entities:
                fields["caption_entities"] = entities
        return fields

    def _inline_markup(self, params: _Params) -> JSONDict | None:
        """The InlineKeyboardMarkup to show on the message; reply keyboards are accepted but,
        as in Telegram, not part of the returned Message."""
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return None
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad_request("can't parse inline keyboard: rows must be arrays of buttons")
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise _bad_request("can't parse inline keyboard button: Text is empty")
                if len(button) < 2:
                    raise _bad_request(
                        "can't parse inline keyboard button: "
                        "Text buttons are unallowed in the inline keyboard"
                    )
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= CALLBACK_DATA_LIMIT:
                    raise _bad_request("BUTTON_DATA_INVALID")
        return copy.deepcopy(markup)

    # ----------------------------------------------------------------- files

    def _get_file(self, params: _Params) -> JSONDict:
        stored = self._files.get(params.string("file_id", required=True) or "")
        if stored is None:
            raise _bad_request("invalid file_id")
        if len(stored.data) > GET_FILE_LIMIT:
            raise _bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    def _input_photo(self, params: _Params, value: Any, name: str) -> list[JSONDict]:
        """A photo parameter: an upload (as ``name`` or attach://x) or a known file_id."""
        if isinstance(value, str) and value in self._photo_sets:
            return copy.deepcopy(self._photo_sets[value])
        upload = self._upload(params, value, name)
        if upload is None:
            if isinstance(value, str) and value in self._files:
                kind = self._files[value].kind.capitalize()
                raise _bad_request(f"can't use file of type {kind} as Photo")
            raise _bad_request("wrong file identifier/HTTP URL specified")
        return self._store_photo(upload.data)

    def _input_file(self, params: _Params, value: Any, name: str, kind: str) -> StoredFile:
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        upload = self._upload(params, value, name)
        if upload is None:
            raise _bad_request("wrong file identifier/HTTP URL specified")
        return self._store_file(kind, upload.data, upload.filename, upload.content_type)

    def _upload(self, params: _Params, value: Any, name: str) -> UploadedFile | None:
        if isinstance(value, str) and value.startswith("attach://"):
            upload = params.files.get(value.removeprefix("attach://"))
            if upload is None:
                raise _bad_request(f"file {value} not found in the request")
            return upload
        if value is None and name:
            upload = params.files.get(name)
            if upload is None:
                raise _bad_request(f"there is no {name} in the request")
            return upload
        return None  # a file_id or an HTTP URL (the fake fetches nothing)

    def _new_file(
        self,
        kind: str,
        data: bytes,
        extension: str,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        number = next(self._ids)
        prefix = {"photo": "AgAC", "document": "BQAC", "video": "BAAC", "voice": "AwAC"}
        stored = StoredFile(
            file_id=f"{prefix.get(kind, 'CQAC')}Ag{number:06d}{secrets.token_urlsafe(24)}",
            file_unique_id=f"AQAD{number:06d}{secrets.token_urlsafe(6)}",
            data=data,
            file_path=f"{kind if kind == 'voice' else kind + 's'}/file_{number}{extension}",
            kind=kind,
            file_name=file_name,
            mime_type=mime_type,
        )
        self._files[stored.file_id] = stored
        return stored

    def _store_file(
        self, kind: str, data: bytes, file_name: str | None, mime_type: str | None
    ) -> StoredFile:
        if mime_type is None and file_name:
            mime_type = mimetypes.guess_type(file_name)[0]
        default_extension = {"voice": ".oga", "video": ".mp4", "audio": ".mp3"}.get(kind, "")
        return self._new_file(
            kind,
            data,
            _extension(file_name, mime_type, default_extension),
            file_name,
            mime_type or "application/octet-stream",
        )

    def _file_object(self, stored: StoredFile) -> JSONDict:
        obj: JSONDict = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if stored.file_name and stored.kind in ("document", "video", "audio"):
            obj["file_name"] = stored.file_name
        if stored.mime_type:
            obj["mime_type"] = stored.mime_type
        obj["file_size"] = len(stored.data)
        return obj

    def _store_photo(self, data: bytes) -> list[JSONDict]:
        """PhotoSize list like Telegram's: thumbnails of growing size, then the full photo.

        Only the largest size holds the real bytes; thumbnails hold a prefix of them.
        """
        width, height = _image_size(data) or (1280, 960)
        longest = max(width, height)
        sizes = []
        for side in PHOTO_SIDES:
            if side < longest:
                scale = side / longest
                size_bytes = max(1, min(len(data) - 1, int(len(data) * scale * scale)))
                sizes.append((round(width * scale), round(height * scale), data[:size_bytes]))
        sizes.append((width, height, data))
        photo = []
        for w, h, content in sizes:
            stored = self._new_file("photo", content, ".jpg", mime_type="image/jpeg")
            photo.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": len(content),
                    "width": max(w, 1),
                    "height": max(h, 1),
                }
            )
        for size in photo:
            self._photo_sets[size["file_id"]] = photo
        return copy.deepcopy(photo)

    # ----------------------------------------------------------------- callbacks & commands

    def _answer_callback_query(self, params: _Params) -> bool:
        query_id = params.string("callback_query_id", required=True) or ""
        if self._callback_queries.pop(query_id, None) is None:
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        answer: JSONDict = {"callback_query_id": query_id}
        for name in ("text", "url"):
            if params.get(name) is not None:
                answer[name] = params.string(name)
        if params.get("show_alert") is not None:
            answer["show_alert"] = params.flag("show_alert")
        if params.get("cache_time") is not None:
            answer["cache_time"] = params.integer("cache_time")
        self._answered_callbacks.append(answer)
        return True

    def _scope_key(self, params: _Params) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        language = params.string("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise _bad_request("invalid language code specified")
        kind = scope.get("type") if isinstance(scope, dict) else None
        if kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
            return kind, language
        if kind in ("chat", "chat_administrators", "chat_member"):
            chat = self._resolve_chat(_Params(scope, {}))
            key = f"{kind}:{chat['id']}"
            if kind == "chat_member":
                key += f":{_Params(scope, {}).integer('user_id', required=True)}"
            return key, language
        raise _bad_request("unsupported bot command scope type")

    def _set_my_commands(self, params: _Params) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad_request("commands must be an array of at most 100 commands")
        for command in commands:
            name = command.get("command", "") if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._scope_key(params)
        if commands:
            self._commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self._commands.pop(key, None)
        return True

    def _get_my_commands(self, params: _Params) -> list[JSONDict]:
        return copy.deepcopy(self._commands.get(self._scope_key(params), []))

    def _delete_my_commands(self, params: _Params) -> bool:
        self._commands.pop(self._scope_key(params), None)
        return True

    # ----------------------------------------------------------------- lookups

    def _resolve_chat(self, params: _Params) -> JSONDict:
        value = params.get("chat_id")
        if value is None or value == "":
            raise _bad_request("chat_id is empty")
        if isinstance(value, str) and value.startswith("@"):
            for chat in self._chats.values():
                if chat.get("username", "").lower() == value[1:].lower():
                    return chat
            raise _bad_request("chat not found")
        chat = self._chats.get(params.integer("chat_id") or 0)
        if chat is None:
            raise _bad_request("chat not found")
        return chat

    def _user(self, user_id: int) -> JSONDict:
        if user_id not in self._users:
            self._users[user_id] = {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
        return self._users[user_id]

    def _chat_for_push(self, chat_id: int, user: JSONDict) -> JSONDict:
        if chat_id not in self._chats:
            if chat_id != user["id"]:
                raise ValueError(f"unknown chat {chat_id}: add_chat() it first")
            self.add_chat(chat_id, "private", first_name=user["first_name"])
        return self._chats[chat_id]


def _update_type(update: JSONDict) -> str:
    return next((key for key in update if key != "update_id"), "")


def _message_id(message: JSONDict) -> int:
    return message["message_id"]


def _set_or_drop(target: JSONDict, key: str, value: Any) -> None:
    if value is None:
        target.pop(key, None)
    else:
        target[key] = value
