"""Benchmark: /terbitkan to all permalinks on three targets at once vs. one after another."""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import io
import json
import socket
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from PIL import Image

from bot.app import Warta, build
from bot.channels.local import LocalChannel
from bot.config import Settings
from handlers.messages import ChatKind, InboundMedia, InboundMessage

WORDPRESS = Path("/tmp/warta-wordpress.json")
WARMUP_ROUNDS = 1
SECRET = "bench-secret"
STORY = """Rapat Koordinasi Penanganan Banjir {n}
PALANGKA RAYA – Wali Kota memimpin rapat koordinasi penanganan banjir di Aula Peteng Karuhei.

Rapat dihadiri camat dan lurah dari kelurahan di tepi Sungai Kahayan."""


class Receiver:
    """A webhook endpoint that answers like a small CMS (with a little processing time)."""

    def __init__(self, delay: float) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                guid = json.loads(body)["guid"]
                time.sleep(delay)
                reply = json.dumps({"url": f"https://portal.example/{guid}", "id": guid}).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Sink:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def jpeg(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1600, 1200), color).save(out, "JPEG", quality=85)
    return out.getvalue()


def targets(receiver: Receiver, smtp_port: int, folder: Path) -> list[dict[str, Any]]:
    chosen: list[dict[str, Any]] = []
    if WORDPRESS.exists():
        wp = json.loads(WORDPRESS.read_text())
        chosen.append(
            {
                "name": "mediacenter",
                "kind": "wordpress",
                "url": wp["url"],
                "user": wp["user"],
                "password_env": "X",
                "password": wp["app_password"],
            }
        )
    else:
        chosen.append({"name": "mediacenter", "kind": "folder", "path": str(folder / "mc")})
    chosen.append(
        {
            "name": "portal",
            "kind": "webhook",
            "url": receiver.url,
            "secret_env": "X",
            "secret": SECRET,
            "inline_photos": True,
        }
    )
    chosen.append(
        {
            "name": "redaksi",
            "kind": "email",
            "host": "127.0.0.1",
            "port": smtp_port,
            "sender": "warta@example.go.id",
            "to": ["redaksi@example.go.id"],
            "starttls": False,
        }
    )
    return chosen


def make_warta(folder: Path, target_list: list[dict[str, Any]]) -> Warta:
    settings = Settings.model_validate(
        {
            "data_dir": str(folder),
            "database_url": f"sqlite:///{folder / 'warta.db'}",
            "verification": {"checklist": []},
            "people": [
                {"key": "rina", "name": "Rina", "roles": ["reporter"]},
                {"key": "dedi", "name": "Dedi", "roles": ["editor"]},
                {"key": "budi", "name": "Budi", "roles": ["operator"]},
            ],
            "publish": {"targets": target_list},
        }
    )
    return build(settings, channels={"local": LocalChannel()})


class Desk:
    def __init__(self, warta: Warta) -> None:
        self.warta, self.ids = warta, 0

    def say(self, who: str, text: str, media: tuple[InboundMedia, ...] = ()) -> None:
        self.ids += 1
        self.warta.intake.receive(
            InboundMessage(
                channel="local",
                chat_id="redaksi",
                message_id=f"b{self.ids}",
                sender=who,
                text=text,
                chat_kind=ChatKind.GROUP,
                media=media,
            )
        )

    def verified_story(self, n: int, photos: list[bytes]) -> int:
        media = tuple(
            InboundMedia(kind="photo", data=p, caption=f"Foto {i}") for i, p in enumerate(photos)
        )
        self.say("rina", STORY.format(n=n), media)
        asyncio.run(self.warta.dispatcher.drain())
        self.say("dedi", f"/sunting {n}")
        self.say("dedi", f"/verifikasi {n}")
        asyncio.run(self.warta.dispatcher.drain())
        return n


def run(rounds: int, delay: float) -> dict[str, Any]:
    receiver = Receiver(delay)
    smtp_port = free_port()
    controller = Controller(Sink(), hostname="127.0.0.1", port=smtp_port)
    controller.start()
    photos = [jpeg((180, 40, 40)), jpeg((40, 180, 40)), jpeg((40, 40, 180))]
    concurrent: list[float] = []
    sequential: list[float] = []
    each: dict[str, list[float]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="warta-bench-") as temporary:
            folder = Path(temporary)
            target_list = targets(receiver, smtp_port, folder)
            warta = make_warta(folder, target_list)
            desk = Desk(warta)
            number = 0
            for round_ in range(WARMUP_ROUNDS + rounds):
                # The first round uploads the photos to each site (later rounds reuse them, as
                # Warta does): it is not counted, so that one round compares like with like.
                counted = round_ >= WARMUP_ROUNDS
                number = desk.verified_story(number + 1, photos)
                started = time.perf_counter()
                desk.say("budi", f"/terbitkan {number}")
                asyncio.run(warta.dispatcher.drain())
                if counted:
                    concurrent.append(time.perf_counter() - started)
                with warta.db.transaction() as session:
                    from storage import repo

                    story = repo.story_by_number(session, number)
                    assert story is not None and story.state == "published", story

                number = desk.verified_story(number + 1, photos)
                with warta.db.transaction() as session:
                    from storage.models import Story

                    story_id = session.exec(
                        __import__("sqlmodel").select(Story.id).where(Story.number == number)
                    ).one()
                from storage.models import OutboxItem

                item = OutboxItem(
                    kind="publish", story_id=story_id, target="", created_at=datetime.now(UTC)
                )
                started = time.perf_counter()
                for publisher in warta.publishers.values():
                    item.target = publisher.name
                    one = time.perf_counter()
                    article, _ = warta.dispatcher._article(item)
                    asyncio.run(publisher.publish(article))
                    if counted:
                        each.setdefault(publisher.name, []).append(time.perf_counter() - one)
                if counted:
                    sequential.append(time.perf_counter() - started)
            warta.close()
    finally:
        controller.stop()
        receiver.stop()
    return {
        "targets": [t["kind"] for t in target_list],
        "rounds": rounds,
        "concurrent_median_s": statistics.median(concurrent),
        "sequential_median_s": statistics.median(sequential),
        "ratio": statistics.median(concurrent) / statistics.median(sequential),
        "per_target_median_s": {name: statistics.median(v) for name, v in each.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=None, help="rounds of each kind (5)")
    parser.add_argument("--small", action="store_true", help="one round (CI's smoke run)")
    parser.add_argument(
        "--webhook-delay",
        type=float,
        default=0.2,
        help="seconds the webhook receiver takes per request (a CMS's work)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.small else 5)
    figures = run(rounds, args.webhook_delay)
    if args.json:
        print(json.dumps(figures))
        return
    print(f"targets: {', '.join(figures['targets'])}; 3 photos each; {figures['rounds']} rounds")
    print(f"concurrent /terbitkan to all links: {figures['concurrent_median_s'] * 1000:7.0f} ms")
    print(f"one after another (baseline):     {figures['sequential_median_s'] * 1000:7.0f} ms")
    print(f"ratio concurrent/sequential: {figures['ratio']:.2f}")
    slowest = max(figures["per_target_median_s"].items(), key=lambda kv: kv[1])
    singles = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in figures["per_target_median_s"].items())
    print(f"each target alone: {singles}; the slowest ({slowest[0]}) bounds the concurrent time")


if __name__ == "__main__":
    main()
