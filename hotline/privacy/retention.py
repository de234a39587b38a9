"""Retention: raw PII (bodies, numbers, texts, media, recordings) is purged after the
configured days; what remains is the pseudonymous structure (see docs/seizure.md)."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioRestException

from hotline.core.settings import Settings
from hotline.core.twilio_client import can_send, make_client
from hotline.models import Message, Report, Reporter, utcnow

logger = logging.getLogger(__name__)


def delete_recordings(session: Session, settings: Settings, cutoff: object) -> int:
    """Delete expired call recordings at Twilio; raises on failure so the job retries."""
    rows = session.scalars(select(Message).where(
        Message.channel == "voice", Message.received_at < cutoff,
        Message.purged_at.is_(None))).all()
    if not rows:
        return 0
    if not can_send(settings):
        logger.warning("%d recording(s) expired but no Twilio is configured to delete them",
                       len(rows))
        return 0
    client = make_client(settings)
    deleted = 0
    for message in rows:
        if not message.twilio_sid.startswith("RE"):
            continue
        try:
            client.recordings(message.twilio_sid).delete()
        except TwilioRestException as exc:
            if exc.status != 404:  # already gone is fine
                raise
        deleted += 1
    return deleted


def purge_expired(session: Session, days: int, settings: Settings | None = None
                  ) -> dict[str, int]:
    """Blank PII older than `days` (recordings deleted at Twilio first). Flushes."""
    cutoff = utcnow() - timedelta(days=days)
    now = utcnow()
    recordings = delete_recordings(session, settings, cutoff) if settings else 0
    messages = session.execute(
        update(Message).where(Message.received_at < cutoff, Message.purged_at.is_(None))
        .values(body_enc=None, counterpart_enc=None, media=[], purged_at=now)
    ).rowcount
    reports = session.execute(
        update(Report).where(Report.created_at < cutoff, Report.text_enc.is_not(None))
        .values(text_enc=None, media=[])
    ).rowcount
    reporters = session.execute(
        update(Reporter).where(Reporter.last_seen_at < cutoff, Reporter.phone_enc.is_not(None))
        .values(phone_enc=None)
    ).rowcount
    logger.info("retention purge (%d days): %d messages, %d reports, %d reporters, "
                "%d recordings", days, messages, reports, reporters, recordings)
    return {"messages": messages, "reports": reports, "reporters": reporters,
            "recordings": recordings}
