"""Template filters: ages, times, durations and labels as dispatchers read them."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from hotline.core.languages import load_languages
from hotline.dashboard.blueprint import bp
from hotline.dashboard.words import SALUTE, word
from hotline.models import utcnow

STATUS_LABELS = {
    "new": _l("new"), "verifying": _l("verifying"), "verified": _l("verified"),
    "routed": _l("routed to lawyers"), "acknowledged": _l("lawyer on it"),
    "resolved": _l("resolved"), "false_alarm": _l("false alarm"),
    "unconfirmed": _l("unconfirmed"), "merged": _l("merged"),
}


@bp.app_template_filter("age")
def age(value: datetime | None, now: datetime | None = None) -> str:
    """How long ago, in the largest unit that fits: "45 s", "12 min", "3 h", "2 d"."""
    if value is None:
        return "—"
    seconds = max(0, int(((now or utcnow()) - value).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


@bp.app_template_filter("utc")
def utc(value: datetime | None) -> str:
    """A UTC timestamp to the minute."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


@bp.app_template_filter("utc_seconds")
def utc_seconds(value: datetime | None) -> str:
    """A UTC timestamp to the second."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "—"


@bp.app_template_filter("local")
def local(value: datetime | None, timezone: str | None, seconds: bool = False) -> Markup:
    """A time as it reads where it happened (the jurisdiction's timezone, with its abbreviation),
    UTC on hover: `<time datetime=... title="... UTC">`. No timezone: UTC."""
    if value is None:
        return Markup("—")
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        zone = ZoneInfo(timezone) if timezone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    shape = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    here = moment.astimezone(zone)
    label = here.strftime(shape) + " " + (here.tzname() or "UTC")
    return Markup('<time datetime="{}" title="{} UTC">{}</time>').format(
        moment.isoformat(), moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"), escape(label))


@bp.app_template_filter("iso")
def iso(value: datetime | None) -> str:
    """ISO 8601 (for <time datetime> and the live clock)."""
    return value.isoformat() if value else ""


@bp.app_template_filter("status_label")
def status_label(status: str) -> str:
    """A status as words."""
    label = STATUS_LABELS.get(status)
    return str(label) if label is not None else status


@bp.app_template_filter("salute_value")
def salute_value(value: object) -> str:
    """A SALUTE field as words: {"agents": 5, "vehicles": 3} -> "5 agents, 3 vehicles"."""
    if isinstance(value, dict):
        if "text" in value:
            return str(value["text"])
        return ", ".join(f"{v} {word(SALUTE, k)}" for k, v in value.items()
                         if v not in (None, "", [], {}))
    if isinstance(value, list | tuple):
        return ", ".join(word(SALUTE, v) for v in value)
    return str(value)


@bp.app_template_filter("language_name")
def language_name(code: str | None) -> str:
    """A language as dispatchers read it: "Vietnamese (Tiếng Việt)", "English"."""
    if not code:
        return _("unknown")
    languages = load_languages(current_app.config["SETTINGS"].config_dir)
    english, own = languages.english_name(code), languages.name(code)
    return english if own in ("", english) else f"{english} ({own})"


@bp.app_template_filter("call_duration")
def call_duration(seconds: int | None) -> str:
    """A call's length as minutes and seconds: 192 -> "3:12"; unknown -> "—"."""
    if seconds is None:
        return "—"
    seconds = max(0, int(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


@bp.app_template_filter("seconds_words")
def seconds_words(seconds: float | None) -> str:
    """A duration to come, in words: 0.3 -> "under a second", 42 -> "42 s", 130 -> "2 min
    10 s", 5400 -> "1 h 30 min"; unknown -> "—"."""
    if seconds is None:
        return "—"
    whole = round(max(0.0, float(seconds)))
    if seconds < 1:
        return _("under a second")
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s" if whole % 60 else f"{whole // 60} min"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


@bp.app_template_filter("rate")
def rate(value: float) -> str:
    """A rate without needless decimals: 10.0 -> "10", 0.5 -> "0.5"."""
    return f"{value:g}"
