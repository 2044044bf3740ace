"""The ``warta`` command: check a config, migrate the database, run the demo, refresh the docs."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings
from storage.db import normalise_url


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
    items = ", ".join(
        item.key + ("" if item.required else " (optional)")
        for item in settings.verification.checklist
    )
    print(f"  checklist   {items or '(none: /verify passes at once)'}")
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
        print(f"    {person.name} ({roles}) via {', '.join(reach) or 'the local channel only'}")
    print(f"  targets     {', '.join(f'{t.name} ({t.kind})' for t in settings.publish.targets)}")
    if not settings.publish.targets:
        print("  warning: no publish targets; /publish will have nowhere to publish")
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

    run_demo(locale=args.locale, keep=Path(args.keep) if args.keep else None)
    return 0


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
    check.set_defaults(run=cmd_check)
    db = add("db", "database schema: upgrade it, or show where it is")
    db.add_argument("action", choices=("upgrade", "current"))
    db.set_defaults(run=cmd_db)
    demo = add("demo", "run a simulated working day and print the chat")
    demo.add_argument("--locale", choices=("id", "en"), default="id")
    demo.add_argument("--keep", help="keep the demo's database and files in this folder")
    demo.set_defaults(run=cmd_demo)
    docs = add("docs", "refresh the generated parts of the README")
    docs.add_argument("--readme", default="README.md")
    docs.add_argument("--check", action="store_true", help="only report whether it is stale")
    docs.set_defaults(run=cmd_docs)
    return root


def main(argv: Sequence[str] | None = None) -> int:
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
