"""The leaders' agenda and coverage assignments in the chat, on SQLite and PostgreSQL: adding
in Indonesian, questions instead of guesses, the H-1 announcement (golden), assignments
accepted, declined or unanswered, the reminder before the event, and the story an assignment
produces, due an hour after the event ends."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.channels.local import Card
from bot.channels.markup import plain
from handlers.messages import ChatKind, InboundMessage
from storage.models import AgendaItem, Assignment, DeskEvent, SlaClock
from tests.support import GROUP, Chat, FakeClock, make_chat

GOLDEN = Path(__file__).parent / "golden" / "agenda_h1_2026-12-02.txt"
SLA = {"submission": "1h", "editing": "3h", "publishing": "2h", "digest_at": "off"}
MEETING = "besok 09.00-11.00 | Rapat koordinasi penanganan banjir | Wali Kota | Aula Peteng Karuhei"


@pytest.fixture
def desk(db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Chat]:
    chat = make_chat(db_url, tmp_path, clock=clock, sla=SLA, roster={"announce_at": "off"})
    yield chat
    chat.warta.close()


def at(clock: FakeClock, day: int, hour: int, minute: int = 0) -> None:
    """Move the clock to hh.mm WIB on ``day`` December 2026 (only forward)."""
    target = datetime(2026, 12, day, hour, minute, tzinfo=UTC) - timedelta(hours=7)
    assert target >= clock.now
    clock.now = target


def sweep(chat: Chat) -> list[str]:
    assert chat.warta.watch is not None
    chat.warta.watch.sweep()
    return chat.flush()


def cards(chat: Chat) -> list[Card]:
    taken = list(chat.messenger.cards.values())
    chat.messenger.cards.clear()
    return taken


def test_adding_an_item_in_indonesian_and_showing_tomorrow(desk: Chat):
    replies = desk.send("dedi", "/agenda tambah " + MEETING)
    assert replies == [
        "Agenda A1 «Rapat koordinasi penanganan banjir» dicatat: Kamis, 3 Desember 2026, "
        "09.00–11.00 WIB, Wali Kota, Aula Peteng Karuhei.\n"
        "Saran peliput: Anton — /tugaskan 1 anton"
    ]
    assert desk.send("rina", "/agenda") == [
        "📅 Agenda Kamis, 3 Desember 2026\n"
        "• 09.00–11.00 WIB A1 «Rapat koordinasi penanganan banjir» — Wali Kota, "
        "Aula Peteng Karuhei\n"
        "  ⚠️ belum ada peliput"
    ]
    assert desk.send("rina", "/agenda hari ini")[0].startswith("📅 Agenda Rabu, 2 Desember 2026")
    with desk.warta.db.transaction() as session:
        item = session.exec(select(AgendaItem)).one()
        events = session.exec(select(DeskEvent)).all()
    assert item.starts_at == datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # 09.00 WIB
    assert item.ends_at == datetime(2026, 12, 3, 4, 0, tzinfo=UTC)
    assert [(e.kind, e.action) for e in events] == [("agenda", "add")]


@pytest.mark.parametrize(
    ("phrase", "question"),
    [
        (
            "Senin 3/12 14.00",
            "Maaf, «Senin 3/12 14.00» membingungkan: Kamis, 3 Desember 2026 bukan hari Senin. "
            "Maksud Bapak/Ibu Kamis, 3 Desember 2026 atau Senin, 7 Desember 2026?",
        ),
        ("besok jam 3", "Maaf, «besok jam 3» pukul 03.00 (pagi) atau 15.00 (sore)?"),
        ("besok", "Maaf, jam kegiatan belum ada di «besok»."),
        ("14.00", "Maaf, tanggal kegiatan belum ada di «14.00»."),
        ("besok 11.00-09.00", "Maaf, jam selesai di «besok 11.00-09.00» lebih awal"),
    ],
)
def test_an_unclear_time_gets_a_question_and_nothing_is_added(
    desk: Chat, phrase: str, question: str
):
    replies = desk.send("dedi", f"/agenda tambah {phrase} | Pasar murah")
    assert replies[0].startswith(question)
    with desk.warta.db.transaction() as session:
        assert session.exec(select(AgendaItem)).all() == []


def test_only_editors_plan_and_bad_input_gets_advice(desk: Chat):
    assert desk.send("rina", "/agenda tambah " + MEETING) == [
        "Maaf, hanya Kasi atau Redaktur yang dapat mengubah agenda dan menugaskan peliputan."
    ]
    assert desk.send("dedi", "/agenda tambah besok 09.00")[0].startswith("Format: /agenda tambah")
    assert desk.send("dedi", "/agenda ubah 7 tempat Balai Kota") == [
        "Maaf, agenda A7 tidak ditemukan. Lihat daftar agenda dengan /agenda."
    ]
    assert desk.send("dedi", "/agenda kapan-kapan")[0].startswith("Maaf, hari «")


def test_editing_and_cancelling_an_item_tells_its_reporter(desk: Chat):
    desk.send("dedi", "/agenda tambah " + MEETING)
    desk.send("dedi", "/tugaskan 1 rina")
    cards(desk)

    desk.send("sari", "/agenda ubah 1 waktu besok 10.00-12.00")

    assert desk.to(GROUP)[0].startswith(
        "Agenda A1 «Rapat koordinasi penanganan banjir» diubah (waktu) oleh Sari: "
        "Kamis, 3 Desember 2026, 10.00–12.00 WIB"
    )
    assert "berubah (waktu)" in desk.to("rina")[0]
    with desk.warta.db.transaction() as session:
        open_clocks = session.exec(select(SlaClock).where(SlaClock.outcome == "open")).all()
    # The coverage is now due an hour after the new end: 13.00 WIB.
    assert [c.due_at for c in open_clocks] == [datetime(2026, 12, 3, 6, 0, tzinfo=UTC)]

    desk.send("hendra", "/agenda batal 1 Wali Kota berhalangan")

    assert desk.to(GROUP) == [
        "Agenda A1 «Rapat koordinasi penanganan banjir» dibatalkan oleh Hendra. "
        "Alasan: Wali Kota berhalangan"
    ]
    assert "penugasan liputan Anda ikut dibatalkan" in desk.to("rina")[0]
    with desk.warta.db.transaction() as session:
        assignment = session.exec(select(Assignment)).one()
        outcomes = {row.outcome for row in session.exec(select(SlaClock)).all()}
    assert assignment.status == "cancelled" and outcomes == {"cancelled"}
    assert "sudah dibatalkan" in desk.send("dedi", "/agenda batal 1 lagi")[0]


def test_an_assignment_is_offered_with_buttons_and_accepted(desk: Chat):
    desk.send("dedi", "/agenda tambah " + MEETING)
    assert desk.send("dedi", "/tugaskan 1") == [
        "Saran peliput untuk A1 «Rapat koordinasi penanganan banjir»: Anton (piket atau tidak "
        "ada tugas lain pada jam itu). Ketik /tugaskan 1 anton."
    ]

    replies = desk.send("dedi", "/tugaskan 1 rina")

    assert replies[0].startswith("📝 Rina ditugaskan meliput A1")
    assert "paling lambat pukul 10.00 WIB" in replies[0]  # two hours to answer
    offer = cards(desk)
    assert [card.recipient for card in offer] == ["rina"]
    assert [(b.label, b.command) for b in offer[0].buttons] == [
        ("✅ Terima", "/terima 1"),
        ("❌ Tolak", "/tolak 1"),
    ]
    assert "Anda ditugaskan meliput" in plain(offer[0].text)
    assert "sudah ditugaskan" in desk.send("dedi", "/tugaskan 1 rina")[0]

    pressed = InboundMessage(
        channel="local",
        chat_id="rina",
        message_id="cb-1",
        sender="rina",
        text="/terima 1",
        chat_kind=ChatKind.PRIVATE,
        callback_id="cb-1",
        card_version=0,
    )
    desk.deliver(pressed)

    accepted = (
        "✅ Rina siap meliput A1 «Rapat koordinasi penanganan banjir» (Kamis, 3 Desember 2026 "
        "pukul 09.00 WIB). Terima kasih."
    )
    assert desk.to("rina") == [accepted]
    assert desk.to(GROUP) == [accepted]  # the editors see the answer too
    assert desk.messenger.answers == [("cb-1", "Diterima: A1")]
    with desk.warta.db.transaction() as session:
        assert session.exec(select(Assignment)).one().status == "accepted"
    assert desk.send("rina", "/terima", private=True) == [
        "Tidak ada penugasan yang menunggu jawaban Anda."
    ]


def test_a_decline_alerts_the_editors_in_the_group(desk: Chat):
    desk.send("dedi", "/agenda tambah " + MEETING)
    desk.send("dedi", "/tugaskan 1 rina")
    assert desk.send("rina", "/tolak", private=True)[0].startswith("Format perintah: /tolak 1")

    desk.send("rina", "/tolak 1 sedang sakit", private=True)

    assert desk.to("rina") == [
        "Penugasan A1 «Rapat koordinasi penanganan banjir» ditolak oleh Rina. "
        "Alasan: sedang sakit. Redaktur sudah diberi tahu."
    ]
    assert desk.to(GROUP) == [
        "⚠️ Rina menolak meliput A1 «Rapat koordinasi penanganan banjir» (Kamis, 3 Desember "
        "2026 pukul 09.00 WIB). Alasan: sedang sakit.\n"
        "Redaktur: mohon tugaskan peliput lain dengan /tugaskan 1 <nama reporter>."
    ]
    with desk.warta.db.transaction() as session:
        assert session.exec(select(Assignment)).one().status == "declined"
        assert session.exec(select(SlaClock)).one().outcome == "cancelled"


def test_no_answer_by_the_deadline_alerts_the_editors_once(desk: Chat, clock: FakeClock):
    desk.send("dedi", "/agenda tambah " + MEETING)
    desk.send("dedi", "/tugaskan 1 rina")
    at(clock, 2, 9, 59)
    assert sweep(desk) == []
    at(clock, 2, 10, 0)

    said = sweep(desk)

    assert said == [
        "⚠️ Rina belum menjawab penugasan A1 «Rapat koordinasi penanganan banjir» (Kamis, "
        "3 Desember 2026 pukul 09.00 WIB).\n"
        "Redaktur: mohon hubungi langsung, atau tugaskan peliput lain dengan "
        "/tugaskan 1 <nama reporter>."
    ]
    assert sweep(desk) == []


def test_the_reporter_is_reminded_before_the_event_once(desk: Chat, clock: FakeClock):
    desk.send("dedi", "/agenda tambah " + MEETING)
    desk.send("dedi", "/tugaskan 1 rina")
    desk.send("rina", "/terima", private=True)
    assert desk.warta.watch is not None
    at(clock, 2, 12, 0)
    assert desk.warta.watch.next_wake() == datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # H-1, 15.00
    at(clock, 2, 15, 0)
    sweep(desk)  # the H-1 announcement
    assert desk.warta.watch.next_wake() == datetime(2026, 12, 3, 1, 0, tzinfo=UTC)  # 08.00 WIB
    at(clock, 3, 8, 0)

    said = sweep(desk)

    assert [s.recipient for s in desk.last] == ["rina"]
    assert said[0].startswith(
        "⏰ Yth. Rina, liputan A1 «Rapat koordinasi penanganan banjir» dimulai pukul 09.00 WIB "
        "di Aula Peteng Karuhei."
    )
    assert sweep(desk) == []


def test_the_coverage_is_linked_and_due_an_hour_after_the_event_ends(desk: Chat, clock: FakeClock):
    desk.send("dedi", "/agenda tambah " + MEETING)
    desk.send("dedi", "/tugaskan 1 rina")
    desk.send("rina", "/terima", private=True)
    with desk.warta.db.transaction() as session:
        clock_row = session.exec(select(SlaClock)).one()
    assert clock_row.started_at == datetime(2026, 12, 3, 4, 0, tzinfo=UTC)  # 11.00 WIB, the end
    assert clock_row.due_at == datetime(2026, 12, 3, 5, 0, tzinfo=UTC)  # 12.00 WIB
    at(clock, 3, 11, 40)

    replies = desk.send("rina", "Banjir Surut, Wali Kota Minta Warga Waspada\nPALANGKA RAYA – Isi.")

    assert replies[0].splitlines()[1] == (
        "Terhubung ke penugasan A1 «Rapat koordinasi penanganan banjir», tepat waktu."
    )
    with desk.warta.db.transaction() as session:
        assignment = session.exec(select(Assignment)).one()
        coverage = session.exec(select(SlaClock).where(SlaClock.step == "submission")).one()
    assert assignment.status == "covered" and assignment.story_id is not None
    assert coverage.outcome == "done" and coverage.breached_at is None
    assert "liputan masuk" in desk.send("dedi", "/agenda hari ini")[0]


def test_an_event_without_coverage_breaches_and_is_escalated(desk: Chat, clock: FakeClock):
    desk.send("dedi", "/agenda tambah " + MEETING)
    desk.send("dedi", "/tugaskan 1 rina")
    desk.send("rina", "/terima", private=True)
    at(clock, 3, 11, 30)
    sweep(desk)
    assert desk.to("rina")[0].startswith(
        "⏰ Yth. Rina, batas waktu pengiriman liputan agenda A1 «Rapat koordinasi penanganan "
        "banjir»: pukul 12.00 WIB (30 menit lagi).\nMohon kirim hasil liputan"
    )
    at(clock, 3, 12, 1)

    sweep(desk)

    escalation = desk.to("hendra")[0]
    assert escalation.startswith(
        "🔺 Eskalasi: agenda A1 «Rapat koordinasi penanganan banjir» melewati batas "
        "waktu pengiriman liputan (pukul 12.00 WIB, terlambat 1 menit)."
    )
    assert "Penanggung jawab: Rina." in escalation
    late = desk.send("hendra", "/terlambat")[0]
    assert "liputan A1 «Rapat koordinasi penanganan banjir» — pengiriman liputan, Rina" in late
    digest = desk.send("hendra", "/ringkasan hari ini")[0]
    assert "• liputan A1 «Rapat koordinasi penanganan banjir» — pengiriman liputan, Rina" in (
        digest
    )

    # Late coverage still closes the assignment, and says by how much.
    at(clock, 3, 12, 31)
    replies = desk.send("rina", "Banjir Surut\nPALANGKA RAYA – Isi.")
    assert "terlambat 31 menit dari batas pengiriman" in replies[0]


def test_with_several_open_assignments_the_reporter_names_one(desk: Chat, clock: FakeClock):
    desk.send("dedi", "/agenda tambah " + MEETING)
    desk.send("dedi", "/agenda tambah besok 13.00-14.00 | Pasar murah | Sekda | Pasar Besar")
    desk.send("dedi", "/tugaskan 1 rina")
    desk.send("dedi", "/tugaskan 2 rina")
    at(clock, 3, 14, 10)

    unnamed = desk.send("rina", "Pasar Murah Diserbu Warga\nIsi berita.")
    named = desk.send("rina", "#A2\nPasar Murah Diserbu Warga\nIsi berita.")

    assert "Anda punya 2 penugasan terbuka (A1, A2); berita ini belum dihubungkan." in unnamed[0]
    assert "Terhubung ke penugasan A2 «Pasar murah», tepat waktu." in named[0]
    assert "«Pasar Murah Diserbu Warga»" in named[0]  # the #A2 line is not the title


def test_the_h1_announcement_matches_the_golden_file(desk: Chat, clock: FakeClock):
    desk.send("dedi", "/agenda tambah " + MEETING)
    desk.send(
        "dedi",
        "/agenda tambah besok 13.00-selesai | Penyerahan bantuan sosial | Wakil Wali Kota | "
        "Kelurahan Menteng | bawa kamera video",
    )
    desk.send("dedi", "/agenda tambah lusa 08.00-09.00 | Apel pagi | Sekda | Balai Kota")
    desk.send("dedi", "/tugaskan 1 rina")
    desk.send("rina", "/terima", private=True)
    at(clock, 2, 14, 59)
    assert sweep(desk) == []
    at(clock, 2, 15, 0)

    said = sweep(desk)

    assert [s.recipient for s in desk.last] == [GROUP]
    if os.environ.get("WARTA_UPDATE_GOLDEN"):
        GOLDEN.write_text(said[0] + "\n", encoding="utf-8")
    assert said[0] + "\n" == GOLDEN.read_text(encoding="utf-8")
    assert sweep(desk) == []  # once

    # A late addition for tomorrow is announced at once.
    at(clock, 2, 16, 0)
    desk.send(
        "dedi", "/agenda tambah besok 19.00-21.00 | Malam budaya | Wali Kota | Bundaran Besar"
    )
    assert desk.to(GROUP)[-1] == (
        "📅 Tambahan agenda untuk besok:\n"
        "• 19.00–21.00 WIB A4 «Malam budaya» — Wali Kota, Bundaran Besar\n"
        "Belum ada peliput. Redaktur: /tugaskan 4 <nama reporter>."
    )


def test_a_story_is_not_linked_to_an_event_still_to_come(desk: Chat, clock: FakeClock):
    desk.send("dedi", "/agenda tambah lusa 09.00-11.00 | Apel besar | Wali Kota | Balai Kota")
    desk.send("dedi", "/tugaskan 1 rina")

    replies = desk.send("rina", "Pasar Murah Diserbu Warga\nIsi berita.")

    assert "Terhubung" not in replies[0] and "penugasan terbuka" not in replies[0]
    with desk.warta.db.transaction() as session:
        assert session.exec(select(Assignment)).one().status == "offered"
    named = desk.send("rina", "#A7\nBerita Lain\nIsi.")
    assert "A7 tidak ada di penugasan terbuka Anda" in named[0]


def test_declining_after_accepting_and_withdrawing_an_assignment(desk: Chat):
    desk.send("dedi", "/agenda tambah " + MEETING)
    desk.send("dedi", "/tugaskan 1 rina")
    desk.send("rina", "/terima", private=True)
    desk.send("rina", "/tolak 1 anak sakit", private=True)
    assert "Rina menolak meliput A1" in desk.to(GROUP)[0]

    desk.send("dedi", "/tugaskan 1 anton")
    withdrawn = desk.send("dedi", "/tugaskan 1 batal anton")

    assert withdrawn[0] == (
        "Penugasan Anton untuk A1 «Rapat koordinasi penanganan banjir» dibatalkan oleh Dedi."
    )
    assert "was withdrawn by the editors" in desk.to("anton")[0]
    with desk.warta.db.transaction() as session:
        statuses = sorted(a.status for a in session.exec(select(Assignment)).all())
        open_clocks = session.exec(select(SlaClock).where(SlaClock.outcome == "open")).all()
    assert statuses == ["cancelled", "declined"] and open_clocks == []
    assert "tidak sedang ditugaskan" in desk.send("dedi", "/tugaskan 1 batal anton")[0]


def test_only_reporters_are_assigned(desk: Chat):
    desk.send("dedi", "/agenda tambah " + MEETING)
    refused = desk.send("dedi", "/tugaskan 1 budi")
    assert refused[0].startswith("Maaf, «budi» tidak dikenal. Nama yang bisa dipakai: anton")


def test_an_assignment_made_after_the_event_is_due_from_when_it_is_made(
    desk: Chat, clock: FakeClock
):
    desk.send("dedi", "/agenda tambah hari ini 06.00-07.00 | Apel pagi | Sekda | Balai Kota")
    desk.send("dedi", "/tugaskan 1 rina")  # at 08.00, an hour after the event ended
    with desk.warta.db.transaction() as session:
        clock_row = session.exec(select(SlaClock)).one()
    assert clock_row.started_at == clock.now
    assert clock_row.due_at == clock.now + timedelta(hours=1)


def test_an_assignment_made_privately_is_shown_in_the_group(desk: Chat):
    desk.send("dedi", "/daftar")  # the group Warta knows
    desk.send("dedi", "/agenda tambah " + MEETING, private=True)
    desk.send("dedi", "/tugaskan 1 rina", private=True)
    assert desk.to(GROUP)[0].startswith("📝 Rina ditugaskan meliput A1")


def test_moving_an_event_reminds_again_before_the_new_time(desk: Chat, clock: FakeClock):
    desk.send("dedi", "/agenda tambah " + MEETING)
    desk.send("dedi", "/tugaskan 1 rina")
    desk.send("rina", "/terima", private=True)
    at(clock, 3, 8, 0)
    sweep(desk)  # the reminder before 09.00
    desk.send("dedi", "/agenda ubah 1 waktu hari ini 13.00-15.00")
    at(clock, 3, 12, 0)

    said = sweep(desk)

    assert any("dimulai pukul 13.00 WIB" in text for text in said)


def test_two_open_assignments_of_one_reporter_to_one_item_cannot_exist(desk: Chat):
    from sqlalchemy.exc import IntegrityError

    desk.send("dedi", "/agenda tambah " + MEETING)
    desk.send("dedi", "/tugaskan 1 rina")
    with pytest.raises(IntegrityError), desk.warta.db.transaction() as session:
        first = session.exec(select(Assignment)).one()
        session.add(
            Assignment(
                item_id=first.item_id,
                reporter_id=first.reporter_id,
                assigned_at=first.assigned_at,
            )
        )
        session.flush()


def test_a_past_days_agenda_can_be_looked_up(desk: Chat, clock: FakeClock):
    desk.send("dedi", "/agenda tambah " + MEETING + " | bawa | kamera")
    at(clock, 4, 8, 0)
    shown = desk.send("rina", "/agenda kemarin")[0]
    assert shown.startswith("📅 Agenda Kamis, 3 Desember 2026\n• 09.00–11.00 WIB A1")
    assert "Catatan: bawa | kamera" in shown


def test_a_reason_that_starts_with_a_number_is_not_read_as_an_item(desk: Chat):
    desk.send("dedi", "/agenda tambah " + MEETING)
    desk.send("dedi", "/tugaskan 1 rina")
    desk.send("rina", "/tolak 2 hari lagi ada ujian", private=True)
    assert desk.to("rina") == [
        "Penugasan A1 «Rapat koordinasi penanganan banjir» ditolak oleh Rina. "
        "Alasan: 2 hari lagi ada ujian. Redaktur sudah diberi tahu."
    ]


def test_an_h1_announcement_missed_over_midnight_is_posted_the_next_morning(
    desk: Chat, clock: FakeClock
):
    at(clock, 2, 15, 0)
    sweep(desk)  # the 2nd's announcement (of the 3rd) goes out
    desk.send("dedi", "/agenda tambah lusa 09.00-11.00 | Apel besar | Wali Kota | Balai Kota")
    # Warta is down from 14.00 on the 3rd until 07.00 on the 4th.
    at(clock, 4, 7, 0)

    said = sweep(desk)

    assert said[0].startswith(
        "📅 Agenda pimpinan hari ini, Jumat, 4 Desember 2026\n"
        "(Pengumuman H-1 terlambat karena Warta sempat tidak aktif.)\n"
        "• 09.00–11.00 WIB A1 «Apel besar»"
    )
    assert sweep(desk) == []


def test_an_end_before_the_start_is_asked_about_not_guessed(chat: Chat):
    reply = chat.send("dedi", "/agenda tambah besok 11.00-10.00 | Rapat | Wali Kota | Aula")[0]
    assert "lebih awal dari jam mulai (mulai 11.00, selesai 10.00)" in reply
    assert "Mohon periksa lagi" in reply
    reply = chat.send("dedi", "/agenda tambah besok 11.00-1.00 | Rapat | Wali Kota | Aula")[0]
    assert "Maksud Bapak/Ibu sampai pukul 13.00? Jika ya, tulis 11.00-13.00" in reply
    assert "Belum ada kegiatan" in chat.send("dedi", "/agenda besok")[0]
