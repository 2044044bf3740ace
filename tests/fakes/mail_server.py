"""A real mail server on 127.0.0.1 for Warta's tests: a private Dovecot (IMAP, IMAPS) and an
aiosmtpd SMTP server that records every message and hands the test user's mail to Dovecot."""

from __future__ import annotations

import asyncio
import contextlib
import grp
import os
import pwd
import re
import secrets
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from types import TracebackType

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from imapclient import DELETED, RECENT, IMAPClient
from imapclient.exceptions import IMAPClientError

from tests.fakes.https_server import self_signed_certificate

HOST = "127.0.0.1"
DOMAIN = "warta.test"
SMTP_SIZE_LIMIT = 64 * 1024 * 1024  # aiosmtpd's 32 MiB is below a 25 MiB attachment once encoded
STARTUP_TIMEOUT = 15.0  # seconds; Dovecot is usually up in a fraction of one
IMAP_TIMEOUT = 10.0  # seconds, for the helpers' own connections
# The folders every account has (created by Dovecot itself); clear() empties but keeps them.
DEFAULT_FOLDERS = ("INBOX", "Drafts", "Sent", "Trash", "Junk")
# Mailboxes belong to this system account: Dovecot refuses uid 0 for mail.
MAIL_ACCOUNT = "nobody"

_APPENDUID = re.compile(rb"\[APPENDUID \d+ (\d+)\]")

_CONFIG = """\
# A private Dovecot for one test session, written by tests/fakes/mail_server.py.
instance_name = {instance}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap lmtp
listen = {host}
hostname = mail.{domain}
postmaster_address = postmaster@{domain}
login_greeting = {greeting}

ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}

# Plaintext LOGIN on loopback; no uid limit for `nobody`; a wrong password is answered at the
# auth process's next half-second tick (2.3 has no immediate failures) instead of after 2 s.
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
auth_verbose = yes
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%n {root}/passwd
}}

mail_location = maildir:~/Maildir
mail_fsync = never
mailbox_idle_check_interval = 1 secs
namespace inbox {{
  inbox = yes
  mailbox Drafts {{
    special_use = \\Drafts
    auto = subscribe
  }}
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Trash {{
    special_use = \\Trash
    auto = subscribe
  }}
  mailbox Junk {{
    special_use = \\Junk
    auto = subscribe
  }}
}}
protocol imap {{
  mail_max_userip_connections = 500
}}

service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {imaps_port}
    ssl = yes
  }}
}}
# Without its socket the auth process finds no anvil and adds no penalty after a wrong password.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0600
  }}
}}
"""


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the SMTP server took it: envelope, raw bytes, and the parsed message
    (None when Python's ``email`` could not parse it, e.g. an unknown charset)."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    message: EmailMessage | None
    login: str | None  # the SMTP AUTH user name, when the client logged in


def dovecot_binary() -> str | None:
    """The path of ``dovecot``, which Debian puts in /usr/sbin (not always on a user's PATH)."""
    return shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/sbin")


def missing_prerequisite() -> str | None:
    """Why a private Dovecot cannot run here, or None when it can."""
    if dovecot_binary() is None:
        return "dovecot is not installed (apt-get install dovecot-imapd dovecot-lmtpd)"
    if os.geteuid() != 0:
        return "a private Dovecot needs root here (it switches to the mail user per login)"
    try:
        pwd.getpwnam(MAIL_ACCOUNT)
    except KeyError:
        return f"the system account {MAIL_ACCOUNT!r} that owns the test mailbox is missing"
    return None


def _free_ports(count: int) -> list[int]:
    """Ports that nothing listens on right now (held open together so they differ)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind((HOST, 0))
        return [sock.getsockname()[1] for sock in sockets]


def _parse(raw: bytes) -> EmailMessage | None:
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    except (LookupError, ValueError):
        return None
    assert isinstance(message, EmailMessage)
    return message


class _SmtpHandler:
    """aiosmtpd's hooks: deliver the test user's copy, then record the message."""

    def __init__(
        self,
        *,
        local_address: str,
        deliver: Callable[[str, bytes], None],
        record: Callable[[ReceivedMail], None],
    ) -> None:
        self._local_address = local_address.lower()
        self._deliver = deliver
        self._record = record

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Hand the message to Dovecot when it is for the test user; record it either way."""
        raw = envelope.original_content or b""
        mail_from = envelope.mail_from or ""
        if any(rcpt.lower() == self._local_address for rcpt in envelope.rcpt_tos):
            try:
                await asyncio.to_thread(self._deliver, mail_from, raw)
            except (OSError, smtplib.SMTPException) as error:
                return f"451 4.3.0 Dovecot did not take the message: {error}"
        self._record(
            ReceivedMail(
                mail_from=mail_from,
                rcpt_tos=tuple(envelope.rcpt_tos),
                raw=raw,
                message=_parse(raw),
                login=session.auth_data if session.authenticated else None,
            )
        )
        return "250 2.0.0 OK"


class MailServer:
    """A private Dovecot plus an SMTP server that delivers the test user's mail into it.

    Everything listens on ``host`` (127.0.0.1) on free ports: ``imap_port`` (plain, STARTTLS
    offered), ``imaps_port`` and ``smtp_port`` (STARTTLS and AUTH offered, neither required),
    with a self-signed certificate for 127.0.0.1 and localhost in ``cafile``. One account:
    ``user`` (or ``address``) with ``password``. SMTP mail for ``address`` goes into its INBOX
    by LMTP; every message the SMTP server takes is recorded in ``received``. The state lives
    in a short temporary folder (Unix socket paths are limited) that ``stop()`` removes.
    """

    host = HOST

    def __init__(self, *, user: str = "redaksi", domain: str = DOMAIN) -> None:
        self.user = user
        self.address = f"{user}@{domain}"
        self.password = secrets.token_urlsafe(12)
        self.domain = domain
        self.imap_port = 0
        self.imaps_port = 0
        self.smtp_port = 0
        self.cafile = ""
        self._keyfile = ""
        self.received: list[ReceivedMail] = []
        self._received_changed = threading.Condition()
        self._root: Path | None = None
        self._dovecot: subprocess.Popen[bytes] | None = None
        self._smtp: Controller | None = None

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> MailServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Write the configuration, start Dovecot and the SMTP server; return once both answer."""
        problem = missing_prerequisite()
        if problem:
            raise RuntimeError(problem)
        try:
            self._root = Path(tempfile.mkdtemp(prefix="wm-", dir="/tmp"))
            self._prepare_account(self._root)
            self._start_dovecot(self._root)
            self._start_smtp()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the SMTP server and Dovecot (by its pid) and remove the temporary folder."""
        if self._smtp is not None:
            self._smtp.stop()
            self._smtp = None
        if self._dovecot is not None:
            self._dovecot.terminate()
            try:
                self._dovecot.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._dovecot.kill()
                self._dovecot.wait()
            self._dovecot = None
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def _prepare_account(self, root: Path) -> None:
        """The certificate, the passwd-file and a home folder the mail user owns."""
        # mkdtemp makes 0700 folders: the mail user must be able to enter every parent.
        root.chmod(0o755)
        key, cert = self_signed_certificate(root)
        self.cafile = str(cert)
        account = pwd.getpwnam(MAIL_ACCOUNT)
        home = root / "home"
        home.mkdir(mode=0o700)
        os.chown(home, account.pw_uid, account.pw_gid)
        passwd = root / "passwd"
        passwd.write_text(
            f"{self.user}:{{PLAIN}}{self.password}:{account.pw_uid}:{account.pw_gid}::{home}::\n"
        )
        passwd.chmod(0o640)
        with contextlib.suppress(KeyError):
            os.chown(passwd, 0, grp.getgrnam("dovecot").gr_gid)
        self._keyfile = str(key)

    def _start_dovecot(self, root: Path, attempts: int = 3) -> None:
        """Start Dovecot in the foreground as a child; retry on a port taken in the meantime."""
        binary = dovecot_binary()
        assert binary is not None
        greeting = f"Warta test IMAP {root.name} ready."
        for attempt in range(attempts):
            self.imap_port, self.imaps_port = _free_ports(2)
            config = root / "dovecot.conf"
            config.write_text(
                _CONFIG.format(
                    instance=root.name,
                    root=root,
                    host=HOST,
                    domain=self.domain,
                    greeting=greeting,
                    cert=self.cafile,
                    key=self._keyfile,
                    imap_port=self.imap_port,
                    imaps_port=self.imaps_port,
                )
            )
            with (root / "dovecot.out").open("ab") as output:
                self._dovecot = subprocess.Popen(
                    [binary, "-F", "-c", str(config)],
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
            if self._wait_for_greeting(greeting):
                return
            log = self._dovecot_log()
            self._dovecot.wait()
            self._dovecot = None
            if "Address already in use" not in log or attempt == attempts - 1:
                raise RuntimeError(f"Dovecot did not start:\n{log}")

    def _wait_for_greeting(self, greeting: str) -> bool:
        """True once our own Dovecot greets on the IMAP port; False when it died or hung."""
        assert self._dovecot is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self._dovecot.poll() is not None:
                return False
            try:
                with socket.create_connection((HOST, self.imap_port), timeout=2) as sock:
                    if greeting.encode() in sock.recv(4096):
                        return True
            except OSError:
                pass
            time.sleep(0.02)  # start-up only: Dovecot has no readiness signal to wait on
        self._dovecot.terminate()
        return False

    def _dovecot_log(self) -> str:
        if self._root is None:
            return ""
        parts = []
        for name in ("dovecot.out", "dovecot.log"):
            with contextlib.suppress(OSError):
                parts.append((self._root / name).read_text(errors="replace"))
        return "\n".join(parts)[-4000:]

    def _start_smtp(self) -> None:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(self.cafile, self._keyfile)
        handler = _SmtpHandler(
            local_address=self.address, deliver=self._deliver, record=self._record
        )
        self.smtp_port = _free_ports(1)[0]
        self._smtp = Controller(
            handler,
            hostname=HOST,
            port=self.smtp_port,
            server_hostname=f"mail.{self.domain}",
            data_size_limit=SMTP_SIZE_LIMIT,
            tls_context=tls,
            authenticator=self._authenticate,
            auth_require_tls=False,
        )
        self._smtp.start()

    # ------------------------------------------------------------------ SMTP side

    def _authenticate(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: object,
    ) -> AuthResult:
        """SMTP AUTH (optional) takes the test user's name or address and password."""
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        if login in (self.user, self.address) and password == self.password:
            return AuthResult(success=True, auth_data=login)
        return AuthResult(success=False, handled=False)  # aiosmtpd answers 535

    def _deliver(self, mail_from: str, raw: bytes) -> None:
        """Hand one message to Dovecot's LMTP socket, for the test user."""
        assert self._root is not None
        with smtplib.LMTP(str(self._root / "run" / "lmtp")) as lmtp:
            lmtp.sendmail(mail_from, [self.address], raw)

    def _record(self, mail: ReceivedMail) -> None:
        with self._received_changed:
            self.received.append(mail)
            self._received_changed.notify_all()

    def wait_received(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        """Block until the SMTP server has received ``count`` messages (since the last clear)."""
        with self._received_changed:
            if not self._received_changed.wait_for(lambda: len(self.received) >= count, timeout):
                raise TimeoutError(
                    f"the SMTP server received {len(self.received)} of {count} messages "
                    f"in {timeout} s"
                )
            return list(self.received)

    # ------------------------------------------------------------------ IMAP side

    @contextlib.contextmanager
    def imap(self, *, implicit_tls: bool = False) -> Iterator[IMAPClient]:
        """A logged-in IMAPClient on the IMAP port, or on the IMAPS port verifying ``cafile``."""
        if implicit_tls:
            context = ssl.create_default_context(cafile=self.cafile)
            client = IMAPClient(
                HOST, port=self.imaps_port, ssl=True, ssl_context=context, timeout=IMAP_TIMEOUT
            )
        else:
            client = IMAPClient(HOST, port=self.imap_port, ssl=False, timeout=IMAP_TIMEOUT)
        try:
            client.login(self.user, self.password)
            yield client
        finally:
            with contextlib.suppress(IMAPClientError, OSError):
                client.logout()

    def append(self, raw: bytes, folder: str = "INBOX", flags: tuple[str, ...] = ()) -> int:
        """Store one message in ``folder`` and return its UID."""
        with self.imap() as client:
            response = client.append(folder, raw, flags=flags)
        match = _APPENDUID.search(response)
        if match is None:
            raise RuntimeError(f"no APPENDUID in Dovecot's answer: {response!r}")
        return int(match.group(1))

    def messages(self, folder: str = "INBOX") -> list[tuple[int, tuple[bytes, ...], bytes]]:
        """Every message in ``folder`` as (uid, flags, raw bytes), by UID.

        Reading marks none seen; ``\\Recent`` is left out (which session gets it is a race).
        """
        with self.imap() as client:
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            if not uids:
                return []
            fetched = client.fetch(uids, ["FLAGS", "BODY.PEEK[]"])
        return [
            (
                uid,
                tuple(flag for flag in fetched[uid][b"FLAGS"] if flag != RECENT),
                fetched[uid][b"BODY[]"],
            )
            for uid in sorted(fetched)
        ]

    def create_folder(self, name: str) -> None:
        """Create (and subscribe) a folder."""
        with self.imap() as client:
            client.create_folder(name)
            client.subscribe_folder(name)

    def folders(self) -> list[str]:
        """The names of all folders, sorted."""
        with self.imap() as client:
            return sorted(name for _flags, _delimiter, name in client.list_folders())

    def clear(self) -> None:
        """Delete every message and every folder but the default ones, and forget what SMTP got."""
        with self.imap() as client:
            names = [name for _flags, _delimiter, name in client.list_folders()]
            # Children before parents: Dovecot refuses to delete a folder that has children.
            for name in sorted(set(names) - set(DEFAULT_FOLDERS), key=len, reverse=True):
                with contextlib.suppress(IMAPClientError):
                    client.delete_folder(name)
            for _flags, _delimiter, name in client.list_sub_folders():
                if name not in DEFAULT_FOLDERS:
                    client.unsubscribe_folder(name)
            for name in DEFAULT_FOLDERS:
                if client.select_folder(name)[b"EXISTS"]:
                    client.add_flags("1:*", [DELETED], silent=True)
                    client.expunge()
                client.unselect_folder()
        with self._received_changed:
            self.received.clear()


# ---------------------------------------------------------------------- pytest fixtures


@pytest.fixture(scope="session")
def mail_server_instance() -> Iterator[MailServer]:
    """One private mail server for the whole session (skipped, or failed in CI, without Dovecot)."""
    problem = missing_prerequisite()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the mail server is required in CI: {problem}")
        pytest.skip(f"mail server not available: {problem}")
    with MailServer() as server:
        yield server


@pytest.fixture
def mail_server(mail_server_instance: MailServer) -> MailServer:
    """The session's mail server, emptied: no messages, default folders, nothing received."""
    mail_server_instance.clear()
    return mail_server_instance
