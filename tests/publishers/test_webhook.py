"""WebhookPublisher against a real HTTP receiver on 127.0.0.1 that checks the signature."""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from publishers.base import Article, ArticlePhoto, PublishCause, PublishError
from publishers.webhook import (
    WebhookPublisher,
    encode_payload,
    sign,
    verify_signature,
)

SECRET = "rahasia-bersama"
WIB = timezone(timedelta(hours=7))
GOLDEN = Path(__file__).parent / "golden" / "webhook.json"


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    def json(self) -> dict:
        return json.loads(self.body)


class Receiver:
    """Records every POST; answers the scripted replies first, then 201 with url and id."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: list[Reply] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                ok = verify_signature(body, self.headers.get("X-Warta-Signature", ""), SECRET)
                with receiver.lock:
                    receiver.received.append(
                        Received(self.path, dict(self.headers.items()), body, ok)
                    )
                    reply = receiver.script.pop(0) if receiver.script else None
                if not ok:
                    reply = Reply(401, b"bad signature")
                elif reply is None:
                    guid = json.loads(body)["guid"].split(":")[1]
                    reply = Reply(
                        201,
                        json.dumps(
                            {"url": f"https://portal.example/berita/{guid}", "id": f"post-{guid}"}
                        ).encode(),
                        {"Content-Type": "application/json"},
                    )
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:  # the client gave up waiting (the timeout test)
                    pass

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def make_article(photos: tuple[ArticlePhoto, ...] = (), version: int = 2) -> Article:
    return Article(
        story_number=42,
        version=version,
        title="Wali Kota Resmikan Taman <Baru> & Jalur Sepeda",
        body=(
            "BALAI KOTA — Wali kota meresmikan taman baru di pusat kota, Senin (6/5).\n\n"
            "Taman seluas 2 hektare itu dilengkapi jalur sepeda <script>alert(1)</script>.\n"
            "Warga boleh datang mulai pukul 06.00."
        ),
        reporter="Siti Rahma",
        photos=photos,
        submitted_at=datetime(2024, 5, 6, 9, 15, 0, tzinfo=WIB),
        published_at=datetime(2024, 5, 6, 10, 30, 0, tzinfo=WIB),
        tags=("taman", "lingkungan"),
    )


def jpeg_with_gps(path: Path) -> Path:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "S",
        ExifTags.GPS.GPSLatitude: (6.0, 12.0, 30.5),
    }
    Image.new("RGB", (60, 30), (200, 10, 10)).save(path, "JPEG", exif=exif)
    return path


URL_PHOTOS = (
    ArticlePhoto(
        Path("/srv/uploads/a1.jpg"), "image/jpeg", caption="Peresmian taman", credit="Humas"
    ),
    ArticlePhoto(Path("/srv/uploads/b2.png"), "image/png", filename="peta.png"),
)


@pytest.mark.asyncio
async def test_posts_signed_newsml_json_and_returns_permalink(receiver: Receiver) -> None:
    publisher = WebhookPublisher(
        "portal", url=receiver.url, secret=SECRET, photo_base_url="https://arsip.example/berita/"
    )
    before = int(time.time())
    result = await publisher.publish(make_article(URL_PHOTOS))

    assert result.permalink == "https://portal.example/berita/42"
    assert result.remote_id == "post-42"
    [request] = receiver.received
    assert request.path == "/hook"
    assert request.signature_ok
    assert request.headers["X-Warta-Signature"] == sign(request.body, SECRET)
    assert request.headers["Idempotency-Key"] == "warta-42-v2"
    assert before <= int(request.headers["X-Warta-Timestamp"]) <= int(time.time())
    assert request.headers["Content-Type"].startswith("application/json")
    doc = request.json()
    assert doc["guid"] == "warta:42"
    assert doc["version"] == 2
    assert doc["headline"] == "Wali Kota Resmikan Taman <Baru> & Jalur Sepeda"
    assert doc["lead"].startswith("BALAI KOTA — Wali kota")
    assert doc["byline"] == "Siti Rahma"
    assert doc["keywords"] == ["taman", "lingkungan"]
    assert doc["language"] == "id"
    assert doc["firstcreated"] == "2024-05-06T09:15:00+07:00"
    assert doc["versioncreated"] == "2024-05-06T10:30:00+07:00"
    assert "<script" not in doc["body_html"]
    assert "&lt;script&gt;" in doc["body_html"]  # the reporter's text is text, not markup
    assert doc["body_html"].startswith("<p>BALAI KOTA")
    assert "<script>alert(1)</script>" in doc["body_text"]
    assert [p["url"] for p in doc["photos"]] == [
        "https://arsip.example/berita/42-wali-kota-resmikan-taman-baru-jalur-sepeda/foto-1.jpg",
        "https://arsip.example/berita/42-wali-kota-resmikan-taman-baru-jalur-sepeda/foto-2.png",
    ]
    assert doc["photos"][0]["caption"] == "Peresmian taman"
    assert doc["photos"][0]["credit"] == "Humas"
    assert all("data_base64" not in p for p in doc["photos"])


@pytest.mark.asyncio
async def test_body_matches_golden_file(receiver: Receiver) -> None:
    publisher = WebhookPublisher(
        "portal", url=receiver.url, secret=SECRET, photo_base_url="https://arsip.example/berita"
    )
    await publisher.publish(make_article(URL_PHOTOS))
    [request] = receiver.received
    if os.environ.get("WARTA_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(
            json.dumps(request.json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert request.json() == golden
    assert request.body == encode_payload(golden)  # the exact signed bytes, key order included


@pytest.mark.asyncio
async def test_retry_sends_identical_bytes_and_key(receiver: Receiver) -> None:
    receiver.script.append(Reply(500, b"database down"))
    publisher = WebhookPublisher("portal", url=receiver.url, secret=SECRET)
    article = make_article()
    with pytest.raises(PublishError) as failure:
        await publisher.publish(article)
    assert failure.value.retryable
    assert "500" in str(failure.value)
    assert "database down" in str(failure.value)
    result = await publisher.publish(article)
    assert result.permalink == "https://portal.example/berita/42"
    first, second = receiver.received
    assert first.body == second.body
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"] == "warta-42-v2"


@pytest.mark.asyncio
async def test_inline_photos_are_base64_and_stripped(receiver: Receiver, tmp_path: Path) -> None:
    photo = ArticlePhoto(
        jpeg_with_gps(tmp_path / "kamera.jpg"), "image/jpeg", caption="Taman", credit="Siti"
    )
    png = tmp_path / "logo.png"
    Image.new("RGBA", (20, 20), (0, 0, 0, 0)).save(png)
    publisher = WebhookPublisher(
        "portal",
        url=receiver.url,
        secret=SECRET,
        inline_photos=True,
        photo_base_url="https://ignored.example",
    )
    await publisher.publish(make_article((photo, ArticlePhoto(png, "image/png"))))
    photos = receiver.received[0].json()["photos"]
    assert [p["mime"] for p in photos] == ["image/jpeg", "image/png"]
    assert [p["filename"] for p in photos] == ["kamera.jpg", "logo.png"]
    assert all("url" not in p for p in photos)
    assert photos[0]["caption"] == "Taman" and photos[0]["credit"] == "Siti"
    data = base64.b64decode(photos[0]["data_base64"], validate=True)
    image = Image.open(io.BytesIO(data))
    assert image.size == (30, 60)  # orientation applied
    assert len(image.getexif()) == 0
    assert b"Exif" not in data
    assert Image.open(io.BytesIO(base64.b64decode(photos[1]["data_base64"]))).format == "PNG"


@pytest.mark.asyncio
async def test_429_is_retryable_with_retry_after(receiver: Receiver) -> None:
    receiver.script.append(Reply(429, b"slow down", {"Retry-After": "17"}))
    publisher = WebhookPublisher("portal", url=receiver.url, secret=SECRET)
    with pytest.raises(PublishError) as failure:
        await publisher.publish(make_article())
    assert failure.value.retryable
    assert failure.value.retry_after == 17.0


@pytest.mark.asyncio
async def test_503_with_http_date_retry_after(receiver: Receiver) -> None:
    when = datetime.now(UTC) + timedelta(seconds=120)
    receiver.script.append(
        Reply(503, b"", {"Retry-After": when.strftime("%a, %d %b %Y %H:%M:%S GMT")})
    )
    publisher = WebhookPublisher("portal", url=receiver.url, secret=SECRET)
    with pytest.raises(PublishError) as failure:
        await publisher.publish(make_article())
    assert failure.value.retryable
    assert failure.value.retry_after is not None
    assert 100 <= failure.value.retry_after <= 121


@pytest.mark.asyncio
async def test_400_is_final_with_trimmed_response_text(receiver: Receiver) -> None:
    receiver.script.append(Reply(400, b"  field 'headline'\n  is too long " + b"x" * 1000))
    publisher = WebhookPublisher("portal", url=receiver.url, secret=SECRET)
    with pytest.raises(PublishError) as failure:
        await publisher.publish(make_article())
    assert not failure.value.retryable
    assert failure.value.retry_after is None
    message = str(failure.value)
    assert "400" in message
    assert "field 'headline' is too long" in message
    assert len(message) < 400


@pytest.mark.asyncio
async def test_wrong_secret_is_rejected_by_receiver_and_final(receiver: Receiver) -> None:
    publisher = WebhookPublisher("portal", url=receiver.url, secret="salah")
    with pytest.raises(PublishError) as failure:
        await publisher.publish(make_article())
    assert not failure.value.retryable
    assert failure.value.cause is PublishCause.CREDENTIALS
    assert "401" in str(failure.value)
    assert not receiver.received[0].signature_ok


@pytest.mark.asyncio
async def test_location_header_is_the_permalink(receiver: Receiver) -> None:
    receiver.script.append(Reply(201, b"", {"Location": "/posts/981"}))
    publisher = WebhookPublisher("portal", url=receiver.url, secret=SECRET)
    result = await publisher.publish(make_article(), remote_id="earlier")
    assert result.permalink == receiver.url.replace("/hook", "/posts/981")
    assert result.remote_id == "earlier"


@pytest.mark.asyncio
async def test_2xx_without_url_is_an_error(receiver: Receiver) -> None:
    receiver.script.append(Reply(200, b"ok"))
    publisher = WebhookPublisher("portal", url=receiver.url, secret=SECRET)
    with pytest.raises(PublishError) as failure:
        await publisher.publish(make_article())
    assert not failure.value.retryable


@pytest.mark.asyncio
async def test_timeout_is_retryable(receiver: Receiver) -> None:
    receiver.script.append(Reply(201, b"{}", delay=1.0))
    publisher = WebhookPublisher("portal", url=receiver.url, secret=SECRET, timeout=0.2)
    with pytest.raises(PublishError) as failure:
        await publisher.publish(make_article())
    assert failure.value.retryable
    assert "0.2" in str(failure.value)


@pytest.mark.asyncio
async def test_connection_refused_is_retryable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    publisher = WebhookPublisher("portal", url=f"http://127.0.0.1:{port}/hook", secret=SECRET)
    with pytest.raises(PublishError) as failure:
        await publisher.publish(make_article())
    assert failure.value.retryable
    assert failure.value.cause is PublishCause.UNREACHABLE


@pytest.mark.asyncio
async def test_an_html_error_page_becomes_its_title_not_the_page(receiver: Receiver) -> None:
    page = (
        b"<html><head><title>502 Bad Gateway</title><style>body{color:red}</style></head>"
        b"<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center>"
        + b"<!-- padding -->" * 200
        + b"</body></html>"
    )
    receiver.script.append(Reply(502, page, {"Content-Type": "text/html"}))
    publisher = WebhookPublisher("portal", url=receiver.url, secret=SECRET)
    with pytest.raises(PublishError) as failure:
        await publisher.publish(make_article())
    assert failure.value.retryable and failure.value.cause is PublishCause.SITE_ERROR
    message = str(failure.value)
    assert message == "portal: the webhook answered HTTP 502: 502 Bad Gateway"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "cause"),
    [(404, PublishCause.ADDRESS), (301, PublishCause.ADDRESS), (413, PublishCause.REJECTED)],
)
async def test_4xx_causes(receiver: Receiver, status: int, cause: PublishCause) -> None:
    receiver.script.append(Reply(status, b"", {"Location": "https://baru.example/hook"}))
    publisher = WebhookPublisher("portal", url=receiver.url, secret=SECRET)
    with pytest.raises(PublishError) as failure:
        await publisher.publish(make_article())
    assert not failure.value.retryable and failure.value.cause is cause


@pytest.mark.asyncio
async def test_an_undecodable_inline_photo_is_final(receiver: Receiver, tmp_path: Path) -> None:
    broken = tmp_path / "rusak.jpg"
    broken.write_bytes(b"not an image")
    publisher = WebhookPublisher("portal", url=receiver.url, secret=SECRET, inline_photos=True)
    with pytest.raises(PublishError) as failure:
        await publisher.publish(make_article((ArticlePhoto(broken, "image/jpeg"),)))
    assert not failure.value.retryable and failure.value.cause is PublishCause.IMAGE
    assert receiver.received == []


def test_verify_signature() -> None:
    body = b'{"guid":"warta:1"}'
    header = sign(body, SECRET)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert verify_signature(body, header, SECRET)
    assert not verify_signature(body + b" ", header, SECRET)
    assert not verify_signature(body, header, "other")
    assert not verify_signature(body, header.removeprefix("sha256="), SECRET)
    assert not verify_signature(body, "", SECRET)
    assert not verify_signature(body, "sha256=ÿ", SECRET)


def test_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        WebhookPublisher("portal", url="http://127.0.0.1/", secret="")
