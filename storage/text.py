"""Text every database can hold: no NUL, no lone surrogate, no value longer than its column."""

from __future__ import annotations

import base64
import hashlib
import re

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def storable(text: str) -> str:
    """``text`` without what PostgreSQL (NUL) or SQLite and JSON (lone surrogates) refuse,
    each replaced by U+FFFD so that a reader sees where something was."""
    return _UNSTORABLE.sub(REPLACEMENT, text)


def raw_form(text: str) -> str:
    """The exact original, surrogates included, as ASCII (base64 of UTF-8 with surrogates
    passed through), to keep beside a cleaned value."""
    return base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii")


def fit(value: str, limit: int) -> str:
    """``value`` cut to ``limit`` characters, keeping it unique: a value too long ends in a
    hash of the whole (message ids and chat ids are compared, not read)."""
    if len(value) <= limit:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{value[: limit - 17]}~{digest}"
