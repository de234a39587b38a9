"""The relayed conversation: after MSG, the lawyer who accepted an incident and its consenting
reporters write to each other through the hotline, never seeing each other's numbers. This
module owns the incident's relay state (`relay_responder_id`, `relay_at`), and dispatchers' own
texts from the incident page: to one of its reporters (masked, within 24 hours of the reporter's
last message, never after STOP) and to the responders alerted about it."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.core.languages import load_languages
from hotline.core.refusals import Refusal, words
from hotline.incidents import clustering, lifecycle
from hotline.incidents.geography import current_gazetteer
from hotline.messaging import notify
from hotline.models import Incident, IncidentEvent, Message, Report, Reporter, Responder, utcnow
from hotline.privacy.vault import Vault
from hotline.routing import escalation
from hotline.triage import triage_text
from hotline.triage.places import fold

RELAY_WINDOW = timedelta(hours=3)
REPLY_WINDOW = timedelta(hours=24)  # a dispatcher texts a reporter only this long after they wrote
MAX_DISPATCH_TEXT = 1400  # characters a dispatcher writes (Twilio takes 1,600 with the prefix)


class CannotSend(Refusal):
    """A dispatcher's text that must not go out, and why (the page shows it)."""


def why_not_reply(reporter: Reporter, last_wrote: datetime | None,
                  at: datetime | None = None) -> str | None:
    """Why a dispatcher may not text this reporter now, or None when they may."""
    at = at or utcnow()
    if reporter.opted_out:
        return words("they sent STOP")
    if reporter.blocked:
        return words("they are blocked")
    if reporter.phone_enc is None:
        return words("their number was purged")
    if last_wrote is None or at - last_wrote > REPLY_WINDOW:
        return words("they last wrote more than 24 hours ago")
    return None


def last_wrote(session: Session, reporter: Reporter) -> datetime | None:
    """When the reporter last sent anything."""
    return session.scalar(select(func.max(Message.received_at)).where(
        Message.reporter_id == reporter.id, Message.direction == "inbound"))


def _checked(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise CannotSend("write something to send")
    if len(text) > MAX_DISPATCH_TEXT:
        raise CannotSend("at most %(max)s characters (%(n)s written)", max=MAX_DISPATCH_TEXT,
                         n=len(text))
    return text


def dispatcher_to_reporter(session: Session, incident: Incident, reporter: Reporter,
                           number: int, text: str, actor: str) -> Message:
    """A dispatcher's text to one of the incident's reporters, through the outbound queue, in
    the template of the reporter's language; CannotSend when it must not go."""
    text = _checked(text)
    if not session.scalar(select(Report.id).where(Report.incident_id == incident.id,
                                                  Report.reporter_id == reporter.id).limit(1)):
        raise CannotSend("that reporter did not report this incident")
    why = why_not_reply(reporter, last_wrote(session, reporter))
    if why:
        raise CannotSend("Reporter %(n)s cannot be texted: %(why)s", n=number, why=why)
    body = notify.templates().text("dispatcher_to_reporter", reporter.language,
                                   code=incident.code, text=text)
    message = notify.to_reporter(session, reporter, text=body, about=incident,
                                 purpose="dispatcher_to_reporter")
    if message is None:
        raise CannotSend("Reporter %(n)s cannot be texted", n=number)
    lifecycle.record_event(session, incident, "dispatcher_to_reporter", actor=actor,
                           reporter=number)
    return message


def dispatcher_to_responders(session: Session, incident: Incident, responders: list[Responder],
                             text: str, actor: str) -> int:
    """A dispatcher's text to the responders alerted about the incident; how many it reached."""
    text = _checked(text)
    sent = sum(notify.to_responder(session, r, "dispatcher_to_responder", about=incident,
                                   code=incident.code, text=text) is not None
               for r in responders)
    if not sent:
        raise CannotSend("nobody alerted about it can be texted")
    lifecycle.record_event(session, incident, "dispatcher_to_responders", actor=actor,
                           responders=sent)
    return sent


def _names_another_place(session: Session, incident: Incident, body: str,
                         message: Message) -> bool:
    """Whether the text places something (finer than a city) somewhere the incident is not."""
    vault: Vault = current_app.extensions["hotline_vault"]
    sender = vault.decrypt(message.counterpart_enc, "message.counterpart")
    result = triage_text(body, current_gazetteer(session), from_number=sender,
                         languages=load_languages(current_app.config["SETTINGS"].config_dir))
    if result.needs_location:
        return False  # no place of its own: a reply in the conversation
    location = result.location.public()
    places = incident.places or {}
    key = clustering.street_key(location)
    text = fold(str(location.get("text") or "")).strip()
    return not ((key and key in (places.get("streets") or []))
                or (text and text in (places.get("texts") or [])))


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
        notify.to_reporter(session, reporter, text=body, about=incident,
                           purpose="relay_to_reporter")
    incident.relay_responder_id, incident.relay_at = responder.id, utcnow()
    vault: Vault = current_app.extensions["hotline_vault"]
    lifecycle.record_event(session, incident, "relay_to_reporter",
                           actor=f"responder:{responder.key}",
                           text_enc=vault.encrypt(text, "event.relay"), reporters=len(reporters))
    return None


def relay_from_reporter(session: Session, reporter: Reporter, body: str,
                        message: Message) -> bool:
    """A reporter's reply in an open relay goes back to the lawyer; True when it was relayed.

    Only a reporter who consented is relayed, and only a text that is not a new report: a call
    (the voice channel) never is, and a text that names a place other than the incident's is
    triaged as a report like any other (the lawyer is told the reporter sent one). Whatever is
    not relayed goes on to triage, so nothing a reporter sends is dropped.
    """
    if message.channel == "voice" or not reporter.consent_contact:
        return False
    row = session.execute(
        select(Incident).join(Report, Report.incident_id == Incident.id)
        .where(Report.reporter_id == reporter.id, Incident.status == "acknowledged")
        .order_by(Incident.last_seen_at.desc()).limit(1)).scalar_one_or_none()
    if row is None or row.relay_responder_id is None or row.relay_at is None:
        return False
    if utcnow() - row.relay_at > RELAY_WINDOW:
        return False
    responder = session.get(Responder, row.relay_responder_id)
    if responder is None:
        return False
    if _names_another_place(session, row, body, message):
        notify.to_responder(session, responder, "relay_new_report", about=row, code=row.code)
        lifecycle.record_event(session, row, "reporter_new_report", actor="reporter")
        return False
    message.incident_id = row.id  # the reply is part of the incident's conversation
    notify.to_responder(session, responder, "relay_to_lawyer", about=row, code=row.code,
                        text=body)
    vault: Vault = current_app.extensions["hotline_vault"]
    session.add(IncidentEvent(incident_id=row.id, kind="relay_to_lawyer", actor="reporter",
                              data={"text_enc": vault.encrypt(body, "event.relay")},
                              at=utcnow()))
    return True
