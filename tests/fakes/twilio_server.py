"""A fake Twilio Messaging REST API (plus its media CDN) on 127.0.0.1 for Warta's tests."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import hashlib
import hmac
import json
import math
import re
import secrets
import socket
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client

JSONDict = dict[str, Any]
Form = list[tuple[str, str]]

API_VERSION = "2010-04-01"
BODY_LIMIT = 1600  # characters; longer bodies are refused with 21617
VARIABLE_LIMIT = 255  # characters in one content variable's value; longer: 21656
WHATSAPP_WINDOW = timedelta(hours=24)  # the customer service window
SANDBOX_WHATSAPP_NUMBER = "whatsapp:+14155238886"

# The codes Warta meets, with the messages Twilio gives for them.
ERROR_MESSAGES = {
    20003: "Authenticate",
    20004: "Method not allowed",
    20404: "The requested resource {path} was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21211: "The 'To' number {to} is not a valid phone number.",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21606: "The From phone number {from_} is not a valid, SMS-capable inbound phone number or "
    "short code for your account.",
    21609: "The StatusCallback URL {url} is not a valid URL.",
    21610: "Attempt to send to unsubscribed recipient",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    21654: "A ContentSid must be specified if ContentVariables are provided in the request.",
    21655: "The ContentSid is Invalid",
    21656: "The ContentVariables Parameter is invalid.",
    21910: "Invalid From and To pair. From and To should be of the same channel",
    30008: "Unknown error",
    63007: "Twilio could not find a Channel with the specified From address",
    63016: "Failed to send freeform message because you are outside the allowed window. "
    "If you are using WhatsApp, please use a Message Template.",
}
_OUTAGE_CODES = {429: 20429, 500: 20500, 503: 20503}

_E164 = re.compile(r"\+[1-9]\d{6,14}")
_CONTENT_SID = re.compile(r"HX[0-9a-fA-F]{32}")
_STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
_START_WORDS = frozenset({"START", "UNSTOP", "YES"})
# GSM 03.38: the basic set costs one septet, the extension table two.
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")

_MESSAGES = re.compile(r"/2010-04-01/Accounts/(?P<account>[^/]+)/Messages\.json")
_MESSAGE = re.compile(r"/2010-04-01/Accounts/(?P<account>[^/]+)/Messages/(?P<sid>[^/.]+)\.json")
_MEDIA_LIST = re.compile(
    r"/2010-04-01/Accounts/(?P<account>[^/]+)/Messages/(?P<sid>[^/.]+)/Media\.json"
)
_MEDIA = re.compile(
    r"/2010-04-01/Accounts/(?P<account>[^/]+)/Messages/(?P<sid>[^/.]+)"
    r"/Media/(?P<media>[^/.]+)(?P<json>\.json)?"
)


# --------------------------------------------------------------------------- records


class TwilioApiError(Exception):
    """An error answer of the REST API: ``{"code", "message", "more_info", "status"}``."""

    def __init__(self, status: int, code: int, message: str | None = None, **details: str) -> None:
        self.status = status
        self.code = code
        self.message = message or ERROR_MESSAGES.get(code, "Error").format(**details)
        self.headers: dict[str, str] = {}
        super().__init__(self.message)

    def to_json(self) -> JSONDict:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }

    def response(self) -> Response:
        return JSONResponse(self.to_json(), status_code=self.status, headers=self.headers)


@dataclass
class MediaItem:
    """A media file of an inbound message, served behind Basic auth and a CDN redirect."""

    sid: str  # "ME..."
    message_sid: str
    content_type: str
    data: bytes
    cdn_path: str  # where the redirect points on the CDN host
    date_created: datetime


@dataclass
class CallbackDelivery:
    """One status callback the fake POSTed (or tried to) to a StatusCallback URL."""

    message_sid: str
    status: str
    error_code: int | None
    url: str  # the StatusCallback URL, which the signature covers
    target: str  # where the request went (differs from url when forwarded)
    params: dict[str, str]
    signature: str
    status_code: int | None = None  # None: the request did not get an answer
    error: str | None = None  # why there was no answer


@dataclass
class InboundResult:
    """An incoming-message webhook the fake POSTed, and the application's answer."""

    message_sid: str
    url: str  # where the request went
    signed_url: str  # the URL the signature was computed over
    params: dict[str, str]
    signature: str | None  # None: the header was left out
    idempotency_token: str
    status_code: int
    text: str
    headers: dict[str, str]


@dataclass
class _Failure:
    status: int
    code: int
    message: str | None
    headers: dict[str, str]
    remaining: int

    def error(self) -> TwilioApiError:
        error = TwilioApiError(self.status, self.code, self.message)
        error.headers.update(self.headers)
        return error


@dataclass
class _Message:
    resource: JSONDict
    callback_url: str | None
    reached: int = -1  # index in the message's plan of the furthest status applied


@dataclass
class _Pending:
    message_sid: str
    step: int  # index in the message's full plan
    status: str
    error_code: int | None


@dataclass
class _Outgoing:
    """A signed form POST the fake is about to make, as Twilio makes them."""

    target: str
    signed_url: str
    form: Form
    signature: str | None
    idempotency_token: str

    def headers(self) -> dict[str, str]:
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "TwilioProxy/1.1",
            "I-Twilio-Idempotency-Token": self.idempotency_token,
        }
        if self.signature is not None:
            headers["X-Twilio-Signature"] = self.signature
        return headers


# --------------------------------------------------------------------------- helpers


def compute_signature(auth_token: str, url: str, params: Sequence[tuple[str, str]]) -> str:
    """X-Twilio-Signature: base64 HMAC-SHA1, keyed by the auth token, of the full URL followed
    by every POST parameter's name and value, sorted by name (then by value)."""
    text = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _rfc2822(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC))  # "Mon, 13 Aug 2018 21:38:46 +0000"


def _bare(address: str) -> str:
    """The phone number of an address: "whatsapp:+62811" -> "+62811"."""
    return address.split(":", 1)[1] if ":" in address else address


def _channel(address: str) -> str:
    return address.split(":", 1)[0] if ":" in address else "sms"


def _valid_address(address: str) -> bool:
    return _channel(address) in ("sms", "whatsapp") and bool(_E164.fullmatch(_bare(address)))


def _valid_callback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and "_" not in parts.netloc


def _segments(body: str) -> int:
    """How many SMS segments a body takes: GSM-7 160/153 septets, otherwise UCS-2 70/67."""
    if all(char in _GSM_BASIC or char in _GSM_EXTENDED for char in body):
        units = sum(2 if char in _GSM_EXTENDED else 1 for char in body)
        single, part = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, part = 70, 67
    return 1 if units <= single else math.ceil(units / part)


def _message_type(items: Sequence[MediaItem]) -> str:
    """WhatsApp's MessageType of an inbound message: text, image, video, audio or document."""
    if not items:
        return "text"
    kind = items[0].content_type.split("/")[0]
    return kind if kind in ("image", "video", "audio") else "document"


def _first_values(form: Form) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in form:
        values.setdefault(name, value)
    return values


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


class FakeTwilioHttpClient(TwilioHttpClient):
    """The library's own HTTP client, sending every request for ``*.twilio.com`` to the fake.

    Pass it as ``Client(..., http_client=...)``: the documented seam for changing where
    twilio-python's requests go (advanced-examples/custom-http-client.md).
    """

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")
        if self.session is not None:
            self.session.trust_env = False  # no HTTP(S)_PROXY detour on the way to 127.0.0.1

    def rewrite(self, url: str) -> str:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if host != "twilio.com" and not host.endswith(".twilio.com"):
            return url
        base = urlsplit(self.base_url)
        return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, parts.fragment))

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        return super().request(
            method,
            self.rewrite(url),
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )


class _Uvicorn(uvicorn.Server):
    """uvicorn.Server that says when it is listening and stops as soon as asked."""

    stop_requested: asyncio.Event
    ready: threading.Event

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()

    async def main_loop(self) -> None:
        await self.on_tick(0)  # sets the Date and Server headers once
        await self.stop_requested.wait()


def _listening_socket() -> socket.socket:
    # proto=IPPROTO_TCP lets asyncio set TCP_NODELAY on accepted connections (no 40 ms
    # delayed-ACK stall between headers and body).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


# --------------------------------------------------------------------------- the fake


class FakeTwilio:
    """Twilio's Messaging REST API for one account, plus controls to play Twilio's side.

    ``with FakeTwilio() as twilio:`` serves on 127.0.0.1 (a free port) from a background
    thread, and the "media CDN" on a second port under the host name ``localhost``.
    ``twilio.client()`` is a ``twilio.rest.Client`` that talks to it; or hand
    ``twilio.http_client()`` to your own ``Client(sid, token, http_client=...)``.

    Nothing happens behind the test's back: status callbacks go out when the test calls
    ``deliver_callbacks()``, inbound messages when it calls ``inbound()``.
    """

    def __init__(
        self,
        account_sid: str = "AC5e0c1f2a3b4c5d6e7f8091a2b3c4d5e6",
        auth_token: str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        *,
        whatsapp_number: str = SANDBOX_WHATSAPP_NUMBER,
        sms_number: str = "+15005550006",
        clock: Callable[[], datetime] | None = None,
        reject_outside_window: bool = False,
        read_receipts: bool = False,
        media_redirect_status: int = 307,
        cdn_host: str = "localhost",
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.whatsapp_number = whatsapp_number
        self.sms_number = sms_number
        self.senders = {whatsapp_number, sms_number}  # From addresses the account owns
        # Refuse free-form WhatsApp outside the window at once (400 63016) instead of
        # accepting it and failing it in the status callback, as Twilio does.
        self.reject_outside_window = reject_outside_window
        self.read_receipts = read_receipts  # WhatsApp: a "read" callback after "delivered"
        self.media_redirect_status = media_redirect_status
        self.cdn_host = cdn_host
        self._clock = clock or (lambda: datetime.now(UTC))
        self._channel_install_sid = "XE" + hashlib.md5(account_sid.encode()).hexdigest()

        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)  # notified on every state change
        self._sent: list[JSONDict] = []
        self._requests: list[JSONDict] = []
        self._messages: dict[str, _Message] = {}
        self._pending: list[_Pending] = []
        self._callbacks: list[CallbackDelivery] = []
        self._inbound: list[InboundResult] = []
        self._last_inbound: dict[str, datetime] = {}  # bare number -> when the user last wrote
        self._opted_out: set[str] = set()
        self._delivery_failures: dict[str, list[tuple[str, int]]] = {}
        self._templates: dict[str, str] = {}
        self._session_only: set[str] = set()
        self._media: dict[str, MediaItem] = {}
        self._media_by_cdn_path: dict[str, MediaItem] = {}
        self._media_requests: list[JSONDict] = []
        self._inbound_media: dict[str, list[MediaItem]] = {}  # message sid -> its media
        self._forwards: list[tuple[str, str]] = []
        self._failures: list[_Failure] = []
        self._down = 0
        self._internal_errors: list[str] = []

        self._api_app = Starlette(
            routes=[Route("/{path:path}", self._api_endpoint, methods=["GET", "POST", "DELETE"])]
        )
        self._cdn_app = Starlette(
            routes=[Route("/{path:path}", self._cdn_endpoint, methods=["GET"])]
        )
        self._server: _Uvicorn | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.port = 0
        self.cdn_port = 0

    # ----------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        """Stands in for ``https://api.twilio.com``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def cdn_base_url(self) -> str:
        """Stands in for ``https://mms.twiliocdn.com``: another host name than base_url."""
        return f"http://{self.cdn_host}:{self.cdn_port}"

    def http_client(self, *, timeout: float = 10.0) -> FakeTwilioHttpClient:
        """A twilio-python HttpClient that sends the library's requests here."""
        return FakeTwilioHttpClient(self.base_url, timeout=timeout)

    def client(self, *, account_sid: str | None = None, auth_token: str | None = None) -> Client:
        """A ``twilio.rest.Client`` for this account that talks to the fake. TWILIO_REGION or
        TWILIO_EDGE in the environment change only the host name, which is rewritten anyway."""
        return Client(
            account_sid or self.account_sid,
            auth_token or self.auth_token,
            http_client=self.http_client(),
        )

    def start(self) -> FakeTwilio:
        """Bind two free ports on 127.0.0.1 (API and CDN) and serve from a background thread."""
        if self._thread is not None:
            raise RuntimeError("FakeTwilio is already started")
        api_socket, cdn_socket = _listening_socket(), _listening_socket()
        self.port = api_socket.getsockname()[1]
        self.cdn_port = cdn_socket.getsockname()[1]
        config = uvicorn.Config(
            self._asgi,
            interface="asgi3",
            log_config=None,  # leave the test process's logging alone
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=2,
        )
        self._server = _Uvicorn(config)
        self._server.ready = threading.Event()
        self._thread = threading.Thread(
            target=self._serve,
            args=([api_socket, cdn_socket],),
            name=f"fake-twilio-{self.port}",
            daemon=True,
        )
        self._thread.start()
        if not self._server.ready.wait(timeout=10) or not self._server.started:
            self._thread.join(timeout=10)
            self._thread = None
            raise RuntimeError("fake Twilio server did not start")
        return self

    def _serve(self, sockets: list[socket.socket]) -> None:
        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            assert self._server is not None
            self._server.stop_requested = asyncio.Event()
            await self._server.serve(sockets=sockets)

        try:
            asyncio.run(serve())
        finally:
            assert self._server is not None
            self._server.ready.set()
            for sock in sockets:
                sock.close()

    def close(self) -> None:
        """Stop the server and join its thread."""
        if self._thread is None or self._server is None:
            return
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                self._loop.call_soon_threadsafe(self._server.stop_requested.set)
        self._thread.join(timeout=10)
        if self._thread.is_alive():
            raise RuntimeError("fake Twilio server did not stop")
        self._thread = None

    def __enter__(self) -> FakeTwilio:
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
                "the fake Twilio server crashed:\n" + "\n".join(self._internal_errors)
            )

    # ----------------------------------------------------------------- test side: the world

    def user_writes(self, number: str, at: datetime | None = None) -> None:
        """The user of ``number`` ("whatsapp:+62…" or "+62…") wrote in: opens the 24-hour
        window from ``at`` (default: the clock's now)."""
        with self._changed:
            self._last_inbound[_bare(number)] = at or self._clock()
            self._changed.notify_all()

    def window_open(self, number: str) -> bool:
        """Whether free-form WhatsApp messages to ``number`` would be delivered now."""
        with self._lock:
            last = self._last_inbound.get(_bare(number))
            return last is not None and self._clock() - last < WHATSAPP_WINDOW

    def add_template(self, content_sid: str, body: str, *, session_only: bool = False) -> None:
        """An approved content template; ``{{1}}``-style placeholders are filled from
        ContentVariables. Unknown but well-formed ContentSids are accepted with an empty body.
        ``session_only``: content not approved by WhatsApp (quick replies made for the
        session), refused with 63016 outside the 24-hour window."""
        if not _CONTENT_SID.fullmatch(content_sid):
            raise ValueError(f"not a ContentSid: {content_sid!r}")
        with self._lock:
            self._templates[content_sid] = body
            if session_only:
                self._session_only.add(content_sid)

    def rendered(self, sent: JSONDict) -> str:
        """What the recipient of one sent request reads: its body, or its content filled in."""
        if sent.get("content_sid"):
            with self._lock:
                template = self._templates.get(sent["content_sid"], "")
            return self._render(template, sent.get("content_variables") or {})
        return sent.get("body") or ""

    def opt_out(self, number: str) -> None:
        """The recipient replied STOP: sends to it are refused with 21610."""
        with self._lock:
            self._opted_out.add(_bare(number))

    def opt_in(self, number: str) -> None:
        with self._lock:
            self._opted_out.discard(_bare(number))

    def fail_delivery(
        self, number: str, *, status: str = "undelivered", error_code: int = 30008, times: int = 1
    ) -> None:
        """The next ``times`` accepted messages to ``number`` end ``status`` with ``error_code``
        (reported in their status callbacks) instead of being delivered."""
        if status not in ("undelivered", "failed"):
            raise ValueError("a delivery fails as 'undelivered' or 'failed'")
        with self._lock:
            self._delivery_failures.setdefault(_bare(number), []).extend(
                [(status, error_code)] * times
            )

    def fail_next(
        self,
        status: int = 500,
        code: int | None = None,
        message: str | None = None,
        *,
        times: int = 1,
        retry_after: int | None = None,
    ) -> None:
        """The next ``times`` REST API requests (of any kind) fail with ``status`` and Twilio's
        error JSON; 429/500/503 get codes 20429/20500/20503 unless ``code`` is given."""
        if code is None:
            if status not in _OUTAGE_CODES:
                raise ValueError(f"give the Twilio error code for HTTP {status}")
            code = _OUTAGE_CODES[status]
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        with self._lock:
            self._failures.append(_Failure(status, code, message, headers, times))

    @contextlib.contextmanager
    def down(self) -> Iterator[None]:
        """Twilio is down: every REST and media request fails with 503 (20503), and status
        callbacks wait until it is back up. inbound() still delivers: the test drives it."""
        with self._lock:
            self._down += 1
        try:
            yield
        finally:
            with self._changed:
                self._down -= 1
                self._changed.notify_all()

    def forward(self, public_base: str, local_base: str) -> None:
        """Requests for URLs under ``public_base`` (what Twilio was configured with, e.g. the
        proxy's https URL) go to ``local_base`` instead, still signed over the public URL."""
        with self._lock:
            self._forwards.append((public_base.rstrip("/"), local_base.rstrip("/")))

    # ----------------------------------------------------------------- status callbacks

    def deliver_callbacks(
        self,
        order: Literal["in_order", "reversed"] = "in_order",
        *,
        message_sid: str | None = None,
        timeout: float = 10.0,
    ) -> list[CallbackDelivery]:
        """Move pending messages on (sent, delivered, failed, ...) and POST a signed status
        callback for each change to the message's StatusCallback, in ``order``. Returns the
        callbacks POSTed; nothing goes out while ``down()``."""
        planned = self._take_callbacks(order, message_sid)
        with httpx.Client(timeout=timeout, trust_env=False) as http:
            for delivery, outgoing in planned:
                try:
                    answer = http.post(
                        outgoing.target,
                        content=urlencode(outgoing.form),
                        headers=outgoing.headers(),
                    )
                    delivery.status_code = answer.status_code
                except httpx.HTTPError as error:
                    delivery.error = repr(error)
        return self._record_callbacks([delivery for delivery, _ in planned])

    async def deliver_callbacks_async(
        self,
        order: Literal["in_order", "reversed"] = "in_order",
        *,
        message_sid: str | None = None,
        timeout: float = 10.0,
    ) -> list[CallbackDelivery]:
        """deliver_callbacks() for tests whose webhook server runs in the test's event loop."""
        planned = self._take_callbacks(order, message_sid)
        async with httpx.AsyncClient(timeout=timeout, trust_env=False) as http:
            for delivery, outgoing in planned:
                try:
                    answer = await http.post(
                        outgoing.target,
                        content=urlencode(outgoing.form),
                        headers=outgoing.headers(),
                    )
                    delivery.status_code = answer.status_code
                except httpx.HTTPError as error:
                    delivery.error = repr(error)
        return self._record_callbacks([delivery for delivery, _ in planned])

    def _take_callbacks(
        self, order: str, message_sid: str | None
    ) -> list[tuple[CallbackDelivery, _Outgoing]]:
        if order not in ("in_order", "reversed"):
            raise ValueError("order is 'in_order' or 'reversed'")
        with self._changed:
            if self._down:
                return []
            chosen = [p for p in self._pending if message_sid in (None, p.message_sid)]
            self._pending = [p for p in self._pending if p not in chosen]
            if order == "reversed":
                chosen.reverse()
            planned = []
            for pending in chosen:
                message = self._messages[pending.message_sid]
                self._apply_status(message, pending)
                if message.callback_url is None:
                    continue
                form = self._callback_form(message, pending.status, pending.error_code)
                outgoing = self._outgoing(message.callback_url, None, form, None)
                planned.append(
                    (
                        CallbackDelivery(
                            message_sid=pending.message_sid,
                            status=pending.status,
                            error_code=pending.error_code,
                            url=message.callback_url,
                            target=outgoing.target,
                            params=dict(form),
                            signature=outgoing.signature or "",
                        ),
                        outgoing,
                    )
                )
            self._changed.notify_all()
            return planned

    def _record_callbacks(self, deliveries: list[CallbackDelivery]) -> list[CallbackDelivery]:
        with self._changed:
            self._callbacks.extend(deliveries)
            self._changed.notify_all()
        return copy.deepcopy(deliveries)

    def _apply_status(self, message: _Message, pending: _Pending) -> None:
        """The resource shows the furthest status reached, whatever order callbacks go in."""
        if pending.step <= message.reached:
            return
        message.reached = pending.step
        now = _rfc2822(self._clock())
        resource = message.resource
        resource["status"] = pending.status
        resource["date_updated"] = now
        if pending.status == "sent" or (
            pending.status == "delivered" and not resource["date_sent"]
        ):
            resource["date_sent"] = now
        if pending.error_code is not None:
            resource["error_code"] = pending.error_code
            resource["error_message"] = ERROR_MESSAGES.get(pending.error_code)
        if resource["from"] is None:
            resource["from"] = self._sender_for(resource["to"])

    def _callback_form(self, message: _Message, status: str, error_code: int | None) -> Form:
        resource = message.resource
        to = resource["to"]
        form: Form = [
            ("AccountSid", self.account_sid),
            ("ApiVersion", API_VERSION),
            ("From", resource["from"] or self._sender_for(to)),
            ("MessageSid", resource["sid"]),
            ("MessageStatus", status),
            ("SmsSid", resource["sid"]),
            ("SmsStatus", status),
            ("To", to),
        ]
        if _channel(to) == "whatsapp":
            form += [
                ("ChannelInstallSid", self._channel_install_sid),
                ("ChannelPrefix", "whatsapp"),
                ("ChannelToAddress", _bare(to)),
                ("StructuredMessage", "false"),
            ]
        elif status == "delivered":
            form.append(("RawDlrDoneDate", self._clock().astimezone(UTC).strftime("%y%m%d%H%M")))
        if resource["messaging_service_sid"]:
            form.append(("MessagingServiceSid", resource["messaging_service_sid"]))
        if error_code is not None:
            form.append(("ErrorCode", str(error_code)))
        return form

    # ----------------------------------------------------------------- inbound webhooks

    def inbound(
        self,
        webhook_url: str,
        *,
        from_: str,
        to: str | None = None,
        body: str = "",
        media: Sequence[tuple[bytes, str]] = (),
        message_sid: str | None = None,
        public_url: str | None = None,
        profile_name: str | None = None,
        signature: str | None = None,
        extra: dict[str, str] | None = None,
        timeout: float = 10.0,
    ) -> InboundResult:
        """A user sends a message: POST Twilio's incoming-message webhook to ``webhook_url``.

        The signature covers ``public_url`` (the URL configured in Twilio, e.g. behind a
        proxy; default ``webhook_url``). ``signature="bad"`` sends a tampered one,
        ``signature="missing"`` none, any other string as given. ``message_sid`` reuses a
        sid (a redelivery with new content); see also ``redeliver()``. Opens the 24-hour
        window for ``from_``; an SMS "STOP" opts the sender out as Twilio does.
        """
        outgoing = self._prepare_inbound(
            webhook_url,
            from_=from_,
            to=to,
            body=body,
            media=media,
            message_sid=message_sid,
            public_url=public_url,
            profile_name=profile_name,
            signature=signature,
            extra=extra,
        )
        with httpx.Client(timeout=timeout, trust_env=False) as http:
            answer = http.post(
                outgoing.target, content=urlencode(outgoing.form), headers=outgoing.headers()
            )
        return self._record_inbound(outgoing, answer)

    async def inbound_async(
        self,
        webhook_url: str,
        *,
        from_: str,
        to: str | None = None,
        body: str = "",
        media: Sequence[tuple[bytes, str]] = (),
        message_sid: str | None = None,
        public_url: str | None = None,
        profile_name: str | None = None,
        signature: str | None = None,
        extra: dict[str, str] | None = None,
        timeout: float = 10.0,
    ) -> InboundResult:
        """inbound() for tests whose webhook server runs in the test's event loop."""
        outgoing = self._prepare_inbound(
            webhook_url,
            from_=from_,
            to=to,
            body=body,
            media=media,
            message_sid=message_sid,
            public_url=public_url,
            profile_name=profile_name,
            signature=signature,
            extra=extra,
        )
        async with httpx.AsyncClient(timeout=timeout, trust_env=False) as http:
            answer = await http.post(
                outgoing.target, content=urlencode(outgoing.form), headers=outgoing.headers()
            )
        return self._record_inbound(outgoing, answer)

    def redeliver(self, previous: InboundResult, *, timeout: float = 10.0) -> InboundResult:
        """Send the very same webhook again: same MessageSid, params, signature and
        I-Twilio-Idempotency-Token (as Twilio's retries do)."""
        outgoing = self._outgoing_again(previous)
        with httpx.Client(timeout=timeout, trust_env=False) as http:
            answer = http.post(
                outgoing.target, content=urlencode(outgoing.form), headers=outgoing.headers()
            )
        return self._record_inbound(outgoing, answer)

    async def redeliver_async(
        self, previous: InboundResult, *, timeout: float = 10.0
    ) -> InboundResult:
        outgoing = self._outgoing_again(previous)
        async with httpx.AsyncClient(timeout=timeout, trust_env=False) as http:
            answer = await http.post(
                outgoing.target, content=urlencode(outgoing.form), headers=outgoing.headers()
            )
        return self._record_inbound(outgoing, answer)

    def _prepare_inbound(
        self,
        webhook_url: str,
        *,
        from_: str,
        to: str | None,
        body: str,
        media: Sequence[tuple[bytes, str]],
        message_sid: str | None,
        public_url: str | None,
        profile_name: str | None,
        signature: str | None,
        extra: dict[str, str] | None,
    ) -> _Outgoing:
        if not _valid_address(from_):
            raise ValueError(f"not a phone number or whatsapp: address: {from_!r}")
        whatsapp = _channel(from_) == "whatsapp"
        to = to or (self.whatsapp_number if whatsapp else self.sms_number)
        with self._changed:
            sid = message_sid or _sid("MM" if media else "SM")
            items = self._store_inbound_media(sid, media)
            form: Form = [
                ("AccountSid", self.account_sid),
                ("ApiVersion", API_VERSION),
                ("Body", body),
                ("From", from_),
                ("MessageSid", sid),
                ("NumMedia", str(len(items))),
                ("NumSegments", "1" if whatsapp else str(_segments(body))),
                ("SmsMessageSid", sid),
                ("SmsSid", sid),
                ("SmsStatus", "received"),
                ("To", to),
            ]
            for index, item in enumerate(items):
                form += [
                    (f"MediaContentType{index}", item.content_type),
                    (f"MediaUrl{index}", self.media_url(item)),
                ]
            if whatsapp:
                form += [
                    ("MessageType", _message_type(items)),
                    ("ProfileName", profile_name or f"User {_bare(from_)[-4:]}"),
                    ("ReferralNumMedia", "0"),
                    ("WaId", _bare(from_).lstrip("+")),
                ]
            elif body.strip().upper() in _STOP_WORDS:
                self._opted_out.add(_bare(from_))
            elif body.strip().upper() in _START_WORDS:
                self._opted_out.discard(_bare(from_))
            if extra:
                form = [(k, v) for k, v in form if k not in extra] + list(extra.items())
            self._last_inbound[_bare(from_)] = self._clock()
            self._changed.notify_all()
        return self._outgoing(public_url or webhook_url, webhook_url, form, signature)

    def _store_inbound_media(
        self, message_sid: str, media: Sequence[tuple[bytes, str]]
    ) -> list[MediaItem]:
        if not media and message_sid in self._inbound_media:
            return self._inbound_media[message_sid]  # a redelivery keeps its media
        items = []
        for data, content_type in media:
            item = MediaItem(
                sid=_sid("ME"),
                message_sid=message_sid,
                content_type=content_type,
                data=data,
                cdn_path=f"/{self.account_sid}/{secrets.token_hex(16)}",
                date_created=self._clock(),
            )
            self._media[item.sid] = item
            self._media_by_cdn_path[item.cdn_path] = item
            items.append(item)
        self._inbound_media[message_sid] = items
        return items

    def _outgoing(
        self, signed_url: str, target: str | None, form: Form, signature: str | None
    ) -> _Outgoing:
        computed = compute_signature(self.auth_token, signed_url, form)
        if signature is None:
            sent: str | None = computed
        elif signature == "bad":
            sent = compute_signature(self.auth_token + "x", signed_url, form)
        elif signature == "missing":
            sent = None
        else:
            sent = signature
        return _Outgoing(
            target=self._forwarded(target or signed_url),
            signed_url=signed_url,
            form=form,
            signature=sent,
            idempotency_token=str(uuid.uuid4()),
        )

    def _outgoing_again(self, previous: InboundResult) -> _Outgoing:
        return _Outgoing(
            target=previous.url,
            signed_url=previous.signed_url,
            form=list(previous.params.items()),
            signature=previous.signature,
            idempotency_token=previous.idempotency_token,
        )

    def _record_inbound(self, outgoing: _Outgoing, answer: httpx.Response) -> InboundResult:
        result = InboundResult(
            message_sid=dict(outgoing.form)["MessageSid"],
            url=outgoing.target,
            signed_url=outgoing.signed_url,
            params=dict(outgoing.form),
            signature=outgoing.signature,
            idempotency_token=outgoing.idempotency_token,
            status_code=answer.status_code,
            text=answer.text,
            headers=dict(answer.headers),
        )
        with self._changed:
            self._inbound.append(result)
            self._changed.notify_all()
        return copy.deepcopy(result)

    def _forwarded(self, url: str) -> str:
        with self._lock:
            for public, local in self._forwards:
                if url == public or url.startswith(public + "/") or url.startswith(public + "?"):
                    return local + url[len(public) :]
        return url

    def media_url(self, item: MediaItem) -> str:
        """The MediaUrlN of an inbound media item (on the API host, behind Basic auth)."""
        return (
            f"{self.base_url}/{API_VERSION}/Accounts/{self.account_sid}"
            f"/Messages/{item.message_sid}/Media/{item.sid}"
        )

    # ----------------------------------------------------------------- test side: inspection

    @property
    def sent(self) -> list[JSONDict]:
        """Every POST to Messages.json, oldest first, accepted or not: ``time`` (the clock's),
        ``from``, ``to``, ``body``, ``media_urls``, ``status_callback``, ``content_sid``,
        ``content_variables`` (decoded), ``messaging_service_sid``, ``form`` (all fields),
        ``http_status``, ``sid`` (None if refused) and ``error_code``."""
        with self._lock:
            return copy.deepcopy(self._sent)

    @property
    def requests(self) -> list[JSONDict]:
        """Every request to the API host: ``method``, ``path``, ``time``, ``http_status``."""
        with self._lock:
            return copy.deepcopy(self._requests)

    @property
    def messages(self) -> list[JSONDict]:
        """The accepted messages' resources as they are now, oldest first."""
        with self._lock:
            return [copy.deepcopy(m.resource) for m in self._messages.values()]

    def message(self, sid: str) -> JSONDict:
        with self._lock:
            return copy.deepcopy(self._messages[sid].resource)

    @property
    def pending_callbacks(self) -> list[tuple[str, str]]:
        """(message sid, status) of status changes not yet reported, in order."""
        with self._lock:
            return [(p.message_sid, p.status) for p in self._pending]

    @property
    def callbacks(self) -> list[CallbackDelivery]:
        """Every status callback POSTed so far."""
        with self._lock:
            return copy.deepcopy(self._callbacks)

    @property
    def inbound_log(self) -> list[InboundResult]:
        """Every inbound webhook POSTed so far (redeliveries included)."""
        with self._lock:
            return copy.deepcopy(self._inbound)

    @property
    def media_requests(self) -> list[JSONDict]:
        """Every media fetch: ``stage`` ("api" or "cdn"), ``host`` (Host header), ``path``,
        ``authorization`` (whether an Authorization header came along), ``http_status``."""
        with self._lock:
            return copy.deepcopy(self._media_requests)

    @property
    def internal_errors(self) -> list[str]:
        """Tracebacks of crashes of the fake itself (answered with 500)."""
        with self._lock:
            return list(self._internal_errors)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Block until predicate() is true (rechecked on each change); TimeoutError otherwise.

        Only from a thread that does not run the application; in async tests use
        wait_until_async.
        """
        with self._changed:
            if not self._changed.wait_for(predicate, timeout):
                raise TimeoutError(f"condition not met within {timeout}s")

    async def wait_until_async(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Await until predicate() is true: waits on the fake's own change notice in a worker
        thread (no polling), letting the event loop run meanwhile; TimeoutError otherwise."""
        await asyncio.to_thread(self.wait_until, predicate, timeout)

    # ----------------------------------------------------------------- HTTP: dispatch

    async def _asgi(self, scope: JSONDict, receive: Any, send: Any) -> None:
        """One uvicorn, two listening sockets: the CDN port gets the CDN app."""
        server = scope.get("server") or ("", 0)
        app = self._cdn_app if server[1] == self.cdn_port else self._api_app
        await app(scope, receive, send)

    async def _api_endpoint(self, request: Request) -> Response:
        path = request.url.path
        form: Form = parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True)
        record = {"method": request.method, "path": path, "time": self._clock(), "http_status": 0}
        sent: JSONDict | None = None
        if request.method == "POST" and _MESSAGES.fullmatch(path):
            sent = self._sent_record(path, form)
        media_fetch: JSONDict | None = None
        media_match = _MEDIA.fullmatch(path)
        if request.method == "GET" and media_match and not media_match["json"]:
            media_fetch = {
                "stage": "api",
                "host": request.headers.get("host", ""),
                "path": path,
                "authorization": "authorization" in request.headers,
                "http_status": 0,
                "time": record["time"],
            }
        with self._changed:
            self._requests.append(record)
            if sent is not None:
                self._sent.append(sent)
            if media_fetch is not None:
                self._media_requests.append(media_fetch)
        try:
            with self._lock:
                self._raise_outage()
            self._authenticate(request)
            response = self._route(request, path, form, sent)
        except TwilioApiError as error:
            response = error.response()
            if sent is not None:
                sent["error_code"] = error.code
        except Exception:
            with self._lock:
                self._internal_errors.append(traceback.format_exc())
            response = TwilioApiError(500, 20500).response()
        with self._changed:
            record["http_status"] = response.status_code
            for log in (sent, media_fetch):
                if log is not None:
                    log["http_status"] = response.status_code
            self._changed.notify_all()
        return response

    def _raise_outage(self) -> None:
        if self._down:
            raise TwilioApiError(503, 20503)
        if self._failures:
            failure = self._failures[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                self._failures.pop(0)
            raise failure.error()

    def _authenticate(self, request: Request) -> None:
        credentials = _basic_credentials(request)
        if credentials is None or not (
            hmac.compare_digest(credentials[0], self.account_sid)
            and hmac.compare_digest(credentials[1], self.auth_token)
        ):
            error = TwilioApiError(401, 20003)
            error.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
            raise error

    def _route(self, request: Request, path: str, form: Form, sent: JSONDict | None) -> Response:
        method = request.method
        for pattern, allowed in (
            (_MESSAGES, ("GET", "POST")),
            (_MESSAGE, ("GET",)),
            (_MEDIA_LIST, ("GET",)),
            (_MEDIA, ("GET",)),
        ):
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if match["account"] != self.account_sid:
                raise TwilioApiError(404, 20404, path=path)
            if method not in allowed:
                raise TwilioApiError(405, 20004)
            with self._changed:
                if pattern is _MESSAGES and method == "POST":
                    assert sent is not None
                    resource = self._create_message(form)
                    sent["sid"] = resource["sid"]
                    return JSONResponse(resource, status_code=201)
                if pattern is _MESSAGES:
                    return JSONResponse(self._message_page(path))
                if pattern is _MESSAGE:
                    return JSONResponse(self._existing(match["sid"], path).resource)
                if pattern is _MEDIA_LIST:
                    return JSONResponse(self._media_page(match["sid"], path))
                return self._media_endpoint(match, path)
        raise TwilioApiError(404, 20404, path=path)

    def _existing(self, sid: str, path: str) -> _Message:
        message = self._messages.get(sid)
        if message is None:
            raise TwilioApiError(404, 20404, path=path)
        return message

    # ----------------------------------------------------------------- HTTP: Messages

    def _sent_record(self, path: str, form: Form) -> JSONDict:
        fields = _first_values(form)
        variables: Any = fields.get("ContentVariables")
        if variables is not None:
            with contextlib.suppress(ValueError):
                variables = json.loads(variables)
        match = _MESSAGES.fullmatch(path)
        return {
            "time": self._clock(),
            "account_sid": match["account"] if match else None,
            "from": fields.get("From"),
            "to": fields.get("To"),
            "body": fields.get("Body"),
            "media_urls": [value for name, value in form if name == "MediaUrl"],
            "status_callback": fields.get("StatusCallback"),
            "content_sid": fields.get("ContentSid"),
            "content_variables": variables,
            "messaging_service_sid": fields.get("MessagingServiceSid"),
            "form": list(form),
            "http_status": 0,
            "sid": None,
            "error_code": None,
        }

    def _create_message(self, form: Form) -> JSONDict:
        """POST Messages.json: validate like Twilio, store the resource, plan its callbacks."""
        fields = _first_values(form)
        to = fields.get("To", "")
        from_ = fields.get("From") or None
        body = fields.get("Body")
        service = fields.get("MessagingServiceSid") or None
        content_sid = fields.get("ContentSid") or None
        raw_variables = fields.get("ContentVariables")
        callback = fields.get("StatusCallback") or None
        media_urls = [value for name, value in form if name == "MediaUrl"]

        if not to:
            raise TwilioApiError(400, 21604)
        if not from_ and not service:
            raise TwilioApiError(400, 21603)
        if not _valid_address(to):
            raise TwilioApiError(400, 21211, to=to)
        if from_ and _channel(from_) != _channel(to):
            raise TwilioApiError(400, 21910)
        if from_ and from_ not in self.senders:
            if _channel(from_) == "whatsapp":
                raise TwilioApiError(400, 63007)
            raise TwilioApiError(400, 21606, from_=from_)
        if raw_variables is not None and not content_sid:
            raise TwilioApiError(400, 21654)
        if content_sid and not _CONTENT_SID.fullmatch(content_sid):
            raise TwilioApiError(400, 21655)
        variables = self._content_variables(raw_variables)
        if not body and not media_urls and not content_sid:
            raise TwilioApiError(400, 21602)
        if body and len(body) > BODY_LIMIT:
            raise TwilioApiError(400, 21617)
        if callback and not _valid_callback(callback):
            raise TwilioApiError(400, 21609, url=callback)
        if _bare(to) in self._opted_out:
            raise TwilioApiError(400, 21610)

        whatsapp = _channel(to) == "whatsapp"
        unapproved = content_sid is None or content_sid in self._session_only
        outside_window = whatsapp and unapproved and not self.window_open(to)
        if outside_window and self.reject_outside_window:
            raise TwilioApiError(400, 63016)

        if content_sid:
            body = self._render(self._templates.get(content_sid, ""), variables)
        body = body or ""
        sid = _sid("MM" if media_urls else "SM")
        now = _rfc2822(self._clock())
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}"
        resource: JSONDict = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": from_,
            "messaging_service_sid": service,
            "num_media": str(len(media_urls)),
            "num_segments": "0" if service else ("1" if whatsapp else str(_segments(body))),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if service else "queued",
            "subresource_uris": {
                "media": f"{uri}/Media.json",
                "feedback": f"{uri}/Feedback.json",
            },
            "to": to,
            "uri": f"{uri}.json",
        }
        plan: list[tuple[str, int | None]] = [("queued", None)] if service else []
        failures = self._delivery_failures.get(_bare(to))
        if outside_window:
            plan.append(("failed", 63016))
        elif failures:
            status, code = failures.pop(0)
            plan += (
                [("sent", None), (status, code)] if status == "undelivered" else [(status, code)]
            )
        else:
            plan += [("sent", None), ("delivered", None)]
            if whatsapp and self.read_receipts:
                plan.append(("read", None))
        message = _Message(resource, callback)
        self._messages[sid] = message
        self._pending += [
            _Pending(sid, step, status, code) for step, (status, code) in enumerate(plan)
        ]
        return copy.deepcopy(resource)

    def _content_variables(self, raw: str | None) -> dict[str, str]:
        if raw is None:
            return {}
        try:
            variables = json.loads(raw)
        except ValueError as error:
            raise TwilioApiError(400, 21656) from error
        if not isinstance(variables, dict) or any(
            value is None or value == "" or len(str(value)) > VARIABLE_LIMIT
            for value in variables.values()
        ):
            raise TwilioApiError(400, 21656)
        return {str(key): str(value) for key, value in variables.items()}

    @staticmethod
    def _render(template: str, variables: dict[str, str]) -> str:
        return re.sub(
            r"\{\{\s*([^{}\s]+)\s*\}\}",
            lambda match: variables.get(match[1], match[0]),
            template,
        )

    def _sender_for(self, to: str) -> str:
        return self.whatsapp_number if _channel(to) == "whatsapp" else self.sms_number

    def _message_page(self, path: str) -> JSONDict:
        messages = [copy.deepcopy(m.resource) for m in reversed(self._messages.values())]
        return {
            "messages": messages,
            "end": max(len(messages) - 1, 0),
            "first_page_uri": f"{path}?PageSize=50&Page=0",
            "next_page_uri": None,
            "page": 0,
            "page_size": 50,
            "previous_page_uri": None,
            "start": 0,
            "uri": f"{path}?PageSize=50&Page=0",
        }

    # ----------------------------------------------------------------- HTTP: media

    def _media_json(self, item: MediaItem) -> JSONDict:
        return {
            "account_sid": self.account_sid,
            "content_type": item.content_type,
            "date_created": _rfc2822(item.date_created),
            "date_updated": _rfc2822(item.date_created),
            "parent_sid": item.message_sid,
            "sid": item.sid,
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{item.message_sid}"
            f"/Media/{item.sid}.json",
        }

    def _media_page(self, message_sid: str, path: str) -> JSONDict:
        if message_sid not in self._messages and message_sid not in self._inbound_media:
            raise TwilioApiError(404, 20404, path=path)
        items = [self._media_json(item) for item in self._inbound_media.get(message_sid, [])]
        return {
            "media_list": items,
            "end": max(len(items) - 1, 0),
            "first_page_uri": f"{path}?PageSize=50&Page=0",
            "next_page_uri": None,
            "page": 0,
            "page_size": 50,
            "previous_page_uri": None,
            "start": 0,
            "uri": f"{path}?PageSize=50&Page=0",
        }

    def _media_endpoint(self, match: re.Match[str], path: str) -> Response:
        """The MediaUrl itself: metadata with .json, else a redirect to the CDN's copy."""
        item = self._media.get(match["media"])
        if item is None or item.message_sid != match["sid"]:
            raise TwilioApiError(404, 20404, path=path)
        if match["json"]:
            return JSONResponse(self._media_json(item))
        expires = int(self._clock().timestamp()) + 4 * 3600  # CDN links live four hours
        location = f"{self.cdn_base_url}{item.cdn_path}?Expires={expires}"
        return Response(status_code=self.media_redirect_status, headers={"Location": location})

    async def _cdn_endpoint(self, request: Request) -> Response:
        """The "media CDN": bytes for anyone holding the link, no credentials wanted."""
        with self._changed:
            item = self._media_by_cdn_path.get(request.url.path)
            status = 503 if self._down else 200 if item is not None else 404
            self._media_requests.append(
                {
                    "stage": "cdn",
                    "host": request.headers.get("host", ""),
                    "path": request.url.path,
                    "authorization": "authorization" in request.headers,
                    "http_status": status,
                    "time": self._clock(),
                }
            )
            self._changed.notify_all()
        if status != 200 or item is None:
            return Response(status_code=status)
        return Response(item.data, media_type=item.content_type)
