"""Backup and restore: the database and the media folder, taken online, in one checked archive.

The archive is a ``.tar.gz`` holding ``database/warta.sqlite3`` (a SQLite snapshot made with
SQLite's backup API) or ``database/warta.pgdump`` (``pg_dump --format=custom`` of Warta's
schema), the media files under ``media/`` and, last, ``manifest.json``: the Warta version, the
schema revision, the database kind, when it was made, how many stories, media rows and pending
SLA alarms the snapshot holds, and the sha256 of every other member. A backup is written to a
hidden partial file and renamed into place only when complete, so a file with the final name
is always a whole backup.

The database is copied first, then the media folder: media files are written (and synced)
before the row that names them commits and are never deleted, so every media row in the
snapshot finds its file in the archive; files that arrive later come along unused.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, func, inspect, select, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from bot.config import Settings
from storage.db import SQLITE_BUSY_TIMEOUT_MS, Database, normalise_url
from storage.migrate import MIGRATIONS, head_revision, upgrade
from storage.models import Lease, Media, SlaAlarm, Story

log = logging.getLogger(__name__)

FORMAT = "warta-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/warta.sqlite3"
POSTGRES_MEMBER = "database/warta.pgdump"
MEDIA_PREFIX = "media/"
CHUNK = 1024 * 1024
MANIFEST_LIMIT = 64 * 1024 * 1024
SCHEDULER_LEASE = "scheduler"
CONFIG_MIRRORS = frozenset({"alembic_version", "person", "personrole", "identity", "lease"})
"""Tables every start fills from config.yaml (or the scheduler's lease): rows there alone do
not make a database worth protecting from a restore."""


class BackupError(Exception):
    """A backup or restore cannot go on; the message is one line an operator can act on."""


@dataclass(frozen=True)
class Counts:
    """What a snapshot holds, as written to the manifest and checked after a restore."""

    stories: int
    media: int
    pending_alarms: int

    def describe(self) -> str:
        return f"{self.stories} stories, {self.media} media, {self.pending_alarms} pending alarms"


@dataclass(frozen=True)
class BackupReport:
    path: Path
    size: int
    database: str
    schema_revision: str
    counts: Counts
    media_files: int
    media_bytes: int
    created_at: datetime
    warta_version: str


@dataclass(frozen=True)
class RestoreReport:
    source: Path
    database: str
    schema_revision: str
    """The revision the backup was made at."""
    upgraded_to: str | None
    """The head revision, when the restored schema had to be upgraded to it."""
    counts: Counts
    media_written: int
    media_already_there: int
    previous_saved_to: Path | None
    """Where the database that was replaced (with ``force``) was saved first."""
    backup_created_at: datetime
    checks: tuple[str, ...] = ()


# -- backup ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Snapshot:
    path: Path
    member: str
    revision: str
    counts: Counts
    schema: str | None = None


def backup(
    settings: Settings,
    destination: Path,
    *,
    include_media: bool = True,
    after_snapshot: Callable[[], None] | None = None,
) -> BackupReport:
    """Write a consistent backup of the running desk's database and media folder to
    ``destination`` (a ``.tar.gz``); Warta may go on working meanwhile.

    ``after_snapshot`` is called once the database snapshot is fixed and counted, before the
    PostgreSQL dump is written and the media folder is read (tests write more stories then).
    """
    url = settings.database_url.get_secret_value()
    destination = Path(destination)
    if destination.is_dir():
        raise BackupError(f"{destination} is a folder; give the backup's file name")
    destination.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".warta-backup-", dir=destination.parent))
    try:
        take = _snapshot_sqlite if _is_sqlite(url) else _snapshot_postgres
        snapshot = take(url, work, after_snapshot or (lambda: None))
        log.info("backup: database snapshot of %s taken", _describe(url))
        created_at = datetime.now(UTC)
        members: dict[str, dict[str, Any]] = {}
        partial = work / "archive.tar.gz"
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:
                members[snapshot.member] = _add_file(tar, snapshot.member, snapshot.path)
                media_files = media_bytes = 0
                if include_media:
                    for relative, path in _media_files(settings.media_dir):
                        added = _add_file(tar, MEDIA_PREFIX + relative, path, missing_ok=True)
                        if added:
                            members[MEDIA_PREFIX + relative] = added
                            media_files += 1
                            media_bytes += added["size"]
                manifest = {
                    "format": FORMAT,
                    "format_version": FORMAT_VERSION,
                    "warta_version": warta_version(),
                    "created_at": created_at.isoformat(timespec="seconds"),
                    "database": "sqlite" if snapshot.member == SQLITE_MEMBER else "postgresql",
                    "postgres_schema": snapshot.schema,
                    "schema_revision": snapshot.revision,
                    "counts": {
                        "stories": snapshot.counts.stories,
                        "media": snapshot.counts.media,
                        "pending_alarms": snapshot.counts.pending_alarms,
                    },
                    "media_included": include_media,
                    "media_files": media_files,
                    "members": members,
                }
                _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=2).encode())
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, destination)
        _fsync_folder(destination.parent)
    except OSError as problem:
        raise BackupError(f"cannot write the backup {destination}: {_os_reason(problem)}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = BackupReport(
        path=destination,
        size=destination.stat().st_size,
        database=manifest["database"],
        schema_revision=snapshot.revision,
        counts=snapshot.counts,
        media_files=media_files,
        media_bytes=media_bytes,
        created_at=created_at,
        warta_version=manifest["warta_version"],
    )
    log.info("backup: %s written (%s)", destination, snapshot.counts.describe())
    return report


def _snapshot_sqlite(url: str, work: Path, after_snapshot: Callable[[], None]) -> _Snapshot:
    path = _sqlite_path(url)
    if not path.is_file():
        raise BackupError(f"the database file {path} does not exist")
    copy = work / "warta.sqlite3"
    try:
        source = sqlite3.connect(str(path), timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        try:
            source.execute("PRAGMA query_only=ON")
            target = sqlite3.connect(str(copy))
            try:
                # One step copies every page under one read transaction: a consistent snapshot,
                # and in WAL mode Warta's writers go on meanwhile.
                source.backup(target)
                target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
                problems = [row[0] for row in target.execute("PRAGMA quick_check")]
            finally:
                target.close()
        finally:
            source.close()
    except sqlite3.Error as problem:
        raise BackupError(f"cannot copy the database {path}: {problem}") from None
    if problems != ["ok"]:
        raise BackupError(f"the database {path} is damaged ({problems[0]}); it was not backed up")
    engine = create_engine(f"sqlite:///{copy}", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            revision, counts = _revision_and_counts(connection)
    finally:
        engine.dispose()
    after_snapshot()
    return _Snapshot(copy, SQLITE_MEMBER, revision, counts)


def _snapshot_postgres(url: str, work: Path, after_snapshot: Callable[[], None]) -> _Snapshot:
    out = work / "warta.pgdump"
    db = Database(url)
    try:
        with _database_errors(url, "read"), db.engine.connect() as connection:
            # The counts and pg_dump see the same exported snapshot: the manifest describes
            # exactly what is in the dump, however much Warta writes meanwhile.
            reader = connection.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
            with reader.begin():
                exported = reader.execute(text("SELECT pg_export_snapshot()")).scalar_one()
                schema = reader.execute(text("SELECT current_schema()")).scalar()
                if schema is None:
                    raise BackupError(
                        "no schema of the database's search_path exists; check the URL's options"
                    )
                revision, counts = _revision_and_counts(reader)
                after_snapshot()
                _run_pg(
                    url,
                    "pg_dump",
                    [
                        "--format=custom",
                        f"--schema={_quote_identifier(schema)}",
                        f"--snapshot={exported}",
                        f"--file={out}",
                    ],
                    connects=True,
                )
    finally:
        db.dispose()
    return _Snapshot(out, POSTGRES_MEMBER, revision, counts, schema=schema)


def _revision_and_counts(connection: Connection) -> tuple[str, Counts]:
    revision = MigrationContext.configure(connection).get_current_revision()
    if revision is None:
        raise BackupError(
            "the database holds no Warta schema (check the database URL, or run 'warta db upgrade')"
        )
    return revision, _counts(connection)


def _counts(connection: Connection) -> Counts:
    tables = set(inspect(connection).get_table_names())

    def count(table: Any, *where: Any) -> int:
        if table.name not in tables:  # an old schema, before that table existed
            return 0
        return connection.execute(
            select(func.count()).select_from(table).where(*where)
        ).scalar_one()

    alarms = SlaAlarm.__table__  # type: ignore[attr-defined]
    return Counts(
        stories=count(Story.__table__),  # type: ignore[attr-defined]
        media=count(Media.__table__),  # type: ignore[attr-defined]
        pending_alarms=count(alarms, alarms.c.status == "pending"),
    )


def _media_files(root: Path) -> Iterator[tuple[str, Path]]:
    """Every stored file under ``root`` (not the hidden ones still being written)."""
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and not path.is_symlink():
            yield relative.as_posix(), path


class _Hashing:
    """A reader that hashes what passes through it."""

    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.digest.update(data)
        return data


def _add_file(
    tar: tarfile.TarFile, name: str, path: Path, *, missing_ok: bool = False
) -> dict[str, Any] | None:
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        if missing_ok:
            return None
        raise
    with handle:
        info = tarfile.TarInfo(name)
        status = os.fstat(handle.fileno())
        info.size, info.mtime, info.mode = status.st_size, int(status.st_mtime), 0o600
        reader = _Hashing(handle)
        tar.addfile(info, reader)  # type: ignore[arg-type]
    return {"sha256": reader.digest.hexdigest(), "size": info.size}


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(datetime.now(UTC).timestamp()), 0o600
    tar.addfile(info, io.BytesIO(data))


# -- restore ---------------------------------------------------------------------------------


def restore(settings: Settings, source: Path, *, force: bool = False) -> RestoreReport:
    """Restore the backup ``source`` into the configured database and media folder, then check
    the result. Warta must be stopped. A database that already holds data is replaced only
    with ``force`` (and saved to the data folder first); media files are added, never removed.
    """
    url = settings.database_url.get_secret_value()
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"{source}: no such backup file")
    kind = "sqlite" if _is_sqlite(url) else "postgresql"
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".restore-", dir=settings.data_dir))
    try:
        manifest = _unpack(source, stage)
        revision = _check_compatible(manifest, kind, source)
        holdings = _holdings(url)
        previous: Path | None = None
        if holdings and not force:
            raise BackupError(
                f"the database already holds Warta data ({holdings}); restoring would replace "
                "it: add --force to replace it (it is saved to the data folder first)"
            )
        _refuse_if_running(url)
        if holdings:
            previous = _save_previous(settings)
        written, kept = _place_media(stage / "media", settings.media_dir, manifest["members"])
        if kind == "sqlite":
            _restore_sqlite(url, stage / SQLITE_MEMBER)
        else:
            _restore_postgres(url, stage / POSTGRES_MEMBER, manifest["postgres_schema"], stage)
        counts, upgraded_to, checks = _check_restored(settings, Counts(**manifest["counts"]))
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    log.info("restore: %s restored into %s (%s)", source, _describe(url), counts.describe())
    return RestoreReport(
        source=source,
        database=kind,
        schema_revision=revision,
        upgraded_to=upgraded_to,
        counts=counts,
        media_written=written,
        media_already_there=kept,
        previous_saved_to=previous,
        backup_created_at=datetime.fromisoformat(manifest["created_at"]),
        checks=checks,
    )


def _check_restored(
    settings: Settings, expected: Counts
) -> tuple[Counts, str | None, tuple[str, ...]]:
    """SQLite's integrity check, the counts against the manifest, the schema brought to head,
    and every media row's file present with its sha256. Returns the counts, the revision
    upgraded to (None when already at head) and the checks passed, in words."""
    url = settings.database_url.get_secret_value()
    checks: list[str] = []
    db = Database(url)
    try:
        with _database_errors(url, "check"):
            if db.is_sqlite:
                with db.engine.connect() as connection:
                    found = [row[0] for row in connection.exec_driver_sql("PRAGMA integrity_check")]
                if found != ["ok"]:
                    raise BackupError(f"the restored database is damaged: {found[0]}")
                checks.append("SQLite integrity_check: ok")
            with db.engine.connect() as connection:
                # Counted before any upgrade: the manifest counted at the backup's revision.
                revision = MigrationContext.configure(connection).get_current_revision()
                counts = _counts(connection)
            if counts != expected:
                raise BackupError(
                    f"the restored database holds {counts.describe()}, but the backup says "
                    f"{expected.describe()}"
                )
            checks.append(f"counts as in the manifest: {counts.describe()}")
            head = head_revision()
            upgraded_to = None
            if revision != head:
                upgrade(db)
                upgraded_to = head
                checks.append(f"schema upgraded from {revision} to {head}")
            else:
                checks.append(f"schema at head ({head})")
            media = Media.__table__  # type: ignore[attr-defined]
            with db.engine.connect() as connection:
                rows = set(connection.execute(select(media.c.stored_path, media.c.sha256)))
    finally:
        db.dispose()
    for stored_path, sha256 in sorted(rows):
        path = settings.media_dir / stored_path
        if not path.is_file():
            raise BackupError(f"the media file {stored_path} is missing from {settings.media_dir}")
        if _sha256_of(path) != sha256:
            raise BackupError(f"the media file {path} does not match its sha256")
    checks.append(f"{len(rows)} media files present with the right sha256")
    return counts, upgraded_to, tuple(checks)


def _unpack(source: Path, stage: Path) -> dict[str, Any]:
    """Unpack ``source`` into ``stage`` and check every member against the manifest."""
    damaged = f"{source} is damaged or not a Warta backup"
    digests: dict[str, str] = {}
    manifest_data: bytes | None = None
    try:
        with tarfile.open(source, mode="r:gz") as tar:
            for member in tar:
                name = _member_name(member, damaged)
                if name in digests or (name == MANIFEST and manifest_data is not None):
                    raise BackupError(f"{damaged}: {name} appears twice")
                reader = tar.extractfile(member)
                assert reader is not None  # a regular file, checked above
                if name == MANIFEST:
                    manifest_data = reader.read(MANIFEST_LIMIT + 1)
                    continue
                digests[name] = _copy_out(reader, stage / name)
    except (tarfile.TarError, EOFError, zlib.error) as problem:
        raise BackupError(f"{damaged} ({_os_reason(problem)})") from None
    except OSError as problem:  # gzip's BadGzipFile and CRC errors are OSErrors too
        raise BackupError(f"{damaged} ({_os_reason(problem)})") from None
    if manifest_data is None:
        raise BackupError(f"{damaged}: it has no {MANIFEST} (an incomplete backup?)")
    try:
        manifest = json.loads(manifest_data)
        members = manifest["members"]
        if manifest["format"] != FORMAT or not isinstance(members, dict):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise BackupError(f"{damaged}: its {MANIFEST} cannot be read") from None
    missing = sorted(set(members) - set(digests))
    if missing:
        raise BackupError(f"{damaged}: {missing[0]} is missing ({len(missing)} members in all)")
    unlisted = sorted(set(digests) - set(members))
    if unlisted:
        raise BackupError(f"{damaged}: {unlisted[0]} is not listed in its manifest")
    for name, digest in sorted(digests.items()):
        if members[name].get("sha256") != digest:
            raise BackupError(f"{damaged}: {name} does not match its sha256 in the manifest")
    return manifest


def _member_name(member: tarfile.TarInfo, damaged: str) -> str:
    """The member's name, when it is one a Warta backup holds and safe to unpack."""
    name = member.name
    path = PurePosixPath(name)
    safe = (
        member.isfile()
        and not path.is_absolute()
        and ".." not in path.parts
        and (
            name in (MANIFEST, SQLITE_MEMBER, POSTGRES_MEMBER)
            or (name.startswith(MEDIA_PREFIX) and len(path.parts) > 1)
        )
    )
    if not safe:
        raise BackupError(f"{damaged}: it holds an unexpected entry {name!r}")
    return name


def _copy_out(reader: IO[bytes], path: Path) -> str:
    """Write one member to ``path``; reading errors (a damaged archive) pass up to the caller,
    writing errors (a full disk) are said as such."""
    digest = hashlib.sha256()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        out = path.open("wb")
    except OSError as problem:
        raise BackupError(f"cannot unpack into {path.parent}: {_os_reason(problem)}") from None
    with out:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
            try:
                out.write(chunk)
            except OSError as problem:
                raise BackupError(
                    f"cannot unpack into {path.parent}: {_os_reason(problem)}"
                ) from None
        out.flush()
        os.fsync(out.fileno())  # media files are moved into place from here
    return digest.hexdigest()


def _check_compatible(manifest: dict[str, Any], kind: str, source: Path) -> str:
    made_on = manifest.get("database")
    if made_on != kind:
        raise BackupError(
            f"{source} holds a {_kind_name(made_on)} database, but the configured database is "
            f"{_kind_name(kind)}; backup and restore do not move between the two"
        )
    revision = str(manifest.get("schema_revision"))
    known = {script.revision for script in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}
    if revision not in known:
        raise BackupError(
            f"{source} was made by a newer Warta ({manifest.get('warta_version')}, schema "
            f"{revision}); this one knows up to {head_revision()}: install that version first"
        )
    return revision


def _holdings(url: str) -> str:
    """What the configured database holds beyond its config mirrors ('' when nothing)."""
    if _is_sqlite(url):
        path = _sqlite_path(url)
        if not path.exists() or path.stat().st_size == 0:
            return ""
    db = Database(url)
    try:
        with _database_errors(url, "read"), db.engine.connect() as connection:
            schema = None if db.is_sqlite else _postgres_schema(connection)
            tables = sorted(set(inspect(connection).get_table_names(schema=schema)))
            filled = []
            for table in tables:
                if table in CONFIG_MIRRORS:
                    continue
                qualified = _quote_identifier(table)
                if schema is not None:
                    qualified = f"{_quote_identifier(schema)}.{qualified}"
                if connection.execute(text(f"SELECT 1 FROM {qualified} LIMIT 1")).first():
                    filled.append(table)
            if not filled:
                return ""
            if "story" in filled:
                stories = connection.execute(
                    select(func.count()).select_from(Story.__table__)  # type: ignore[attr-defined]
                ).scalar_one()
                return f"{stories} stories"
            return "rows in " + ", ".join(filled[:5]) + ("…" if len(filled) > 5 else "")
    finally:
        db.dispose()


def _refuse_if_running(url: str) -> None:
    if _is_sqlite(url) and not _sqlite_path(url).exists():
        return
    db = Database(url)
    try:
        with _database_errors(url, "read"), db.engine.connect() as connection:
            if Lease.__tablename__ not in inspect(connection).get_table_names():
                return
            lease = Lease.__table__  # type: ignore[attr-defined]
            held = connection.execute(
                select(lease.c.holder, lease.c.expires_at).where(
                    lease.c.name == SCHEDULER_LEASE, lease.c.expires_at > datetime.now(UTC)
                )
            ).first()
    finally:
        db.dispose()
    if held is not None:
        raise BackupError(
            f"Warta seems to be running on this database (the scheduler lease is held by "
            f"{held.holder} until {held.expires_at:%H:%M:%S} UTC); stop it, then restore"
        )


def _save_previous(settings: Settings) -> Path:
    """Save the database about to be replaced (its media stay in the folder, never removed)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    saved = settings.data_dir / f"before-restore-{stamp}.tar.gz"
    try:
        backup(settings, saved, include_media=False)
    except BackupError as problem:
        raise BackupError(
            f"could not save the database that would be replaced ({problem}); move it aside "
            "yourself and restore into an empty database"
        ) from None
    return saved


def _place_media(
    staged: Path, media_dir: Path, members: dict[str, dict[str, Any]]
) -> tuple[int, int]:
    """Move the unpacked media files into the media folder; a file already there with the
    same content is left as it is."""
    written = kept = 0
    touched: set[Path] = set()
    for relative, path in _media_files(staged):
        target = media_dir / relative
        if target.is_file() and _sha256_of(target) == members[MEDIA_PREFIX + relative]["sha256"]:
            kept += 1
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(path, target)
            except OSError:
                shutil.copyfile(path, target)  # the media folder is on another file system
        except OSError as problem:
            raise BackupError(f"cannot write {target}: {_os_reason(problem)}") from None
        touched.add(target.parent)
        written += 1
    for folder in touched:
        _fsync_folder(folder)
    return written, kept


def _restore_sqlite(url: str, snapshot: Path) -> None:
    target_path = _sqlite_path(url)
    target_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        source = sqlite3.connect(str(snapshot))
        try:
            target = sqlite3.connect(str(target_path), timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
            try:
                # The backup API replaces the whole target in one transaction, through SQLite's
                # own locking and journal (a WAL target stays consistent).
                source.backup(target)
            finally:
                target.close()
        finally:
            source.close()
    except sqlite3.Error as problem:
        raise BackupError(f"cannot restore into {target_path}: {problem}") from None


def _restore_postgres(url: str, dump: Path, dumped_schema: str, stage: Path) -> None:
    """Load the dump into the configured schema (it may have another name than the dumped one)
    in one transaction: the old objects are dropped in it too, so a failure changes nothing."""
    db = Database(url)
    try:
        with _database_errors(url, "read"), db.engine.connect() as connection:
            schema = _postgres_schema(connection)
            exists = connection.execute(
                text("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = :name"),
                {"name": schema},
            ).first()
            prologue = (
                _drop_statements(connection, schema)
                if exists
                else [f"CREATE SCHEMA {_quote_identifier(schema)};"]
            )
    finally:
        db.dispose()
    for name in (schema, dumped_schema):
        if any(character in name for character in "'\\"):
            raise BackupError(f"the schema name {name!r} has a ' or \\ in it; rename the schema")
    plain = stage / "dump.sql"
    _run_pg(
        url,
        "pg_restore",
        [
            "--no-owner",
            "--no-privileges",
            "--no-comments",
            "--no-tablespaces",
            "--no-security-labels",
            f"--file={plain}",
            str(dump),
        ],
        connects=False,
    )
    script = stage / "restore.sql"
    with plain.open("rb") as lines, script.open("wb") as out:
        out.write(("\n".join(prologue) + "\n").encode())
        out.writelines(_into_schema(lines, dumped_schema, schema))
    plain.unlink()
    _run_pg(
        url,
        "psql",
        [
            "--no-psqlrc",
            "--quiet",
            "--set=ON_ERROR_STOP=1",
            "--single-transaction",
            f"--file={script}",
        ],
        connects=True,
    )


def _drop_statements(connection: Connection, schema: str) -> list[str]:
    """SQL dropping every table, view, sequence, type and function in ``schema``."""
    found = connection.execute(
        text(
            "SELECT c.relname, c.relkind FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
            "ORDER BY c.relkind, c.relname"
        ),
        {"schema": schema},
    ).all()
    types = connection.execute(
        text(
            "SELECT t.typname, t.typtype FROM pg_catalog.pg_type t "
            "JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace "
            "WHERE n.nspname = :schema AND t.typtype IN ('e', 'd') "
            "ORDER BY t.typname"
        ),
        {"schema": schema},
    ).all()
    words = {
        "r": "TABLE",
        "p": "TABLE",
        "f": "FOREIGN TABLE",
        "v": "VIEW",
        "m": "MATERIALIZED VIEW",
        "S": "SEQUENCE",
        "e": "TYPE",
        "d": "DOMAIN",
    }
    # Functions (a trigger's, migration 0014) too, except those an extension owns.
    functions = connection.execute(
        text(
            "SELECT p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid) "
            "FROM pg_catalog.pg_proc p "
            "JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = :schema AND p.prokind = 'f' AND NOT EXISTS ("
            "SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_proc'::regclass "
            "AND d.objid = p.oid AND d.deptype = 'e') ORDER BY p.proname"
        ),
        {"schema": schema},
    ).all()
    prefix = _quote_identifier(schema)
    return [
        *(
            f"DROP {words[kind]} IF EXISTS {prefix}.{_quote_identifier(name)} CASCADE;"
            for name, kind in [*found, *types]
        ),
        *(
            f"DROP FUNCTION IF EXISTS {prefix}.{_quote_identifier(name)}({arguments}) CASCADE;"
            for name, arguments in functions
        ),
    ]


def _into_schema(lines: Iterable[bytes], dumped: str, target: str) -> Iterator[bytes]:
    """pg_restore's SQL with every ``dumped.`` qualifier made ``"target".``; COPY data rows
    pass untouched, and the dump's own CREATE SCHEMA is left out (the prologue makes it)."""
    names = (re.escape(dumped.encode()), re.escape(_quote_identifier(dumped).encode()))
    pattern = re.compile(rb'(?<![\w$"])(?:' + b"|".join(names) + rb")\.")
    replacement = _quote_identifier(target).encode() + b"."
    in_copy = False
    for line in lines:
        if in_copy:
            in_copy = line.rstrip(b"\r\n") != b"\\."
            yield line
            continue
        if line.startswith(b"CREATE SCHEMA "):
            continue
        line = pattern.sub(lambda _match: replacement, line)
        in_copy = line.startswith(b"COPY ") and line.rstrip().endswith(b"FROM stdin;")
        yield line


# -- PostgreSQL tools ------------------------------------------------------------------------


def pg_invocation(url: str) -> tuple[str, dict[str, str]]:
    """The libpq connection string for the PostgreSQL tools (without the password) and the
    environment to add (the password, as PGPASSWORD, so it is never on a command line)."""
    parsed = normalise_url(url)
    query = {key: value for key, value in parsed.query.items() if key != "options"}
    conninfo = URL.create(
        "postgresql",
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=query,
    ).render_as_string(hide_password=False)
    extra = {"PGPASSWORD": parsed.password} if parsed.password else {}
    return conninfo, extra


def _run_pg(url: str, tool: str, arguments: list[str], *, connects: bool) -> str:
    """Run one of PostgreSQL's tools and return what it printed; a failure is a BackupError
    with the tool's own first error line (any password scrubbed out)."""
    program = shutil.which(tool)
    if program is None:
        raise BackupError(
            f"{tool} was not found; install the PostgreSQL client tools of the server's major "
            "version (Debian: apt install postgresql-client)"
        )
    conninfo, extra = pg_invocation(url)
    command = [program, *arguments]
    if connects:
        command += ["--no-password", f"--dbname={conninfo}"]
    environment = {**os.environ, **extra}
    environment.setdefault("PGCONNECT_TIMEOUT", "10")
    log.debug("running %s", " ".join([tool, *arguments]))
    finished = subprocess.run(
        command,
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if finished.returncode != 0:
        lines = [line.strip() for line in finished.stderr.splitlines() if line.strip()]
        first = next((line for line in lines if "error" in line.lower()), None)
        reason = first or (lines[0] if lines else f"exit status {finished.returncode}")
        raise BackupError(f"{tool} failed: {_scrub(reason, url)}")
    return finished.stdout


def _postgres_schema(connection: Connection) -> str:
    """The schema Warta's tables live in: the first existing one on the search_path, or, when
    none exists yet, the first one named there (a restore creates it)."""
    current = connection.execute(text("SELECT current_schema()")).scalar()
    if current is not None:
        return str(current)
    search_path = str(connection.execute(text("SHOW search_path")).scalar() or "")
    for entry in search_path.split(","):
        name = entry.strip()
        if name.startswith('"') and name.endswith('"'):
            name = name[1:-1].replace('""', '"')
        if name and name != "$user":
            return name
    raise BackupError("the database URL names no schema to restore into (search_path is empty)")


# -- small helpers ---------------------------------------------------------------------------


def warta_version() -> str:
    try:
        return importlib.metadata.version("warta")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _is_sqlite(url: str) -> bool:
    return normalise_url(url).get_backend_name() == "sqlite"


def _sqlite_path(url: str) -> Path:
    database = normalise_url(url).database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _describe(url: str) -> str:
    """The database, named without its password."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite file {parsed.database}"
    return f"PostgreSQL {parsed.render_as_string(hide_password=True)}"


def _kind_name(kind: object) -> str:
    return {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(str(kind), str(kind))


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _scrub(message: str, url: str) -> str:
    password = normalise_url(url).password
    if password:
        message = message.replace(str(password), "***")
    return message


def _os_reason(problem: BaseException) -> str:
    reason = getattr(problem, "strerror", None) or str(problem) or type(problem).__name__
    return str(reason).splitlines()[0]


@contextmanager
def _database_errors(url: str, doing: str) -> Iterator[None]:
    """Turn a driver error into one line naming the database (never its password)."""
    try:
        yield
    except SQLAlchemyError as problem:
        original = getattr(problem, "orig", None) or problem
        reason = str(original).strip().splitlines()[0] if str(original).strip() else "error"
        raise BackupError(
            f"cannot {doing} the database ({_describe(url)}): {_scrub(reason, url)}"
        ) from None


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_folder(folder: Path) -> None:
    """Make a rename or a new file in ``folder`` survive a power cut."""
    with suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
