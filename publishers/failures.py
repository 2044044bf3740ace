"""Turns what went wrong on the way to a site into a short ``PublishError`` with its cause."""

from __future__ import annotations

import html
import re
import socket
import ssl

import httpx

from publishers.base import PublishCause, PublishError

DETAIL_LIMIT = 200
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_HEADING = re.compile(r"<h1[^>]*>(.*?)</h1>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_HTML = re.compile(r"<\s*(!doctype|html|head|body|title|h1|p|div)\b", re.IGNORECASE)


def trim(text: str, limit: int = DETAIL_LIMIT) -> str:
    """``text`` on one line, at most ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def certificate_problem(error: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate verification failure behind ``error`` (an ``httpx.ConnectError``, an
    ``OSError`` from smtplib), if that is what it is."""
    for link in _chain(error):
        if isinstance(link, ssl.SSLCertVerificationError):
            return link
    return None


def _plain_http_on_https(error: BaseException) -> bool:
    """An ``https://`` URL whose port speaks plain HTTP (``WRONG_VERSION_NUMBER``)."""
    return any(
        isinstance(link, ssl.SSLError) and "WRONG_VERSION_NUMBER" in str(link)
        for link in _chain(error)
    )


def connection_reason(error: BaseException) -> str:
    """A few words on why a connection failed: refused, name not found, or the error's text."""
    for link in _chain(error):
        if isinstance(link, ConnectionRefusedError):
            return "connection refused"
        if isinstance(link, socket.gaierror):
            return "host name not found (DNS)"
        if isinstance(link, TimeoutError):
            return "no answer in time"
    return trim(str(error) or type(error).__name__, 120)


def transport_failure(
    error: httpx.TransportError, host: str, *, where: str, timeout: float | None = None
) -> PublishError:
    """``error`` (no HTTP answer came back from ``host``) as a ``PublishError``: a bad
    certificate is final, a timeout or a refused connection can pass."""
    bad_certificate = certificate_problem(error)
    if bad_certificate is not None:
        reason = bad_certificate.verify_message or bad_certificate.reason or "not trusted"
        return PublishError(
            f"{where}: the HTTPS certificate of {host} is not valid: {trim(str(reason), 120)}",
            retryable=False,
            cause=PublishCause.CERTIFICATE,
        )
    if _plain_http_on_https(error):
        return PublishError(
            f"{where}: {host} does not speak HTTPS on that port; check the url",
            retryable=False,
            cause=PublishCause.ADDRESS,
        )
    if isinstance(error, httpx.TimeoutException):
        within = f" within {timeout:g} s" if timeout else " in time"
        return PublishError(
            f"{where}: {host} did not answer{within}", retryable=True, cause=PublishCause.TIMEOUT
        )
    return PublishError(
        f"{where}: cannot connect to {host}: {connection_reason(error)}",
        retryable=True,
        cause=PublishCause.UNREACHABLE,
    )


def short_reason(response: httpx.Response) -> str:
    """What an error answer says, briefly: ``HTTP <status> <code>: <message>`` from JSON, the
    status and the page's title (and first heading) from HTML, never the page itself."""
    status = f"HTTP {response.status_code}"
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        code = str(data.get("code") or data.get("error") or "").strip()
        message = data.get("message") or data.get("detail") or ""
        # WordPress's own error pages come as JSON too, with HTML in the message.
        message = _text_of(message) if isinstance(message, str) else ""
        if code or message:
            return trim(
                f"{status} {code}: {message}" if code and message else f"{status} {code or message}"
            )
    body = response.text
    if _HTML.search(body[:2000]):
        words: list[str] = []
        for pattern in (_TITLE, _HEADING):
            found = _page_words(pattern, body)
            if found and found not in words:
                words.append(found)
        return trim(f"{status}: " + " — ".join(words)) if words else _status_line(response)
    plain = trim(_text_of(body), 120)
    return f"{status}: {plain}" if plain and data is None else _status_line(response)


def _status_line(response: httpx.Response) -> str:
    return f"HTTP {response.status_code} {response.reason_phrase}".strip()


def _page_words(pattern: re.Pattern[str], page: str) -> str:
    found = pattern.search(page[:100_000])
    return trim(_text_of(found.group(1)), 120) if found else ""


def _text_of(markup: str) -> str:
    """The words of a bit of HTML, on one line."""
    return " ".join(html.unescape(_TAG.sub(" ", markup)).split())
