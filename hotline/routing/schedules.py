"""Schedules as they stand now: the overrides made on the dashboard's on-call page next to the
YAML's, and responders' OFF by text (`away_until`).

The YAML stays the source of rotations and call rosters; an override made on the web is a row of
`schedule_overrides`, read here and put before the YAML's so the newer intention wins. OFF takes a
responder out of rotations, verifier rounds and call rosters until `away_until` (AWAY_OPEN: until
they send ON); the SQL side of that is `models.reachable_now`.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.core.refusals import Refusal
from hotline.models import (
    CallRoster,
    LegalNetwork,
    Responder,
    ScheduleOverride,
    reachable_now,
    responder_jurisdictions,
    utcnow,
)
from hotline.routing.oncall import paging_order, snapshot_rotations

AWAY_OPEN = datetime(9999, 12, 31, tzinfo=UTC)  # OFF without a length: until ON
MAX_AWAY = timedelta(days=30)  # OFF 90d is read as 30 days
KINDS = ("rotation", "roster")


def web_overrides(session: Session, network_id: int, kind: str,
                  at: datetime | None = None) -> dict[str, list[dict[str, Any]]]:
    """The dashboard's overrides of a network's rotations or rosters not yet over, by schedule
    name, in the YAML's shape (`responder`, `start`, `end` as ISO times with their offset)."""
    at = at or utcnow()
    rows = session.scalars(select(ScheduleOverride).where(
        ScheduleOverride.network_id == network_id, ScheduleOverride.kind == kind,
        ScheduleOverride.end_at > at).order_by(ScheduleOverride.start_at, ScheduleOverride.id))
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(row.schedule, []).append({
            "responder": row.responder, "start": row.start_at.isoformat(),
            "end": row.end_at.isoformat(), "id": row.id})
    return out


def roster_overrides(session: Session, roster: CallRoster,
                     at: datetime | None = None) -> list[dict[str, Any]]:
    """A call roster's overrides: the dashboard's first, then the YAML's."""
    web = web_overrides(session, roster.network_id, "roster", at).get(roster.name, [])
    return [*web, *(roster.overrides or [])]


def is_away(responder: Responder, at: datetime | None = None) -> bool:
    """True while a responder is OFF."""
    return responder.away_until is not None and responder.away_until > (at or utcnow())


def step_out(responder: Responder, minutes: int | None, at: datetime | None = None) -> datetime:
    """OFF (for `minutes`, or until ON): returns until when."""
    at = at or utcnow()
    if minutes is None:
        responder.away_until = AWAY_OPEN
    else:
        responder.away_until = at + min(timedelta(minutes=minutes), MAX_AWAY)
    return responder.away_until


def step_in(responder: Responder) -> bool:
    """ON: back in every rotation and round; False when they were not OFF."""
    was = is_away(responder)
    responder.away_until = None
    return was


def on_call_now(session: Session, network: LegalNetwork,
                at: datetime | None = None) -> list[Responder]:
    """The network's lawyers in paging order now (overrides and OFF applied), reachable ones
    only: the first is who a page goes to."""
    at = at or utcnow()
    rotations = snapshot_rotations(network.rotations,
                                   web_overrides(session, network.id, "rotation", at))
    order = paging_order(rotations, network.timezone, at)
    if not order:
        return []
    people = {r.key: r for r in session.scalars(select(Responder).where(
        Responder.network_id == network.id, Responder.key.in_(order),
        Responder.role == "lawyer", Responder.active.is_(True),
        Responder.unreachable.is_(False)))}
    return [people[k] for k in order if k in people and not is_away(people[k], at)]


MAX_OVERRIDE = timedelta(days=31)


class OverrideError(Refusal):
    """An override that cannot be saved as asked, and why (a ValueError)."""


INPUT_SHAPES = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S")


def parse_local(text: str, timezone: str) -> datetime:
    """A wall-clock time of the network ("2026-12-03T18:00") as an aware time; OverrideError for
    one that is malformed, or that the timezone skips or repeats (a DST change)."""
    text = (text or "").strip()
    for shape in INPUT_SHAPES:
        try:
            naive = datetime.strptime(text, shape)
            break
        except ValueError:
            continue
    else:
        raise OverrideError("%(text)r is no date and time (YYYY-MM-DD HH:MM)", text=text[:40])
    zone = ZoneInfo(timezone)
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise OverrideError("%(time)s does not exist in %(zone)s (the clocks go forward): "
                            "choose another time", time=naive.strftime("%Y-%m-%d %H:%M"),
                            zone=timezone)
    if first.utcoffset() != second.utcoffset():
        raise OverrideError("%(time)s happens twice in %(zone)s (the clocks go back): "
                            "choose another time", time=naive.strftime("%Y-%m-%d %H:%M"),
                            zone=timezone)
    return first.astimezone(UTC)


def save_override(session: Session, network: LegalNetwork, *, kind: str, schedule: str,
                  responder: str, start: datetime, end: datetime, user_id: int | None,
                  override: ScheduleOverride | None = None,
                  at: datetime | None = None) -> ScheduleOverride:
    """Create (or change `override`): `responder` takes the network's rotation or roster
    `schedule` from `start` to `end`. OverrideError with what is wrong, and nothing saved."""
    at = at or utcnow()
    if kind not in KINDS:
        raise OverrideError("choose a rotation or a call roster")
    names = [r.name for r in (network.rotations if kind == "rotation" else network.rosters)]
    if schedule not in names:
        template = ("%(network)s has no rotation named %(name)r" if kind == "rotation"
                    else "%(network)s has no roster named %(name)r")
        raise OverrideError(template, network=network.name, name=schedule[:100])
    member = session.scalar(select(Responder).where(
        Responder.network_id == network.id, Responder.key == responder))
    if member is None:
        raise OverrideError("%(key)r is not a member of %(network)s", key=responder[:64],
                            network=network.name)
    if kind == "rotation" and member.role != "lawyer":
        raise OverrideError("%(name)s is not a lawyer: only lawyers take the on-call rotation",
                            name=member.name)
    if not member.active or member.unreachable:
        raise OverrideError("%(name)s cannot be reached now (inactive or unreachable)",
                            name=member.name)
    if end <= start:
        raise OverrideError("the override must end after it starts")
    if end <= at:
        raise OverrideError("the override is over already: it must end in the future")
    if end - start > MAX_OVERRIDE:
        raise OverrideError("an override lasts at most 31 days; change the rotation in the "
                            "YAML for longer")
    if override is None:
        override = ScheduleOverride(network_id=network.id, created_by_id=user_id)
        session.add(override)
    override.kind, override.schedule, override.responder = kind, schedule, responder
    override.start_at, override.end_at = start, end
    session.flush()
    return override


MORNING = time(8, 0)  # OFF tonight lasts until this local time


def minutes_until(word: str, timezone: str, at: datetime | None = None) -> int:
    """Minutes from `at` to the end of an OFF named by a word: "tonight" until the next 08:00,
    "today" until the next midnight, in the network's timezone."""
    at = at or utcnow()
    zone = ZoneInfo(timezone)
    local = at.astimezone(zone)
    if word == "tonight":
        end = datetime.combine(local.date(), MORNING, tzinfo=zone)
        if end <= local:
            end += timedelta(days=1)
    else:
        end = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone)
    return max(1, int((end - local).total_seconds() // 60))


def covering(session: Session, responder: Responder,
             at: datetime | None = None) -> tuple[str, dict[str, Any]]:
    """Who covers while `responder` is OFF: (away_cover_* template, its values). A verifier:
    how many other verifiers of their jurisdictions can be asked; anyone else: the network's
    lawyer paged first now (not them)."""
    at = at or utcnow()
    if responder.role == "verifier":
        ids = [j.id for j in responder.jurisdictions]
        count = session.scalar(select(func.count(func.distinct(Responder.id))).join(
            responder_jurisdictions, responder_jurisdictions.c.responder_id == Responder.id)
            .where(responder_jurisdictions.c.jurisdiction_id.in_(ids),
                   Responder.role == "verifier", Responder.id != responder.id,
                   reachable_now(at))) if ids else 0
        return ("away_cover_verifiers", {"count": count}) if count else \
            ("away_cover_nobody", {})
    network = responder.network
    first = [r for r in on_call_now(session, network, at) if r.id != responder.id][:1] \
        if network is not None else []
    return ("away_cover_lawyer", {"name": first[0].name}) if first else ("away_cover_nobody", {})
