"""Routing: page the legal network's on-call lawyer and escalate until someone accepts.

The network's policy and rotations are snapshotted onto the incident when it is routed. Each step
arms a timer (a durable outbox job, deduplicated per step). Every timer and every answer re-reads
the incident under a row lock and acts only if the incident is still on that step (the
active-escalation guard), so a stale or repeated timer changes nothing.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.incidents import lifecycle
from hotline.incidents.verification import report_languages
from hotline.jobs import outbox
from hotline.messaging import notify
from hotline.models import (
    Alert,
    EscalationPolicy,
    Incident,
    Jurisdiction,
    LegalNetwork,
    Report,
    Reporter,
    Responder,
    reachable_now,
    utcnow,
)
from hotline.routing import schedules
from hotline.routing.oncall import paging_order, snapshot_rotations

logger = logging.getLogger(__name__)
ANSWERED = ("acked", "declined", "expired")


def network_for(session: Session, incident: Incident) -> LegalNetwork | None:
    """The active legal network serving the incident's jurisdiction."""
    if incident.jurisdiction_id is None:
        return None
    jurisdiction = session.get(Jurisdiction, incident.jurisdiction_id)
    return next((n for n in sorted(jurisdiction.networks, key=lambda n: n.id) if n.active), None)


def snapshot(session: Session, network: LegalNetwork) -> dict[str, Any]:
    """The network's escalation policy and rotations as they are now."""
    policy = session.scalar(select(EscalationPolicy).where(
        EscalationPolicy.network_id == network.id).order_by(EscalationPolicy.id))
    steps = [{"target": s.target, "responder_key": s.responder_key,
              "wait_minutes": s.wait_minutes} for s in (policy.steps if policy else [])]
    if not steps:
        steps = [{"target": "network", "responder_key": None, "wait_minutes": 10}]
    return {"network_id": network.id, "network": network.name, "timezone": network.timezone,
            "repeat": policy.repeat if policy else 0, "steps": steps,
            "rotations": snapshot_rotations(network.rotations,
                                            schedules.web_overrides(session, network.id,
                                                                    "rotation")),
            "active": None, "taken": []}


def on_verified(incident: Incident, *, session: Session, actor: str) -> None:
    """Receiver of `lifecycle.incident_verified`: a confirmed incident goes to its network."""
    route(session, incident, actor)


def route(session: Session, incident: Incident, actor: str = "system") -> bool:
    """verified -> routed: snapshot the policy and run its first step. False if no network."""
    network = network_for(session, incident)
    if network is None:
        lifecycle.mark(incident, "no_network")
        lifecycle.record_event(session, incident, "routing_skipped", actor=actor,
                               reason="no legal network serves this place")
        return False
    incident.policy_snapshot = snapshot(session, network)
    lifecycle.transition(session, incident, "routed", actor, network=network.name)
    run_step(session, incident, 0, 0)
    return True


def _recipients(session: Session, incident: Incident, step: dict[str, Any],
                plan: dict[str, Any]) -> list[Responder]:
    network_id = plan["network_id"]
    members = {r.key: r for r in session.scalars(select(Responder).where(
        Responder.network_id == network_id, reachable_now(utcnow())))}
    order = [k for k in paging_order(plan["rotations"], plan["timezone"], utcnow())
             if k in members and members[k].role == "lawyer"]
    taken = set(plan.get("taken") or [])
    target = step["target"]
    if target == "on_call":
        keys = [k for k in order if k not in taken][:1]
    elif target == "next_in_rotation":
        # the next one in the rotation who speaks the reporters' language, else the next one
        left = [k for k in order if k not in taken]
        spoken = report_languages(session, incident)
        keys = ([k for k in left if spoken & set(members[k].languages or [])] or left)[:1]
    elif target == "network":
        keys = sorted(k for k, r in members.items() if r.role == "lawyer")
    elif target == "dispatchers":
        keys = sorted(k for k, r in members.items() if r.role == "dispatcher")
    else:
        keys = [step["responder_key"]] if step.get("responder_key") in members else []
    return [members[k] for k in keys]


def run_step(session: Session, incident: Incident, step_index: int, round_: int) -> list[Alert]:
    """Page the people of one step and arm its timer (idempotent per step and round)."""
    plan = dict(incident.policy_snapshot or {})
    step = plan["steps"][step_index]
    plan["active"] = [step_index, round_]
    recipients = _recipients(session, incident, step, plan)
    plan["taken"] = sorted(set(plan.get("taken") or []) | {r.key for r in recipients})
    incident.policy_snapshot = plan
    created = []
    for responder in recipients:
        exists = session.scalar(select(Alert.id).where(
            Alert.incident_id == incident.id, Alert.responder_id == responder.id,
            Alert.kind == "page", Alert.step == step_index, Alert.round == round_))
        if exists:
            continue
        alert = Alert(incident_id=incident.id, responder_id=responder.id, kind="page",
                      step=step_index, round=round_, status="queued")
        session.add(alert)
        session.flush()
        template = "escalation_exhausted" if step["target"] == "dispatchers" else "page"
        language = notify.responder_language(responder)
        notify.to_responder(session, responder, template, alert, code=incident.code,
                            summary=notify.summary(incident, language, plan.get("timezone")))
        created.append(alert)
    lifecycle.record_event(session, incident, "escalation_step", step=step_index, round=round_,
                           target=step["target"], paged=[r.name for r in recipients])
    logger.info("incident %s step %s round %s paged %d", incident.code, step_index, round_,
                len(recipients))
    outbox.defer(session, "escalation_timer", incident.id, step_index, round_,
               run_at=utcnow() + timedelta(minutes=step["wait_minutes"]),
               dedupe_key=f"escalate:{incident.id}:{step_index}:{round_}")
    if not recipients:
        advance(session, incident, step_index, round_)  # nobody to page here: go on at once
    return created


def advance(session: Session, incident: Incident, step_index: int, round_: int) -> None:
    """Move from (step, round) to the next step, the next round, or give up."""
    plan = incident.policy_snapshot or {}
    if plan.get("active") != [step_index, round_] or incident.status != "routed":
        return
    if step_index + 1 < len(plan["steps"]):
        run_step(session, incident, step_index + 1, round_)
    elif round_ < plan.get("repeat", 0):
        plan = dict(plan)
        plan["taken"] = []
        incident.policy_snapshot = plan
        run_step(session, incident, 0, round_ + 1)
    else:
        plan = dict(plan)
        plan["active"] = None
        incident.policy_snapshot = plan
        lifecycle.mark(incident, "escalation_exhausted")
        lifecycle.record_event(session, incident, "escalation_exhausted")
        logger.warning("incident %s: escalation exhausted, nobody accepted", incident.code)


def on_timer(session: Session, incident_id: int, step_index: int, round_: int) -> None:
    """A step's wait is over: if nobody accepted and it is still that step, go on."""
    incident = lifecycle.lock(session, incident_id)
    if incident is None or incident.status != "routed":
        return
    plan = incident.policy_snapshot or {}
    if plan.get("active") != [step_index, round_]:
        logger.info("incident %s: stale timer for step %s round %s ignored", incident.code,
                    step_index, round_)
        return
    for alert in session.scalars(select(Alert).where(
            Alert.incident_id == incident.id, Alert.kind == "page", Alert.step == step_index,
            Alert.round == round_, Alert.status.not_in(ANSWERED))):
        alert.status = "expired"
    advance(session, incident, step_index, round_)


def on_page_failed(session: Session, alert: Alert) -> None:
    """An undelivered page: when everyone paged at this step failed or declined, go on now."""
    incident = lifecycle.lock(session, alert.incident_id)
    if incident is None or incident.status != "routed":
        return
    _advance_if_nobody_left(session, incident, alert.step, alert.round)


def _advance_if_nobody_left(session: Session, incident: Incident, step: int, round_: int) -> None:
    if (incident.policy_snapshot or {}).get("active") != [step, round_]:
        return
    waiting = session.scalar(select(Alert.id).where(
        Alert.incident_id == incident.id, Alert.kind == "page", Alert.step == step,
        Alert.round == round_, Alert.status.in_(("queued", "sent", "delivered"))))
    if waiting is None:
        advance(session, incident, step, round_)


def latest_page(session: Session, responder: Responder) -> Alert | None:
    """The responder's most recent page (for a bare 1 / 2 reply)."""
    return session.scalar(select(Alert).where(Alert.responder_id == responder.id,
                                              Alert.kind == "page")
                          .order_by(Alert.id.desc()).limit(1))


def accept(session: Session, responder: Responder, incident: Incident) -> str:
    """ACCEPT: the first accept claims the incident. Returns the template to answer with."""
    incident = lifecycle.lock(session, incident.id)
    alerts = session.scalars(select(Alert).where(
        Alert.incident_id == incident.id, Alert.responder_id == responder.id,
        Alert.kind == "page")).all()
    if not alerts:
        return "not_alerted"
    if incident.status in ("resolved", "false_alarm", "merged", "unconfirmed"):
        return "already_closed"
    if incident.status == "acknowledged":
        return "accepted" if incident.acknowledged_by_id == responder.id else "claimed_by_other"
    if incident.status != "routed":
        return "already_closed"
    now = utcnow()
    for alert in alerts:
        alert.status = "acked"
        alert.answered_at = now
    incident.acknowledged_by_id = responder.id
    plan = dict(incident.policy_snapshot or {})
    plan["active"] = None
    incident.policy_snapshot = plan
    lifecycle.transition(session, incident, "acknowledged", f"responder:{responder.key}",
                         name=responder.name)
    _tell_others(session, incident, responder)
    _tell_reporters(session, incident)
    return "accepted"


def _tell_others(session: Session, incident: Incident, taker: Responder) -> None:
    paged = select(Alert.responder_id).where(Alert.incident_id == incident.id,
                                             Alert.kind == "page")
    others = session.scalars(select(Responder).where(Responder.id.in_(paged),
                                                     Responder.id != taker.id)).all()
    for other in others:
        notify.to_responder(session, other, "claimed_by_other", about=incident,
                            code=incident.code, name=taker.name)


def _tell_reporters(session: Session, incident: Incident) -> None:
    plan = incident.policy_snapshot or {}
    reporters = consenting_reporters(session, incident)
    for reporter in reporters:
        notify.to_reporter(session, reporter, "help_coming", about=incident, code=incident.code,
                           network=plan.get("network", "the legal network"))


def consenting_reporters(session: Session, incident: Incident) -> list[Reporter]:
    """The incident's reporters who agreed to be contacted."""
    ids = select(Report.reporter_id).where(Report.incident_id == incident.id)
    return list(session.scalars(select(Reporter).where(
        Reporter.id.in_(ids), Reporter.consent_contact.is_(True)).order_by(Reporter.id)))


def decline(session: Session, responder: Responder, incident: Incident) -> str:
    """DECLINE: this responder passes; when nobody at the step is left, go on now."""
    incident = lifecycle.lock(session, incident.id)
    alerts = session.scalars(select(Alert).where(
        Alert.incident_id == incident.id, Alert.responder_id == responder.id,
        Alert.kind == "page", Alert.status.not_in(ANSWERED))).all()
    if not alerts and not session.scalar(select(Alert.id).where(
            Alert.incident_id == incident.id, Alert.responder_id == responder.id,
            Alert.kind == "page")):
        return "not_alerted"
    if incident.status != "routed":
        return "already_closed"
    for alert in alerts:
        alert.status = "declined"
        alert.answered_at = utcnow()
    lifecycle.record_event(session, incident, "declined", actor=f"responder:{responder.key}")
    active = (incident.policy_snapshot or {}).get("active")
    if active:
        _advance_if_nobody_left(session, incident, active[0], active[1])
    return "declined"
