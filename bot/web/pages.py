"""Server-rendered pages: one autoescaped Jinja2 environment, in the desk's language."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.responses import HTMLResponse

from bot.channels.markup import Markup, render

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


class Pages:
    """Renders the web pages; ``tr(id, en)`` picks the words of the desk's language."""

    def __init__(self, *, locale: str, tz: ZoneInfo, training: str | None = None) -> None:
        self.locale = locale
        self.tz = tz
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals.update(
            tr=lambda indonesian, english: indonesian if locale == "id" else english,
            locale=locale,
            training=training,
        )
        self.env.filters.update(
            html=lambda text: render(text, Markup.EMAIL_HTML),
            hm=lambda moment: moment.astimezone(tz).strftime(
                "%H.%M" if locale == "id" else "%H:%M"
            ),
        )

    def render(self, name: str, **values: Any) -> str:
        return self.env.get_template(name).render(**values)

    def page(self, name: str, *, status_code: int = 200, **values: Any) -> HTMLResponse:
        response = HTMLResponse(self.render(name, **values), status_code=status_code)
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
            "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)
