"""The folder target: writes the article page and its photos to a local folder (an archive)."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from publishers.base import Article, PublishError, PublishResult
from publishers.format import render_article_html
from publishers.images import PhotoTooLargeError, prepare_photo, renamed_for


class FolderPublisher:
    """Writes ``<root>/<slug>/index.html`` and the photos; a retry overwrites, never doubles."""

    def __init__(
        self,
        name: str,
        root: Path,
        base_url: str | None = None,
        *,
        max_photo_bytes: int = 10 * 1024 * 1024,
    ) -> None:
        self.max_photo_bytes = max_photo_bytes
        self.name = name
        self.root = root
        self.base_url = base_url.rstrip("/") + "/" if base_url else None

    async def publish(self, article: Article, *, remote_id: str | None = None) -> PublishResult:
        return await asyncio.to_thread(self._write, article)

    def _write(self, article: Article) -> PublishResult:
        folder = self.root / article.slug
        try:
            folder.mkdir(parents=True, exist_ok=True)
            names: list[str] = []
            for index, photo in enumerate(article.photos, start=1):
                # Published copies are upright and carry no EXIF/GPS (where a photo was taken).
                data, mime = prepare_photo(photo.path, max_bytes=self.max_photo_bytes)
                name = renamed_for(f"foto-{index}{photo.path.suffix}", mime)
                (folder / name).write_bytes(data)
                names.append(name)
            page = render_article_html(article, photo_urls=names)
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=".index-")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(page)
            os.replace(temporary, folder / "index.html")
        except PhotoTooLargeError as error:
            raise PublishError(str(error), retryable=False) from None
        except OSError as error:
            raise PublishError(
                f"cannot write to {folder}: {error.strerror}", retryable=True
            ) from None
        link = (
            f"{self.base_url}{article.slug}/" if self.base_url else (folder / "index.html").as_uri()
        )
        return PublishResult(permalink=link, remote_id=article.slug)
