"""Logging that never shows a secret: every record is scrubbed as it is made, at any level."""

from __future__ import annotations

import logging
import re
import sys
import threading
import traceback
from collections.abc import Iterable
from typing import IO, Any

from pydantic import BaseModel, SecretStr
from sqlalchemy.engine import make_url

REDACTED = "[redacted]"
MIN_SECRET = 6
"""Shorter values are not treated as secrets (they would blank out ordinary words)."""
_BOT_TOKEN = re.compile(r"(?<![0-9])\d{5,}:[A-Za-z0-9_-]{30,}")
"""A Telegram bot token, wherever it appears (URLs of the Bot API carry it)."""
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://[^/\s:@]+:)(?P<password>[^@\s/]+)@")
"""The password in a URL such as postgresql://warta:secret@host/db."""


class Redactor:
    """Knows the secrets of this process and removes them from text."""

    def __init__(self) -> None:
        self._secrets: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add(self, values: Iterable[str]) -> None:
        with self._lock:
            known = set(self._secrets) | {v for v in values if v and len(v) >= MIN_SECRET}
            self._secrets = tuple(sorted(known, key=len, reverse=True))

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        text = _BOT_TOKEN.sub(REDACTED, text)
        return _URL_PASSWORD.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", text)


REDACTOR = Redactor()
_installed = False
_install_lock = threading.Lock()


def _scrubbing_factory(previous: Any) -> Any:
    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep what there is, scrubbed
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = REDACTOR.redact(message), None
        if record.exc_info and record.exc_info[0] is not None:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text = REDACTOR.redact(text)
        if record.stack_info:
            record.stack_info = REDACTOR.redact(record.stack_info)
        return record

    return make


def install() -> None:
    """Scrub every log record of this process from now on (once; idempotent)."""
    global _installed
    with _install_lock:
        if not _installed:
            logging.setLogRecordFactory(_scrubbing_factory(logging.getLogRecordFactory()))
            _installed = True


def secrets_of(model: BaseModel) -> list[str]:
    """Every secret in a settings tree: SecretStr values, and passwords inside URLs."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, SecretStr):
            secret = value.get_secret_value()
            found.append(secret)
            if "://" in secret:
                try:
                    password = make_url(secret).password
                except Exception:  # not a URL after all
                    password = None
                if password:
                    found.append(str(password))
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, list | tuple | set | frozenset):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    walk(model)
    return found


def protect(settings: BaseModel) -> None:
    """Keep the secrets of ``settings`` out of every log line of this process."""
    install()
    REDACTOR.add(secrets_of(settings))


def configure(level: int = logging.INFO, stream: IO[str] | None = None) -> None:
    """The log format of ``warta run``; the HTTP clients' request lines only at DEBUG (they
    are noise at INFO, and the Bot API's carry the token, scrubbed anyway)."""
    install()
    logging.basicConfig(
        level=level,
        stream=stream or sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    if level > logging.DEBUG:
        # Request lines and "job executed" lines every few seconds are noise at INFO.
        for name in ("httpx", "httpcore", "apscheduler"):
            logging.getLogger(name).setLevel(logging.WARNING)
