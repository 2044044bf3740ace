"""Refused commands and forged button presses leave a trace: who tried what, when."""

from __future__ import annotations

from sqlmodel import select

from handlers.messages import ChatKind
from storage.models import AuditEvent
from tests.support import GROUP, STORY, Chat


def trail(chat: Chat, event: str) -> list[AuditEvent]:
    with chat.warta.db.transaction() as session:
        return list(
            session.exec(
                select(AuditEvent).where(AuditEvent.event == event).order_by(AuditEvent.id)
            )
        )


def person_id(chat: Chat, key: str) -> int:
    return next(p.id for p in chat.desk.people.by_id.values() if p.key == key)


def test_a_command_refused_by_role_is_recorded_with_the_story(chat: Chat):
    chat.send("rina", STORY)
    chat.send("rina", "/terbitkan 1")
    refused = trail(chat, "refused")
    assert len(refused) == 1
    entry = refused[0]
    assert entry.actor_id == person_id(chat, "rina") and entry.story_id is not None
    assert entry.reason == "role:publish" and entry.at == chat.clock()
    assert entry.detail["text"] == "/terbitkan 1" and entry.detail["sender"] == "rina"


def test_a_command_not_for_ones_role_and_an_unknown_sender_are_recorded(chat: Chat):
    chat.send("rina", "/tugaskan 1 rina")  # only planners assign
    chat.send("rina", "/roster setujui 2026-12")  # only the Kasi approves
    chat.send("stranger", "/daftar", sender="99999")
    reasons = [(entry.reason, entry.actor_id) for entry in trail(chat, "refused")]
    rina = person_id(chat, "rina")
    assert reasons == [
        ("role:assign", rina),
        ("role:roster", rina),
        ("unregistered:list", None),
    ]


def test_a_forged_button_press_is_refused_and_recorded(db_url: str, tmp_path):
    from bot.channels.local import LocalChannel
    from tests.support import make_chat

    chat = make_chat(db_url, tmp_path)
    channel = chat.messenger
    assert isinstance(channel, LocalChannel)
    chat.send("rina", STORY)
    data = channel.signer.sign("/terbitkan 1", 1)
    forged = data.replace("terbitkan", "sunting")
    press = channel.inbound_press(
        forged, card_id="c1", chat=GROUP, sender="dedi", chat_kind=ChatKind.GROUP
    )
    receipt = chat.intake.receive(press)
    assert receipt.outcome == "forged_button"
    [entry] = trail(chat, "forged_button")
    assert entry.actor_id == person_id(chat, "dedi")
    assert entry.detail["button"] is True and entry.detail["text"] == forged
    chat.warta.close()
