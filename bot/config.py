"""Configuration: config.yaml for structure, environment variables for secrets, one typed object."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from datetime import date, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from workflow.calendar import (
    BusinessCalendar,
    ClockMode,
    indonesian_holidays,
    parse_working_hours,
)
from workflow.lifecycle import PEOPLE_ROLES, Role
from workflow.sla import ReminderPoint, SlaPolicy, Step

LOCALES = ("id", "en")
Locale = Literal["id", "en"]

_DURATION = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?\s*$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` name each key and what is wrong with it."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


def parse_duration(value: Any) -> timedelta:
    """Read ``1h``, ``3h``, ``90s``, ``1h30m``, ``2d`` (or a number of seconds)."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match or not any(match.groups()):
            raise ValueError(f"'{value}' is not a duration; write it like 90s, 45m, 1h or 1h30m")
        days, hours, minutes, secs = (int(part or 0) for part in match.groups())
        seconds = days * 86400 + hours * 3600 + minutes * 60 + secs
    if seconds <= 0:
        raise ValueError("a duration must be longer than zero")
    return timedelta(seconds=seconds)


def _short(duration: timedelta) -> str:
    """``2h``, ``1h30m``, ``45m``, ``90s``: a duration the way the config writes it."""
    minutes, seconds = divmod(int(duration.total_seconds()), 60)
    hours, minutes = divmod(minutes, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    return text + (f"{seconds}s" if seconds or not text else "")


def parse_size(value: Any) -> int:
    """Read ``20MB``, ``512kb`` or a number of bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    else:
        match = _SIZE.match(str(value))
        if not match:
            raise ValueError(f"'{value}' is not a size; write it like 20MB or 512KB")
        size = int(float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()])
    if size <= 0:
        raise ValueError("a size must be larger than zero")
    return size


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
ByteSize = Annotated[int, BeforeValidator(parse_size)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(_Strict):
    url: str | None = None
    url_env: str = "WARTA_DATABASE_URL"
    auto_upgrade: bool = True


class MediaConfig(_Strict):
    max_bytes: ByteSize = 20 * 1024**2
    max_pixels: int = Field(default=40_000_000, ge=1_000_000, le=200_000_000)
    """The most pixels an image may have (a 40-megapixel camera photo; a decompression bomb
    of 30000×30000 is refused before it is decoded)."""
    allowed_types: tuple[str, ...] = (
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/heic",
        "video/mp4",
        "video/quicktime",
        "audio/ogg",
        "audio/mpeg",
        "audio/mp4",
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )


class LimitsConfig(_Strict):
    """What one story may hold; the title's limit is the database column's at most."""

    max_text_chars: int = Field(default=20_000, gt=100, le=1_000_000)
    max_title_chars: int = Field(default=200, gt=10, le=500)
    max_photos: int = Field(default=20, gt=0, le=200)


def is_loopback(host: str) -> bool:
    """127.0.0.1, ::1 and localhost: only people on this machine reach the server."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_clock_time(value: Any) -> time:
    """Read ``07.00`` or ``07:00`` (also as YAML delivers them unquoted: ``7:00`` as 420
    minutes, ``07.30`` as the number 7.3); a bare hour such as ``7`` is refused as unclear."""
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 60 <= value < 24 * 60:
        return time(value // 60, value % 60)  # YAML's sexagesimal 7:00 → 420
    if isinstance(value, float):
        value = f"{value:05.2f}"  # an unquoted 07.30 reaches us as 7.3
    match = re.fullmatch(r"\s*(\d{1,2})[.:](\d{2})\s*", str(value))
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(f"'{value}' is not a time of day; write it like 07.00")
    return time(int(match.group(1)), int(match.group(2)))


def parse_reminder_point(value: Any) -> ReminderPoint:
    """Read ``50%`` (a share of the window) or ``30m before`` / ``30m sebelum``."""
    if isinstance(value, ReminderPoint):
        return value
    text = str(value).strip().lower()
    if text.endswith("%"):
        try:
            return ReminderPoint(fraction=float(text[:-1].strip()) / 100)
        except ValueError as problem:
            raise ValueError(f"'{value}': {problem}") from None
    for word in (" before", " sebelum"):
        if text.endswith(word):
            return ReminderPoint(before=parse_duration(text.removesuffix(word)))
    raise ValueError(f"'{value}' is not a reminder point; write it like 50% or '30m before'")


def parse_optional_clock_time(value: Any) -> time | None:
    """A time of day, or ``off`` (YAML may hand it over as false) for "never"."""
    if value is None or value is False or str(value).strip().lower() in ("off", "none"):
        return None
    return parse_clock_time(value)


OptionalClockTime = Annotated[time | None, BeforeValidator(parse_optional_clock_time)]
Point = Annotated[ReminderPoint, BeforeValidator(parse_reminder_point)]


class CalendarConfig(_Strict):
    """Working hours and days off, for steps whose clock runs only in working hours and for
    the end of the next working day (H+1)."""

    working_hours: dict[str, str | bool | None] = {
        "mon-thu": "07.30-16.00",
        "fri": "07.30-16.30",
    }
    holidays: Literal["indonesia", "none"] = "indonesia"
    holiday_categories: tuple[Literal["public", "government"], ...] = ("public", "government")
    extra_days_off: dict[date, str] = {}
    extra_working_days: tuple[date, ...] = ()

    @field_validator("working_hours")
    @classmethod
    def _readable_hours(cls, spec: dict[str, str | bool | None]) -> dict[str, str | None]:
        # YAML reads an unquoted "off" as false.
        readable = {days: None if value is False else value for days, value in spec.items()}
        if any(value is True for value in readable.values()):
            raise ValueError("working hours are written like 07.30-16.00, or off")
        checked = {
            days: str(value) if value is not None else None for days, value in readable.items()
        }
        BusinessCalendar(tz=ZoneInfo("UTC"), hours=parse_working_hours(checked))
        return checked

    def build(self, tz: ZoneInfo) -> BusinessCalendar:
        days_off = (
            indonesian_holidays(categories=self.holiday_categories)
            if self.holidays == "indonesia"
            else frozenset()
        )
        return BusinessCalendar(
            tz=tz,
            hours=parse_working_hours(
                {k: v if isinstance(v, str) else None for k, v in self.working_hours.items()}
            ),
            days_off=days_off,
            extra_days_off=dict(self.extra_days_off),
            extra_working_days=frozenset(self.extra_working_days),
        )


class SlaConfig(_Strict):
    submission: Duration = timedelta(hours=1)
    editing: Duration = timedelta(hours=3)
    publishing: Duration = timedelta(hours=2)
    working_hours_only: tuple[Step, ...] = (Step.DOCUMENTATION,)
    reminders: tuple[Point, ...] = (ReminderPoint(fraction=0.5), ReminderPoint(fraction=0.8))
    reminders_per_step: dict[Step, tuple[Point, ...]] = {}
    notify: tuple[Literal["group", "private"], ...] = ("group", "private")
    missed: Literal["late", "fold"] = "late"
    late_after: Duration = timedelta(minutes=5)
    sweep_every: Duration = timedelta(seconds=20)
    leader_lease: Duration = timedelta(seconds=60)
    digest_at: OptionalClockTime = time(7, 0)

    @field_validator("notify")
    @classmethod
    def _somewhere(cls, where: tuple[str, ...]) -> tuple[str, ...]:
        if not where:
            raise ValueError("say where reminders go: group, private or both")
        return where

    @model_validator(mode="after")
    def _points_inside_their_windows(self) -> SlaConfig:
        for step, window in self.windows().items():
            for point in self.reminders_per_step.get(step, self.reminders):
                if point.before is not None and point.before >= window:
                    raise ValueError(
                        f"the reminder '{_short(point.before)} before' does not fit in the "
                        f"{step.value} window of {_short(window)}; make it shorter or use a "
                        "share such as 50%"
                    )
        return self

    @model_validator(mode="after")
    def _lease_outlives_a_sweep(self) -> SlaConfig:
        if self.late_after <= self.sweep_every:
            raise ValueError(
                "sla.late_after must be longer than sla.sweep_every, or reminders sent on time "
                "would be marked late"
            )
        if self.sweep_every >= self.leader_lease:
            raise ValueError(
                "sla.sweep_every must be shorter than sla.leader_lease (the leader renews its "
                "lease on every sweep)"
            )
        return self

    def windows(self) -> dict[Step, timedelta]:
        return {
            Step.SUBMISSION: self.submission,
            Step.EDITING: self.editing,
            Step.PUBLISHING: self.publishing,
        }

    def policy(self, calendar: BusinessCalendar) -> SlaPolicy:
        return SlaPolicy(
            calendar=calendar,
            windows=self.windows(),
            clocks={
                step: ClockMode.WORKING_HOURS
                if step in self.working_hours_only
                else ClockMode.ALWAYS
                for step in Step
            },
            reminders={step: self.reminders_per_step.get(step, self.reminders) for step in Step},
        )


class ArchiveConfig(_Strict):
    """H+1 documentation (SOP step 7): how a published story is archived with its record."""

    auto: bool = False
    """Warta archives a published story itself shortly before its H+1 deadline, when every
    permalink answers and every photo is there (else the editors are told)."""
    lead: Duration = timedelta(hours=1)
    """How long before the H+1 deadline the automatic archive is tried (time to fix a problem)."""
    link_timeout: Duration = timedelta(seconds=10)


class AgendaConfig(_Strict):
    """The leaders' agenda: the H-1 announcement and how long an event without an end lasts."""

    announce_at: OptionalClockTime = time(15, 0)
    default_duration: Duration = timedelta(hours=2)


class AssignmentConfig(_Strict):
    """Coverage assignments: how long a reporter has to answer, and the reminder before."""

    answer_within: Duration = timedelta(hours=2)
    remind_before: Duration = timedelta(hours=1)


class RosterConfig(_Strict):
    """The monthly duty roster of the media-center post ("jadwal piket")."""

    people: tuple[str, ...] = ()
    shifts: tuple[str, ...] = ("piket",)
    weekend_shifts: tuple[str, ...] = ()
    holiday_shifts: tuple[str, ...] = ()
    shift_times: dict[str, str] = {"piket": "07.30-16.00"}
    announce_at: OptionalClockTime = time(7, 0)

    @model_validator(mode="after")
    def _times_for_every_shift(self) -> RosterConfig:
        shifts = {*self.shifts, *self.weekend_shifts, *self.holiday_shifts}
        missing = sorted(shift for shift in shifts if shift not in self.shift_times)
        if missing:
            raise ValueError(f"roster.shift_times has no hours for {', '.join(missing)}")
        for shift, hours in self.shift_times.items():
            begin, dash, end = hours.partition("-")
            if not dash:
                raise ValueError(f"roster.shift_times.{shift}: write the hours like 07.30-16.00")
            parse_clock_time(begin)
            parse_clock_time(end)
        return self

    def times(self) -> dict[str, tuple[time, time]]:
        out = {}
        for shift, hours in self.shift_times.items():
            begin, _dash, end = hours.partition("-")
            out[shift] = (parse_clock_time(begin), parse_clock_time(end))
        return out


class ChecklistItem(_Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    label: dict[str, str]
    required: bool = True

    @field_validator("label", mode="before")
    @classmethod
    def _label_per_locale(cls, value: Any) -> Any:
        return {locale: value for locale in LOCALES} if isinstance(value, str) else value

    def label_in(self, locale: str) -> str:
        return self.label.get(locale) or next(iter(self.label.values()))


class VerificationConfig(_Strict):
    checklist: tuple[ChecklistItem, ...] = ()

    @field_validator("checklist")
    @classmethod
    def _unique_keys(cls, items: tuple[ChecklistItem, ...]) -> tuple[ChecklistItem, ...]:
        keys = [item.key for item in items]
        doubled = sorted({key for key in keys if keys.count(key) > 1})
        if doubled:
            raise ValueError(f"checklist keys must be unique; repeated: {', '.join(doubled)}")
        return items


class PersonConfig(_Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")
    name: str = Field(min_length=1, max_length=200)
    roles: tuple[Role, ...] = Field(min_length=1)
    telegram: int | None = None
    whatsapp: str | None = Field(default=None, pattern=r"^\+[1-9]\d{6,14}$")
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    locale: Locale | None = None
    prefer: Literal["telegram", "whatsapp", "email", "playground"] | None = None
    """The channel to reach this person privately on, when they have several."""

    @field_validator("roles")
    @classmethod
    def _people_roles(cls, roles: tuple[Role, ...]) -> tuple[Role, ...]:
        if Role.SYSTEM in roles:
            allowed = ", ".join(PEOPLE_ROLES)
            raise ValueError(f"'system' is Warta's own role; a person may have: {allowed}")
        return roles

    @field_validator("email")
    @classmethod
    def _lower_email(cls, email: str | None) -> str | None:
        return email.lower() if email else email


class FolderTarget(_Strict):
    """A local folder that receives the rendered article and its photos (a static archive)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    kind: Literal["folder"]
    label: str | None = None
    path: Path
    base_url: str | None = None


class ManualTarget(_Strict):
    """A site with no API (Info Publik's contributor form, say): operators paste the package
    Warta sends them and report the live URL with /terbit."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    kind: Literal["manual"]
    label: str | None = None


class WordPressTarget(_Strict):
    """A WordPress site, through its REST API with an Application Password."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    kind: Literal["wordpress"]
    label: str | None = None
    url: str = Field(pattern=r"^https?://")
    user: str = Field(min_length=1)
    password_env: str
    status: Literal["publish", "draft"] = "publish"
    category: str | None = None
    max_photo_bytes: ByteSize = 10 * 1024**2
    timeout: Duration = timedelta(seconds=20)
    password: SecretStr = SecretStr("")


class WebhookTarget(_Strict):
    """Any CMS with a receiving endpoint: a JSON POST signed with HMAC-SHA256."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    kind: Literal["webhook"]
    label: str | None = None
    url: str = Field(pattern=r"^https?://")
    secret_env: str
    inline_photos: bool = False
    photo_base_url: str | None = None
    max_photo_bytes: ByteSize = 4_000_000
    timeout: Duration = timedelta(seconds=20)
    secret: SecretStr = SecretStr("")


class EmailTarget(_Strict):
    """An editor desk that takes submissions by e-mail: the article with photos attached."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    kind: Literal["email"]
    label: str | None = None
    host: str
    port: int = Field(default=587, gt=0, lt=65536)
    sender: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    to: tuple[str, ...] = Field(min_length=1)
    username: str | None = None
    password_env: str | None = None
    starttls: bool = True
    timeout: Duration = timedelta(seconds=20)
    password: SecretStr = SecretStr("")


PublishTarget = Annotated[
    FolderTarget | ManualTarget | WordPressTarget | WebhookTarget | EmailTarget,
    Field(discriminator="kind"),
]
_SECRET_OF_KIND = {
    "wordpress": ("password_env", "password"),
    "webhook": ("secret_env", "secret"),
    "email": ("password_env", "password"),
}


class OutboxConfig(_Strict):
    """How Warta keeps trying to deliver chat messages, and how long a worker's claim lasts."""

    message_retry_for: Duration = timedelta(days=2)
    """A chat message is tried again for this long (a channel outage of a day loses nothing)."""
    message_max_delay: Duration = timedelta(minutes=5)
    """The longest wait between two tries of a chat message (it leaves soon after an outage)."""
    claim_lease: Duration = timedelta(seconds=15)
    """A worker's claim on an item, renewed while it works: if its process dies, another
    instance (or the restarted one) takes the item over within this."""

    @model_validator(mode="after")
    def _sensible(self) -> OutboxConfig:
        if self.message_retry_for < timedelta(hours=1):
            raise ValueError("message_retry_for must be at least 1h (outages last that long)")
        if not timedelta(seconds=3) <= self.claim_lease <= timedelta(minutes=10):
            raise ValueError("claim_lease must be between 3s and 10m")
        return self


class PublishConfig(_Strict):
    targets: tuple[PublishTarget, ...] = ()
    max_attempts: int = Field(default=8, gt=0)

    @field_validator("targets")
    @classmethod
    def _unique_names(cls, targets: tuple[PublishTarget, ...]) -> tuple[PublishTarget, ...]:
        names = [target.name for target in targets]
        doubled = sorted({name for name in names if names.count(name) > 1})
        if doubled:
            raise ValueError(f"target names must be unique; repeated: {', '.join(doubled)}")
        return targets


class TelegramConfig(_Strict):
    """The Telegram channel: the bot's token (from the environment) and the editors' group."""

    kind: Literal["telegram"] = "telegram"
    enabled: bool = True
    token_env: str = "WARTA_TELEGRAM_TOKEN"
    group_chat_id: int | None = None
    cards_topic_id: int | None = None
    mode: Literal["polling", "webhook"] = "polling"
    poll_timeout: int = Field(default=30, ge=0, le=50)
    base_url: str | None = None
    base_file_url: str | None = None
    webhook_url: str | None = None
    webhook_secret_env: str = "WARTA_TELEGRAM_WEBHOOK_SECRET"
    album_quiet: Duration = timedelta(seconds=3)
    token: SecretStr = SecretStr("")
    webhook_secret: SecretStr = SecretStr("")

    @model_validator(mode="after")
    def _webhook_needs_url(self) -> TelegramConfig:
        if self.enabled and self.mode == "webhook" and not self.webhook_url:
            raise ValueError("mode 'webhook' needs webhook_url (the public https address)")
        return self

    @field_validator("base_url", "base_file_url")
    @classmethod
    def _bot_api_address(cls, value: str | None, info: Any) -> str | None:
        """The Bot API client appends the token to these: they must end in /bot (file/bot)."""
        if value is None:
            return None
        value = value.rstrip("/")
        if not re.fullmatch(r"https?://\S+", value):
            raise ValueError("must be an http(s) address")
        ending = "/bot" if info.field_name == "base_url" else "/file/bot"
        if not value.endswith(ending):
            raise ValueError(
                f"must end in {ending} (e.g. http://127.0.0.1:8081{ending}): the token is "
                "appended to it"
            )
        return value


class PlaygroundConfig(_Strict):
    """The browser playground: the desk's group and private chats with Warta in a browser,
    served by Warta itself (no account needed). Warta's default channel when no chat
    platform is configured."""

    kind: Literal["playground"] = "playground"
    enabled: bool = True


TemplateValue = Literal["text", "headline", "details", "count", "name"]
"""What a template's variable is filled with: the message as one line (``text``), its first line
(``headline``) or the rest (``details``), how many messages wait (``count``, for the nudge), the
recipient's name on the desk (``name``)."""


class WhatsAppTemplate(_Strict):
    """An approved WhatsApp template (a Twilio Content SID) and what fills its variables
    ``{{1}}``, ``{{2}}`` … in order."""

    content_sid: str = Field(pattern=r"^HX[0-9a-fA-F]{32}$")
    variables: tuple[TemplateValue, ...] = ("text",)

    @model_validator(mode="before")
    @classmethod
    def _sid_alone(cls, value: Any) -> Any:
        """``sla_reminder: HX…`` is a template whose one variable is the message's text."""
        return {"content_sid": value} if isinstance(value, str) else value


class WhatsAppConfig(_Strict):
    """WhatsApp through Twilio's Messaging API: the account's credentials (from the
    environment), the sender, the public address Twilio calls, and the approved templates for
    members who have not written for 24 hours. Every member chats one to one with the sender
    (a virtual group)."""

    kind: Literal["whatsapp"] = "whatsapp"
    enabled: bool = True
    account_sid_env: str = "WARTA_TWILIO_ACCOUNT_SID"
    auth_token_env: str = "WARTA_TWILIO_AUTH_TOKEN"
    sender: str | None = Field(default=None, pattern=r"^whatsapp:\+[1-9]\d{6,14}$")
    """Warta's WhatsApp number as Twilio writes it: ``whatsapp:+62…``."""
    messaging_service_sid: str | None = Field(default=None, pattern=r"^MG[0-9a-fA-F]{32}$")
    """Or a Messaging Service whose sender pool holds the number."""
    public_url: str | None = Field(default=None, pattern=r"^https?://[^\s?#]+$")
    """The address Twilio calls (behind the proxy), e.g. https://warta.example.go.id: the
    webhook is ``<public_url>/whatsapp/webhook`` and its signature is checked against it."""
    relay_chat: bool = False
    album_quiet: Duration = timedelta(seconds=4)
    """Photos one member sends within this of each other make one submission."""
    media_hosts: tuple[str, ...] = ("api.twilio.com", "*.twilio.com")
    """The only hosts Warta sends the account's credentials to when it fetches a photo
    (``*.`` for any sub-domain); a redirect elsewhere is followed without them."""
    templates: dict[str, WhatsAppTemplate] = {}
    """Per kind of message (``sla_reminder``, ``sla_escalation``, ``daily_digest``,
    ``assignment_offered`` …, and ``nudge``), the template sent outside the 24-hour window."""
    card_replies: dict[int, str] = {}
    """Quick-reply content (a Twilio ``twilio/quick-reply`` Content SID) per number of
    buttons, 1 to 3, used inside the 24-hour window (no approval needed there): a story card
    then offers its next commands as buttons. Its body is ``{{1}}``; button *n* has title
    ``{{2n}}`` and id ``{{2n+1}}``."""
    nudge_every: Duration = timedelta(hours=24)
    """A member who does not answer the nudge is nudged again after this long."""
    variable_limit: int = Field(default=250, ge=20, le=255)
    """The longest text put into one template variable (longer is cut with "…"); Twilio
    refuses a content variable over 255 characters."""
    api_base: str | None = Field(default=None, pattern=r"^https?://")
    """Where Twilio's REST API is (tests and proxies only; default https://api.twilio.com)."""
    account_sid: str = ""
    auth_token: SecretStr = SecretStr("")

    @field_validator("templates")
    @classmethod
    def _template_kinds(cls, templates: dict[str, WhatsAppTemplate]) -> dict[str, WhatsAppTemplate]:
        for kind, template in templates.items():
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", kind):
                raise ValueError(f"templates: '{kind}' is not the name of a kind of message")
            if not template.variables:
                raise ValueError(f"templates.{kind}: name at least one variable")
        return templates

    @field_validator("card_replies")
    @classmethod
    def _reply_contents(cls, replies: dict[int, str]) -> dict[int, str]:
        for count, sid in replies.items():
            if count not in (1, 2, 3):
                raise ValueError(
                    f"card_replies: {count} buttons — WhatsApp allows 1 to 3 in a session"
                )
            if not re.fullmatch(r"HX[0-9a-fA-F]{32}", sid):
                raise ValueError(f"card_replies.{count}: '{sid}' is not a Content SID (HX…)")
        return replies

    @model_validator(mode="after")
    def _reachable(self) -> WhatsAppConfig:
        if not self.enabled:
            return self
        if not (self.sender or self.messaging_service_sid):
            raise ValueError(
                "name Warta's WhatsApp sender (sender: whatsapp:+62…) or a messaging_service_sid"
            )
        if not self.public_url:
            raise ValueError(
                "public_url is needed: the https address Twilio calls (the webhook is "
                "<public_url>/whatsapp/webhook)"
            )
        return self


class MailboxConfig(_Strict):
    """The media center's official mailbox as a channel: coverage and commands in by IMAP,
    private messages out by SMTP (for people whose preferred or only address is e-mail)."""

    kind: Literal["email"] = "email"
    enabled: bool = True
    address: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    """The official mailbox's address: Warta's e-mails come from it."""
    display_name: str = "Warta Media Center"
    username: str | None = None
    """The mailbox login (default: the address)."""
    password_env: str = "WARTA_MAIL_PASSWORD"
    imap_host: str
    imap_port: int | None = Field(default=None, gt=0, lt=65536)
    """Default: 993 with ``tls``, else 143."""
    imap_security: Literal["tls", "starttls", "plain"] = "tls"
    """``plain`` only for a server on this machine (127.0.0.1)."""
    folder: str = "INBOX"
    after: Literal["flag", "move"] = "flag"
    """What marks a handled mail, after its story is committed: a keyword flag
    (``$WartaDone``; the mail stays where people look for it), or a move to
    ``processed_folder``."""
    processed_folder: str = "Warta-Diproses"
    idle: bool = True
    """Wait for new mail with IMAP IDLE where the server offers it (else poll)."""
    poll_every: Duration = timedelta(minutes=1)
    smtp_host: str | None = None
    """Default: the IMAP host."""
    smtp_port: int | None = Field(default=None, gt=0, lt=65536)
    """Default: 465 with ``tls``, 587 with ``starttls``, else 25."""
    smtp_security: Literal["tls", "starttls", "plain"] = "starttls"
    cafile: str | None = None
    """A certificate authority to trust besides the system's (a self-signed local server)."""
    unknown_senders: Literal["editors", "ignore"] = "editors"
    """Mail from an address no person has: shown to the editors to decide, or only kept."""
    acknowledge: bool = True
    """Answer an e-mailed submission with its story number (by e-mail)."""
    max_text_chars: int = Field(default=20_000, ge=1000, le=200_000)
    """The longest body (or attached manuscript) read into a submission."""
    copies_within: Duration = timedelta(hours=2)
    """SOP step 4 asks for coverage by e-mail *and* in the chat: a reporter's e-mail and chat
    submission this close together, with a similar title or text, are one story."""
    copies_similarity: float = Field(default=0.8, ge=0.5, le=1.0)
    """How alike two titles (or texts) must be to be one story (1.0: the same)."""
    remind_missing_copy: bool = False
    """Remind the reporter when one of the two copies has not arrived within the submission
    deadline."""
    timeout: Duration = timedelta(seconds=30)
    password: SecretStr = SecretStr("")

    @property
    def login(self) -> str:
        return self.username or self.address

    @property
    def imap_port_or_default(self) -> int:
        return self.imap_port or (993 if self.imap_security == "tls" else 143)

    @property
    def smtp_host_or_default(self) -> str:
        return self.smtp_host or self.imap_host

    @property
    def smtp_port_or_default(self) -> int:
        if self.smtp_port:
            return self.smtp_port
        return {"tls": 465, "starttls": 587}.get(self.smtp_security, 25)

    @model_validator(mode="after")
    def _plain_only_here(self) -> MailboxConfig:
        for what, security, host in (
            ("imap", self.imap_security, self.imap_host),
            ("smtp", self.smtp_security, self.smtp_host_or_default),
        ):
            if security == "plain" and not is_loopback(host):
                raise ValueError(
                    f"{what}_security: plain sends the password unencrypted; use tls or "
                    f"starttls for {host} (plain is for a server on this machine only)"
                )
        return self


ChannelConfig = Annotated[
    TelegramConfig | PlaygroundConfig | WhatsAppConfig | MailboxConfig, Field(discriminator="kind")
]
"""A chat channel, picked by ``kind`` (one entry per kind)."""


class HttpConfig(_Strict):
    """Warta's one HTTP server: webhooks, the health check, the playground and the board."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, gt=0, lt=65536)
    public_url: str | None = Field(default=None, pattern=r"^https?://")
    """The address people open (behind a proxy); default http://host:port."""

    @property
    def url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"


class WebConfig(_Strict):
    """Warta's own pages: the desk board, and who may open them and the playground."""

    board: bool = True
    password_env: str | None = None
    """Needed when http.host is not loopback: the pages then ask for this password."""
    password: SecretStr = SecretStr("")


class Settings(_Strict):
    """Everything Warta reads from config.yaml, validated; paths are absolute."""

    timezone: str = "Asia/Jakarta"
    locale: Locale = "id"
    data_dir: Path = Path("data")
    database: DatabaseConfig = DatabaseConfig()
    media: MediaConfig = MediaConfig()
    limits: LimitsConfig = LimitsConfig()
    sla: SlaConfig = SlaConfig()
    calendar: CalendarConfig = CalendarConfig()
    agenda: AgendaConfig = AgendaConfig()
    archive: ArchiveConfig = ArchiveConfig()
    assignments: AssignmentConfig = AssignmentConfig()
    roster: RosterConfig = RosterConfig()
    verification: VerificationConfig = VerificationConfig()
    people: tuple[PersonConfig, ...] = ()
    publish: PublishConfig = PublishConfig()
    outbox: OutboxConfig = OutboxConfig()
    channels: tuple[ChannelConfig, ...] = ()
    http: HttpConfig = HttpConfig()
    web: WebConfig = WebConfig()
    training: int = Field(default=1, ge=1, le=600)
    """The training clock: every deadline runs this many times faster (``warta run --fast``
    sets 60: an hour's window lasts a minute)."""
    database_url: SecretStr = SecretStr("")
    notices: tuple[str, ...] = ()
    """What the operator should know about this configuration (an old section read anew)."""

    @model_validator(mode="before")
    @classmethod
    def _legacy_telegram(cls, raw: Any) -> Any:
        """The ``telegram:`` section of earlier versions is read as a channel of kind
        telegram (only when enabled), so no desk breaks on upgrade."""
        if not isinstance(raw, dict) or "telegram" not in raw:
            return raw
        raw = dict(raw)
        section = raw.pop("telegram") or {}
        if not isinstance(section, dict):
            raise ValueError("telegram: must be a mapping of settings")
        if not section.get("enabled", False):
            return raw
        channels = list(raw.get("channels") or [])
        if any(isinstance(c, dict) and c.get("kind") == "telegram" for c in channels):
            raise ValueError(
                "telegram is configured twice: in the telegram: section and in channels:"
                " (keep the channels: entry)"
            )
        raw["channels"] = [{**section, "kind": "telegram"}, *channels]
        raw["notices"] = (
            *raw.get("notices", ()),
            "the telegram: section is read as a channel of kind telegram; move it under"
            " channels: as '- kind: telegram' (see the README, Channels)",
        )
        return raw

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{name}' is not a time zone; use e.g. Asia/Jakarta") from None
        return name

    @model_validator(mode="after")
    def _unique_people(self) -> Settings:
        problems: list[str] = []
        for label, values in (
            ("key", [p.key for p in self.people]),
            ("telegram", [p.telegram for p in self.people if p.telegram is not None]),
            ("whatsapp", [p.whatsapp for p in self.people if p.whatsapp]),
            ("email", [p.email for p in self.people if p.email]),
        ):
            doubled = sorted({str(v) for v in values if values.count(v) > 1})
            if doubled:
                problems.append(f"two people share the {label} {', '.join(doubled)}")
        keys = {p.key for p in self.people}
        unknown = [key for key in self.roster.people if key not in keys]
        if unknown:
            problems.append(f"roster.people names unknown people: {', '.join(unknown)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _one_channel_per_kind(self) -> Settings:
        kinds = [channel.kind for channel in self.channels]
        doubled = sorted({kind for kind in kinds if kinds.count(kind) > 1})
        if doubled:
            raise ValueError(f"channels: one entry per kind, but {', '.join(doubled)} repeats")
        return self

    @property
    def active_channels(self) -> tuple[ChannelConfig, ...]:
        """The channels to run (an entry with ``enabled: false`` is kept but not run)."""
        return tuple(channel for channel in self.channels if channel.enabled)

    def with_default_channel(self) -> Settings:
        """These settings, with the browser playground when no chat channel is enabled (what
        ``warta run`` serves on a fresh machine)."""
        if self.active_channels:
            return self
        return self.model_copy(update={"channels": (*self.channels, PlaygroundConfig())})

    @property
    def serves_pages(self) -> bool:
        """Whether Warta serves its own pages (the playground, or the board)."""
        return self.web.board or any(
            isinstance(channel, PlaygroundConfig) for channel in self.active_channels
        )

    @model_validator(mode="after")
    def _pages_need_a_password_off_this_machine(self) -> Settings:
        if (
            self.serves_pages
            and not is_loopback(self.http.host)
            and not (self.web.password_env or self.web.password.get_secret_value())
        ):
            raise ValueError(
                f"http.host {self.http.host} is reachable from other machines: the playground "
                "and the board switch persona without a login, so set web.password_env (the "
                "pages then ask for that password), or keep http.host on 127.0.0.1"
            )
        return self

    @property
    def telegram(self) -> TelegramConfig:
        """The Telegram channel's settings (disabled defaults when it is not configured)."""
        found = next((c for c in self.channels if isinstance(c, TelegramConfig)), None)
        return found or TelegramConfig(enabled=False)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def sla_policy(self) -> SlaPolicy:
        return self.sla.policy(self.calendar.build(self.zone))

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    def person(self, key: str) -> PersonConfig:
        return next(person for person in self.people if person.key == key)


def _location(loc: tuple[Any, ...], raw: Mapping[str, Any]) -> str:
    """Name a setting the way the operator wrote it: people[2].roles, or people[rina].roles."""
    parts: list[str] = []
    node: Any = raw
    for step in loc:
        if isinstance(step, int):
            label = str(step)
            if isinstance(node, list) and step < len(node) and isinstance(node[step], dict):
                label = str(node[step].get("key") or node[step].get("name") or step)
            parts[-1:] = [f"{parts[-1] if parts else ''}[{label}]"]
            node = node[step] if isinstance(node, list) and step < len(node) else None
        else:
            parts.append(str(step))
            node = node.get(step) if isinstance(node, dict) else None
    return ".".join(parts) or "(top level)"


_PATTERN_ADVICE = {
    "whatsapp": "write the number with its country code, like +6281234567890",
    "email": "this is not an e-mail address",
    "key": "use lower-case letters, digits, '-', '_' or '.', starting with a letter",
    "name": "use lower-case letters, digits, '-' or '_', starting with a letter",
    "sender": "write Warta's WhatsApp number as Twilio does, like whatsapp:+6281234567890",
    "messaging_service_sid": "a Messaging Service SID is MG followed by 32 hex digits",
    "content_sid": "a Content SID is HX followed by 32 hex digits (Twilio's Content Template "
    "Builder shows it)",
}


def _explain(problem: Mapping[str, Any]) -> str:
    """Pydantic's message, or plainer words where it speaks in regular expressions."""
    field = next((str(step) for step in reversed(problem["loc"]) if isinstance(step, str)), "")
    if problem["type"] == "extra_forbidden":
        return "not a setting Warta knows (check the spelling and the indentation)"
    if problem["type"] == "string_pattern_mismatch" and field in _PATTERN_ADVICE:
        return _PATTERN_ADVICE[field]
    return str(problem["msg"]).removeprefix("Value error, ")


def load_settings(path: Path | str, environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate a config file; secrets come from ``environ`` (the process environment)."""
    path = Path(path)
    environ = os.environ if environ is None else environ
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(str(path), ["the file does not exist"]) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(str(path), [f"not valid YAML at {where}: {problem}"]) from None
    if not isinstance(raw, dict):
        raise ConfigError(str(path), ["the top level must be a mapping of settings"])
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as error:
        problems = [
            f"{_location(problem['loc'], raw)}: {_explain(problem)}" for problem in error.errors()
        ]
        raise ConfigError(str(path), problems) from None
    return _resolve(settings, base=path.resolve().parent, environ=environ)


def _resolve(settings: Settings, *, base: Path, environ: Mapping[str, str]) -> Settings:
    data_dir = settings.data_dir if settings.data_dir.is_absolute() else base / settings.data_dir
    url = environ.get(settings.database.url_env) or settings.database.url
    if not url:
        url = f"sqlite:///{data_dir / 'warta.db'}"
    elif url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        relative = url.removeprefix("sqlite:///")
        if relative and relative != ":memory:":
            url = f"sqlite:///{base / relative}"
    targets = []
    missing: list[str] = []
    for target in settings.publish.targets:
        if isinstance(target, FolderTarget):
            path = target.path if target.path.is_absolute() else base / target.path
            target = target.model_copy(update={"path": path})
        elif target.kind in _SECRET_OF_KIND:
            env_field, secret_field = _SECRET_OF_KIND[target.kind]
            variable = getattr(target, env_field)
            if variable:
                value = environ.get(variable, "")
                if not value:
                    missing.append(
                        f"publish.targets[{target.name}].{env_field}: the environment variable "
                        f"{variable} is not set"
                    )
                target = target.model_copy(update={secret_field: SecretStr(value)})
        targets.append(target)
    if missing:
        raise ConfigError("environment", missing)
    channels = tuple(_channel_secrets(channel, environ) for channel in settings.channels)
    web = settings.web
    if web.password_env:
        password = environ.get(web.password_env, "")
        if not password:
            raise ConfigError(
                "environment",
                [f"web.password_env: the environment variable {web.password_env} is not set"],
            )
        web = web.model_copy(update={"password": SecretStr(password)})
    return settings.model_copy(
        update={
            "data_dir": data_dir,
            "database_url": SecretStr(url),
            "publish": settings.publish.model_copy(update={"targets": tuple(targets)}),
            "channels": channels,
            "web": web,
        }
    )


def fast(settings: Settings, speed: int = 60) -> Settings:
    """The training clock: every SLA window and reminder offset, and the assignment answer
    times, ``speed`` times shorter (an hour's window lasts a minute at 60), so a trainee sees
    reminders and escalation within minutes. Documentation stays due by H+1 (a calendar day)."""
    if speed <= 1:
        return settings

    def shrink(value: timedelta) -> timedelta:
        return max(timedelta(seconds=5), value / speed)

    def points(found: tuple[ReminderPoint, ...]) -> tuple[ReminderPoint, ...]:
        return tuple(
            ReminderPoint(before=shrink(point.before)) if point.before is not None else point
            for point in found
        )

    sla = settings.sla.model_copy(
        update={
            "submission": shrink(settings.sla.submission),
            "editing": shrink(settings.sla.editing),
            "publishing": shrink(settings.sla.publishing),
            "reminders": points(settings.sla.reminders),
            "reminders_per_step": {
                step: points(found) for step, found in settings.sla.reminders_per_step.items()
            },
        }
    )
    assignments = settings.assignments.model_copy(
        update={
            "answer_within": shrink(settings.assignments.answer_within),
            "remind_before": shrink(settings.assignments.remind_before),
        }
    )
    return settings.model_copy(update={"sla": sla, "assignments": assignments, "training": speed})


def _channel_secrets(channel: ChannelConfig, environ: Mapping[str, str]) -> ChannelConfig:
    """Read a channel's secrets from the environment; a missing one is a clear error."""
    if not channel.enabled:
        return channel
    where = f"channels[{channel.kind}]"
    if isinstance(channel, TelegramConfig):
        token = environ.get(channel.token_env, "")
        if not token:
            raise ConfigError(
                "environment",
                [
                    f"{where}.token_env: the environment variable {channel.token_env} is not set "
                    "(put the bot token from @BotFather there)"
                ],
            )
        secret = environ.get(channel.webhook_secret_env, "")
        if channel.mode == "webhook" and not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", secret):
            raise ConfigError(
                "environment",
                [
                    f"{where}.webhook_secret_env: set {channel.webhook_secret_env} to 16-256 "
                    "letters, digits, '_' or '-' (Telegram sends it back with every update)"
                ],
            )
        return channel.model_copy(
            update={"token": SecretStr(token), "webhook_secret": SecretStr(secret)}
        )
    if isinstance(channel, WhatsAppConfig):
        account_sid = environ.get(channel.account_sid_env, "")
        auth_token = environ.get(channel.auth_token_env, "")
        problems = []
        if not re.fullmatch(r"AC[0-9a-fA-F]{32}", account_sid):
            problems.append(
                f"{where}.account_sid_env: set {channel.account_sid_env} to the Twilio Account "
                "SID (AC followed by 32 hex digits, on the Twilio Console's home page)"
            )
        if not auth_token:
            problems.append(
                f"{where}.auth_token_env: the environment variable {channel.auth_token_env} is "
                "not set (put the Twilio Auth Token there)"
            )
        if problems:
            raise ConfigError("environment", problems)
        return channel.model_copy(
            update={"account_sid": account_sid, "auth_token": SecretStr(auth_token)}
        )
    if isinstance(channel, MailboxConfig):
        password = environ.get(channel.password_env, "")
        if not password:
            raise ConfigError(
                "environment",
                [
                    f"{where}.password_env: the environment variable {channel.password_env} is "
                    f"not set (put the password of {channel.login} there)"
                ],
            )
        return channel.model_copy(update={"password": SecretStr(password)})
    return channel
