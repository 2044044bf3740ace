"""The official mailbox end to end against a real mail server on loopback: Dovecot (IMAP) and
an SMTP server that delivers into it (``tests/fakes/mail_server.py``). Mail is put into the
mailbox with APPEND, Warta reads it with its real reader, and what Warta sends is read back
from the SMTP server. The desk's chat is the local channel."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import docx
import pytest
import pytest_asyncio
from sqlmodel import select

from bot.app import Warta, build
from bot.channels.local import LocalChannel
from bot.channels.mailbox import DONE_FLAG, MailboxChannel
from bot.config import Settings
from bot.http import warta_health
from handlers.messages import ChatKind, InboundMessage
from storage.models import Identity, InboxMessage, Media, Person, Story, StoryCopy
from tests.fakes.mail_server import MailServer
from tests.support import STORY, FakeClock, jpeg

GROUP = "redaksi"
PEOPLE = [
    {"key": "rina", "name": "Rina", "roles": ["reporter"], "email": "rina@kota.go.id"},
    {"key": "dedi", "name": "Dedi", "roles": ["editor"], "email": "dedi@kota.go.id"},
    {"key": "budi", "name": "Budi", "roles": ["operator"]},
    {"key": "hendra", "name": "Hendra", "roles": ["section_head"], "email": "kasi@kota.go.id"},
]


def mailbox_entry(server: MailServer, **overrides: Any) -> dict[str, Any]:
    return {
        "kind": "email",
        "address": server.address,
        "username": server.user,
        "password": server.password,
        "imap_host": server.host,
        "imap_port": server.imap_port,
        "imap_security": "starttls",
        "smtp_port": server.smtp_port,
        "smtp_security": "starttls",
        "cafile": server.cafile,
        **overrides,
    }


def desk_settings(db_url: str, folder: Path, server: MailServer, **entry: Any) -> Settings:
    return Settings.model_validate(
        {
            "data_dir": str(folder),
            "database_url": db_url,
            "media": {"max_bytes": "200KB"},
            "sla": {"submission": "1h", "editing": "3h", "publishing": "2h"},
            "verification": {"checklist": [{"key": "fakta", "label": "Fakta sudah dicek"}]},
            "people": PEOPLE,
            "publish": {
                "targets": [{"name": "arsip", "kind": "folder", "path": str(folder / "pub")}]
            },
            "channels": [mailbox_entry(server, **entry)],
            "web": {"board": False},
        }
    )


def mail(
    sender: str,
    subject: str,
    body: str = "",
    *,
    name: str = "Rina",
    photos: int = 0,
    attachments: tuple[tuple[bytes, str, str, str], ...] = (),
    in_reply_to: str | None = None,
) -> tuple[bytes, str]:
    """A mail as a phone's mail app would send it; returns its bytes and Message-ID."""
    message = EmailMessage()
    message["From"] = f"{name} <{sender}>"
    message["To"] = "redaksi@warta.test"
    message["Subject"] = subject
    message_id = make_msgid(domain="kota.go.id")
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = f"<{in_reply_to}>"
    message.set_content(body)
    for index in range(photos):
        message.add_attachment(
            jpeg((40 * index, 90, 90)), maintype="image", subtype="jpeg", filename=f"f{index}.jpg"
        )
    for data, maintype, subtype, filename in attachments:
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes(), message_id.strip("<>")


class Desk:
    """A running Warta with the mailbox channel and a local chat for the desk's group."""

    def __init__(self, warta: Warta, server: MailServer, clock: FakeClock) -> None:
        self.warta, self.server, self.clock = warta, server, clock
        channel = warta.channels["email"]
        assert isinstance(channel, MailboxChannel)
        self.mailbox = channel
        local = warta.channels["local"]
        assert isinstance(local, LocalChannel)
        self.chat = local

    async def read(self) -> int:
        """One round of the reader, then deliver what the desk wrote."""
        count = await asyncio.to_thread(self.mailbox.read_once)
        await self.warta.dispatcher.drain()
        return count

    async def say(self, who: str, text: str, *, private: bool = False) -> None:
        message = InboundMessage(
            channel="local",
            chat_id=who if private else GROUP,
            message_id=f"m-{len(self.inbox()) + 1}",
            sender=who,
            text=text,
            chat_kind=ChatKind.PRIVATE if private else ChatKind.GROUP,
        )
        await asyncio.to_thread(self.warta.intake.receive, message)
        await self.warta.dispatcher.drain()

    def stories(self) -> list[Story]:
        with self.warta.db.transaction() as session:
            return list(session.exec(select(Story).order_by(Story.id)))

    def inbox(self) -> list[InboxMessage]:
        with self.warta.db.transaction() as session:
            return list(session.exec(select(InboxMessage).order_by(InboxMessage.id)))

    def copies(self) -> dict[str, str]:
        with self.warta.db.transaction() as session:
            return {row.side: row.outcome for row in session.exec(select(StoryCopy))}

    def told(self, who: str) -> list[str]:
        said = [s.text for s in self.chat.said if s.recipient == who]
        return said + [card.text for card in self.chat.cards.values() if card.recipient == who]

    def mails_to(self, address: str) -> list[EmailMessage]:
        return [
            mail.message
            for mail in self.server.received
            if address in mail.rcpt_tos and mail.message is not None
        ]


@pytest_asyncio.fixture
async def desk(sqlite_url: str, tmp_path: Path, mail_server: MailServer) -> AsyncIterator[Desk]:
    clock = FakeClock()
    settings = desk_settings(sqlite_url, tmp_path, mail_server)
    warta = build(settings, channels={"local": LocalChannel(group=(GROUP,))}, clock=clock)
    _only_email(warta, "hendra")
    yield Desk(warta, mail_server, clock)
    await warta.channels["email"].stop()
    warta.close()


def _only_email(warta: Warta, key: str) -> None:
    """The Kasi reads the desk by e-mail only (no chat address)."""
    with warta.db.transaction() as session:
        person = session.exec(select(Person).where(Person.key == key)).one()
        for identity in session.exec(
            select(Identity).where(Identity.person_id == person.id, Identity.channel == "local")
        ):
            session.delete(identity)
    warta.desk.reload_people()


def body_of(message: EmailMessage, kind: str = "plain") -> str:
    part = message.get_body(preferencelist=(kind,))
    assert part is not None
    return part.get_content()


# -- coverage by e-mail -----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_mail_with_photos_becomes_a_story_and_is_marked_only_after(desk: Desk):
    raw, message_id = mail(
        "Rina@Kota.go.id",
        "Fwd: [Berita] Wali Kota Buka Musrenbang",
        "PALANGKA RAYA – Wali Kota membuka Musrenbang.\n\n-- \nRina\nReporter Media Center",
        photos=2,
    )
    uid = desk.server.append(raw)
    assert await desk.read() == 1

    (story,) = desk.stories()
    assert story.title == "Wali Kota Buka Musrenbang" and story.origin_channel == "email"
    with desk.warta.db.transaction() as session:
        version = session.exec(select(Media).where(Media.story_id == story.id)).all()
    assert len(version) == 2
    (row,) = desk.inbox()
    assert row.message_id == message_id and row.outcome == "submitted"
    with desk.warta.db.transaction() as session:
        from storage import repo

        text = repo.current_text(session, story).body
    assert "Wali Kota membuka Musrenbang" in text and "Reporter Media Center" not in text
    assert any(t.startswith("📰 <b>#1</b> Wali Kota Buka Musrenbang") for t in desk.told(GROUP))
    ((_, flags, _),) = desk.server.messages()
    assert DONE_FLAG in flags  # marked handled, after the story was committed

    # The reporter gets the acknowledgement by e-mail, as a reply in the story's thread.
    (ack,) = desk.server.wait_received(1)
    assert ack.rcpt_tos == ("rina@kota.go.id",)
    assert ack.message is not None
    assert ack.message["In-Reply-To"] == f"<{message_id}>"
    assert ack.message["Subject"] == "[Warta] Berita #1: Wali Kota Buka Musrenbang"
    assert "sudah diterima dengan 2 foto" in body_of(ack.message)
    assert "<b>#1</b>" not in body_of(ack.message) and "#1" in body_of(ack.message, "html")
    assert uid and await desk.read() == 0  # read once


@pytest.mark.asyncio
async def test_a_crash_between_the_story_and_the_mark_makes_no_duplicate(desk: Desk):
    raw, _ = mail("rina@kota.go.id", "Wali Kota Buka Musrenbang", "Isi berita.\n\nParagraf dua.")
    uid = desk.server.append(raw)
    # Warta handles the mail and dies before marking it (the story is committed).
    assert desk.mailbox._take(uid, raw)
    ((_, flags, _),) = desk.server.messages()
    assert DONE_FLAG not in flags
    # After the restart the mail is read again: known by its Message-ID, it is only marked.
    await desk.read()
    assert len(desk.stories()) == 1 and len(desk.inbox()) == 1
    ((_, flags, _),) = desk.server.messages()
    assert DONE_FLAG in flags


@pytest.mark.asyncio
async def test_an_empty_body_takes_the_text_of_the_attached_manuscript(desk: Desk):
    document = docx.Document()
    document.add_paragraph("Pemkot Salurkan Bantuan Banjir")
    document.add_paragraph("Pemerintah kota menyalurkan bantuan kepada 300 keluarga.")
    data = io.BytesIO()
    document.save(data)
    raw, _ = mail(
        "rina@kota.go.id",
        "Naskah terlampir: Pemkot Salurkan Bantuan",
        "",
        attachments=(
            (
                data.getvalue(),
                "application",
                "vnd.openxmlformats-officedocument.wordprocessingml.document",
                "naskah.docx",
            ),
        ),
    )
    desk.server.append(raw)
    await desk.read()
    (story,) = desk.stories()
    with desk.warta.db.transaction() as session:
        from storage import repo

        text = repo.current_text(session, story)
        files = session.exec(select(Media).where(Media.story_id == story.id)).all()
    assert "300 keluarga" in text.body
    assert [f.kind for f in files] == ["file"]  # the manuscript is kept with the story


@pytest.mark.asyncio
async def test_garbage_and_a_huge_attachment_never_stop_the_reader(desk: Desk):
    desk.server.append(b"\x00\xff garbage without headers \r\n\r\n\x80\x81")
    big, _ = mail(
        "rina@kota.go.id",
        "Pasar Murah Ramadan",
        "Isi berita pasar murah.\n\nParagraf dua.",
        attachments=((b"\xff\xd8" + b"0" * 400_000, "image", "jpeg", "besar.jpg"),),
    )
    desk.server.append(big)
    assert await desk.read() == 2
    assert [s.title for s in desk.stories()] == ["Pasar Murah Ramadan"]
    assert all(DONE_FLAG in flags for _, flags, _ in desk.server.messages())
    acks = desk.server.wait_received(1)
    assert "besar.jpg" in body_of(acks[-1].message) or "terlalu besar" in body_of(acks[-1].message)


@pytest.mark.asyncio
async def test_the_reader_waits_with_idle_and_reads_what_arrives(desk: Desk):
    stop = asyncio.Event()
    reader = asyncio.create_task(desk.mailbox.run(stop))
    assert await asyncio.to_thread(desk.mailbox.wait_rounds, 1, 10)  # the first round: empty
    desk.server.append(mail("rina@kota.go.id", "Judul Berita", "Isi.\n\nParagraf dua.")[0])
    # IDLE announces the new mail: a second round reads it, without waiting for a poll.
    assert await asyncio.to_thread(desk.mailbox.wait_rounds, 2, 10)
    stop.set()
    await reader
    assert [story.title for story in desk.stories()] == ["Judul Berita"]


@pytest.mark.asyncio
async def test_a_mail_warta_cannot_read_is_set_aside_and_the_reader_goes_on(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
):
    from bot.channels import mailbox

    real = mailbox.parse_mail

    def failing(raw: bytes, **options: Any) -> Any:  # fault injection: a parser bug
        if b"Subject: Rusak" in raw:
            raise ValueError("the parser tripped")
        return real(raw, **options)

    monkeypatch.setattr(mailbox, "parse_mail", failing)
    desk.server.append(mail("rina@kota.go.id", "Rusak", "Isi.\n\nParagraf.")[0])
    desk.server.append(mail("rina@kota.go.id", "Judul Berita", "Isi.\n\nParagraf.")[0])
    assert await desk.read() == 2
    assert [s.title for s in desk.stories()] == ["Judul Berita"]
    first = desk.inbox()[0]
    assert first.outcome == "set_aside" and "the parser tripped" in (first.last_error or "")
    assert any("warta inbox retry" in t for t in desk.told("budi"))  # the operator is told
    apology = desk.mails_to("rina@kota.go.id")[0]
    assert "belum dapat kami proses" in body_of(apology)
    assert all(DONE_FLAG in flags for _, flags, _ in desk.server.messages())


@pytest.mark.asyncio
async def test_move_mode_over_tls_moves_a_handled_mail_to_the_processed_folder(
    sqlite_url: str, tmp_path: Path, mail_server: MailServer
):
    settings = desk_settings(
        sqlite_url,
        tmp_path,
        mail_server,
        after="move",
        imap_security="tls",
        imap_port=mail_server.imaps_port,
    )
    warta = build(settings, channels={"local": LocalChannel(group=(GROUP,))}, clock=FakeClock())
    try:
        desk = Desk(warta, mail_server, FakeClock())
        mail_server.append(mail("rina@kota.go.id", "Judul Berita", "Isi.\n\nParagraf.")[0])
        assert await desk.read() == 1
        assert mail_server.messages() == []
        ((_, _, raw),) = mail_server.messages("Warta-Diproses")
        assert b"Judul Berita" in raw
        assert [s.title for s in desk.stories()] == ["Judul Berita"]
    finally:
        await warta.channels["email"].stop()
        warta.close()


# -- who may write ----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_mail_from_an_unknown_sender_goes_to_the_editors_and_gets_no_answer(desk: Desk):
    raw, _ = mail(
        "humas@dinas-lain.go.id", "Undangan liputan", "Mohon diliput besok.", name="Humas"
    )
    desk.server.append(raw)
    await desk.read()
    assert desk.stories() == []
    (row,) = desk.inbox()
    assert row.outcome == "unknown_sender"
    assert any(
        "humas@dinas-lain.go.id" in t and "warta inbox retry" in t for t in desk.told("dedi")
    )
    assert desk.server.received == []  # no answer to a stranger (no backscatter)


@pytest.mark.asyncio
async def test_mail_from_an_unknown_sender_is_only_kept_when_so_configured(
    sqlite_url: str, tmp_path: Path, mail_server: MailServer
):
    settings = desk_settings(sqlite_url, tmp_path, mail_server, unknown_senders="ignore")
    warta = build(settings, channels={"local": LocalChannel(group=(GROUP,))}, clock=FakeClock())
    try:
        desk = Desk(warta, mail_server, FakeClock())
        mail_server.append(mail("spam@contoh.com", "Promo", "Beli sekarang!")[0])
        await desk.read()
        assert [row.outcome for row in desk.inbox()] == ["ignored"]
        assert desk.told("dedi") == [] and mail_server.received == []
    finally:
        await warta.channels["email"].stop()
        warta.close()


@pytest.mark.asyncio
async def test_a_command_in_the_subject_works_and_is_answered_in_its_thread(desk: Desk):
    await desk.say("rina", STORY)
    raw, message_id = mail("dedi@kota.go.id", "/sunting 1", "", name="Dedi")
    desk.server.append(raw)
    await desk.read()
    assert desk.stories()[0].state == "editing"
    answer = next(m for m in desk.mails_to("dedi@kota.go.id"))
    assert answer["In-Reply-To"] == f"<{message_id}>"
    assert "sedang disunting oleh Dedi" in body_of(answer)


# -- one story from two copies ----------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_chat_copy_and_the_mail_copy_make_one_story(desk: Desk):
    await desk.say("rina", STORY)  # first in the chat: the clock starts here
    (first,) = desk.stories()
    due = first.step_due_at
    desk.clock.advance(minutes=20)
    title, _, body = STORY.partition("\n")
    raw, _ = mail("rina@kota.go.id", f"Fwd: {title}", body, photos=1)
    desk.server.append(raw)
    await desk.read()

    (story,) = desk.stories()
    assert story.step_due_at == due and story.current_version == 1  # the same text
    assert desk.copies() == {"chat": "first", "email": "same"}
    card = [t for t in desk.told(GROUP) if t.startswith("📰")][-1]
    assert "💬 chat ✓ · 📧 surel ✓" in card
    assert "Salinan surel untuk berita #1" in body_of(desk.mails_to("rina@kota.go.id")[-1])

    # Another chat submission is another story: the chat copy of #1 is there already.
    await desk.say("rina", "Wali Kota Buka Musrenbang 2027\nTeks yang sudah diperbaiki.")
    assert len(desk.stories()) == 2


@pytest.mark.asyncio
async def test_a_mail_copy_with_another_text_is_a_new_version(desk: Desk):
    raw, _ = mail("rina@kota.go.id", "Wali Kota Buka Musrenbang", "Isi pertama dari surel.")
    desk.server.append(raw)
    await desk.read()
    await desk.say("rina", "Wali Kota Buka Musrenbang\nIsi yang lebih lengkap, dari chat.")
    (story,) = desk.stories()
    assert story.current_version == 2 and desk.copies() == {"email": "first", "chat": "version"}
    assert any("disimpan sebagai versi 2" in t for t in desk.told(GROUP))


@pytest.mark.asyncio
async def test_a_missing_copy_is_asked_for_once(
    sqlite_url: str, tmp_path: Path, mail_server: MailServer
):
    clock = FakeClock()
    settings = desk_settings(sqlite_url, tmp_path, mail_server, remind_missing_copy=True)
    warta = build(settings, channels={"local": LocalChannel(group=(GROUP,))}, clock=clock)
    try:
        desk = Desk(warta, mail_server, clock)
        await desk.say("rina", STORY)
        clock.advance(minutes=61)
        warta.watch.sweep()
        warta.watch.sweep()
        await warta.dispatcher.drain()
        asked = [t for t in desk.told(GROUP) + desk.told("rina") if "belum kami terima" in t]
        assert len(asked) == 1 and "surel resmi" in asked[0]
        assert desk.copies() == {"chat": "first", "email": "reminded"}
    finally:
        await warta.channels["email"].stop()
        warta.close()


# -- e-mail out -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_kasi_with_only_an_email_address_gets_the_digest_by_email(desk: Desk):
    await desk.say("rina", STORY)
    desk.clock.advance(hours=4)  # the editing deadline passed: escalated to the Kasi
    desk.warta.watch.sweep()
    await desk.warta.dispatcher.drain()
    (escalation,) = desk.mails_to("kasi@kota.go.id")
    assert escalation["Subject"] == "[Warta] Berita #1: Wali Kota Buka Musrenbang"
    assert "Eskalasi" in body_of(escalation)
    desk.clock.advance(hours=19, minutes=5)  # the digest's hour (07.00 WIB) next morning
    desk.warta.watch.sweep()
    await desk.warta.dispatcher.drain()
    (digest,) = [m for m in desk.mails_to("kasi@kota.go.id") if "Ringkasan" in m["Subject"]]
    assert digest["From"] == "Warta Media Center <redaksi@warta.test>"
    assert "<html" in body_of(digest, "html") and "#1" in body_of(digest)
    assert digest["Auto-Submitted"] == "auto-generated"


@pytest.mark.asyncio
async def test_the_mailbox_down_is_shown_by_health_and_loses_nothing(desk: Desk):
    desk.mailbox.config = desk.mailbox.config.model_copy(update={"imap_port": 1})
    with pytest.raises(OSError):
        await asyncio.to_thread(desk.mailbox.read_once)
    report = warta_health(desk.warta)
    assert report.status == "degraded"
    assert any("mailbox redaksi@warta.test" in reason for reason in report.reasons)
    # Back: the next round reads what arrived meanwhile, and the problem is gone.
    desk.mailbox.config = desk.mailbox.config.model_copy(
        update={"imap_port": desk.server.imap_port}
    )
    desk.server.append(mail("rina@kota.go.id", "Judul Berita", "Isi.\n\nParagraf.")[0])
    assert await desk.read() == 1 and desk.mailbox.problem is None
    assert not [r for r in warta_health(desk.warta).reasons if "mailbox" in r]


@pytest.mark.asyncio
async def test_copies_of_one_assignment_are_one_story_whatever_their_titles(desk: Desk):
    await desk.say("dedi", "/agenda tambah hari ini 09.00-10.00 | Musrenbang | Wali Kota | Aula")
    await desk.say("dedi", "/tugaskan 1 rina")
    await desk.say("rina", "/terima 1", private=True)
    desk.clock.advance(hours=2)
    raw, _ = mail("rina@kota.go.id", "Musrenbang Kecamatan Jekan Raya", "Isi dari surel.")
    desk.server.append(raw)
    await desk.read()
    assert "A1" in body_of(desk.mails_to("rina@kota.go.id")[-1])  # linked to the assignment
    await desk.say("rina", "#A1\nUsulan Warga Jadi Dasar Perencanaan\nIsi dari chat, lain sekali.")
    (story,) = desk.stories()
    assert desk.copies() == {"email": "first", "chat": "version"}
    assert story.current_version == 2
