"""The mail server fixture itself: IMAP, IMAPS, STARTTLS, SMTP delivery, IDLE, login, clear()."""

from __future__ import annotations

import smtplib
import ssl
import threading
from email import policy
from email.message import EmailMessage

import pytest
from imapclient import SEEN, IMAPClient
from imapclient.exceptions import LoginError

from tests.fakes.mail_server import SMTP_SIZE_LIMIT, MailServer

WAIT = 10.0  # seconds; an upper bound on waiting for an event, never a sleep


def _message(subject: str, *, to: str = "redaksi@warta.test", body: str = "Isi berita.") -> bytes:
    message = EmailMessage()
    message["From"] = "koresponden@daerah.test"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message.as_bytes(policy=policy.SMTP)  # CRLF line ends, as on the wire


def test_append_then_read_back_over_imap(mail_server: MailServer) -> None:
    raw = _message("Banjir di hulu")

    uid = mail_server.append(raw, flags=(SEEN.decode(),))

    assert mail_server.messages() == [(uid, (SEEN,), raw)]


def test_read_back_over_imaps_verifying_the_certificate(mail_server: MailServer) -> None:
    uid = mail_server.append(_message("Lewat IMAPS"))
    context = ssl.create_default_context(cafile=mail_server.cafile)

    with IMAPClient(
        mail_server.host, port=mail_server.imaps_port, ssl=True, ssl_context=context, timeout=WAIT
    ) as client:
        client.login(mail_server.user, mail_server.password)
        client.select_folder("INBOX", readonly=True)
        fetched = client.fetch([uid], ["ENVELOPE"])

    assert fetched[uid][b"ENVELOPE"].subject == b"Lewat IMAPS"


def test_imaps_is_refused_without_the_test_certificate(mail_server: MailServer) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        IMAPClient(
            mail_server.host,
            port=mail_server.imaps_port,
            ssl=True,
            ssl_context=ssl.create_default_context(),
            timeout=WAIT,
        )


def test_starttls_on_the_plain_imap_port(mail_server: MailServer) -> None:
    context = ssl.create_default_context(cafile=mail_server.cafile)

    with IMAPClient(
        mail_server.host, port=mail_server.imap_port, ssl=False, timeout=WAIT
    ) as client:
        client.starttls(context)
        client.login(mail_server.user, mail_server.password)

        assert "INBOX" in [name for _flags, _delimiter, name in client.list_folders()]


def test_smtp_mail_for_the_user_is_recorded_and_lands_in_the_inbox(
    mail_server: MailServer,
) -> None:
    raw = _message("Kiriman lewat SMTP", to=f"{mail_server.address}, meja@luar.test")

    with smtplib.SMTP(mail_server.host, mail_server.smtp_port, timeout=WAIT) as smtp:
        smtp.sendmail("koresponden@daerah.test", [mail_server.address, "meja@luar.test"], raw)

    [received] = mail_server.wait_received(1, timeout=WAIT)
    assert received.mail_from == "koresponden@daerah.test"
    assert received.rcpt_tos == (mail_server.address, "meja@luar.test")
    assert received.raw == raw
    assert received.message is not None
    assert received.message["Subject"] == "Kiriman lewat SMTP"
    assert received.login is None
    [(_uid, _flags, stored)] = mail_server.messages()
    assert b"Subject: Kiriman lewat SMTP" in stored
    assert f"Delivered-To: {mail_server.address}".encode() in stored


def test_smtp_mail_for_others_is_recorded_but_not_delivered(mail_server: MailServer) -> None:
    with smtplib.SMTP(mail_server.host, mail_server.smtp_port, timeout=WAIT) as smtp:
        smtp.sendmail("redaksi@warta.test", ["pembaca@luar.test"], _message("Untuk pembaca"))

    [received] = mail_server.wait_received(1, timeout=WAIT)
    assert received.rcpt_tos == ("pembaca@luar.test",)
    assert mail_server.messages() == []


def test_smtp_starttls_and_login(mail_server: MailServer) -> None:
    context = ssl.create_default_context(cafile=mail_server.cafile)

    with smtplib.SMTP(mail_server.host, mail_server.smtp_port, timeout=WAIT) as smtp:
        smtp.starttls(context=context)
        smtp.login(mail_server.address, mail_server.password)
        smtp.sendmail("redaksi@warta.test", [mail_server.address], _message("Dengan login"))

    [received] = mail_server.wait_received(1, timeout=WAIT)
    assert received.login == mail_server.address


def test_smtp_refuses_a_wrong_password(mail_server: MailServer) -> None:
    with (
        smtplib.SMTP(mail_server.host, mail_server.smtp_port, timeout=WAIT) as smtp,
        pytest.raises(smtplib.SMTPAuthenticationError),
    ):
        smtp.login(mail_server.user, "salah")


def test_smtp_takes_a_large_attachment(mail_server: MailServer) -> None:
    with smtplib.SMTP(mail_server.host, mail_server.smtp_port, timeout=WAIT) as smtp:
        smtp.ehlo()
        assert int(smtp.esmtp_features["size"]) == SMTP_SIZE_LIMIT


def test_idle_announces_a_newly_appended_message(mail_server: MailServer) -> None:
    idling, announced = threading.Event(), threading.Event()
    responses: list[tuple[object, ...]] = []
    errors: list[BaseException] = []

    def watch() -> None:
        try:
            with mail_server.imap() as client:
                client.select_folder("INBOX")
                client.idle()
                idling.set()
                for _ in range(3):  # each idle_check blocks on the socket up to WAIT
                    responses.extend(client.idle_check(timeout=WAIT))
                    if any(response[1] == b"EXISTS" for response in responses):
                        announced.set()
                        break
                client.idle_done()
        except BaseException as error:  # handed to the test's thread
            errors.append(error)
            idling.set()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        assert idling.wait(WAIT)
        assert not errors
        mail_server.append(_message("Kabar terbaru"))
        assert announced.wait(WAIT), responses
    finally:
        watcher.join(WAIT)
    assert not errors
    assert (1, b"EXISTS") in responses


def test_a_wrong_password_fails_fast(mail_server: MailServer) -> None:
    # The timeout is the "fast": Dovecot's default delay (2 s), or its penalty on the second
    # failure from the same address (4 s), would run past it.
    for _ in range(2):
        with (
            IMAPClient(
                mail_server.host, port=mail_server.imap_port, ssl=False, timeout=2
            ) as client,
            pytest.raises(LoginError),
        ):
            client.login(mail_server.user, "salah")
    with mail_server.imap() as client:
        assert client.select_folder("INBOX")[b"EXISTS"] == 0


def test_folders_and_clear(mail_server: MailServer) -> None:
    mail_server.create_folder("Arsip")
    mail_server.append(_message("Lama"), folder="Arsip")
    mail_server.append(_message("Baru"))
    mail_server.append(_message("Terkirim"), folder="Sent")
    with smtplib.SMTP(mail_server.host, mail_server.smtp_port, timeout=WAIT) as smtp:
        smtp.sendmail("a@luar.test", [mail_server.address], _message("Masuk"))
    mail_server.wait_received(1, timeout=WAIT)
    assert mail_server.folders() == ["Arsip", "Drafts", "INBOX", "Junk", "Sent", "Trash"]

    mail_server.clear()

    assert mail_server.folders() == ["Drafts", "INBOX", "Junk", "Sent", "Trash"]
    assert all(mail_server.messages(folder) == [] for folder in mail_server.folders())
    assert mail_server.received == []


def test_clear_removes_nested_folders(mail_server: MailServer) -> None:
    mail_server.create_folder("Arsip")
    mail_server.create_folder("Arsip.2024")
    mail_server.append(_message("Tahun lalu"), folder="Arsip.2024")

    mail_server.clear()

    assert mail_server.folders() == ["Drafts", "INBOX", "Junk", "Sent", "Trash"]
