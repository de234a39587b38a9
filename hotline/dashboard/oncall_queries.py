"""The on-call page: per legal network, who is on call now, the next handoffs, the escalation
steps, who answered what today, who is OFF by text, and every override (the YAML's, read only,
and those made on this page, which admins and dispatchers edit). Names and languages only:
never a responder's number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.accounts.scope import Scope
from hotline.dashboard import call_queries
from hotline.models import (
    Alert,
    EscalationPolicy,
    Incident,
    LegalNetwork,
    Responder,
    ScheduleOverride,
    network_jurisdictions,
    utcnow,
)
from hotline.routing import schedules
from hotline.routing.oncall import next_handoffs, on_call, snapshot_rotations
from hotline.routing.shifts import local_time

STEP_WORDS = {
    "on_call": _l("the lawyer on call"),
    "next_in_rotation": _l("the next lawyer in the rotation (one who speaks the reporters' "
                           "language first)"),
    "network": _l("every lawyer of the network"),
    "dispatchers": _l("the dispatchers: nobody accepted"),
}
# a responder's role and an alert's status, in words (the values stay what logic compares)
ROLE_WORDS = {"lawyer": _l("lawyer"), "verifier": _l("verifier"), "dispatcher": _l("dispatcher")}
ALERT_WORDS = {"queued": _l("queued"), "sent": _l("sent"), "delivered": _l("delivered"),
               "failed": _l("failed"), "acked": _l("acked"), "declined": _l("declined"),
               "expired": _l("expired"), "withdrawn": _l("withdrawn")}
INPUT_SHAPE = "%Y-%m-%dT%H:%M"  # <input type="datetime-local">


@dataclass(frozen=True)
class Person:
    """A network member as the on-call page shows them."""

    key: str
    name: str
    role: str
    languages: list[str]
    reachable: bool  # active and not marked unreachable
    away_until: datetime | None  # OFF by text until then (AWAY_OPEN: until they send ON)

    @property
    def role_label(self) -> str:
        """The role in words."""
        word = ROLE_WORDS.get(self.role)
        return str(word) if word is not None else self.role

    @property
    def away_open(self) -> bool:
        """OFF until they send ON."""
        return self.away_until is not None and self.away_until >= schedules.AWAY_OPEN


@dataclass(frozen=True)
class OverrideRow:
    """One override of a rotation or roster; `id` None for one of the YAML's (read only)."""

    id: int | None
    kind: str
    schedule: str
    person: Person
    start: datetime
    end: datetime
    when: str  # now | upcoming | past
    start_input: str  # local, for the edit form
    end_input: str

    @property
    def when_label(self) -> str:
        """`when` in words."""
        return call_queries.when_label(self.when)


@dataclass(frozen=True)
class RotationView:
    """One layer of the schedule: who holds it now and who takes over next."""

    name: str
    period: str
    handoff: str
    members: list[Person]
    holder: Person | None  # on call in this layer now (an override counts)
    handoffs: list[tuple[datetime, Person]]


@dataclass(frozen=True)
class AnswerRow:
    """A page or verify request of today: who was asked about what, and what they said."""

    at: datetime
    person: Person
    kind: str
    status: str
    answered_at: datetime | None
    incident_id: int
    code: str

    @property
    def status_label(self) -> str:
        """The answer's status in words."""
        word = ALERT_WORDS.get(self.status)
        return str(word) if word is not None else self.status


@dataclass(frozen=True)
class NetworkView:
    """Everything the on-call page shows of one network."""

    slug: str
    name: str
    timezone: str
    paged_first: list[Person]  # paging order now: the first gets the page
    rotations: list[RotationView]
    steps: list[str]
    repeat: int
    answered: list[AnswerRow]
    away: list[Person]
    overrides: list[OverrideRow]
    rosters: list[call_queries.RosterView]
    members: list[Person]
    jurisdictions: list[str]


def networks_in_scope(session: Session, scope: Scope) -> list[LegalNetwork]:
    """The active networks a user sees: a lawyer's own; else those serving a jurisdiction of
    the scope (all for a scope without jurisdictions)."""
    query = select(LegalNetwork).where(LegalNetwork.active.is_(True)).order_by(LegalNetwork.name)
    if scope.lawyer:
        query = query.where(LegalNetwork.id == (scope.network_id or -1))
    elif scope.jurisdiction_ids is not None:
        query = query.where(LegalNetwork.id.in_(
            select(network_jurisdictions.c.network_id).where(
                network_jurisdictions.c.jurisdiction_id.in_(sorted(scope.jurisdiction_ids)))))
    return list(session.scalars(query))


def network_in_scope(session: Session, scope: Scope, slug: str) -> LegalNetwork | None:
    """One network by slug, if the user sees it."""
    return next((n for n in networks_in_scope(session, scope) if n.slug == slug), None)


def person(responder: Responder, at: datetime) -> Person:
    """A responder as the page shows them."""
    away = responder.away_until if schedules.is_away(responder, at) else None
    return Person(responder.key, responder.name, responder.role, list(responder.languages or []),
                  responder.active and not responder.unreachable, away)


def _stranger(key: str) -> Person:
    return Person(key, key, "?", [], False, None)


def local_input(value: datetime, zone: ZoneInfo) -> str:
    """A time as a datetime-local input holds it, in the network's timezone."""
    return value.astimezone(zone).strftime(INPUT_SHAPE)


def network_view(session: Session, network: LegalNetwork, scope: Scope,
                 at: datetime | None = None) -> NetworkView:
    """The on-call page of one network at `at`."""
    at = at or utcnow()
    members = {r.key: person(r, at) for r in session.scalars(
        select(Responder).where(Responder.network_id == network.id).order_by(Responder.name))}

    def who(key: str) -> Person:
        return members.get(key) or _stranger(key)

    web = schedules.web_overrides(session, network.id, "rotation", at)
    rotations = snapshot_rotations(network.rotations, web)
    rotation_views = []
    for rotation in rotations:
        order = on_call(rotation, network.timezone, at)
        rotation_views.append(RotationView(
            name=rotation["name"], period=rotation["period"], handoff=rotation["handoff"],
            members=[who(k) for k in rotation["members"]],
            holder=who(order[0]) if order else None,
            handoffs=[(moment, who(k)) for moment, k in next_handoffs(
                rotation, network.timezone, at)]))
    policy = session.scalar(select(EscalationPolicy).where(
        EscalationPolicy.network_id == network.id).order_by(EscalationPolicy.id))
    steps = [_("%(target)s, then wait %(n)s min",
               target=STEP_WORDS.get(s.target) or who(s.responder_key or "").name,
               n=s.wait_minutes) for s in (policy.steps if policy else [])]
    return NetworkView(
        slug=network.slug, name=network.name, timezone=network.timezone,
        paged_first=[who(r.key) for r in schedules.on_call_now(session, network, at)],
        rotations=rotation_views,
        steps=steps or [_("%(target)s, then wait %(n)s min",
                          target=STEP_WORDS["network"], n=10)],
        repeat=policy.repeat if policy else 0,
        answered=_answered_today(session, network, members, at),
        away=[p for p in members.values() if p.away_until is not None],
        overrides=_overrides(session, network, who, at),
        rosters=[r for r in call_queries.rosters_shown(session, scope, at)
                 if r.network == network.name],
        members=sorted((p for p in members.values() if p.reachable),
                       key=lambda p: (p.role != "lawyer", p.name)),
        jurisdictions=sorted(j.name for j in network.jurisdictions))


def _answered_today(session: Session, network: LegalNetwork, members: dict[str, Person],
                    at: datetime) -> list[AnswerRow]:
    zone = ZoneInfo(network.timezone)
    midnight = datetime.combine(at.astimezone(zone).date(), time(0), tzinfo=zone)
    rows = session.execute(
        select(Alert, Responder.key, Incident.code).join(
            Responder, Responder.id == Alert.responder_id).join(
            Incident, Incident.id == Alert.incident_id).where(
            Responder.network_id == network.id, Alert.kind.in_(("page", "verify")),
            Alert.created_at >= midnight).order_by(Alert.created_at.desc(), Alert.id.desc())
        .limit(200))
    return [AnswerRow(alert.created_at, members.get(key) or _stranger(key), alert.kind,
                      alert.status, alert.answered_at, alert.incident_id, code)
            for alert, key, code in rows]


def _overrides(session: Session, network: LegalNetwork, who: Any,  # noqa: ANN401
               at: datetime) -> list[OverrideRow]:
    """Every override not over for a day: the page's own, then the YAML's, by start."""
    zone = ZoneInfo(network.timezone)
    rows: list[OverrideRow] = []

    def add(id_: int | None, kind: str, schedule: str, key: str, start: datetime,
            end: datetime) -> None:
        if end < at - timedelta(days=1):
            return
        when = "now" if start <= at < end else "upcoming" if at < start else "past"
        rows.append(OverrideRow(id_, kind, schedule, who(key), start, end, when,
                                local_input(start, zone), local_input(end, zone)))

    for row in session.scalars(select(ScheduleOverride).where(
            ScheduleOverride.network_id == network.id)):
        add(row.id, row.kind, row.schedule, row.responder, row.start_at, row.end_at)
    for kind, schedules_ in (("rotation", network.rotations), ("roster", network.rosters)):
        for schedule in schedules_:
            for override in schedule.overrides or []:
                start = local_time(override["start"], zone)
                end = local_time(override["end"], zone)
                add(None, kind, schedule.name, override["responder"], start, end)
    return sorted(rows, key=lambda r: (r.id is None, r.start, r.schedule))


def board_on_call(session: Session, scope: Scope,
                  at: datetime | None = None) -> list[dict[str, Any]]:
    """Per jurisdiction of the scope, its network and the lawyer a page goes to now (None:
    nobody on call, a page goes to the whole network)."""
    at = at or utcnow()
    rows = []
    for network in networks_in_scope(session, scope):
        first = schedules.on_call_now(session, network, at)[:1]
        for jurisdiction in sorted(network.jurisdictions, key=lambda j: j.name):
            if scope.includes_jurisdiction(jurisdiction.id):
                rows.append({"slug": jurisdiction.slug, "jurisdiction": jurisdiction.name,
                             "network": network.name, "network_slug": network.slug,
                             "lawyer": first[0].name if first else None})
    return sorted(rows, key=lambda r: (r["jurisdiction"], r["network"]))


def signature(session: Session, scope: Scope) -> str:
    """What the board's on-call panel shows, as a string (a change makes the live board
    re-render: a handoff, an override, an OFF)."""
    return ";".join(f"{r['slug']}={r['lawyer']}" for r in board_on_call(session, scope))

