"""How much of the desk a member of a virtual group receives: /senyap and /ramai."""

from __future__ import annotations

from handlers.reach import ALL, MINE, default_mode
from handlers.turn import Turn
from storage import repo


def quiet(turn: Turn) -> None:
    """Receive only what concerns you (your stories, what you hold) on this channel."""
    _choose(turn, MINE)


def everything(turn: Turn) -> None:
    """Receive every story's progress on this channel."""
    _choose(turn, ALL)


def _choose(turn: Turn, mode: str) -> None:
    assert turn.person is not None
    channel = turn.desk.reach.channel(turn.msg.channel)
    if channel is None or not channel.virtual_group:
        turn.outcome = "not_virtual"
        turn.reply("member_mode_not_here")
        return
    repo.set_member_mode(
        turn.session, person_id=turn.person.id, channel=channel.name, mode=mode, now=turn.now
    )
    turn.outcome = f"member_mode:{mode}"
    turn.reply("member_mode_set", mode=mode, default=mode == default_mode(turn.person.roles))


def relay_chat(turn: Turn) -> bool:
    """In a virtual group that relays chat, pass a member's plain message on to the members
    who follow everything, named with its author; True when it was relayed."""
    channel = turn.desk.reach.channel(turn.msg.channel)
    text = turn.msg.text.strip()
    if channel is None or not channel.relay_chat or not text or turn.media:
        return False
    assert turn.person is not None
    me = turn.person.addresses.get(channel.name)
    for chat in turn.desk.reach.members(turn.session, channel):
        if chat == me:
            continue
        turn.written.append(
            repo.enqueue_message(
                turn.session,
                channel=channel.name,
                recipient=chat,
                text=turn.render("member_chat", author=turn.person, text=text),
                now=turn.now,
                inbox_id=turn.inbox_id,
                template="member_chat",
            )
        )
    turn.outcome = "relayed"
    return True
