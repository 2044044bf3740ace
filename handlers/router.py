"""Every command Warta understands, listed once, and the router that sends each message to
its handler; /help, the command menus and the README table come from this list."""

from __future__ import annotations

import difflib
import re

from handlers.agenda import agenda
from handlers.agenda_import import import_agenda_file, is_agenda_import
from handlers.archive import request as request_archive
from handlers.assignments import accept, assign, decline
from handlers.command import (
    EVERYONE,
    HEADS,
    PEOPLE,
    PLANNERS,
    PUBLISHERS,
    REPORTERS,
    STAFF,
    WRITERS,
    Command,
    SubCommand,
)
from handlers.info import digest, late, list_open, show_help, status, whoami
from handlers.membership import everything, quiet, relay_chat
from handlers.publishing import abandon_target, report_published, retry_publish
from handlers.reports import monthly_report
from handlers.roster import duty, leave, roster, swap_duty
from handlers.search import find
from handlers.stories import (
    claim,
    list_versions,
    publish,
    release,
    reply_to_story,
    request_revision,
    spike,
    submit,
    update_text,
    verify,
)
from handlers.turn import Turn
from storage import repo
from workflow.lifecycle import Role, StoryEvent

_COMMAND = re.compile(r"^/([A-Za-z_]+)(?:@\w+)?(?:\s+(.*))?$", re.DOTALL)

# -- routing ----------------------------------------------------------------------------------


def route(turn: Turn) -> None:
    """Send the message to its command, its story (a reply) or the submission handler."""
    msg = turn.msg
    if "foreign_chat" in msg.notes:
        turn.outcome = "foreign_chat"  # a group that is not the desk's: kept, not answered
        return
    if "other_bot" in msg.notes:
        turn.outcome = "other_bot"  # /bantuan@SomeOtherBot: for another bot in the group
        return
    if "forged_button" in msg.notes:
        turn.outcome = "forged_button"
        turn.record_refusal("forged_button")
        turn.answer("button_invalid")
        return
    if turn.person is None and "unknown_sender_ignored" in msg.notes:
        turn.outcome = "ignored"  # kept in the inbox; strangers get no answer by e-mail
        return
    if turn.person is None and "unknown_sender_editors" in msg.notes:
        _unknown_sender(turn)
        return
    match = _COMMAND.match(msg.text.strip())
    if match:
        name = match.group(1).lower()
        turn.command, turn.args = name, (match.group(2) or "").strip()
        command = BY_NAME.get(name)
        if command is None:
            turn.outcome = "unknown_command"
            suggestions = difflib.get_close_matches(name, BY_NAME, n=1, cutoff=0.6)
            turn.reply(
                "unknown_command", command=name, suggestion=suggestions[0] if suggestions else None
            )
            return
        if turn.person is None and command.name not in ("help", "whoami"):
            turn.record_refusal(f"unregistered:{command.name}")
            _not_registered(turn)
            return
        if turn.person and not _allowed(turn, command):
            return
        command.handler(turn)
        return
    if turn.person is None:
        if not turn.desk.is_group(msg):
            _not_registered(turn)
        else:
            turn.outcome = "ignored"
        return
    if is_agenda_import(turn):
        if not turn.person.roles & PLANNERS:
            turn.outcome = "not_allowed"
            turn.record_refusal("role:agenda_import")
            turn.reply("agenda_planners_only")
            return
        import_agenda_file(turn)
        return
    if msg.reply_to_message_id:
        story = repo.story_by_message(
            turn.session, msg.channel, msg.chat_id, msg.reply_to_message_id
        )
        if story is not None and (msg.text.strip() or turn.media):
            reply_to_story(turn, story)
            return
    if Role.REPORTER in turn.person.roles and _looks_like_submission(turn):
        submit(turn)
        return
    if relay_chat(turn):
        return
    if turn.desk.is_group(msg):
        turn.outcome = "ignored"
    else:
        turn.outcome = "hint"
        turn.reply("private_hint")


def _looks_like_submission(turn: Turn) -> bool:
    """In a group only a message with a body or a photo is coverage; privately, anything is
    (except where members' chat is relayed: there a one-line message is chat)."""
    channel = turn.desk.reach.channel(turn.msg.channel)
    chatty = channel is not None and channel.relay_chat
    if not turn.desk.is_group(turn.msg) and not chatty:
        return True
    lines = [line for line in turn.msg.text.splitlines() if line.strip()]
    return len(lines) >= 2 or bool(turn.media)


def _unknown_sender(turn: Turn) -> None:
    """Mail from an address no person has: the editors decide (it may be coverage from a
    colleague's other address); the stranger gets no answer (no backscatter to spammers)."""
    turn.outcome = "unknown_sender"
    lines = [line for line in turn.msg.text.splitlines() if line.strip()]
    excerpt = " ".join(" ".join(lines[1:]).split())
    for person in turn.desk.people.with_role(Role.EDITOR):
        turn.desk.reach.tell_privately(
            turn.session,
            person,
            "unknown_sender_mail",
            now=turn.now,
            inbox_id=turn.inbox_id,
            sender=turn.msg.sender,
            sender_name=turn.msg.sender_name,
            title=lines[0] if lines else "",
            excerpt=excerpt[:300] + ("…" if len(excerpt) > 300 else ""),
            files=len(turn.media),
            number=turn.inbox_id,
        )


def _not_registered(turn: Turn) -> None:
    turn.outcome = "not_registered"
    turn.reply("not_registered", channel=turn.msg.channel, address=turn.msg.sender)


def _allowed(turn: Turn, command: Command) -> bool:
    """The one role check of every command and sub-command, from the command list. A command
    of the story lifecycle is checked by its table, which also knows the story's state."""
    assert turn.person is not None
    roles = turn.person.roles
    if command.event is None and not command.visible_to(roles):
        turn.outcome = "not_allowed"
        turn.record_refusal(f"role:{command.name}")
        turn.reply("command_not_allowed", command=command, roles=command.allowed_roles())
        return False
    sub = command.subcommand_of(turn.args)
    if sub is not None and not roles & sub.roles:
        turn.outcome = "not_allowed"
        turn.record_refusal(f"role:{command.name}")
        turn.reply(sub.refusal, command=command)
        return False
    return True


COMMANDS: tuple[Command, ...] = (
    Command(
        "submit", "kirim", submit, "<judul>\n<isi berita>", event=StoryEvent.SUBMIT, private=True
    ),
    Command("edit", "sunting", claim, "12", event=StoryEvent.CLAIM),
    Command(
        "update", "revisi", update_text, "12 <judul>\n<isi berita>", roles=WRITERS, private=True
    ),
    Command("versions", "versi", list_versions, "12", roles=PEOPLE, private=True),
    Command("verify", "verifikasi", verify, "12 [semua | butir …]", event=StoryEvent.VERIFY),
    Command(
        "revise", "kembalikan", request_revision, "12 <alasan>", event=StoryEvent.REQUEST_REVISION
    ),
    Command("spike", "batal", spike, "12 <alasan>", event=StoryEvent.SPIKE),
    Command("publish", "terbitkan", publish, "12", event=StoryEvent.PUBLISH),
    Command("retry", "ulang", retry_publish, "12 [situs]", roles=PUBLISHERS),
    Command("abandon", "abaikan", abandon_target, "12 <situs> <alasan>", roles=PUBLISHERS),
    Command("published", "terbit", report_published, "12 <situs> <alamat>", roles=PUBLISHERS),
    Command("release", "lepas", release, "12", event=StoryEvent.RELEASE),
    Command("archive", "arsipkan", request_archive, "12 [paksa]", event=StoryEvent.ARCHIVE),
    Command("status", "status", status, "12", roles=PEOPLE, private=True),
    Command("report", "laporan", monthly_report, "[2026-11]", roles=HEADS),
    Command(
        "search",
        "cari",
        find,
        '<kata> ["frasa"] [dari:2026-11-01] [sampai:…] [oleh:rina] [status:terbit]',
        roles=PEOPLE,
        private=True,
    ),
    Command("list", "daftar", list_open, roles=PEOPLE, private=True),
    Command("late", "terlambat", late, roles=PEOPLE),
    Command(
        "agenda",
        "agenda",
        agenda,
        "[besok | Senin | tambah … | ubah … | batal …]",
        roles=PEOPLE,
        subcommands=dict.fromkeys(
            ("tambah", "add", "ubah", "edit", "batal", "batalkan", "cancel"),
            SubCommand(PLANNERS, "agenda_planners_only"),
        ),
    ),
    Command("assign", "tugaskan", assign, "3 <reporter>", roles=PLANNERS),
    Command("accept", "terima", accept, "[3]", roles=REPORTERS),
    Command("decline", "tolak", decline, "[3] <alasan>", roles=REPORTERS),
    Command(
        "roster",
        "roster",
        roster,
        "[2026-12 | buat 2026-12 | setujui 2026-12]",
        roles=PEOPLE,
        subcommands={
            **dict.fromkeys(("buat", "generate"), SubCommand(PLANNERS, "roster_planners_only")),
            **dict.fromkeys(("setujui", "approve"), SubCommand(HEADS, "roster_head_approves")),
        },
    ),
    Command("swap", "tukar", swap_duty, "<tanggal> <orang>", roles=PLANNERS),
    Command("leave", "cuti", leave, "<orang> <tanggal>", roles=PLANNERS),
    Command("duty", "piket", duty, "[besok | tanggal]", roles=PEOPLE),
    Command("digest", "ringkasan", digest, "[kemarin | hari ini | 2026-12-02]", roles=STAFF),
    Command("quiet", "senyap", quiet, roles=PEOPLE, private=True),
    Command("all", "ramai", everything, roles=PEOPLE, private=True),
    Command("help", "bantuan", show_help, roles=EVERYONE, private=True),
    Command("whoami", "siapa", whoami, roles=EVERYONE, private=True),
)

BY_NAME: dict[str, Command] = {
    **{command.name: command for command in COMMANDS},
    **{command.alias: command for command in COMMANDS},
    "start": next(command for command in COMMANDS if command.name == "help"),
}
