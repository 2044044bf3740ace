"""Benchmark the inbound path (intake.receive on SQLite) against the data model's floor.

Usage: python bench/ingest.py [--messages 2000 | --small] [--synchronous FULL|NORMAL|both]
       [--profile] [--json]

A realistic day (submissions with and without photos, claims, new versions by reply and by
command, checklists, status, publishing, archiving, lists and three kinds of mistakes) goes
through a real Warta on SQLite, with a desk group (so story cards are queued as on Telegram);
each ``intake.receive`` is timed, nothing else (the outbox dispatcher runs between messages,
untimed). Two baselines are measured in the same run:

- **floor**: every row the full path wrote for each message (the inbox row, the story and its
  version, the audit entry, clocks and alarms, outbox rows, the inbox outcome …), recorded
  from the engine as SQL with its parameters and replayed with the plain ``sqlite3`` module,
  one transaction (``BEGIN IMMEDIATE`` … ``COMMIT``) per message, on a copy of the same
  database with the same PRAGMAs. It is what the data model costs with no Python around it.
  The rows of both databases are counted at the end to show that they hold the same.
- **bare**: one single-row insert committed through sqlmodel per message (the old baseline).

Every figure is measured for each ``PRAGMA synchronous`` asked for: FULL (Warta's setting:
an fsync per commit) and NORMAL (no fsync at commit in WAL mode: Python's share shows).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import Engine, event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import storage.db
from bot.app import Warta, build
from bot.channels.local import LocalChannel, Said
from bot.config import Settings
from handlers.messages import ChatKind, InboundMedia, InboundMessage
from storage.db import SQLITE_BUSY_TIMEOUT_MS, SQLITE_SYNCHRONOUS, Database
from storage.models import InboxMessage

FLOOR_TARGET = 10.0
BARE_TARGET = 3.0
DEFAULT_MESSAGES = 2000
SMALL_MESSAGES = 200
WARMUP_CYCLES = 3
BASELINE_WARMUP = 50
MODES = ("FULL", "NORMAL")
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
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC")


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


@contextmanager
def synchronous(mode: str) -> Iterator[None]:
    """Warta's engines open with ``PRAGMA synchronous=<mode>`` inside this block."""
    kept = storage.db.SQLITE_SYNCHRONOUS
    storage.db.SQLITE_SYNCHRONOUS = mode
    try:
        yield
    finally:
        storage.db.SQLITE_SYNCHRONOUS = kept


# -- recording the rows written ---------------------------------------------------------------


Statement = tuple[str, Any, bool]
"""SQL as the driver received it, its parameters, and whether it ran as executemany."""


@dataclass
class Group:
    """The writes of one timed message (``sample`` is its index) or of untimed work between
    messages (``sample`` is None: the dispatcher, the set-up)."""

    sample: int | None
    statements: list[Statement] = field(default_factory=list)


@dataclass
class Recorder:
    """Keeps every write the engine sends to SQLite, in order, grouped by message."""

    groups: list[Group] = field(default_factory=lambda: [Group(None)])

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(
        self,
        _conn: Any,
        _cursor: Any,
        statement: str,
        parameters: Any,
        _context: Any,
        executemany: bool,
    ) -> None:
        if statement.lstrip()[:6].upper() not in WRITES:
            return
        # SQLAlchemy's "insertmanyvalues" sends one statement with flat parameters even when
        # it reports executemany: what the driver runs is told by the parameters' shape.
        parameters = parameters or ()
        many = executemany and bool(parameters) and isinstance(parameters[0], (tuple, list))
        params = [tuple(p) for p in parameters] if many else tuple(parameters)
        self.groups[-1].statements.append((statement, params, many))

    def begin(self, sample: int | None) -> None:
        self.groups.append(Group(sample))

    def end(self) -> None:
        self.groups.append(Group(None))


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
    """Plays a desk's day into a real Warta and times each ``intake.receive``, nothing else."""

    warta: Warta
    messenger: LocalChannel
    clock: StepClock
    limit: int
    recorder: Recorder
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
        intake = self.warta.intake
        self.recorder.begin(len(self.samples) if self.recording else None)
        if self.profiler is not None and self.recording:
            self.profiler.enable()
        start = time.perf_counter_ns()
        receipt = intake.receive(msg)
        elapsed = time.perf_counter_ns() - start
        if self.profiler is not None and self.recording:
            self.profiler.disable()
        self.recorder.end()
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
    if number > 3:  # (the archive asks; its checks follow in the alarm clock's sweep)
        room.send("/arsipkan", editor, f"/arsipkan {number - 3}", "archive_requested")
    if index % 4 == 0:
        room.send("/daftar", EDITORS[(index + 1) % len(EDITORS)], "/daftar", "list")
    match index % 3:
        case 0:
            room.send("bad: unknown cmd", OPERATOR, f"/terbangkan {number}", "unknown_command")
        case 1:
            room.send("bad: no story", editor, f"/status {number + 10_000}", "not_found")
        case _:
            room.send("bad: role", reporter, f"/sunting {number}", "refused:role")


@dataclass
class FullRun:
    samples: list[Sample]
    groups: list[Group]
    start: Path
    """A copy of the database as it was before the first message (the floor starts there)."""
    end: Path


def run_full(folder: Path, messages: int, profiler: cProfile.Profile | None) -> FullRun:
    folder.mkdir(parents=True, exist_ok=True)
    clock = StepClock()
    messenger = LocalChannel(group=(GROUP,))
    warta = build(bench_settings(folder), channels={CHANNEL: messenger}, clock=clock)
    start = folder / "start.db"
    copy_database(folder / "warta.db", start)
    recorder = Recorder()
    recorder.attach(warta.db.engine)
    room = Newsroom(warta, messenger, clock, messages, recorder, profiler)
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
    return FullRun(room.samples, recorder.groups, start, folder / "warta.db")


def copy_database(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


# -- the floor --------------------------------------------------------------------------------


def plain_connection(path: Path, mode: str) -> sqlite3.Connection:
    """A bare ``sqlite3`` connection with Warta's PRAGMAs (storage/db.py), ``synchronous`` aside."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute(f"PRAGMA synchronous={mode}")
    return connection


def run_floor(run: FullRun, folder: Path, mode: str) -> tuple[list[int], Path]:
    """Replay the recorded writes; time each message's transaction. Untimed groups (the
    dispatcher's writes) are replayed too, so every row the timed ones touch is there."""
    path = folder / f"floor-{mode.lower()}.db"
    shutil.copyfile(run.start, path)
    timings = [0] * len(run.samples)
    connection = plain_connection(path, mode)
    try:
        for group in run.groups:
            if not group.statements:
                continue
            start = time.perf_counter_ns()
            cursor = connection.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            for sql, params, many in group.statements:
                if many:
                    cursor.executemany(sql, params)
                else:
                    cursor.execute(sql, params).fetchall()
            cursor.execute("COMMIT")
            elapsed = time.perf_counter_ns() - start
            if group.sample is not None:
                timings[group.sample] = elapsed
    finally:
        connection.close()
    return timings, path


def row_counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as connection:
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        counts = {
            t: connection.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables
        }
    connection.close()
    return counts


# -- the bare baseline ------------------------------------------------------------------------


def run_bare(folder: Path, messages: int) -> list[int]:
    """Bare single-row inserts, one transaction and commit each, on the same engine set-up."""
    db = Database(f"sqlite:///{folder / 'bare.db'}")
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


# -- one mode ---------------------------------------------------------------------------------


@dataclass
class ModeResult:
    mode: str
    samples: list[Sample]
    floor: list[int]
    bare: list[int]
    same_rows: bool
    differences: dict[str, tuple[int, int]]


def measure(
    folder: Path, mode: str, messages: int, profiler: cProfile.Profile | None
) -> ModeResult:
    here = folder / mode.lower()
    with synchronous(mode):
        run = run_full(here, messages, profiler)
        bare = run_bare(here, messages)
    floor, floor_db = run_floor(run, here, mode)
    full_rows, floor_rows = row_counts(run.end), row_counts(floor_db)
    differences = {
        table: (full_rows.get(table, 0), floor_rows.get(table, 0))
        for table in sorted(set(full_rows) | set(floor_rows))
        if full_rows.get(table, 0) != floor_rows.get(table, 0)
    }
    return ModeResult(mode, run.samples, floor, bare, not differences, differences)


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


def summary(result: ModeResult) -> dict[str, Any]:
    full = figures([s.ns for s in result.samples])
    floor, bare = figures(result.floor), figures(result.bare)
    by_step: dict[str, dict[str, list[int]]] = defaultdict(lambda: {"full": [], "floor": []})
    for sample, floor_ns in zip(result.samples, result.floor, strict=True):
        by_step[sample.step]["full"].append(sample.ns)
        by_step[sample.step]["floor"].append(floor_ns)
    steps = {}
    for step, timings in by_step.items():
        step_full, step_floor = figures(timings["full"]), figures(timings["floor"])
        steps[step] = {
            "count": step_full["messages"],
            "full_p50_ms": step_full["p50_ms"],
            "full_mean_ms": step_full["mean_ms"],
            "floor_p50_ms": step_floor["p50_ms"],
            "floor_mean_ms": step_floor["mean_ms"],
            "full_over_floor": step_full["mean_ms"] / step_floor["mean_ms"],
        }
    return {
        "synchronous": result.mode,
        "full": full,
        "floor": floor,
        "bare": bare,
        "full_over_floor": {
            "mean": full["mean_ms"] / floor["mean_ms"],
            "p50": full["p50_ms"] / floor["p50_ms"],
        },
        "full_over_bare": {
            "mean": full["mean_ms"] / bare["mean_ms"],
            "p50": full["p50_ms"] / bare["p50_ms"],
        },
        "floor_target": FLOOR_TARGET,
        "bare_target": BARE_TARGET,
        "floor_has_same_rows": result.same_rows,
        "row_differences": {t: list(v) for t, v in result.differences.items()},
        "by_step": steps,
    }


def print_summary(report: dict[str, Any]) -> None:
    mode = report["synchronous"]
    setting = " (Warta's setting)" if mode == SQLITE_SYNCHRONOUS else ""
    print(f"PRAGMA synchronous={mode}{setting}")
    print(f"{'path':<42}{'messages':>9}{'msg/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    for name, key in (
        ("full (intake.receive)", "full"),
        ("floor (same rows, sqlite3, 1 transaction)", "floor"),
        ("bare (1 insert + commit, sqlmodel)", "bare"),
    ):
        row = report[key]
        print(
            f"{name:<42}{row['messages']:>9.0f}{row['msg_per_s']:>10.1f}"
            f"{row['p50_ms']:>9.3f}{row['p99_ms']:>9.3f}{row['mean_ms']:>9.3f}"
        )
    for name, key, target in (
        ("full/floor", "full_over_floor", FLOOR_TARGET),
        ("full/bare", "full_over_bare", BARE_TARGET),
    ):
        ratio = report[key]
        met = "met" if ratio["mean"] <= target else "NOT met"
        print(
            f"{name}: {ratio['mean']:.2f}x by mean, {ratio['p50']:.2f}x by p50"
            f"  (target <= {target:.0f}x by mean: {met})"
        )
    if report["floor_has_same_rows"]:
        print("the floor's database holds as many rows in every table as the full path's")
    else:
        print(f"warning: row counts differ (full, floor): {report['row_differences']}")
    print()
    print(
        f"{'by message kind':<20}{'count':>7}{'full p50':>10}{'full mean':>11}"
        f"{'floor p50':>11}{'floor mean':>12}{'full/floor':>12}"
    )
    for step, row in sorted(report["by_step"].items(), key=lambda item: -item[1]["full_mean_ms"]):
        print(
            f"{step:<20}{row['count']:>7}{row['full_p50_ms']:>10.3f}{row['full_mean_ms']:>11.3f}"
            f"{row['floor_p50_ms']:>11.3f}{row['floor_mean_ms']:>12.3f}"
            f"{row['full_over_floor']:>11.2f}x"
        )
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--messages", type=int, default=None, help=f"messages timed ({DEFAULT_MESSAGES})"
    )
    parser.add_argument(
        "--small", action="store_true", help=f"{SMALL_MESSAGES} messages (CI's smoke run)"
    )
    parser.add_argument(
        "--synchronous",
        choices=(*MODES, "both"),
        default="both",
        help="SQLite's PRAGMA synchronous for every path (default: both, one after the other)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the timed intake.receive calls"
    )
    args = parser.parse_args(argv)
    args.messages = args.messages or (SMALL_MESSAGES if args.small else DEFAULT_MESSAGES)
    if args.messages < 10:
        parser.error("--messages must be at least 10")
    modes = MODES if args.synchronous == "both" else (args.synchronous,)

    profiler = cProfile.Profile() if args.profile else None
    with tempfile.TemporaryDirectory(prefix="warta-bench-") as tmp:
        results = [measure(Path(tmp), mode, args.messages, profiler) for mode in modes]

    reports = [summary(result) for result in results]
    unexpected = Counter(
        f"{s.step}: expected {s.expected}, got {s.outcome}"
        for result in results
        for s in result.samples
        if s.outcome != s.expected
    )
    if args.json:
        outcomes = Counter(s.outcome for s in results[0].samples)
        document = {
            "modes": reports,
            "outcomes": dict(outcomes),
            "unexpected": dict(unexpected),
        }
        print(json.dumps(document, indent=2, sort_keys=True))
    else:
        for report in reports:
            print_summary(report)
        if profiler is not None:
            stats = pstats.Stats(profiler, stream=sys.stdout)
            stats.sort_stats("cumulative").print_stats(40)
    for line, count in unexpected.items():
        print(f"warning: {count}x {line}", file=sys.stderr)
    same = all(result.same_rows for result in results)
    return 1 if unexpected or not same else 0


if __name__ == "__main__":
    sys.exit(main())
