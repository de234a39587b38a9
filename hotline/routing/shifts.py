"""Who answers calls now: a call roster's weekly shifts and dated overrides, in the network's
timezone (wall-clock times, so a DST change moves no shift)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HORIZON_DAYS = 8  # next_staffed looks this far ahead


def _clock(hhmm: str) -> timedelta:
    hours, minutes = (int(x) for x in hhmm.split(":"))
    return timedelta(hours=hours, minutes=minutes)


def shift_spans(shift: Mapping[str, Any], day: date, zone: ZoneInfo
                ) -> tuple[datetime, datetime] | None:
    """The span of a shift that starts on `day` (local), or None if it does not work that day.
    An end at or before the start runs past midnight into the next day."""
    if WEEKDAYS[day.weekday()] not in shift.get("days", WEEKDAYS):
        return None
    midnight = datetime.combine(day, time(0))
    start, end = midnight + _clock(shift["start"]), midnight + _clock(shift["end"])
    if end <= start:
        end += timedelta(days=1)
    return start.replace(tzinfo=zone), end.replace(tzinfo=zone)


def local_time(value: str, zone: ZoneInfo) -> datetime:
    """A time written in the YAML ("2026-12-03T18:00", or with an offset) as an aware time,
    in `zone` (read there when it names no offset)."""
    parsed = datetime.fromisoformat(str(value))
    return parsed.astimezone(zone) if parsed.tzinfo else parsed.replace(tzinfo=zone)


def on_shift(shifts: Iterable[Mapping[str, Any]], overrides: Iterable[Mapping[str, Any]],
             timezone: str, at: datetime) -> list[str]:
    """The volunteers on shift at `at`, overrides first, each once, in roster order."""
    zone = ZoneInfo(timezone)
    local = at.astimezone(zone)
    naive = local.replace(tzinfo=None)
    keys: list[str] = []
    for override in overrides:
        start, end = local_time(override["start"], zone), local_time(override["end"], zone)
        if start <= local < end and override["responder"] not in keys:
            keys.append(override["responder"])
    for shift in shifts:
        for day in (naive.date() - timedelta(days=1), naive.date()):
            span = shift_spans(shift, day, zone)
            if span is not None and span[0].replace(tzinfo=None) <= naive < \
                    span[1].replace(tzinfo=None) and shift["volunteer"] not in keys:
                keys.append(shift["volunteer"])
    return keys


def next_staffed(shifts: Iterable[Mapping[str, Any]], overrides: Iterable[Mapping[str, Any]],
                 timezone: str, at: datetime) -> datetime | None:
    """When someone is next on shift after `at` (local time), within eight days; None if the
    roster has nobody then."""
    zone = ZoneInfo(timezone)
    local = at.astimezone(zone)
    naive = local.replace(tzinfo=None)
    starts: list[datetime] = []
    for override in overrides:
        start = local_time(override["start"], zone).astimezone(zone)
        if local < start <= local + timedelta(days=HORIZON_DAYS):
            starts.append(start.replace(tzinfo=None))
    for shift in shifts:
        for offset in range(HORIZON_DAYS + 1):
            span = shift_spans(shift, naive.date() + timedelta(days=offset), zone)
            if span is not None and span[0].replace(tzinfo=None) > naive:
                starts.append(span[0].replace(tzinfo=None))
                break
    return min(starts).replace(tzinfo=zone) if starts else None
