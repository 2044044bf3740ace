"""Prepares a reporter's photo for another site: upright, stripped of EXIF/GPS, and small enough."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from publishers.base import PublishCause, PublishError

JPEG_QUALITIES = (88, 82, 76, 70, 62, 54, 46, 38)
SHRINK_FACTOR = 0.8
MIN_SIDE = 64


class PhotoTooLargeError(ValueError):
    """Even the smallest rendition allowed is over the byte limit."""


class PhotoUnreadableError(ValueError):
    """The file is no image Pillow can decode, or decoding it would be a decompression bomb:
    trying again cannot help."""


def prepare_photo(path: Path, *, max_bytes: int, max_side: int = 2560) -> tuple[bytes, str]:
    """Return the photo's new bytes and mime type: JPEG, or PNG for a PNG with real transparency.

    The EXIF orientation is applied to the pixels, then every piece of metadata (EXIF, GPS, XMP,
    comments, PNG text) is dropped; only the ICC colour profile is kept. The longest side is
    brought to ``max_side`` at most, and the quality, then the size, lowered until the encoded
    photo is ``max_bytes`` or less. Raises ``PhotoTooLargeError`` when that cannot be reached and
    ``PhotoUnreadableError`` for a file that is not a decodable image (or a decompression
    bomb); an ``OSError`` means the file itself could not be read.
    """
    if max_bytes <= 0 or max_side <= 0:
        raise ValueError("max_bytes and max_side must be positive")
    try:
        image, icc_profile, keep_png = _decode(path, max_side)
    except UnidentifiedImageError as error:
        raise PhotoUnreadableError(f"{path.name} is no image format Warta reads") from error
    except Image.DecompressionBombError as error:
        raise PhotoUnreadableError(
            f"{path.name} has too many pixels to decode safely (a decompression bomb?)"
        ) from error
    except (SyntaxError, EOFError) as error:
        raise PhotoUnreadableError(f"{path.name} is damaged: {error}") from error
    except OSError as error:
        if error.errno is not None:  # the file system's error (missing, no permission)
            raise
        raise PhotoUnreadableError(f"{path.name} is damaged: {error}") from error
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    encode = _encode_png if keep_png else _encode_jpeg
    while True:
        for data in encode(image, icc_profile):
            if len(data) <= max_bytes:
                return data, "image/png" if keep_png else "image/jpeg"
        width, height = image.size
        if max(width, height) <= MIN_SIDE:
            raise PhotoTooLargeError(f"{path.name} does not fit in {max_bytes} bytes")
        new_size = (max(1, round(width * SHRINK_FACTOR)), max(1, round(height * SHRINK_FACTOR)))
        image = image.resize(new_size, Image.Resampling.LANCZOS)


def prepare_for_target(
    path: Path, *, index: int, max_bytes: int, max_side: int = 2560, where: str = ""
) -> tuple[bytes, str]:
    """:func:`prepare_photo` for a publisher: every failure a final ``PublishError`` with the
    cause ``image`` (``where`` starts the message, e.g. the target's name)."""
    prefix = f"{where}: " if where else ""
    try:
        return prepare_photo(path, max_bytes=max_bytes, max_side=max_side)
    except PhotoTooLargeError:
        message = f"photo {index} cannot be made smaller than {max_bytes} bytes"
    except PhotoUnreadableError as error:
        message = f"photo {index} is not a readable image ({error})"
    except OSError as error:
        message = f"cannot read photo {index} ({path.name}): {error.strerror or error}"
    raise PublishError(prefix + message, retryable=False, cause=PublishCause.IMAGE)


def _decode(path: Path, max_side: int) -> tuple[Image.Image, bytes | None, bool]:
    """The upright pixels (RGB, or RGBA for a transparent PNG), the ICC profile, and whether
    to keep the photo a PNG."""
    with Image.open(path) as original:
        source_format = original.format
        if source_format == "JPEG":
            # Decode a huge JPEG at a reduced scale straight away (never below max_side).
            original.draft("RGB", (max_side, max_side))
        upright = ImageOps.exif_transpose(original)
        icc_profile = original.info.get("icc_profile")
        keep_png = source_format == "PNG" and _has_transparency(upright)
        return _pixels_only(upright, keep_alpha=keep_png), icc_profile, keep_png


def _has_transparency(image: Image.Image) -> bool:
    if not image.has_transparency_data:
        return False
    alpha = image.convert("RGBA").getchannel("A")
    low, _high = alpha.getextrema()
    return low < 255


def _pixels_only(image: Image.Image, *, keep_alpha: bool) -> Image.Image:
    """A new image holding only the pixels (RGB, or RGBA), none of the source's ``info``."""
    if keep_alpha:
        result = image.convert("RGBA")
    elif image.has_transparency_data:
        rgba = image.convert("RGBA")
        result = Image.new("RGB", rgba.size, (255, 255, 255))
        result.paste(rgba, mask=rgba.getchannel("A"))
    else:
        result = image.convert("RGB")
    result.info.clear()  # convert() always makes a new image: the source is left alone
    return result


def _encode_jpeg(image: Image.Image, icc_profile: bytes | None) -> Iterator[bytes]:
    for quality in JPEG_QUALITIES:
        out = io.BytesIO()
        options: dict[str, object] = {"quality": quality, "optimize": True, "progressive": True}
        if icc_profile:
            options["icc_profile"] = icc_profile
        image.save(out, "JPEG", **options)
        yield out.getvalue()


def _encode_png(image: Image.Image, icc_profile: bytes | None) -> Iterator[bytes]:
    options: dict[str, object] = {"optimize": True}
    if icc_profile:
        options["icc_profile"] = icc_profile
    out = io.BytesIO()
    image.save(out, "PNG", **options)
    yield out.getvalue()
    # A 256-colour palette keeps the transparency and is often a fraction of the size.
    out = io.BytesIO()
    image.quantize(256, method=Image.Quantize.FASTOCTREE).save(out, "PNG", **options)
    yield out.getvalue()


_SUFFIXES = {"image/jpeg": (".jpg", ".jpeg", ".jpe"), "image/png": (".png",)}


def renamed_for(filename: str, mime: str) -> str:
    """``filename`` with the suffix that matches ``mime`` (``foto.heic`` → ``foto.jpg``)."""
    suffixes = _SUFFIXES.get(mime)
    name = Path(filename)
    if not suffixes or name.suffix.lower() in suffixes:
        return filename
    return f"{name.stem or 'foto'}{suffixes[0]}"
