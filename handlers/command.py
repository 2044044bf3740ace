"""What a chat command is: its names, who may use it (and its sub-commands), and its handler."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from workflow.lifecycle import PEOPLE_ROLES, Role, StoryEvent, roles_for

EVERYONE = None
PEOPLE = frozenset(PEOPLE_ROLES)
WRITERS = frozenset({Role.SECTION_HEAD, Role.EDITOR, Role.REPORTER})
PUBLISHERS = frozenset({Role.SECTION_HEAD, Role.OPERATOR})
STAFF = frozenset({Role.SECTION_HEAD, Role.EDITOR, Role.OPERATOR})
PLANNERS = frozenset({Role.SECTION_HEAD, Role.EDITOR})
REPORTERS = frozenset({Role.REPORTER})
HEADS = frozenset({Role.SECTION_HEAD})


@dataclass(frozen=True)
class SubCommand:
    """A first word that narrows who may use a command, and the message that says so."""

    roles: frozenset[Role]
    refusal: str = "command_not_allowed"


@dataclass(frozen=True)
class Command:
    """A chat command: English name, Indonesian alias, who may use it and what it does.

    Who may use it comes from the story lifecycle's table (``event``) or from ``roles``;
    ``subcommands`` narrows it for a first word (``/agenda tambah`` is for planners). The
    router checks all of it in one place before the handler runs.
    """

    name: str
    alias: str
    handler: Callable[[Any], None]
    args: str = ""
    event: StoryEvent | None = None
    roles: frozenset[Role] | None = None
    private: bool = False
    """Shown in the menu of private chats (what a reporter needs one to one)."""
    subcommands: Mapping[str, SubCommand] = field(default_factory=dict, hash=False, compare=False)

    def allowed(self) -> frozenset[Role] | None:
        return roles_for(self.event) if self.event else self.roles

    def visible_to(self, roles: frozenset[Role]) -> bool:
        allowed = self.allowed()
        return allowed is None or not allowed.isdisjoint(roles)

    def allowed_roles(self) -> tuple[Role, ...]:
        allowed = self.allowed()
        if allowed is None:
            return ()
        return tuple(role for role in PEOPLE_ROLES if role in allowed)

    def subcommand_of(self, args: str) -> SubCommand | None:
        """The sub-command ``args`` starts with, when it has its own roles."""
        first = args.split(maxsplit=1)[0].lower() if args.split() else ""
        return self.subcommands.get(first)
