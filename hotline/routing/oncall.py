"""Who is on call: rotations that hand over daily or weekly in the network's timezone."""

from __future__ import annotations

from collections.abc import Mapping
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


def snapshot_rotations(rotations: list[Any], web: Mapping[str, list[dict[str, Any]]] | None = None
                       ) -> list[dict[str, Any]]:
    """Plain data of a network's rotations, for an incident's policy snapshot: the overrides
    made on the dashboard (`web`, by rotation name) before the YAML's, so the newer wins."""
    web = web or {}
    return [{"name": r.name, "period": r.period, "handoff": r.handoff,
             "starts_on": r.starts_on, "members": list(r.members),
             "overrides": [*web.get(r.name, []), *(r.overrides or [])], "priority": r.priority}
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


def next_handoffs(rotation: dict[str, Any], timezone: str, at: datetime,
                  count: int = 3) -> list[tuple[datetime, str]]:
    """The rotation's next `count` handoffs after `at`: (local time, who takes over), by the
    rotation alone (an override in between is shown on its own)."""
    members: list[str] = list(rotation.get("members") or [])
    if not members:
        return []
    zone = ZoneInfo(timezone)
    local = at.astimezone(zone)
    period = timedelta(days=7 if rotation["period"] == "weekly" else 1)
    start = _handoff_start(rotation, zone).replace(tzinfo=None)
    elapsed = local.replace(tzinfo=None) - start
    index = int(elapsed // period) if elapsed >= timedelta(0) else -1
    out = []
    for step in range(1, count + 1):
        moment = (start + (index + step) * period).replace(tzinfo=zone)
        out.append((moment, members[(index + step) % len(members)]))
    return out
