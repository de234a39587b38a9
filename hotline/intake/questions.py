"""Answers for people who ask (`triage.questions` tells a question from a report; one naming a
spot, a corner or a store, is a report all the same): "what are my rights?" gets the
know-your-rights text, "is ICE in Santa Ana today?" the verified state of that area right now.
The webhook answers nothing to what it takes for a question; this job answers, or (a report
after all) sends the acknowledgement the webhook held back. A question makes no incident, and
an answer never tells of an unverified, held or contested one. The message is kept, marked
with its kind and jurisdiction, so the dashboard can count the questions of each
jurisdiction (a rumour spreading shows there)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.incidents import lifecycle
from hotline.incidents.geography import current_gazetteer, jurisdiction_id
from hotline.messaging import notify
from hotline.models import Incident, Jurisdiction, Message, Reporter, utcnow
from hotline.triage import questions
from hotline.triage.location import find_location

logger = logging.getLogger(__name__)

RUMOUR_HOURS = 6  # how far back a rumour check looks for verified incidents
VERIFIED = ("verified", "routed", "acknowledged")
MAX_PLACES = 3


def answer(session: Session, message: Message, body: str, sender: str | None,
           reporter: Reporter | None) -> bool:
    """Answer the message if it is a question (and say so); False: it is a report."""
    flags = message.flags or {}
    kind = None
    if reporter is not None and not message.media and message.channel != "voice":
        languages = notify.templates().languages
        tag = message.language or reporter.language
        kind = questions.kind_of(
            body, questions.rights_phrases(languages), questions.ask_phrases(languages),
            questions.read_as_english(body, languages[tag] if tag in languages else None))
    if kind is not None:
        gazetteer = current_gazetteer(session)
        called = gazetteer.jurisdiction_for_number(flags.get("to"))
        where = find_location(body, gazetteer, sender, language=reporter.language or "en",
                              called=called)
        slug = where.jurisdiction or called
        found = session.get(Jurisdiction, jurisdiction_id(session, slug)) if slug else None
        if where.precision in questions.SPOT_PRECISIONS:
            kind = None  # it names a corner, an address, a store: someone is seeing something
        elif kind == "rumour" and found is None:
            kind = None  # no area to answer for: a report, so that a person reads it
    if kind is None or reporter is None:
        if flags.get("question_asked") and reporter is not None:
            # the webhook took it for a question and kept its "we got your report" back
            notify.to_reporter(session, reporter, "ack")
        return False
    if kind == "rights":
        notify.to_reporter(session, reporter, "rights")
    else:
        template, values = _rumour_answer(session, found, where.text)
        notify.to_reporter(session, reporter, template, **values)
    message.flags = {**flags, "question": kind, "jurisdiction": slug}
    logger.info("message %s is a question (%s, jurisdiction %s): answered, no report",
                message.id, kind, slug)
    return True


def _rumour_answer(session: Session, jurisdiction: Jurisdiction, place: str | None
                   ) -> tuple[str, dict[str, object]]:
    """The verified incidents of the jurisdiction in the last RUMOUR_HOURS, as places and local
    times; never one that is not verified."""
    since = utcnow() - timedelta(hours=RUMOUR_HOURS)
    rows = [(incident.location_text, incident.verified_at) for incident in session.scalars(
        select(Incident).where(
            Incident.jurisdiction_id == jurisdiction.id, Incident.status.in_(VERIFIED),
            Incident.verified_at >= since)
        .order_by(Incident.verified_at.desc()).limit(50))
        # held (a private home, a flood, a denunciation) or contested again: not told of
        if not lifecycle.held(incident) and not (incident.flags or {}).get("contested")
    ][:MAX_PLACES]
    area = place or jurisdiction.name
    values: dict[str, object] = {"area": area, "hours": RUMOUR_HOURS}
    if not rows:
        return "rumour_none", values
    zone = ZoneInfo(jurisdiction.timezone)
    places = ", ".join(f"{text or jurisdiction.name} ({_aware(at).astimezone(zone):%H:%M})"
                       for text, at in rows)
    return "rumour_verified", {**values, "places": places}


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)
