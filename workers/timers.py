"""Jobs of the `timers` queue: escalation steps, verification deadlines, expiry, and the end
of a follow-up question's wait."""

from __future__ import annotations

from hotline.core.extensions import db
from hotline.incidents import reports, verification
from hotline.routing import escalation
from workers.base import job


@job
def escalation_timer(incident_id: int, step: int, round_: int) -> None:
    """A step's wait is over: escalate unless someone accepted (stale timers do nothing)."""
    escalation.on_timer(db.session, incident_id, step, round_)


@job
def verification_timeout(incident_id: int, round_: int) -> None:
    """A verification round's deadline: ask the next verifier."""
    verification.on_timeout(db.session, incident_id, round_)


@job
def expire_incident(incident_id: int) -> None:
    """Unverified after its window: mark it unconfirmed."""
    verification.expire(db.session, incident_id)


@job
def follow_up_timeout(report_id: int) -> None:
    """Nobody answered "where?" in time: the report joins an incident as it is."""
    reports.follow_up_timeout(db.session, report_id)
