"""Jobs of the `triage` queue."""

from __future__ import annotations

from hotline import intake
from hotline.extensions import db
from workers.base import job


@job
def triage_message(message_id: int) -> None:
    """Process one stored inbound message: command, relay, follow-up answer, or new report."""
    intake.process_inbound_message(db.session, message_id)
