"""Reminders, breaches and escalation in the chat, on an injected clock, on SQLite and
PostgreSQL: points, holders, cancellation by a step change, downtime, restart, fold mode."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.app import build
from bot.channels.local import LocalChannel
from storage.models import Person, SlaAlarm, SlaClock
from tests.support import GROUP, STORY, Chat, FakeClock, desk_settings, make_chat

QUIET = {"submission": "1h", "editing": "3h", "publishing": "2h", "digest_at": "off"}


def sla(**overrides: Any) -> dict[str, Any]:
    return {**QUIET, **overrides}


@pytest.fixture
def desk(db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Chat]:
    chat = make_chat(db_url, tmp_path, clock=clock, sla=sla())
    yield chat
    chat.warta.close()


def sweep(chat: Chat) -> list[str]:
    """Let the watch look at the clocks now, deliver what it wrote, return the plain texts."""
    assert chat.warta.watch is not None
    chat.warta.watch.sweep()
    return chat.flush()


def alarms(chat: Chat) -> dict[tuple[str, str], str]:
    """(step, point) → status of every alarm planned so far."""
    with chat.warta.db.transaction() as session:
        rows = session.exec(
            select(SlaClock.step, SlaAlarm.point, SlaAlarm.status).join(
                SlaClock, SlaClock.id == SlaAlarm.clock_id
            )
        ).all()
    return {(step, point): status for step, point, status in rows}


def person_id(chat: Chat, key: str) -> int:
    with chat.warta.db.transaction() as session:
        person = session.exec(select(Person).where(Person.key == key)).one()
        assert person.id is not None
        return person.id


# Submitted at 08.00 WIB with 3 hours to edit: 50 % at 09.30, 80 % at 10.24, breach at 11.00.


def test_reminders_at_50_and_80_percent_go_to_every_editor_while_nobody_holds_it(
    desk: Chat, clock: FakeClock
):
    desk.send("rina", STORY)
    assert alarms(desk) == {
        ("editing", "50%"): "pending",
        ("editing", "80%"): "pending",
        ("editing", "breach"): "pending",
    }
    clock.advance(minutes=89)
    assert sweep(desk) == []
    clock.advance(minutes=1)

    said = sweep(desk)

    group = desk.to(GROUP)
    assert len(said) == 4  # the group, and Hendra, Dedi and Sari privately
    assert group == [
        "⏰ Pengingat untuk semua Redaktur: batas waktu penyuntingan dan verifikasi berita "
        "#1 «Wali Kota Buka Musrenbang» pukul 11.00 WIB (1 jam 30 menit lagi).\n"
        "Silakan /sunting 1 lalu /verifikasi 1."
    ]
    assert desk.to("dedi")[0].startswith("⏰ Yth. Dedi, batas waktu penyuntingan dan verifikasi")
    assert {s.recipient for s in desk.last} == {GROUP, "hendra", "dedi", "sari"}
    assert sweep(desk) == []  # sent once
    assert alarms(desk)[("editing", "50%")] == "sent"

    clock.advance(minutes=54)  # 10.24
    said = sweep(desk)
    assert "(36 menit lagi)" in desk.to(GROUP)[0]
    assert len(said) == 4


def test_a_claimed_story_reminds_only_its_editor_and_names_them_in_the_group(
    desk: Chat, clock: FakeClock
):
    desk.send("rina", STORY)
    desk.send("dedi", "/sunting 1")
    clock.advance(minutes=90)

    sweep(desk)

    assert {s.recipient for s in desk.last} == {GROUP, "dedi"}
    assert desk.to(GROUP)[0].startswith("⏰ Pengingat untuk Dedi:")
    assert "Mohon selesaikan penyuntingan lalu /verifikasi 1." in desk.to("dedi")[0]


def test_a_breach_tells_the_holder_and_escalates_to_the_section_head(desk: Chat, clock: FakeClock):
    desk.send("rina", STORY)
    desk.send("dedi", "/sunting 1")
    clock.advance(hours=3, minutes=1)  # 11.01: the 80 % reminder is superseded by the breach

    sweep(desk)

    assert desk.to("dedi") == [
        "⚠️ Yth. Dedi, batas waktu penyuntingan dan verifikasi berita #1 «Wali Kota Buka "
        "Musrenbang» sudah lewat (pukul 11.00 WIB, terlambat 1 menit).\n"
        "Mohon selesaikan penyuntingan lalu /verifikasi 1. Hal ini sudah diteruskan ke Kasi."
    ]
    assert desk.to("hendra") == [
        "🔺 Eskalasi: berita #1 «Wali Kota Buka Musrenbang» melewati batas waktu penyuntingan "
        "dan verifikasi (pukul 11.00 WIB, terlambat 1 menit).\n"
        "Penanggung jawab: Dedi. Status: sedang disunting."
    ]
    assert desk.to(GROUP)[0].startswith("⚠️ Berita #1 «Wali Kota Buka Musrenbang» melewati")
    assert alarms(desk) == {
        ("editing", "50%"): "superseded",
        ("editing", "80%"): "superseded",
        ("editing", "breach"): "sent",
    }
    with desk.warta.db.transaction() as session:
        clock_row = session.exec(select(SlaClock)).one()
    assert clock_row.breached_at == clock_row.due_at
    assert clock_row.held_by == f"person:{person_id(desk, 'dedi')}"


def test_a_step_change_cancels_the_pending_reminders_and_starts_the_next_clock(
    desk: Chat, clock: FakeClock
):
    desk.send("rina", STORY)
    desk.send("dedi", "/sunting 1")
    clock.advance(hours=1)
    desk.send("dedi", "/verifikasi 1 semua")  # 09.00: publishing is due at 11.00

    assert alarms(desk) == {
        ("editing", "50%"): "cancelled",
        ("editing", "80%"): "cancelled",
        ("editing", "breach"): "cancelled",
        ("publishing", "50%"): "pending",
        ("publishing", "80%"): "pending",
        ("publishing", "breach"): "pending",
    }
    clock.advance(minutes=30)  # 09.30: the editing step's 50 % would have been now
    assert sweep(desk) == []
    clock.advance(minutes=30)  # 10.00: half of the publishing window

    sweep(desk)

    assert {s.recipient for s in desk.last} == {GROUP, "budi"}
    assert desk.to(GROUP)[0].startswith(
        "⏰ Pengingat untuk semua Admin/Operator: batas waktu penerbitan"
    )
    assert "Silakan /terbitkan 1." in desk.to("budi")[0]
    with desk.warta.db.transaction() as session:
        editing = session.exec(select(SlaClock).where(SlaClock.step == "editing")).one()
    assert editing.outcome == "done" and editing.breached_at is None


def test_a_revision_reminds_the_reporter(desk: Chat, clock: FakeClock):
    desk.send("rina", STORY)
    desk.send("dedi", "/kembalikan 1 nama pejabat belum lengkap")
    clock.advance(minutes=30)  # half of the hour the reporter has

    sweep(desk)

    assert {s.recipient for s in desk.last} == {GROUP, "rina"}
    assert desk.to("rina")[0] == (
        "⏰ Yth. Rina, batas waktu pengiriman liputan berita #1 «Wali Kota Buka Musrenbang»: "
        "pukul 09.00 WIB (30 menit lagi).\n"
        "Mohon kirim perbaikan dengan membalas pesan berita, atau /revisi 1 diikuti teksnya."
    )


@pytest.mark.parametrize(
    ("where", "expected"),
    [(["group"], {GROUP}), (["private"], {"hendra", "dedi", "sari"})],
    ids=["group", "private"],
)
def test_reminders_in_the_group_only_or_privately_only(
    db_url: str, tmp_path: Path, clock: FakeClock, where: list[str], expected: set[str]
):
    chat = make_chat(db_url, tmp_path, clock=clock, sla=sla(notify=where))
    try:
        chat.send("rina", STORY)
        clock.advance(minutes=90)
        sweep(chat)
        assert {s.recipient for s in chat.last} == expected
    finally:
        chat.warta.close()


def test_reminders_that_fell_due_during_a_downtime_are_sent_once_after_restart(
    db_url: str, tmp_path: Path, clock: FakeClock
):
    settings = desk_settings(db_url, tmp_path, sla=sla())
    first = LocalChannel()
    warta = build(settings, channels={"local": first}, clock=clock)
    chat = Chat(warta, first, clock)
    chat.send("rina", STORY)
    warta.close()  # Warta stops at 08.00 and comes back at 10.50

    clock.advance(hours=2, minutes=50)
    second = LocalChannel()
    restarted = Chat(build(settings, channels={"local": second}, clock=clock), second, clock)
    try:
        said = sweep(restarted)
        # Only the latest point is sent (the 50 % one is superseded by it), marked late.
        assert len(said) == 4
        group = restarted.to(GROUP)[0]
        assert "pukul 11.00 WIB (10 menit lagi)" in group
        assert "(Pengingat ini terlambat dikirim karena Warta sempat tidak aktif.)" in group
        assert alarms(restarted) == {
            ("editing", "50%"): "superseded",
            ("editing", "80%"): "late",
            ("editing", "breach"): "pending",
        }
    finally:
        restarted.warta.close()

    third = LocalChannel()  # and once more: nothing is repeated
    again = Chat(build(settings, channels={"local": third}, clock=clock), third, clock)
    try:
        assert sweep(again) == []
        clock.advance(minutes=12)  # 11.02: the breach, on time (within late_after)
        said = sweep(again)
        assert any(text.startswith("⚠️ Berita #1") for text in said)
        assert not any("terlambat dikirim" in text for text in said)
    finally:
        again.warta.close()


def test_fold_mode_gathers_a_downtime_into_one_catch_up_message_per_chat(
    db_url: str, tmp_path: Path, clock: FakeClock
):
    chat = make_chat(db_url, tmp_path, clock=clock, sla=sla(missed="fold"))
    try:
        chat.send("rina", STORY)
        chat.send("anton", "Pasar Murah di Jalan Tjilik Riwut\nWarga antre sejak pagi.")
        chat.send("dedi", "/sunting 2")
        clock.advance(hours=3, minutes=30)  # both stories breached while Warta was down

        said = sweep(chat)

        group = chat.to(GROUP)
        assert len(group) == 1
        assert group[0].startswith("Warta sempat tidak aktif. Pengingat yang tertunda (2):")
        assert "⚠️ lewat batas berita #1 «Wali Kota Buka Musrenbang»" in group[0]
        assert (
            "⚠️ lewat batas berita #2 «Pasar Murah di Jalan Tjilik Riwut» — penyuntingan" in group[0]
        )
        assert "Berita yang lewat batas waktu sudah diteruskan ke Kasi." in group[0]
        hendra = chat.to("hendra")
        assert len(hendra) == 1  # one catch-up, not one message per story
        assert len(said) == len({s.recipient for s in chat.last})
        assert set(alarms(chat).values()) == {"folded", "superseded"}
        assert sweep(chat) == []
    finally:
        chat.warta.close()


def test_late_lists_what_is_overdue_or_due_within_the_hour(desk: Chat, clock: FakeClock):
    assert desk.send("rina", "/terlambat") == [
        "Tidak ada berita yang terlambat atau jatuh tempo dalam satu jam ke depan. 👍"
    ]
    desk.send("rina", STORY)
    clock.advance(hours=1)
    desk.send("anton", "Pasar Murah\nWarga antre sejak pagi.")
    desk.send("dedi", "/sunting 2")
    clock.advance(hours=2, minutes=20)  # 11.20: #1 is 20 minutes late, #2 due at 12.00

    replies = desk.send("budi", "/terlambat")

    assert replies == [
        "Lewat batas waktu (1)\n"
        "• #1 «Wali Kota Buka Musrenbang» — penyuntingan dan verifikasi, semua Redaktur, "
        "terlambat 20 menit\n"
        "Jatuh tempo dalam satu jam (1)\n"
        "• #2 «Pasar Murah» — penyuntingan dan verifikasi, Dedi, 40 menit lagi"
    ]
    english = desk.send("anton", "/late")
    assert english[0].startswith("Past the deadline (1)")


def test_a_story_from_before_clocks_existed_gets_one_at_start(desk: Chat, clock: FakeClock):
    desk.send("rina", STORY)
    with desk.warta.db.transaction() as session:
        for alarm in session.exec(select(SlaAlarm)).all():
            session.delete(alarm)
        for row in session.exec(select(SlaClock)).all():
            session.delete(row)
    assert desk.warta.watch is not None

    assert desk.warta.watch.repair() == 1
    assert desk.warta.watch.repair() == 0

    assert set(alarms(desk)) == {("editing", "50%"), ("editing", "80%"), ("editing", "breach")}
    clock.advance(minutes=90)
    assert len(sweep(desk)) == 4


def test_group_reminders_never_go_to_a_private_chat(desk: Chat, clock: FakeClock):
    desk.send("dedi", "/daftar")  # the desk's group, as Warta has heard it
    desk.send("rina", STORY, private=True)  # coverage sent privately
    clock.advance(minutes=90)

    sweep(desk)

    assert {s.recipient for s in desk.last} == {GROUP, "hendra", "dedi", "sari"}
    assert not any("Pengingat untuk semua Redaktur" in text for text in desk.to("rina"))


def test_a_story_from_before_clocks_is_not_announced_as_late_at_its_repair(
    desk: Chat, clock: FakeClock
):
    desk.send("rina", STORY)
    with desk.warta.db.transaction() as session:
        for alarm in session.exec(select(SlaAlarm)).all():
            session.delete(alarm)
        for row in session.exec(select(SlaClock)).all():
            session.delete(row)
    clock.advance(hours=5)  # long past its deadline when the new Warta starts
    assert desk.warta.watch is not None

    desk.warta.watch.repair()

    assert sweep(desk) == []
    assert set(alarms(desk).values()) == {"superseded"}


def test_a_verified_story_sent_back_does_not_count_as_published_on_time(
    desk: Chat, clock: FakeClock
):
    desk.send("rina", STORY)
    desk.send("dedi", "/sunting 1")
    desk.send("dedi", "/verifikasi 1 semua")
    desk.send("hendra", "/kembalikan 1 foto kurang")
    with desk.warta.db.transaction() as session:
        outcomes = {row.step: row.outcome for row in session.exec(select(SlaClock)).all()}
    assert outcomes == {"editing": "done", "publishing": "cancelled", "submission": "open"}


def test_an_alarm_that_cannot_be_sent_does_not_hold_up_the_others(desk: Chat, clock: FakeClock):
    desk.send("rina", STORY)
    desk.send("anton", "Pasar Murah\nWarga antre sejak pagi.")
    with desk.warta.db.transaction() as session:
        broken = session.exec(select(SlaClock).where(SlaClock.story_id == 1)).one()
        broken.step = "no-such-step"  # a damaged row (say, written by a future Warta)
        session.add(broken)
    clock.advance(minutes=90)

    sweep(desk)

    assert any("#2 «Pasar Murah»" in text for text in desk.to(GROUP))
    with desk.warta.db.transaction() as session:
        rows = session.exec(
            select(SlaClock.story_id, SlaAlarm.status)
            .join(SlaClock, SlaClock.id == SlaAlarm.clock_id)
            .where(SlaAlarm.point == "50%")
        ).all()
    assert sorted(rows) == [(1, "failed"), (2, "sent")]
    assert sweep(desk) == []  # the failed one is not retried forever


def test_late_names_who_holds_the_story_now(desk: Chat, clock: FakeClock):
    desk.send("rina", STORY)
    clock.advance(hours=3, minutes=5)
    sweep(desk)  # the breach, while nobody held it
    desk.send("dedi", "/sunting 1")

    late = desk.send("hendra", "/terlambat")[0]

    assert "penyuntingan dan verifikasi, Dedi, terlambat 5 menit" in late
