"""Inbound messages: stored durably and idempotently on the webhook, processed by a job.

The webhook does only what its reply needs (who sent it, which language, a keyword, a rate-limit
count). The job does the rest: responder commands, relayed conversations, follow-up answers,
triage, clustering and verification.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hotline.core.extensions import db
from hotline.core.policy import Policy
from hotline.incidents import abuse, clustering, lifecycle, verification
from hotline.incidents.geography import current_gazetteer
from hotline.intake.commands import Command, parse_command
from hotline.intake.keywords import keyword_language, keyword_of
from hotline.jobs import outbox
from hotline.messaging import notify
from hotline.models import (
    Alert,
    Incident,
    IncidentEvent,
    Jurisdiction,
    Message,
    Report,
    Reporter,
    Responder,
    utcnow,
)
from hotline.privacy.vault import Vault, normalize_phone, reference
from hotline.routing import escalation
from hotline.triage import Triage, triage_text
from hotline.triage.language import detect_language

logger = logging.getLogger(__name__)

SID = re.compile(r"^(SM|MM|SMS|CA|RE)[0-9a-fA-F]{32}$")
MAX_MEDIA = 10
RELAY_WINDOW = timedelta(hours=3)


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
    phone_hmac: str
    received_at: datetime
    blocked: bool = False
    command: bool = False
    rate_limited: bool = False  # set by `hand_over`
    deferred: outbox.Deferred | None = None  # the triage job `hand_over` enqueues

    @property
    def counts(self) -> bool:
        """Whether this message counts against its sender's rate limit: a new one, no keyword."""
        return self.created and self.keyword is None


# keywords that change the reporter, and how (on the webhook, before the reply)
_REPORTER_KEYWORDS: dict[str, dict[str, bool]] = {
    "stop": {"opted_out": True}, "start": {"opted_out": False},
    "consent": {"consent_contact": True}}


_STATEMENTS: dict[tuple[str, str], Any] = {}


def _statement(session: Session, name: str) -> Any:  # noqa: ANN401 - a Core statement
    """The webhook's INSERTs, built once per dialect: this is the hot path."""
    dialect = session.get_bind().dialect.name
    key = (dialect, name)
    if key not in _STATEMENTS:
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        _STATEMENTS[key] = _build(insert, name)
    return _STATEMENTS[key]


def _build(insert: Any, name: str) -> Any:  # noqa: ANN401
    if name == "reporter":
        table = Reporter.__table__
        stmt = insert(table).values(
            phone_hmac=bindparam("phone_hmac"), phone_enc=bindparam("phone_enc"),
            language=bindparam("language"), created_at=bindparam("now", type_=table.c.created_at
                                                                 .type),
            last_seen_at=bindparam("now", type_=table.c.last_seen_at.type), trust_score=0.5,
            confirmed_count=0, false_alarm_count=0, opted_out=False, blocked=False,
            consent_contact=False)
        excluded = stmt.excluded
        return stmt.on_conflict_do_update(
            index_elements=[table.c.phone_hmac],
            set_={"last_seen_at": excluded.last_seen_at,
                  "language": func.coalesce(excluded.language, table.c.language),
                  # a purged number is restored when the person writes again
                  "phone_enc": func.coalesce(table.c.phone_enc, excluded.phone_enc)},
        ).returning(table.c.id, table.c.language, table.c.opted_out, table.c.blocked,
                    table.c.phone_hmac)
    table = Message.__table__
    return insert(table).values(
        twilio_sid=bindparam("sid"), direction="inbound", channel=bindparam("channel"),
        reporter_id=bindparam("reporter_id"), counterpart_hmac=bindparam("hmac"),
        counterpart_enc=bindparam("counterpart_enc"), body_enc=bindparam("body_enc"),
        media=bindparam("media", type_=table.c.media.type), language=bindparam("language"),
        status="received", flags=bindparam("flags", type_=table.c.flags.type),
        received_at=bindparam("now", type_=table.c.received_at.type),
    ).on_conflict_do_nothing(index_elements=[table.c.twilio_sid]).returning(table.c.id)


# On PostgreSQL the webhook stores the reporter, the message and its triage job in ONE round trip
# (data-modifying CTEs); SQLite, which has none, runs the same three statements one by one.
# Run with exec_driver_sql (psycopg's own %(name)s parameters): the hot path skips SQLAlchemy's
# statement compilation and bind processing; psycopg prepares it after a few executions.
_PG_STORE = """
WITH r AS (
  INSERT INTO reporters (phone_hmac, phone_enc, language, created_at, last_seen_at, trust_score,
                         confirmed_count, false_alarm_count, opted_out, blocked, consent_contact)
  VALUES (%(phone_hmac)s, %(phone_enc)s, %(remember)s, %(now)s, %(now)s, 0.5, 0, 0, false, false,
          false)
  ON CONFLICT (phone_hmac) DO UPDATE SET
    last_seen_at = excluded.last_seen_at,
    language = coalesce(excluded.language, reporters.language),
    phone_enc = coalesce(reporters.phone_enc, excluded.phone_enc)
  RETURNING id, language, opted_out, blocked
), m AS (
  INSERT INTO messages (twilio_sid, direction, channel, reporter_id, counterpart_hmac,
                        counterpart_enc, body_enc, media, language, status, flags, received_at)
  SELECT %(sid)s, 'inbound', %(channel)s, r.id, %(phone_hmac)s, %(counterpart_enc)s, %(body_enc)s,
         CAST(%(media)s AS json), coalesce(%(language)s, r.language, 'en'), 'received',
         CAST(CASE WHEN r.blocked THEN %(flags_blocked)s ELSE %(flags)s END AS json), %(now)s
  FROM r
  ON CONFLICT (twilio_sid) DO NOTHING
  RETURNING id
), o AS (
  INSERT INTO outbox_jobs (job, args, run_at, created_at, attempts)
  SELECT 'triage_message', json_build_array(m.id), %(now)s, %(now)s, 0
  FROM m, r WHERE %(defer)s AND NOT r.blocked
  RETURNING id
)
SELECT r.id, r.language, r.opted_out, r.blocked, (SELECT id FROM m) AS message_id,
       (SELECT id FROM o) AS outbox_id
FROM r
"""


def media_of(form: Mapping[str, str]) -> list[dict[str, str]]:
    """Media references (URL and content type) of an MMS; nothing is downloaded."""
    try:
        count = min(int(form.get("NumMedia", "0") or 0), MAX_MEDIA)
    except ValueError:
        raise BadWebhook("NumMedia is not a number") from None
    return [{"url": form.get(f"MediaUrl{i}", ""),
             "content_type": form.get(f"MediaContentType{i}", "")}
            for i in range(count) if form.get(f"MediaUrl{i}")]


def upsert_reporter(session: Session, vault: Vault, e164: str,
                    language: str | None = None) -> Any:  # noqa: ANN401
    """(id, language, opted_out, blocked, phone_hmac) of the sender; one statement.

    `language`, when given, becomes the remembered language; otherwise the old one stays and
    is returned.
    """
    return session.execute(_statement(session, "reporter"), {
        "phone_hmac": vault.phone_hmac(e164), "phone_enc": vault.encrypt(e164, "reporter.phone"),
        "language": language, "now": utcnow()}).one()


def record_inbound_sms(session: Session, vault: Vault, form: Mapping[str, str],
                       region: str = "US") -> Inbound:
    """Store one inbound SMS/MMS exactly once (unique on MessageSid) and defer its processing.

    On PostgreSQL an ordinary message is stored by one statement in autocommit: it is committed
    when this returns. Otherwise (SQLite; STOP, START and CONSENT, which also update the
    reporter) it flushes in the session's transaction and the webhook commits before it answers.
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

    keyword = keyword_of(body)
    command = parse_command(body) if keyword is None else None
    detected = None
    confidence = 0.0
    if keyword is not None:
        detected = keyword_language(body)  # AYUDA is Spanish; STOP says nothing
    elif command is None and body.strip():
        detected, confidence = detect_language(body)
    remember = detected if confidence >= 0.75 or keyword is not None else None
    phone_hmac = vault.phone_hmac(e164)
    flags: dict[str, Any] = {}
    if keyword:
        flags["keyword"] = keyword
    if command:
        flags["command"] = True
    now = utcnow()
    params = {
        "phone_hmac": phone_hmac, "phone_enc": vault.encrypt(e164, "reporter.phone"),
        "remember": remember, "now": now, "sid": sid, "channel": "mms" if media else "sms",
        "counterpart_enc": vault.encrypt(e164, "message.counterpart"),
        "body_enc": vault.encrypt(body, "message.body"), "media": media,
        "language": detected if confidence >= 0.75 else None, "flags": flags,
        "defer": keyword not in ("stop", "start", "consent", "help"),
    }
    if session.get_bind().dialect.name == "postgresql":
        if keyword not in _REPORTER_KEYWORDS and not session.in_transaction():
            # One statement stores everything, atomically: run it in autocommit, which saves
            # the BEGIN and COMMIT round trips (and the ORM's bookkeeping). STOP, START and
            # CONSENT also update the reporter, so they keep a transaction around both.
            with db.state().autocommit.connect() as connection:
                stored = _store_postgres(connection, params)
        else:
            stored = _store_postgres(session, params)
    else:
        stored = _store_stepwise(session, params)
    reporter_id, remembered, opted_out, blocked, message_id, outbox_id = stored
    # an unclear message is answered in the language we remember
    language = detected if confidence >= 0.75 else (remembered or detected or "en")
    created = message_id is not None
    if created:
        values = _REPORTER_KEYWORDS.get(keyword or "")
        if values:
            session.execute(Reporter.__table__.update().where(Reporter.id == reporter_id)
                            .values(**values))
            opted_out = values.get("opted_out", opted_out)
        logger.debug("inbound sms %s stored as message %s reporter %s", sid, message_id,
                     reference(phone_hmac))
    else:
        logger.info("inbound sms %s is a repeat; nothing stored", sid)
    return Inbound(
        message_id, created, reporter_id, language, keyword, opted_out, phone_hmac, now,
        blocked=blocked, command=command is not None,
        deferred=outbox.Deferred(outbox_id, "triage_message", [message_id], now)
        if outbox_id is not None else None)


def hand_over(session: Session, inbound: Inbound) -> Inbound:
    """After the webhook's commit: enqueue the triage job and count the message against its
    sender's rate limit, together in one Redis round trip; `inbound` with `rate_limited` set.

    Without Redis (the embedded default, or Redis away) the count comes from the database, which
    the commit has just made include this message; the job is then left to the outbox runner or
    the sweeper.
    """
    pending = [(d.id, d.job, d.args, d.run_at) for d in [inbound.deferred] if d is not None]
    counter = abuse.rate_counter(inbound.phone_hmac, inbound.received_at) \
        if inbound.counts else None
    if not pending and counter is None:
        return inbound
    count = outbox.backend_of(current_app).dispatch(pending, counter)
    if counter is None or inbound.message_id is None:
        return inbound
    if count is None:
        count = abuse.counted_in_window(session, inbound.phone_hmac, inbound.received_at,
                                        inbound.message_id)
    return replace(inbound, rate_limited=abuse.over_rate_limit(count) and not inbound.blocked)


def _store_postgres(executor: Session | Connection, params: dict[str, Any]) -> tuple[Any, ...]:
    connection = executor if isinstance(executor, Connection) else executor.connection()
    flags = params["flags"]
    row = connection.exec_driver_sql(_PG_STORE, {
        **params, "media": json.dumps(params["media"]), "flags": json.dumps(flags),
        "flags_blocked": json.dumps({**flags, "blocked": True})}).one()
    return (row.id, row.language, row.opted_out, row.blocked, row.message_id, row.outbox_id)


def _store_stepwise(session: Session, params: dict[str, Any]) -> tuple[Any, ...]:
    reporter = session.execute(_statement(session, "reporter"), {
        "phone_hmac": params["phone_hmac"], "phone_enc": params["phone_enc"],
        "language": params["remember"], "now": params["now"]}).one()
    flags = {**params["flags"], **({"blocked": True} if reporter.blocked else {})}
    message_id = session.execute(_statement(session, "message"), {
        "sid": params["sid"], "channel": params["channel"], "reporter_id": reporter.id,
        "hmac": params["phone_hmac"], "counterpart_enc": params["counterpart_enc"],
        "body_enc": params["body_enc"], "media": params["media"],
        "language": params["language"] or reporter.language or "en", "flags": flags,
        "now": params["now"]}).scalar_one_or_none()
    outbox_id = None
    if message_id is not None and params["defer"] and not reporter.blocked:
        deferred = outbox.defer(session, "triage_message", message_id, track=False)
        outbox_id = deferred.id if deferred else None
    return (reporter.id, reporter.language, reporter.opted_out, reporter.blocked, message_id,
            outbox_id)


# -- the job side ---------------------------------------------------------------------------

def process_inbound_message(session: Session, message_id: int) -> Report | None:
    """Everything after the webhook, for one stored message (idempotent)."""
    vault: Vault = current_app.extensions["hotline_vault"]
    message = session.scalars(select(Message).where(Message.id == message_id)
                              .with_for_update()).one_or_none()
    if message is None or message.processed_at is not None:
        return None
    message.processed_at = utcnow()
    body = vault.decrypt(message.body_enc, "message.body") or ""
    sender = vault.decrypt(message.counterpart_enc, "message.counterpart")
    reporter = session.get(Reporter, message.reporter_id) if message.reporter_id else None

    if (message.flags or {}).get("command"):
        responder = session.scalar(select(Responder).where(
            Responder.phone_hmac == message.counterpart_hmac))
        command = parse_command(body)
        if responder is not None and command is not None:
            handle_command(session, responder, command, message)
            return None
        if reporter is not None:  # not a responder after all: an ordinary report
            notify.to_reporter(session, reporter, "ack")

    if reporter is not None and relay_from_reporter(session, reporter, body, message):
        return None

    policy_window = timedelta(minutes=Policy().follow_up_window_min)
    pending = None
    if reporter is not None:
        pending = session.scalar(select(Report).where(
            Report.reporter_id == reporter.id, Report.state == "awaiting_location",
            Report.updated_at >= utcnow() - policy_window).order_by(Report.id.desc()).limit(1))
    if pending is not None:
        return complete_follow_up(session, pending, message, body, sender, reporter)
    return create_report(session, message, body, sender, reporter)


def _triage(session: Session, body: str, sender: str | None,
            reporter: Reporter | None) -> Triage:
    result = triage_text(body, current_gazetteer(session), from_number=sender,
                         language_hint=reporter.language if reporter else None)
    if reporter is not None and body.strip():
        reporter.language = result.language
    return result


def _jurisdiction_id(session: Session, slug: str | None) -> int | None:
    if not slug:
        return None
    return session.scalar(select(Jurisdiction.id).where(Jurisdiction.slug == slug))


def _apply_triage(session: Session, report: Report, result: Triage, text: str) -> None:
    vault: Vault = current_app.extensions["hotline_vault"]
    location = result.location
    report.text_enc = vault.encrypt(text, "report.text")
    report.language = result.language
    report.salute = result.salute
    report.location = location.public()
    report.lat, report.lon = location.lat, location.lon
    report.jurisdiction_id = _jurisdiction_id(session, result.jurisdiction)
    report.needs_location = result.needs_location
    report.confidence = result.confidence
    report.flags = {**(report.flags or {}), "precision": location.precision}


def create_report(session: Session, message: Message, body: str, sender: str | None,
                  reporter: Reporter | None) -> Report:
    """Triage a message into a new report, cluster it, and set verification going."""
    result = _triage(session, body, sender, reporter)
    flags: dict[str, Any] = {}
    if abuse.message_over_rate_limit(session, message):
        flags["rate_limited"] = True
        message.flags = {**(message.flags or {}), "rate_limited": True}
    if abuse.looks_like_denunciation(body):
        flags["denunciation"] = True
    report = Report(reporter_id=message.reporter_id, channel=message.channel,
                    media=list(message.media or []), state="complete", flags=flags,
                    created_at=message.received_at)
    _apply_triage(session, report, result, body)
    asked_before = reporter is not None and session.scalar(select(Report.id).where(
        Report.reporter_id == reporter.id, Report.flags["asked_location"].as_boolean()
        .is_(True), Report.created_at >= utcnow() - timedelta(minutes=10)).limit(1))
    if result.needs_location and reporter is not None and not asked_before and \
            message.channel != "voice" and not reporter.opted_out and not reporter.blocked:
        report.state = "awaiting_location"
        report.flags = {**report.flags, "asked_location": True}
    session.add(report)
    session.flush()
    message.report_id = report.id
    if report.state == "awaiting_location":
        notify.to_reporter(session, reporter, "ask_location")
    _cluster(session, report)
    logger.info("message %s triaged into report %s (jurisdiction %s)", message.id, report.id,
                result.jurisdiction or "none")
    return report


def _cluster(session: Session, report: Report) -> Incident:
    incident, created = clustering.attach_report(session, report)
    flags = dict(incident.flags or {})
    for flag in ("denunciation", "rate_limited"):
        if (report.flags or {}).get(flag):
            flags[flag] = True
    jurisdiction = session.get(Jurisdiction, report.jurisdiction_id) \
        if report.jurisdiction_id else None
    if created and abuse.is_flood(session, report.jurisdiction_id, Policy.of(jurisdiction)):
        flags["flood"] = True
    if flags != (incident.flags or {}):
        incident.flags = flags
        lifecycle.record_event(session, incident, "flagged",
                               flags=sorted(k for k in flags if k in verification.HOLD_FLAGS
                                            or k == "rate_limited"))
    verification.after_report(session, incident, created, report)
    return incident


def complete_follow_up(session: Session, report: Report, message: Message, body: str,
                       sender: str | None, reporter: Reporter) -> Report:
    """The answer to "where?": it completes the same report instead of starting another."""
    vault: Vault = current_app.extensions["hotline_vault"]
    previous = vault.decrypt(report.text_enc, "report.text") or ""
    combined = f"{previous}\n{body}".strip()
    result = _triage(session, combined, sender, reporter)
    before = report.incident_id
    _apply_triage(session, report, result, combined)
    report.state = "complete"  # answered or not, we do not ask twice
    message.report_id = report.id
    session.flush()
    if not result.needs_location:
        notify.to_reporter(session, reporter, "location_thanks")
    incident = session.get(Incident, before) if before else None
    if incident is not None:
        if incident.jurisdiction_id != report.jurisdiction_id and \
                incident.status in ("new", "verifying"):
            incident.jurisdiction_id = report.jurisdiction_id
        _report_retriaged(session, incident, report, "location_added")
    else:
        _cluster(session, report)
    return report


# -- responders -----------------------------------------------------------------------------

def handle_command(session: Session, responder: Responder, command: Command,
                   message: Message) -> str:
    """Carry out a responder's reply and answer them by SMS; returns the template used."""
    if command.code is None:
        alert = escalation.latest_page(session, responder)
        incident = session.get(Incident, alert.incident_id) if alert else None
        code = incident.code if incident else "?"
    else:
        code = command.code
        incident = lifecycle.get_by_code(session, code)
    values: dict[str, Any] = {"code": code}
    if incident is None:
        template = "unknown_code"
    elif command.verb in ("yes", "no", "eta", "unable"):
        template, values = verification.answer(session, responder, incident, command.verb,
                                               command.argument)
    elif command.verb == "accept":
        template = escalation.accept(session, responder, incident)
    elif command.verb == "decline":
        template = escalation.decline(session, responder, incident)
    else:
        template = relay_to_reporters(session, responder, incident, command.argument)
    if incident is not None:
        values.setdefault("status", incident.status)
        values.setdefault("name", _acknowledger_name(session, incident))
        message.alert_id = session.scalar(select(Alert.id).where(
            Alert.incident_id == incident.id, Alert.responder_id == responder.id)
            .order_by(Alert.id.desc()).limit(1))
    if template:
        notify.to_responder(session, responder, template, **values)
    logger.info("command %s from responder %s: %s", command.verb, responder.key, template)
    return template


def _acknowledger_name(session: Session, incident: Incident) -> str:
    if incident.acknowledged_by_id is None:
        return "-"
    responder = session.get(Responder, incident.acknowledged_by_id)
    return responder.name if responder else "-"


def relay_to_reporters(session: Session, responder: Responder, incident: Incident,
                       text: str) -> str | None:
    """MSG: the lawyer who accepted texts the reporters who consented, through the hotline."""
    if incident.acknowledged_by_id != responder.id or incident.status != "acknowledged":
        return "not_alerted" if incident.acknowledged_by_id != responder.id else "already_closed"
    reporters = escalation.consenting_reporters(session, incident)
    if not reporters:
        return "no_consent"
    for reporter in reporters:
        body = notify.templates().text("relay_to_reporter", reporter.language,
                                       code=incident.code, text=text)
        notify.to_reporter(session, reporter, text=body)
    flags = dict(incident.flags or {})
    flags["relay"] = {"responder_id": responder.id, "at": utcnow().isoformat()}
    incident.flags = flags
    vault: Vault = current_app.extensions["hotline_vault"]
    lifecycle.record_event(session, incident, "relay_to_reporter",
                           actor=f"responder:{responder.key}",
                           text_enc=vault.encrypt(text, "event.relay"), reporters=len(reporters))
    return None


def relay_from_reporter(session: Session, reporter: Reporter, body: str,
                        message: Message) -> bool:
    """A reporter's reply in an open relay goes back to the lawyer (never as a new report)."""
    row = session.execute(
        select(Incident).join(Report, Report.incident_id == Incident.id)
        .where(Report.reporter_id == reporter.id, Incident.status == "acknowledged")
        .order_by(Incident.last_seen_at.desc()).limit(1)).scalar_one_or_none()
    relay = (row.flags or {}).get("relay") if row is not None else None
    if not relay:
        return False
    from datetime import datetime

    if utcnow() - datetime.fromisoformat(relay["at"]) > RELAY_WINDOW:
        return False
    responder = session.get(Responder, relay["responder_id"])
    if responder is None:
        return False
    notify.to_responder(session, responder, "relay_to_lawyer", code=row.code, text=body)
    vault: Vault = current_app.extensions["hotline_vault"]
    session.add(IncidentEvent(incident_id=row.id, kind="relay_to_lawyer", actor="reporter",
                              data={"text_enc": vault.encrypt(body, "event.relay")},
                              at=utcnow()))
    return True


def _report_retriaged(session: Session, incident: Incident, report: Report, event: str) -> None:
    """The incident after one of its reports was triaged again: place, SALUTE, timeline, score."""
    from hotline.incidents import credibility

    clustering.refresh_location(session, incident)
    incident.salute = report.salute
    lifecycle.record_event(session, incident, event, report_id=report.id)
    credibility.score_incident(session, incident)


def refresh_report_text(session: Session, report: Report, text: str) -> None:
    """Re-triage a report whose text arrived late (a voice transcript)."""
    result = _triage(session, text, None, session.get(Reporter, report.reporter_id)
                     if report.reporter_id else None)
    _apply_triage(session, report, result, text)
    session.flush()
    incident = session.get(Incident, report.incident_id) if report.incident_id else None
    if incident is not None:
        if incident.jurisdiction_id is None and report.jurisdiction_id is not None and \
                incident.status in ("new", "verifying"):
            incident.jurisdiction_id = report.jurisdiction_id
        _report_retriaged(session, incident, report, "transcript_added")
