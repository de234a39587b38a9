"""Voice IVR: a language menu, a recorded report with Twilio's transcription."""

from __future__ import annotations

from flask import Response, current_app, request, url_for
from twilio.twiml.voice_response import Gather, VoiceResponse

from hotline.core.extensions import db
from hotline.intake import voice
from hotline.intake.store import BadWebhook
from hotline.messaging.templates import load_templates
from hotline.webhooks.signing import twilio_signed
from hotline.webhooks.views import bp, twiml

SAY_LANGUAGE = {"en": "en-US", "es": "es-US"}


def _templates():  # noqa: ANN202
    return load_templates(current_app.config["SETTINGS"].config_dir)


def _url(endpoint: str, **values: str) -> str:
    """An absolute callback URL on the public base Twilio knows us by."""
    base = current_app.config["SETTINGS"].public_url
    path = url_for(endpoint, **values)
    return f"{base}{path}" if base else url_for(endpoint, _external=True, **values)


def _menu(attempt: int) -> VoiceResponse:
    templates = _templates()
    response = VoiceResponse()
    gather = Gather(num_digits=1, timeout=6,
                    action=_url("webhooks.voice_language", attempt=str(attempt)))
    gather.say(templates.text("voice_menu", "en"), language=SAY_LANGUAGE["en"])
    gather.say(templates.text("voice_menu", "es"), language=SAY_LANGUAGE["es"])
    response.append(gather)
    # no key pressed: the Gather falls through to here
    response.redirect(_url("webhooks.voice_language", attempt=str(attempt)), method="POST")
    return response


@bp.post("/voice")
@twilio_signed
def voice_call() -> Response:
    """A call comes in: the language menu."""
    return twiml(str(_menu(1)))


@bp.post("/voice/language")
@twilio_signed
def voice_language() -> Response:
    """1 English, 2 español; no input repeats the menu once, then English."""
    digit = (request.form.get("Digits") or "").strip()
    attempt = request.args.get("attempt", "1")
    if digit not in ("1", "2") and attempt == "1":
        return twiml(str(_menu(2)))
    language = "es" if digit == "2" else "en"
    templates = _templates()
    response = VoiceResponse()
    response.say(templates.text("voice_prompt", language), language=SAY_LANGUAGE[language])
    response.record(
        max_length=voice.MAX_SECONDS, play_beep=True, finish_on_key="0123456789*#",
        timeout=8, transcribe=True,
        transcribe_callback=_url("webhooks.voice_transcription", lang=language),
        action=_url("webhooks.voice_recorded", lang=language), method="POST")
    # Record falls through here only when nothing was recorded
    response.hangup()
    return twiml(str(response))


@bp.post("/voice/recorded")
@twilio_signed
def voice_recorded() -> Response:
    """The recording is done (or the caller hung up): keep it if there is anything to keep."""
    language = request.args.get("lang", "en")
    language = language if language in SAY_LANGUAGE else "en"
    settings = current_app.config["SETTINGS"]
    try:
        message = voice.record_recording(db.session, current_app.extensions["hotline_vault"],
                                         request.form, language, settings.default_region)
    except BadWebhook as exc:
        db.session.rollback()
        return Response(f"bad request: {exc}\n", status=400, mimetype="text/plain")
    db.session.commit()
    response = VoiceResponse()
    if message is not None:
        response.say(_templates().text("voice_thanks", language),
                     language=SAY_LANGUAGE[language])
    response.hangup()
    return twiml(str(response))


@bp.post("/voice/transcription")
@twilio_signed
def voice_transcription() -> Response:
    """Twilio's transcription of a recording: it becomes the report's text."""
    voice.apply_transcript(db.session, current_app.extensions["hotline_vault"], request.form)
    db.session.commit()
    return Response("", status=204)
