"""Templates: both locales say every message; dates, times and durations read naturally."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import handlers
from bot.channels.markup import plain
from handlers.render import Renderer, humanize_duration

JAKARTA = ZoneInfo("Asia/Jakarta")


@pytest.fixture
def renderer() -> Renderer:
    return Renderer(tz=JAKARTA)


def test_both_locales_define_the_same_messages(renderer: Renderer):
    assert renderer.message_names("id") == renderer.message_names("en")


def test_every_message_the_code_renders_exists():
    """Each name passed to reply/tell/announce/render in handlers/ is a macro of the templates."""
    renderer = Renderer(tz=JAKARTA)
    names = set()
    for path in Path(handlers.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"reply", "tell", "announce", "render"}
            ):
                for arg in node.args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        names.add(arg.value)
    names.update({"story_resubmitted", "version_added", "story_back_from_revision"})
    assert names - {"name"} <= renderer.message_names("id")


@pytest.mark.parametrize(
    ("delta", "id_text", "en_text"),
    [
        (timedelta(seconds=20), "1 menit", "1 minute"),
        (timedelta(minutes=35), "35 menit", "35 minutes"),
        (timedelta(hours=1, minutes=20), "1 jam 20 menit", "1 hour 20 minutes"),
        (timedelta(hours=3), "3 jam", "3 hours"),
        (timedelta(days=1, hours=15, minutes=4), "1 hari 15 jam", "1 day 15 hours"),
    ],
)
def test_durations_read_naturally(delta, id_text, en_text):
    assert humanize_duration(delta, "id") == id_text
    assert humanize_duration(delta, "en") == en_text


def test_dates_and_times_in_indonesian_style(renderer: Renderer):
    env = renderer.env
    moment = datetime(2026, 12, 2, 7, 30, tzinfo=UTC)  # 14.30 WIB
    assert env.filters["day"](moment, "id") == "Rabu, 2 Desember 2026"
    assert env.filters["clock"](moment, "id") == "14.30 WIB"
    assert env.filters["when"](moment, "id", moment) == "pukul 14.30 WIB"
    later = moment + timedelta(days=1)
    assert env.filters["when"](later, "id", moment) == "Kamis, 3 Desember 2026 pukul 14.30 WIB"
    assert env.filters["when"](later, "en", moment) == "on Thursday 3 December 2026 at 14:30 WIB"


def test_other_indonesian_zones_are_named():
    wita = Renderer(tz=ZoneInfo("Asia/Makassar"))
    wit = Renderer(tz=ZoneInfo("Asia/Jayapura"))
    moment = datetime(2026, 12, 2, 7, 30, tzinfo=UTC)
    assert wita.env.filters["clock"](moment, "id") == "15.30 WITA"
    assert wit.env.filters["clock"](moment, "id") == "16.30 WIT"


def test_output_is_autoescaped(renderer: Renderer):
    text = renderer.render("story_not_found", number="<b>1</b>")
    assert "&lt;b&gt;1&lt;/b&gt;" in text
    assert plain(text).startswith("Maaf, berita #<b>1</b> tidak ditemukan")


def test_unknown_locale_falls_back_to_the_default(renderer: Renderer):
    assert renderer.render("private_hint", locale="fr").startswith("Terima kasih")
