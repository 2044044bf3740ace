"""prepare_photo: upright, no EXIF/GPS left, under the byte limit, PNG transparency kept."""

from __future__ import annotations

import io
import random
import struct
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from publishers.base import PublishCause, PublishError
from publishers.images import (
    PhotoTooLargeError,
    PhotoUnreadableError,
    prepare_for_target,
    prepare_photo,
)

GPS = ExifTags.IFD.GPSInfo


def _exif_with_orientation_and_gps(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "KameraHumas"
    exif[ExifTags.Base.Model] = "X100"
    exif[ExifTags.Base.DateTime] = "2024:05:01 09:30:00"
    exif[GPS] = {
        ExifTags.GPS.GPSLatitudeRef: "S",
        ExifTags.GPS.GPSLatitude: (6.0, 12.0, 30.5),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (106.0, 49.0, 10.0),
    }
    return exif


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_exif_orientation_applied_and_all_metadata_dropped(tmp_path: Path) -> None:
    # 40 wide, 20 tall, left half red, right half blue; orientation 6 = "rotate 90° CW to view".
    image = Image.new("RGB", (40, 20), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 20, 20))
    source = tmp_path / "foto.jpg"
    image.save(
        source, "JPEG", quality=95, exif=_exif_with_orientation_and_gps(6), comment=b"rahasia"
    )
    before = Image.open(source)
    assert before.getexif()[ExifTags.Base.Orientation] == 6
    assert before.getexif().get_ifd(GPS)  # the fixture really carries GPS
    before.close()

    data, mime = prepare_photo(source, max_bytes=1_000_000)

    assert mime == "image/jpeg"
    assert data[:3] == b"\xff\xd8\xff"
    result = _open(data)
    assert result.format == "JPEG"
    assert result.size == (20, 40)  # rotated upright
    top = result.getpixel((10, 5))
    bottom = result.getpixel((10, 35))
    assert top[0] > 200 and top[2] < 60  # red now on top (rotated clockwise)
    assert bottom[2] > 200 and bottom[0] < 60
    assert len(result.getexif()) == 0
    assert not result.getexif().get_ifd(GPS)
    assert "exif" not in result.info
    assert "comment" not in result.info
    assert b"Exif" not in data
    assert b"KameraHumas" not in data
    assert b"rahasia" not in data


def test_large_photo_is_downscaled_and_fits_the_byte_limit(tmp_path: Path) -> None:
    rng = random.Random(7)
    noise = Image.frombytes("RGB", (3000, 2000), rng.randbytes(3000 * 2000 * 3))
    source = tmp_path / "besar.jpg"
    noise.save(source, "JPEG", quality=95)
    assert source.stat().st_size > 2_000_000

    data, mime = prepare_photo(source, max_bytes=300_000, max_side=1600)

    assert mime == "image/jpeg"
    assert len(data) <= 300_000
    result = _open(data)
    assert max(result.size) <= 1600
    assert result.size[0] > result.size[1]  # aspect ratio kept


def test_longest_side_is_capped_even_when_bytes_allow(tmp_path: Path) -> None:
    source = tmp_path / "tinggi.jpg"
    Image.new("RGB", (1000, 3000), (10, 120, 30)).save(source, "JPEG")
    data, _mime = prepare_photo(source, max_bytes=10_000_000)
    assert _open(data).size == (853, 2560)


def test_png_with_alpha_stays_png_with_alpha(tmp_path: Path) -> None:
    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    image.paste((200, 30, 30, 255), (16, 16, 48, 48))
    source = tmp_path / "logo.png"
    image.save(source, "PNG", exif=_exif_with_orientation_and_gps(1))

    data, mime = prepare_photo(source, max_bytes=1_000_000)

    assert mime == "image/png"
    result = _open(data)
    assert result.format == "PNG"
    assert result.mode == "RGBA"
    assert result.getpixel((0, 0))[3] == 0
    assert result.getpixel((32, 32)) == (200, 30, 30, 255)
    assert len(result.getexif()) == 0
    assert b"KameraHumas" not in data


def test_opaque_png_becomes_jpeg(tmp_path: Path) -> None:
    source = tmp_path / "layar.png"
    Image.new("RGBA", (50, 30), (0, 128, 255, 255)).save(source, "PNG")
    data, mime = prepare_photo(source, max_bytes=1_000_000)
    assert mime == "image/jpeg"
    assert _open(data).mode == "RGB"


def test_large_transparent_png_fits_the_limit(tmp_path: Path) -> None:
    rng = random.Random(3)
    noise = Image.frombytes("RGBA", (900, 900), rng.randbytes(900 * 900 * 4))
    source = tmp_path / "bising.png"
    noise.save(source, "PNG")
    data, mime = prepare_photo(source, max_bytes=200_000)
    assert mime == "image/png"
    assert len(data) <= 200_000
    assert _open(data).mode in {"RGBA", "P"}


def test_impossible_limit_raises(tmp_path: Path) -> None:
    source = tmp_path / "foto.jpg"
    Image.new("RGB", (200, 200), (1, 2, 3)).save(source, "JPEG")
    with pytest.raises(PhotoTooLargeError):
        prepare_photo(source, max_bytes=10)


def _png_claiming(path: Path, width: int, height: int) -> Path:
    """A tiny PNG file whose header claims ``width`` × ``height`` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )
    return path


def test_not_an_image_is_unreadable(tmp_path: Path) -> None:
    source = tmp_path / "bukan.jpg"
    source.write_bytes(b"not an image at all")
    with pytest.raises(PhotoUnreadableError, match=r"bukan\.jpg"):
        prepare_photo(source, max_bytes=1_000)


def test_decompression_bomb_is_unreadable(tmp_path: Path) -> None:
    bomb = _png_claiming(tmp_path / "bom.png", 20_000, 20_000)  # 400 million pixels
    with pytest.raises(PhotoUnreadableError, match="too many pixels"):
        prepare_photo(bomb, max_bytes=1_000)


def test_truncated_image_is_unreadable(tmp_path: Path) -> None:
    whole = io.BytesIO()
    Image.effect_noise((300, 300), 60).convert("RGB").save(whole, "JPEG")
    source = tmp_path / "potong.jpg"
    source.write_bytes(whole.getvalue()[:2000])
    with pytest.raises(PhotoUnreadableError, match=r"potong\.jpg"):
        prepare_photo(source, max_bytes=100_000)


def test_a_missing_file_stays_an_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        prepare_photo(tmp_path / "hilang.jpg", max_bytes=1_000)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"not an image at all", "not a readable image"),
        (None, "not a readable image"),  # the decompression bomb
        (b"", "not a readable image"),
    ],
)
def test_for_a_target_every_photo_problem_is_final_with_cause_image(
    tmp_path: Path, content: bytes | None, expected: str
) -> None:
    source = tmp_path / "foto.png"
    if content is None:
        _png_claiming(source, 20_000, 20_000)
    else:
        source.write_bytes(content)
    with pytest.raises(PublishError) as caught:
        prepare_for_target(source, index=2, max_bytes=10_000, where="situs")
    assert not caught.value.retryable
    assert caught.value.cause is PublishCause.IMAGE
    assert str(caught.value).startswith("situs: photo 2 ") and expected in str(caught.value)


def test_for_a_target_a_missing_file_and_an_impossible_limit_are_final(tmp_path: Path) -> None:
    with pytest.raises(PublishError) as missing:
        prepare_for_target(tmp_path / "hilang.jpg", index=1, max_bytes=10_000)
    assert missing.value.cause is PublishCause.IMAGE and not missing.value.retryable
    source = tmp_path / "foto.jpg"
    Image.new("RGB", (200, 200), (1, 2, 3)).save(source, "JPEG")
    with pytest.raises(PublishError) as large:
        prepare_for_target(source, index=1, max_bytes=10)
    assert large.value.cause is PublishCause.IMAGE and "smaller than 10 bytes" in str(large.value)
