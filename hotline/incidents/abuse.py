"""Abuse: per-reporter rate limits, floods of new numbers, and denunciations of neighbours.

Nothing is dropped: over-limit messages are kept and flagged; flagged incidents wait for a
dispatcher and are never verified or routed automatically.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.core.policy import Policy
from hotline.jobs import outbox
from hotline.models import Message, Report, Reporter, utcnow
from hotline.triage.places import fold

_UNDOCUMENTED = re.compile(
    r"\b(undocumented|illegal(?:s| alien| immigrant)?|illegally|no papers|without papers|"
    r"sin papeles|indocumentad[oa]s?|ilegal(?:es)?|mojad[oa]s?|no tiene(?:n)? papeles|"
    r"no es legal|overstay\w*)\b")
_PERSON = re.compile(
    r"\b(my neighbou?r|neighbou?rs?|mi vecin[oa]|vecin[oa]s?|lives? (?:at|in|on)|vive(?:n)? en|"
    r"his name|her name|se llama|named|apartment|apt\.?|depto|departamento|unit \d+|"
    r"house at|casa (?:de|en)|report (?:him|her|them)|denunciar|deport (?:him|her|them)|"
    r"works at|trabaja en)\b")
_HOUSE_NUMBER = re.compile(r"\b\d{2,6}\s+[a-z]")


def looks_like_denunciation(text: str) -> bool:
    """True when a text names someone as undocumented or points at a private home."""
    folded = fold(text)
    if not _UNDOCUMENTED.search(folded):
        return False
    return bool(_PERSON.search(folded) or _HOUSE_NUMBER.search(folded))


class RateWindow(NamedTuple):
    """One fixed rate-limit window: its number (for the Redis key), where it starts and ends."""

    number: int
    start: datetime
    end: datetime


def rate_window(at: datetime) -> RateWindow:
    """The fixed rate-limit window `at` falls in."""
    seconds = Policy().rate_limit_minutes * 60
    number = int(at.timestamp() // seconds)
    start = datetime.fromtimestamp(number * seconds, UTC)
    return RateWindow(number, start, start + timedelta(seconds=seconds))


def rate_counter(phone_hmac: str, at: datetime) -> outbox.Counter:
    """The Redis counter of this sender's messages in the window of `at` (keyed by the HMAC,
    never the number); it expires a window after its own has ended."""
    window = rate_window(at)
    return outbox.Counter(f"hotline:rate:{phone_hmac[:32]}:{window.number}",
                        ttl=int((window.end - window.start).total_seconds()) * 2)


def counted_in_window(session: Session, phone_hmac: str, at: datetime,
                      up_to_message: int) -> int:
    """Messages that count against the limit, from this sender in the window of `at`, up to and
    including message `up_to_message`: inbound SMS/MMS that are not keywords (the same ones the
    webhook counts in Redis)."""
    window = rate_window(at)
    return session.scalar(select(func.count(Message.id)).where(
        Message.counterpart_hmac == phone_hmac, Message.direction == "inbound",
        Message.channel.in_(("sms", "mms")), Message.received_at >= window.start,
        Message.received_at < window.end, Message.id <= up_to_message,
        Message.flags["keyword"].as_string().is_(None))) or 0


def over_rate_limit(count: int) -> bool:
    """True when the `count`-th message of a window is over the per-reporter limit."""
    return count > Policy().rate_limit_messages


def message_over_rate_limit(session: Session, message: Message) -> bool:
    """Whether a stored message was over its sender's limit (the job's view: the database)."""
    if message.counterpart_hmac is None or (message.flags or {}).get("keyword"):
        return False
    return over_rate_limit(counted_in_window(session, message.counterpart_hmac,
                                             message.received_at, message.id))


def is_flood(session: Session, jurisdiction_id: int | None, policy: Policy) -> bool:
    """Many first-time numbers reporting in one jurisdiction within minutes."""
    since = utcnow() - timedelta(minutes=policy.flood_minutes)
    query = select(func.count(func.distinct(Reporter.id))).join(
        Report, Report.reporter_id == Reporter.id).where(
        Reporter.created_at >= since, Report.created_at >= since)
    query = query.where(Report.jurisdiction_id == jurisdiction_id) if jurisdiction_id \
        else query.where(Report.jurisdiction_id.is_(None))
    return (session.scalar(query) or 0) >= policy.flood_new_numbers
