"""Warta's one HTTP server: the health check and the routes every channel adds (Starlette)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlmodel import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from storage.models import OutboxItem
from workflow.delivery import ItemState

if TYPE_CHECKING:
    from bot.app import Warta

log = logging.getLogger(__name__)


def make_http_app(warta: Warta) -> Starlette:
    """The routes, listed once: health, then each running channel's own."""

    async def health(_request: Request) -> Response:
        with warta.db.transaction() as session:
            waiting = session.exec(
                select(func.count())
                .select_from(OutboxItem)
                .where(OutboxItem.status == ItemState.PENDING)
            ).one()
            dead = session.exec(
                select(func.count())
                .select_from(OutboxItem)
                .where(OutboxItem.status.in_((ItemState.DEAD, ItemState.FAILED)))  # type: ignore[attr-defined]
            ).one()
        body: dict[str, object] = {
            "status": "ok",
            "outbox_pending": waiting,
            "outbox_failed": dead,
            "channels": sorted(warta.channels),
        }
        body["scheduler"] = warta.alarms.status()
        return JSONResponse(body)

    routes: list[BaseRoute] = [Route("/health", health, methods=["GET"])]
    for channel in warta.channels.values():
        routes.extend(channel.routes())
    return Starlette(routes=routes)
