"""The real python-telegram-bot against FakeTelegram: the fake must behave like the Bot API."""

import asyncio
import datetime as dtm
import io
import struct
import threading
import time
import zlib

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    ReplyParameters,
    Update,
)
from telegram.constants import MessageEntityType
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    RetryAfter,
)
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes, MessageHandler, filters

from .telegram_server import FakeTelegram

USER = 5551001
OTHER_USER = 5551002
NEWSROOM = -1001234567890  # a forum supergroup


def make_png(width: int, height: int, seed: int = 0) -> bytes:
    """A valid RGB PNG (so the fake can read its size), different for each seed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes((x * 7 + seed * 31) % 256 for x in range(width * 3))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch):
    # PTB 22 warns on every int-valued duration (RetryAfter.retry_after, ...) unless opted in.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
def tg():
    with FakeTelegram() as fake:
        fake.add_user(USER, "Ala", "ala_k", language_code="pl")
        fake.add_chat(USER, "private")
        fake.add_user(OTHER_USER, "Olek")
        fake.add_chat(OTHER_USER, "private")
        fake.add_chat(NEWSROOM, "supergroup", title="Newsroom", is_forum=True)
        yield fake
    assert not [t for t in threading.enumerate() if t.name.startswith("fake-telegram")]


def make_bot(tg: FakeTelegram, token: str | None = None) -> Bot:
    return Bot(token or tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url)


@pytest.mark.asyncio
async def test_get_me_and_auth_errors(tg):
    async with make_bot(tg) as bot:
        me = await bot.get_me()
        assert (me.id, me.is_bot, me.username) == (tg.bot_user["id"], True, "warta_test_bot")
        assert bot.username == "warta_test_bot"  # initialize() used getMe
        with pytest.raises(EndPointNotFound):
            await bot.do_api_request("noSuchMethod")

    with pytest.raises(InvalidToken):
        async with make_bot(tg, token="987:wrong"):
            pass

    async with httpx.AsyncClient() as client:
        ok = await client.post(f"{tg.base_url}{tg.token}/getme")  # method names ignore case
        unknown = await client.post(f"{tg.base_url}{tg.token}/noSuchMethod")
        unauthorized = await client.get(f"{tg.base_url}987:wrong/getMe")
    assert ok.json()["ok"] is True and ok.json()["result"]["is_bot"] is True
    assert unknown.status_code == 404
    assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert unauthorized.status_code == 401
    assert unauthorized.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert [(c.method, c.ok) for c in tg.calls] == [
        ("getMe", True),  # Bot.initialize()
        ("getMe", True),
        ("noSuchMethod", False),
        ("getMe", False),  # wrong token
        ("getMe", True),  # "getme" recorded under its canonical name
        ("noSuchMethod", False),
        ("getMe", False),
    ]


@pytest.mark.asyncio
async def test_get_updates_with_offset_confirmation(tg):
    tg.push_message(USER, USER, "hello")
    tg.push_message(USER, USER, "/start now")
    async with make_bot(tg) as bot:
        first = await bot.get_updates()
        assert [u.message.text for u in first] == ["hello", "/start now"]
        assert first[1].update_id == first[0].update_id + 1
        assert first[1].message.message_id == first[0].message.message_id + 1
        message = first[0].message
        assert (message.from_user.id, message.from_user.first_name) == (USER, "Ala")
        assert (message.chat.id, message.chat.type) == (USER, "private")
        assert isinstance(message.date, dtm.datetime)
        command = first[1].message.entities[0]
        assert (command.type, command.offset, command.length) == (
            MessageEntityType.BOT_COMMAND,
            0,
            6,
        )

        # Not confirmed yet: delivered again.
        assert [u.update_id for u in await bot.get_updates()] == [u.update_id for u in first]
        # offset confirms everything before it.
        again = await bot.get_updates(offset=first[0].update_id + 1)
        assert [u.message.text for u in again] == ["/start now"]
        assert await bot.get_updates(offset=first[1].update_id + 1) == ()
        assert tg.pending_updates == []

        tg.push_message(USER, USER, "third")
        for n in range(3):
            tg.push_message(OTHER_USER, OTHER_USER, f"more {n}")
        limited = await bot.get_updates(limit=2)
        assert [u.message.text for u in limited] == ["third", "more 0"]
        assert limited[0].update_id > first[1].update_id
        # A negative offset keeps only the last updates.
        assert [u.message.text for u in await bot.get_updates(offset=-1)] == ["more 2"]
        assert len(tg.pending_updates) == 1


@pytest.mark.asyncio
async def test_allowed_updates_filters_update_types(tg):
    async with make_bot(tg) as bot:
        sent = await bot.send_message(USER, "pick")
        tg.push_callback_query(USER, USER, sent.message_id, "a")
        tg.push_message(USER, USER, "text")
        updates = await bot.get_updates(allowed_updates=["message"])
        assert [u.message.text for u in updates] == ["text"]
        assert len(tg.pending_updates) == 1  # the callback query was dropped


@pytest.mark.asyncio
async def test_long_poll_waits_until_timeout_or_update(tg):
    async with make_bot(tg) as bot:
        started = time.monotonic()
        assert await bot.get_updates(timeout=1) == ()
        assert time.monotonic() - started >= 0.9

        pusher = threading.Timer(0.3, tg.push_message, args=(USER, USER, "wake up"))
        started = time.monotonic()
        pusher.start()
        try:
            updates = await bot.get_updates(timeout=20)
        finally:
            pusher.join()
        elapsed = time.monotonic() - started
        assert [u.message.text for u in updates] == ["wake up"]
        assert 0.25 <= elapsed < 3


@pytest.mark.asyncio
async def test_second_poller_terminates_the_first(tg):
    async with make_bot(tg) as first, make_bot(tg) as second:
        waiting = asyncio.create_task(first.get_updates(timeout=10))
        await tg.wait_until_async(lambda: len(tg.calls_of("getUpdates")) == 1)
        assert await second.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await asyncio.wait_for(waiting, 3)


@pytest.mark.asyncio
async def test_send_and_edit_text_round_trip(tg):
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("OK", callback_data="ok")]])
    async with make_bot(tg) as bot:
        sent = await bot.send_message(USER, "Draft", reply_markup=keyboard)
        assert sent.from_user.id == tg.bot_user["id"] and sent.from_user.is_bot
        assert sent.reply_markup == keyboard
        edited = await bot.edit_message_text("Final", chat_id=USER, message_id=sent.message_id)
        assert (edited.message_id, edited.text) == (sent.message_id, "Final")
        assert edited.edit_date is not None
        # Like Telegram, editing without reply_markup removes the keyboard.
        assert edited.reply_markup is None

        (state,) = tg.messages_in(USER)
        assert state["text"] == "Final" and "reply_markup" not in state
        assert [m["text"] for m in tg.sent] == ["Draft"]  # as sent

        with pytest.raises(BadRequest, match="not modified"):
            await bot.edit_message_text("Final", chat_id=USER, message_id=sent.message_id)
        with_keyboard = await bot.edit_message_reply_markup(
            chat_id=USER, message_id=sent.message_id, reply_markup=keyboard
        )
        assert with_keyboard.reply_markup == keyboard
        with pytest.raises(BadRequest, match="not modified"):
            await bot.edit_message_reply_markup(
                chat_id=USER, message_id=sent.message_id, reply_markup=keyboard
            )
        with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
            await bot.edit_message_text("x", chat_id=USER, message_id=999)

        with pytest.raises(BadRequest, match="too long"):
            await bot.send_message(USER, "x" * 4097)
        assert len((await bot.send_message(USER, "y" * 4096)).text) == 4096
        with pytest.raises(BadRequest, match="text is empty"):
            await bot.send_message(USER, "  \n ")
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await bot.send_message(424242, "hi")
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            await bot.send_message(
                USER,
                "too much data",
                reply_markup=InlineKeyboardMarkup(
                    [[InlineKeyboardButton("x", callback_data="d" * 65)]]
                ),
            )

        html = await bot.send_message(USER, "<b>Bold</b> &amp; <i>it</i>", parse_mode="HTML")
        assert html.text == "Bold & it"
        assert [(e.type, e.offset, e.length) for e in html.entities] == [
            (MessageEntityType.BOLD, 0, 4),
            (MessageEntityType.ITALIC, 7, 2),
        ]
        with pytest.raises(BadRequest, match=r'(?i)unsupported start tag "br"'):
            await bot.send_message(USER, "line<br>line", parse_mode="HTML")

    ids = [m["message_id"] for m in tg.messages_in(USER)]
    assert ids == [1, 2, 3]  # failed sends take no message id
    assert len(tg.calls_of("sendMessage")) == 8


@pytest.mark.asyncio
async def test_topics_and_replies_in_a_group(tg):
    question = tg.push_message(NEWSROOM, USER, "Who covers the council?", message_thread_id=77)
    assert question["chat"] == {
        "id": NEWSROOM,
        "type": "supergroup",
        "title": "Newsroom",
        "is_forum": True,
    }
    async with make_bot(tg) as bot:
        (update,) = await bot.get_updates()
        assert update.message.message_thread_id == 77 and update.message.is_topic_message
        answer = await bot.send_message(
            NEWSROOM,
            "Ala does",
            reply_parameters=ReplyParameters(question["message_id"]),
        )
        assert answer.message_id == question["message_id"] + 1
        assert answer.reply_to_message.text == "Who covers the council?"
        assert answer.message_thread_id == 77  # a reply stays in the question's topic
        with pytest.raises(BadRequest, match="replied not found"):
            await bot.send_message(NEWSROOM, "?", reply_parameters=ReplyParameters(999))
        chat = await bot.get_chat(NEWSROOM)
        assert (chat.title, chat.type, chat.is_forum) == ("Newsroom", "supergroup", True)
    assert [m["text"] for m in tg.messages_in(NEWSROOM, from_bot=True)] == ["Ala does"]
    assert len(tg.messages_in(NEWSROOM)) == 2


@pytest.mark.asyncio
async def test_send_photo_then_download_it(tg):
    png = make_png(1000, 750)
    async with make_bot(tg) as bot:
        sent = await bot.send_photo(
            USER, photo=png, caption=" Council <b>today</b>", parse_mode="HTML"
        )
        sizes = sent.photo
        assert len(sizes) == 4
        assert [s.file_size for s in sizes] == sorted({s.file_size for s in sizes})
        assert (sizes[-1].width, sizes[-1].height, sizes[-1].file_size) == (1000, 750, len(png))
        assert sizes[0].width == 90
        assert sent.caption == "Council today" and sent.caption_entities[0].offset == 8
        assert tg.calls_of("sendPhoto")[0].files["photo"] == png  # it came as multipart

        file = await bot.get_file(sizes[-1].file_id)
        assert file.file_size == len(png) and file.file_path.startswith(tg.base_file_url)
        buffer = io.BytesIO()
        await file.download_to_memory(buffer)
        assert buffer.getvalue() == png == tg.file_bytes(sizes[-1].file_id)

        again = await bot.send_photo(OTHER_USER, photo=sizes[-1].file_id)
        assert again.photo[-1].file_unique_id == sizes[-1].file_unique_id
        with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
            await bot.get_file("nope")


@pytest.mark.asyncio
async def test_albums_pushed_and_sent(tg):
    pictures = [make_png(640, 480, seed=n) for n in range(4)]
    first = tg.push_message(NEWSROOM, USER, photo=pictures, caption="Flood in the old town")
    async with make_bot(tg) as bot:
        updates = await bot.get_updates()
        messages = [u.message for u in updates]
        assert len(messages) == 4 and messages[0].message_id == first["message_id"]
        assert {m.media_group_id for m in messages} == {first["media_group_id"]}
        assert first["media_group_id"] is not None
        assert [m.caption for m in messages] == ["Flood in the old town", None, None, None]
        assert all(len(m.photo) == 3 for m in messages)  # 90, 320 and the full 640x480
        third = await (await bot.get_file(messages[2].photo[-1].file_id)).download_as_bytearray()
        assert bytes(third) == pictures[2]

        album = await bot.send_media_group(
            USER,
            [InputMediaPhoto(pictures[0], caption="one"), InputMediaPhoto(pictures[1])],
        )
        assert len(album) == 2 and album[0].media_group_id == album[1].media_group_id
        assert album[0].caption == "one"
        assert tg.file_bytes(album[1].photo[-1].file_id) == pictures[1]
        with pytest.raises(BadRequest):
            await bot.send_media_group(USER, [InputMediaPhoto(pictures[0])])


@pytest.mark.asyncio
async def test_pushed_document_and_voice(tg):
    tg.push_message(USER, USER, document=b"%PDF-1.4 agenda", file_name="agenda.pdf")
    tg.push_message(USER, USER, voice=b"OggS voice", duration=4)
    async with make_bot(tg) as bot:
        document, voice = (u.message for u in await bot.get_updates())
        assert document.document.file_name == "agenda.pdf"
        assert document.document.mime_type == "application/pdf"
        assert voice.voice.duration == dtm.timedelta(seconds=4)
        data = await (await bot.get_file(voice.voice.file_id)).download_as_bytearray()
        assert bytes(data) == b"OggS voice"


@pytest.mark.asyncio
async def test_callback_query_and_answer(tg):
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Approve", callback_data="ok:42")]])
    async with make_bot(tg) as bot:
        sent = await bot.send_message(USER, "Publish?", reply_markup=keyboard)
        pushed = tg.push_callback_query(USER, USER, sent.message_id, "ok:42")
        (update,) = await bot.get_updates()
        query = update.callback_query
        assert (query.id, query.data, query.from_user.id) == (pushed["id"], "ok:42", USER)
        assert query.message.message_id == sent.message_id
        assert query.message.reply_markup == keyboard

        assert await bot.answer_callback_query(query.id, text="Published") is True
        assert tg.answered_callbacks == [{"callback_query_id": query.id, "text": "Published"}]
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):
            await bot.answer_callback_query(query.id)


@pytest.mark.asyncio
async def test_bot_commands_by_scope_and_language(tg):
    scope = BotCommandScopeChat(NEWSROOM)
    commands = [BotCommand("start", "Zacznij"), BotCommand("status", "Stan")]
    async with make_bot(tg) as bot:
        assert await bot.set_my_commands(commands, scope=scope, language_code="pl")
        assert await bot.set_my_commands([BotCommand("help", "Help")])
        assert tg.commands == {
            (f"chat:{NEWSROOM}", "pl"): [
                {"command": "start", "description": "Zacznij"},
                {"command": "status", "description": "Stan"},
            ],
            ("default", ""): [{"command": "help", "description": "Help"}],
        }
        assert await bot.get_my_commands(scope=scope, language_code="pl") == tuple(commands)
        assert await bot.get_my_commands(scope=scope) == ()  # no fallback across languages
        assert await bot.delete_my_commands(scope=scope, language_code="pl")
        assert list(tg.commands) == [("default", "")]
        with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
            await bot.set_my_commands([BotCommand("Start!", "bad")])


@pytest.mark.asyncio
async def test_injected_flood_control_and_errors(tg):
    tg.fail_next("sendMessage", chat_id=USER, retry_after=7)
    async with make_bot(tg) as bot:
        assert (await bot.send_message(OTHER_USER, "other chat is fine")).text
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(USER, "too fast")
        assert caught.value.retry_after == dtm.timedelta(seconds=7)
        assert (await bot.send_message(USER, "later")).text == "later"  # only the next call

        tg.fail_next("sendMessage", error_code=403, times=2)
        for _ in range(2):
            with pytest.raises(Forbidden, match="blocked by the user"):
                await bot.send_message(USER, "hi")
        await bot.send_message(USER, "unblocked")

    flood = tg.calls_of("sendMessage")[1]
    assert flood.response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }
    assert [m["text"] for m in tg.messages_in(USER)] == ["later", "unblocked"]


@pytest.mark.asyncio
async def test_webhook_blocks_get_updates(tg):
    async with make_bot(tg) as bot:
        with pytest.raises(BadRequest, match=r"(?i)https url"):
            await bot.set_webhook("http://warta.example/hook")
        assert await bot.set_webhook("https://warta.example/hook", secret_token="s3cret")
        assert tg.webhook["url"] == "https://warta.example/hook"
        assert tg.webhook["secret_token"] == "s3cret"
        tg.push_message(USER, USER, "while webhook is set")
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        info = await bot.get_webhook_info()
        assert (info.url, info.pending_update_count) == ("https://warta.example/hook", 1)

        assert await bot.delete_webhook(drop_pending_updates=True)
        assert tg.webhook is None
        assert await bot.get_updates() == ()
        assert (await bot.get_webhook_info()).url == ""


@pytest.mark.asyncio
async def test_ptb_application_polls_and_replies(tg):
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text("Witaj w Warcie!")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(update.message.text.upper())

    app = (
        ApplicationBuilder()
        .token(tg.token)
        .base_url(tg.base_url)
        .base_file_url(tg.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=5))
        tg.push_message(USER, USER, "/start")
        tg.push_message(USER, USER, "news")
        await tg.wait_until_async(lambda: len(tg.messages_in(USER, from_bot=True)) == 2)
        await app.updater.stop()
        await app.stop()
    replies = tg.messages_in(USER, from_bot=True)
    assert [m["text"] for m in replies] == ["Witaj w Warcie!", "NEWS"]
    assert all(m["chat"]["id"] == USER for m in replies)
    assert tg.pending_updates == []  # the updater confirmed what it handled


def test_raw_http_json_form_and_sync_wait(tg):
    url = f"{tg.base_url}{tg.token}"

    def send_later() -> None:
        time.sleep(0.1)
        with httpx.Client() as client:
            client.post(f"{url}/sendMessage", json={"chat_id": USER, "text": "json body"})
            client.post(f"{url}/sendMessage", data={"chat_id": str(USER), "text": "form body"})

    sender = threading.Thread(target=send_later)
    sender.start()
    tg.wait_until(lambda: len(tg.sent) == 2, timeout=5)
    sender.join()
    assert [m["text"] for m in tg.sent] == ["json body", "form body"]
    with pytest.raises(TimeoutError):
        tg.wait_until(lambda: len(tg.sent) == 3, timeout=0.05)
    with httpx.Client() as client:
        empty = client.post(f"{url}/sendMessage", json={"chat_id": USER, "text": ""})
    assert empty.status_code == 400
    assert empty.json() == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: message text is empty",
    }


def test_html_parse_mode_follows_telegram(tg):
    cases = {
        "<b>x</b> &amp; &ge; &#64;": ("x & &ge; @", [{"type": "bold", "offset": 0, "length": 1}]),
        '<a href="https://warta.example/?a=1&amp;b=2">link</a>': (
            "link",
            [
                {
                    "type": "text_link",
                    "offset": 0,
                    "length": 4,
                    "url": "https://warta.example/?a=1&b=2",
                }
            ],
        ),
        '<pre><code class="language-python">x = 1</code></pre>': (
            "x = 1",
            [{"type": "pre", "offset": 0, "length": 5, "language": "python"}],
        ),
        "🏟 <i>🏟</i>": ("🏟 🏟", [{"type": "italic", "offset": 3, "length": 2}]),  # UTF-16 units
        "a < b": 'Unsupported start tag "" at byte offset 2',
        "🏟 <abac>": 'Unsupported start tag "abac" at byte offset 5',
        "<b><i>x</b></i>": 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"',
        "<b>open": 'Can\'t find end tag corresponding to start tag "b"',
        "<span>x</span>": 'Tag "span" must have class "tg-spoiler" at byte offset 0',
    }
    with httpx.Client() as client:
        for markup, expected in cases.items():
            answer = client.post(
                f"{tg.base_url}{tg.token}/sendMessage",
                json={"chat_id": USER, "text": markup, "parse_mode": "HTML"},
            ).json()
            if isinstance(expected, str):
                assert answer == {
                    "ok": False,
                    "error_code": 400,
                    "description": f"Bad Request: can't parse entities: {expected}",
                }, markup
            else:
                text, entities = expected
                assert answer["result"]["text"] == text, markup
                assert answer["result"].get("entities", []) == entities, markup
