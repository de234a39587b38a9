"""Incidents: short codes, the locked accessor, status transitions, markers and the
append-only timeline. Every change of an incident starts from `lock`.

`incident_verified` is sent when an incident is confirmed and nothing holds it; routing
subscribes to it where the app is created (see `hotline.routing.receivers`).
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

from blinker import Namespace
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.core.extensions import driver_connection, for_driver
from hotline.core.refusals import Refusal
from hotline.models import Incident, IncidentEvent, Report, utcnow

logger = logging.getLogger(__name__)

# No 0/O, 1/I/L, U/V confusion: codes are read aloud and typed on phones.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
CODE_LENGTH = 4

TRANSITIONS: dict[str, set[str]] = {
    "new": {"verifying", "verified", "false_alarm", "unconfirmed", "merged", "resolved"},
    "verifying": {"verified", "false_alarm", "unconfirmed", "merged", "resolved", "new"},
    "verified": {"routed", "resolved", "false_alarm", "merged"},
    "routed": {"acknowledged", "resolved", "false_alarm", "merged"},
    "acknowledged": {"resolved", "false_alarm", "merged", "routed"},
    "unconfirmed": {"verifying", "verified", "false_alarm", "resolved", "merged"},
    "false_alarm": {"verified", "new"},
    "resolved": set(),
    "merged": set(),
}


# what a marker in `Incident.flags` tells a dispatcher, and who sets it
MARKERS = {
    "denunciation": "a report names a person or a private home (incidents.reports; held)",
    "hold": "a dispatcher holds it from every automatic step (incidents.actions; held)",
    "flood": "signs of a fake flood among many first-time numbers: near-identical texts, "
             "sequential numbers, a burst with no place (incidents.reports; verifiers are "
             "still asked, nothing is auto-verified)",
    "rate_limited": "a reporter over the rate limit (incidents.reports)",
    "no_verifier": "no verifier was available nearby (incidents.verification)",
    "contested": "a verifier found nothing; another is asked (incidents.verification)",
    "no_network": "no legal network serves the place (routing.escalation)",
    "escalation_exhausted": "every step was paged and nobody accepted (routing.escalation)",
}
HOLD_MARKERS = ("denunciation", "hold")  # a dispatcher decides; never automatic

signals = Namespace()
incident_verified = signals.signal("incident-verified")


class TransitionError(Refusal):
    """A status change the incident's lifecycle does not allow."""


# built once: `lock` runs for every report, and building a statement (and its cache key)
# costs about as much as running it
_LOCKED = select(Incident).with_for_update().execution_options(populate_existing=True)
_LOCKED_BY_ID = _LOCKED.where(Incident.id == bindparam("id"))
_LOCKED_BY_CODE = _LOCKED.where(Incident.code == bindparam("code"))


def lock(session: Session, incident_id: int) -> Incident | None:
    """The incident, locked for this transaction (a row lock on PostgreSQL) and read afresh:
    an incident already loaded in the session is refreshed, never served stale."""
    return session.scalars(_LOCKED_BY_ID, {"id": incident_id}).one_or_none()


def set_recheck_round(incident: Incident, round_: int | None) -> None:
    """The verifiers' round of a dispatcher's re-verify of a routed incident, whose deadline
    asks the next ones (None: no re-verify is waiting for an answer)."""
    flags = {k: v for k, v in (incident.flags or {}).items() if k != "recheck_round"}
    incident.flags = {**flags, "recheck_round": round_} if round_ is not None else flags


def mark(incident: Incident, *names: str, reason: str | None = None) -> list[str]:
    """Set markers on the incident (with the reason a dispatcher reads, when there is one);
    returns those that were not set before."""
    unknown = set(names) - MARKERS.keys()
    if unknown:
        raise ValueError(f"unknown incident markers: {sorted(unknown)}")
    flags = dict(incident.flags or {})
    new = [name for name in names if not flags.get(name)]
    if new:
        incident.flags = {**flags, **dict.fromkeys(new, reason[:300] if reason else True)}
    return new


def unmark(incident: Incident, *names: str) -> list[str]:
    """Clear markers; returns those that were set."""
    flags = dict(incident.flags or {})
    gone = [name for name in names if flags.pop(name, None)]
    if gone:
        incident.flags = flags
    return gone


def reason_of(incident: Incident, name: str) -> str | None:
    """Why a marker was set, when it says (flood: what was seen)."""
    value = (incident.flags or {}).get(name)
    return value if isinstance(value, str) else None


def marked(incident: Incident, name: str) -> bool:
    """Whether the incident carries this marker."""
    return bool((incident.flags or {}).get(name))


def held(incident: Incident) -> bool:
    """True when a marker keeps the incident from any automatic step."""
    return any(marked(incident, name) for name in HOLD_MARKERS)


def new_code(length: int = CODE_LENGTH) -> str:
    """A random short code such as 7Q4K."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def record_event(session: Session, incident: Incident, kind: str, actor: str = "system",
                 **data: Any) -> IncidentEvent:
    """Append one entry to an incident's timeline."""
    event = IncidentEvent(incident_id=incident.id, kind=kind, actor=actor, data=data, at=utcnow())
    session.add(event)
    return event


_EVENTS = IncidentEvent.__table__
_APPEND = insert(_EVENTS).inline().values(
    incident_id=bindparam("incident", type_=_EVENTS.c.incident_id.type),
    at=bindparam("at", type_=_EVENTS.c.at.type), kind=bindparam("kind", type_=_EVENTS.c.kind.type),
    actor=bindparam("actor", type_=_EVENTS.c.actor.type),
    data=bindparam("data", type_=_EVENTS.c.data.type))
_APPEND_PG = for_driver(_APPEND)


def append_event(session: Session, incident: Incident, kind: str, actor: str = "system",
                 **data: Any) -> None:
    """`record_event` for the entry every report adds: written at once, as one statement (at
    the driver on PostgreSQL), with no object in the session and nothing left for a flush.
    Flush first: the ids `data` names must exist, and the timeline keeps its order."""
    params = {"incident": incident.id, "at": utcnow(), "kind": kind, "actor": actor}
    driver = driver_connection(session)
    if driver is None:
        session.execute(_APPEND, {**params, "data": data})
    else:
        driver.execute(_APPEND_PG, {**params, "data": json.dumps(data)})


def create_incident(session: Session, report: Report, location_text: str | None) -> Incident:
    """A new incident for `report`, with a code unique across all incidents."""
    for attempt in range(12):
        length = CODE_LENGTH if attempt < 8 else CODE_LENGTH + 1
        incident = Incident(
            code=new_code(length), jurisdiction_id=report.jurisdiction_id, status="new",
            location_text=(location_text or "")[:300] or None, lat=report.lat, lon=report.lon,
            salute=dict(report.salute or {}), score=report.confidence,
            first_seen_at=report.created_at or utcnow(), last_seen_at=report.created_at
            or utcnow(),
        )
        try:
            with session.begin_nested():
                session.add(incident)
                session.flush()
        except IntegrityError:
            logger.info("incident code collision; drawing another")
            continue
        record_event(session, incident, "created", report_id=report.id)
        return incident
    raise RuntimeError("could not draw a free incident code")


def transition(session: Session, incident: Incident, status: str, actor: str,
               **data: Any) -> IncidentEvent:
    """Change an incident's status if its lifecycle allows it, and record who did it."""
    if status not in TRANSITIONS.get(incident.status, set()):
        raise TransitionError("cannot go from %(old)s to %(new)s", old=incident.status,
                              new=status)
    previous = incident.status
    incident.status = status
    now = utcnow()
    if status == "verified":
        incident.verified_at = now
    if status in ("resolved", "false_alarm"):
        incident.resolved_at = now
    return record_event(session, incident, "status", actor=actor, old=previous, new=status,
                        **data)


def get_by_code(session: Session, code: str) -> Incident | None:
    """The incident with this code (case-insensitive)."""
    return session.scalar(select(Incident).where(Incident.code == code.strip().upper()))


def lock_by_code(session: Session, code: str) -> Incident | None:
    """The incident with this code, locked and read afresh like `lock`."""
    return session.scalars(_LOCKED_BY_CODE, {"code": code.strip().upper()}).one_or_none()


def merge(session: Session, source: Incident, target: Incident, actor: str) -> None:
    """Fold `source` into `target`: its reports move, it becomes `merged`."""
    if source.id == target.id:
        raise TransitionError("cannot merge an incident into itself")
    if target.status in ("merged", "resolved", "false_alarm"):
        raise TransitionError("cannot merge into an incident that is %(status)s",
                              status=target.status)
    moved = session.scalars(select(Report).where(Report.incident_id == source.id)).all()
    for report in moved:
        report.incident_id = target.id
    target.first_seen_at = min(target.first_seen_at, source.first_seen_at)
    target.last_seen_at = max(target.last_seen_at, source.last_seen_at)
    transition(session, source, "merged", actor, into=target.code)
    source.merged_into_id = target.id
    record_event(session, target, "merged_in", actor=actor, source=source.code,
                 reports=[r.id for r in moved])
