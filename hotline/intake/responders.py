"""Responders' commands by SMS: a verifier's YES / NO / ETA / UNABLE, a lawyer's ACCEPT /
DECLINE (or 1 / 2) and MSG, carried out and answered in the responder's language."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.incidents import lifecycle, verification
from hotline.intake import conversation
from hotline.intake.commands import Command
from hotline.messaging import notify
from hotline.models import Alert, Incident, Message, Responder
from hotline.routing import escalation

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
        notify.to_responder(session, responder, template, **values)
    logger.info("command %s from responder %s: %s", command.verb, responder.key, template)
    return template


def _acknowledger_name(session: Session, incident: Incident) -> str:
    if incident.acknowledged_by_id is None:
        return "-"
    responder = session.get(Responder, incident.acknowledged_by_id)
    return responder.name if responder else "-"
