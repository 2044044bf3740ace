"""/laporan: the section head asks for a month's report and gets its PDF privately; the
report is made when the message is delivered, not in the chat's transaction."""

from __future__ import annotations

from datetime import date

from pypdf import PdfReader

from handlers.reports import month_asked
from tests.support import STORY, Chat


def test_the_section_head_gets_the_months_report_as_a_pdf(chat: Chat):
    chat.send("rina", STORY)
    chat.clock.advance(days=30)  # in January 2027: /laporan alone is December 2026
    replies = chat.send("hendra", "/laporan")
    assert "Laporan bulanan Desember 2026 sedang disusun" in replies[0]
    ((who, path),) = chat.messenger.documents
    assert who == "hendra" and path.name == "laporan-2026-12.pdf"
    text = " ".join(page.extract_text() for page in PdfReader(path).pages)
    assert "Desember 2026" in text
    (caption,) = chat.to("hendra")[-1:]
    assert "Laporan Bulanan Media Center — Desember 2026" in caption
    assert (path.parent / "cerita-2026-12.csv").is_file()


def test_only_the_section_head_asks_and_a_bad_month_is_explained(chat: Chat):
    assert "hanya" in chat.send("rina", "/laporan 2026-11")[0].lower()
    assert "tidak dikenali" in chat.send("hendra", "/laporan kemarin")[0]
    assert "belum berjalan" in chat.send("hendra", "/laporan 2027-05")[0]
    assert chat.messenger.documents == []


def test_the_month_is_read_as_staff_write_it():
    today = date(2026, 1, 15)
    assert month_asked("", today=today) == date(2025, 12, 1)
    assert month_asked("2026-11", today=today) == date(2026, 11, 1)
    assert month_asked(" 11/2026 ", today=today) == date(2026, 11, 1)
    assert month_asked("2026-13", today=today) is None
