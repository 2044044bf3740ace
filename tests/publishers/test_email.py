"""EmailPublisher against a real aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import email
import email.policy
import io
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from PIL import ExifTags, Image

from publishers.base import Article, ArticlePhoto, PublishCause, PublishError
from publishers.email import EmailPublisher

WIB = timezone(timedelta(hours=7))


@dataclass
class Delivered:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class Recorder:
    """Records what it accepts; ``reject_rcpt`` / ``reject_data`` make it answer that instead."""

    def __init__(self) -> None:
        self.delivered: list[Delivered] = []
        self.reject_rcpt: str | None = None
        self.reject_data: str | None = None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.reject_rcpt:
            return self.reject_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reject_data:
            return self.reject_data
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.delivered.append(Delivered(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"humas", b"sandi")
    return AuthResult(success=ok, handled=False)


@dataclass
class Smtp:
    recorder: Recorder
    host: str
    port: int


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[Smtp]:
    recorder = Recorder()
    loop = asyncio.new_event_loop()
    port = _free_port()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=port,
        loop=loop,
        authenticator=_authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield Smtp(recorder, "127.0.0.1", port)
    finally:
        controller.stop()
        loop.close()


def make_article(photos: tuple[ArticlePhoto, ...] = ()) -> Article:
    return Article(
        story_number=7,
        version=3,
        title="Banjir Surut, Warga Kembali ke Rumah",
        body=(
            "KAMPUNG MELAYU — Air mulai surut sejak Selasa pagi.\n\n"
            'Petugas membersihkan lumpur <img src=x onerror="alert(1)">.'
        ),
        reporter="Budi Santoso",
        photos=photos,
        submitted_at=datetime(2024, 2, 13, 8, 0, tzinfo=WIB),
        published_at=datetime(2024, 2, 13, 9, 0, tzinfo=WIB),
        tags=("banjir",),
    )


def photos(tmp_path: Path) -> tuple[ArticlePhoto, ...]:
    exif = Image.Exif()
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "S"}
    exif[ExifTags.Base.Make] = "KameraBudi"
    first = tmp_path / "IMG_0001.JPG"
    Image.new("RGB", (80, 60), (20, 90, 160)).save(first, "JPEG", exif=exif)
    second = tmp_path / "upload.webp"
    Image.new("RGB", (40, 40), (200, 200, 0)).save(second, "WEBP")
    return (
        ArticlePhoto(first, "image/jpeg", caption="Lumpur", filename="lumpur.jpg"),
        ArticlePhoto(second, "image/webp", filename="warga.webp"),
    )


def publisher(server: Smtp, **options: Any) -> EmailPublisher:
    return EmailPublisher(
        "redaksi",
        host=server.host,
        port=server.port,
        sender="warta@kota.example",
        to=["redaksi@koran.example", "arsip@kota.example"],
        timeout=5.0,
        **options,
    )


@pytest.mark.asyncio
async def test_sends_multipart_message_with_attachments(smtp_server: Smtp, tmp_path: Path) -> None:
    result = await publisher(smtp_server).publish(make_article(photos(tmp_path)))

    assert result.permalink == "mailto:redaksi@koran.example"
    assert result.remote_id == "<warta-7-v3@warta.local>"
    [delivered] = smtp_server.recorder.delivered
    assert delivered.mail_from == "warta@kota.example"
    assert delivered.rcpt_tos == ["redaksi@koran.example", "arsip@kota.example"]
    message = delivered.message
    assert message["Subject"] == "Banjir Surut, Warga Kembali ke Rumah"
    assert message["Message-ID"] == "<warta-7-v3@warta.local>"
    assert message["From"] == "warta@kota.example"
    assert message["Date"] == "Tue, 13 Feb 2024 09:00:00 +0700"
    assert message.get_content_type() == "multipart/mixed"

    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert "Air mulai surut" in text.get_content()
    assert "Budi Santoso" in text.get_content()
    html_text = html.get_content()
    assert "<p>KAMPUNG MELAYU" in html_text
    assert "&lt;img src=x onerror=" in html_text  # the reporter's text stays text
    assert "<img" not in html_text

    attachments = list(message.iter_attachments())
    assert len(attachments) == 2
    assert [a.get_filename() for a in attachments] == ["lumpur.jpg", "warga.jpg"]
    assert [a.get_content_type() for a in attachments] == ["image/jpeg", "image/jpeg"]
    data = attachments[0].get_content()
    assert b"KameraBudi" not in data and b"Exif" not in data
    assert Image.open(io.BytesIO(data)).size == (80, 60)


@pytest.mark.asyncio
async def test_message_id_is_deterministic(smtp_server: Smtp) -> None:
    target = publisher(smtp_server)
    first = await target.publish(make_article())
    second = await target.publish(make_article())
    assert first.remote_id == second.remote_id
    ids = [d.message["Message-ID"] for d in smtp_server.recorder.delivered]
    assert ids == ["<warta-7-v3@warta.local>"] * 2


@pytest.mark.asyncio
async def test_550_is_final(smtp_server: Smtp) -> None:
    smtp_server.recorder.reject_data = "550 5.7.1 Message rejected as spam"
    with pytest.raises(PublishError) as failure:
        await publisher(smtp_server).publish(make_article())
    assert not failure.value.retryable
    assert "550" in str(failure.value)
    assert "spam" in str(failure.value)


@pytest.mark.asyncio
async def test_451_is_retryable(smtp_server: Smtp) -> None:
    smtp_server.recorder.reject_data = "451 4.3.0 Try again later"
    with pytest.raises(PublishError) as failure:
        await publisher(smtp_server).publish(make_article())
    assert failure.value.retryable
    assert "451" in str(failure.value)


@pytest.mark.asyncio
async def test_all_recipients_refused_with_550_is_final(smtp_server: Smtp) -> None:
    smtp_server.recorder.reject_rcpt = "550 5.1.1 No such user"
    with pytest.raises(PublishError) as failure:
        await publisher(smtp_server).publish(make_article())
    assert not failure.value.retryable
    assert "No such user" in str(failure.value)


@pytest.mark.asyncio
async def test_recipients_refused_with_450_is_retryable(smtp_server: Smtp) -> None:
    smtp_server.recorder.reject_rcpt = "450 4.2.0 Mailbox busy"
    with pytest.raises(PublishError) as failure:
        await publisher(smtp_server).publish(make_article())
    assert failure.value.retryable


@pytest.mark.asyncio
async def test_login(smtp_server: Smtp) -> None:
    await publisher(smtp_server, username="humas", password="sandi").publish(make_article())
    assert len(smtp_server.recorder.delivered) == 1


@pytest.mark.asyncio
async def test_bad_login_is_final(smtp_server: Smtp) -> None:
    with pytest.raises(PublishError) as failure:
        await publisher(smtp_server, username="humas", password="salah").publish(make_article())
    assert not failure.value.retryable
    assert failure.value.cause is PublishCause.CREDENTIALS
    assert "535" in str(failure.value) and "humas" in str(failure.value)
    assert "salah" not in str(failure.value)
    assert smtp_server.recorder.delivered == []


@pytest.mark.asyncio
async def test_starttls_not_offered_is_final(smtp_server: Smtp) -> None:
    with pytest.raises(PublishError) as failure:
        await publisher(smtp_server, starttls=True).publish(make_article())
    assert not failure.value.retryable
    assert failure.value.cause is PublishCause.ADDRESS
    assert smtp_server.recorder.delivered == []


@pytest.mark.asyncio
async def test_connection_refused_is_retryable() -> None:
    server = Smtp(Recorder(), "127.0.0.1", _free_port())
    with pytest.raises(PublishError) as failure:
        await publisher(server).publish(make_article())
    assert failure.value.retryable
    assert failure.value.cause is PublishCause.UNREACHABLE
    assert "connection refused" in str(failure.value)


@pytest.mark.asyncio
async def test_an_undecodable_photo_is_final_and_nothing_is_sent(
    smtp_server: Smtp, tmp_path: Path
) -> None:
    broken = tmp_path / "rusak.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(PublishError) as failure:
        await publisher(smtp_server).publish(make_article((ArticlePhoto(broken, "image/jpeg"),)))
    assert not failure.value.retryable and failure.value.cause is PublishCause.IMAGE
    assert smtp_server.recorder.delivered == []


def test_needs_a_recipient() -> None:
    with pytest.raises(ValueError):
        EmailPublisher("x", host="127.0.0.1", port=25, sender="a@b.example", to=[])
