"""The ``warta`` command: check a config, migrate the database, run the demo, refresh the docs."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings
from storage.db import Database, normalise_url


def _config_path(given: str | None) -> Path:
    return Path(given or os.environ.get("WARTA_CONFIG") or "config.yaml")


def _load(given: str | None) -> Settings:
    return load_settings(_config_path(given))


def describe_database(url: str) -> str:
    """The database, named without its password."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite file {parsed.database}"
    return f"PostgreSQL {parsed.render_as_string(hide_password=True)}"


def cmd_check(args: argparse.Namespace) -> int:
    settings = _load(args.config)
    if args.live:
        return _check_live(settings)
    print(f"{_config_path(args.config)}: OK")
    print(f"  time zone   {settings.timezone}, messages in '{settings.locale}'")
    print(f"  database    {describe_database(settings.database_url.get_secret_value())}")
    print(f"  data folder {settings.data_dir}")
    windows = ", ".join(
        f"{step} {int(window.total_seconds() // 60)} min"
        if window.total_seconds() >= 60
        else f"{step} {int(window.total_seconds())} s"
        for step, window in settings.sla.windows().items()
    )
    print(f"  SLA         {windows}")
    sla = settings.sla
    reminders = ", ".join(point.key for point in sla.reminders) or "none"
    paused = ", ".join(step.value for step in sla.working_hours_only) or "none"
    print(f"  reminders   at {reminders}, to the {' and '.join(sla.notify)}; missed: {sla.missed}")
    print(f"  office time {settings.calendar.working_hours} (clock paused for: {paused})")
    digest_at = sla.digest_at.strftime("%H.%M") if sla.digest_at else "off"
    print(f"  digest      {digest_at}; holidays: {settings.calendar.holidays}")
    items = ", ".join(
        item.key + ("" if item.required else " (optional)")
        for item in settings.verification.checklist
    )
    print(f"  checklist   {items or '(none: /verify passes at once)'}")
    running = [channel.kind for channel in settings.active_channels]
    print(
        f"  channels    {', '.join(running) or 'none configured: warta run serves the playground'}"
    )
    print(f"  people      {len(settings.people)}")
    for person in settings.people:
        reach = [
            channel
            for channel, value in (
                ("telegram", person.telegram),
                ("whatsapp", person.whatsapp),
                ("email", person.email),
            )
            if value
        ]
        roles = ", ".join(role.value for role in person.roles)
        reached = [channel for channel in reach if channel in running]
        note = "" if reached or not running else " — not reachable privately on a running channel"
        print(f"    {person.name} ({roles}): {', '.join(reach) or 'no address yet'}{note}")
    print(f"  targets     {', '.join(f'{t.name} ({t.kind})' for t in settings.publish.targets)}")
    if not settings.publish.targets:
        print("  warning: no publish targets; /publish will have nowhere to publish")
    for notice in settings.notices:
        print(f"  note: {notice}")
    return 0


def _check_live(settings: Settings) -> int:
    """Ask every channel and publish target whether it would work; publish and send nothing."""
    import asyncio

    from bot.app import build
    from bot.live import LiveResult, check_targets, format_results

    async def everything() -> list[LiveResult]:
        warta = build(settings)
        try:
            channels = [
                LiveResult(name, *await channel.live_check())
                for name, channel in warta.channels.items()
            ]
        finally:
            warta.close()
        return channels + await check_targets(settings)

    results = asyncio.run(everything())
    print(format_results(results) or "nothing configured to check")
    return 0 if all(result.ok for result in results) else 1


def _size(n: int) -> str:
    return f"{n / 1024**2:.1f} MB" if n >= 1024**2 else f"{n / 1024:.0f} kB"


def cmd_backup(args: argparse.Namespace) -> int:
    from bot.backup import BackupError, backup

    settings = _load(args.config)
    try:
        made = backup(settings, Path(args.file))
    except BackupError as problem:
        print(f"warta: backup failed: {problem}", file=sys.stderr)
        return 1
    print(
        f"{made.path}: {_size(made.size)}, {made.database} schema {made.schema_revision}, "
        f"Warta {made.warta_version}"
    )
    print(f"  {made.counts.describe()}")
    print(f"  {made.media_files} media files ({_size(made.media_bytes)})")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from bot.backup import BackupError, restore

    settings = _load(args.config)
    try:
        done = restore(settings, Path(args.file), force=args.force)
    except BackupError as problem:
        print(f"warta: restore failed: {problem}", file=sys.stderr)
        return 1
    target = describe_database(settings.database_url.get_secret_value())
    made = f"{done.backup_created_at:%Y-%m-%d %H:%M} UTC"
    print(f"{done.source} (made {made}) restored into {target}")
    if done.previous_saved_to is not None:
        print(f"  the database it replaced is saved in {done.previous_saved_to}")
    print(f"  media: {done.media_written} files written, {done.media_already_there} already there")
    for check in done.checks:
        print(f"  ok: {check}")
    return 0


def _operator_db(args: argparse.Namespace) -> tuple[Settings, Database]:
    from storage.migrate import ensure_schema

    settings = _load(args.config)
    db = Database(settings.database_url.get_secret_value())
    ensure_schema(db, auto_upgrade=settings.database.auto_upgrade)
    return settings, db


def cmd_status(args: argparse.Namespace) -> int:
    """The desk's health from the database, as /health reports it (Warta may be stopped)."""
    from datetime import UTC, datetime

    from bot.operate import health

    settings, db = _operator_db(args)
    try:
        now = datetime.now(UTC)
        local = now.astimezone(settings.zone)
        midnight = datetime.combine(local.date(), datetime.min.time(), settings.zone)
        report = health(db, now=now, since=midnight)
    finally:
        db.dispose()
    print(f"status      {report.status}")
    for reason in report.reasons:
        print(f"  - {reason}")
    figures = report.figures
    print(f"leader      {figures['leader'] or 'none'}")
    print(f"outbox      {figures['outbox_pending']} waiting, {figures['outbox_failed']} failed")
    print(f"inbox       {figures['inbox_set_aside']} set aside, {figures['inbox_stuck']} stuck")
    sent = ", ".join(f"{channel} {count}" for channel, count in figures["sent_today"].items())
    print(f"sent today  {sent or 'nothing yet'}")
    return 0 if report.status == "ok" else 1


def cmd_inbox(args: argparse.Namespace) -> int:
    """List the messages set aside after failing, or handle them again."""
    from bot.operate import set_aside_messages

    settings, db = _operator_db(args)
    try:
        if args.action == "list":
            rows = set_aside_messages(db)
            for row in rows:
                text = " ".join((row.text or "").split())[:60]
                print(
                    f"#{row.id}  {row.received_at:%Y-%m-%d %H:%M}  {row.channel}:{row.sender}  "
                    f"tried {row.attempts}×  {row.last_error}\n      {text}"
                )
            print(f"{len(rows)} message(s) set aside" if rows else "no message is set aside")
            return 0
    finally:
        db.dispose()
    from bot.app import build

    warta = build(settings)
    try:
        wanted = None if args.ids in ([], ["all"]) else [int(i) for i in args.ids]
        receipts = warta.intake.retry_set_aside(wanted)
        import asyncio

        asyncio.run(warta.dispatcher.drain())
    finally:
        warta.close()
    for receipt in receipts:
        print(f"#{receipt.inbox_id}: {receipt.outcome}")
    print(f"{len(receipts)} message(s) handled again")
    return 0 if all(r.outcome != "set_aside" for r in receipts) else 1


def cmd_outbox(args: argparse.Namespace) -> int:
    """List what could not be delivered, or send dead chat messages again."""
    from datetime import UTC, datetime

    from bot.operate import resend, undelivered

    _settings, db = _operator_db(args)
    try:
        if args.action == "list":
            items = undelivered(db)
            for item in items:
                where = (
                    item.target if item.kind == "publish" else f"{item.channel}:{item.recipient}"
                )
                print(f"#{item.id}  {item.kind:<8} {where}  {item.status}  {item.last_error}")
            print(f"{len(items)} item(s) undelivered" if items else "everything was delivered")
            return 0
        wanted = None if args.ids in ([], ["all"]) else [int(i) for i in args.ids]
        queued = resend(db, wanted, now=datetime.now(UTC))
    finally:
        db.dispose()
    print(f"{len(queued)} message(s) queued again: {', '.join(map(str, queued)) or '-'}")
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from storage.db import Database
    from storage.migrate import current_revision, head_revision, upgrade

    settings = _load(args.config)
    db = Database(settings.database_url.get_secret_value())
    try:
        if args.action == "upgrade":
            before = current_revision(db)
            upgrade(db)
            print(f"database schema: {before or 'empty'} -> {current_revision(db)}")
        else:
            current = current_revision(db) or "empty"
            print(f"database schema: {current} (this Warta: {head_revision()})")
    finally:
        db.dispose()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    run_demo(locale=args.locale, keep=Path(args.keep) if args.keep else None, live=not args.quick)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    import logging

    from bot import logs
    from bot.app import build
    from bot.config import fast
    from bot.run import StartupError, bind, run_forever

    # No chat platform configured: the browser playground is the desk (a fresh machine).
    settings = _load(args.config).with_default_channel()
    if args.fast:
        settings = fast(settings, args.fast)
    logs.configure(getattr(logging, args.log_level))
    for notice in settings.notices:
        print(f"warta: note: {notice}", file=sys.stderr)
    warta = build(settings)
    try:
        http = settings.http
        sock = bind(http.host, http.port)
        listening = "; ".join(channel.describe() for channel in warta.channels.values())
        print(f"Warta is running: {listening}.", flush=True)
        if warta.web is not None:
            print(f"  Open {http.url}/ in a browser", flush=True)
            if settings.web.board:
                print(f"  Desk board: {http.url}/board", flush=True)
        if settings.training > 1:
            print(f"  Training clock: deadlines {settings.training}× faster", flush=True)
        print(f"  Health: {http.url}/health · stop with Ctrl-C", flush=True)
        run_forever(warta, sock=sock)
    except StartupError as problem:
        print(f"warta: {problem}", file=sys.stderr)
        return 2
    finally:
        warta.close()
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    from datetime import date, datetime, timedelta

    from bot.app import build
    from bot.channels.markup import plain
    from handlers.oversight import digest_text

    settings = _load(args.config)
    if args.date:
        try:
            day = date.fromisoformat(args.date)
        except ValueError:
            print(f"warta: '{args.date}' is not a date like 2026-12-02", file=sys.stderr)
            return 2
    else:
        day = datetime.now(settings.zone).date() - timedelta(days=1)
    warta = build(settings)
    try:
        print(plain(digest_text(warta.desk, day, locale=args.locale)))
    finally:
        warta.close()
    return 0


def _month(text: str) -> tuple[int, int]:
    year, _, month = text.partition("-")
    if not (year.isdigit() and month.isdigit() and 1 <= int(month) <= 12):
        raise ValueError(f"'{text}' is not a month like 2026-12")
    return int(year), int(month)


def _write(text: str, out: str | None, *, encoding: str = "utf-8") -> None:
    if out:
        Path(out).write_text(text, encoding=encoding, newline="")
        print(f"written to {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def cmd_search(args: argparse.Namespace) -> int:
    """Find stories as /cari does (same words and filters), or rebuild the search index."""
    from storage import repo
    from storage.search import parse_query, rebuild, search

    settings, db = _operator_db(args)
    try:
        with db.transaction() as session:
            if args.rebuild:
                print(f"search index rebuilt: {rebuild(session)} stories")
                return 0
            request = parse_query(" ".join(args.words))
            problems = [f"{p.written}: {p.kind.replace('_', ' ')}" for p in request.problems]
            reporter_id = None
            if request.reporter_key:
                people = repo.load_people(session)
                found = [p for p in people.by_id.values() if p.key == request.reporter_key]
                if not found:
                    problems.append(f"by:{request.reporter_key}: nobody has this key")
                reporter_id = found[0].id if found else None
            if problems or not request.words.strip():
                for problem in problems or ["write the words to look for"]:
                    print(f"warta: {problem}", file=sys.stderr)
                return 2
            hits = search(
                session,
                request.words,
                since=request.since,
                until=request.until,
                reporter_id=reporter_id,
                states=request.states,
                limit=args.limit,
                tz=settings.zone,
            )
            people = repo.load_people(session)
            for hit in hits:
                reporter = people.get(hit.reporter_id)
                day = hit.created_at.astimezone(settings.zone).date().isoformat()
                print(
                    f"#{hit.number}\t{day}\t{reporter.name if reporter else '-'}\t"
                    f"{hit.state}\t{hit.title}"
                )
                if hit.snippet:
                    print(f"\t{hit.snippet}")
                for item in repo.latest_publications(session, hit.story_id):
                    if item.result.get("permalink"):
                        print(f"\t{item.target}: {item.result['permalink']}")
            if not hits:
                print("no story matches", file=sys.stderr)
                return 1
    finally:
        db.dispose()
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write the monthly report: HTML, PDF (unless --no-pdf) and CSV files."""
    from datetime import UTC, date, datetime

    from bot.report import make_report

    try:
        year, month = _month(args.month)
    except ValueError as problem:
        print(f"warta: {problem}", file=sys.stderr)
        return 2
    settings, db = _operator_db(args)
    try:
        out = Path(args.out or settings.data_dir / "laporan" / f"{year:04d}-{month:02d}")
        files = make_report(
            db,
            month=date(year, month, 1),
            out_dir=out,
            policy=settings.sla_policy(),
            now=datetime.now(UTC),
            locale=args.locale or settings.locale,
            pdf=not args.no_pdf,
        )
    finally:
        db.dispose()
    for path in (files.html, files.pdf, files.stories_csv, files.breaches_csv, files.roster_csv):
        if path is not None:
            print(path)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write the record of a story or a month as a folder (or zip) that opens offline."""
    from datetime import date

    from bot.export import ExportError, export_record

    try:
        month = date(*_month(args.month), 1) if args.month else None
    except ValueError as problem:
        print(f"warta: {problem}", file=sys.stderr)
        return 2
    settings, db = _operator_db(args)
    try:
        path = export_record(
            db,
            settings.media_dir,
            out=Path(args.out or "."),
            story_numbers=[args.story] if args.story is not None else None,
            month=month,
            tz=settings.zone,
            locale=settings.locale,
            as_zip=args.zip,
        )
    except ExportError as problem:
        print(f"warta: {problem}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    print(path)
    return 0


def cmd_agenda(args: argparse.Namespace) -> int:
    from datetime import datetime

    from bot.app import build
    from handlers.agenda_import import agenda_book, import_rows
    from handlers.agenda_items import local_day
    from workflow.agenda_files import AgendaFileError, book_csv, book_html, parse_agenda_file

    settings = _load(args.config)
    warta = build(settings)
    try:
        desk = warta.desk
        now = desk.clock()
        if args.action == "import":
            path = Path(args.file)
            try:
                rows = parse_agenda_file(
                    path.read_bytes(),
                    filename=path.name,
                    tz=settings.zone,
                    today=local_day(now, settings.zone),
                )
            except AgendaFileError as error:
                print(f"warta: {path.name} was not imported (nothing was saved):", file=sys.stderr)
                for problem in error.problems:
                    print(f"  line {problem.line}: {problem.detail}", file=sys.stderr)
                return 1
            with warta.db.transaction() as session:
                source = "ics" if rows and rows[0].source_key.startswith("ics") else "csv"
                result = import_rows(session, desk, rows, source=source, actor_id=None, now=now)
            print(
                f"{path.name}: {len(result.added)} added, {len(result.updated)} updated, "
                f"{result.unchanged} unchanged, {len(result.cancelled)} cancelled"
            )
            return 0
        if not args.month:
            print("warta: give the month, e.g. --month 2026-12", file=sys.stderr)
            return 2
        year, month = _month(args.month)
        with warta.db.transaction() as session:
            entries = agenda_book(session, desk, year, month)
        if args.format == "csv":
            _write(book_csv(entries, tz=settings.zone), args.out, encoding="utf-8-sig")
        else:
            title = f"Buku Jadwal Kegiatan Pimpinan — {datetime(year, month, 1):%m/%Y}"
            _write(book_html(entries, tz=settings.zone, title=title), args.out)
        return 0
    finally:
        warta.close()


def cmd_roster(args: argparse.Namespace) -> int:
    from bot.app import build
    from handlers.roster import export_month, generate_month, month_values

    settings = _load(args.config)
    year, month = _month(args.month)
    warta = build(settings)
    try:
        desk = warta.desk
        with warta.db.transaction() as session:
            if args.action == "generate":
                from storage.agenda import roster_of

                existing = roster_of(session, f"{year:04d}-{month:02d}")
                if (
                    existing
                    and all(row.status == "approved" for row in existing)
                    and not args.force
                ):
                    print(
                        f"warta: the roster of {year:04d}-{month:02d} is approved; use --force "
                        "to generate it again (days already past are kept)",
                        file=sys.stderr,
                    )
                    return 1
                try:
                    generate_month(session, desk, year, month, actor_id=None, now=desk.clock())
                except ValueError as problem:
                    print(f"warta: {problem}", file=sys.stderr)
                    return 1
                session.flush()
                values = month_values(session, desk, year, month)
                text = warta.renderer.render(
                    "roster_month", now=desk.clock(), generated=True, **values
                )
                from bot.channels.markup import plain

                print(plain(text))
                return 0
            try:
                exported = export_month(
                    session, desk, year, month, fmt=args.format, tz_name=settings.timezone
                )
            except LookupError as missing:
                print(f"warta: {missing}; generate it first", file=sys.stderr)
                return 1
        _write(exported, args.out)
        return 0
    finally:
        warta.close()


def cmd_telegram(args: argparse.Namespace) -> int:
    import asyncio

    from telegram.error import Conflict, InvalidToken, TelegramError

    from bot.app import build
    from bot.channels.telegram import TelegramChannel

    settings = _load(args.config)
    if not settings.telegram.enabled:
        print("warta: configure the telegram channel and its token first", file=sys.stderr)
        return 2
    warta = build(settings)
    channel = warta.channels["telegram"]
    assert isinstance(channel, TelegramChannel)

    async def whereami() -> int:
        await channel.connect()
        try:
            me = channel.bot.username
            chats = await channel.chats_seen()
        finally:
            await channel.stop()
        print(f"Bot @{me}. Chats seen in pending updates:")
        if not chats:
            print("  (none yet: send a message in the group, e.g. /siapa, then run this again)")
        for chat_id, kind, title in chats:
            print(f"  {chat_id:>16}  {kind:<11} {title}")
        print("Put the editors' group id in config.yaml as group_chat_id of the telegram channel.")
        return 0

    try:
        return asyncio.run(whereami())
    except InvalidToken:
        print("warta: Telegram did not accept the token", file=sys.stderr)
        return 2
    except Conflict:
        print(
            "warta: a webhook is set for this bot, so pending updates cannot be listed; "
            "stop Warta in webhook mode or delete the webhook first",
            file=sys.stderr,
        )
        return 2
    except TelegramError as error:
        print(f"warta: Telegram answered: {error}", file=sys.stderr)
        return 2
    finally:
        warta.close()


def cmd_docs(args: argparse.Namespace) -> int:
    from bot.docs import refresh_readme

    readme = Path(args.readme)
    text = readme.read_text(encoding="utf-8")
    fresh = refresh_readme(text)
    if args.check:
        if fresh != text:
            print(f"{readme} is stale: run 'warta docs' to refresh it", file=sys.stderr)
            return 1
        print(f"{readme} is up to date")
        return 0
    readme.write_text(fresh, encoding="utf-8")
    print(f"{readme} refreshed")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="warta", description="Warta: the media center's news desk bot."
    )
    config_help = "config file (default: $WARTA_CONFIG or ./config.yaml)"
    root.add_argument("--config", help=config_help, default=None)
    # --config is accepted after the subcommand too (warta check --config x.yaml).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help=config_help, default=argparse.SUPPRESS)
    commands = root.add_subparsers(dest="command", required=True)

    def add(name: str, help: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help, parents=[common])

    check = add("check", "validate the config file and summarise it")
    check.add_argument(
        "--live",
        action="store_true",
        help="also ask every channel and publish target whether it works (nothing is sent)",
    )
    check.set_defaults(run=cmd_check)
    status = add("status", "the desk's health: what is stuck, failing or set aside")
    status.set_defaults(run=cmd_status)
    inbox = add("inbox", "messages set aside after failing: list them, or handle them again")
    inbox.add_argument("action", choices=("list", "retry"), nargs="?", default="list")
    inbox.add_argument("ids", nargs="*", help="message numbers, or 'all' (default)")
    inbox.set_defaults(run=cmd_inbox)
    outbox = add("outbox", "what could not be delivered: list it, or send chat messages again")
    outbox.add_argument("action", choices=("list", "resend"), nargs="?", default="list")
    outbox.add_argument("ids", nargs="*", help="outbox numbers, or 'all' (default)")
    outbox.set_defaults(run=cmd_outbox)
    backup = add("backup", "write a backup of the database and media folder (Warta may run)")
    backup.add_argument("file", help="the archive to write, e.g. /var/backups/warta/2026-12-02.tgz")
    backup.set_defaults(run=cmd_backup)
    restore = add("restore", "restore a backup into the configured database (stop Warta first)")
    restore.add_argument("file", help="an archive written by 'warta backup'")
    restore.add_argument(
        "--force",
        action="store_true",
        help="replace a database that already holds stories (it is saved first)",
    )
    restore.set_defaults(run=cmd_restore)
    db = add("db", "database schema: upgrade it, or show where it is")
    db.add_argument("action", choices=("upgrade", "current"))
    db.set_defaults(run=cmd_db)
    demo = add("demo", "run a simulated working day and print the chat")
    demo.add_argument("--locale", choices=("id", "en"), default="id")
    demo.add_argument("--keep", help="keep the demo's database and files in this folder")
    demo.add_argument(
        "--quick", action="store_true", help="skip the 20 seconds of real time with live alarms"
    )
    demo.set_defaults(run=cmd_demo)
    run = add("run", "serve the desk: chat channels, outbox, reminders and the HTTP server")
    run.add_argument(
        "--fast",
        nargs="?",
        type=int,
        const=60,
        default=0,
        metavar="SPEED",
        help="training clock: every deadline SPEED times faster (default 60: an hour = a minute)",
    )
    run.add_argument(
        "--log-level",
        default="INFO",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="how much to log (secrets are never logged, at any level)",
    )
    run.set_defaults(run=cmd_run)
    digest = add("digest", "print the section head's daily digest of a day (default yesterday)")
    digest.add_argument("--date", help="the day the digest reports on, YYYY-MM-DD")
    digest.add_argument("--locale", choices=("id", "en"), default=None)
    digest.set_defaults(run=cmd_digest)
    agenda = add("agenda", "import the leaders' agenda (CSV, iCalendar) or export the agenda book")
    agenda.add_argument("action", choices=("import", "export"))
    agenda.add_argument("file", nargs="?", help="the file to import")
    agenda.add_argument("--month", help="the month to export, e.g. 2026-12")
    agenda.add_argument("--format", choices=("html", "csv"), default="html")
    agenda.add_argument("--out", help="write to this file instead of the screen")
    agenda.set_defaults(run=cmd_agenda)
    roster = add("roster", "generate or export the monthly duty roster")
    roster.add_argument("action", choices=("generate", "export"))
    roster.add_argument("--month", required=True, help="e.g. 2026-12")
    roster.add_argument("--format", choices=("csv", "ics"), default="csv")
    roster.add_argument("--out", help="write to this file instead of the screen")
    roster.add_argument("--force", action="store_true", help="regenerate an approved month")
    roster.set_defaults(run=cmd_roster)
    search = add("search", "find stories by words and filters, as /cari does")
    search.add_argument("words", nargs="*", help='words, "phrases", dari:/sampai:/oleh:/status:')
    search.add_argument("--limit", type=int, default=20)
    search.add_argument("--rebuild", action="store_true", help="rebuild the search index")
    search.set_defaults(run=cmd_search)
    report = add("report", "write the monthly report (HTML, PDF, CSV) for the section head")
    report.add_argument("--month", required=True, help="e.g. 2026-11")
    report.add_argument("--locale", choices=("id", "en"), default=None)
    report.add_argument("--out", help="the folder to write it in (default: data_dir/laporan/…)")
    report.add_argument("--no-pdf", action="store_true", help="HTML and CSV only")
    report.set_defaults(run=cmd_report)
    export = add("export", "write the record of a story or a month for hand-over (opens offline)")
    scope = export.add_mutually_exclusive_group(required=True)
    scope.add_argument("--story", type=int, help="the story's number, e.g. 12")
    scope.add_argument("--month", help="the stories received in a month, e.g. 2026-11")
    export.add_argument("--zip", action="store_true", help="one .zip file instead of a folder")
    export.add_argument("--out", help="the folder to write it in (default: here)")
    export.set_defaults(run=cmd_export)
    telegram = add("telegram", "Telegram set-up helpers")
    telegram.add_argument("action", choices=("whereami",), help="list the chats the bot can see")
    telegram.set_defaults(run=cmd_telegram)
    docs = add("docs", "refresh the generated parts of the README")
    docs.add_argument("--readme", default="README.md")
    docs.add_argument("--check", action="store_true", help="only report whether it is stale")
    docs.set_defaults(run=cmd_docs)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    # Opt in to python-telegram-bot's timedelta durations now rather than on its next major.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ConfigError as error:
        print(f"warta: configuration error in {error.source}:", file=sys.stderr)
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    except Exception as error:  # the operator gets a sentence, not a traceback
        from storage.migrate import SchemaError

        if isinstance(error, SchemaError):
            print(f"warta: {error}", file=sys.stderr)
            return 3
        raise


if __name__ == "__main__":
    sys.exit(main())
