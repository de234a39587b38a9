"""Jobs of the `triage` queue."""

from __future__ import annotations

from hotline.core.extensions import db
from hotline.intake import dispatch
from workers.base import job


@job
def triage_message(message_id: int) -> None:
    """Process one stored inbound message: command, relay, follow-up answer, or new report."""
    dispatch.process_inbound_message(db.session, message_id)
