"""Asks a WordPress site whether a publish would work, creating nothing: the site answers at its
root, speaks the REST API, takes the Application Password, and lets the account do it all."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from publishers.base import PublishCause, PublishError
from publishers.failures import transport_failure
from publishers.wordpress import WordPressPublisher
from publishers.wordpress_api import Account, WordPressApi, not_the_root

_GENERATOR = re.compile(
    r"<meta[^>]+name=[\"']generator[\"'][^>]+content=[\"']WordPress ([0-9][0-9.]*)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SiteReport:
    """A WordPress that would take a publish, as ``warta check --live`` describes it."""

    url: str
    name: str
    version: str | None
    account: Account
    category: str | None
    category_exists: bool
    notes: tuple[str, ...] = ()


async def check_site(publisher: WordPressPublisher) -> SiteReport:
    """Everything a publish needs from the site, read-only; raises ``PublishError`` (with its
    cause) for the first thing that would fail."""
    wrong_url = not_the_root(publisher.base_url)
    if wrong_url:
        raise wrong_url
    async with publisher.client() as client:
        api = publisher.api(client)
        index = await _index(api, publisher.base_url)
        notes = []
        home = str(index.get("home") or index.get("url") or "").rstrip("/")
        if home and home != publisher.base_url:
            notes.append(f"WordPress gives its address as {home}")
        try:
            account = await publisher.account(api)
        except PublishError as error:
            authentication = index.get("authentication")
            if error.cause is PublishCause.CREDENTIALS and not (
                isinstance(authentication, dict) and "application-passwords" in authentication
            ):
                raise PublishError(
                    f"{error}; Application Passwords are off on this site (they need HTTPS, "
                    "and a security plugin may turn them off)",
                    retryable=False,
                    cause=PublishCause.CREDENTIALS,
                ) from None
            raise
        category_id = await publisher.check_access(api, photos=True)
        version = await _version(client, publisher.base_url)
    return SiteReport(
        url=publisher.base_url,
        name=str(index.get("name") or ""),
        version=version,
        account=account,
        category=publisher.category,
        category_exists=category_id is not None,
        notes=tuple(notes),
    )


async def _index(api: WordPressApi, base_url: str) -> dict[str, Any]:
    """The REST API's index (``/wp-json/``): proof that a WordPress answers at ``base_url``."""
    action = "read the site's REST API index"
    # Anonymous: the index is public, and the credentials are checked on their own next.
    response = await _get(api, f"{base_url}/wp-json/", action)
    if response.status_code == 404:
        plain = await _get(api, f"{base_url}/", action, params={"rest_route": "/"})
        if _is_index(plain):
            raise PublishError(
                f"{base_url}/wp-json/ is not found, but ?rest_route=/ answers: pretty "
                "permalinks are off (Settings → Permalinks: anything but Plain)",
                retryable=False,
                cause=PublishCause.ADDRESS,
            )
    index = api.parse(response, action)
    if not isinstance(index, dict) or "wp/v2" not in (index.get("namespaces") or ()):
        raise PublishError(
            f"{base_url}/wp-json/ is no WordPress REST API (no wp/v2); is the url the site's "
            "root, and is the REST API open?",
            retryable=False,
            cause=PublishCause.ADDRESS,
        )
    return index


async def _get(api: WordPressApi, url: str, action: str, **options: Any) -> httpx.Response:
    try:
        return await api.client.get(url, auth=None, **options)
    except httpx.TransportError as error:
        raise transport_failure(
            error, api.host, where=f"WordPress ({action})", timeout=api.timeout
        ) from None


def _is_index(response: httpx.Response) -> bool:
    try:
        data = response.json()
    except ValueError:
        return False
    return isinstance(data, dict) and "namespaces" in data


async def _version(client: httpx.AsyncClient, base_url: str) -> str | None:
    """The version in the home page's generator tag, when the site shows it."""
    try:
        response = await client.get(f"{base_url}/", auth=None, headers={"Accept": "text/html"})
    except httpx.HTTPError:
        return None
    found = _GENERATOR.search(response.text[:200_000]) if response.is_success else None
    return found.group(1) if found else None
