"""Retention: raw PII (bodies, numbers, report texts) is purged after the configured days."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from hotline.models import Message, Report, Reporter, utcnow


def purge_expired(session: Session, days: int) -> dict[str, int]:
    """Blank PII older than `days`; keeps the facts (counts, times, places). Flushes."""
    cutoff = utcnow() - timedelta(days=days)
    now = utcnow()
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
    return {"messages": messages, "reports": reports, "reporters": reporters}
