"""Inbound messages: stored durably and idempotently on the webhook, triaged by a job."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hotline import incidents, jobs
from hotline.geography import current_gazetteer
from hotline.keywords import keyword_of
from hotline.models import Jurisdiction, Message, Report, Reporter, utcnow
from hotline.privacy import Vault, normalize_phone, reference
from hotline.triage import triage_text
from hotline.triage.language import detect_language

logger = logging.getLogger(__name__)

SID = re.compile(r"^(SM|MM|SMS|CA|RE)[0-9a-fA-F]{32}$")
MAX_MEDIA = 10
FOLLOW_UP_WINDOW = timedelta(minutes=30)


class BadWebhook(ValueError):
    """A signed request that still lacks what a Twilio message webhook always has."""


@dataclass(frozen=True)
class Inbound:
    """What the webhook needs to answer."""

    message_id: int | None
    created: bool
    reporter_id: int
    language: str
    keyword: str | None
    opted_out: bool


def _insert(session: Session):  # noqa: ANN202 - dialect-specific insert construct
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def media_of(form: Mapping[str, str]) -> list[dict[str, str]]:
    """Media references (URL and content type) of an MMS; nothing is downloaded."""
    try:
        count = min(int(form.get("NumMedia", "0") or 0), MAX_MEDIA)
    except ValueError:
        raise BadWebhook("NumMedia is not a number") from None
    return [{"url": form.get(f"MediaUrl{i}", ""), "content_type": form.get(f"MediaContentType{i}",
                                                                            "")}
            for i in range(count) if form.get(f"MediaUrl{i}")]


def upsert_reporter(session: Session, vault: Vault, e164: str) -> tuple[int, str | None, bool]:
    """(id, remembered language, opted out) of the reporter with this number; one statement."""
    phone_hmac = vault.phone_hmac(e164)
    insert = _insert(session)
    stmt = insert(Reporter).values(
        phone_hmac=phone_hmac, phone_enc=vault.encrypt(e164, "reporter.phone"),
        created_at=utcnow(), last_seen_at=utcnow(), trust_score=0.5, confirmed_count=0,
        false_alarm_count=0, opted_out=False, blocked=False, consent_contact=False,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[Reporter.phone_hmac],
        set_={"last_seen_at": stmt.excluded.last_seen_at},
    ).returning(Reporter.id, Reporter.language, Reporter.opted_out)
    row = session.execute(stmt).one()
    return row.id, row.language, row.opted_out


def record_inbound_sms(session: Session, vault: Vault, form: Mapping[str, str],
                       region: str = "US") -> Inbound:
    """Store one inbound SMS/MMS exactly once (unique on MessageSid) and defer its triage.

    Flushes, never commits: the webhook commits before it answers.
    """
    sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip()
    if not SID.match(sid):
        raise BadWebhook("MessageSid missing or malformed")
    sender = (form.get("From") or "").strip()
    if not sender:
        raise BadWebhook("From missing")
    try:
        e164 = normalize_phone(sender, region)
    except ValueError:
        e164 = sender  # short codes and alphanumeric senders: still stored, still answered
    body = form.get("Body") or ""
    media = media_of(form)

    reporter_id, remembered, opted_out = upsert_reporter(session, vault, e164)
    keyword = keyword_of(body)
    language, _ = detect_language(body, remembered) if body.strip() else (remembered or "en",
                                                                          0.5)
    if keyword is not None and remembered:
        language = remembered  # "STOP" says nothing about the language they write in

    insert = _insert(session)
    stmt = insert(Message).values(
        twilio_sid=sid, direction="inbound", channel="mms" if media else "sms",
        reporter_id=reporter_id, counterpart_hmac=vault.phone_hmac(e164),
        counterpart_enc=vault.encrypt(e164, "message.counterpart"),
        body_enc=vault.encrypt(body, "message.body"), media=media, language=language,
        status="received", flags={"keyword": keyword} if keyword else {}, received_at=utcnow(),
    ).on_conflict_do_nothing(index_elements=[Message.twilio_sid]).returning(Message.id)
    message_id = session.execute(stmt).scalar_one_or_none()
    created = message_id is not None
    if created:
        if keyword == "stop":
            session.execute(Reporter.__table__.update().where(Reporter.id == reporter_id)
                            .values(opted_out=True))
            opted_out = True
        elif keyword == "start":
            session.execute(Reporter.__table__.update().where(Reporter.id == reporter_id)
                            .values(opted_out=False))
            opted_out = False
        else:
            jobs.defer(session, "triage_message", message_id)
        logger.info("inbound sms %s stored as message %s reporter %s", sid, message_id,
                    reference(vault.phone_hmac(e164)))
    else:
        logger.info("inbound sms %s is a repeat; nothing stored", sid)
    return Inbound(message_id, created, reporter_id, language, keyword, opted_out)


def process_inbound_message(session: Session, message_id: int) -> Report | None:
    """Triage a stored message into a report, and the report into an incident (idempotent)."""
    from flask import current_app

    vault: Vault = current_app.extensions["hotline_vault"]
    message = session.get(Message, message_id, with_for_update=True)
    if message is None or message.processed_at is not None:
        return None
    body = vault.decrypt(message.body_enc, "message.body") or ""
    reporter = session.get(Reporter, message.reporter_id) if message.reporter_id else None
    sender = vault.decrypt(message.counterpart_enc, "message.counterpart")
    gazetteer = current_gazetteer(session)
    result = triage_text(body, gazetteer, from_number=sender,
                         language_hint=reporter.language if reporter else None)
    if reporter is not None and body.strip():
        reporter.language = result.language

    jurisdiction_id = None
    if result.jurisdiction:
        jurisdiction_id = session.scalar(select(Jurisdiction.id).where(
            Jurisdiction.slug == result.jurisdiction))
    location = result.location
    report = Report(
        reporter_id=message.reporter_id, channel=message.channel,
        text_enc=vault.encrypt(body, "report.text"), language=result.language,
        salute=result.salute, location=location.public(), lat=location.lat, lon=location.lon,
        jurisdiction_id=jurisdiction_id, needs_location=result.needs_location,
        confidence=result.confidence, media=list(message.media or []),
        state="complete",
    )
    session.add(report)
    session.flush()
    message.report_id = report.id
    message.processed_at = utcnow()
    incidents.attach_report(session, report, location_text=location.text)
    logger.info("message %s triaged into report %s (jurisdiction %s)", message_id, report.id,
                result.jurisdiction or "none")
    return report


def count_inbound(session: Session) -> int:
    """How many inbound messages are stored (for metrics)."""
    return session.scalar(select(func.count()).select_from(Message)
                          .where(Message.direction == "inbound")) or 0
