"""Abuse: per-reporter rate limits, floods of new numbers, and denunciations of neighbours.

Nothing is dropped: over-limit messages are kept and flagged; flagged incidents wait for a
dispatcher and are never verified or routed automatically.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

from flask import Flask
from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline import jobs
from hotline.models import Message, Report, Reporter, utcnow
from hotline.policy import Policy
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


def over_rate_limit(app: Flask, session: Session, phone_hmac: str) -> bool:
    """Count this message against the reporter's limit; True when it is over."""
    policy = Policy()
    backend = jobs.backend_of(app)
    if isinstance(backend, jobs.RQBackend):
        bucket = int(time.time() // (policy.rate_limit_minutes * 60))
        key = f"hotline:rate:{phone_hmac[:32]}:{bucket}"
        try:
            pipe = backend.redis.pipeline()
            pipe.incr(key)
            pipe.expire(key, policy.rate_limit_minutes * 120)
            count = pipe.execute()[0]
            return int(count) > policy.rate_limit_messages
        except RedisError:
            pass  # fall back to the database when Redis is away
    since = utcnow() - timedelta(minutes=policy.rate_limit_minutes)
    count = session.scalar(select(func.count(Message.id)).where(
        Message.counterpart_hmac == phone_hmac, Message.direction == "inbound",
        Message.received_at >= since)) or 0
    return count + 1 > policy.rate_limit_messages


def is_flood(session: Session, jurisdiction_id: int | None, policy: Policy) -> bool:
    """Many first-time numbers reporting in one jurisdiction within minutes."""
    since = utcnow() - timedelta(minutes=policy.flood_minutes)
    query = select(func.count(func.distinct(Reporter.id))).join(
        Report, Report.reporter_id == Reporter.id).where(
        Reporter.created_at >= since, Report.created_at >= since)
    query = query.where(Report.jurisdiction_id == jurisdiction_id) if jurisdiction_id \
        else query.where(Report.jurisdiction_id.is_(None))
    return (session.scalar(query) or 0) >= policy.flood_new_numbers
