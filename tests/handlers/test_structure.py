"""The shape of the code: handlers/ knows no channel and has no import loop; the wiring names
no channel."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import bot
import handlers

HANDLERS = Path(handlers.__file__).parent
BOT = Path(bot.__file__).parent
CHANNEL_LIBRARIES = {
    "telegram",
    "twilio",
    "imaplib",
    "imap_tools",
    "aioimaplib",
    "smtplib",
    "aiosmtplib",
    "starlette",
    "uvicorn",
    "httpx",
    "bot",
}
"""What handlers/ must never import: a channel's library, the HTTP server, or the edges."""


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function (a loop dodged by an
    import inside a function is still a loop)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def handler_graph() -> dict[str, set[str]]:
    modules = {f"handlers.{path.stem}": path for path in HANDLERS.glob("*.py")}
    return {
        name: {imported for imported in imports_of(path) if imported in modules}
        for name, path in modules.items()
    }


@pytest.mark.parametrize("path", sorted(HANDLERS.glob("*.py")), ids=lambda p: p.name)
def test_handlers_import_no_channel_library(path: Path):
    leaks = {name.split(".")[0] for name in imports_of(path)} & CHANNEL_LIBRARIES
    assert not leaks, f"{path.name} imports {sorted(leaks)}"


def test_handlers_have_no_import_cycle():
    graph = handler_graph()
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = "open"
        stack.append(name)
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[name] = "done"
        return None

    for name in sorted(graph):
        if name not in state:
            cycle = visit(name)
            assert cycle is None, "import loop: " + " -> ".join(cycle)


def test_the_desk_knows_no_feature():
    """The desk, its intake and delivery are below the features: the router is handed in."""
    features = {
        "handlers.router",
        "handlers.stories",
        "handlers.publishing",
        "handlers.info",
        "handlers.agenda",
        "handlers.agenda_import",
        "handlers.assignments",
        "handlers.announce",
        "handlers.roster",
        "handlers.watch",
    }
    graph = handler_graph()
    for core in ("handlers.desk", "handlers.intake", "handlers.turn", "handlers.delivery"):
        assert not graph[core] & features, f"{core} imports {sorted(graph[core] & features)}"


@pytest.mark.parametrize("name", ["app.py", "run.py", "http.py", "outbox.py", "scheduler.py"])
def test_the_wiring_names_no_channel(name: str):
    text = (BOT / name).read_text(encoding="utf-8").lower()
    for channel in ("telegram", "whatsapp", "twilio", "imap", "smtp"):
        assert channel not in text, f"bot/{name} names {channel}"
