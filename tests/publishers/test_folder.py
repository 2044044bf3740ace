"""FolderPublisher: a photo that cannot be decoded fails for good, with the cause ``image``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from publishers.base import Article, ArticlePhoto, PublishCause, PublishError
from publishers.folder import FolderPublisher
from tests.publishers.test_images import _png_claiming

WHEN = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


@pytest.mark.asyncio
@pytest.mark.parametrize("bomb", [False, True])
async def test_an_undecodable_photo_is_final(tmp_path: Path, bomb: bool) -> None:
    photo = tmp_path / "foto.png"
    if bomb:
        _png_claiming(photo, 20_000, 20_000)
    else:
        photo.write_bytes(b"not an image")
    article = Article(
        story_number=3,
        version=1,
        title="Banjir Surut",
        body="PALANGKA RAYA – Air surut.",
        reporter="Rina",
        photos=(ArticlePhoto(photo, "image/png"),),
        submitted_at=WHEN,
        published_at=WHEN,
    )
    with pytest.raises(PublishError) as failure:
        await FolderPublisher("arsip", tmp_path / "arsip").publish(article)
    assert not failure.value.retryable and failure.value.cause is PublishCause.IMAGE
    assert str(failure.value).startswith("arsip: photo 1 is not a readable image")
