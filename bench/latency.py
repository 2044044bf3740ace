"""Benchmark how fast Warta answers on Telegram: from an update being there to the answer's send.

Usage: python bench/latency.py [--messages 300 | --small] [--gap MS] [--poll-timeout 10] [--json]

A real Warta (``bot.run.serve``: the Telegram channel long-polling, the outbox dispatcher, the
alarm clock, the HTTP server) runs in this process on its own event loop, on SQLite, against
the fake Bot API server of the tests (``tests/fakes/telegram_server.py``). The bench plays a
desk's day one message at a time: it pushes an update (a submission in the group, every third
with a photo, then /sunting, /verifikasi, /status in a private chat, /terbitkan) and waits for
Warta's answer, the sendMessage that replies to it. The latency of a message is the time from
the push to the moment that sendMessage reaches the fake (the fake stamps every call). The
next message is pushed as soon as the answer is there (``--gap`` waits that many ms first), so
Warta may still be sending the story card of the previous one.

The baseline, measured in the same run on the same fake: an echo bot (httpx, the same long
poll) that answers every update at once, the least any bot on this transport needs (a
getUpdates answer and a sendMessage; its few milliseconds also show that the fake ends a
waiting long poll as soon as an update is pushed). The ratio Warta/echo is printed by p50,
with the time ``intake.receive`` took inside Warta's figure, and how many answers took
500 ms or more (a reply that waits for the outbox dispatcher's one-second backstop).

Telegram's rate limits (one message a second per chat, twenty a minute per group) are
Telegram's, not Warta's latency: the channel's limiter is set high, as in the end-to-end tests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import Warta, build
from bot.channels.ratelimit import ChatRateLimiter
from bot.config import Settings
from bot.run import bind, serve
from tests.fakes.telegram_server import ApiCall, FakeTelegram

TARGET_P50_MS = 50.0
DEFAULT_MESSAGES = 300
SMALL_MESSAGES = 10
WARMUP_MESSAGES = 5
ECHO_MESSAGES = 100
SLOW_MS = 500.0
ANSWER_TIMEOUT = 10.0
GROUP = -1001234567890
RINA, ANTON, DEDI, SARI, BUDI = 1001, 1002, 1003, 1004, 1005
USERS = {RINA: "Rina", ANTON: "Anton", DEDI: "Dedi", SARI: "Sari", BUDI: "Budi"}
REPORTERS = (RINA, ANTON)
EDITORS = (DEDI, SARI)
PARAGRAPH = (
    "Kegiatan di Aula Peteng Karuhei dihadiri camat, lurah dan perwakilan warga dari tiga "
    "kelurahan. Usulan yang masuk mencakup perbaikan jalan lingkungan, drainase dan "
    "penerangan jalan umum."
)


def photo() -> bytes:
    image = Image.new("RGB", (320, 240), (200, 30, 30))
    for x in range(0, 320, 8):
        for y in range(0, 240, 8):
            image.putpixel((x, y), (x % 256, y % 256, (x * y) % 256))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def settings(folder: Path, tg: FakeTelegram, poll_timeout: int) -> Settings:
    people: list[dict[str, Any]] = [
        {"key": "rina", "name": "Rina", "roles": ["reporter"], "telegram": RINA},
        {"key": "anton", "name": "Anton", "roles": ["reporter"], "telegram": ANTON},
        {"key": "dedi", "name": "Dedi", "roles": ["editor"], "telegram": DEDI},
        {"key": "sari", "name": "Sari", "roles": ["editor"], "telegram": SARI},
        {"key": "budi", "name": "Budi", "roles": ["operator"], "telegram": BUDI},
    ]
    return Settings.model_validate(
        {
            "data_dir": str(folder),
            "database_url": f"sqlite:///{folder / 'warta.db'}",
            "verification": {"checklist": [{"key": "fakta", "label": "Fakta sudah dicek"}]},
            "people": people,
            "publish": {
                "targets": [{"name": "arsip", "kind": "folder", "path": str(folder / "pub")}]
            },
            "channels": [
                {
                    "kind": "telegram",
                    "base_url": tg.base_url,
                    "base_file_url": tg.base_file_url,
                    "group_chat_id": GROUP,
                    "poll_timeout": poll_timeout,
                    "token": tg.token,
                }
            ],
        }
    )


def fake_telegram() -> FakeTelegram:
    tg = FakeTelegram().start()
    tg.add_chat(GROUP, "supergroup", title="Redaksi Media Center")
    for user, name in USERS.items():
        tg.add_user(user, name)
        tg.add_chat(user, "private", first_name=name)
    return tg


# -- one message, timed by the fake's clock ---------------------------------------------------


@dataclass
class Sample:
    kind: str
    ms: float


@dataclass
class AnswerWatch:
    """A predicate for ``FakeTelegram.wait_until``: has the sendMessage that replies to
    ``message_id`` in ``chat_id`` arrived? (It is kept in ``answer``.)"""

    tg: FakeTelegram
    chat_id: int
    message_id: int
    checked: int
    """Calls before this index were made before the push, or were looked at already."""
    answer: ApiCall | None = None

    def __call__(self) -> bool:
        calls = self.tg.calls
        for call in calls[self.checked :]:
            if call.method.lower() != "sendmessage":
                continue
            if str(call.params.get("chat_id")) != str(self.chat_id):
                continue
            reply = call.params.get("reply_parameters")
            replied = reply.get("message_id") if isinstance(reply, dict) else None
            if str(replied or call.params.get("reply_to_message_id")) == str(self.message_id):
                self.answer = call
                return True
        self.checked = len(calls)
        return False


@dataclass
class Player:
    """Plays the users' side: pushes one update, waits for its answer, and so on."""

    tg: FakeTelegram
    gap: float = 0.0
    """Seconds to wait after an answer before the next push (``--gap``)."""

    def exchange(self, kind: str, chat_id: int, sender: int, **content: Any) -> Sample:
        """Push one update and wait for the answer; its latency by the fake's clock."""
        if self.gap:
            time.sleep(self.gap)
        checked = len(self.tg.calls)
        pushed = time.time()
        message = self.tg.push_message(chat_id, sender, **content)
        watch = AnswerWatch(self.tg, chat_id, message["message_id"], checked)
        try:
            self.tg.wait_until(watch, timeout=ANSWER_TIMEOUT)
        except TimeoutError:
            raise RuntimeError(f"no answer to {kind!r} within {ANSWER_TIMEOUT:.0f} s") from None
        assert watch.answer is not None
        return Sample(kind, (watch.answer.time - pushed) * 1000)


# -- the baseline: an echo bot on the same fake -----------------------------------------------


@dataclass
class EchoBot:
    """Long-polls like Warta's channel and answers every message at once with its own text."""

    tg: FakeTelegram
    poll_timeout: int
    offset: int = 0
    stopping: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    @property
    def api(self) -> str:
        return f"{self.tg.base_url}{self.tg.token}"

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=self.poll_timeout + 10) as client:
            while not self.stopping.is_set():
                answer = await client.post(
                    f"{self.api}/getUpdates",
                    json={"offset": self.offset, "timeout": self.poll_timeout},
                )
                for update in answer.json().get("result", []):
                    self.offset = update["update_id"] + 1
                    message = update.get("message") or {}
                    await client.post(
                        f"{self.api}/sendMessage",
                        json={
                            "chat_id": message["chat"]["id"],
                            "text": "diterima",
                            "reply_parameters": {"message_id": message["message_id"]},
                        },
                    )

    def start(self) -> None:
        self.thread = threading.Thread(
            target=lambda: asyncio.run(self._run()), name="echo-bot", daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        """Stop, and confirm the updates it took (Warta must not get them again): a newer
        getUpdates ends the bot's waiting long poll (with 409), after which it sees the flag."""
        self.stopping.set()
        assert self.thread is not None
        while self.thread.is_alive():
            httpx.post(f"{self.api}/getUpdates", json={"offset": self.offset, "timeout": 0})
            self.thread.join(timeout=0.2)
        httpx.post(f"{self.api}/getUpdates", json={"offset": self.offset, "timeout": 0})


def run_echo(player: Player, messages: int, poll_timeout: int) -> list[Sample]:
    bot = EchoBot(player.tg, poll_timeout)
    bot.start()
    try:
        for index in range(WARMUP_MESSAGES):
            player.exchange("echo", GROUP, RINA, text=f"pemanasan {index}")
        return [
            player.exchange("echo", GROUP, REPORTERS[index % 2], text=f"/status {index}")
            for index in range(messages)
        ]
    finally:
        bot.stop()


# -- Warta ------------------------------------------------------------------------------------


@dataclass
class Running:
    """Warta serving on its own thread and event loop, as ``warta run`` would."""

    warta: Warta
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    stop_event: asyncio.Event | None = None
    thread: threading.Thread | None = None
    receive_ms: list[float] = field(default_factory=list)
    error: BaseException | None = None

    def start(self, tg: FakeTelegram) -> None:
        intake = self.warta.intake
        receive = intake.receive

        def timed_receive(msg: Any) -> Any:
            start = time.perf_counter()
            try:
                return receive(msg)
            finally:
                self.receive_ms.append((time.perf_counter() - start) * 1000)

        intake.receive = timed_receive  # type: ignore[method-assign]
        polls = len(tg.calls_of("getUpdates"))

        async def main() -> None:
            self.stop_event = asyncio.Event()
            await serve(self.warta, self.stop_event, sock=bind("127.0.0.1", 0))

        def thread_main() -> None:
            asyncio.set_event_loop(self.loop)
            try:
                self.loop.run_until_complete(main())
            except BaseException as error:
                self.error = error
            finally:
                self.loop.close()

        self.thread = threading.Thread(target=thread_main, name="warta", daemon=True)
        self.thread.start()
        # Serving once the channel polls (it set its commands and checked its token before).
        # The fake records a call when it arrives but signals only answers: look every 10 ms.
        deadline = time.monotonic() + 30
        while len(tg.calls_of("getUpdates")) <= polls:
            if self.error is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Warta did not start polling: {self.error!r}")
            time.sleep(0.01)

    def stop(self) -> None:
        if self.stop_event is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended already
                self.loop.call_soon_threadsafe(self.stop_event.set)
        if self.thread is not None:
            self.thread.join(timeout=30)
        self.warta.close()


def story_cycle(player: Player, number: int, image: bytes) -> list[Sample]:
    """One story's messages, each answered before the next is sent."""
    reporter, editor = REPORTERS[number % 2], EDITORS[number % 2]
    text = f"Wali Kota Buka Musrenbang {number}\n\n{PARAGRAPH}\n\n{PARAGRAPH}"
    say = player.exchange
    samples = []
    if number % 3 == 0:
        samples.append(say("submit+photo", GROUP, reporter, photo=image, caption=text))
    else:
        samples.append(say("submit", GROUP, reporter, text=text))
    samples.append(say("/sunting", GROUP, editor, text=f"/sunting {number}"))
    samples.append(say("/verifikasi", GROUP, editor, text=f"/verifikasi {number} semua"))
    samples.append(say("/status (private)", reporter, reporter, text=f"/status {number}"))
    samples.append(say("/terbitkan", GROUP, BUDI, text=f"/terbitkan {number}"))
    return samples


def run_warta(
    player: Player, folder: Path, messages: int, poll_timeout: int
) -> tuple[list[Sample], list[float]]:
    """Warta's latencies, and the time of each ``intake.receive`` among them."""
    tg = player.tg
    warta = build(settings(folder, tg, poll_timeout))
    channel = warta.channels["telegram"]
    channel.limiter = ChatRateLimiter(  # type: ignore[attr-defined]
        global_per_second=10_000, private_per_second=10_000, group_per_minute=1_000_000
    )
    running = Running(warta)
    running.start(tg)
    image = photo()
    samples: list[Sample] = []
    try:
        number = 0
        while len(samples) < WARMUP_MESSAGES:
            number += 1
            samples += story_cycle(player, number, image)
        warm, samples = len(running.receive_ms), []
        while len(samples) < messages:
            number += 1
            samples += story_cycle(player, number, image)
    finally:
        running.stop()
    if running.error is not None:
        raise running.error
    return samples[:messages], running.receive_ms[warm:]


# -- report -----------------------------------------------------------------------------------


def figures(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]

    return {
        "count": len(ordered),
        "p50_ms": statistics.median(ordered),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "mean_ms": statistics.fmean(ordered),
        "max_ms": ordered[-1],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--messages", type=int, default=None, help=f"messages timed ({DEFAULT_MESSAGES})"
    )
    parser.add_argument(
        "--small", action="store_true", help=f"{SMALL_MESSAGES} messages (CI's smoke run)"
    )
    parser.add_argument(
        "--gap", type=float, default=0.0, help="ms to wait after an answer before the next push"
    )
    parser.add_argument(
        "--poll-timeout", type=int, default=10, help="the channel's long poll, seconds (> 0)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    args.messages = args.messages or (SMALL_MESSAGES if args.small else DEFAULT_MESSAGES)
    if args.messages < 5:
        parser.error("--messages must be at least 5")
    if not 0 < args.poll_timeout <= 50:
        parser.error("--poll-timeout must be between 1 and 50 (a long poll is what is measured)")

    tg = fake_telegram()
    player = Player(tg, gap=max(args.gap, 0.0) / 1000)
    try:
        echo = run_echo(player, min(args.messages, ECHO_MESSAGES), args.poll_timeout)
        with tempfile.TemporaryDirectory(prefix="warta-latency-") as tmp:
            samples, receive_ms = run_warta(player, Path(tmp), args.messages, args.poll_timeout)
    finally:
        tg.close()
    warta = figures([s.ms for s in samples])
    baseline = figures([s.ms for s in echo])
    receive = figures(receive_ms) if receive_ms else None
    by_kind: dict[str, list[float]] = defaultdict(list)
    for sample in samples:
        by_kind[sample.kind].append(sample.ms)
    kinds = {kind: figures(values) for kind, values in by_kind.items()}
    ratio = warta["p50_ms"] / baseline["p50_ms"]
    met = warta["p50_ms"] < TARGET_P50_MS
    slow = sum(1 for sample in samples if sample.ms >= SLOW_MS)
    if args.json:
        report = {
            "warta": warta,
            "echo_baseline": baseline,
            "intake_receive": receive,
            "ratio_p50": ratio,
            "target_p50_ms": TARGET_P50_MS,
            "target_met": met,
            "by_kind": kinds,
            "poll_timeout_s": args.poll_timeout,
            "gap_ms": args.gap,
            "answers_slower_than_500_ms": slow,
        }
        print(json.dumps(report, indent=2, sort_keys=True))
        return 0
    gap = f", {args.gap:g} ms between an answer and the next push" if args.gap else ""
    print(
        f"Telegram (fake Bot API, long poll {args.poll_timeout} s), SQLite, one message at a time"
        f"{gap}: from the update's push to the answer's sendMessage"
    )
    print(f"{'path':<40}{'count':>7}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    rows = [("Warta (serve, in process)", warta), ("baseline: echo bot (httpx)", baseline)]
    if receive is not None:
        rows.append(("  of Warta's: intake.receive alone", receive))
    for name, row in rows:
        print(
            f"{name:<40}{row['count']:>7.0f}{row['p50_ms']:>9.2f}{row['p90_ms']:>9.2f}"
            f"{row['p99_ms']:>9.2f}{row['mean_ms']:>9.2f}"
        )
    print(
        f"ratio Warta/echo by p50: {ratio:.2f}x; target p50 < {TARGET_P50_MS:.0f} ms: "
        f"{'met' if met else 'NOT met'}"
    )
    if slow:
        print(
            f"{slow} of {len(samples)} answers took {SLOW_MS:.0f} ms or more (a wait near 1 s "
            "is the outbox dispatcher's backstop tick, not its wake-up on commit)"
        )
    print()
    print(f"{'by message kind':<40}{'count':>7}{'p50 ms':>9}{'p90 ms':>9}{'max ms':>9}")
    for kind, row in kinds.items():
        print(
            f"{kind:<40}{row['count']:>7.0f}{row['p50_ms']:>9.2f}{row['p90_ms']:>9.2f}"
            f"{row['max_ms']:>9.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
