"""The media folder: files stored once under their content hash, size- and type-checked."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import filetype

_KIND_OF_MIME_PREFIX = {"image/": "photo", "video/": "video", "audio/": "voice"}


class MediaRejected(ValueError):
    """A file was refused; ``reason`` is ``too_large`` or ``type`` and the fields say why."""

    def __init__(self, reason: str, *, size: int, limit: int, mime: str | None) -> None:
        self.reason, self.size, self.limit, self.mime = reason, size, limit, mime
        super().__init__(f"media rejected ({reason}): {mime or 'unknown type'}, {size} bytes")


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    mime: str
    kind: str
    size: int
    relative_path: str


def sniff_mime(data: bytes) -> str | None:
    """The type the bytes really are, whatever name or type they were sent with."""
    guess = filetype.guess(data[:8192])
    return guess.mime if guess else None


def kind_of(mime: str) -> str:
    return next(
        (k for prefix, k in _KIND_OF_MIME_PREFIX.items() if mime.startswith(prefix)), "file"
    )


class MediaStore:
    """Writes files to ``root/ab/cd/<sha256>.<ext>`` atomically; the same content is stored once."""

    def __init__(self, root: Path, *, max_bytes: int, allowed_types: tuple[str, ...]) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.allowed_types = frozenset(allowed_types)

    def check(self, data: bytes) -> str:
        """Return the sniffed type of ``data`` or raise :class:`MediaRejected`."""
        mime = sniff_mime(data)
        if len(data) > self.max_bytes:
            raise MediaRejected("too_large", size=len(data), limit=self.max_bytes, mime=mime)
        if mime is None or mime not in self.allowed_types:
            raise MediaRejected("type", size=len(data), limit=self.max_bytes, mime=mime)
        return mime

    def put(self, data: bytes) -> StoredFile:
        mime = self.check(data)
        digest = hashlib.sha256(data).hexdigest()
        extension = (
            filetype.get_type(mime=mime).extension if filetype.get_type(mime=mime) else "bin"
        )
        relative = f"{digest[:2]}/{digest[2:4]}/{digest}.{extension}"
        path = self.root / relative
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temporary, path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        return StoredFile(digest, mime, kind_of(mime), len(data), relative)

    def path_of(self, relative_path: str) -> Path:
        return self.root / relative_path
