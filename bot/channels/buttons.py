"""Button signing: what a button sends back is signed, so a forged or altered press is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac


class ButtonSigner:
    """Signs a button's command and the card version it was drawn for.

    ``limit`` is the longest data the channel carries back (Telegram's callback data: 64
    bytes); a command that would not fit is a programming error, raised at once.
    """

    def __init__(self, secret: bytes, *, limit: int | None = None) -> None:
        self._key = hashlib.sha256(b"warta-card-buttons:" + secret).digest()
        self.limit = limit

    def _signature(self, payload: str) -> str:
        digest = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:9]).decode()

    def sign(self, command: str, version: int) -> str:
        payload = f"{command}|{version}"
        data = f"{payload}|{self._signature(payload)}"
        if self.limit is not None and len(data.encode()) > self.limit:
            raise ValueError(f"button data too long for the channel: {data!r}")
        return data

    def verify(self, data: str) -> tuple[str, int] | None:
        """The command and card version of genuine data; None for forged or broken data."""
        command, _, rest = data.partition("|")
        version, _, signature = rest.partition("|")
        if not (command and version.isascii() and version.isdigit() and signature):
            return None
        expected = self._signature(f"{command}|{version}")
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            return None
        return command, int(version)
