"""Renders every message Warta sends from the Jinja2 templates of the person's locale."""

from __future__ import annotations

import re
import threading
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateRuntimeError

TEMPLATES = Path(__file__).parent / "templates"
LOCALES = ("id", "en")

_ZONE_ABBREVIATIONS = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}
_BLANK_RUNS = re.compile(r"\n{3,}")


def zone_label(tz: ZoneInfo, moment: datetime) -> str:
    return _ZONE_ABBREVIATIONS.get(tz.key) or moment.astimezone(tz).tzname() or tz.key


def humanize_duration(delta: timedelta, locale: str) -> str:
    """``1 jam 20 menit``; under a minute counts as ``1 menit`` so nothing reads as zero."""
    minutes = max(1, round(abs(delta).total_seconds() / 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if locale == "id":
        units = ((days, "hari", "hari"), (hours, "jam", "jam"), (minutes, "menit", "menit"))
    else:
        units = ((days, "day", "days"), (hours, "hour", "hours"), (minutes, "minute", "minutes"))
    parts = [f"{n} {one if n == 1 else many}" for n, one, many in units if n]
    return " ".join(parts[:2])


class _Here(threading.local):
    """What the message being rendered is about: the moment and the person it is for.

    The templates read ``here.now`` and ``here.person``; keeping them per thread lets one
    compiled module per locale serve every render.
    """

    now: datetime | None = None
    person: Any = None


class Renderer:
    """One Jinja2 environment (autoescaped) with the desk's time zone and date words."""

    def __init__(self, *, tz: ZoneInfo, default_locale: str = "id") -> None:
        self.tz = tz
        self.default_locale = default_locale
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.here = _Here()
        self.env.globals["here"] = self.here
        self._modules: dict[str, Any] = {}
        self.env.filters.update(
            {
                "day": self._day,
                "clock": self._clock,
                "when": self._when,
                "hm": self._hours_minutes,
                "capitalize_first": lambda text: text[:1].upper() + text[1:],
                "zone": lambda value: zone_label(self.tz, value),
                "month": lambda value, locale: format_date(value, "MMMM y", locale=locale),
                "duration": lambda delta, locale: humanize_duration(delta, locale),
            }
        )

    def locale_for(self, preferred: str | None) -> str:
        return preferred if preferred in LOCALES else self.default_locale

    def render(self, name: str, *, locale: str | None = None, **values: Any) -> str:
        """Render macro ``name`` of ``<locale>/messages.j2`` and tidy its blank lines."""
        locale = self.locale_for(locale)
        macro = getattr(self._module(locale), name, None)
        if macro is None:
            raise TemplateRuntimeError(f"no message '{name}' in {locale}/messages.j2")
        self.here.now = values.pop("now", None)
        self.here.person = values.pop("person", None)
        if not macro.catch_kwargs:
            values = {key: value for key, value in values.items() if key in macro.arguments}
        try:
            text = str(macro(**values))
        finally:
            self.here.now = self.here.person = None
        lines = [line.rstrip() for line in text.strip().splitlines()]
        return _BLANK_RUNS.sub("\n\n", "\n".join(lines))

    def _module(self, locale: str) -> Any:
        module = self._modules.get(locale)
        if module is None:
            module = self.env.get_template(f"{locale}/messages.j2").make_module({"locale": locale})
            self._modules[locale] = module
        return module

    def message_names(self, locale: str) -> set[str]:
        return {name for name in dir(self._module(locale)) if not name.startswith("_")}

    # -- filters ------------------------------------------------------------------------------

    def _day(self, value: datetime | date, locale: str) -> str:
        day = value.astimezone(self.tz).date() if isinstance(value, datetime) else value
        pattern = "EEEE, d MMMM y" if locale == "id" else "EEEE d MMMM y"
        return format_date(day, pattern, locale=locale)

    def _clock(self, value: datetime, locale: str) -> str:
        local = value.astimezone(self.tz)
        separator = "." if locale == "id" else ":"
        return f"{local:%H}{separator}{local:%M} {zone_label(self.tz, value)}"

    def _hours_minutes(self, value: datetime, locale: str) -> str:
        """``09.00`` (``09:00`` in English), local time without the zone."""
        local = value.astimezone(self.tz)
        return f"{local:%H}{'.' if locale == 'id' else ':'}{local:%M}"

    def _when(self, value: datetime, locale: str, now: datetime | None = None) -> str:
        """The time alone when it is today, else the day and the time."""
        clock = self._clock(value, locale)
        same_day = (
            now is not None and value.astimezone(self.tz).date() == now.astimezone(self.tz).date()
        )
        if locale == "id":
            return f"pukul {clock}" if same_day else f"{self._day(value, locale)} pukul {clock}"
        return f"at {clock}" if same_day else f"on {self._day(value, locale)} at {clock}"
