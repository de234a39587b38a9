"""Webhook views: thin; the work is in `hotline.intake`."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from hotline import intake
from hotline.extensions import db
from hotline.replies import EMPTY_TWIML, load_templates
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
        inbound = intake.record_inbound_sms(db.session, current_app.extensions["hotline_vault"],
                                            request.form, settings.default_region)
    except intake.BadWebhook as exc:
        db.session.rollback()
        return Response(f"bad request: {exc}\n", status=400, mimetype="text/plain")
    db.session.commit()
    templates = load_templates(settings.config_dir / "templates.yaml")
    if inbound.keyword == "stop":
        # Twilio's own opt-out handling answers STOP; a second reply would be blocked anyway.
        return twiml(EMPTY_TWIML)
    if inbound.keyword == "start":
        return twiml(templates.twiml_message("started", inbound.language))
    if inbound.opted_out:
        return twiml(EMPTY_TWIML)
    if inbound.keyword == "help":
        return twiml(templates.twiml_message("help", inbound.language))
    return twiml(templates.twiml_message("ack", inbound.language))
