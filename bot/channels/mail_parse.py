"""Read one raw e-mail into what the news desk needs: who sent it, a title, clean text, files."""

from __future__ import annotations

import codecs
import hashlib
import html as html_module
import io
import re
import warnings
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from itertools import islice
from urllib.parse import parse_qs, unquote, urlsplit

import docx
from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, XMLParsedAsHTMLWarning
from bs4.element import CData, NavigableString, PageElement, Tag
from docx.table import Table
from pypdf import PdfReader

__all__ = [
    "Attachment",
    "ParsedMail",
    "clean_body",
    "extract_text",
    "html_to_text",
    "parse_mail",
]


@dataclass(frozen=True)
class Attachment:
    """One file that came with the mail (a photo, a document), or why its bytes are missing."""

    filename: str | None
    """Decoded (RFC 2231 / encoded-word) file name, as the sender's program wrote it."""
    mime: str
    """Declared content type, lower case."""
    data: bytes = field(repr=False)
    inline: bool
    """Shown inside the text: referenced by cid from the HTML, or an inline image."""
    content_id: str | None
    problem: str | None = None
    """Why data is missing: "too_large" (over the limit; data is b"") or "undecodable"."""
    size: int = 0
    """Real decoded size in bytes, also when the data was dropped for being too large."""


@dataclass(frozen=True)
class ParsedMail:
    """What the desk needs from one mail to take it as a news submission."""

    message_id: str
    """Without <>; when missing, "nomsgid-<hex16>@warta" from a sha256 of the raw bytes."""
    sender: str
    """Lower-cased address from From (Reply-To never decides who sent it)."""
    sender_name: str | None
    subject: str
    """Decoded subject, whitespace collapsed."""
    title: str
    """The subject without reply/forward prefixes and leading [tags]."""
    body: str
    """Clean text: no quoted replies, no signature; a forward keeps the forwarded text."""
    in_reply_to: str | None
    references: tuple[str, ...]
    date: datetime | None
    """Aware; None when Date is missing or unreadable."""
    attachments: tuple[Attachment, ...]
    automatic: bool
    """An auto-reply, bounce or list mail that Warta must never answer."""
    notes: tuple[str, ...]
    """What went wrong while reading, in short English for the logs."""


# Inline images this small are logos, spacers and tracking pixels, not news photos.
_TINY_INLINE_IMAGE = 1024
_SIGNATURE_IMAGE = 2048
_MAX_DEPTH = 20
# The modern header parser takes seconds on a 100 KB header; real headers are far shorter.
_MAX_HEADER_CHARS = 2000
_MAX_NOTES = 40
# BeautifulSoup's pure-Python parser needs seconds per megabyte; no mail's text is that long
# once pictures pasted in as data: URIs are taken out.
_MAX_HTML_CHARS = 1_000_000
_DATA_URI = re.compile(r"data:[^\"'<>\s]{256,}", re.IGNORECASE)
_MAX_UNZIPPED_BYTES = 100 * 1024 * 1024
_MAX_ZIP_ENTRIES = 5000
_MAX_PDF_PAGES = 2000
_DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# Signatures of signed mail (government mail is often S/MIME signed): proof, not news.
_SIGNATURE_TYPES = frozenset(
    {"application/pgp-signature", "application/pkcs7-signature", "application/x-pkcs7-signature"}
)
_ATTACHED_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"})


# --- subject and headers ------------------------------------------------------------------

_FORWARD_WORDS = frozenset({"fwd", "fw", "wg", "tr", "teruskan", "trs"})
_SUBJECT_PREFIX = re.compile(
    r"^\s*(?:(?P<word>re|fwd|fw|aw|wg|tr|balas|bls|teruskan|trs)\s*(?:\[\d+\]|\(\d+\)|\^\d+)?"
    r"\s*[:：]|\[[^\[\]]{0,40}\])\s*",
    re.IGNORECASE,
)


def _title_of(subject: str) -> tuple[str, bool]:
    """The subject without its prefixes, and whether the first reply/forward prefix forwards."""
    title = subject
    forwarded: bool | None = None
    while match := _SUBJECT_PREFIX.match(title):
        word = match.group("word")
        if word and forwarded is None:
            forwarded = word.lower() in _FORWARD_WORDS
        title = title[match.end() :]
    return title.strip(), bool(forwarded)


def _fix_surrogates(text: str) -> str:
    """Undo the parser's surrogate escapes of raw 8-bit header bytes (usually UTF-8)."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return _western(raw)


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _printable(text: str) -> str:
    return "".join(ch for ch in text if ch.isprintable())


def _decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words the old way, for when the modern header parser failed."""
    try:
        return str(make_header(decode_header(value)))
    except Exception:
        return value


def _raw_values(message: Message, name: str) -> list[str]:
    """Every raw value of one header, unfolded, without the modern policy's parsing."""
    try:
        items = list(message.raw_items())
    except Exception:
        return []
    return [_collapse(_fix_surrogates(str(v))) for k, v in items if str(k).lower() == name]


def _raw_value(message: Message, name: str) -> str | None:
    values = _raw_values(message, name)
    return values[0] if values else None


_ANGLE_ID = re.compile(r"<([^<>\s]+)>")


def _message_ids(value: str, *, loose: bool) -> list[str]:
    """The ids inside <...>; without brackets, bare tokens with an @ (or any token, if loose)."""
    found = _ANGLE_ID.findall(value)
    if found:
        return found
    tokens = [token.strip("<>,;\"'") for token in value.split()]
    with_at = [token for token in tokens if "@" in token]
    if with_at:
        return with_at
    return [token for token in tokens[:1] if token] if loose else []


def _decoded_header(message: Message, name: str) -> str:
    """A header decoded by the modern parser, falling back to the old decoder on trouble."""
    try:
        value = message[name]
        if value is not None:
            return _fix_surrogates(str(value))
    except Exception:
        pass
    raw = _raw_value(message, name)
    return _fix_surrogates(_decode_words(raw)) if raw else ""


def _sender_of(message: Message) -> tuple[str, str | None]:
    """Address and display name of the first usable From address."""
    try:
        header = message["from"]
        for address in getattr(header, "addresses", ()):
            spec = _fix_surrogates(str(address.addr_spec)).strip()
            if spec and spec != "<>":
                name = _collapse(_fix_surrogates(str(address.display_name or "")))
                return spec.lower(), name or None
    except Exception:
        pass
    for raw in _raw_values(message, "from"):
        try:
            pairs = getaddresses([raw])
        except Exception:
            continue
        for name, spec in pairs:
            if spec.strip() and spec.strip() != "<>":
                name = _collapse(_decode_words(name))
                return spec.strip().lower(), name or None
    return "", None


_INDONESIAN_ZONES = {"wib": "+0700", "wita": "+0800", "wit": "+0900"}
_INDONESIAN_ZONE = re.compile(r"\b(wib|wita|wit)\s*$", re.IGNORECASE)


def _date_of(message: Message, notes: _Notes) -> datetime | None:
    raw = _raw_value(message, "date")
    if not raw:
        return None
    # Some local mail programs write the zone as WIB/WITA/WIT, which the parser does not know.
    readable = _INDONESIAN_ZONE.sub(lambda zone: _INDONESIAN_ZONES[zone[1].lower()], raw)
    try:
        moment = parsedate_to_datetime(readable)
    except Exception:
        notes.add(f"unreadable Date {_short(raw)}")
        return None
    # RFC 5322's "-0000" means UTC with no claim about the sender's own zone.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


_AUTOMATIC_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply", "auto-reply"})
_DAEMONS = frozenset({"mailer-daemon", "mailer_daemon", "postmaster"})


def _is_automatic(message: Message, sender: str) -> bool:
    """An auto-reply, bounce or list mail (RFC 3834 and what mail programs really send)."""
    for value in _raw_values(message, "auto-submitted"):
        if re.sub(r"\(.*?\)", "", value).split(";")[0].strip().lower() != "no":
            return True
    if any(_raw_values(message, name) for name in ("x-autoreply", "x-autorespond", "list-id")):
        return True
    if _raw_values(message, "x-failed-recipients"):  # a bounce by another name
        return True
    if any(v.strip().lower() in _AUTOMATIC_PRECEDENCE for v in _raw_values(message, "precedence")):
        return True
    # Responders must not answer a null return path: only bounces and auto-replies carry one.
    if any(v.replace(" ", "") == "<>" for v in _raw_values(message, "return-path")):
        return True
    if sender.split("@", 1)[0] in _DAEMONS:
        return True
    try:
        return message.get_content_type() == "multipart/report"
    except Exception:
        return False


# --- notes ---------------------------------------------------------------------------------


class _Notes:
    """Problems met while reading, kept short, unique and few."""

    def __init__(self) -> None:
        self._items: list[str] = []

    def add(self, note: str) -> None:
        if note in self._items or len(self._items) > _MAX_NOTES:
            return
        self._items.append(note if len(self._items) < _MAX_NOTES else "more problems not listed")

    def all(self) -> tuple[str, ...]:
        return tuple(self._items)


def _short(text: str, limit: int = 40) -> str:
    text = _printable(text)
    return repr(text if len(text) <= limit else text[:limit] + "…")


_DEFECTS = {
    "CloseBoundaryNotFoundDefect": "closing MIME boundary missing",
    "StartBoundaryNotFoundDefect": "MIME boundary never found",
    "NoBoundaryInMultipartDefect": "multipart without a boundary",
    "MultipartInvariantViolationDefect": "multipart without parts",
    "MissingHeaderBodySeparatorDefect": "no blank line after the headers",
    "FirstHeaderLineIsContinuationDefect": "headers start with a continuation line",
    "MisplacedEnvelopeHeaderDefect": "misplaced envelope header",
    "InvalidMultipartContentTransferEncodingDefect": "multipart with a transfer encoding",
    "InvalidBase64PaddingDefect": "bad base64 padding",
    "InvalidBase64CharactersDefect": "invalid base64 characters",
    "InvalidBase64LengthDefect": "base64 of impossible length",
}


def _cap_headers(part: Message) -> bool:
    """Shorten absurdly long headers in place, since the modern header parser is quadratic."""
    try:
        long_names = {
            str(name).lower()
            for name, value in part.raw_items()
            if len(str(value)) > _MAX_HEADER_CHARS
        }
        for name in long_names:
            values = [str(v) for k, v in part.raw_items() if str(k).lower() == name]
            del part[name]
            for value in values:
                part[name] = _collapse(value)[:_MAX_HEADER_CHARS]
    except Exception:
        return True  # what could not be put back stays out
    return bool(long_names)


_CONTENT_TYPE_LINE = re.compile(rb"(?im)^content-type[ \t]*:[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*")


def _parse_bytes(data: bytes) -> Message:
    """Parse with the modern policy, after cutting down absurd Content-Type headers: the
    parser itself reads those several times, each time in quadratic time."""

    def shorten(match: re.Match[bytes]) -> bytes:
        return match[0][:_MAX_HEADER_CHARS]

    return BytesParser(policy=policy.default).parsebytes(_CONTENT_TYPE_LINE.sub(shorten, data))


def _where(path: tuple[int, ...]) -> str:
    return "part " + ".".join(map(str, path)) if path else "the message"


# --- charsets ------------------------------------------------------------------------------

# Bytes 0x80-0x9F as windows-1252 reads them; the five it leaves undefined stay as latin-1.
_CP1252_HIGH = {
    byte: bytes([byte]).decode("cp1252")
    for byte in range(0x80, 0xA0)
    if byte not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}
_CHARSET_ALIASES = {
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "x-gbk": "gbk",
    "gb2312": "gbk",  # senders declare gb2312 for text using its superset
    "ks_c_5601-1987": "cp949",
    "windows-874": "cp874",
    "x-mac-roman": "mac_roman",
    "unicode-1-1-utf-7": "utf-7",
}
_NO_CHARSET = frozenset({"", "unknown-8bit", "x-unknown", "unknown", "default", "x-user-defined"})


def _western(data: bytes) -> str:
    """Decode as windows-1252, as every browser does for latin-1; never fails."""
    return data.decode("latin-1").translate(_CP1252_HIGH)


def _decode_text(data: bytes, charset: str | None, where: str, notes: _Notes) -> str:
    """Text of a part's bytes in its declared charset, or the best guess with a note."""
    name = (charset or "").strip().strip("\"'").lower()
    name = _CHARSET_ALIASES.get(name, name)
    try:
        codec = "" if name in _NO_CHARSET else codecs.lookup(name).name
    except (LookupError, ValueError, TypeError):
        codec = None
    if data.isascii() and codec in ("", "ascii", "iso8859-1", "cp1252", "utf-8"):
        return data.decode("ascii")
    if codec in ("", "ascii"):
        text, used = _guess_8bit(data)
        notes.add(f"8-bit text without a charset in {where}; read as {used}")
        return text
    if codec in ("iso8859-1", "cp1252"):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return _western(data)
        # Valid multi-byte UTF-8 is next to impossible in real latin-1 text ("Ã©"): a mislabel.
        notes.add(f"{where} is utf-8, not {name} as declared")
        return text
    if codec is not None:
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            return _decode_wrong(data, codec, where, notes)
        except (LookupError, ValueError, TypeError):  # a codec not for text (base64, zlib)
            pass
    text, used = _guess_8bit(data)
    notes.add(f"unknown charset {_short(name)} in {where}; read as {used}")
    return text


def _guess_8bit(data: bytes) -> tuple[str, str]:
    """Text of bytes in no known charset: UTF-8 when they are valid UTF-8, else windows-1252."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return _western(data), "windows-1252"


def _decode_wrong(data: bytes, codec: str, where: str, notes: _Notes) -> str:
    """Bytes that are not what their charset claims: guess windows-1252 or replace the bad ones."""
    if codec == "utf-8":
        replaced = data.decode("utf-8", "replace")
        if all(ch == "\ufffd" for ch in replaced if not ch.isascii()):
            notes.add(f"{where} is not utf-8 as declared; read as windows-1252")
            return _western(data)
    notes.add(f"bad {codec} bytes in {where}; replaced")
    return data.decode(codec, "replace")


def _unflow(text: str, *, delsp: bool) -> str:
    """Join the soft line breaks of format=flowed text (RFC 3676) back into paragraphs."""
    out: list[str] = []
    pending = ""
    pending_depth = -1
    for line in text.replace("\r\n", "\n").split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):  # space-stuffing
            content = content[1:]
        prefix = ">" * depth + (" " if depth else "")
        if pending and depth != pending_depth:
            out.append(">" * pending_depth + (" " if pending_depth else "") + pending)
            pending = ""
        if content.endswith(" ") and content.rstrip() != "--":
            pending += content[:-1] if delsp else content
            pending_depth = depth
            continue
        out.append(prefix + pending + content)
        pending = ""
    if pending:
        out.append(">" * pending_depth + (" " if pending_depth else "") + pending)
    return "\n".join(out)


# --- clean_body ----------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_FORWARD_MARKER = re.compile(
    r"^\s*(?:-{2,}\s*(?:forwarded message|pesan terusan|pesan yang diteruskan)\s*-{2,}"
    r"|(?:begin forwarded message|awal pesan yang diteruskan|pesan yang diteruskan)\s*:)\s*$",
    re.IGNORECASE,
)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(?:original message|pesan asli|pesan semula)\s*-{2,}\s*$", re.IGNORECASE
)
_HEADER_LINE = re.compile(
    r"^\s*\**\s*(from|dari|sent|dikirim|date|tanggal|to|kepada|cc|bcc|subject|perihal|subjek"
    r"|reply-to|balas ke)\s*\**\s*:",
    re.IGNORECASE,
)
_ATTRIBUTION = re.compile(
    r"^\s*(?:(?:on|pada)\b.{3,300}\b(?:wrote|menulis)\s*:"
    r"|am\b.{3,300}\bschrieb\b.{0,300}:"
    r"|le\b.{3,300}\ba\s+écrit\s*:)\s*$",
    re.IGNORECASE,
)
_ATTRIBUTION_START = re.compile(r"^\s*(?:on|pada|am|le)\b", re.IGNORECASE)
# An attribution names a moment or an address; "Pada kesempatan itu, Wali Kota menulis:" does not.
_ATTRIBUTION_DETAIL = re.compile(r"@|\b\d{1,2}[.:]\d{2}\b|\b(?:19|20)\d{2}\b")
_DEVICE = (
    r"(?:iphone|ipad|ipod|android|samsung|galaxy|xiaomi|redmi|poco|oppo|vivo|realme|huawei"
    r"|honor|nokia|infinix|asus|lenovo|blackberry|yahoo|outlook|gmail|mail|ponsel|hp|handphone"
    r"|smartphone|perangkat|seluler|telepon|tablet|windows|aplikasi|proton|zoho|aol|ios|surel"
    r"|e-?mail)"
)
_SENT_FROM = re.compile(
    rf"^\s*(?:sent from my\b.{{0,60}}"
    rf"|sent from\s.{{0,40}}\b{_DEVICE}\b.{{0,40}}"
    rf"|(?:dikirim|kirim|terkirim) dari\s.{{0,40}}\b(?:{_DEVICE}|saya)\b.{{0,40}}"
    rf"|get outlook for\s.{{0,40}}|dapatkan outlook untuk\s.{{0,40}})$",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(r"^[\s_\-=*~#]*$")


def _meaningful(line: str) -> bool:
    return any(ch.isalnum() for ch in line)


def _lines(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [_CONTROL.sub("", line).rstrip() for line in text.split("\n")]


def _tidy(lines: list[str]) -> str:
    """Join lines with at most one blank line between paragraphs and none around."""
    out: list[str] = []
    for line in lines:
        if line.strip() or (out and out[-1]):
            out.append(line if line.strip() else "")
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def _trim_separators(kept: list[str]) -> None:
    """Drop blank and rule lines (____, -----) left at the end, above a cut."""
    while kept and _SEPARATOR.match(kept[-1]):
        kept.pop()


def _header_lines_end(lines: list[str], start: int) -> int:
    """Where the From:/Date:/Subject:... lines that begin at start (after blank lines) end."""
    index = start
    while index < len(lines) and not lines[index].strip() and index - start < 3:
        index += 1
    if index >= len(lines) or not _HEADER_LINE.match(lines[index]):
        return start
    while index < len(lines):
        line = lines[index]
        if _HEADER_LINE.match(line) or (line[:1] in (" ", "\t") and line.strip()):
            index += 1
        else:
            break
    return index


def _outlook_block_end(lines: list[str], start: int) -> int | None:
    """End of an Outlook header block ("From: … Sent: …" / "Dari: … Dikirim: …") at start."""
    match = _HEADER_LINE.match(lines[start])
    if not match or match.group(1).lower() not in ("from", "dari"):
        return None
    names: set[str] = set()
    index = start + 1
    while index < len(lines) and index <= start + 8:
        line = lines[index]
        header = _HEADER_LINE.match(line)
        if header:
            names.add(header.group(1).lower())
        elif not (line[:1] in (" ", "\t") and line.strip()):
            break
        index += 1
    if names & {"sent", "dikirim"}:
        return index
    # "Date:" alone is too common in memos ("Dari: Humas / Tanggal: …"): want an address too.
    if names & {"date", "tanggal"} and "@" in lines[start]:
        return index
    return None


def _ambiguous_end(lines: list[str], start: int) -> int | None:
    """End of an "Original Message" marker or Outlook header block: a reply's or a forward's."""
    if _ORIGINAL_MESSAGE.match(lines[start]):
        end = _header_lines_end(lines, start + 1)
        return end if end > start + 1 else start + 1
    return _outlook_block_end(lines, start)


def _attribution_end(lines: list[str], start: int) -> int | None:
    """End of an "On … wrote:" / "Pada … menulis:" line (maybe wrapped onto a second line)."""
    if not _ATTRIBUTION_START.match(lines[start]):
        return None
    for count in (1, 2):
        if start + count > len(lines):
            break
        joined = " ".join(line.strip() for line in lines[start : start + count])
        if len(joined) <= 400 and _ATTRIBUTION.match(joined) and _ATTRIBUTION_DETAIL.search(joined):
            return start + count
    return None


def _signature_starts(line: str) -> bool:
    return line.strip() == "--" or bool(_SENT_FROM.match(line))


def clean_body(text: str, *, forwarded: bool = False) -> str:
    """Remove quoted replies and signatures from a plain-text body.

    A cut only happens when something meaningful stays above it. A forward keeps what it
    forwards: its marker and header lines go, the forwarded text stays. With forwarded=True
    (the subject says Fwd:) an Outlook header block or "Original Message" line also starts
    forwarded text instead of a quoted reply.
    """
    lines = _lines(text)
    kept: list[str] = []
    anything = False  # something meaningful kept at all
    in_segment = False  # ... since the last forward marker
    in_signature = False
    boundaries = 0
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.lstrip().startswith(">"):
            index += 1
            continue
        boundary_end: int | None = None
        if _FORWARD_MARKER.match(line):
            boundary_end = _header_lines_end(lines, index + 1)
        ambiguous_end = _ambiguous_end(lines, index) if boundary_end is None else None
        if ambiguous_end is not None and forwarded and (boundaries == 0 or not in_segment):
            boundary_end = ambiguous_end
        if boundary_end is not None:
            _trim_separators(kept)
            if kept:
                kept.append("")
            boundaries += 1
            in_segment = in_signature = False
            index = boundary_end
            continue
        reply_end = ambiguous_end if ambiguous_end is not None else _attribution_end(lines, index)
        if reply_end is not None:
            if anything:
                break
            index = reply_end  # nothing above: drop only the attribution, keep what follows
            continue
        if in_signature:
            index += 1
            continue
        if in_segment and _signature_starts(line):
            in_signature = True
            index += 1
            continue
        kept.append(line)
        if _meaningful(line):
            anything = in_segment = True
        index += 1
    _trim_separators(kept)
    return _tidy(kept)


def _only_boilerplate(text: str) -> bool:
    """Nothing but "Sent from my iPhone" and the like (or nothing at all)."""
    return all(not _meaningful(line) or _signature_starts(line) for line in text.splitlines())


# --- HTML ----------------------------------------------------------------------------------

_PARAGRAPH_TAGS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6"})
_LINE_TAGS = frozenset(
    {
        "div", "li", "tr", "ul", "ol", "dl", "dt", "dd", "blockquote", "pre", "hr", "table",
        "section", "article", "header", "footer", "nav", "aside", "main", "figure",
        "figcaption", "address", "center", "form", "fieldset", "caption", "details", "summary",
    }
)  # fmt: skip
_CELL_TAGS = frozenset({"td", "th"})
_UNSEEN_TAGS = frozenset(
    {"script", "style", "meta", "link", "base", "noscript", "template", "object"}
)
_SPACES = re.compile(r"[ \t\n\r\f\v\xa0]+")
_HIDDEN = re.compile(r"display\s*:\s*none", re.IGNORECASE)
_FORWARD_TEXT = re.compile(
    r"forwarded message|pesan terusan|pesan yang diteruskan|begin forwarded message"
    r"|awal pesan yang diteruskan",
    re.IGNORECASE,
)


def _soup(markup: str) -> BeautifulSoup:
    with warnings.catch_warnings():
        # A short text that looks like a file name or URL is still a mail body.
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        return BeautifulSoup(markup, "html.parser")


def _attr_text(tag: Tag, name: str) -> str:
    value = tag.get(name)
    if isinstance(value, list):
        return " ".join(value)
    return value or ""


def _quote_kind(tag: Tag) -> str | None:
    """How a tag quotes an earlier mail: "block", "outlook" (it and all after it), "spacer"."""
    element_id = _attr_text(tag, "id")
    classes = _attr_text(tag, "class")
    if element_id.endswith("appendonsend"):
        return "spacer"
    if element_id.endswith("divRplyFwdMsg"):
        return "outlook"
    if tag.name == "blockquote":
        # Gmail's and Apple Mail's "indent" button makes border-less blockquotes: own text.
        style = _attr_text(tag, "style").replace(" ", "").lower()
        own_indent = "border:none" in style and "gmail_quote" not in classes
        return None if own_indent and _attr_text(tag, "type") != "cite" else "block"
    if tag.name == "div" and ("gmail_quote" in classes or "yahoo_quoted" in classes):
        return "block"
    return None


def _leading_text(tag: Tag, limit: int = 400, max_nodes: int = 300) -> str:
    """The first text inside a tag, found without walking all of it (deep HTML stays linear)."""
    parts: list[str] = []
    size = visited = 0
    stack = [iter(tag.contents)]
    while stack and size < limit and visited < max_nodes:
        node = next(stack[-1], None)
        if node is None:
            stack.pop()
            continue
        visited += 1
        if isinstance(node, Tag):
            stack.append(iter(node.contents))
        elif type(node) is NavigableString:
            parts.append(str(node))
            size += len(node)
    return "".join(parts)[:limit]


def _removed(tag: Tag) -> bool:
    """Whether a tag went with an earlier decompose().

    Not `tag.decomposed`: on a live tag that property falls through to a search of the whole
    subtree for a child named "_decomposed", which makes deep HTML quadratic.
    """
    return bool(vars(tag).get("_decomposed", False))


def _remove(element: PageElement) -> None:
    if isinstance(element, Tag):
        element.decompose()
    else:
        element.extract()


def _drop_quotes(soup: BeautifulSoup, quotes: list[Tag], *, forwarded: bool) -> None:
    kept_forward = False
    for tag in quotes:
        if _removed(tag) or tag.parent is None:
            continue  # went with an earlier quote
        kind = _quote_kind(tag)
        if kind == "spacer":
            tag.decompose()
            continue
        if _FORWARD_TEXT.search(_leading_text(tag)):
            kept_forward = True  # a forward: what it quotes is the news
            continue
        if forwarded and not kept_forward:
            kept_forward = True  # the first quote of a forwarded mail holds what it forwards
            continue
        if kind == "outlook":
            node: PageElement | None = tag
            while node is not None and node is not soup:
                for sibling in list(node.next_siblings):
                    _remove(sibling)
                node = node.parent
        tag.decompose()


def _link_target(tag: Tag) -> str | None:
    """The http(s) address of a link, unwrapped from Outlook's safelinks."""
    href = _attr_text(tag, "href").strip()
    if not href.lower().startswith(("http://", "https://")):
        return None
    try:
        parts = urlsplit(href)
        if parts.hostname and parts.hostname.endswith("safelinks.protection.outlook.com"):
            href = parse_qs(parts.query).get("url", [href])[0]
    except ValueError:
        return None
    return href


class _TextSink:
    """Collects rendered text; block edges ask for line breaks that merge with <br>s."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pending = 0
        self.trailing = 0  # newlines at the end of what is written

    def _flush(self) -> None:
        if self.pending > self.trailing and self.parts:
            self.parts.append("\n" * (self.pending - self.trailing))
            self.trailing = self.pending
        self.pending = 0

    def text(self, text: str) -> None:
        if not text.strip(" "):
            if text and self.parts and not self.pending and not self.trailing:
                self.parts.append(" ")
            return
        self._flush()
        self.parts.append(text)
        self.trailing = 0

    def newline(self) -> None:
        self._flush()
        self.parts.append("\n")
        self.trailing += 1

    def lone_nbsp(self) -> None:
        """A block holding only &nbsp; is how Outlook and others write an empty line."""
        if self.pending or self.trailing or not self.parts:
            self.newline()
        else:
            self.text(" ")

    def brk(self, count: int) -> None:
        self.pending = max(self.pending, count)

    def result(self) -> str:
        lines = [_SPACES.sub(" ", line).strip() for line in "".join(self.parts).split("\n")]
        return _tidy(lines)


def _render(soup: BeautifulSoup) -> str:
    sink = _TextSink()
    preformatted = 0
    link_starts: list[int] = []  # where each open <a>'s text begins in sink.parts
    stack: list[tuple[PageElement, bool]] = [(soup, False)]
    while stack:
        node, leaving = stack.pop()
        if isinstance(node, NavigableString):
            # html.parser never closes an open <head> or <title>, so they may hold the whole
            # body: skip only their own text, never what they swallowed.
            parent = node.parent.name if node.parent is not None else None
            if parent in ("title", "head"):
                continue
            if type(node) is NavigableString or isinstance(node, CData):
                text = str(node).replace("\xa0", " ")
                if not preformatted and not text.strip() and "\xa0" in node:
                    sink.lone_nbsp()
                elif preformatted:
                    for number, piece in enumerate(text.replace("\r\n", "\n").split("\n")):
                        if number:
                            sink.newline()
                        sink.text(piece)
                else:
                    sink.text(_SPACES.sub(" ", text))
            continue
        if not isinstance(node, Tag):
            continue
        name = node.name
        if name in _PARAGRAPH_TAGS and "MsoNormal" in _attr_text(node, "class"):
            breaks = 1  # Outlook writes every line as a margin-less <p class=MsoNormal>
        elif name in _PARAGRAPH_TAGS:
            breaks = 2
        elif name in _LINE_TAGS:
            breaks = 1
        else:
            breaks = 0
        if leaving:
            if breaks:
                sink.brk(breaks)
            if name == "pre":
                preformatted -= 1
            if name == "a":
                start = link_starts.pop()
                target = _link_target(node)
                # A bounded look at the link's text: nested links must not cost n².
                shown = "".join(sink.parts[start : start + 64]).strip()
                bare = (target or "").split("://", 1)[-1].rstrip("/")
                if target and shown and bare not in shown:
                    sink.text(f" ({target})")
            continue
        if name == "br":
            sink.newline()
            continue
        if name in _CELL_TAGS:
            sink.text(" ")
        if breaks:
            sink.brk(breaks)
        if name == "pre":
            preformatted += 1
        if name == "a":
            link_starts.append(len(sink.parts))
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node.contents))
    return sink.result()


def html_to_text(html: str, *, forwarded: bool = False) -> str:
    """Readable text of an HTML mail body, without quoted earlier mails.

    Drops scripts, styles, the head, hidden elements and quoted blocks (blockquote,
    Gmail's and Yahoo's quotes, Outlook's reply header and all after it); with
    forwarded=True the first quote is kept, since a forward's quote is the news.
    """
    soup = _soup(html)
    unseen: list[Tag] = []
    quotes: list[Tag] = []
    for tag in soup.find_all(True):  # one walk over a tree that may be huge
        if tag.name in _UNSEEN_TAGS or _HIDDEN.search(_attr_text(tag, "style")):
            unseen.append(tag)
        elif _quote_kind(tag):
            quotes.append(tag)
    for tag in unseen:
        if not _removed(tag):
            tag.decompose()
    _drop_quotes(soup, quotes, forwarded=forwarded)
    return _render(soup)


_CID_REFERENCE = re.compile(r"cid:([^\s\"'<>)]+)", re.IGNORECASE)


def _cid_references(html: str) -> set[str]:
    return {unquote(found).strip("<>").lower() for found in _CID_REFERENCE.findall(html)}


def _signature_cid_references(html: str) -> set[str]:
    """Content ids of images inside a signature block (logos, social media icons)."""
    found: set[str] = set()
    soup = _soup(html)
    for image in soup.find_all("img", src=_CID_REFERENCE, limit=200):
        for parent in islice(image.parents, 30):
            marks = (_attr_text(parent, "class") + " " + _attr_text(parent, "id")).lower()
            if "signature" in marks:
                found |= _cid_references(_attr_text(image, "src"))
                break
    return found


# --- the MIME tree -------------------------------------------------------------------------


@dataclass
class _Segment:
    """A piece of body text as found: plain text, or HTML still to be converted."""

    kind: str  # "plain" or "html"
    raw: str


@dataclass(frozen=True)
class _Found:
    """A non-body part, before the inline and size decisions."""

    filename: str | None
    mime: str
    data: bytes
    disposition: str | None
    content_id: str | None
    problem: str | None


def _filename_of(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        return None
    if not name:
        return None
    name = _fix_surrogates(str(name))
    if "=?" in name:  # an encoded word inside a quoted parameter: wrong, and everywhere
        name = _decode_words(name)
    return _printable(name).strip() or None


def _content_id_of(part: Message) -> str | None:
    raw = _raw_value(part, "content-id")
    return raw.strip().strip("<>").strip() or None if raw else None


_BOUNDARY_LINE = re.compile(r"(?m)^--([^\s\"\\]{1,70}?)(?:--)?[ \t]*\r?$")
_PART_HEADER = re.compile(r"\r?\ncontent-[\w-]+[ \t]*:", re.IGNORECASE)


def _recover_multipart(content_type: str, payload: str) -> Message | None:
    """Re-read a multipart whose boundary is missing or wrong, using the first boundary line."""
    for match in _BOUNDARY_LINE.finditer(payload):
        boundary = match.group(1)
        if not any(ch.isalnum() for ch in boundary):
            continue  # a rule of dashes, not a boundary
        if not _PART_HEADER.match(payload, match.end()):
            continue  # "--Budi" signing off a text, not a part starting
        head = f'Content-Type: {content_type}; boundary="{boundary}"\r\n\r\n'.encode("ascii")
        body = payload.encode("utf-8", "surrogateescape")
        message = _parse_bytes(head + body)
        parts = message.get_payload()
        return message if isinstance(parts, list) and parts else None
    return None


class _Walker:
    """Walks one MIME tree: gathers body segments, attachments, HTML and attached mails."""

    def __init__(self, notes: _Notes) -> None:
        self.notes = notes
        self.found: list[_Found] = []
        self.html: list[str] = []
        self.messages: list[tuple[Message, tuple[int, ...]]] = []

    def visit(
        self, part: Message, path: tuple[int, ...], depth: int, *, recovered: bool = False
    ) -> list[_Segment]:
        where = _where(path)
        if depth > _MAX_DEPTH:
            self.notes.add(f"{where} nested too deeply; skipped")
            return []
        try:
            return self._visit(part, path, depth, recovered=recovered)
        except Exception as error:
            self.notes.add(f"could not read {where}: {type(error).__name__}")
            return []

    def _visit(
        self, part: Message, path: tuple[int, ...], depth: int, *, recovered: bool
    ) -> list[_Segment]:
        where = _where(path)
        if _cap_headers(part):
            self.notes.add(f"very long headers in {where} shortened")
        content_type = part.get_content_type()
        if content_type.startswith("multipart/"):
            return self._multipart(part, content_type, path, depth, recovered=recovered)
        if content_type in _ATTACHED_MESSAGE_TYPES:
            inner = self._attached_message(part)
            if inner is not None:
                self.messages.append((inner, path))
            return []
        disposition = part.get_content_disposition()
        filename = _filename_of(part)
        body_text = disposition != "attachment" and (filename is None or disposition == "inline")
        if content_type in ("text/plain", "text/html") and body_text:
            return self._text(part, content_type, where)
        if content_type.startswith("message/") or content_type in _SIGNATURE_TYPES:
            return []  # delivery reports and signatures: never news
        data, problem = self._payload(part, where)
        if problem:
            self.notes.add(f"{where} ({content_type}) could not be decoded")
        self.found.append(
            _Found(filename, content_type, data, disposition, _content_id_of(part), problem)
        )
        return []

    def _multipart(
        self,
        part: Message,
        content_type: str,
        path: tuple[int, ...],
        depth: int,
        *,
        recovered: bool,
    ) -> list[_Segment]:
        where = _where(path)
        payload = part.get_payload()
        self._note_defects(part, where)
        if not isinstance(payload, list):
            if not recovered and isinstance(payload, str):
                again = _recover_multipart(content_type, payload)
                if again is not None:
                    self.notes.add(f"{where}: read with the boundary found in its body")
                    return self.visit(again, path, depth + 1, recovered=True)
            self.notes.add(f"{where} ({content_type}) has no readable parts; read as plain text")
            data, _ = self._payload(part, where)
            text = _decode_text(data, part.get_content_charset(), where, self.notes)
            return [_Segment("plain", text)] if text.strip() else []
        children = [
            (child, (*path, number))
            for number, child in enumerate(payload, 1)
            if isinstance(child, Message)
        ]
        if not children:
            self.notes.add(f"{where} ({content_type}) has no parts")
            return []
        results = [self.visit(child, child_path, depth + 1) for child, child_path in children]
        if content_type == "multipart/alternative":
            return _choose_alternative(results)
        return [segment for result in results for segment in result]

    def _attached_message(self, part: Message) -> Message | None:
        payload = part.get_payload()
        if isinstance(payload, list):
            return next((item for item in payload if isinstance(item, Message)), None)
        data = part.get_payload(decode=True)  # an encoded message/rfc822, against the rules
        if isinstance(data, bytes) and data.strip():
            return _parse_bytes(data)
        return None

    def _text(self, part: Message, content_type: str, where: str) -> list[_Segment]:
        data, _ = self._payload(part, where)
        text = _decode_text(data, part.get_content_charset(), where, self.notes)
        if content_type == "text/html":
            text = _DATA_URI.sub("data:", text)
            if len(text) > _MAX_HTML_CHARS:
                self.notes.add(f"{where}: HTML of {len(text)} characters cut to {_MAX_HTML_CHARS}")
                text = text[:_MAX_HTML_CHARS]
            self.html.append(text)
            return [_Segment("html", text)]
        if str(part.get_param("format") or "").lower() == "flowed":
            delsp = str(part.get_param("delsp") or "").lower() == "yes"
            text = _unflow(text, delsp=delsp)
        return [_Segment("plain", text)]

    def _payload(self, part: Message, where: str) -> tuple[bytes, str | None]:
        """The decoded bytes of a leaf part, or b"" and "undecodable"."""
        try:
            data = part.get_payload(decode=True)
        except Exception:
            return b"", "undecodable"
        self._note_defects(part, where)
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        if not isinstance(data, bytes):
            return b"", "undecodable"
        if any(type(d).__name__ == "InvalidBase64LengthDefect" for d in part.defects):
            return b"", "undecodable"  # the decoder gave the base64 text back unchanged
        return data, None

    def _note_defects(self, part: Message, where: str) -> None:
        for defect in getattr(part, "defects", ()):
            name = type(defect).__name__
            self.notes.add(f"{_DEFECTS.get(name, name)} in {where}")


def _plain_text(segments: Iterable[_Segment]) -> str:
    return "\n\n".join(segment.raw for segment in segments)


def _choose_alternative(results: list[list[_Segment]]) -> list[_Segment]:
    """Plain text when it says something, else the richest HTML, else whatever there is."""
    for segments in results:
        plain = segments and all(segment.kind == "plain" for segment in segments)
        if plain and clean_body(_plain_text(segments)).strip():
            return segments
    for segments in reversed(results):
        if any(segment.kind == "html" for segment in segments):
            return segments
    return next((segments for segments in results if segments), [])


def _segments_text(segments: list[_Segment], *, forwarded: bool, notes: _Notes) -> str:
    texts: list[str] = []
    for segment in segments:
        if segment.kind != "html":
            texts.append(segment.raw)
            continue
        try:
            texts.append(html_to_text(segment.raw, forwarded=forwarded))
        except Exception as error:
            notes.add(f"could not convert HTML ({type(error).__name__}); tags stripped instead")
            texts.append(html_module.unescape(re.sub(r"<[^>]*>", " ", segment.raw)))
    return "\n\n".join(texts)


def _body_of(message: Message, walker: _Walker, path: tuple[int, ...], depth: int) -> str:
    """The clean body of a message, or of the mail it carries when its own text is empty."""
    _cap_headers(message)
    subject = _collapse(_decoded_header(message, "subject"))
    _, forwarded = _title_of(subject)
    segments = walker.visit(message, path, depth)
    body = clean_body(
        _segments_text(segments, forwarded=forwarded, notes=walker.notes), forwarded=forwarded
    )
    if not _only_boilerplate(body) or depth >= _MAX_DEPTH:
        return body
    # Forwarded as an attachment: the attached mail's text is the news. Its own files are
    # beyond this reader; a throwaway walker keeps them out of the outer mail's attachments.
    for inner, inner_path in walker.messages:
        inner_body = _body_of(inner, _Walker(walker.notes), inner_path, depth + 1)
        if not _only_boilerplate(inner_body):
            return inner_body
    return body


def _attachments_of(walker: _Walker, max_attachment_bytes: int) -> tuple[Attachment, ...]:
    references: set[str] = set()
    for html in walker.html:
        references |= _cid_references(html)
    signature_references: set[str] | None = None
    attachments: list[Attachment] = []
    for found in walker.found:
        content_id = found.content_id.lower() if found.content_id else None
        is_image = found.mime.startswith("image/")
        inline = (content_id is not None and content_id in references) or (
            found.disposition == "inline" and is_image
        )
        size = len(found.data)
        if inline and is_image and found.problem is None:
            if size < _TINY_INLINE_IMAGE:
                continue
            if size < _SIGNATURE_IMAGE and content_id is not None:
                if signature_references is None:
                    signature_references = _signature_references(walker)
                if content_id in signature_references:
                    continue
        data, problem = found.data, found.problem
        if problem is None and size > max_attachment_bytes:
            data, problem = b"", "too_large"
            walker.notes.add(
                f"attachment {_short(found.filename or found.mime)} has {size} bytes, "
                f"over the limit of {max_attachment_bytes}; data dropped"
            )
        attachments.append(
            Attachment(
                filename=found.filename,
                mime=found.mime,
                data=data,
                inline=inline,
                content_id=found.content_id,
                problem=problem,
                size=size,
            )
        )
    return tuple(attachments)


def _signature_references(walker: _Walker) -> set[str]:
    found: set[str] = set()
    for html in walker.html:
        try:
            found |= _signature_cid_references(html)
        except Exception:
            walker.notes.add("could not look for signature images in the HTML")
    return found


def parse_mail(raw: bytes, *, max_attachment_bytes: int) -> ParsedMail:
    """Read one raw mail; never raises: what could not be read is left out and noted."""
    notes = _Notes()
    try:
        data = bytes(raw)
    except Exception:  # not bytes at all: the contract is broken, the promise still holds
        data = str(raw).encode("utf-8", "replace")
    made_id = f"nomsgid-{hashlib.sha256(data).hexdigest()[:16]}@warta"
    try:
        return _parse(data, max_attachment_bytes, made_id, notes)
    except Exception as error:
        notes.add(f"could not read the mail: {type(error).__name__}")
        return ParsedMail(
            message_id=made_id,
            sender="",
            sender_name=None,
            subject="",
            title="",
            body="",
            in_reply_to=None,
            references=(),
            date=None,
            attachments=(),
            automatic=False,
            notes=notes.all(),
        )


def _parse(data: bytes, max_attachment_bytes: int, made_id: str, notes: _Notes) -> ParsedMail:
    message = _parse_bytes(data)
    if _cap_headers(message):
        notes.add("very long headers in the message shortened")
    message_ids = _message_ids(_raw_value(message, "message-id") or "", loose=True)
    message_id = message_ids[0] if message_ids else ""
    if not message_id:
        message_id = made_id
        notes.add(f"no Message-ID; using {made_id}")
    sender, sender_name = _sender_of(message)
    if not sender:
        notes.add("no sender address in From")
    subject = _collapse(_decoded_header(message, "subject"))
    title, _ = _title_of(subject)
    in_reply_to = _message_ids(_raw_value(message, "in-reply-to") or "", loose=False)
    references = _message_ids(" ".join(_raw_values(message, "references")), loose=False)
    walker = _Walker(notes)
    body = _body_of(message, walker, (), 0)
    return ParsedMail(
        message_id=message_id,
        sender=sender,
        sender_name=sender_name,
        subject=subject,
        title=title,
        body=body,
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        # Without repeats, each id kept at its last place: the last is the parent mail.
        references=tuple(reversed(dict.fromkeys(reversed(references)))),
        date=_date_of(message, notes),
        attachments=_attachments_of(walker, max_attachment_bytes),
        automatic=_is_automatic(message, sender),
        notes=notes.all(),
    )


# --- documents -----------------------------------------------------------------------------


def _document_kind(filename: str | None, mime: str, data: bytes) -> str | None:
    """ "docx" or "pdf" when both the declared type and the bytes say so."""
    name = (filename or "").lower()
    mime = mime.lower()
    looks_pdf = b"%PDF-" in data[:1024]
    looks_zip = data[:4] == b"PK\x03\x04"
    if mime == "application/pdf" or name.endswith(".pdf"):
        return "pdf" if looks_pdf else None
    if mime == _DOCX_MIME or name.endswith(".docx"):
        return "docx" if looks_zip else None
    if mime in ("application/octet-stream", "") and not name:
        return "pdf" if looks_pdf else "docx" if looks_zip else None
    return None


def extract_text(
    filename: str | None, mime: str, data: bytes, *, max_chars: int = 20000
) -> str | None:
    """Text of a .docx (python-docx: paragraphs and table cells, in order) or .pdf (pypdf: page
    text), None for other types or when reading fails (never raises; encrypted pdf → None; a
    zip bomb or huge file must not hang: stop after max_chars)."""
    try:
        kind = _document_kind(filename, mime, data)
        if kind == "docx":
            return _docx_text(data, max_chars)
        if kind == "pdf":
            return _pdf_text(data, max_chars)
    except Exception:
        return None
    return None


class _Collector:
    """Text pieces up to max_chars; says when it is full so readers can stop early."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max(0, max_chars)
        self.pieces: list[str] = []
        self.size = 0

    @property
    def full(self) -> bool:
        return self.size >= self.max_chars

    def add(self, text: str) -> None:
        if not self.full:
            self.pieces.append(text)
            self.size += len(text) + 1

    def text(self, separator: str) -> str:
        lines = _lines(separator.join(self.pieces))
        return _tidy(lines)[: self.max_chars]


def _docx_text(data: bytes, max_chars: int) -> str | None:
    # python-docx reads every part whole: refuse archives that unpack to absurd sizes first.
    # zipfile never inflates past an entry's declared size, so the declared sizes are a bound.
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = archive.infolist()
        if len(entries) > _MAX_ZIP_ENTRIES:
            return None
        if sum(entry.file_size for entry in entries) > _MAX_UNZIPPED_BYTES:
            return None
    document = docx.Document(io.BytesIO(data))
    collector = _Collector(max_chars)
    pending: list[object] = list(document.iter_inner_content())
    pending.reverse()
    while pending and not collector.full:
        block = pending.pop()
        if isinstance(block, Table):
            seen: set[int] = set()
            cells = []
            for row in block.rows:
                for cell in row.cells:
                    if id(cell._tc) not in seen:  # a merged cell repeats in every row it spans
                        seen.add(id(cell._tc))
                        cells.append(cell)
            for cell in reversed(cells):
                pending.extend(reversed(list(cell.iter_inner_content())))
        else:
            collector.add(getattr(block, "text", ""))
    return collector.text("\n")


def _pdf_text(data: bytes, max_chars: int) -> str | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pypdf warns about every quirk of real-world files
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            return None
        collector = _Collector(max_chars)
        for number, page in enumerate(reader.pages):
            if number >= _MAX_PDF_PAGES or collector.full:
                break
            collector.add(page.extract_text() or "")
    return collector.text("\n\n")
