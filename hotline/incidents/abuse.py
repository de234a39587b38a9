"""Abuse: per-reporter rate limits, signs of a fake flood, and denunciations of neighbours.

Nothing is dropped: over-limit messages are kept and flagged. Many first-time numbers at a few
places is what a raid looks like, so that alone is no alarm: verification stays the defence.
What a fake flood leaves besides (near-identical texts from different numbers, runs of
sequential numbers, a burst with no place) is marked on the incident with the reason, so a
dispatcher sees it; such an incident is never auto-verified, and a dispatcher may hold it.
A denunciation holds the incident until a dispatcher releases it.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from hotline.core.extensions import fetch_rows, for_driver
from hotline.core.policy import Policy
from hotline.jobs import outbox
from hotline.models import Message, Report, Reporter, utcnow
from hotline.privacy.vault import DecryptionError, Vault
from hotline.triage.places import fold

RECENT = 60  # first-time reports looked at for the signs of a fake flood

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

# the channels people write in on (a rate limit counts them together, whichever they use)
TEXT_CHANNELS = ("sms", "mms", "whatsapp")


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


_MESSAGES = Message.__table__
# a Core statement on the table (it runs for every message triaged): the ORM's costs 3x
_IN_WINDOW = select(func.count(_MESSAGES.c.id)).where(
    _MESSAGES.c.counterpart_hmac == bindparam("hmac"), _MESSAGES.c.direction == "inbound",
    _MESSAGES.c.channel.in_(TEXT_CHANNELS), _MESSAGES.c.received_at >= bindparam("start"),
    _MESSAGES.c.received_at < bindparam("end"), _MESSAGES.c.id <= bindparam("up_to"),
    _MESSAGES.c.flags["keyword"].as_string().is_(None))
_IN_WINDOW_PG = for_driver(_IN_WINDOW)


def counted_in_window(session: Session, phone_hmac: str, at: datetime,
                      up_to_message: int) -> int:
    """Messages that count against the limit, from this sender in the window of `at`, up to and
    including message `up_to_message`: inbound SMS/MMS that are not keywords (the same ones the
    webhook counts in Redis)."""
    window = rate_window(at)
    rows = fetch_rows(session, _IN_WINDOW, _IN_WINDOW_PG, {
        "hmac": phone_hmac, "start": window.start, "end": window.end, "up_to": up_to_message})
    return rows[0][0] or 0


def over_rate_limit(count: int) -> bool:
    """True when the `count`-th message of a window is over the per-reporter limit."""
    return count > Policy().rate_limit_messages


def message_over_rate_limit(session: Session, message: Message,
                            policy: Policy | None = None) -> bool:
    """Whether a stored message was over its sender's limit (the job's view: the database).

    With the policy of the report's jurisdiction, its `rate_limit_messages` in its
    `rate_limit_minutes` (up to this message) decide; the webhook, which answers before the
    place is known, counts against the default limit.
    """
    if message.counterpart_hmac is None or (message.flags or {}).get("keyword"):
        return False
    default = Policy()
    if policy is None or (policy.rate_limit_messages, policy.rate_limit_minutes) == (
            default.rate_limit_messages, default.rate_limit_minutes):
        return over_rate_limit(counted_in_window(session, message.counterpart_hmac,
                                                 message.received_at, message.id))
    since = message.received_at - timedelta(minutes=policy.rate_limit_minutes)
    count = session.scalar(select(func.count(Message.id)).where(
        Message.counterpart_hmac == message.counterpart_hmac, Message.direction == "inbound",
        Message.channel.in_(TEXT_CHANNELS), Message.received_at > since,
        Message.id <= message.id, Message.flags["keyword"].as_string().is_(None))) or 0
    return count > policy.rate_limit_messages


def _shape(text: str) -> str:
    """A text as compared for "near-identical": folded, no digits, punctuation or extra space
    (so "ICE at 18th & Ashland!!" and "ice at 18th and ashland" are the same shape)."""
    return " ".join(re.sub(r"[^a-z ]+", " ", fold(text).replace("&", " and ")).split())


def _longest_run(numbers: list[int]) -> int:
    run = best = 1 if numbers else 0
    for a, b in zip(numbers, numbers[1:], strict=False):
        run = run + 1 if b == a + 1 else 1
        best = max(best, run)
    return best


def flood_query(jurisdiction_id: int | None, since: datetime) -> Select:
    """The jurisdiction's latest reports since `since` by reporters first seen since then."""
    query = select(Report.text_enc, Report.needs_location, Reporter.id, Reporter.phone_enc) \
        .join(Reporter, Report.reporter_id == Reporter.id) \
        .where(Reporter.created_at >= since, Report.created_at >= since)
    query = query.where(Report.jurisdiction_id == jurisdiction_id) if jurisdiction_id \
        else query.where(Report.jurisdiction_id.is_(None))
    return query.order_by(Report.id.desc()).limit(RECENT)


def flood_signs(session: Session, vault: Vault, jurisdiction_id: int | None,
                policy: Policy) -> list[str]:
    """What looks fabricated among this jurisdiction's first-time reporters of the last
    minutes, once there are at least `flood_new_numbers` of them; [] when nothing does."""
    since = utcnow() - timedelta(minutes=policy.flood_minutes)
    rows = session.execute(flood_query(jurisdiction_id, since)).all()
    reporters = {row.id: row for row in rows}
    if len(reporters) < policy.flood_new_numbers:
        return []
    signs = []
    shapes = Counter(_shape(_open(vault, row.text_enc, "report.text"))
                     for row in reporters.values())
    shape, same = shapes.most_common(1)[0]
    if shape and same >= max(3, policy.flood_new_numbers // 2):
        signs.append(f"{same} near-identical texts from different first-time numbers")
    numbers = sorted({int(digits) for row in reporters.values()
                      if (digits := re.sub(r"\D", "", _open(vault, row.phone_enc,
                                                            "reporter.phone")))})
    run = _longest_run(numbers)
    if run >= 3:
        signs.append(f"{run} sequential phone numbers among them")
    no_place = sum(1 for row in rows if row.needs_location)
    if no_place >= policy.flood_new_numbers:
        signs.append(f"{no_place} first-time reports with no place")
    return signs


def _open(vault: Vault, token: str | None, context: str) -> str:
    try:
        return vault.decrypt(token, context) or ""
    except DecryptionError:
        return ""
