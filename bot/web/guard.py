"""Who may use the web pages: anyone on this machine, or whoever knows the password."""

from __future__ import annotations

import hmac
import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

COOKIE = "warta_web"
SESSION_AGE = 12 * 3600
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-Warta-CSRF"


class Guard:
    """Persona switching is a local convenience: on loopback the pages are open; anywhere
    else a password is required (a login page, a signed session cookie, and a CSRF token
    on every form and every request that changes something)."""

    def __init__(self, *, password: str | None, secret: bytes | None = None) -> None:
        self.password = password or None
        self._signer = URLSafeTimedSerializer(secret or secrets.token_bytes(32), salt="web")

    @property
    def required(self) -> bool:
        return self.password is not None

    def session(self, request: Request) -> dict[str, str] | None:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            data = self._signer.loads(raw, max_age=SESSION_AGE)
        except BadSignature:
            return None
        return data if isinstance(data, dict) else None

    def csrf(self, request: Request) -> str:
        """The session's CSRF token ('' while no password is set: nothing to forge)."""
        session = self.session(request)
        return session.get("csrf", "") if session else ""

    def allows(self, request: Request) -> bool:
        return not self.required or self.session(request) is not None

    def check_csrf(self, request: Request, given: str | None) -> bool:
        if not self.required:
            return True
        expected = self.csrf(request)
        return bool(expected) and hmac.compare_digest(expected, given or "")

    def login(self, password: str, *, secure: bool) -> Response | None:
        """A response that opens a session, or None for a wrong password."""
        if not self.required or not hmac.compare_digest(
            password.encode(), (self.password or "").encode()
        ):
            return None
        response = RedirectResponse("/", status_code=303)
        token = self._signer.dumps({"csrf": secrets.token_urlsafe(24)})
        response.set_cookie(
            COOKIE,
            token,
            max_age=SESSION_AGE,
            httponly=True,
            samesite="strict",
            secure=secure,
        )
        return response
