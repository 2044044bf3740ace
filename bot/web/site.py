"""The web pages' shared parts: live events, the guard, the login page and static files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot.web.events import Hub
from bot.web.guard import Guard
from bot.web.pages import STATIC, Pages

if TYPE_CHECKING:
    from bot.config import Settings

LOGIN_FORM_LIMIT = 4096


@dataclass
class Web:
    """What every page needs: the live-event hub, the guard, the page renderer, the address."""

    hub: Hub
    guard: Guard
    pages: Pages
    public_url: str
    home: str = "/board"
    """Where ``/`` leads: the playground when it runs, else the board."""


def make_web(settings: Settings) -> Web:
    speed = settings.training
    training = None
    if speed > 1:
        training = (
            f"Mode latihan: semua batas waktu {speed}× lebih cepat (1 jam = {60 // speed or 1} "
            "menit). Jangan dipakai untuk berita sungguhan."
            if settings.locale == "id"
            else f"Training mode: every deadline runs {speed}× faster (an hour lasts "
            f"{60 // speed or 1} minute(s)). Not for real news."
        )
    return Web(
        hub=Hub(),
        guard=Guard(password=settings.web.password.get_secret_value() or None),
        pages=Pages(locale=settings.locale, tz=settings.zone, training=training),
        public_url=settings.http.url,
    )


def site_routes(web: Web) -> list[BaseRoute]:
    """``/`` (to the playground or the board), the login page, and the static files."""

    async def home(_request: Request) -> Response:
        return RedirectResponse(web.home, status_code=303)

    async def login(request: Request) -> Response:
        if not web.guard.required:
            return RedirectResponse(web.home, status_code=303)
        wrong = False
        if request.method == "POST":
            body = await request.body()
            if len(body) > LOGIN_FORM_LIMIT:
                return Response(status_code=413)
            form = await request.form()
            opened = web.guard.login(
                str(form.get("password", "")), secure=request.url.scheme == "https"
            )
            if opened is not None:
                return opened
            wrong = True
        return web.pages.page("login.html", wrong=wrong, status_code=401 if wrong else 200)

    return [
        Route("/", home, methods=["GET"]),
        Route("/login", login, methods=["GET", "POST"]),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
