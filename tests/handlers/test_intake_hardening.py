"""Whatever arrives is stored and nothing stops intake: hostile text, odd ids, failures."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from storage import repo
from storage.models import InboxMessage, Story
from storage.text import raw_form
from tests.support import STORY, Chat


def stories(chat: Chat) -> list[Story]:
    with chat.warta.db.transaction() as session:
        return list(session.exec(select(Story).order_by(Story.id)))


def inbox(chat: Chat) -> list[InboxMessage]:
    with chat.warta.db.transaction() as session:
        return list(session.exec(select(InboxMessage).order_by(InboxMessage.id)))


@pytest.mark.parametrize("bad", ["\x00", "\ud800", "\udfff"], ids=["nul", "high", "low"])
def test_text_the_database_cannot_hold_is_cleaned_and_kept_raw(chat: Chat, bad: str):
    text = STORY.replace("Musrenbang", f"Musren{bad}bang", 1)
    replies = chat.send("rina", text)
    assert "Berita #1" in replies[0]
    story = stories(chat)[0]
    assert story.title == "Wali Kota Buka Musren\ufffdbang"
    row = inbox(chat)[0]
    assert row.payload["raw"]["text"] == raw_form(text)
    # The next message is not held up by it.
    assert "#2" in chat.send("anton", STORY, message_id="next")[0]


def test_ids_longer_than_their_column_stay_unique_and_deduplicate(chat: Chat):
    long_id = "m" * 500
    first = chat.intake.receive(chat.message("rina", STORY, message_id=long_id))
    again = chat.intake.receive(chat.message("rina", STORY, message_id=long_id))
    other = chat.intake.receive(chat.message("rina", STORY, message_id=long_id[:-1] + "n"))
    assert (first.duplicate, again.duplicate, other.duplicate) == (False, True, False)
    assert len(stories(chat)) == 2
    assert all(len(row.message_id) <= 200 for row in inbox(chat))


def test_a_message_whose_handling_fails_is_set_aside_told_and_rerun(chat: Chat):
    route = chat.intake.route
    broken = True

    def failing(turn):
        if broken and "Musrenbang" in turn.msg.text:
            raise RuntimeError("template missing")
        route(turn)

    chat.intake.route = failing
    replies = chat.send("rina", STORY)
    assert any("belum dapat kami proses" in reply for reply in replies)
    row = inbox(chat)[0]
    told = chat.to("budi")  # the operator, privately
    assert told and "disisihkan" in told[0] and f"warta inbox retry {row.id}" in told[0]
    assert "RuntimeError: template missing" in told[0]
    assert (row.outcome, row.attempts, row.last_error) == (
        "set_aside",
        1,
        "RuntimeError: template missing",
    )
    # Intake goes on, and the message is handled once the fault is fixed.
    assert "#1" in chat.send("anton", "Judul lain\nIsi berita lain.")[0]
    broken = False
    receipts = chat.intake.retry_set_aside()
    assert [receipt.outcome for receipt in receipts] == ["submitted"]
    assert [story.title for story in stories(chat)] == ["Judul lain", "Wali Kota Buka Musrenbang"]
    with chat.warta.db.transaction() as session:
        assert repo.set_aside_inbox(session) == []


def test_a_passing_database_error_is_tried_again(chat: Chat):
    route = chat.intake.route
    failures = [OperationalError("UPDATE story", {}, Exception("connection reset"))]
    pauses: list[float] = []

    def flaky(turn):
        if failures:
            raise failures.pop()
        route(turn)

    chat.intake.route = flaky
    chat.intake.pause = pauses.append
    assert "Berita #1" in chat.send("rina", STORY)[0]
    assert len(pauses) == 1 and inbox(chat)[0].outcome == "submitted"


def test_a_database_error_that_persists_sets_the_message_aside(chat: Chat):
    def down(_turn):
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    chat.intake.route = down
    chat.intake.pause = lambda _seconds: None
    receipt = chat.intake.receive(chat.message("rina", STORY))
    assert receipt.outcome == "set_aside"
    assert "server closed the connection" in (inbox(chat)[0].last_error or "")
