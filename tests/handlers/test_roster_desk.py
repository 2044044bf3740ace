"""The duty roster and leave in the chat, and agenda files sent to the bot: /roster buat and
setujui, /tukar, /cuti, /piket, the morning announcement, and CSV / iCalendar imports that
are all-or-nothing and recognise what they imported before."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from handlers.messages import InboundMedia
from storage.models import AgendaItem, Assignment, DeskEvent, Leave, RosterSlot
from tests.support import GROUP, Chat, FakeClock, make_chat

SLA = {"submission": "1h", "editing": "3h", "publishing": "2h", "digest_at": "off"}
CSV = (
    "tanggal;mulai;selesai;kegiatan;pimpinan;tempat\r\n"
    "03/12/2026;09.00;11.00;Rapat koordinasi penanganan banjir;Wali Kota;Aula Peteng Karuhei\r\n"
    "04/12/2026;13.00;selesai;Penyerahan bantuan sosial;Wakil Wali Kota;Kelurahan Menteng\r\n"
)
ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Protokol//ID\r\n"
    "BEGIN:VEVENT\r\nUID:musrenbang-2026@pemkot\r\nDTSTAMP:20261201T000000Z\r\n"
    "DTSTART;TZID=Asia/Jakarta:20261207T080000\r\nDTEND;TZID=Asia/Jakarta:20261207T120000\r\n"
    "SUMMARY:Musrenbang Kecamatan Jekan Raya\r\nLOCATION:Aula Peteng Karuhei\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


@pytest.fixture
def desk(db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Chat]:
    chat = make_chat(db_url, tmp_path, clock=clock, sla=SLA, agenda={"announce_at": "off"})
    yield chat
    chat.warta.close()


def sweep(chat: Chat) -> list[str]:
    assert chat.warta.watch is not None
    chat.warta.watch.sweep()
    return chat.flush()


def slots(chat: Chat) -> dict[str, str]:
    with chat.warta.db.transaction() as session:
        rows = session.exec(select(RosterSlot)).all()
        people = {p.id: p.key for p in chat.desk.people.by_id.values()}
        return {row.day: people.get(row.person_id or -1, "-") for row in rows}


def test_a_fair_roster_is_generated_approved_and_adjusted(desk: Chat, clock: FakeClock):
    shown = desk.send("dedi", "/roster buat 2026-12")[0]

    assert shown.startswith("🗓️ Jadwal piket Desember 2026 (draf)\n1 Sel piket: ")
    days = slots(desk)
    assert len(days) == 21  # 23 weekdays less Christmas and its cuti bersama
    assert "2026-12-24" not in days and "2026-12-25" not in days and "2026-12-05" not in days
    counts = {key: list(days.values()).count(key) for key in set(days.values())}
    assert set(counts) == {"dedi", "sari", "rina", "anton"}  # the Kasi is not rostered
    assert max(counts.values()) - min(counts.values()) <= 1
    assert "Jumlah piket:" in shown

    assert desk.send("dedi", "/roster setujui 2026-12") == [
        "Maaf, jadwal piket disetujui oleh Kasi."
    ]
    assert desk.send("hendra", "/roster setujui 2026-12")[0].startswith(
        "✅ Jadwal piket Desember 2026 disetujui oleh Hendra."
    )
    assert "sudah disetujui" in desk.send("dedi", "/roster buat 2026-12")[0]

    before = days["2026-12-03"]
    replacement = "anton" if before != "anton" else "rina"
    swapped = desk.send("hendra", f"/tukar 3/12 {replacement}")
    assert swapped[0].startswith("🔁 Piket Kamis, 3 Desember 2026 (piket): ")
    after = slots(desk)
    assert after["2026-12-03"] == replacement
    assert {k: v for k, v in after.items() if k != "2026-12-03"} == {
        k: v for k, v in days.items() if k != "2026-12-03"
    }  # one day changed, the month was not regenerated
    again = desk.send("hendra", f"/tukar 3/12 {replacement}")  # already on duty that day
    assert again and "tidak ada yang diubah" in again[0]
    assert desk.send("hendra", "/tukar 5/12 rina") == [
        "Maaf, tidak ada piket pada Sabtu, 5 Desember 2026."
    ]
    assert "tidak dikenal" in desk.send("hendra", "/tukar 7/12 joko")[0]
    with desk.warta.db.transaction() as session:
        actions = [e.action for e in session.exec(select(DeskEvent)).all()]
    assert actions == ["generate", "approve", "swap"]


def test_leave_is_respected_and_a_clash_is_pointed_out(desk: Chat):
    desk.send("dedi", "/roster buat 2026-12")
    on_duty = [day for day, key in slots(desk).items() if key == "rina"]
    clash = on_duty[0]
    day, month = int(clash[8:10]), int(clash[5:7])

    said = desk.send("hendra", f"/cuti rina {day}/{month} | sakit")

    assert said[0].startswith(f"Cuti Rina dicatat: {day}/{month}.")
    assert f"Rina terjadwal piket pada {day}/{month}. Ganti dengan /tukar {day}/{month}" in said[0]
    assert "sedang cuti" in desk.send("hendra", f"/tukar {day}/{month} rina")[0]

    desk.send("hendra", "/cuti anton 1-31 Desember | tugas belajar")
    desk.send("dedi", "/roster buat 2026-12")
    regenerated = slots(desk)
    assert "anton" not in regenerated.values()
    assert regenerated[clash] != "rina"
    with desk.warta.db.transaction() as session:
        assert len(session.exec(select(Leave)).all()) == 32
    assert "belum bisa dibaca" in desk.send("hendra", "/cuti rina minggu depan")[0]
    assert desk.send("rina", "/cuti rina 3/12")[0].startswith("Maaf, perintah /cuti hanya untuk")


def test_duty_today_and_the_morning_announcement(desk: Chat, clock: FakeClock):
    assert desk.send("rina", "/piket") == ["Tidak ada jadwal piket untuk Rabu, 2 Desember 2026."]
    desk.send("dedi", "/roster buat 2026-12")
    # A draft is not the roster yet: only what the Kasi approved is announced.
    assert desk.send("rina", "/piket besok") == [
        "Tidak ada jadwal piket untuk Kamis, 3 Desember 2026."
    ]
    desk.send("hendra", "/roster setujui 2026-12")
    officer = desk.desk.people.find_name(slots(desk)["2026-12-03"])
    assert officer is not None
    assert desk.send("rina", "/piket besok") == [
        f"👮 Petugas piket Kamis, 3 Desember 2026: {officer.name} (piket, 07.30–16.00)."
    ]
    sweep(desk)  # 08.00 on the 2nd: a new desk does not announce late
    assert desk.last == []
    clock.now = datetime(2026, 12, 3, 0, 0, tzinfo=UTC)  # 07.00 WIB on the 3rd

    said = sweep(desk)

    assert said == [
        f"☀️ Selamat pagi. 👮 Petugas piket Kamis, 3 Desember 2026: {officer.name} "
        "(piket, 07.30–16.00)."
    ]
    assert [s.recipient for s in desk.last] == [GROUP]
    assert sweep(desk) == []


def test_the_digest_names_todays_duty_officer_and_agenda(
    db_url: str, tmp_path: Path, clock: FakeClock
):
    chat = make_chat(db_url, tmp_path, clock=clock, sla={**SLA, "digest_at": "07.00"})
    try:
        chat.send("dedi", "/roster buat 2026-12")
        chat.send("hendra", "/roster setujui 2026-12")
        chat.send(
            "dedi", "/agenda tambah besok 09.00-11.00 | Rapat banjir | Wali Kota | Balai Kota"
        )
        sweep(chat)
        officer = chat.desk.people.find_name(slots(chat)["2026-12-03"])
        assert officer is not None
        clock.now = datetime(2026, 12, 3, 0, 0, tzinfo=UTC)  # 07.00 WIB on the 3rd

        sweep(chat)

        digest = chat.to("hendra")[0]
        assert f"Petugas piket Kamis, 3 Desember 2026: {officer.name}" in digest
        assert "Agenda Kamis, 3 Desember 2026\n• 09.00–11.00 WIB A1 «Rapat banjir»" in digest
        assert "⚠️ belum ada peliput" in digest
    finally:
        chat.warta.close()


def agenda_file(name: str, content: str | bytes) -> InboundMedia:
    data = content.encode("utf-8") if isinstance(content, str) else content
    return InboundMedia(kind="file", data=data, filename=name, mime="text/plain")


def test_a_csv_file_sent_to_the_bot_is_imported_once(desk: Chat):
    said = desk.send("dedi", "", media=(agenda_file("agenda-desember.csv", CSV),))

    assert said[0].startswith(
        "📥 Berkas agenda-desember.csv diimpor: 2 kegiatan baru, 0 diperbarui, "
        "0 sudah ada (tidak berubah)."
    )
    assert "13.00 WIB–selesai A2 «Penyerahan bantuan sosial»" in said[0]
    again = desk.send("dedi", "", media=(agenda_file("agenda-desember.csv", CSV),))
    assert again[0].startswith(
        "📥 Berkas agenda-desember.csv diimpor: 0 kegiatan baru, 0 diperbarui, 2 sudah ada"
    )
    moved = CSV.replace("Aula Peteng Karuhei", "Balai Kota")
    updated = desk.send("dedi", "", media=(agenda_file("agenda-desember.csv", moved),))
    assert "0 kegiatan baru, 1 diperbarui, 1 sudah ada" in updated[0]
    with desk.warta.db.transaction() as session:
        items = session.exec(select(AgendaItem)).all()
    assert sorted(item.place for item in items) == ["Balai Kota", "Kelurahan Menteng"]
    assert {item.source for item in items} == {"csv"}


def test_an_ics_file_is_imported_and_a_bad_file_saves_nothing(desk: Chat):
    said = desk.send("sari", "", media=(agenda_file("protokol.ics", ICS),))
    assert "1 kegiatan baru" in said[0]
    assert (
        "Senin, 7 Desember 2026, 08.00–12.00 WIB A1 «Musrenbang Kecamatan Jekan Raya»" in (said[0])
    )

    broken = CSV + "31/02/2026;09.00;10.00;Tanggal salah;;\r\n05/12/2026;jam dua;;Jam salah;;\r\n"
    refused = desk.send("sari", "", media=(agenda_file("rusak.csv", broken),))

    assert refused[0].startswith(
        "❌ Berkas rusak.csv tidak diimpor (tidak ada yang disimpan). Mohon perbaiki:"
    )
    assert "• baris 4:" in refused[0] and "• baris 5:" in refused[0]
    with desk.warta.db.transaction() as session:
        assert len(session.exec(select(AgendaItem)).all()) == 1  # only the ICS event
    assert desk.send("rina", "", media=(agenda_file("protokol.ics", ICS),), private=True) == [
        "Maaf, hanya Kasi atau Redaktur yang dapat mengubah agenda dan menugaskan peliputan."
    ]


def test_an_agenda_file_survives_a_redelivery(desk: Chat):
    message = desk.message("dedi", "", media=(agenda_file("agenda.csv", CSV),))
    desk.deliver(message)
    assert desk.deliver(message) == []  # the same message again: answered once
    with desk.warta.db.transaction() as session:
        assert len(session.exec(select(AgendaItem)).all()) == 2


def test_months_and_days_that_cannot_be_read(desk: Chat):
    assert desk.send("dedi", "/roster buat bulan depan lusa")[0].startswith("Maaf, bulan «")
    assert desk.send("dedi", "/roster 2027-01") == [
        "Belum ada jadwal piket untuk Januari 2027. Susun dengan /roster buat 2027-01."
    ]
    assert desk.send("dedi", "/piket kapan-kapan")[0].startswith("Maaf, tanggal «")


def test_a_calendar_cancellation_ends_the_assignment_and_tells_the_reporter(desk: Chat):
    desk.send("sari", "", media=(agenda_file("protokol.ics", ICS),))
    desk.send("sari", "/tugaskan 1 rina")
    cancelled = ICS.replace("LOCATION:", "STATUS:CANCELLED\r\nLOCATION:")

    desk.send("sari", "", media=(agenda_file("protokol.ics", cancelled),))

    assert "1 dibatalkan" in desk.to(GROUP)[0]
    assert "dibatalkan, penugasan liputan Anda ikut dibatalkan" in desk.to("rina")[0]
    with desk.warta.db.transaction() as session:
        assert session.exec(select(AgendaItem)).one().status == "cancelled"
        assert session.exec(select(Assignment)).one().status == "cancelled"


def test_a_file_too_large_is_refused_and_coverage_with_a_spreadsheet_is_kept(desk: Chat):
    huge = CSV + "x" * (1024 * 1024)
    said = desk.send("dedi", "", media=(agenda_file("besar.csv", huge),))
    assert said[0].startswith("❌ Berkas besar.csv tidak diimpor: ukurannya melebihi 1.0 MB")

    coverage = desk.send(
        "rina",
        "Data Banjir Kelurahan Menteng\nIsi berita.",
        media=(agenda_file("data_banjir.csv", CSV),),
    )
    assert coverage[0].startswith("Terima kasih, Rina. Berita #1 «Data Banjir Kelurahan Menteng»")
    with desk.warta.db.transaction() as session:
        assert session.exec(select(AgendaItem)).all() == []
