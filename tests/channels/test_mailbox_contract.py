"""The channel contract on the official mailbox, against a real Dovecot and SMTP server: what
people write is put into the mailbox (APPEND) and read by Warta's reader; what Warta sends is
read back from the SMTP server. The mailbox has no group: the card and group-breach tests
give way to the group-less ones."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest_asyncio

from bot.app import build
from bot.channels.mailbox import MailboxChannel, message_id_of
from tests.channels.contract import (
    KASI,
    PEOPLE,
    Arrived,
    ChannelContract,
    Harness,
    contract_settings,
)
from tests.fakes.mail_server import MailServer
from tests.support import FakeClock

DOMAIN = "kota.go.id"


class MailboxHarness(Harness):
    def __init__(self, db_url: str, folder: Path, server: MailServer) -> None:
        self.server = server
        self.clock = FakeClock()
        addresses = {
            person["key"]: {"email": f"{person['key']}@{DOMAIN}"}
            for person in PEOPLE
            if person["key"] != KASI
        }
        entry = {
            "kind": "email",
            "address": server.address,
            "username": server.user,
            "password": server.password,
            "imap_host": server.host,
            "imap_port": server.imap_port,
            "imap_security": "starttls",
            "smtp_port": server.smtp_port,
            "cafile": server.cafile,
        }
        settings = contract_settings(
            db_url, folder, addresses=addresses, channels=[entry], web={"board": False}
        )
        self.warta = build(settings, clock=self.clock)
        channel = self.warta.channels["email"]
        assert isinstance(channel, MailboxChannel)
        self.channel = self.mailbox = channel

    def address(self, who: str) -> str:
        return f"{who}@{DOMAIN}"

    async def say(
        self, who: str, text: str, *, private: bool = False, reply_to: str | None = None
    ) -> None:
        message = EmailMessage()
        message["From"] = self.address(who)
        message["To"] = self.server.address
        if text.startswith("/"):
            message["Subject"] = text
            message.set_content("")
        else:
            title, _, body = text.partition("\n")
            message["Subject"] = title
            message.set_content(body)
        message["Message-ID"] = make_msgid(domain=DOMAIN)
        if reply_to:
            message["In-Reply-To"] = f"<{reply_to}>"
        self.server.append(message.as_bytes())
        await asyncio.to_thread(self.mailbox.read_once)
        await self.drain()

    async def press(
        self,
        card_message_id: str,
        data: str | None = None,
        label: str | None = None,
        *,
        who: str,
    ) -> None:
        raise AssertionError("e-mail has no buttons")

    def button_data(self, card_message_id: str, label: str) -> str:
        raise AssertionError("e-mail has no buttons")

    def messages(self, recipient: str) -> list[Arrived]:
        arrived = []
        for mail in self.server.received:
            if recipient not in mail.rcpt_tos or mail.message is None:
                continue
            body = mail.message.get_body(preferencelist=("plain",))
            text = body.get_content().strip() if body is not None else ""
            arrived.append(Arrived(message_id_of(mail.message["Message-ID"]), text))
        return arrived

    def answers(self) -> list[str] | None:
        return None


@pytest_asyncio.fixture
async def harness(
    sqlite_url: str, tmp_path: Path, mail_server: MailServer
) -> AsyncIterator[MailboxHarness]:
    running = MailboxHarness(sqlite_url, tmp_path, mail_server)
    yield running
    await running.mailbox.stop()
    running.warta.close()


class TestMailboxContract(ChannelContract):
    pass
