"""Responders' commands by SMS: a verifier's YES / NO / ETA / UNABLE, a lawyer's ACCEPT /
DECLINE (or 1 / 2) and MSG, anyone's OFF / ON / STATUS, carried out and answered in the
responder's language."""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.accounts.audit import audit
from hotline.core.languages import Languages
from hotline.incidents import lifecycle, verification
from hotline.intake import conversation
from hotline.intake.commands import Availability, Command
from hotline.messaging import notify
from hotline.models import Alert, Incident, Message, Responder, utcnow
from hotline.routing import escalation, schedules

logger = logging.getLogger(__name__)


def handle_command(session: Session, responder: Responder, command: Command,
                   message: Message) -> str:
    """Carry out a responder's reply and answer them by SMS; returns the template used."""
    if command.code is None:
        alert = escalation.latest_page(session, responder)
        incident = session.get(Incident, alert.incident_id) if alert else None
        code = incident.code if incident else "?"
    else:
        code = command.code
        incident = lifecycle.get_by_code(session, code)
    values: dict[str, Any] = {"code": code}
    if incident is None:
        template = "unknown_code"
    elif command.verb in ("yes", "no", "eta", "unable"):
        template, values = verification.answer(session, responder, incident, command.verb,
                                               command.argument)
    elif command.verb == "accept":
        template = escalation.accept(session, responder, incident)
    elif command.verb == "decline":
        template = escalation.decline(session, responder, incident)
    else:
        template = conversation.relay_to_reporters(session, responder, incident,
                                                   command.argument)
    if incident is not None:
        values.setdefault("status", notify.label(f"status_{incident.status}",
                                                 notify.responder_language(responder)))
        values.setdefault("name", _acknowledger_name(session, incident))
        message.alert_id = session.scalar(select(Alert.id).where(
            Alert.incident_id == incident.id, Alert.responder_id == responder.id)
            .order_by(Alert.id.desc()).limit(1))
    if template:
        notify.to_responder(session, responder, template, about=incident, **values)
    logger.info("command %s from responder %s: %s", command.verb, responder.key, template)
    return template


def _acknowledger_name(session: Session, incident: Incident) -> str:
    if incident.acknowledged_by_id is None:
        return "-"
    responder = session.get(Responder, incident.acknowledged_by_id)
    return responder.name if responder else "-"


def handle_availability(session: Session, responder: Responder, wanted: Availability,
                        languages: Languages) -> str:
    """A responder's OFF / ON / STATUS: out of (or back in) rotations, verifier rounds and call
    rosters, audited, and answered with what changed and who covers. Returns the template."""
    now = utcnow()
    timezone = responder.network.timezone if responder.network else "UTC"
    if wanted.verb == "off":
        minutes = schedules.minutes_until(wanted.until, timezone, now) if wanted.until \
            else wanted.minutes
        schedules.step_out(responder, minutes, now)
        template = "away_off_until" if minutes is not None else "away_off_open"
    elif wanted.verb == "on":
        schedules.step_in(responder)
        template = "away_back"
    else:
        template = "away_status_on"
        if schedules.is_away(responder, now):
            template = "away_status_off_open" if responder.away_until >= schedules.AWAY_OPEN \
                else "away_status_off_until"
    if wanted.verb != "status":
        audit(session, "responder.availability", responder.key, verb=wanted.verb,
              until=responder.away_until.isoformat() if responder.away_until else None)
    language = notify.responder_language(responder)
    cover_template, cover_values = schedules.covering(session, responder, now)
    values: dict[str, Any] = {
        "cover": notify.templates().text(cover_template, language, **cover_values)}
    if template.endswith("_until"):
        local = responder.away_until.astimezone(ZoneInfo(timezone))
        values["until"] = languages[language].when(local) if language in languages \
            else local.strftime("%a %H:%M")
    notify.to_responder(session, responder, template, **values)
    logger.info("availability %s from responder %s: %s", wanted.verb, responder.key, template)
    return template
