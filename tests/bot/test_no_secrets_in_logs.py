"""No secret in any log line, at any level: Warta at DEBUG through a polling cycle, a publish
that fails on every target, and a crash in a handler."""

from __future__ import annotations

import io
import logging
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from bot.app import build
from bot.channels.ratelimit import ChatRateLimiter
from bot.channels.telegram import TelegramChannel
from bot.config import Settings
from bot.logs import REDACTED, REDACTOR
from tests.conftest import IN_CI, PG_DSN
from tests.fakes.telegram_server import FakeTelegram
from tests.support import STORY

GROUP = -1001234567890
RINA, DEDI, BUDI = 1001, 1002, 1003
TOKEN = "987654321:AAH-very-secret-token-for-the-log-test"
WEBHOOK_SECRET = "Webhook-Secret-Token-77aa"
DATABASE_PASSWORD = "Db-Pass-9f8e7d6c"
WORDPRESS_PASSWORD = "abcd EFGH ijkl MNOP qrst UVWX"
SMTP_PASSWORD = "Smtp-Pass-5678-xyz"
PORTAL_SECRET = "Portal-Hook-Secret-abcdef123"
SECRETS = (
    TOKEN,
    WEBHOOK_SECRET,
    DATABASE_PASSWORD,
    WORDPRESS_PASSWORD,
    SMTP_PASSWORD,
    PORTAL_SECRET,
)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def database_url() -> Iterator[str]:
    """A private schema in the test PostgreSQL, reached with a password (trust auth ignores
    it, but Warta has it in its URL like any production desk)."""
    try:
        with psycopg.connect(PG_DSN, connect_timeout=3):
            pass
    except psycopg.Error as error:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI: {error}")
        pytest.skip(f"PostgreSQL not available: {error}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield (
        f"postgresql+psycopg://postgres:{DATABASE_PASSWORD}@127.0.0.1:5432/test"
        f"?options=-csearch_path%3D{schema}"
    )
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Everything logged, at DEBUG, as a log file would have it."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield buffer
    root.removeHandler(handler)
    root.setLevel(level)


def desk_settings(tmp_path: Path, tg: FakeTelegram, database_url: str) -> Settings:
    dead = f"http://127.0.0.1:{closed_port()}"
    return Settings.model_validate(
        {
            "data_dir": str(tmp_path),
            "database_url": database_url,
            "verification": {"checklist": [{"key": "fakta", "label": "Fakta"}]},
            "people": [
                {"key": "rina", "name": "Rina", "roles": ["reporter"], "telegram": RINA},
                {"key": "dedi", "name": "Dedi", "roles": ["editor"], "telegram": DEDI},
                {"key": "budi", "name": "Budi", "roles": ["operator"], "telegram": BUDI},
            ],
            "publish": {
                "max_attempts": 1,
                "targets": [
                    {
                        "name": "mediacenter",
                        "kind": "wordpress",
                        "url": dead,
                        "user": "warta",
                        "password_env": "WP",
                        "password": WORDPRESS_PASSWORD,
                    },
                    {
                        "name": "portal",
                        "kind": "webhook",
                        "url": f"{dead}/hook",
                        "secret_env": "HOOK",
                        "secret": PORTAL_SECRET,
                    },
                    {
                        "name": "redaksi",
                        "kind": "email",
                        "host": "127.0.0.1",
                        "port": closed_port(),
                        "sender": "warta@example.go.id",
                        "to": ["redaksi@example.go.id"],
                        "username": "warta",
                        "password_env": "SMTP",
                        "password": SMTP_PASSWORD,
                        "starttls": False,
                    },
                ],
            },
            "channels": [
                {
                    "kind": "telegram",
                    "group_chat_id": GROUP,
                    "base_url": tg.base_url,
                    "base_file_url": tg.base_file_url,
                    "token": tg.token,
                    "webhook_secret": WEBHOOK_SECRET,
                }
            ],
        }
    )


@pytest.mark.asyncio
async def test_no_secret_reaches_the_log_at_debug(
    tmp_path: Path, database_url: str, captured: io.StringIO
):
    with FakeTelegram(token=TOKEN) as tg:
        tg.add_chat(GROUP, "supergroup", title="Redaksi")
        for user, name in ((RINA, "Rina"), (DEDI, "Dedi"), (BUDI, "Budi")):
            tg.add_user(user, name)
            tg.add_chat(user, "private", first_name=name)
        warta = build(desk_settings(tmp_path, tg, database_url))
        channel = warta.channels["telegram"]
        assert isinstance(channel, TelegramChannel)
        channel.limiter = ChatRateLimiter(
            global_per_second=1000, private_per_second=1000, group_per_minute=10_000
        )
        await channel.start()
        try:
            for user, text in (
                (RINA, STORY),
                (DEDI, "/sunting 1"),
                (DEDI, "/verifikasi 1 semua"),
                (BUDI, "/terbitkan 1"),
            ):
                tg.push_message(GROUP, user, text=text)
                await channel.poll_once(timeout=0)
                await warta.dispatcher.drain()
            # A failure with a traceback: the Bot API refuses the next call.
            tg.fail_next("sendMessage", error_code=500, description="Internal Server Error")
            tg.push_message(GROUP, DEDI, text="/daftar")
            await channel.poll_once(timeout=0)
            await warta.dispatcher.drain()
            try:
                raise RuntimeError(f"a crash that shows a secret: {TOKEN} {warta.settings!r}")
            except RuntimeError:
                logging.getLogger("tests").exception("it crashed with %s", WORDPRESS_PASSWORD)
        finally:
            await channel.stop()
            warta.close()
    log = captured.getvalue()
    # The log is real: request lines of the Bot API, the publishing failures, a traceback.
    assert "getUpdates" in log and "sendMessage" in log
    assert "mediacenter" in log and "portal" in log and "redaksi" in log
    assert "Traceback" in log and REDACTED in log
    for secret in SECRETS:
        assert secret not in log, f"a secret reached the log: {secret[:4]}…"
    assert TOKEN.split(":")[1] not in log


def test_redactor_removes_known_values_tokens_and_url_passwords():
    REDACTOR.add(["Another-Known-Secret"])
    text = (
        "GET https://api.telegram.org/bot111222333:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij/getMe "
        "postgresql://warta:pa55w0rd@db/warta Another-Known-Secret"
    )
    cleaned = REDACTOR.redact(text)
    assert "ABCDEFGHIJKLMNOPQRSTUVWXYZ" not in cleaned
    assert "pa55w0rd" not in cleaned and "postgresql://warta:[redacted]@db" in cleaned
    assert "Another-Known-Secret" not in cleaned
