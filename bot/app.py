"""The composition root: builds the database, desk, publishers and dispatcher from settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot import logs
from bot.channels.base import Channel, ChannelContext
from bot.channels.registry import build_channel
from bot.config import (
    EmailTarget,
    FolderTarget,
    MailboxConfig,
    ManualTarget,
    Settings,
    WebhookTarget,
    WordPressTarget,
)
from bot.linkcheck import http_link_check
from bot.outbox import OutboxDispatcher
from bot.scheduler import AlarmClock, instance_name
from bot.web.site import Web, make_web
from handlers.delivery import Delivery
from handlers.desk import Clock, Desk, utc_now
from handlers.intake import Intake
from handlers.messages import (
    AgendaOptions,
    ArchiveOptions,
    ChannelTraits,
    ChecklistSpec,
    CopyOptions,
    DeskOptions,
)
from handlers.render import Renderer
from handlers.router import COMMANDS, route
from handlers.watch import Watch
from publishers.base import Publisher, UploadMemory
from publishers.email import EmailPublisher
from publishers.folder import FolderPublisher
from publishers.manual import ManualPublisher
from publishers.webhook import WebhookPublisher
from publishers.wordpress import WordPressPublisher
from storage import repo
from storage.db import Database
from storage.media import MediaStore
from storage.migrate import ensure_schema
from storage.published_media import DatabaseUploads


@dataclass
class Warta:
    """Everything one Warta process runs, built once by :func:`build`."""

    settings: Settings
    db: Database
    media: MediaStore
    renderer: Renderer
    desk: Desk
    intake: Intake
    delivery: Delivery
    publishers: dict[str, Publisher]
    dispatcher: OutboxDispatcher
    channels: dict[str, Channel]
    watch: Watch
    alarms: AlarmClock
    web: Web | None = None
    """Warta's own pages (the playground, the board), when it serves them."""

    def recover(self) -> int:
        """Handle messages that were stored but not handled when Warta last stopped."""
        return self.intake.recover()

    def close(self) -> None:
        self.db.dispose()


def desk_options(settings: Settings, channels: tuple[ChannelTraits, ...] = ()) -> DeskOptions:
    return DeskOptions(
        tz=settings.zone,
        locale=settings.locale,
        sla=settings.sla_policy(),
        checklist=tuple(
            ChecklistSpec(key=item.key, labels=dict(item.label), required=item.required)
            for item in settings.verification.checklist
        ),
        targets=tuple(target.name for target in settings.publish.targets),
        max_text_chars=settings.limits.max_text_chars,
        max_title_chars=settings.limits.max_title_chars,
        max_photos=settings.limits.max_photos,
        channels=channels,
        remind_in=settings.sla.notify,
        missed=settings.sla.missed,
        late_after=settings.sla.late_after,
        digest_at=settings.sla.digest_at,
        archive=ArchiveOptions(
            auto=settings.archive.auto,
            lead=settings.archive.lead,
        ),
        copies=next(
            (
                CopyOptions(
                    within=channel.copies_within,
                    similarity=channel.copies_similarity,
                    remind_missing=channel.remind_missing_copy,
                    remind_after=settings.sla.submission,
                )
                for channel in settings.active_channels
                if isinstance(channel, MailboxConfig)
            ),
            None,
        ),
        agenda=AgendaOptions(
            announce_at=settings.agenda.announce_at,
            default_duration=settings.agenda.default_duration,
            answer_within=settings.assignments.answer_within,
            remind_before=settings.assignments.remind_before,
            roster_people=settings.roster.people,
            shifts=settings.roster.shifts,
            weekend_shifts=settings.roster.weekend_shifts,
            holiday_shifts=settings.roster.holiday_shifts,
            shift_times=settings.roster.times(),
            duty_announce_at=settings.roster.announce_at,
        ),
    )


def build_publishers(
    settings: Settings,
    *,
    uploads: UploadMemory | None = None,
    folder_urls: Mapping[str, str] | None = None,
) -> dict[str, Publisher]:
    """One publisher per target; ``folder_urls`` are where a channel serves a folder target
    that has no ``base_url`` of its own (the playground links the published copies)."""
    publishers: dict[str, Publisher] = {}
    for target in settings.publish.targets:
        match target:
            case FolderTarget():
                base_url = target.base_url or (folder_urls or {}).get(target.name)
                publishers[target.name] = FolderPublisher(target.name, target.path, base_url)
            case ManualTarget():
                publishers[target.name] = ManualPublisher(target.name)
            case WordPressTarget():
                publishers[target.name] = WordPressPublisher(
                    target.name,
                    uploads=uploads,
                    base_url=target.url,
                    user=target.user,
                    app_password=target.password.get_secret_value(),
                    status=target.status,
                    category=target.category,
                    timeout=target.timeout.total_seconds(),
                    max_photo_bytes=target.max_photo_bytes,
                )
            case EmailTarget():
                publishers[target.name] = EmailPublisher(
                    target.name,
                    host=target.host,
                    port=target.port,
                    sender=target.sender,
                    to=list(target.to),
                    username=target.username,
                    password=target.password.get_secret_value() or None,
                    starttls=target.starttls,
                    timeout=target.timeout.total_seconds(),
                )
            case WebhookTarget():
                publishers[target.name] = WebhookPublisher(
                    target.name,
                    url=target.url,
                    secret=target.secret.get_secret_value(),
                    inline_photos=target.inline_photos,
                    photo_base_url=target.photo_base_url,
                    timeout=target.timeout.total_seconds(),
                    max_photo_bytes=target.max_photo_bytes,
                )
    return publishers


def build(
    settings: Settings,
    *,
    channels: Mapping[str, Channel] | None = None,
    clock: Clock = utc_now,
) -> Warta:
    """Open the database (upgrading the schema when allowed), mirror the people, build every
    configured channel (``channels`` given here stand in for configured ones), wire the rest."""
    logs.protect(settings)  # before anything could log a secret
    db = Database(settings.database_url.get_secret_value())
    ensure_schema(db, auto_upgrade=settings.database.auto_upgrade)
    with db.transaction() as session:
        repo.sync_people(session, settings.people)
    media = MediaStore(
        settings.media_dir,
        max_bytes=settings.media.max_bytes,
        allowed_types=settings.media.allowed_types,
        max_pixels=settings.media.max_pixels,
    )
    renderer = Renderer(tz=settings.zone, default_locale=settings.locale)
    instance = instance_name()
    # The intake needs the desk, which needs the channels' traits: channels reach both later.
    inlet: list[Intake] = []
    made: list[Desk] = []
    web = make_web(settings) if settings.serves_pages else None
    folders = {
        target.name: target.path
        for target in settings.publish.targets
        if isinstance(target, FolderTarget)
    }
    context = ChannelContext(
        receive=lambda msg: inlet[0].receive(msg),
        renderer=renderer,
        commands=COMMANDS,
        locale=settings.locale,
        max_download_bytes=settings.media.max_bytes,
        extra={"web": web, "desk": lambda: made[0], "folders": folders},
    )
    running: dict[str, Channel] = dict(channels or {})
    for config in settings.active_channels:
        if config.kind not in running:
            running[config.kind] = build_channel(config, context)
    options = desk_options(settings, tuple(channel.traits() for channel in running.values()))
    desk = Desk(db=db, media=media, renderer=renderer, options=options, clock=clock)
    made.append(desk)
    intake = Intake(desk, route=route, commands=COMMANDS)
    inlet.append(intake)
    delivery = Delivery(desk)
    served = {
        name: url
        for name in folders
        for channel in running.values()
        if (url := channel.published_url(name))
    }
    publishers = build_publishers(
        settings, uploads=DatabaseUploads(db, clock=clock), folder_urls=served
    )
    if web is not None:
        db.after_outbox_commit.append(lambda: web.hub.publish("board", {"type": "changed"}))
    dispatcher = OutboxDispatcher(
        db=db,
        desk=desk,
        delivery=delivery,
        media=media,
        channels=running,
        publishers=publishers,
        clock=clock,
        instance=instance,
        max_attempts=settings.publish.max_attempts,
        lease=settings.outbox.claim_lease,
        message_retry_for=settings.outbox.message_retry_for,
        message_max_delay=settings.outbox.message_max_delay,
        documents=lambda spec: make_document(settings, db, desk, spec),
    )
    watch = Watch(desk, link_check=http_link_check(settings.archive.link_timeout.total_seconds()))
    alarms = AlarmClock(
        watch,
        instance=instance,
        db=db,
        sweep_every=settings.sla.sweep_every,
        lease_ttl=settings.sla.leader_lease,
        clock=clock,
    )
    desk.listeners.append(alarms.nudge)
    return Warta(
        settings=settings,
        db=db,
        media=media,
        renderer=renderer,
        desk=desk,
        intake=intake,
        delivery=delivery,
        publishers=publishers,
        dispatcher=dispatcher,
        channels=running,
        watch=watch,
        alarms=alarms,
        web=web,
    )


def make_document(settings: Settings, db: Database, desk: Desk, spec: dict[str, Any]) -> Path:
    """The file an outbox message carries: the monthly report's PDF (``/laporan``), written
    under ``data_dir/laporan/<month>/`` with its HTML and CSV files beside it."""
    from datetime import date

    from bot.report import make_report

    if spec.get("kind") != "report":
        raise ValueError(f"no document of kind {spec.get('kind')!r}")
    year, month = (int(part) for part in str(spec["month"]).split("-"))
    locale = str(spec.get("locale") or settings.locale)
    files = make_report(
        db,
        month=date(year, month, 1),
        out_dir=settings.data_dir / "laporan" / f"{year:04d}-{month:02d}",
        policy=desk.options.sla,
        now=desk.clock(),
        locale=locale,
    )
    return files.pdf or files.html
