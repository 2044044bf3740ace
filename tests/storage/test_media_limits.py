"""The media store's limits on odd files: bombs, broken and empty images, hostile file names."""

from __future__ import annotations

import io
import re
import struct
import unicodedata
import zlib
from pathlib import Path

import pytest
from PIL import Image

from storage.media import (
    DISPLAY_NAME_LIMIT,
    FILENAME_PREFIXES,
    MediaRejected,
    MediaStore,
    safe_filename,
)
from tests.support import jpeg

ALLOWED = ("image/jpeg", "image/png", "image/webp", "image/heic", "video/mp4", "application/pdf")
GENERATED = re.compile(r"[a-z0-9][a-z0-9_-]*-[1-9][0-9]*\.[a-z0-9]+")


def blank_png(width: int, height: int) -> bytes:
    """A real, all-black 1-bit PNG of ``width`` × ``height``, written one row at a time.

    Pillow keeps a 1-bit image at a byte a pixel, so ``Image.new("1", (30000, 30000))`` would
    take 900 MB to make a 110 KB bomb; this never holds more than one row.
    """

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    row = bytes(1 + (width + 7) // 8)  # filter byte "none", then the packed bits
    deflate = zlib.compressobj(9)
    pixels = b"".join(deflate.compress(row) for _ in range(height)) + deflate.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.fixture
def store(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path, max_bytes=5_000_000, allowed_types=ALLOWED)


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def test_blank_png_is_a_real_png():
    data = blank_png(70, 3)
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        assert (image.format, image.mode, image.size) == ("PNG", "1", (70, 3))
        assert image.getextrema() == (0, 0)


# -- pixels -----------------------------------------------------------------------------------


def test_decompression_bomb_is_refused_from_its_header(store: MediaStore, tmp_path: Path):
    bomb = blank_png(30000, 30000)  # 900 megapixels in about 110 KB
    assert len(bomb) < 1_000_000
    with pytest.raises(MediaRejected) as refused:
        store.put(bomb)
    assert refused.value.reason == "too_many_pixels"
    assert refused.value.pixels == 900_000_000 and refused.value.limit == 40_000_000
    assert refused.value.mime == "image/png" and refused.value.size == len(bomb)
    assert stored_files(tmp_path) == []


@pytest.mark.parametrize(
    "warnings_are",
    [
        "errors",  # as in this test suite: Pillow's DecompressionBombWarning is raised
        pytest.param(
            "ignored",  # as in production: Image.open warns, then hands over the size
            marks=pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning"),
        ),
    ],
)
def test_image_of_a_gigabyte_decoded_is_refused(store: MediaStore, warnings_are: str):
    with pytest.raises(MediaRejected) as refused:
        store.put(blank_png(11000, 11000))  # ~121 megapixels: ~1 GB once decoded
    assert refused.value.reason == "too_many_pixels"
    assert refused.value.pixels == 121_000_000


def test_camera_sized_photo_is_kept(store: MediaStore):
    saved = store.put(blank_png(7000, 5700))
    assert saved.mime == "image/png" and saved.kind == "photo"


def test_pixel_limit_is_inclusive_and_configurable(tmp_path: Path):
    small = MediaStore(tmp_path, max_bytes=100_000, allowed_types=ALLOWED, max_pixels=10_000)
    assert small.put(blank_png(100, 100)).mime == "image/png"
    with pytest.raises(MediaRejected) as refused:
        small.put(blank_png(101, 100))
    assert (refused.value.reason, refused.value.pixels, refused.value.limit) == (
        "too_many_pixels",
        10_100,
        10_000,
    )
    with pytest.raises(MediaRejected) as jpeg_refused:
        small.put(jpeg(size=(200, 100)))
    assert jpeg_refused.value.reason == "too_many_pixels" and jpeg_refused.value.pixels == 20_000


def test_default_limit_is_forty_megapixels(store: MediaStore):
    assert store.max_pixels == 40_000_000


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\0" * 40, id="png-signature-then-zeros"),
        pytest.param(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0", id="png-cut-in-its-header"),
        pytest.param(b"\xff\xd8\xff\xe0" + b"not a jpeg at all" * 10, id="jpeg-magic-then-junk"),
        pytest.param(blank_png(0, 10), id="png-zero-wide"),
        pytest.param(b"RIFF\x10\0\0\0WEBPVP8 " + b"\0" * 16, id="webp-magic-then-zeros"),
    ],
)
def test_image_whose_header_cannot_be_read_is_refused_as_broken(
    store: MediaStore, tmp_path: Path, data: bytes
):
    with pytest.raises(MediaRejected) as refused:
        store.put(data)
    assert refused.value.reason == "broken_image" and refused.value.mime is not None
    assert refused.value.mime.startswith("image/")
    assert stored_files(tmp_path) == []


def test_image_truncated_after_its_header_is_kept(store: MediaStore):
    # Only the header is read at intake; a cut-off body is the publisher's problem, not a bomb.
    whole = jpeg(size=(300, 200))
    assert store.put(whole[: len(whole) // 2]).mime == "image/jpeg"


def test_heic_that_pillow_cannot_read_is_still_accepted(store: MediaStore):
    # Pillow has no HEIC reader without a plugin; refusing every iPhone photo as "broken"
    # would be worse than not counting its pixels.
    heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + b"\0" * 64
    assert store.put(heic).mime == "image/heic"


def test_non_images_are_not_opened_as_images(store: MediaStore):
    assert store.put(b"%PDF-1.4 a short document").mime == "application/pdf"


# -- empty files --------------------------------------------------------------------------------


def test_zero_byte_file_is_refused_as_empty(store: MediaStore, tmp_path: Path):
    with pytest.raises(MediaRejected) as refused:
        store.put(b"")
    assert (refused.value.reason, refused.value.size, refused.value.mime) == ("empty", 0, None)
    assert stored_files(tmp_path) == []


# -- file names -----------------------------------------------------------------------------------


def test_generated_name_comes_from_the_sniffed_type_and_index():
    assert safe_filename("DSC_0001.JPG", mime="image/jpeg", index=1) == "foto-1.jpg"
    assert safe_filename(None, mime="image/png", index=3) == "foto-3.png"
    assert safe_filename("clip.mov", mime="video/mp4", index=2, prefix="video") == "video-2.mp4"
    assert safe_filename("x", mime=None, index=1, prefix="berkas") == "berkas-1.bin"
    assert safe_filename("x", mime="application/x-unknown", index=1) == "foto-1.bin"


@pytest.mark.parametrize(("kind", "prefix"), sorted(FILENAME_PREFIXES.items()))
def test_every_kind_has_a_usable_name_prefix(kind: str, prefix: str):
    assert GENERATED.fullmatch(safe_filename(None, mime="audio/ogg", index=1, prefix=prefix))


def test_jpeg_named_png_is_named_after_what_it_is(store: MediaStore):
    saved = store.put(jpeg())
    assert saved.mime == "image/jpeg"
    assert store.safe_filename(".png", mime=saved.mime, index=1) == "foto-1.jpg"
    assert store.display_filename(".png", fallback="foto-1.jpg") == ".png"


HOSTILE_NAMES = [
    "../../../etc/passwd",
    "..\\..\\windows\\system32\\config\\sam",
    "/etc/passwd\0.jpg",
    "a" * 400 + ".jpg",
    "foto\0.jpg",
    "baris\nbaru\r\n.jpg",
    "laporan\u202egpj.exe",
    "\u2066izin\u2069\u200f.jpg",
    "fotoku",
    "🎉 pesta 👨\u200d👩\u200d👧.jpg",
    ".png",
    "",
    "   ",
    "..",
    "\0\n\u202e",
    None,
]


@pytest.mark.parametrize("original", HOSTILE_NAMES)
def test_generated_name_never_carries_the_reporters_name(original: str | None):
    for mime in ALLOWED:
        name = safe_filename(original, mime=mime, index=7)
        assert GENERATED.fullmatch(name), name
        assert name.startswith("foto-7.")


@pytest.mark.parametrize("original", HOSTILE_NAMES)
def test_display_name_is_one_clean_line_never_empty(original: str | None):
    shown = MediaStore.display_filename(original, fallback="foto-1.jpg")
    assert shown and shown == shown.strip()
    assert len(shown) <= DISPLAY_NAME_LIMIT
    assert "/" not in shown and "\\" not in shown and shown not in {".", ".."}
    assert not [c for c in shown if unicodedata.category(c) in {"Cc", "Cs", "Zl", "Zp"}]
    assert not [c for c in shown if unicodedata.category(c) == "Cf" and c not in "\u200c\u200d"]


@pytest.mark.parametrize(
    ("original", "shown"),
    [
        ("../../../etc/passwd", "passwd"),
        ("C:\\Users\\rina\\DSC_0001.JPG", "DSC_0001.JPG"),
        ("foto\0.jpg", "foto.jpg"),
        ("baris\nbaru.jpg", "baris baru.jpg"),
        ("laporan\u202egpj.exe", "laporangpj.exe"),  # shows what the file really is called
        ("\ufeffpeta\u200b.png", "peta.png"),
        ("fotoku", "fotoku"),
        ("🎉 pesta 👨\u200d👩\u200d👧.jpg", "🎉 pesta 👨\u200d👩\u200d👧.jpg"),
        ("Café  Kopi .jpg", "Café Kopi .jpg"),
        ("cafe\u0301.jpg", "café.jpg"),
        (".png", ".png"),
        ("", "foto-1.jpg"),
        ("   ", "foto-1.jpg"),
        ("../..", "foto-1.jpg"),
        ("\0\n\u202e", "foto-1.jpg"),
        (None, "foto-1.jpg"),
    ],
)
def test_display_name_keeps_what_is_readable(original: str | None, shown: str):
    assert MediaStore.display_filename(original, fallback="foto-1.jpg") == shown


def test_long_display_name_is_shortened_keeping_its_extension():
    shown = MediaStore.display_filename("a" * 400 + ".jpg", fallback="foto-1.jpg")
    assert len(shown) == DISPLAY_NAME_LIMIT
    assert shown.endswith("….jpg") and shown.startswith("aaaa")
    no_extension = MediaStore.display_filename("b" * 400, fallback="foto-1.jpg")
    assert len(no_extension) == DISPLAY_NAME_LIMIT and no_extension.endswith("b…")


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"index": 0}, "index"),
        ({"index": -1}, "index"),
        ({"index": 1, "prefix": "../x"}, "prefix"),
        ({"index": 1, "prefix": ""}, "prefix"),
        ({"index": 1, "prefix": "Foto"}, "prefix"),
    ],
)
def test_generated_name_refuses_bad_arguments(arguments: dict[str, object], problem: str):
    with pytest.raises(ValueError, match=problem):
        safe_filename("x.jpg", mime="image/jpeg", **arguments)  # type: ignore[arg-type]
