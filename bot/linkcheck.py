"""Does a published story's permalink still answer? (the H+1 archive's link check)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

USER_AGENT = "Warta/1 (arsip H+1; pemeriksa tautan)"


def http_link_check(timeout: float) -> Callable[[str], tuple[bool, str]]:
    """A permalink answers: an http(s) page with a status below 400 (HEAD, or GET where HEAD
    is not allowed), or a ``file:`` page that exists (a folder target)."""

    def check(url: str) -> tuple[bool, str]:
        parts = urlsplit(url)
        if parts.scheme == "file":
            path = Path(unquote(parts.path))
            return (True, "") if path.is_file() else (False, "the page is gone")
        if parts.scheme not in ("http", "https"):
            return False, f"not a web address: {url[:80]}"
        try:
            with httpx.Client(
                follow_redirects=True, timeout=timeout, headers={"User-Agent": USER_AGENT}
            ) as client:
                response = client.head(url)
                if response.status_code in (405, 501):
                    response = client.get(url)
        except httpx.HTTPError as error:
            return False, f"{type(error).__name__}: {error}"[:200]
        if response.status_code >= 400:
            return False, f"HTTP {response.status_code}"
        return True, f"HTTP {response.status_code}"

    return check
