"""The triage job's dispatch of one stored inbound message: a responder's command, a reply in
a relayed conversation, the answer to "where?", or a new report."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from hotline.incidents import reports
from hotline.incidents.geography import policy_for
from hotline.intake import conversation, media, questions, responders, voice
from hotline.intake.commands import parse_availability, parse_command
from hotline.messaging import notify
from hotline.models import OPEN_STATUSES, Incident, Message, Report, Reporter, Responder, utcnow
from hotline.privacy.vault import Vault

logger = logging.getLogger(__name__)


def _still_waiting(session: Session, report: Report) -> bool:
    """Whether a report asked "where?" is still within its jurisdiction's follow-up window."""
    window = timedelta(minutes=policy_for(session, report.jurisdiction_id).follow_up_window_min)
    return report.updated_at >= utcnow() - window


MEDIA_JOINS_REPORT = timedelta(minutes=15)  # photos sent after a report belong to it


def _recent_report(session: Session, reporter: Reporter,
                   within: timedelta | None = MEDIA_JOINS_REPORT) -> Report | None:
    """The reporter's latest report (of the last `within`) in an open incident: the one a
    message of photos alone, or a photo sent in a relayed conversation, goes with."""
    query = select(Report).join(Incident, Incident.id == Report.incident_id).where(
        Report.reporter_id == reporter.id, Report.state == "complete",
        Incident.status.in_(OPEN_STATUSES))
    if within is not None:
        query = query.where(Report.created_at >= utcnow() - within)
    return session.scalar(query.order_by(Report.id.desc()).limit(1))


# built once (it runs for every message; building it costs about as much as running it)
_LOCKED = select(Message, Reporter).outerjoin(Reporter, Reporter.id == Message.reporter_id) \
    .where(Message.id == bindparam("id")).with_for_update(of=Message)

# a returning reporter's report waiting for "where?" (looked for on every message of theirs)
_PENDING = select(Report).where(Report.reporter_id == bindparam("reporter"),
                                Report.state == "awaiting_location") \
    .order_by(Report.id.desc()).limit(1)


def _locked(session: Session, message_id: int) -> tuple[Message | None, Reporter | None]:
    """The message, locked, and its reporter, read in the same query."""
    row = session.execute(_LOCKED, {"id": message_id}).one_or_none()
    return (row[0], row[1]) if row is not None else (None, None)


def process_inbound_message(session: Session, message_id: int) -> Report | None:
    """Everything after the webhook, for one stored message (idempotent)."""
    vault: Vault = current_app.extensions["hotline_vault"]
    message, reporter = _locked(session, message_id)
    if message is not None and message.processed_at is None and media.to_collect(message):
        # its photos first (a photo's place is a clue), with nothing locked meanwhile
        session.rollback()
        media.collect(session, message_id)
        message, reporter = _locked(session, message_id)
    if message is None or message.processed_at is not None:
        return None
    message.processed_at = utcnow()
    body = vault.decrypt(message.body_enc, "message.body") or ""
    if not body and message.channel == "voice":
        body = voice.collect_transcript(session, vault, message)  # what a live one heard
    sender = vault.decrypt(message.counterpart_enc, "message.counterpart")

    flags = message.flags or {}
    responder = None
    if (flags.get("responder") or flags.get("command")) and message.channel != "voice":
        responder = session.scalar(select(Responder).where(
            Responder.phone_hmac == message.counterpart_hmac, Responder.active.is_(True))
            .limit(1))
    if responder is not None:
        # a responder's text is a command, or nothing: never a report by accident (the
        # webhook answered anything else with the list of commands)
        languages = notify.templates().languages
        availability = parse_availability(body, languages)
        if availability is not None:
            responders.handle_availability(session, responder, availability, languages)
            return None
        command = parse_command(body)
        if command is None:
            logger.info("message %s from responder %s is no command; kept, not a report",
                        message.id, responder.key)
            return None
        if command.verb != "report":
            responders.handle_command(session, responder, command, message)
            return None
        body = command.argument  # REPORT <what they see>: a report like anyone's
    elif flags.get("command") and reporter is not None:
        notify.to_reporter(session, reporter, "ack")  # not a responder after all

    if reports.written_by_us(message):
        # a volunteer's report of a call: a report of its own, never relayed to a lawyer nor
        # read as the caller's answer to "where?"
        return reports.create_report(session, message, body, sender, reporter)
    point = media.photo_point(session, vault, message) if message.media else None
    photo = (point.lat, point.lon) if point is not None else None
    media_only = bool(message.media) and not body.strip() and message.channel != "voice"
    if reporter is not None and not media_only and \
            conversation.relay_from_reporter(session, reporter, body, message):
        report = _recent_report(session, reporter, within=None) if message.media else None
        if report is not None:  # a photo sent in the conversation is evidence all the same
            reports.add_media(session, report, message)
        return None

    pending = None
    if reporter is not None and not reports.first_message(reporter, message):
        with session.no_autoflush:  # the message's own change can wait for the report's flush
            pending = session.scalar(_PENDING, {"reporter": reporter.id})
    if pending is not None and not _still_waiting(session, pending):
        pending = None
    if pending is not None and media_only and photo is None:
        # a photo is no answer to "where?": it joins the report, and the question stands
        reports.add_media(session, pending, message)
        if not (pending.flags or {}).get("asked_again"):
            pending.flags = {**(pending.flags or {}), "asked_again": True}
            notify.to_reporter(session, reporter, "ask_location", report_id=pending.id)
        return pending
    if pending is not None:
        return reports.complete_follow_up(session, pending, message, body, sender, reporter,
                                          photo=photo)
    recent = _recent_report(session, reporter) if media_only and reporter is not None else None
    if recent is not None:
        return reports.add_media(session, recent, message, photo)
    if questions.answer(session, message, body, sender, reporter):
        return None  # "what are my rights?", "is ICE in Santa Ana?": answered, no incident
    return reports.create_report(session, message, body, sender, reporter, photo=photo)
