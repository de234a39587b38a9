"""Webhook views: thin; the work is in `hotline.intake.store`."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from hotline.broadcasts import subscriptions
from hotline.core.extensions import db
from hotline.core.languages import load_languages
from hotline.incidents.geography import current_gazetteer
from hotline.intake import store
from hotline.messaging import outbound
from hotline.messaging.templates import EMPTY_TWIML, load_templates, twiml_text
from hotline.webhooks.signing import twilio_signed

bp = Blueprint("webhooks", __name__, url_prefix="/twilio")


def twiml(xml: str, status: int = 200) -> Response:
    """A TwiML response."""
    return Response(xml, status=status, mimetype="text/xml")


@bp.post("/sms")
@twilio_signed
def inbound_sms() -> Response:
    """Store the message (committed before we answer), then reply in the sender's language."""
    settings = current_app.config["SETTINGS"]
    try:
        inbound = store.record_inbound_sms(db.session, current_app.extensions["hotline_vault"],
                                            request.form, settings.default_region)
    except store.BadWebhook as exc:
        db.session.rollback()
        return Response(f"bad request: {exc}\n", status=400, mimetype="text/plain")
    session = db.session
    if session.in_transaction():
        session.commit()  # durable before anything else happens (PostgreSQL: already is)
    inbound = store.hand_over(session, inbound)
    templates = load_templates(settings.config_dir)
    if inbound.keyword == "stop":
        if inbound.twilio_opted_out:
            # Twilio's own opt-out handling answered it; a second reply would be blocked anyway
            return twiml(EMPTY_TWIML)
        # a STOP word of another language (ARRÊT, 停止): Twilio did not opt them out, so the
        # confirmation is ours to send
        return twiml(templates.twiml_message("stopped", inbound.language))
    if inbound.keyword == "start":
        return twiml(templates.twiml_message("started", inbound.language))
    if inbound.opted_out or inbound.blocked or inbound.command:
        # opted out: nothing at all; blocked: kept, unanswered; commands: answered by the job
        return twiml(EMPTY_TWIML)
    if inbound.responder and inbound.availability:
        return twiml(EMPTY_TWIML)  # OFF / ON / STATUS: the job answers, with who covers
    if inbound.responder and inbound.keyword is None:
        # a responder's text that is no command is never a report: tell them the commands
        return twiml(templates.twiml_message("responder_help", inbound.language))
    if inbound.keyword == "alerts" and inbound.alerts is not None:
        reply = subscriptions.answer(session, current_app.extensions["hotline_vault"],
                                     current_gazetteer(session), templates, inbound.sender,
                                     inbound.alerts, inbound.language, inbound.to)
        session.commit()
        return twiml(twiml_text(reply))
    if inbound.keyword == "alerts_yes":
        reply = subscriptions.confirm(session, templates, inbound.phone_hmac, inbound.language)
        session.commit()
        return twiml(twiml_text(reply) if reply else
                     templates.twiml_message("consent_thanks", inbound.language))
    if inbound.keyword in _KEYWORD_REPLIES:
        return twiml(templates.twiml_message(_KEYWORD_REPLIES[inbound.keyword],
                                             inbound.language))
    if inbound.rate_limited:
        return twiml(templates.twiml_message("rate_limited", inbound.language))
    if inbound.language_unknown:
        # a first message in no language we can tell: answer in the fallback languages and
        # offer the choice (the report itself is triaged like any other)
        return twiml(twiml_text(templates.language_choice(
            _offered(inbound.area_code, inbound.to))))
    if inbound.question:
        # "what are my rights?", "is ICE in Pilsen?": the job answers within seconds (after
        # checking it names no spot), or sends this acknowledgement if it is a report after all
        return twiml(EMPTY_TWIML)
    return twiml(templates.twiml_message("ack", inbound.language))


_KEYWORD_REPLIES = {"help": "help", "consent": "consent_thanks", "rights": "rights",
                    "language": "language_set",
                    # another language's "yes" is no consent: how to use the line instead
                    "foreign_consent": "help"}


def _offered(area_code: str, to: str = "") -> list[str]:
    """The languages to offer a sender: those of the jurisdiction whose hotline number they
    texted, else of their area code's jurisdiction, first."""
    languages = load_languages(current_app.config["SETTINGS"].config_dir)
    gazetteer = current_gazetteer(db.session)
    slug = gazetteer.jurisdiction_for_number(to)
    if slug is None and area_code:
        place = gazetteer.places.area_code(area_code)
        slug = gazetteer.jurisdiction_for_area(place) if place is not None else None
    preferred = gazetteer.jurisdictions[slug].languages if slug is not None else ()
    return languages.offered(preferred)


@bp.post("/status")
@twilio_signed
def message_status() -> Response:
    """Delivery status callbacks for outbound messages."""
    sid = request.form.get("MessageSid") or request.form.get("SmsSid") or ""
    status = (request.form.get("MessageStatus") or request.form.get("SmsStatus") or "").lower()
    if not sid or not status:
        return Response("bad request: MessageSid and MessageStatus are required\n", status=400,
                        mimetype="text/plain")
    raw_code = request.form.get("ErrorCode") or ""
    # Twilio's error codes are five digits; anything else (a superscript ², a 30-digit number
    # that overflows the column) is no code
    code = int(raw_code) if raw_code.isascii() and raw_code.isdigit() and \
        len(raw_code) <= 9 else None
    outbound.apply_status_callback(db.session, sid, status, code)
    db.session.commit()
    return Response("", status=204)
