"""The section head's daily digest on a fixture day (golden file), sent once at 07.00, shown on
demand with /ringkasan, and a missed digest caught up after a late start."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.channels.markup import plain
from storage import clocks
from tests.support import GROUP, STORY, Chat, FakeClock, make_chat

GOLDEN = Path(__file__).parent / "golden" / "digest_2026-12-02.txt"
SLA = {"submission": "1h", "editing": "3h", "publishing": "2h", "digest_at": "07.00"}


@pytest.fixture
def desk(db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Chat]:
    chat = make_chat(db_url, tmp_path, clock=clock, sla=SLA)
    yield chat
    chat.warta.close()


def at(clock: FakeClock, hour: int, minute: int = 0) -> None:
    """Move the clock forward to hh.mm WIB on Wednesday 2 December 2026."""
    from datetime import UTC, datetime, timedelta

    target = datetime(2026, 12, 2, hour, minute, tzinfo=UTC) - timedelta(hours=7)
    assert target >= clock.now, "the fixture day only moves forward"
    clock.now = target


def sweep(chat: Chat) -> list[str]:
    assert chat.warta.watch is not None
    chat.warta.watch.sweep()
    return chat.flush()


def fixture_day(chat: Chat, clock: FakeClock) -> None:
    """Four stories on Wednesday 2 December 2026, with a sweep every few minutes."""
    at(clock, 8, 0)
    chat.send("rina", STORY)  # 1: on time all the way
    at(clock, 8, 10)
    chat.send("dedi", "/sunting 1")
    at(clock, 9, 0)
    chat.send("dedi", "/verifikasi 1 semua")
    chat.send("anton", "Pasar Murah di Jalan Tjilik Riwut\nWarga antre sejak pagi.")  # 2
    at(clock, 9, 30)
    chat.send("budi", "/terbitkan 1")
    at(clock, 10, 0)
    chat.send("dedi", "/sunting 2")
    at(clock, 12, 1)
    sweep(chat)  # the breach of #2's editing, held by Dedi
    at(clock, 12, 35)
    chat.send("dedi", "/verifikasi 2 semua")  # 35 minutes late
    at(clock, 13, 0)
    chat.send("rina", "Peninjauan Banjir di Kelurahan Menteng\nAir mulai surut.")  # 3
    at(clock, 14, 0)
    chat.send("sari", "/kembalikan 3 kutipan Lurah belum ada")
    chat.send("budi", "/terbitkan 2")  # on time (due 14.35)
    at(clock, 16, 0)
    chat.send("anton", "Vaksinasi di Puskesmas Pahandut\nWarga datang sejak pagi.")  # 4
    at(clock, 23, 0)
    sweep(chat)


def test_the_digest_of_a_fixture_day_matches_the_golden_file(desk: Chat, clock: FakeClock):
    assert sweep(desk) == []  # a new desk started at 08.00: no digest to catch up yet
    fixture_day(desk, clock)
    clock.advance(hours=8)  # 07.00 on Thursday 3 December

    sweep(desk)

    digests = [s for s in desk.last if "Ringkasan harian" in s.text]
    assert [s.recipient for s in digests] == ["hendra"]  # privately, to the section head
    text = plain(digests[0].text)
    if os.environ.get("WARTA_UPDATE_GOLDEN"):
        GOLDEN.write_text(text + "\n", encoding="utf-8")
    assert text + "\n" == GOLDEN.read_text(encoding="utf-8")
    assert "📊 <b>Ringkasan harian" in digests[0].text  # bold headings in the chat

    assert sweep(desk) == []  # once a day, however often the watch looks
    on_demand = desk.send("hendra", "/ringkasan")
    assert on_demand == [text]
    assert desk.send("hendra", "/ringkasan 2026-12-02") == [text]
    assert desk.send("hendra", "/ringkasan 2/12") == [text]


def test_the_digest_is_sent_once_a_day_at_its_time(desk: Chat, clock: FakeClock):
    sweep(desk)
    clock.advance(hours=22, minutes=59)  # 06.59 on the 3rd
    assert sweep(desk) == []
    assert desk.warta.watch is not None
    wake = desk.warta.watch.next_wake()
    assert wake == clock.now + timedelta(minutes=1)  # the alarm clock wakes for the digest
    clock.advance(minutes=1)
    assert len(sweep(desk)) == 1
    assert sweep(desk) == []
    # Warta was down over the next digest time and starts at 10.00: sent late, once.
    clock.advance(days=1, hours=3)
    assert [s.recipient for s in (sweep(desk), desk.last)[1]] == ["hendra"]
    assert sweep(desk) == []
    with desk.warta.db.transaction() as session:
        assert not clocks.claim_daily_run(session, job="digest", day="2026-12-03", now=clock.now)


def test_the_digest_on_demand_and_its_refusals(desk: Chat, clock: FakeClock):
    desk.send("rina", STORY)
    today = desk.send("hendra", "/ringkasan hari ini")
    assert today[0].startswith("📊 Ringkasan harian — Rabu, 2 Desember 2026")
    assert "Berita masuk: 1 · terbit: 0" in today[0]
    assert (
        "• #1 «Wali Kota Buka Musrenbang» — penyuntingan dan verifikasi, semua Redaktur"
        in (today[0])
    )
    assert desk.send("hendra", "/ringkasan kemarin lusa") == [
        "Maaf, tanggal «kemarin lusa» tidak dikenali. Contoh: /ringkasan (kemarin), "
        "/ringkasan hari ini, /ringkasan 2026-12-02 atau /ringkasan 2/12."
    ]
    assert desk.send("rina", "/ringkasan") == [
        "Maaf, perintah /ringkasan hanya untuk Kasi, Redaktur atau Admin/Operator. "
        "Ketik /bantuan untuk perintah yang dapat Bapak/Ibu gunakan."
    ]
    assert desk.send("anton", "/digest today") == [
        "Sorry, /digest is only for the section head, editors or operators. "
        "Type /help for the commands you can use."
    ]


def test_without_a_section_head_reachable_the_digest_goes_to_the_group(
    db_url: str, tmp_path: Path, clock: FakeClock
):
    people = [
        {"key": "dedi", "name": "Dedi", "roles": ["editor"]},
        {"key": "rina", "name": "Rina", "roles": ["reporter"]},
    ]
    chat = make_chat(db_url, tmp_path, clock=clock, sla=SLA, people=people)
    try:
        chat.send("rina", STORY)  # the story's chat is where Warta's group messages go
        sweep(chat)
        clock.advance(days=1)
        sweep(chat)
        assert [s.recipient for s in chat.last if "Ringkasan" in s.text] == [GROUP]
    finally:
        chat.warta.close()


def test_a_digest_missed_over_midnight_is_sent_when_warta_is_back(desk: Chat, clock: FakeClock):
    sweep(desk)  # a new desk: the 2nd counts as its first start
    clock.advance(days=1)  # 08.00 on the 3rd: the 3rd's digest (of the 2nd) goes out
    assert [s.recipient for s in (sweep(desk), desk.last)[1]] == ["hendra"]
    clock.advance(hours=22)  # Warta stops at 06.00 on the 4th and is back at 00.30 on the 5th
    clock.advance(hours=18, minutes=30)

    said = sweep(desk)

    assert len(said) == 1 and "Kamis, 3 Desember 2026" in said[0]  # the 4th's digest, late
    assert sweep(desk) == []
