"""Verification before broadcast: verifiers go and look, dispatchers decide, nothing spreads a
rumour. Outcomes: confirmed (verified, then routed), false alarm, or unable to verify."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hotline.core.distances import distance_m
from hotline.core.policy import Policy
from hotline.incidents import credibility, lifecycle
from hotline.incidents.geography import policy_for
from hotline.jobs import outbox
from hotline.messaging import notify
from hotline.models import (
    Alert,
    Incident,
    IncidentEvent,
    Jurisdiction,
    Message,
    Report,
    Reporter,
    Responder,
    reachable_now,
    responder_jurisdictions,
    utcnow,
)

logger = logging.getLogger(__name__)


def policy_of(session: Session, incident: Incident) -> Policy:
    """The incident's jurisdiction's policy."""
    return policy_for(session, incident.jurisdiction_id)


def policy_timezone(session: Session, incident: Incident) -> str | None:
    """The timezone of the incident's jurisdiction."""
    jurisdiction = session.get(Jurisdiction, incident.jurisdiction_id) \
        if incident.jurisdiction_id else None
    return jurisdiction.timezone if jurisdiction else None


def report_languages(session: Session, incident: Incident) -> set[str]:
    """The languages the incident's reports are written in (codes, "zh" for both scripts)."""
    return {language.partition("-")[0] for language in session.scalars(
        select(Report.language).where(Report.incident_id == incident.id)) if language}


def candidate_verifiers(session: Session, incident: Incident) -> list[Responder]:
    """Available verifiers of the jurisdiction, nearest first; speakers of the reports' language
    before others at a similar distance."""
    if incident.jurisdiction_id is None:
        return []
    verifiers = session.scalars(
        select(Responder).join(responder_jurisdictions,
                               responder_jurisdictions.c.responder_id == Responder.id)
        .where(responder_jurisdictions.c.jurisdiction_id == incident.jurisdiction_id,
               Responder.role == "verifier", reachable_now(utcnow()))).all()
    asked = set(session.scalars(select(Alert.responder_id).where(
        Alert.incident_id == incident.id, Alert.kind == "verify")))
    languages = report_languages(session, incident)

    def key(responder: Responder) -> tuple[float, int, int]:
        if incident.lat is not None and responder.lat is not None:
            distance = distance_m(incident.lat, incident.lon, responder.lat, responder.lon)
        else:
            distance = float("inf")
        speaks = 0 if languages & set(responder.languages or []) else 1
        # within 500 m of each other, language decides
        return (distance // 500, speaks, responder.id)

    return sorted((v for v in verifiers if v.id not in asked), key=key)


def after_report(session: Session, incident: Incident, created: bool, report: Report) -> None:
    """What a new report sets off: scoring, auto-verification, or a request to verifiers."""
    credibility.score_incident(session, incident, adding=report)
    if created:  # held or not, an incident nobody verifies expires
        policy = policy_of(session, incident)
        outbox.defer(session, "expire_incident", incident.id,
                   run_at=utcnow() + timedelta(minutes=policy.unconfirmed_after_min),
                   dedupe_key=f"expire:{incident.id}")
    if lifecycle.held(incident):
        return
    # signs of a fake flood: never auto-verified, but verifiers are still asked
    if incident.status in ("new", "verifying", "unconfirmed") and not lifecycle.marked(
            incident, "flood") and auto_verify_reason(session, incident, report):
        return
    if created:
        start_verification(session, incident)


def auto_verify_reason(session: Session, incident: Incident, report: Report) -> bool:
    """Apply the jurisdiction's auto-verification rules (off unless configured)."""
    policy = policy_of(session, incident)
    reason = None
    if policy.auto_verify_trusted_verifier and report.reporter_id:
        reporter = session.get(Reporter, report.reporter_id)
        trusted = session.scalar(select(Responder.id).where(
            Responder.phone_hmac == reporter.phone_hmac, Responder.trusted.is_(True),
            Responder.role == "verifier"))
        if trusted:
            reason = "a trusted verifier's own report"
    if reason is None and policy.auto_verify_reporters:
        distinct = session.scalar(select(func.count(func.distinct(Report.reporter_id))).where(
            Report.incident_id == incident.id))
        if distinct >= policy.auto_verify_reporters:
            reason = f"{distinct} independent reporters"
    if reason is None:
        return False
    confirm(session, incident, "system", reason=f"auto-verified: {reason}")
    return True


def start_verification(session: Session, incident: Incident) -> list[Alert]:
    """new -> verifying, and ask the nearest verifiers (stays new when there are none)."""
    if incident.status in ("new", "unconfirmed"):
        if not candidate_verifiers(session, incident):
            return request_verifiers(session, incident)  # records that nobody is available
        lifecycle.transition(session, incident, "verifying", "system")
    if incident.status != "verifying":
        return []
    return request_verifiers(session, incident)


def recheck(session: Session, incident: Incident, actor: str) -> list[Alert]:
    """A dispatcher asks verifiers to look again at a routed or acknowledged incident: a round
    of requests, the incident staying with its lawyer; what they answer goes on its timeline
    (a NO marks it contested, for the dispatcher to decide)."""
    lifecycle.record_event(session, incident, "recheck_asked", actor=actor)
    return _recheck_round(session, incident)


def _recheck_round(session: Session, incident: Incident) -> list[Alert]:
    """Ask the next verifiers to look again at a routed incident; the round is remembered
    (`recheck_round`) so that its deadline asks the next ones, and no other round's does."""
    alerts = request_verifiers(session, incident)
    lifecycle.set_recheck_round(incident, incident.verify_round if alerts else None)
    return alerts


def request_verifiers(session: Session, incident: Incident) -> list[Alert]:
    """Ask the next verifiers (a round), and arm the round's deadline."""
    policy = policy_of(session, incident)
    asked = session.scalar(select(func.count(Alert.id)).where(
        Alert.incident_id == incident.id, Alert.kind == "verify")) or 0
    room = max(0, policy.max_verifiers - asked)
    chosen = candidate_verifiers(session, incident)[:min(policy.verifiers_per_round, room)]
    round_ = (incident.verify_round if incident.verify_round is not None else -1) + 1
    if not chosen:
        if lifecycle.mark(incident, "no_verifier"):
            lifecycle.record_event(session, incident, "no_verifier_available")
        return []
    incident.verify_round = round_
    alerts = []
    for verifier in chosen:
        alert = Alert(incident_id=incident.id, responder_id=verifier.id, kind="verify",
                      step=round_, round=0, status="queued")
        session.add(alert)
        session.flush()
        language = notify.responder_language(verifier)
        notify.to_responder(session, verifier, "verify_request", alert, code=incident.code,
                            summary=notify.summary(incident, language, policy_timezone(
                                session, incident)))
        alerts.append(alert)
    lifecycle.record_event(session, incident, "verifiers_asked", round=round_,
                           verifiers=[v.name for v in chosen])
    outbox.defer(session, "verification_timeout", incident.id, round_,
               run_at=utcnow() + timedelta(minutes=policy.verify_deadline_min),
               dedupe_key=f"verify:{incident.id}:{round_}")
    return alerts


def tell_verifiers_the_place(session: Session, incident: Incident, report: Report) -> int:
    """A report joined with a better place (the answer to "where?"): the verifiers asked and
    not yet answered are sent it. Returns how many were told."""
    if incident.status != "verifying":
        return 0
    place = (report.location or {}).get("text") or incident.location_text
    if not place:
        return 0
    waiting = session.scalars(select(Responder).join(Alert, Alert.responder_id == Responder.id)
                              .where(Alert.incident_id == incident.id, Alert.kind == "verify",
                                     Alert.status.in_(("queued", "sent", "delivered")))
                              .order_by(Responder.id)).all()
    for verifier in waiting:
        notify.to_responder(session, verifier, "verify_place", about=incident,
                            code=incident.code, place=place)
    return len(waiting)


def on_timeout(session: Session, incident_id: int, round_: int) -> None:
    """A verification round's deadline: nobody answered, so ask the next verifier."""
    incident = lifecycle.lock(session, incident_id)
    if incident is None or incident.verify_round != round_:
        return  # gone, or stale: a later round (or an ETA) superseded it
    # a round of verifying, or of a dispatcher's re-verify of a routed incident
    recheck = incident.status in ("routed", "acknowledged") and \
        (incident.flags or {}).get("recheck_round") == round_
    if incident.status != "verifying" and not recheck:
        return
    for alert in session.scalars(select(Alert).where(
            Alert.incident_id == incident.id, Alert.kind == "verify", Alert.step == round_,
            Alert.status.not_in(("acked", "declined", "withdrawn")))):
        alert.status = "expired"
    if recheck:
        _recheck_round(session, incident)
    else:
        request_verifiers(session, incident)


def on_verifier_failed(session: Session, alert: Alert) -> None:
    """The verify SMS could not be delivered: ask the next verifier at once."""
    incident = lifecycle.lock(session, alert.incident_id)
    if incident is None or incident.status != "verifying":
        return
    if incident.verify_round == alert.step:
        request_verifiers(session, incident)


def confirm(session: Session, incident: Incident, actor: str, reason: str | None = None) -> None:
    """Verified: update reputations, tell the verifiers still asked that they need not go, and
    (unless held) hand it to whoever routes verified incidents (`lifecycle.incident_verified`;
    routing subscribes)."""
    lifecycle.transition(session, incident, "verified", actor, reason=reason)
    stand_down(session, incident, "verify_not_needed")
    credibility.record_outcome(session, incident, confirmed=True)
    credibility.score_incident(session, incident)
    if not lifecycle.held(incident):
        lifecycle.incident_verified.send(incident, session=session, actor=actor)


def dismiss(session: Session, incident: Incident, actor: str, reason: str | None = None) -> None:
    """False alarm: reputations fall, and anyone already told gets a retraction."""
    lifecycle.transition(session, incident, "false_alarm", actor, reason=reason)
    credibility.record_outcome(session, incident, confirmed=False)
    _tell_alerted(session, incident, "retraction")
    stand_down(session, incident, None)  # the retraction told them


def resolve(session: Session, incident: Incident, actor: str, note: str | None = None) -> None:
    """Resolved: everyone who was alerted gets an all-clear."""
    lifecycle.transition(session, incident, "resolved", actor, note=note)
    _tell_alerted(session, incident, "all_clear")
    stand_down(session, incident, None)  # the all-clear told them


# a verifier's request not answered yet
OPEN = ("queued", "sent", "delivered")


def stand_down(session: Session, incident: Incident, template: str | None,
               **values: str) -> int:
    """The verifiers asked about the incident who have not answered: their requests are
    withdrawn (a request still queued is never sent), and those whose request went out are
    sent `template` (none: they were told already). Returns how many were told."""
    waiting = session.execute(
        select(Alert, Responder).join(Responder, Responder.id == Alert.responder_id)
        .where(Alert.incident_id == incident.id, Alert.kind == "verify",
               Alert.status.in_(OPEN)).order_by(Alert.id)).all()
    told: list[Responder] = []
    for alert, verifier in waiting:
        alert.status = "withdrawn"
        unsent = session.execute(update(Message).where(
            Message.alert_id == alert.id, Message.status == "queued")
            .values(status="suppressed")).rowcount
        if template is not None and not unsent and verifier not in told:
            notify.to_responder(session, verifier, template, alert, code=incident.code,
                                **values)
            told.append(verifier)
    if waiting:
        lifecycle.record_event(session, incident, "verifiers_stood_down",
                               stood_down=sorted({v.name for _, v in waiting}),
                               told=len(told))
    return len(told)


def tell_merged(session: Session, incident: Incident, into: Incident) -> int:
    """`incident` was merged into `into`: the verifiers still asked about it are stood down,
    and everyone who was sent a page or a request about it is told the code that carries on.
    Returns how many were told."""
    told = {responder.id for responder in session.scalars(
        select(Responder).join(Alert, Alert.responder_id == Responder.id).where(
            Alert.incident_id == incident.id, Alert.kind.in_(("page", "verify")),
            Alert.status.in_(("sent", "delivered", "acked"))))}
    stand_down(session, incident, None)
    for responder in session.scalars(select(Responder).where(Responder.id.in_(told))
                                     .order_by(Responder.id)):
        notify.to_responder(session, responder, "merged_notice", about=incident,
                            code=incident.code,
                            into=into.code)
    return len(told)


def _tell_alerted(session: Session, incident: Incident, template: str) -> int:
    told = select(Alert.responder_id).where(
        Alert.incident_id == incident.id, Alert.kind.in_(("page", "verify")),
        Alert.status.in_(("sent", "delivered", "acked", "declined", "expired")))
    responders = session.scalars(select(Responder).where(Responder.id.in_(told))
                                 .order_by(Responder.id)).all()
    for responder in responders:
        alert = Alert(incident_id=incident.id, responder_id=responder.id, kind=template[:16],
                      step=0, round=0, status="queued")
        exists = session.scalar(select(Alert.id).where(
            Alert.incident_id == incident.id, Alert.responder_id == responder.id,
            Alert.kind == alert.kind))
        if exists:
            continue
        session.add(alert)
        session.flush()
        notify.to_responder(session, responder, template, alert, code=incident.code,
                            place=incident.location_text or "-")
    if responders:
        lifecycle.record_event(session, incident, template, told=len(responders))
    return len(responders)


def answer(session: Session, responder: Responder, incident: Incident, verb: str,
           argument: str) -> tuple[str, dict]:
    """A verifier's YES / NO / UNABLE / ETA. Returns (template, values) for the reply."""
    incident = lifecycle.lock(session, incident.id)
    alerts = session.scalars(select(Alert).where(
        Alert.incident_id == incident.id, Alert.responder_id == responder.id,
        Alert.kind == "verify")).all()
    values = {"code": incident.code}
    if not alerts:
        return "not_alerted", values
    if incident.status in ("routed", "acknowledged") and \
            any(alert.status in OPEN for alert in alerts):
        return _answer_recheck(session, responder, incident, verb, alerts)
    if incident.status != "verifying":
        return "already_closed", {**values, "status": notify.label(
            f"status_{incident.status}", notify.responder_language(responder))}
    now = utcnow()
    actor = f"responder:{responder.key}"
    if verb == "eta":
        minutes = max(1, min(int(argument.split()[0]), 120))
        lifecycle.record_event(session, incident, "verifier_eta", actor=actor, minutes=minutes)
        round_ = incident.verify_round or 0
        incident.verify_round = round_ + 1  # supersede the old deadline
        outbox.defer(session, "verification_timeout", incident.id, round_ + 1,
                   run_at=now + timedelta(minutes=minutes + 5),
                   dedupe_key=f"verify:{incident.id}:{round_ + 1}")
        return "eta_thanks", {**values, "minutes": minutes}
    for alert in alerts:
        alert.answered_at = now
        alert.status = "acked" if verb == "yes" else "declined"
    language = notify.responder_language(responder)
    if verb == "yes":
        confirm(session, incident, actor, reason="verifier saw it")
        outcome = notify.label("outcome_confirmed", language)
    elif verb == "no":
        lifecycle.record_event(session, incident, "verifier_no", actor=actor)
        session.flush()
        noes = session.scalar(select(func.count(func.distinct(IncidentEvent.actor))).where(
            IncidentEvent.incident_id == incident.id, IncidentEvent.kind == "verifier_no"))
        needed = policy_of(session, incident).false_alarm_after_no
        if noes >= needed:
            dismiss(session, incident, actor, reason=f"{noes} verifier(s) found nothing")
            outcome = notify.label("outcome_false_alarm", language)
        else:
            # one NO is not a false alarm: someone may have looked at the wrong corner
            if lifecycle.mark(incident, "contested"):
                lifecycle.record_event(session, incident, "flagged", flags=["contested"])
            request_verifiers(session, incident)
            outcome = notify.label("outcome_contested", language)
    else:
        lifecycle.record_event(session, incident, "verifier_unable", actor=actor)
        request_verifiers(session, incident)
        outcome = notify.label("outcome_unable", language)
    return "verify_thanks", {**values, "outcome": outcome}


def _answer_recheck(session: Session, responder: Responder, incident: Incident, verb: str,
                    alerts: list[Alert]) -> tuple[str, dict]:
    """A verifier's answer to a dispatcher's recheck of a routed incident: recorded, never a
    change of state (a lawyer is on it; a dispatcher decides)."""
    language = notify.responder_language(responder)
    values = {"code": incident.code}
    actor = f"responder:{responder.key}"
    if verb == "eta":
        lifecycle.record_event(session, incident, "verifier_eta", actor=actor)
        return "verify_thanks", {**values, "outcome": notify.label(
            f"status_{incident.status}", language)}
    now = utcnow()
    for alert in alerts:
        if alert.status in OPEN:
            alert.answered_at = now
            alert.status = "acked" if verb == "yes" else "declined"
    if verb == "yes":
        lifecycle.record_event(session, incident, "verifier_still_there", actor=actor)
        stand_down(session, incident, "verify_not_needed")  # the others need not go now
        lifecycle.set_recheck_round(incident, None)  # the re-verify is answered
        outcome = notify.label("outcome_confirmed", language)
    elif verb == "no":
        lifecycle.record_event(session, incident, "verifier_no", actor=actor)
        if lifecycle.mark(incident, "contested"):
            lifecycle.record_event(session, incident, "flagged", flags=["contested"])
        outcome = notify.label("outcome_contested", language)
        _recheck_round(session, incident)
    else:
        lifecycle.record_event(session, incident, "verifier_unable", actor=actor)
        _recheck_round(session, incident)
        outcome = notify.label("outcome_unable", language)
    return "verify_thanks", {**values, "outcome": outcome}


def expire(session: Session, incident_id: int) -> None:
    """Nobody verified it in time: unconfirmed (it stays visible; a dispatcher may still act)."""
    incident = lifecycle.lock(session, incident_id)
    if incident is None or incident.status not in ("new", "verifying"):
        return
    lifecycle.transition(session, incident, "unconfirmed", "system",
                         reason="not verified within the window")
