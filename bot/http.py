"""Warta's one HTTP server: the health check and the routes every channel adds (Starlette)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.operate import Health, health
from bot.web.site import site_routes

if TYPE_CHECKING:
    from bot.app import Warta

log = logging.getLogger(__name__)


def make_http_app(warta: Warta) -> Starlette:
    """The routes, listed once: health, then each running channel's own."""

    async def health(_request: Request) -> Response:
        report = await asyncio.to_thread(warta_health, warta)
        body = report.as_json()
        body["channels"] = sorted(warta.channels)
        body["scheduler"] = warta.alarms.status()
        return JSONResponse(body, status_code=200 if report.status == "ok" else 503)

    routes: list[BaseRoute] = [Route("/health", health, methods=["GET"])]
    for channel in warta.channels.values():
        routes.extend(channel.routes())
    if warta.web is not None:
        routes.extend(web_routes(warta))
    return Starlette(routes=routes)


def warta_health(warta: Warta) -> Health:
    """The desk's health as this instance sees it (the database says most of it)."""
    now = warta.desk.clock()
    local = now.astimezone(warta.settings.zone)
    midnight = datetime.combine(local.date(), datetime.min.time(), warta.settings.zone)
    report = health(warta.db, now=now, since=midnight, unstorable=warta.intake.unstorable)
    for channel in warta.channels.values():
        report.reasons.extend(channel.problems())
    if report.reasons:
        report.status = "degraded"
    return report


def web_routes(warta: Warta) -> list[BaseRoute]:
    """Warta's own pages: the desk board (when enabled), the login page, static files."""
    assert warta.web is not None
    routes = site_routes(warta.web)
    if warta.settings.web.board:
        from bot.web.board import board_routes

        routes += board_routes(
            desk=warta.desk, pages=warta.web.pages, hub=warta.web.hub, guard=warta.web.guard
        )
    return routes
