"""Jobs of the `alerts` queue: outbound SMS."""

from __future__ import annotations

from hotline.core.extensions import db
from hotline.messaging import outbound
from workers.base import job


@job
def send_sms(message_id: int) -> str:
    """Send one queued outbound SMS (at most once)."""
    return outbound.send_message(db.session, message_id)
