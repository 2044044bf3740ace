"""The folder target: writes the article page and its photos to a local folder (an archive)."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from publishers.base import Article, PublishCause, PublishError, PublishResult
from publishers.format import render_article_html
from publishers.images import prepare_for_target, renamed_for


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
                data, mime = prepare_for_target(
                    photo.path, index=index, max_bytes=self.max_photo_bytes, where=self.name
                )
                name = renamed_for(f"foto-{index}{photo.path.suffix}", mime)
                (folder / name).write_bytes(data)
                names.append(name)
            page = render_article_html(article, photo_urls=names)
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=".index-")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(page)
            os.replace(temporary, folder / "index.html")
        except OSError as error:
            # Retryable: a full disk or a wrong owner is fixed on the machine, then it works.
            raise PublishError(
                f"cannot write to {folder}: {error.strerror}",
                retryable=True,
                cause=PublishCause.PERMISSION if isinstance(error, PermissionError) else None,
            ) from None
        link = (
            f"{self.base_url}{article.slug}/" if self.base_url else (folder / "index.html").as_uri()
        )
        return PublishResult(permalink=link, remote_id=article.slug)
