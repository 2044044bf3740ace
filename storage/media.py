"""The media folder: files stored once under their content hash, checked for size, type and
pixels; and the names a stored file may go by downstream."""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import filetype
from PIL import Image, UnidentifiedImageError

_KIND_OF_MIME_PREFIX = {"image/": "photo", "video/": "video", "audio/": "voice"}

FILENAME_PREFIXES = {"photo": "foto", "video": "video", "voice": "suara", "file": "berkas"}
"""The first word of a generated file name, by kind (``foto-1.jpg``, ``suara-2.ogg``)."""

DEFAULT_MAX_PIXELS = 40_000_000
"""A 7000×5700 camera photo fits; an 11000×11000 image (a gigabyte once decoded) does not."""

DISPLAY_NAME_LIMIT = 120
"""A reporter's file name is shown to people at most this long (in characters)."""

_PREFIX = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_SEPARATORS = re.compile(r"[/\\]+")
_KEPT_FORMAT_CHARACTERS = frozenset("\u200c\u200d")  # the joiners that hold emoji and scripts
_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")
_HEADER_ERRORS = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    TypeError,
    struct.error,
)
"""What Pillow's header parsers raise for a file they cannot read (it varies by format)."""


class PixelsUncounted(Exception):
    """Pillow refused an image as a decompression bomb without saying how many pixels it has."""


class MediaRejected(ValueError):
    """A file was refused; ``reason`` says why and the fields give the numbers for the reporter.

    Reasons: ``empty`` (0 bytes), ``too_large`` (``size`` over ``limit`` bytes), ``type`` (not an
    accepted type), ``broken_image`` (an image whose header cannot be read) and
    ``too_many_pixels`` (``pixels`` over ``limit`` pixels; ``pixels`` is ``None`` when Pillow
    refused to say how many).
    """

    def __init__(
        self,
        reason: str,
        *,
        size: int,
        limit: int,
        mime: str | None,
        pixels: int | None = None,
    ) -> None:
        self.reason, self.size, self.limit, self.mime = reason, size, limit, mime
        self.pixels = pixels
        detail = f", {pixels} pixels" if pixels is not None else ""
        super().__init__(
            f"media rejected ({reason}): {mime or 'unknown type'}, {size} bytes{detail}"
        )


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


def extension_of(mime: str | None) -> str:
    """The usual extension of ``mime`` (``jpg`` for ``image/jpeg``), ``bin`` when unknown."""
    known = filetype.get_type(mime=mime) if mime else None
    return known.extension if known else "bin"


def image_pixels(data: bytes, mime: str) -> int | None:
    """Width × height of an image, read from its header only (nothing is decoded).

    ``None`` when Pillow has no reader for ``mime`` (HEIC without a plugin): the size cannot be
    known, so the file is left to the other checks. Raises :class:`ValueError` when the header
    cannot be read, and :class:`PixelsUncounted` when Pillow calls it a bomb but gives no count.
    """
    Image.init()  # registers every reader once; cheap afterwards
    formats = [name for name, its_mime in Image.MIME.items() if its_mime == mime]
    if not formats:
        return None
    try:
        # Only the header is parsed; without load() the pixels are never allocated.
        with Image.open(io.BytesIO(data), formats=formats) as image:
            width, height = image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as bomb:
        # Pillow's own limit (an error, or a warning the process turned into one) stops
        # Image.open before it hands over the size; its message carries the count.
        found = _BOMB_PIXELS.search(str(bomb))
        if found is None:
            raise PixelsUncounted(str(bomb)) from bomb
        return int(found.group(1))
    except _HEADER_ERRORS as error:
        raise ValueError(f"unreadable {mime} header: {error}") from error
    if width <= 0 or height <= 0:
        raise ValueError(f"{mime} header says {width}×{height}")
    return width * height


def display_filename(original: str | None, *, fallback: str) -> str:
    """The reporter's file name made fit to show to people: never a path, never empty.

    Keeps the last path part only; drops control, bidirectional-override and other invisible
    format characters (but keeps the joiners inside emoji); squeezes white space; shortens to
    ``DISPLAY_NAME_LIMIT`` characters keeping the extension. ``fallback`` (the generated name)
    stands in when nothing readable is left. Display text only: files are never stored or sent
    under it (see :func:`safe_filename`).
    """
    text = unicodedata.normalize("NFC", original or "")
    text = "".join(
        " " if character.isspace() else character
        for character in text
        if _visible(character) or character.isspace()
    )
    parts = [part.strip() for part in _SEPARATORS.split(text)]
    name = " ".join(next((part for part in reversed(parts) if part.strip(". ")), "").split())
    if not name:
        return fallback
    if len(name) <= DISPLAY_NAME_LIMIT:
        return name
    stem, dot, suffix = name.rpartition(".")
    if dot and stem and 0 < len(suffix) <= 10:
        return f"{stem[: DISPLAY_NAME_LIMIT - len(suffix) - 2].rstrip()}….{suffix}"
    return f"{name[: DISPLAY_NAME_LIMIT - 1].rstrip()}…"


def _visible(character: str) -> bool:
    if character in _KEPT_FORMAT_CHARACTERS:
        return True
    # Cc control (NUL, newline), Cf format (the right-to-left override and the other bidi
    # controls, BOM, zero-width space), Cs lone surrogate, Zl/Zp line and paragraph breaks.
    return unicodedata.category(character) not in {"Cc", "Cf", "Cs", "Zl", "Zp"}


def safe_filename(
    original: str | None, *, mime: str | None, index: int, prefix: str = "foto"
) -> str:
    """The name a stored file goes by downstream (attachments, webhooks): ``foto-1.jpg``.

    Made from ``prefix``, the file's ``index`` (from 1) and the extension of the type the bytes
    really are (``mime`` as sniffed, ``bin`` when unknown); ``original``, the name the reporter
    sent, never shapes it, whatever it holds (show it with :func:`display_filename`).
    """
    del original  # taken so callers hand over what they have; deliberately unused
    if not _PREFIX.fullmatch(prefix):
        raise ValueError(f"prefix {prefix!r} must be lower-case letters, digits, - or _")
    if index < 1:
        raise ValueError(f"index {index} must be 1 or more")
    return f"{prefix}-{index}.{extension_of(mime)}"


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class MediaStore:
    """Writes files to ``root/ab/cd/<sha256>.<ext>`` atomically; the same content is stored once."""

    safe_filename = staticmethod(safe_filename)
    display_filename = staticmethod(display_filename)

    def __init__(
        self,
        root: Path,
        *,
        max_bytes: int,
        allowed_types: tuple[str, ...],
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.allowed_types = frozenset(allowed_types)
        self.max_pixels = max_pixels

    def check(self, data: bytes) -> str:
        """Return the sniffed type of ``data`` or raise :class:`MediaRejected`."""
        size = len(data)
        if size == 0:
            raise MediaRejected("empty", size=0, limit=self.max_bytes, mime=None)
        mime = sniff_mime(data)
        if size > self.max_bytes:
            raise MediaRejected("too_large", size=size, limit=self.max_bytes, mime=mime)
        if mime is None or mime not in self.allowed_types:
            raise MediaRejected("type", size=size, limit=self.max_bytes, mime=mime)
        if mime.startswith("image/"):
            self._check_pixels(data, mime)
        return mime

    def _check_pixels(self, data: bytes, mime: str) -> None:
        """Refuse a decompression bomb from its header, before anyone decodes it."""
        try:
            pixels = image_pixels(data, mime)
        except ValueError:
            raise MediaRejected(
                "broken_image", size=len(data), limit=self.max_bytes, mime=mime
            ) from None
        except PixelsUncounted:
            raise MediaRejected(
                "too_many_pixels", size=len(data), limit=self.max_pixels, mime=mime
            ) from None
        if pixels is not None and pixels > self.max_pixels:
            raise MediaRejected(
                "too_many_pixels",
                size=len(data),
                limit=self.max_pixels,
                mime=mime,
                pixels=pixels,
            )

    def put(self, data: bytes) -> StoredFile:
        mime = self.check(data)
        digest = hashlib.sha256(data).hexdigest()
        relative = f"{digest[:2]}/{digest[2:4]}/{digest}.{extension_of(mime)}"
        path = self.root / relative
        if not path.exists():
            created = [p for p in (path.parent.parent, path.parent) if not p.exists()]
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
            # The rename and any new folder must reach the disk too: the row that names this
            # file commits with synchronous=FULL, and must never outlive its file.
            _fsync_folder(path.parent)
            for folder in created:
                _fsync_folder(folder.parent)
        return StoredFile(digest, mime, kind_of(mime), len(data), relative)

    def path_of(self, relative_path: str) -> Path:
        return self.root / relative_path
