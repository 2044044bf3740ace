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
