"""Generated documentation: the README's command table and state diagram come from the code."""

from __future__ import annotations

import re

from handlers.router import COMMANDS
from workflow.delivery import MESSAGE, PUBLISH_JOB
from workflow.lifecycle import mermaid

_ROLE_WORDS = {
    "section_head": "section head",
    "editor": "editor",
    "operator": "operator",
    "reporter": "reporter",
}


def command_table() -> str:
    rows = ["| command | Indonesian | arguments | who |", "|---|---|---|---|"]
    for command in COMMANDS:
        who = ", ".join(_ROLE_WORDS[role] for role in command.allowed_roles()) or "anyone"
        args = command.args.replace("\n", " ⏎ ").replace("|", "\\|")
        rows.append(
            f"| `/{command.name}` | `/{command.alias}` | {f'`{args}`' if args else ''} | {who} |"
        )
    return "\n".join(rows)


def state_diagram() -> str:
    return f"```mermaid\n{mermaid()}\n```"


def outbox_diagrams() -> str:
    return "\n\n".join(
        f"A {machine.name}:\n\n```mermaid\n{machine.mermaid()}\n```"
        for machine in (MESSAGE, PUBLISH_JOB)
    )


SECTIONS = {"commands": command_table, "states": state_diagram, "outbox": outbox_diagrams}


def refresh_readme(text: str) -> str:
    """Replace each ``<!-- NAME:start -->…<!-- NAME:end -->`` block with freshly generated text."""
    for name, make in SECTIONS.items():
        pattern = re.compile(rf"<!-- {name}:start -->.*?<!-- {name}:end -->", re.DOTALL)
        block = f"<!-- {name}:start -->\n{make()}\n<!-- {name}:end -->"
        text = pattern.sub(lambda _match, block=block: block, text)
    return text
