"""Benchmark the full inbound path (desk.receive on SQLite) against bare sqlmodel inserts."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PIL import Image

from bot.app import Warta, build
from bot.channels.local import LocalChannel, Said
from bot.config import Settings
from handlers.messages import ChatKind, InboundMedia, InboundMessage
from storage.db import Database
from storage.models import InboxMessage

TARGET_RATIO = 3.0
DEFAULT_MESSAGES = 2000
WARMUP_CYCLES = 3
BASELINE_WARMUP = 50
GROUP = "redaksi"
CHANNEL = "local"
PEOPLE: list[dict[str, Any]] = [
    {"key": "hendra", "name": "Hendra", "roles": ["section_head", "editor"]},
    {"key": "dedi", "name": "Dedi", "roles": ["editor"]},
    {"key": "sari", "name": "Sari", "roles": ["editor"]},
    {"key": "budi", "name": "Budi", "roles": ["operator"]},
    {"key": "rina", "name": "Rina", "roles": ["reporter"]},
    {"key": "anton", "name": "Anton", "roles": ["reporter"], "locale": "en"},
]
REPORTERS = ("rina", "anton")
EDITORS = ("dedi", "sari", "hendra")
OPERATOR = "budi"
PLACES = ("Aula Peteng Karuhei", "Jalan Tjilik Riwut", "Pasar Besar", "Bundaran Besar", "Kereng")
PARAGRAPH = (
    "Kegiatan di {place} dihadiri camat, lurah dan perwakilan warga dari {n} kelurahan. "
    "Usulan yang masuk mencakup perbaikan jalan lingkungan, drainase, penerangan jalan umum "
    "dan pelatihan usaha kecil. Seluruh usulan akan dibahas dalam forum perangkat daerah "
    "sebelum ditetapkan dalam rencana kerja pemerintah daerah tahun depan."
)


# -- set-up -----------------------------------------------------------------------------------


def bench_settings(folder: Path) -> Settings:
    """A desk like the one tests build: file DB, six people, a checklist, a folder target."""
    return Settings.model_validate(
        {
            "data_dir": str(folder),
            "database_url": f"sqlite:///{folder / 'warta.db'}",
            "sla": {"submission": "1h", "editing": "3h", "publishing": "2h"},
            "verification": {
                "checklist": [
                    {"key": "fakta", "label": "Fakta sudah dicek"},
                    {"key": "nama", "label": "Nama dan jabatan benar"},
                    {"key": "foto", "label": "Keterangan foto", "required": False},
                ]
            },
            "people": PEOPLE,
            "publish": {
                "targets": [{"name": "arsip", "kind": "folder", "path": str(folder / "pub")}]
            },
        }
    )


class StepClock:
    """A fixed clock (08.00 WIB, a Wednesday) the bench moves forward outside the timed calls."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def small_jpeg() -> bytes:
    """One small photo, made once and sent again and again (the media store dedupes it)."""
    image = Image.new("RGB", (320, 240), (200, 30, 30))
    for x in range(0, 320, 8):
        for y in range(0, 240, 8):
            image.putpixel((x, y), (x % 256, y % 256, (x * y) % 256))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def story_text(index: int, revision: int = 0) -> str:
    place = PLACES[index % len(PLACES)]
    title = f"Wali Kota Buka Musrenbang Kecamatan {index}"
    if revision:
        title += f" (rev {revision})"
    lead = f"PALANGKA RAYA – Wali Kota membuka Musrenbang di {place}, Rabu ({index})."
    quote = '"Usulan warga jadi dasar perencanaan," kata Wali Kota.'
    paragraphs = [PARAGRAPH.format(place=place, n=3 + index % 7) for _ in range(2 + index % 3)]
    if revision:
        paragraphs.append(f"Catatan redaksi: nama pejabat diperbaiki pada revisi {revision}.")
    return "\n\n".join([title, lead, quote, *paragraphs])


# -- the full path ----------------------------------------------------------------------------


class Done(Exception):
    """Enough messages have been measured."""


@dataclass
class Sample:
    step: str
    expected: str
    outcome: str | None
    ns: int


@dataclass
class Newsroom:
    """Plays a desk's day into a real Warta and times each ``desk.receive``, nothing else."""

    warta: Warta
    messenger: LocalChannel
    clock: StepClock
    limit: int
    profiler: cProfile.Profile | None = None
    recording: bool = False
    samples: list[Sample] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: iter(range(1, 10**9)))
    _loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)

    def send(
        self,
        step: str,
        who: str,
        text: str,
        expected: str,
        *,
        media: tuple[InboundMedia, ...] = (),
        reply_to: str | None = None,
    ) -> tuple[str, list[Said]]:
        """Deliver one message (timed), then run the outbox (untimed); return id and replies."""
        if self.recording and len(self.samples) >= self.limit:
            raise Done
        msg = InboundMessage(
            channel=CHANNEL,
            chat_id=GROUP,
            message_id=f"in-{next(self._ids)}",
            sender=who,
            text=text,
            chat_kind=ChatKind.GROUP,
            media=media,
            reply_to_message_id=reply_to,
        )
        desk = self.warta.desk
        if self.profiler is not None and self.recording:
            self.profiler.enable()
        start = time.perf_counter_ns()
        receipt = desk.receive(msg)
        elapsed = time.perf_counter_ns() - start
        if self.profiler is not None and self.recording:
            self.profiler.disable()
        if self.recording:
            self.samples.append(Sample(step, expected, receipt.outcome, elapsed))
        # The dispatcher is the send path, not ingest: it runs between messages, untimed, as
        # it would concurrently in production (and links Warta's replies to their stories).
        self._loop.run_until_complete(self.warta.dispatcher.drain())
        self.clock.advance(45)
        return msg.message_id, self.messenger.take()

    def close(self) -> None:
        self._loop.run_until_complete(self._loop.shutdown_default_executor())
        self._loop.close()
        self.warta.close()


def story_cycle(room: Newsroom, index: int, number: int, photo: InboundMedia) -> None:
    """One story through the desk: submit, claim, new version, verify, status, publish, ..."""
    reporter = REPORTERS[index % len(REPORTERS)]
    editor = EDITORS[index % len(EDITORS)]
    media = (photo,) if index % 3 == 0 else ()
    room.send(
        "submit+photo" if media else "submit", reporter, story_text(index), "submitted", media=media
    )
    claim_id, said = room.send("/sunting", editor, f"/sunting {number}", "claim")
    if index % 2 == 0:
        # The editor answers Warta's "claimed" message (which shows the text) with the new text.
        answer = next(s.message_id for s in said if s.reply_to == claim_id)
        room.send("reply version", editor, story_text(index, 1), "add_version", reply_to=answer)
    else:
        room.send("/revisi", editor, f"/revisi {number}\n{story_text(index, 1)}", "add_version")
    room.send("/verifikasi", editor, f"/verifikasi {number} semua", "verify")
    room.send("/status", reporter, f"/status {number}", "status")
    room.send("/terbitkan", OPERATOR, f"/terbitkan {number}", "publish")
    if number > 3:
        room.send("/arsipkan", editor, f"/arsipkan {number - 3}", "archive")
    if index % 4 == 0:
        room.send("/daftar", EDITORS[(index + 1) % len(EDITORS)], "/daftar", "list")
    match index % 3:
        case 0:
            room.send("bad: unknown cmd", OPERATOR, f"/terbit {number}", "unknown_command")
        case 1:
            room.send("bad: no story", editor, f"/status {number + 10_000}", "not_found")
        case _:
            room.send("bad: role", reporter, f"/sunting {number}", "refused:role")


def run_full(folder: Path, messages: int, profiler: cProfile.Profile | None) -> list[Sample]:
    clock = StepClock()
    messenger = LocalChannel()
    warta = build(bench_settings(folder), channels={CHANNEL: messenger}, clock=clock)
    room = Newsroom(warta, messenger, clock, messages, profiler)
    photo = InboundMedia(kind="photo", data=small_jpeg(), filename="foto.jpg", caption="Musrenbang")
    number = 0
    try:
        for index in range(WARMUP_CYCLES):
            number += 1
            story_cycle(room, index, number, photo)
        room.recording = True
        index = WARMUP_CYCLES
        while True:
            number += 1
            story_cycle(room, index, number, photo)
            index += 1
    except Done:
        pass
    finally:
        room.close()
    return room.samples


# -- the baseline -----------------------------------------------------------------------------


def run_baseline(folder: Path, messages: int) -> list[int]:
    """Bare single-row inserts, one transaction and commit each, on the same engine set-up."""
    db = Database(f"sqlite:///{folder / 'baseline.db'}")
    InboxMessage.__table__.create(db.engine)  # type: ignore[attr-defined]
    now = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    timings: list[int] = []
    try:
        for i in range(BASELINE_WARMUP + messages):
            row = InboxMessage(
                channel=CHANNEL,
                chat_id=GROUP,
                message_id=f"in-{i}",
                sender="rina",
                text=f"/status {i}",
                payload={"chat_kind": "group", "media": [], "notes": []},
                received_at=now,
            )
            start = time.perf_counter_ns()
            with db.transaction() as session:
                session.add(row)
            elapsed = time.perf_counter_ns() - start
            if i >= BASELINE_WARMUP:
                timings.append(elapsed)
    finally:
        db.dispose()
    return timings


# -- report -----------------------------------------------------------------------------------


def figures(timings: list[int]) -> dict[str, float]:
    ordered = sorted(timings)
    total_s = sum(ordered) / 1e9

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] / 1e6

    return {
        "messages": len(ordered),
        "msg_per_s": len(ordered) / total_s if total_s else 0.0,
        "p50_ms": statistics.median(ordered) / 1e6,
        "p99_ms": pct(0.99),
        "mean_ms": statistics.fmean(ordered) / 1e6,
        "max_ms": ordered[-1] / 1e6,
    }


def print_table(full: dict[str, float], base: dict[str, float], ratio: float) -> None:
    print(f"{'path':<34}{'messages':>9}{'msg/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    for name, row in (
        ("full (desk.receive, SQLite)", full),
        ("baseline (bare insert+commit)", base),
    ):
        print(
            f"{name:<34}{row['messages']:>9.0f}{row['msg_per_s']:>10.1f}"
            f"{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}{row['mean_ms']:>9.2f}"
        )
    met = "met" if ratio <= TARGET_RATIO else "NOT met"
    target = f"target <= {TARGET_RATIO:.0f}x: {met}"
    print(f"ratio (full/baseline, by mean latency): {ratio:.2f}x  ({target})")


def per_step(samples: list[Sample]) -> dict[str, dict[str, float]]:
    grouped: dict[str, list[int]] = defaultdict(list)
    for sample in samples:
        grouped[sample.step].append(sample.ns)
    return {step: figures(ns) for step, ns in grouped.items()}


def print_steps(steps: dict[str, dict[str, float]]) -> None:
    print()
    print(f"{'full path by message kind':<34}{'count':>9}{'p50 ms':>10}{'p99 ms':>9}{'mean ms':>9}")
    for step, row in sorted(steps.items(), key=lambda item: -item[1]["mean_ms"]):
        print(
            f"{step:<34}{row['messages']:>9.0f}{row['p50_ms']:>10.2f}"
            f"{row['p99_ms']:>9.2f}{row['mean_ms']:>9.2f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=DEFAULT_MESSAGES, help="messages per path")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the timed desk.receive calls"
    )
    args = parser.parse_args(argv)
    if args.messages < 10:
        parser.error("--messages must be at least 10")

    profiler = cProfile.Profile() if args.profile else None
    with tempfile.TemporaryDirectory(prefix="warta-bench-") as tmp:
        folder = Path(tmp)
        baseline = run_baseline(folder, args.messages)
        samples = run_full(folder, args.messages, profiler)

    full, base = figures([s.ns for s in samples]), figures(baseline)
    ratio = full["mean_ms"] / base["mean_ms"]
    steps = per_step(samples)
    outcomes = Counter(s.outcome for s in samples)
    unexpected = Counter(
        f"{s.step}: expected {s.expected}, got {s.outcome}"
        for s in samples
        if s.outcome != s.expected
    )
    if args.json:
        report = {
            "full": full,
            "baseline": base,
            "ratio_by_mean": ratio,
            "target_ratio": TARGET_RATIO,
            "target_met": ratio <= TARGET_RATIO,
            "by_step": steps,
            "outcomes": dict(outcomes),
            "unexpected": dict(unexpected),
        }
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        print_table(full, base, ratio)
        print_steps(steps)
        if profiler is not None:
            print()
            stats = pstats.Stats(profiler, stream=sys.stdout)
            stats.sort_stats("cumulative").print_stats(40)
    for line, count in unexpected.items():
        print(f"warning: {count}x {line}", file=sys.stderr)
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
