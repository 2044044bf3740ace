"""Warta's one HTTP server: the Telegram webhook and the health check (Starlette + uvicorn)."""

from __future__ import annotations

import hmac
import json
import logging
from typing import TYPE_CHECKING

from sqlmodel import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from storage.models import OutboxItem

if TYPE_CHECKING:
    from bot.app import Warta

log = logging.getLogger(__name__)
TELEGRAM_WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def make_http_app(warta: Warta) -> Starlette:
    """The routes, listed once: health, and the Telegram webhook when Telegram is enabled."""

    async def health(_request: Request) -> Response:
        with warta.db.transaction() as session:
            waiting = session.exec(
                select(func.count()).select_from(OutboxItem).where(OutboxItem.status == "pending")
            ).one()
            dead = session.exec(
                select(func.count())
                .select_from(OutboxItem)
                .where(OutboxItem.status.in_(("dead", "failed")))  # type: ignore[attr-defined]
            ).one()
        body: dict[str, object] = {
            "status": "ok",
            "outbox_pending": waiting,
            "outbox_failed": dead,
        }
        if warta.alarms is not None:
            body["scheduler"] = warta.alarms.status()
        return JSONResponse(body)

    async def telegram_webhook(request: Request) -> Response:
        channel = warta.telegram
        if channel is None:
            return Response(status_code=404)
        expected = warta.settings.telegram.webhook_secret.get_secret_value()
        given = request.headers.get(SECRET_HEADER, "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            log.warning("Telegram webhook call with a wrong secret token refused")
            return Response(status_code=403)
        try:
            data = json.loads(await request.body())
            update = channel.parse_update(data)
        except (ValueError, TypeError, KeyError):
            return Response(status_code=400)
        # Answered only after the update is stored: Telegram retries whatever failed.
        await channel.handle_update(update)
        return JSONResponse({})

    return Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route(TELEGRAM_WEBHOOK_PATH, telegram_webhook, methods=["POST"]),
        ]
    )
