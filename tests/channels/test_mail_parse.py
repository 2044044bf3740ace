"""Reading raw e-mail into a news submission: headers, clean body, attachments, documents."""

from __future__ import annotations

import functools
import io
import textwrap
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage

import docx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter

from bot.channels.mail_parse import (
    Attachment,
    ParsedMail,
    clean_body,
    extract_text,
    html_to_text,
    parse_mail,
)

LIMIT = 5_000_000
SENDER = "Budi Santoso <Budi.Santoso@Pemkot.Example.id>"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PHOTO = bytes(range(256)) * 20  # 5 KB of "jpeg"
LOGO = bytes(range(256)) * 6  # 1.5 KB: a signature logo
PIXEL = b"GIF89a\x01\x00\x01\x00" + bytes(40)
STORY = "Wali Kota membuka Musrenbang di Aula Peteng Karuhei."


def parse(raw: bytes | str, *, limit: int = LIMIT) -> ParsedMail:
    if isinstance(raw, str):
        raw = textwrap.dedent(raw).lstrip("\n").encode("utf-8")
    return parse_mail(raw, max_attachment_bytes=limit)


def message(subject: str = "Liputan Musrenbang", **headers: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = SENDER
    mail["To"] = "redaksi@warta.example.id"
    mail["Subject"] = subject
    mail["Message-ID"] = "<m1@pemkot.example.id>"
    mail["Date"] = "Mon, 30 Nov 2026 10:00:00 +0700"
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    return mail


def plain_mail(body: str, subject: str = "Liputan Musrenbang", **headers: str) -> bytes:
    mail = message(subject, **headers)
    mail.set_content(body)
    return mail.as_bytes()


def html_mail(html: str, subject: str = "Liputan Musrenbang") -> bytes:
    mail = message(subject)
    mail.set_content(html, subtype="html")
    return mail.as_bytes()


def tiny_pdf(*texts: str) -> bytes:
    """A real one-page-per-text PDF, written by hand: pypdf cannot author text."""
    count = len(texts)
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(b"%d 0 R" % (4 + 2 * n) for n in range(count))
        + b"] /Count %d >>" % count,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for number, text in enumerate(texts):
        stream = b"BT /F1 18 Tf 40 700 Td (" + text.encode("latin-1") + b") Tj ET"
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R"
            b" /Resources << /Font << /F1 3 0 R >> >> >>" % (5 + 2 * number)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def tiny_docx() -> bytes:
    document = docx.Document()
    document.add_paragraph("Wali Kota Buka Musrenbang")
    document.add_paragraph("PALANGKA RAYA – Musrenbang dibuka hari ini.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Acara"
    table.cell(0, 1).text = "Waktu"
    table.cell(1, 0).text = "Pembukaan"
    table.cell(1, 1).text = "09.00 WIB"
    document.add_paragraph("Penutup rilis.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# --- plain text and headers ---------------------------------------------------------------


def test_plain_text_mail_gives_headers_and_body():
    mail = message(
        "Re: [Berita] Wali Kota Buka Musrenbang",
        Reply_To="lain@example.id",
        In_Reply_To="<first@pemkot.example.id>",
        References="<zero@pemkot.example.id> <first@pemkot.example.id>",
    )
    mail.set_content(f"Yth. Redaksi,\n\n{STORY}\n\nSalam,\nBudi\n")
    parsed = parse(mail.as_bytes())
    assert parsed.message_id == "m1@pemkot.example.id"
    assert parsed.sender == "budi.santoso@pemkot.example.id"  # From, never Reply-To
    assert parsed.sender_name == "Budi Santoso"
    assert parsed.subject == "Re: [Berita] Wali Kota Buka Musrenbang"
    assert parsed.title == "Wali Kota Buka Musrenbang"
    assert parsed.body == f"Yth. Redaksi,\n\n{STORY}\n\nSalam,\nBudi"
    assert parsed.in_reply_to == "first@pemkot.example.id"
    assert parsed.references == ("zero@pemkot.example.id", "first@pemkot.example.id")
    assert parsed.date == datetime(2026, 11, 30, 10, tzinfo=timezone(timedelta(hours=7)))
    assert parsed.attachments == ()
    assert parsed.automatic is False
    assert parsed.notes == ()


def test_missing_message_id_gets_a_stable_made_up_id():
    mail = EmailMessage()
    mail["From"] = SENDER
    mail["Subject"] = "Tanpa id"
    mail.set_content(STORY)
    raw = mail.as_bytes()
    first, again = parse(raw), parse(raw)
    other = parse(raw.replace(b"Tanpa id", b"Tanpa id lain"))
    assert first.message_id.startswith("nomsgid-")
    assert first.message_id.endswith("@warta")
    assert len(first.message_id) == len("nomsgid-") + 16 + len("@warta")
    assert first.message_id == again.message_id
    assert other.message_id != first.message_id
    assert any("Message-ID" in note for note in first.notes)
    assert first.date is None


def test_message_id_without_brackets_and_odd_reply_headers():
    parsed = parse(
        """
        From: budi@pemkot.example.id
        Message-ID: bare-id@host
        In-Reply-To: Your message of Monday <a@host> <b@host>
        References: <a@host>
         <b@host> <a@host>
        Date: Mon, 30 Nov 2026 03:00:00 -0000
        Subject: x

        Isi.
        """
    )
    assert parsed.message_id == "bare-id@host"
    assert parsed.in_reply_to == "a@host"
    assert parsed.references == ("b@host", "a@host")  # the parent stays last
    assert parsed.date == datetime(2026, 11, 30, 3, tzinfo=UTC)
    assert parsed.sender_name is None


def test_indonesian_zone_names_in_date_are_understood():
    raw = plain_mail(STORY).replace(b"+0700", b"WITA")
    assert parse(raw).date == datetime(2026, 11, 30, 10, tzinfo=timezone(timedelta(hours=8)))


def test_absurdly_long_headers_are_shortened_not_choked_on():
    # The standard library's header parser is quadratic: each of these took seconds to minutes.
    raw = (
        b"From: " + b"=?utf-8?q?a?= " * 20000 + b"<budi@x.id>\n"
        b"Subject: " + b"x " * 100000 + b"\n"
        b"Content-Type: text/plain; " + b'a="b"; ' * 20000 + b"\n\nIsi.\n"
    )
    parsed = parse(raw)
    assert parsed.body == "Isi."
    assert len(parsed.subject) < 3000
    assert any("long headers" in note for note in parsed.notes)


def test_unreadable_date_is_none_with_a_note():
    parsed = parse(plain_mail(STORY).replace(b"Mon, 30 Nov 2026 10:00:00 +0700", b"besok pagi"))
    assert parsed.date is None
    assert any("Date" in note for note in parsed.notes)


def test_mail_without_from_has_empty_sender():
    parsed = parse("Subject: siapa?\n\nIsi tanpa pengirim.\n")
    assert parsed.sender == ""
    assert parsed.body == "Isi tanpa pengirim."


@pytest.mark.parametrize(
    ("subject", "title"),
    [
        ("RE: Fwd: [Berita] Wali Kota Buka Musrenbang", "Wali Kota Buka Musrenbang"),
        ("Re: Re: RE: Musrenbang", "Musrenbang"),
        ("Re[2]: Musrenbang", "Musrenbang"),
        ("FW: Fw: fwd: Musrenbang", "Musrenbang"),
        ("AW: WG: TR: Musrenbang", "Musrenbang"),
        ("Balas: Bls: Teruskan: Trs: Musrenbang", "Musrenbang"),
        ("[BERITA] [Liputan] [Rilis] Musrenbang", "Musrenbang"),
        ("[EXTERNAL] RE : Musrenbang", "Musrenbang"),
        ("bls: [berita]   Musrenbang   2026", "Musrenbang 2026"),
        ("Musrenbang: Re: usulan warga", "Musrenbang: Re: usulan warga"),
        ("Rencana Musrenbang", "Rencana Musrenbang"),
        ("Trsn Musrenbang", "Trsn Musrenbang"),
        ("", ""),
    ],
)
def test_title_strips_reply_forward_and_tag_prefixes(subject, title):
    assert parse(plain_mail(STORY, subject)).title == title


def test_encoded_word_subjects_and_sender_name():
    parsed = parse(
        """
        From: =?UTF-8?B?QnVkaSBTYW50b3NvIMOp?= <budi@pemkot.example.id>
        Subject: =?UTF-8?B?V2FsaSBLb3RhIOKAkyBNdXNyZW5iYW5n?=
        Message-ID: <q@x>

        Isi.
        """
    )
    assert parsed.subject == "Wali Kota – Musrenbang"
    assert parsed.sender_name == "Budi Santoso é"
    latin = parse(
        """
        From: =?iso-8859-1?Q?Andr=E9_M=FCller?= <andre@example.id>
        Subject: =?iso-8859-1?Q?Caf=E9_M=FCller?=
         =?iso-8859-1?Q?_dibuka?=
        Message-ID: <q2@x>

        Isi.
        """
    )
    assert latin.subject == "Café Müller dibuka"
    assert latin.title == "Café Müller dibuka"
    assert latin.sender_name == "André Müller"


def test_raw_utf8_subject_is_read():
    raw = "From: budi@x.id\nSubject: Kunjungan ke Bukit Tangkiling – é\n\nIsi.\n".encode()
    assert parse(raw).subject == "Kunjungan ke Bukit Tangkiling – é"


# --- automatic mail ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"Auto_Submitted": "auto-generated (vacation)"},
        {"X_Autoreply": "yes"},
        {"X_Autorespond": "Out of office"},
        {"Precedence": "bulk"},
        {"Precedence": "junk"},
        {"Precedence": "list"},
        {"Precedence": "auto_reply"},
        {"List_Id": "Humas <humas.pemkot.example.id>"},
    ],
)
def test_automatic_mail_is_recognised(headers):
    assert parse(plain_mail("Saya sedang cuti.", **headers)).automatic is True


@pytest.mark.parametrize(
    "sender",
    ["MAILER-DAEMON@mx.example.id", "Mail Delivery System <mailer-daemon@x.id>", "postmaster@x"],
)
def test_bounce_senders_are_automatic(sender):
    mail = message()
    del mail["From"]
    mail["From"] = sender
    mail.set_content("Undeliverable")
    assert parse(mail.as_bytes()).automatic is True


def test_delivery_report_is_automatic():
    parsed = parse(
        """
        From: Mail Server <server@x.id>
        Subject: Delivery Status Notification
        Content-Type: multipart/report; report-type=delivery-status; boundary="R"

        --R
        Content-Type: text/plain

        Pesan tidak terkirim.
        --R
        Content-Type: message/delivery-status

        Reporting-MTA: dns; mx.x.id

        Final-Recipient: rfc822; nobody@x.id
        Action: failed
        --R--
        """
    )
    assert parsed.automatic is True
    assert parsed.body == "Pesan tidak terkirim."
    assert parsed.attachments == ()


def test_person_mail_is_not_automatic():
    for headers in ({"Auto_Submitted": "no"}, {"Precedence": "first-class"}, {}):
        assert parse(plain_mail(STORY, **headers)).automatic is False


# --- HTML ------------------------------------------------------------------------------------

GMAIL_REPLY_HTML = """
<html><head><style>p { color: red }</style><title>ignored</title></head><body>
<div dir="ltr">Yth.&nbsp;Redaksi,<br><br>Berikut   liputan &amp; foto&nbsp;&nbsp;kegiatan.<br>
<div>Wali Kota &quot;membuka&quot; Musrenbang.</div><div><br></div><div>Salam</div>
<script>alert("x")</script>
</div><br>
<div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon, Nov 30, 2026 at 9:00 AM
Ani &lt;ani@x.id&gt; wrote:<br></div>
<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid">
Mohon kirim liputannya.</blockquote></div>
</body></html>
"""


def test_html_only_mail_drops_quotes_and_decodes_entities():
    parsed = parse(html_mail(GMAIL_REPLY_HTML, "Re: Liputan"))
    assert parsed.body == (
        "Yth. Redaksi,\n\nBerikut liputan & foto kegiatan.\n"
        'Wali Kota "membuka" Musrenbang.\n\nSalam'
    )


def test_outlook_word_html_reply_keeps_empty_lines_and_drops_the_old_mail():
    html = (
        "<html><head><style><!-- p.MsoNormal {margin:0cm} --></style></head><body>"
        "<div class=WordSection1><p class=MsoNormal>Baik, terima kasih.<o:p></o:p></p>"
        "<p class=MsoNormal><o:p>&nbsp;</o:p></p><p class=MsoNormal>Salam,<o:p></o:p></p>"
        "<p class=MsoNormal>Dedi<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p>"
        "<div style='border:none;border-top:solid #E1E1E1 1.0pt'><p class=MsoNormal>"
        "<b>From:</b> Ani &lt;ani@x.id&gt;<br><b>Sent:</b> Monday, November 30, 2026 9:00 AM<br>"
        "<b>To:</b> Dedi<br><b>Subject:</b> Rilis</p></div>"
        "<p class=MsoNormal>Isi lama</p></div></body></html>"
    )
    assert parse(html_mail(html, "RE: Rilis")).body == "Baik, terima kasih.\n\nSalam,\nDedi"


def test_gmail_html_signature_and_indonesian_quote_go():
    html = (
        '<div dir="ltr">Siap, kami liput.<br clear="all"><div><br></div>'
        '<span class="gmail_signature_prefix">-- </span><br>'
        '<div dir="ltr" class="gmail_signature">Budi<br>Humas</div></div><br>'
        '<div class="gmail_quote"><div dir="ltr" class="gmail_attr">Pada tanggal Sen, 30 Nov 2026'
        ' pukul 10.00 Ani &lt;<a href="mailto:ani@x.id">ani@x.id</a>&gt; menulis:<br></div>'
        '<blockquote class="gmail_quote">Mohon diliput.</blockquote></div>'
    )
    assert parse(html_mail(html, "Balas: Undangan")).body == "Siap, kami liput."


def test_html_to_text_blocks_paragraphs_and_breaks():
    html = (
        "<h1>Judul</h1><p>Paragraf   satu\n baris.</p><p>Paragraf<br>dua</p>"
        "<ul><li>satu</li><li>dua</li></ul>"
        "<table><tr><td>Acara</td><td>Waktu</td></tr><tr><td>Buka</td><td>09.00</td></tr></table>"
        "<div>a</div><div>b<br></div><div>c</div>x<br><br><br><br>y"
    )
    assert html_to_text(html) == (
        "Judul\n\nParagraf satu baris.\n\nParagraf\ndua\n\nsatu\ndua\n"
        "Acara Waktu\nBuka 09.00\na\nb\nc\nx\n\ny"
    )


def test_html_to_text_drops_hidden_parts_and_keeps_body_of_an_unclosed_head():
    html = (
        "<html><head><title>t</title><meta charset=utf-8><body>"
        '<span style="display: none">pratinjau</span><p>Isi &lt;penting&gt;</p>'
        "<!-- komentar --><noscript>n</noscript></body>"
    )
    assert html_to_text(html) == "Isi <penting>"


def test_html_to_text_drops_blockquote_yahoo_and_outlook_quotes():
    yahoo = '<div>Balasan saya.</div><div class="yahoo_quoted">On Monday, Ani wrote: lama</div>'
    assert html_to_text(yahoo) == "Balasan saya."
    assert html_to_text("<p>Atas</p><blockquote type='cite'>dikutip</blockquote><p>Bawah</p>") == (
        "Atas\n\nBawah"
    )
    outlook = (
        '<div><div>Terima kasih, sudah kami terima.</div><div id="appendonsend"></div>'
        '<hr style="display:inline-block;width:98%"><div id="divRplyFwdMsg" dir="ltr">'
        "<b>From:</b> Ani &lt;ani@x.id&gt;<br><b>Sent:</b> Monday<br><b>Subject:</b> Rilis"
        "</div><div>Isi pesan lama</div></div><p>footer lama</p>"
    )
    assert html_to_text(outlook) == "Terima kasih, sudah kami terima."


def test_html_to_text_keeps_gmail_indent_and_link_addresses():
    html = (
        '<div>Kutipan Wali Kota:</div><blockquote style="margin:0 0 0 40px;border:none;'
        'padding:0px"><div>"Usulan warga jadi dasar."</div></blockquote>'
        '<div>Foto <a href="https://drive.google.com/abc">di sini</a>, '
        '<a href="https://warta.example.id">https://warta.example.id</a></div>'
    )
    assert html_to_text(html) == (
        'Kutipan Wali Kota:\n"Usulan warga jadi dasar."\n'
        "Foto di sini (https://drive.google.com/abc), https://warta.example.id"
    )


def test_pictures_pasted_as_data_uris_do_not_crowd_out_the_text():
    picture = "data:image/png;base64," + "A" * 3_000_000
    parsed = parse(html_mail(f'<p>Foto:</p><img src="{picture}"><p>{STORY}</p>'))
    assert parsed.body == f"Foto:\n\n{STORY}"


def test_html_to_text_survives_deep_nesting_and_odd_input():
    assert html_to_text("<div>" * 5000 + "dalam" + "</div>" * 5000) == "dalam"
    nested_quotes = "<blockquote>Forwarded message" * 5000
    assert html_to_text(nested_quotes, forwarded=True).startswith("Forwarded message\n")
    assert html_to_text('<a href="https://x.id">a' * 5000).startswith("a")
    assert html_to_text("<title>" * 5000 + "judul") == ""
    assert html_to_text("") == ""
    assert html_to_text("http://hanya-alamat.example") == "http://hanya-alamat.example"
    assert html_to_text("<?xml version='1.0'?><p>x</p>") == "x"
    assert html_to_text("<p>a <b>tebal</b><i>miring</i> b</p>") == "a tebalmiring b"


def test_multipart_alternative_prefers_plain():
    mail = message()
    mail.set_content("Teks polos: " + STORY)
    mail.add_alternative("<p>Teks <b>HTML</b></p>", subtype="html")
    assert parse(mail.as_bytes()).body == "Teks polos: " + STORY


@pytest.mark.parametrize("plain", ["", "   \n\n", "> hanya kutipan\n"])
def test_multipart_alternative_falls_back_to_html_when_plain_is_empty(plain):
    mail = message()
    mail.set_content(plain)
    mail.add_alternative(f"<p>{STORY}</p>", subtype="html")
    assert parse(mail.as_bytes()).body == STORY


def test_text_parts_with_attachment_disposition_are_attachments():
    mail = message()
    mail.set_content(STORY)
    mail.add_attachment("catatan panitia", filename="catatan.txt")
    mail.add_attachment("<p>rilis</p>", subtype="html", filename="rilis.html")
    parsed = parse(mail.as_bytes())
    assert parsed.body == STORY
    assert [(a.filename, a.mime, a.data) for a in parsed.attachments] == [
        ("catatan.txt", "text/plain", b"catatan panitia\n"),
        ("rilis.html", "text/html", b"<p>rilis</p>\n"),
    ]


def test_inline_text_parts_around_an_image_are_joined():
    mail = message()
    mail.set_content("Bagian pertama.")
    mail.add_attachment(PHOTO, "image", "jpeg", filename="a.jpg", disposition="inline")
    mail.add_attachment("Bagian kedua.", disposition="inline")
    parsed = parse(mail.as_bytes())
    assert parsed.body == "Bagian pertama.\n\nBagian kedua."
    assert [(a.filename, a.inline) for a in parsed.attachments] == [("a.jpg", True)]


# --- forwards ------------------------------------------------------------------------------


def test_gmail_forward_in_english_keeps_the_forwarded_text():
    body = (
        "Mohon dimuat.\n\n-- \nBudi\nHumas\n\n"
        "---------- Forwarded message ---------\n"
        "From: Ani <ani@diskominfo.example.id>\n"
        "Date: Mon, 30 Nov 2026 at 09:00\n"
        "Subject: Rilis Musrenbang\n"
        "To: <humas@pemkot.example.id>\n"
        "Cc: Dedi <dedi@x.id>\n\n\n"
        f"{STORY}\n\nSalam,\nAni\n-- \nAni | Diskominfo\n"
    )
    parsed = parse(plain_mail(body, "Fwd: Rilis Musrenbang"))
    assert parsed.title == "Rilis Musrenbang"
    assert parsed.body == f"Mohon dimuat.\n\n{STORY}\n\nSalam,\nAni"


def test_gmail_forward_in_indonesian_keeps_the_forwarded_text():
    body = (
        "-------- Pesan Terusan --------\n"
        "Dari: Ani <ani@diskominfo.example.id>\n"
        "Tanggal: Sen, 30 Nov 2026 pukul 09.00\n"
        "Subjek: Rilis Musrenbang\n"
        "Kepada: <humas@pemkot.example.id>\n\n"
        f"{STORY}\n\nDikirim dari iPhone saya\n"
    )
    assert parse(plain_mail(body, "Teruskan: Rilis")).body == STORY


def test_marker_alone_makes_a_forward_without_a_forward_subject():
    body = f"Begin forwarded message:\n\nFrom: Ani <ani@x.id>\nSubject: Rilis\n\n{STORY}\n"
    assert parse(plain_mail(body, "Rilis")).body == STORY


def test_gmail_html_forward_keeps_its_quote():
    html = (
        '<div dir="ltr">Untuk dimuat.<br><br><div class="gmail_quote">'
        '<div dir="ltr" class="gmail_attr">---------- Forwarded message ---------<br>'
        'From: <strong class="gmail_sendername">Ani</strong> <span>&lt;ani@x.id&gt;</span><br>'
        "Date: Mon, 30 Nov 2026 at 09:00<br>Subject: Rilis<br>To: &lt;humas@x.id&gt;<br></div>"
        f'<br><br><div dir="ltr"><p>{STORY}</p><div class="gmail_quote"><div class="gmail_attr">'
        "On Sun, 29 Nov 2026 at 08:00 Dedi &lt;d@x.id&gt; wrote:</div>"
        '<blockquote class="gmail_quote">permintaan lama</blockquote></div></div></div></div>'
    )
    assert parse(html_mail(html, "Fwd: Rilis")).body == f"Untuk dimuat.\n\n{STORY}"


def test_outlook_html_forward_keeps_what_follows_its_header():
    html = (
        '<div>Mohon dimuat</div><div id="appendonsend"></div><hr>'
        '<div id="divRplyFwdMsg" dir="ltr"><b>From:</b> Ani &lt;ani@x.id&gt;<br>'
        "<b>Sent:</b> Monday, November 30, 2026 9:00 AM<br><b>To:</b> Humas<br>"
        "<b>Subject:</b> Rilis</div>"
        f"<div><p class=MsoNormal>{STORY}</p><p class=MsoNormal>Salam, Ani</p></div>"
    )
    assert parse(html_mail(html, "FW: Rilis")).body == f"Mohon dimuat\n\n{STORY}\nSalam, Ani"
    # The same HTML answering a mail is a reply: the old mail goes.
    assert parse(html_mail(html, "RE: Rilis")).body == "Mohon dimuat"


def test_apple_mail_html_forward_keeps_the_cited_mail():
    html = (
        '<div>Untuk dimuat.<br><div><br><blockquote type="cite"><div>Begin forwarded message:'
        "</div><br><div><b>From: </b>Ani &lt;ani@x.id&gt;</div><div><b>Subject: </b>Rilis</div>"
        f"<div><b>Date: </b>30 November 2026 09.00.00 WIB</div><br><div>{STORY}</div>"
        "</blockquote></div></div>"
    )
    assert parse(html_mail(html, "Fwd: Rilis")).body == f"Untuk dimuat.\n\n{STORY}"


def test_thunderbird_plain_forward_with_tabbed_headers():
    body = (
        "\n\n-------- Forwarded Message --------\nSubject: \tRilis\n"
        "Date: \tMon, 30 Nov 2026 09:00:00 +0700\nFrom: \tAni <ani@x.id>\nTo: \thumas@x.id\n\n"
        f"{STORY}\n"
    )
    assert parse(plain_mail(body, "Fwd: Rilis")).body == STORY


def test_outlook_plain_forward_keeps_the_forwarded_text():
    body = (
        "Mohon dimuat.\n\n________________________________\n"
        "Dari: Ani <ani@x.id>\nDikirim: Senin, 30 November 2026 09.00\n"
        "Kepada: Humas\nPerihal: Rilis\n\n"
        f"{STORY}\n\n-----Original Message-----\nFrom: Dedi\nSent: Sunday\n\nlama sekali\n"
    )
    assert parse(plain_mail(body, "FW: Rilis")).body == f"Mohon dimuat.\n\n{STORY}"


def test_forward_as_attachment_takes_the_attached_mail_body():
    inner = message("Rilis Musrenbang")
    inner.set_content(f"{STORY}\n\n-- \nAni")
    inner.add_attachment(PHOTO, "image", "jpeg", filename="dalam.jpg")
    outer = message("Fwd: Rilis Musrenbang")
    outer.set_content("")
    outer.add_attachment(inner)
    parsed = parse(outer.as_bytes())
    assert parsed.body == STORY
    assert parsed.attachments == ()  # the attached mail's own files are not read


def test_forward_as_attachment_is_ignored_when_the_outer_body_says_something():
    inner = message("Rilis Musrenbang")
    inner.set_content(STORY)
    outer = message("Fwd: Rilis Musrenbang")
    outer.set_content("Isi saya sendiri.")
    outer.add_attachment(inner)
    assert parse(outer.as_bytes()).body == "Isi saya sendiri."
    only_phone = message("Fwd: Rilis")
    only_phone.set_content("Sent from my iPhone")
    only_phone.add_attachment(inner)
    assert parse(only_phone.as_bytes()).body == STORY


# --- clean_body ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tail",
    [
        "-- \nBudi Santoso\nHumas Pemkot",
        "--\nBudi",
        "Sent from my iPhone",
        "Sent from my Samsung Galaxy smartphone.",
        "Sent from Mail for Windows",
        "Get Outlook for Android",
        "Dikirim dari iPhone saya",
        "Dikirim dari Yahoo Mail di Android",
        "Kirim dari ponsel Samsung",
        "Pada Sen, 30 Nov 2026 pukul 10.00, Budi <budi@x.id> menulis:\n> lama\n> lama",
        "Pada tanggal Sen, 30 Nov 2026 pukul 10.00, Budi <budi@x.id> menulis:\n\nlama",
        "On Mon, 30 Nov 2026 at 10:00, Ani <ani@x.id> wrote:\n> lama",
        "On Mon, Nov 30, 2026 at 10:00 AM Ani Wijaya <ani@x.id>\nwrote:\n\n> lama",
        "-----Original Message-----\nFrom: Ani\nSent: Monday\nSubject: x\n\nlama",
        "-----Pesan Asli-----\nDari: Ani\nDikirim: Senin\n\nlama",
        "________________________________\nFrom: Ani <ani@x.id>\nSent: Monday\nTo: x\n\nlama",
        "Dari: Ani <ani@x.id>\nDikirim: Senin, 30 November 2026\nKepada: x\nPerihal: y\n\nlama",
        "From: Ani <ani@x.id>\nDate: 30 Nov 2026\nSubject: y\n\nlama",
    ],
)
def test_clean_body_cuts_signatures_and_quoted_replies(tail):
    assert clean_body(f"Yth. Redaksi,\n\n{STORY}\n\n{tail}\n\nlagi lama") == (
        f"Yth. Redaksi,\n\n{STORY}"
    )


@pytest.mark.parametrize(
    "text",
    [
        "Dari: Bagian Humas\nTanggal: 30 November 2026\nPerihal: Undangan liputan",
        "Pada kesempatan itu, Wali Kota menulis:\n“Selamat bekerja.”",
        "On the stage, the mayor wrote:\n“Welcome.”",
        "Dikirim dari Jakarta, bantuan tiba pukul 10.00.",
        "Sent from the mayor's office.",
        "Acara --\nberlanjut",
    ],
)
def test_clean_body_keeps_text_that_only_looks_like_a_cut(text):
    assert clean_body(f"{STORY}\n\n{text}") == f"{STORY}\n\n{text}"


def test_clean_body_only_cuts_below_something_meaningful():
    assert clean_body("Sent from my iPhone") == "Sent from my iPhone"
    assert clean_body("-- \nBudi") == "--\nBudi"
    bottom_posted = "On Mon, 30 Nov 2026 at 10:00, Ani <ani@x.id> wrote:\n> tanya\n\nJawaban saya."
    assert clean_body(bottom_posted) == "Jawaban saya."


def test_clean_body_removes_quoted_lines_everywhere():
    text = "> pertanyaan satu\nJawaban satu.\n>> lebih lama\n  > menjorok\nJawaban dua."
    assert clean_body(text) == "Jawaban satu.\nJawaban dua."


def test_clean_body_normalises_whitespace():
    text = "\r\n\r\n  Baris satu.   \r\nBaris dua.\t\r\n\r\n\r\n\r\n\r\nBaris tiga.\r\n\r\n"
    assert clean_body(text) == "  Baris satu.\nBaris dua.\n\nBaris tiga."


def test_clean_body_forward_of_a_forward_keeps_the_innermost_text():
    text = (
        "---------- Forwarded message ---------\nFrom: A <a@x.id>\nSubject: Fwd: x\n\n"
        "---------- Forwarded message ---------\nFrom: B <b@x.id>\nSubject: x\n\n"
        f"{STORY}"
    )
    assert clean_body(text) == STORY


def test_clean_body_reply_to_a_forward_drops_the_quoted_forward():
    text = (
        "Sudah dimuat.\n\n-----Original Message-----\nFrom: A\nSent: Monday\n\n"
        "---------- Forwarded message ---------\nFrom: B <b@x.id>\n\nlama"
    )
    assert clean_body(text) == "Sudah dimuat."


def test_reply_body_in_indonesian_from_a_raw_mail():
    parsed = parse(
        """
        From: Budi <budi@x.id>
        Subject: Balas: Jadwal liputan
        Message-ID: <r@x.id>
        Content-Type: text/plain; charset=utf-8

        Siap, kami liput besok.

        Pada Sen, 30 Nov 2026 pukul 10.00, Budi <budi@x.id> menulis:
        > Mohon liputan Musrenbang.
        """
    )
    assert parsed.title == "Jadwal liputan"
    assert parsed.body == "Siap, kami liput besok."


def test_format_flowed_paragraphs_are_joined():
    raw = (
        "From: a@x.id\nSubject: x\nContent-Type: text/plain; charset=utf-8; format=flowed\n\n"
        "Wali Kota membuka \nMusrenbang di Aula.\n\n-- \nBudi\n"
    )
    assert parse(raw.encode()).body == "Wali Kota membuka Musrenbang di Aula."


# --- encodings -----------------------------------------------------------------------------


def test_quoted_printable_and_base64_bodies():
    qp = parse(
        """
        From: a@x.id
        Subject: qp
        Content-Type: text/plain; charset=utf-8
        Content-Transfer-Encoding: quoted-printable

        Wali Kota membuka Musrenbang di Aula Peteng Karuhei dan menyampaikan sambut=
        an =E2=80=93 =C3=A9.
        """
    )
    assert qp.body == (
        "Wali Kota membuka Musrenbang di Aula Peteng Karuhei dan menyampaikan sambutan – é."
    )
    b64 = parse(
        """
        From: a@x.id
        Subject: b64
        Content-Type: text/plain; charset="utf-8"
        Content-Transfer-Encoding: base64

        V2FsaSBLb3RhIOKAkyBNdXNyZW5iYW5nLg==
        """
    )
    assert b64.body == "Wali Kota – Musrenbang."


def test_latin1_and_windows_1252_bodies():
    head = "From: a@x.id\nMessage-ID: <l@x>\nSubject: x\nContent-Transfer-Encoding: 8bit\n"
    latin = head + "Content-Type: text/plain; charset=ISO-8859-1\n\n"
    parsed = parse(latin.encode() + "Café Müller, Überlingen.\n".encode("latin-1"))
    assert parsed.body == "Café Müller, Überlingen."
    assert parsed.notes == ()
    smart = head + "Content-Type: text/plain; charset=windows-1252\n\n"
    quoted = "“Usulan warga” – kata Wali Kota…\n".encode("cp1252")
    assert parse(smart.encode() + quoted).body == "“Usulan warga” – kata Wali Kota…"
    # Outlook writes smart quotes into mail it calls latin-1: read them as a browser would.
    mislabelled = parse(latin.encode() + quoted)
    assert mislabelled.body == "“Usulan warga” – kata Wali Kota…"


def test_utf8_declared_as_latin1_is_read_as_utf8():
    head = "From: a@x.id\nMessage-ID: <m@x>\nContent-Type: text/plain; charset=iso-8859-1\n\n"
    parsed = parse(head.encode() + "Café – “kutipan”".encode())
    assert parsed.body == "Café – “kutipan”"
    assert parsed.notes == ("the message is utf-8, not iso-8859-1 as declared",)


def test_unknown_charset_is_read_with_a_note():
    raw = (
        b"From: a@x.id\nMessage-ID: <u@x>\nSubject: x\n"
        b"Content-Type: multipart/mixed; boundary=B\n\n"
        b"--B\nContent-Type: text/plain; charset=x-foo\n\nCaf\xe9 dibuka.\n--B--\n"
    )
    parsed = parse(raw)
    assert parsed.body == "Café dibuka."
    assert parsed.notes == ("unknown charset 'x-foo' in part 1; read as windows-1252",)
    base64_codec = raw.replace(b"x-foo", b"base64")
    assert parse(base64_codec).body == "Café dibuka."


def test_wrong_charset_does_not_raise():
    head = b"From: a@x.id\nSubject: x\nContent-Type: text/plain; charset=utf-8\n\n"
    latin = parse(head + "Café dibuka.".encode("latin-1"))
    assert latin.body == "Café dibuka."
    assert any("not utf-8" in note for note in latin.notes)
    broken = parse(head + "Café – ".encode() + b"\xff\xfe rusak")
    assert broken.body == "Café – \ufffd\ufffd rusak"
    assert any("replaced" in note for note in broken.notes)
    undeclared = parse(b"From: a@x.id\nSubject: x\n\n" + "Café – ok".encode())
    assert undeclared.body == "Café – ok"


def test_rfc2231_and_encoded_word_filenames():
    parsed = parse(
        """
        From: a@x.id
        Subject: foto
        Content-Type: multipart/mixed; boundary="B"

        --B
        Content-Type: text/plain

        Foto terlampir.
        --B
        Content-Type: image/jpeg
        Content-Disposition: attachment; filename*=UTF-8''foto%20pasar.jpg
        Content-Transfer-Encoding: base64

        /9j/4AAQSkZJRg==
        --B
        Content-Type: application/pdf; name="=?UTF-8?B?cmlsaXMg4oCTIDIwMjYucGRm?="
        Content-Disposition: attachment; filename="=?UTF-8?B?cmlsaXMg4oCTIDIwMjYucGRm?="
        Content-Transfer-Encoding: base64

        JVBERi0=
        --B
        Content-Type: image/png
        Content-Disposition: attachment;
         filename*0*=iso-8859-1''caf%E9;
         filename*1=".png"
        Content-Transfer-Encoding: base64

        iVBORw0KGgo=
        --B--
        """
    )
    assert [(a.filename, a.mime, a.data) for a in parsed.attachments] == [
        ("foto pasar.jpg", "image/jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF"),
        ("rilis – 2026.pdf", "application/pdf", b"%PDF-"),
        ("café.png", "image/png", b"\x89PNG\r\n\x1a\n"),
    ]
    assert all(not a.inline and a.problem is None for a in parsed.attachments)


# --- attachments ---------------------------------------------------------------------------


def test_photos_attached_as_files():
    mail = message()
    mail.set_content("Foto kegiatan terlampir.")
    mail.add_attachment(PHOTO, "image", "jpeg", filename="foto1.jpg")
    mail.add_attachment(PHOTO[:3000], "image", "png", filename="foto2.png")
    mail.add_attachment(PIXEL, "image", "gif", filename="kecil.gif")  # tiny but attached
    parsed = parse(mail.as_bytes())
    assert parsed.body == "Foto kegiatan terlampir."
    assert parsed.attachments == (
        Attachment("foto1.jpg", "image/jpeg", PHOTO, False, None, None, len(PHOTO)),
        Attachment("foto2.png", "image/png", PHOTO[:3000], False, None, None, 3000),
        Attachment("kecil.gif", "image/gif", PIXEL, False, None, None, len(PIXEL)),
    )


def test_inline_cid_images_are_inline_and_signature_logos_go():
    mail = message()
    mail.set_content("Foto di badan surat.")
    mail.add_alternative(
        '<p>Foto:</p><img src="cid:foto1@pemkot"><div><img src="cid:pixel@pemkot"></div>'
        '<div class="gmail_signature">Budi<img src="cid:logo@pemkot"></div>',
        subtype="html",
    )
    html_part = mail.get_payload()[1]
    html_part.add_related(PHOTO, "image", "jpeg", cid="<foto1@pemkot>")
    html_part.add_related(PIXEL, "image", "gif", cid="<pixel@pemkot>")
    html_part.add_related(LOGO, "image", "png", cid="<logo@pemkot>")
    html_part.add_related(LOGO, "image", "png", cid="<unused@pemkot>", filename="peta.png")
    parsed = parse(mail.as_bytes())
    assert parsed.body == "Foto di badan surat."
    assert [(a.content_id, a.inline, a.size) for a in parsed.attachments] == [
        ("foto1@pemkot", True, len(PHOTO)),
        ("unused@pemkot", False, len(LOGO)),
    ]


def test_inline_disposition_images_are_inline_and_tiny_ones_dropped():
    mail = message()
    mail.set_content("Foto.")
    mail.add_attachment(PHOTO, "image", "jpeg", filename="besar.jpg", disposition="inline")
    mail.add_attachment(PIXEL, "image", "gif", filename="kecil.gif", disposition="inline")
    mail.add_attachment(b"%PDF-1.4", "application", "pdf", filename="r.pdf", disposition="inline")
    parsed = parse(mail.as_bytes())
    assert [(a.filename, a.inline) for a in parsed.attachments] == [
        ("besar.jpg", True),
        ("r.pdf", False),
    ]


def test_huge_attachment_is_too_large_with_its_real_size():
    mail = message()
    mail.set_content("Video terlampir.")
    video = bytes(3000)
    mail.add_attachment(video, "video", "mp4", filename="video.mp4")
    mail.add_attachment(PHOTO[:1000], "image", "jpeg", filename="kecil.jpg")
    parsed = parse(mail.as_bytes(), limit=2000)
    big, small = parsed.attachments
    assert (big.problem, big.data, big.size) == ("too_large", b"", 3000)
    assert (small.problem, small.data, small.size) == (None, PHOTO[:1000], 1000)
    assert any("video.mp4" in note for note in parsed.notes)


def test_undecodable_attachment_is_marked():
    parsed = parse(
        """
        From: a@x.id
        Subject: x
        Content-Type: multipart/mixed; boundary=B

        --B
        Content-Type: text/plain

        Isi.
        --B
        Content-Type: image/jpeg; name=rusak.jpg
        Content-Transfer-Encoding: base64

        AAAAA
        --B--
        """
    )
    (broken,) = parsed.attachments
    assert (broken.filename, broken.problem, broken.data, broken.size) == (
        "rusak.jpg",
        "undecodable",
        b"",
        0,
    )
    assert parsed.body == "Isi."


def test_signed_mail_signature_is_not_an_attachment():
    parsed = parse(
        """
        From: a@x.id
        Subject: x
        Content-Type: multipart/signed; protocol="application/pkcs7-signature"; boundary=S

        --S
        Content-Type: text/plain

        Rilis resmi.
        --S
        Content-Type: application/pkcs7-signature; name=smime.p7s
        Content-Transfer-Encoding: base64

        AAAA
        --S--
        """
    )
    assert parsed.body == "Rilis resmi."
    assert parsed.attachments == ()


# --- documents -----------------------------------------------------------------------------


def test_docx_attachment_text_is_extracted():
    mail = message()
    mail.set_content("Rilis terlampir.")
    mail.add_attachment(tiny_docx(), "application", DOCX_MIME.split("/")[1], filename="rilis.docx")
    (attachment,) = parse(mail.as_bytes()).attachments
    assert attachment.mime == DOCX_MIME
    text = extract_text(attachment.filename, attachment.mime, attachment.data)
    assert text == (
        "Wali Kota Buka Musrenbang\nPALANGKA RAYA – Musrenbang dibuka hari ini.\n"
        "Acara\nWaktu\nPembukaan\n09.00 WIB\nPenutup rilis."
    )


def test_docx_merged_cells_are_read_once_and_long_text_stops_at_max_chars():
    document = docx.Document()
    table = document.add_table(rows=2, cols=2)
    merged = table.cell(0, 0).merge(table.cell(0, 1))
    merged.text = "Judul tabel"
    for number in range(3000):
        document.add_paragraph(f"Paragraf nomor {number} tentang Musrenbang.")
    buffer = io.BytesIO()
    document.save(buffer)
    text = extract_text("panjang.docx", DOCX_MIME, buffer.getvalue(), max_chars=200)
    assert text is not None
    assert text.startswith("Judul tabel\n\nParagraf nomor 0 ")
    assert text.count("Judul tabel") == 1
    assert len(text) == 200


def test_pdf_attachment_text_is_extracted():
    pdf = tiny_pdf("Musrenbang Kota 2026", "Halaman kedua")
    mail = message()
    mail.set_content("Rilis PDF terlampir.")
    mail.add_attachment(pdf, "application", "pdf", filename="rilis.pdf")
    (attachment,) = parse(mail.as_bytes()).attachments
    text = extract_text(attachment.filename, attachment.mime, attachment.data)
    assert text == "Musrenbang Kota 2026\n\nHalaman kedua"
    assert extract_text(None, "application/octet-stream", pdf) == text
    assert extract_text("rilis.pdf", "application/pdf", pdf, max_chars=10) == "Musrenbang"


def test_encrypted_and_broken_documents_give_none():
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(tiny_pdf("Rahasia"))))
    writer.encrypt("sandi")
    encrypted = io.BytesIO()
    writer.write(encrypted)
    assert extract_text("r.pdf", "application/pdf", encrypted.getvalue()) is None
    assert extract_text("r.pdf", "application/pdf", b"%PDF-1.4\nrusak") in (None, "")
    assert extract_text("r.pdf", "application/pdf", b"bukan pdf") is None
    assert extract_text("r.docx", DOCX_MIME, b"PK\x03\x04rusak") is None
    assert extract_text("r.docx", DOCX_MIME, tiny_pdf("x")) is None
    assert extract_text("foto.jpg", "image/jpeg", PHOTO) is None
    assert extract_text("r.txt", "text/plain", b"teks") is None
    assert extract_text(None, "application/octet-stream", b"") is None


def test_docx_zip_bomb_is_refused_without_unpacking():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            chunk = b" " * (1 << 20)
            for _ in range(110):
                member.write(chunk)
    assert len(buffer.getvalue()) < 1_000_000
    assert extract_text("bom.docx", DOCX_MIME, buffer.getvalue()) is None


# --- broken MIME ---------------------------------------------------------------------------


def test_missing_closing_boundary_still_reads_every_part():
    parsed = parse(
        """
        From: a@x.id
        Subject: x
        Content-Type: multipart/mixed; boundary="B"

        --B
        Content-Type: text/plain

        Isi berita.
        --B
        Content-Type: image/jpeg; name=foto.jpg
        Content-Disposition: attachment
        Content-Transfer-Encoding: base64

        /9j/4AAQSkZJRg==
        """
    )
    assert parsed.body == "Isi berita."
    assert [a.filename for a in parsed.attachments] == ["foto.jpg"]
    assert any("closing MIME boundary" in note for note in parsed.notes)


def test_missing_boundary_parameter_is_recovered_from_the_body():
    parsed = parse(
        """
        From: a@x.id
        Subject: x
        Content-Type: multipart/mixed

        --XYZ
        Content-Type: text/plain

        Isi berita.
        --XYZ
        Content-Type: image/jpeg; name=foto.jpg
        Content-Transfer-Encoding: base64

        /9j/4AAQSkZJRg==
        --XYZ--
        """
    )
    assert parsed.body == "Isi berita."
    assert [a.filename for a in parsed.attachments] == ["foto.jpg"]
    assert parsed.notes


def test_boundary_never_used_reads_the_body_as_text():
    parsed = parse(
        """
        From: a@x.id
        Subject: x
        Content-Type: multipart/mixed; boundary="TIDAKADA"

        Isi berita tanpa bagian.
        """
    )
    assert parsed.body == "Isi berita tanpa bagian."
    assert parsed.notes


def test_recovery_does_not_take_a_signature_for_a_boundary():
    parsed = parse(
        """
        From: a@x.id
        Subject: x
        Content-Type: multipart/mixed; boundary="TIDAKADA"

        Isi berita penting.
        --Budi
        Humas
        """
    )
    assert parsed.body == "Isi berita penting.\n--Budi\nHumas"


def test_multipart_without_parts_and_garbage_headers():
    empty = parse("From: a@x.id\nSubject: x\nContent-Type: multipart/mixed; boundary=B\n\n--B--\n")
    assert empty.body == ""
    assert empty.notes
    garbage = parse(b"\x00\xff garbage: \x80\n: no name\nFrom: <<<>>>\n\n\xfe\xfd isi")
    assert isinstance(garbage, ParsedMail)
    assert garbage.message_id.startswith("nomsgid-")


# --- never raises --------------------------------------------------------------------------


@functools.cache
def rich_mail() -> bytes:
    inner = message("Rilis")
    inner.set_content(STORY)
    mail = message("Fwd: Rilis")
    mail.set_content("Isi =C3=A9 é “kutipan”\n\n-- \nBudi", cte="quoted-printable")
    mail.add_alternative(
        '<div>Isi</div><img src="cid:f@x"><div class="gmail_quote">x</div>', subtype="html"
    )
    mail.get_payload()[1].add_related(PHOTO, "image", "jpeg", cid="<f@x>")
    mail.add_attachment(tiny_docx(), "application", "octet-stream", filename="rilis.docx")
    mail.add_attachment(inner)
    mail.add_attachment("catatan é", filename="catatan ü.txt", cte="base64")
    return mail.as_bytes()


def check_mail(parsed: ParsedMail) -> None:
    assert isinstance(parsed, ParsedMail)
    assert parsed.message_id
    for text in (parsed.subject, parsed.title, parsed.body, parsed.sender, *parsed.notes):
        text.encode("utf-8")  # no stray surrogates
    assert parsed.date is None or parsed.date.tzinfo is not None
    for attachment in parsed.attachments:
        assert attachment.size >= len(attachment.data)
        if attachment.filename is not None:
            attachment.filename.encode("utf-8")


def test_rich_mail_reads_fully():
    parsed = parse(rich_mail())
    check_mail(parsed)
    assert parsed.body == "Isi =C3=A9 é “kutipan”"
    assert [a.filename for a in parsed.attachments] == [None, "rilis.docx", "catatan ü.txt"]
    assert parsed.attachments[0].inline is True


def test_every_truncation_of_a_real_mail_parses():
    raw = rich_mail()
    for cut in range(0, len(raw), max(1, len(raw) // 400)):
        check_mail(parse(raw[:cut]))


@settings(max_examples=200, deadline=None, database=None)
@given(st.binary(max_size=3000))
def test_random_bytes_never_raise(raw):
    check_mail(parse_mail(raw, max_attachment_bytes=1000))


FRAGMENTS = [
    b"From: =?utf-8?B?QnVkaQ==?= <b@x.id>\r\n",
    b"Subject: =?x-foo?Q?=E9?= Re: [Berita]\r\n",
    b"Content-Type: multipart/mixed; boundary=B\r\n",
    b'Content-Type: multipart/alternative; boundary="B"\r\n',
    b"Content-Type: text/html; charset=utf-16\r\n",
    b"Content-Type: text/plain; charset=x-foo; format=flowed\r\n",
    b"Content-Type: message/rfc822\r\n",
    b"Content-Type: image/jpeg; name*=utf-8''%FF%FE\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b'Content-Disposition: inline; filename="=?utf-8?Q?a=FF?="\r\n',
    b"Content-ID: <f@x>\r\n",
    b"Date: Mon, 99 Foo 20266 99:99:99 +9999\r\n",
    b"\r\n",
    b"--B\r\n",
    b"--B--\r\n",
    b"<div class=gmail_quote><blockquote><img src=cid:f@x>",
    b"On Mon, 30 Nov 2026 at 10:00 A <a@x> wrote:\r\n> q\r\n",
    b"---------- Forwarded message ---------\r\nFrom: x\r\n",
    b"AAAA====\r\n",
    b"=E9=\r\n",
]


@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.binary(max_size=30)), max_size=40))
def test_mail_shaped_noise_never_raises(pieces):
    check_mail(parse_mail(b"".join(pieces), max_attachment_bytes=100))


@settings(max_examples=200, deadline=None, database=None)
@given(st.data())
def test_damaged_real_mail_never_raises(data):
    raw = bytearray(rich_mail())
    for _ in range(data.draw(st.integers(0, 20))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    check_mail(parse_mail(bytes(raw[:cut]), max_attachment_bytes=4000))


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(max_size=2000), st.booleans())
def test_text_helpers_never_raise(text, forwarded):
    clean_body(text, forwarded=forwarded)
    html_to_text(text, forwarded=forwarded)
    extract_text("x.pdf", "application/pdf", b"%PDF-1.4\n" + text.encode())
