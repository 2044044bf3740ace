"""WordPress's REST API for the publisher and the live check: every failure a ``PublishError``
with its cause, who the Application Password logs in as, and what that account may do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from publishers.base import PublishCause, PublishError, retry_after_seconds
from publishers.failures import short_reason, transport_failure, trim

USER_AGENT = "Warta-WordPress/1"
# Paths that are part of a WordPress site, never its root: the url is cut before them.
_NOT_THE_ROOT = ("/wp-json", "/wp-admin", "/wp-login.php", "/wp-content", "/index.php")


def not_the_root(base_url: str) -> PublishError | None:
    """An ``address`` error when ``base_url`` points inside the site (``…/wp-json``) instead
    of at its root, naming the root to use; None when it looks right."""
    parts = urlsplit(base_url)
    path = parts.path.rstrip("/")
    lowered = path.lower()
    for marker in _NOT_THE_ROOT:
        at = lowered.find(marker)
        if at >= 0 and (len(lowered) == at + len(marker) or lowered[at + len(marker)] == "/"):
            root = urlunsplit((parts.scheme, parts.netloc, path[:at], "", ""))
            return PublishError(
                f"the url {base_url} is a page inside the site; give the site's root, {root}",
                retryable=False,
                cause=PublishCause.ADDRESS,
            )
    return None


@dataclass(frozen=True)
class Account:
    """Who the Application Password logs in as (``users/me?context=edit``)."""

    id: int
    username: str
    roles: tuple[str, ...]
    capabilities: frozenset[str] | None
    """None when the site does not say (a plugin hides it): then the site decides each step."""

    def can(self, capability: str) -> bool:
        return self.capabilities is None or capability in self.capabilities

    @property
    def role(self) -> str:
        return ", ".join(self.roles) or "no role"


def missing_capabilities(
    account: Account, *, publish: bool, photos: bool, new_category: bool
) -> list[str]:
    """The capabilities ``account`` lacks for a publish: ``edit_posts`` (the draft),
    ``publish_posts`` (unless the target keeps drafts), ``upload_files`` (photos) and
    ``manage_categories`` (a category that does not exist yet)."""
    needed = ["edit_posts"]
    if publish:
        needed.append("publish_posts")
    if photos:
        needed.append("upload_files")
    if new_category:
        needed.append("manage_categories")
    return [capability for capability in needed if not account.can(capability)]


_WHY = {
    "edit_posts": "write posts",
    "publish_posts": "publish posts",
    "upload_files": "upload photos",
    "manage_categories": "create categories",
}


def permission_error(account: Account, missing: list[str], category: str | None) -> PublishError:
    """What ``account`` may not do, and the way out: an Editor, or the category made first."""
    what = ", ".join(f"{_WHY.get(c, c)} ({c})" for c in missing)
    fix = "give it the Editor role"
    if missing == ["manage_categories"] and category:
        fix = f"create the category «{category}» on the site, or give it the Editor role"
    return PublishError(
        trim(f"user {account.username} ({account.role}) may not {what}; {fix}", 240),
        retryable=False,
        cause=PublishCause.PERMISSION,
    )


def parse_account(data: Any) -> Account:
    if not isinstance(data, dict) or "id" not in data:
        raise PublishError(
            "WordPress answered users/me without a user; is the url the site's root?",
            retryable=False,
            cause=PublishCause.ADDRESS,
        )
    capabilities = data.get("capabilities")
    return Account(
        id=int(data["id"]),
        username=str(data.get("username") or data.get("slug") or data.get("name") or data["id"]),
        roles=tuple(str(role) for role in data.get("roles") or ()),
        capabilities=frozenset(name for name, on in capabilities.items() if on)
        if isinstance(capabilities, dict)
        else None,
    )


def open_client(
    base_url: str,
    *,
    auth: httpx.Auth | None,
    timeout: float,
    transport: httpx.AsyncBaseTransport | None,
) -> httpx.AsyncClient:
    """A client for ``<base_url>/wp-json/wp/v2/`` that follows no redirect (a redirect is a
    wrong url, and would drop the credentials on the way)."""
    return httpx.AsyncClient(
        base_url=f"{base_url}/wp-json/wp/v2/",
        auth=auth,
        timeout=httpx.Timeout(timeout),
        transport=transport,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        follow_redirects=False,
    )


class WordPressApi:
    """One client's requests, every failure turned into a ``PublishError`` with its cause."""

    def __init__(
        self, client: httpx.AsyncClient, *, base_url: str, user: str, timeout: float | None = None
    ) -> None:
        self.client = client
        self.timeout = timeout
        self.base_url = base_url
        self.user = user
        self.host = httpx.URL(base_url).host or base_url

    async def call(self, method: str, path: str, action: str, **options: Any) -> Any:
        return self.parse(await self.send(method, path, action, **options), action)

    async def send(self, method: str, path: str, action: str, **options: Any) -> httpx.Response:
        try:
            return await self.client.request(method, path, **options)
        except httpx.TransportError as error:
            raise transport_failure(
                error, self.host, where=f"WordPress ({action})", timeout=self.timeout
            ) from None

    async def account(self) -> Account:
        """Who the credentials log in as, and what they may do."""
        return parse_account(
            await self.call("GET", "users/me", "log in", params={"context": "edit"})
        )

    def parse(self, response: httpx.Response, action: str) -> Any:
        if response.is_success:
            try:
                return response.json()
            except ValueError:
                # An HTML page where the REST API should be: a wrong url, or a site without
                # pretty permalinks. Trying again will not help.
                raise PublishError(
                    f"{response.url.copy_with(query=None)} answered {response.status_code} "
                    f"with a page, not WordPress's REST API ({action}); is the url the site's "
                    "root, with pretty permalinks on?",
                    retryable=False,
                    cause=PublishCause.ADDRESS,
                ) from None
        raise self.error(response, action)

    def error(self, response: httpx.Response, action: str) -> PublishError:
        status = response.status_code
        code = error_code(response)
        reason = short_reason(response)
        if status == 429:
            return PublishError(
                f"WordPress asked to slow down ({action}): {reason}",
                retryable=True,
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                cause=PublishCause.SITE_ERROR,
            )
        if status == 408:
            return PublishError(
                f"WordPress timed out ({action})", retryable=True, cause=PublishCause.TIMEOUT
            )
        if status >= 500:
            return PublishError(
                f"WordPress failed ({action}): {reason}",
                retryable=True,
                cause=PublishCause.SITE_ERROR,
            )
        if 300 <= status < 400:
            location = response.headers.get("Location", "elsewhere")
            return PublishError(
                trim(
                    f"{response.url.copy_with(query=None)} redirects to {location}; "
                    "give the site's own address (https, www or not) as the url"
                ),
                retryable=False,
                cause=PublishCause.ADDRESS,
            )
        if status == 401:
            return PublishError(
                f"WordPress rejected the credentials of user {self.user} ({code or reason})",
                retryable=False,
                cause=PublishCause.CREDENTIALS,
            )
        if status == 403:
            return PublishError(
                f"WordPress does not let user {self.user} {action} ({code or reason})",
                retryable=False,
                cause=PublishCause.PERMISSION,
            )
        if status == 404 and (code in ("", "rest_no_route") or action == "log in"):
            return PublishError(
                f"no WordPress REST API at {self.base_url}/wp-json/ ({reason}); "
                "is the url the site's root, with pretty permalinks on?",
                retryable=False,
                cause=PublishCause.ADDRESS,
            )
        if status == 413:
            return PublishError(
                f"WordPress found the request too large ({action})",
                retryable=False,
                cause=PublishCause.REJECTED,
            )
        return PublishError(
            f"WordPress refused to {action}: {reason}",
            retryable=False,
            cause=PublishCause.REJECTED,
        )


def error_code(response: httpx.Response) -> str:
    """WordPress's error ``code`` (branch on it: the ``message`` is translated), or ""."""
    try:
        data = response.json()
    except ValueError:
        return ""
    return str(data.get("code") or "") if isinstance(data, dict) else ""
