"""A signed Twilio SMS webhook, made the way Twilio makes it: for demos, smoke tests, benchmarks."""

from __future__ import annotations

import re
import secrets
from html import unescape
from typing import Any

import requests
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from hotline.core.extensions import db
from hotline.core.settings import Settings
from hotline.models import Incident, Jurisdiction, Message, Report


def sms_form(settings: Settings, from_number: str, to_number: str, body: str,
             sid: str | None = None) -> dict[str, str]:
    """The form fields Twilio posts for an inbound SMS."""
    return {
        "MessageSid": sid or "SM" + secrets.token_hex(16),
        "SmsSid": sid or "",
        "AccountSid": settings.twilio_account_sid,
        "MessagingServiceSid": settings.twilio_messaging_service_sid or "",
        "From": from_number,
        "To": to_number,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }


def sign(auth_token: str, url: str, form: dict[str, str]) -> str:
    """X-Twilio-Signature for a POST of `form` to `url`."""
    return RequestValidator(auth_token).compute_signature(url, form)


def send_signed_sms(settings: Settings, base_url: str, from_number: str, to_number: str,
                    body: str) -> tuple[str, int, str]:
    """POST a signed SMS webhook; returns (MessageSid, HTTP status, reply text)."""
    form = sms_form(settings, from_number, to_number, body)
    form["SmsSid"] = form["MessageSid"]
    url = f"{base_url}/twilio/sms"
    response = requests.post(url, data=form, timeout=10, headers={
        "X-Twilio-Signature": sign(settings.twilio_auth_token, url, form)})
    return form["MessageSid"], response.status_code, twiml_text(response.text)


def twiml_text(xml: str) -> str:
    """The text of the `<Message>` elements of a TwiML document."""
    return " ".join(unescape(m) for m in re.findall(r"<Message[^>]*>(.*?)</Message>", xml, re.S))


def find_incident_for(message_sid: str) -> dict[str, Any] | None:
    """The incident an inbound message became (needs an app context), or None."""
    row = db.session.execute(
        select(Incident, Jurisdiction.slug, Report.location, Report.needs_location)
        .join(Report, Report.incident_id == Incident.id)
        .join(Message, Message.report_id == Report.id)
        .outerjoin(Jurisdiction, Jurisdiction.id == Incident.jurisdiction_id)
        .where(Message.twilio_sid == message_sid)
    ).one_or_none()
    db.session.rollback()  # end the read so the next poll sees new commits
    if row is None:
        return None
    incident, slug, location, needs_location = row
    return {"code": incident.code, "status": incident.status, "jurisdiction": slug,
            "location": location, "needs_location": needs_location}
