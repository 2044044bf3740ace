"""Benchmark what a power-cut-safe commit costs: SQLite (WAL) with synchronous=NORMAL vs FULL.

Usage: python bench/durability.py [--commits 2000] [--small] [--dir FOLDER] [--json]

Each commit is the transaction of a story submission, on Warta's own engine set-up (WAL, busy
timeout, BEGIN IMMEDIATE): the inbox row, the story number bumped, the story, its first
version, the audit entry, the reply in the outbox and the inbox outcome (seven statements).
The two modes run in alternating rounds on two files in the same folder, so both see the same
disk. Figures printed: commits per second, p50/p99/mean commit latency per mode, and the
ratio FULL/NORMAL. Nothing is asserted: fsync costs depend on the disk (and a tmpfs folder
syncs nothing, which the report says) — run it with --dir on the disk Warta's data lives on.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, insert, update
from sqlmodel import SQLModel

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage.db import SQLITE_SYNCHRONOUS, Database
from storage.models import (
    AuditEvent,
    Counter,
    InboxMessage,
    OutboxItem,
    Person,
    Story,
    StoryVersion,
)

MODES = ("NORMAL", "FULL")
DEFAULT_COMMITS = 2000
SMALL_COMMITS = 300
WARMUP = 50
ROUNDS = 5
START = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
BODY = (
    "PALANGKA RAYA – Wali Kota membuka Musrenbang di Aula Peteng Karuhei. Kegiatan dihadiri "
    "camat, lurah dan perwakilan warga dari tiga puluh kelurahan. Usulan yang masuk mencakup "
    "perbaikan jalan lingkungan, drainase, penerangan jalan umum dan pelatihan usaha kecil. "
) * 4

inbox = InboxMessage.__table__  # type: ignore[attr-defined]
counter = Counter.__table__  # type: ignore[attr-defined]
stories = Story.__table__  # type: ignore[attr-defined]
versions = StoryVersion.__table__  # type: ignore[attr-defined]
audit = AuditEvent.__table__  # type: ignore[attr-defined]
outbox = OutboxItem.__table__  # type: ignore[attr-defined]


def open_database(path: Path, mode: str) -> Database:
    """Warta's engine for ``path``, with ``PRAGMA synchronous`` set to ``mode`` on every
    connection (after Warta's own set-up, which runs first)."""
    db = Database(f"sqlite:///{path}")

    @event.listens_for(db.engine, "connect")
    def _synchronous(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA synchronous={mode}")

    SQLModel.metadata.create_all(db.engine)
    with db.transaction() as session:
        session.add(Person(id=1, key="rina", name="Rina"))
        session.add(Counter(name="story", value=0))
    return db


def synchronous_of(engine: Engine) -> str:
    with engine.connect() as connection:
        level = connection.exec_driver_sql("PRAGMA synchronous").scalar()
    return {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(level, str(level))


def submission(db: Database, index: int) -> int:
    """One story submission's transaction; returns its duration in nanoseconds."""
    now = START + timedelta(seconds=index)
    started = time.perf_counter_ns()
    with db.transaction() as session:
        connection = session.connection()
        inbox_id = connection.execute(
            insert(inbox).returning(inbox.c.id),
            {
                "channel": "telegram",
                "chat_id": "-100123",
                "message_id": f"m{index}",
                "sender": "rina",
                "text": BODY,
                "payload": {"chat_kind": "group", "media": []},
                "received_at": now,
                "attempts": 0,
            },
        ).scalar_one()
        number = connection.execute(
            update(counter)
            .where(counter.c.name == "story")
            .values(value=counter.c.value + 1)
            .returning(counter.c.value)
        ).scalar_one()
        story_id = connection.execute(
            insert(stories).returning(stories.c.id),
            {
                "number": number,
                "title": "Wali Kota Buka Musrenbang",
                "state": "submitted",
                "reporter_id": 1,
                "current_version": 1,
                "origin_channel": "telegram",
                "origin_chat": "-100123",
                "step": "editing",
                "step_started_at": now,
                "step_due_at": now + timedelta(hours=3),
                "created_at": now,
                "updated_at": now,
                "lock_version": 1,
            },
        ).scalar_one()
        connection.execute(
            insert(versions),
            {
                "story_id": story_id,
                "number": 1,
                "title": "Wali Kota Buka Musrenbang",
                "body": BODY,
                "author_id": 1,
                "created_at": now,
            },
        )
        connection.execute(
            insert(audit),
            {
                "story_id": story_id,
                "actor_id": 1,
                "at": now,
                "event": "submit",
                "to_state": "submitted",
                "detail": {},
            },
        )
        connection.execute(
            insert(outbox),
            {
                "kind": "message",
                "channel": "telegram",
                "recipient": "-100123",
                "story_id": story_id,
                "inbox_id": inbox_id,
                "text": f"Berita #{number} diterima.",
                "payload": {},
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "result": {},
            },
        )
        connection.execute(
            update(inbox)
            .where(inbox.c.id == inbox_id)
            .values(processed_at=now, outcome="submitted")
        )
    return time.perf_counter_ns() - started


def figures(timings: list[int]) -> dict[str, float]:
    ordered = sorted(timings)
    total_s = sum(ordered) / 1e9
    return {
        "commits": len(ordered),
        "commits_per_s": len(ordered) / total_s if total_s else 0.0,
        "p50_ms": statistics.median(ordered) / 1e6,
        "p99_ms": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] / 1e6,
        "mean_ms": statistics.fmean(ordered) / 1e6,
        "max_ms": ordered[-1] / 1e6,
    }


def file_system_of(folder: Path) -> str:
    """The type of the file system ``folder`` is on (from /proc/mounts; '?' elsewhere)."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return "?"
    best, kind = "", "?"
    resolved = str(folder.resolve())
    for line in mounts:
        parts = line.split()
        if len(parts) < 3:
            continue
        mount_point = parts[1]
        inside = resolved == mount_point or resolved.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) > len(best):
            best, kind = mount_point, parts[2]
    return kind


def measure(folder: Path, commits: int) -> tuple[dict[str, list[int]], dict[str, str]]:
    databases = {mode: open_database(folder / f"{mode.lower()}.db", mode) for mode in MODES}
    timings: dict[str, list[int]] = {mode: [] for mode in MODES}
    index = 0
    try:
        checked = {mode: synchronous_of(db.engine) for mode, db in databases.items()}
        for db in databases.values():
            for _ in range(WARMUP):
                index += 1
                submission(db, index)
        per_round = max(1, commits // ROUNDS)
        while any(len(timings[mode]) < commits for mode in MODES):
            for mode, db in databases.items():
                for _ in range(min(per_round, commits - len(timings[mode]))):
                    index += 1
                    timings[mode].append(submission(db, index))
    finally:
        for db in databases.values():
            db.dispose()
    return timings, checked


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=None, help="commits per mode")
    parser.add_argument("--small", action="store_true", help=f"{SMALL_COMMITS} commits (for CI)")
    parser.add_argument("--dir", type=Path, default=None, help="folder for the SQLite files")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    commits = args.commits or (SMALL_COMMITS if args.small else DEFAULT_COMMITS)
    if commits < 10:
        parser.error("--commits must be at least 10")
    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="warta-durability-", dir=args.dir) as tmp:
        folder = Path(tmp)
        file_system = file_system_of(folder)
        timings, checked = measure(folder, commits)
    results = {mode: figures(timings[mode]) for mode in MODES}
    normal, full = results["NORMAL"], results["FULL"]
    ratios = {
        "p50": full["p50_ms"] / normal["p50_ms"],
        "p99": full["p99_ms"] / normal["p99_ms"],
        "mean": full["mean_ms"] / normal["mean_ms"],
        "commits_per_s": full["commits_per_s"] / normal["commits_per_s"],
    }
    if args.json:
        report = {
            "folder_file_system": file_system,
            "warta_setting": SQLITE_SYNCHRONOUS,
            "modes": results,
            "ratio_full_over_normal": ratios,
        }
        print(json.dumps(report, indent=2, sort_keys=True))
        return 0
    print(f"SQLite (WAL) commit of a story submission, 7 statements; files on {file_system}")
    header = ("commits", 8), ("commits/s", 11), ("p50 ms", 9), ("p99 ms", 9), ("mean ms", 9)
    print(f"{'synchronous':<13}" + "".join(f"{name:>{width}}" for name, width in header))
    for mode in MODES:
        row = results[mode]
        print(
            f"{checked[mode]:<13}{row['commits']:>8.0f}{row['commits_per_s']:>11.1f}"
            f"{row['p50_ms']:>9.3f}{row['p99_ms']:>9.3f}{row['mean_ms']:>9.3f}"
        )
    print(
        f"FULL/NORMAL: p50 {ratios['p50']:.2f}x, p99 {ratios['p99']:.2f}x, "
        f"mean {ratios['mean']:.2f}x; commits/s {ratios['commits_per_s']:.2f}x"
    )
    print(f"Warta uses synchronous={SQLITE_SYNCHRONOUS} (storage/db.py).")
    if file_system in ("tmpfs", "ramfs"):
        print("note: this folder is in memory, so neither mode syncs anything; use --dir")
    return 0


if __name__ == "__main__":
    sys.exit(main())
