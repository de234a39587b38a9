"""Jobs of the `triage` queue."""

from __future__ import annotations

from hotline.core.extensions import db
from hotline.intake import dispatch, media
from workers.base import job


@job
def triage_message(message_id: int) -> None:
    """Process one stored inbound message: its media kept first, then a command, relay,
    follow-up answer, or new report."""
    dispatch.process_inbound_message(db.session, message_id)


@job
def fetch_media(message_id: int) -> None:
    """Fetch again what a message's triage could not fetch (or delete at Twilio) in time."""
    media.collect(db.session, message_id, budget=500.0)
