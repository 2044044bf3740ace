"""``warta check --live``: asks every publish target whether a publish would work, one line
each on what is wrong and how to fix it. Nothing is published, sent or created."""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass
from pathlib import Path

import httpx

from bot.config import (
    EmailTarget,
    FolderTarget,
    ManualTarget,
    PublishTarget,
    Settings,
    WebhookTarget,
    WordPressTarget,
)
from publishers.base import PublishCause, PublishError
from publishers.email import EmailPublisher
from publishers.failures import short_reason, transport_failure
from publishers.wordpress import WordPressPublisher
from publishers.wordpress_check import SiteReport, check_site

# Answers to a HEAD that still prove a webhook's server is there: it just does not take HEAD.
_METHOD_NOT_TAKEN = (405, 501)


@dataclass(frozen=True)
class LiveResult:
    target: str
    ok: bool
    line: str
    """One line in English: what was found, or what is wrong and how to fix it."""


async def check_targets(settings: Settings) -> list[LiveResult]:
    """Check every configured publish target at once, in the configured order."""
    return list(await asyncio.gather(*(check_target(t) for t in settings.publish.targets)))


def format_results(results: list[LiveResult]) -> str:
    """``✓ name: …`` or ``✗ name: …``, one line per target."""
    return "\n".join(f"{'✓' if r.ok else '✗'} {r.target}: {r.line}" for r in results)


async def check_target(target: PublishTarget) -> LiveResult:
    try:
        match target:
            case WordPressTarget():
                line = await _wordpress(target)
            case WebhookTarget():
                line = await _webhook(target)
            case EmailTarget():
                line = await _email(target)
            case FolderTarget():
                line = await asyncio.to_thread(_folder, target.path)
            case ManualTarget():
                line = "published by hand: operators get a ready-to-paste package (/terbit)"
            case _:
                line = f"no live check for targets of kind {target.kind}"
    except PublishError as error:
        return LiveResult(target.name, False, _problem(target, error))
    except Exception as error:  # one target's odd failure must not hide the others' lines
        return LiveResult(
            target.name, False, f"the check itself failed: {type(error).__name__}: {error}"
        )
    return LiveResult(target.name, True, line)


# -- WordPress ---------------------------------------------------------------------------------


async def _wordpress(target: WordPressTarget) -> str:
    password = target.password.get_secret_value()
    if not password:
        raise PublishError(
            f"no Application Password: set {target.password_env}",
            retryable=False,
            cause=PublishCause.CREDENTIALS,
        )
    publisher = WordPressPublisher(
        target.name,
        base_url=target.url,
        user=target.user,
        app_password=password,
        status=target.status,
        category=target.category,
        timeout=target.timeout.total_seconds(),
    )
    return _describe_site(await check_site(publisher), status=target.status)


def _describe_site(report: SiteReport, *, status: str) -> str:
    version = f"WordPress {report.version}" if report.version else "WordPress"
    can = "can publish" if status == "publish" else "can write drafts"
    line = (
        f"{version} at {report.url}, user {report.account.username} ({report.account.role}) {can}"
    )
    if report.category:
        made = "exists" if report.category_exists else "will be created at the first publish"
        line += f", category «{report.category}» {made}"
    return "; ".join((line, *report.notes))


# -- webhook -----------------------------------------------------------------------------------


async def _webhook(target: WebhookTarget) -> str:
    """A HEAD request: publishes nothing, and any answer below 500 shows the server is there."""
    host = httpx.URL(target.url).host
    try:
        async with httpx.AsyncClient(
            timeout=target.timeout.total_seconds(), follow_redirects=False
        ) as client:
            response = await client.head(target.url, headers={"User-Agent": "Warta-Check/1"})
    except httpx.TransportError as error:
        raise transport_failure(
            error, host, where="webhook", timeout=target.timeout.total_seconds()
        ) from None
    status = response.status_code
    if 300 <= status < 400:
        raise PublishError(
            f"{target.url} redirects to {response.headers.get('Location', 'elsewhere')}; "
            "Warta does not follow redirects: give the final url",
            retryable=False,
            cause=PublishCause.ADDRESS,
        )
    if status >= 500 and status not in _METHOD_NOT_TAKEN:
        raise PublishError(
            f"webhook answered {short_reason(response)}",
            retryable=True,
            cause=PublishCause.SITE_ERROR,
        )
    line = f"webhook at {target.url} answers (HTTP {status} to HEAD)"
    if status in (401, 403):
        line += "; it wants credentials: the signed POST will show whether the secret fits"
    if not target.secret.get_secret_value():
        raise PublishError(
            f"{line}, but there is no secret: set {target.secret_env}",
            retryable=False,
            cause=PublishCause.CREDENTIALS,
        )
    return line


# -- e-mail ------------------------------------------------------------------------------------


async def _email(target: EmailTarget) -> str:
    """Connect, EHLO, STARTTLS and log in as configured, then QUIT: no message is sent."""
    password = target.password.get_secret_value()
    if target.username and not password and target.password_env:
        raise PublishError(
            f"no password for {target.username}: set {target.password_env}",
            retryable=False,
            cause=PublishCause.CREDENTIALS,
        )
    publisher = EmailPublisher(
        target.name,
        host=target.host,
        port=target.port,
        sender=target.sender,
        to=list(target.to),
        username=target.username,
        password=password or None,
        starttls=target.starttls,
        timeout=target.timeout.total_seconds(),
    )

    def greet() -> str:
        with publisher.session() as smtp:
            return (
                smtp.ehlo_resp.decode("utf-8", "replace").splitlines()[0] if smtp.ehlo_resp else ""
            )

    greeting = await asyncio.to_thread(greet)
    steps = ["STARTTLS" if target.starttls else "no TLS"]
    if target.username:
        steps.append(f"logged in as {target.username}")
    name = f" ({greeting})" if greeting else ""
    return (
        f"mail server {target.host}:{target.port}{name} answers, {', '.join(steps)}; nothing sent"
    )


# -- folder ------------------------------------------------------------------------------------


def _folder(path: Path) -> str:
    """Writable, or creatable under a writable folder; nothing is written to find out."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise PublishError(
            f"{existing} is a file, so {path} cannot be a folder",
            retryable=False,
            cause=PublishCause.ADDRESS,
        )
    if not os.access(existing, os.W_OK | os.X_OK) or _read_only(existing):
        raise PublishError(
            f"{existing} is not writable by this user",
            retryable=False,
            cause=PublishCause.PERMISSION,
        )
    if existing == path:
        return f"folder {path} is writable"
    return f"folder {path} will be created (in {existing}, which is writable)"


def _read_only(path: Path) -> bool:
    return bool(os.statvfs(path).f_flag & os.ST_RDONLY)


# -- what to do about a problem ----------------------------------------------------------------

# "WordPress (log in): " before a detail: which step failed matters to the publisher's log only.
_STEP = re.compile(r"^WordPress \([^)]*\): ")
_FIXES = {
    PublishCause.UNREACHABLE: "check the url, and that the site is up and reachable from this "
    "machine (DNS, firewall, proxy)",
    PublishCause.TIMEOUT: "the site is too slow or a firewall drops the traffic; check it "
    "answers from this machine, or raise the target's timeout",
    PublishCause.CERTIFICATE: "renew or fix the site's HTTPS certificate (with its full chain); "
    "Warta does not publish over an unverified connection",
    PublishCause.SITE_ERROR: "the site itself fails: look at its server and database logs",
}


def _problem(target: PublishTarget, error: PublishError) -> str:
    detail = _STEP.sub("", str(error))
    cause = error.cause
    if cause is PublishCause.CREDENTIALS:
        fix = _credentials_fix(target)
    else:
        # A wrong address or a missing permission names its own fix (the root url, the role).
        fix = _FIXES.get(cause, "") if cause else ""
    return f"{detail} — {fix}" if fix else detail


def _credentials_fix(target: PublishTarget) -> str:
    match target:
        case WordPressTarget():
            return (
                f"make a new Application Password for {target.user} (Users → Profile → "
                f"Application Passwords) and put it in {target.password_env}"
            )
        case EmailTarget():
            return f"check the user name and the password in {target.password_env or 'the config'}"
        case WebhookTarget():
            return f"put the secret the receiver expects in {target.secret_env}"
    return "check the credentials in the configuration"
