"""Outbound SMS: the `alerts` queue (pages, verifier requests) and the `replies` queue
(acknowledgements, follow-up questions, relays)."""

from __future__ import annotations

from hotline.core.extensions import db
from hotline.messaging import outbound
from workers.base import job


@job
def send_sms(message_id: int) -> str:
    """Send one queued outbound SMS (at most once)."""
    return outbound.send_message(db.session, message_id)


@job
def send_reply(message_id: int) -> str:
    """Send one queued reply to a reporter (at most once, in the low lane)."""
    return outbound.send_message(db.session, message_id)
