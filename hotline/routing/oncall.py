"""Who is on call: rotations that hand over daily or weekly in the network's timezone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo


def _handoff_start(rotation: dict[str, Any], zone: ZoneInfo) -> datetime:
    hour, minute = (int(x) for x in rotation["handoff"].split(":"))
    return datetime.combine(date.fromisoformat(rotation["starts_on"]), time(hour, minute),
                            tzinfo=zone)


def on_call(rotation: dict[str, Any], timezone: str, at: datetime) -> list[str]:
    """Responder keys of a rotation in paging order at `at`: on call first, then the next."""
    members: list[str] = list(rotation.get("members") or [])
    if not members:
        return []
    zone = ZoneInfo(timezone)
    local = at.astimezone(zone)
    for override in rotation.get("overrides") or []:
        start = datetime.fromisoformat(str(override["start"]))
        end = datetime.fromisoformat(str(override["end"]))
        start = start if start.tzinfo else start.replace(tzinfo=zone)
        end = end if end.tzinfo else end.replace(tzinfo=zone)
        if start <= local < end and override.get("responder"):
            key = override["responder"]
            return [key] + [m for m in _ordered(members, rotation, zone, local) if m != key]
    return _ordered(members, rotation, zone, local)


def _ordered(members: list[str], rotation: dict[str, Any], zone: ZoneInfo,
             local: datetime) -> list[str]:
    period = timedelta(days=7 if rotation["period"] == "weekly" else 1)
    start = _handoff_start(rotation, zone)
    # count handoffs in wall-clock time, so a DST change does not shift the handoff hour
    elapsed = local.replace(tzinfo=None) - start.replace(tzinfo=None)
    index = int(elapsed // period) % len(members)
    return members[index:] + members[:index]


def snapshot_rotations(rotations: list[Any]) -> list[dict[str, Any]]:
    """Plain data of a network's rotations, for an incident's policy snapshot."""
    return [{"name": r.name, "period": r.period, "handoff": r.handoff,
             "starts_on": r.starts_on, "members": list(r.members),
             "overrides": list(r.overrides or []), "priority": r.priority}
            for r in sorted(rotations, key=lambda r: r.priority)]


def paging_order(rotations: list[dict[str, Any]], timezone: str, at: datetime) -> list[str]:
    """Everyone on the rotations in paging order at `at`: the primary layer first."""
    if not rotations:
        return []
    order: list[str] = []
    for rotation in rotations:  # the primary layer first, then the others
        for key in on_call(rotation, timezone, at):
            if key not in order:
                order.append(key)
    return order
