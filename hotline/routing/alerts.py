"""Delivery outcomes of alerts: one notification of one responder about one incident, tracked
from Twilio's status callbacks to an answer. `on_delivery` receives messaging's
`delivery_changed` signal (connected in `hotline.routing.receivers`); a failed page moves the
escalation on, a failed verifier request asks the next verifier."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from hotline.incidents import verification
from hotline.models import Alert, Message, utcnow
from hotline.routing import escalation

logger = logging.getLogger(__name__)

# message status -> alert status (answers, acks and declines are set by the responder's reply)
_FROM_MESSAGE = {"sent": "sent", "simulated": "sent", "delivered": "delivered", "read": "delivered",
                 "failed": "failed", "undelivered": "failed", "suppressed": "failed"}
_ANSWERED = {"acked", "declined", "expired", "withdrawn"}  # withdrawn: no longer needed


def on_delivery(message: Message, *, session: Session) -> None:
    """Receiver of `outbound.delivery_changed`: follow an alert's SMS through Twilio."""
    if message.alert_id:
        on_message_status(session, message)


def on_message_status(session: Session, message: Message) -> None:
    """Follow an alert's SMS through Twilio; a failure moves the escalation on at once."""
    alert = session.get(Alert, message.alert_id)
    if alert is None or alert.status in _ANSWERED:
        return
    status = _FROM_MESSAGE.get(message.status)
    if status is None or status == alert.status:
        return
    if alert.status == "delivered" and status == "sent":
        return
    alert.status = status
    alert.error_code = message.error_code
    now = utcnow()
    if status == "sent" and alert.sent_at is None:
        alert.sent_at = now
    elif status == "delivered":
        alert.delivered_at = now
    elif status == "failed":
        logger.warning("alert %s failed (code %s)", alert.id, message.error_code)
        if alert.kind == "verify":
            verification.on_verifier_failed(session, alert)
        elif alert.kind == "page":
            escalation.on_page_failed(session, alert)
