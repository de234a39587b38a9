"""Voice IVR: a language menu (the caller's jurisdiction's languages first, each announced in
its own language), then a recorded report transcribed in the caller's language."""

from __future__ import annotations

from flask import Response, current_app, request, url_for
from twilio.twiml.voice_response import Gather, Start, VoiceResponse

from hotline.core.extensions import db
from hotline.core.languages import Language, Languages, load_languages
from hotline.incidents.geography import current_gazetteer
from hotline.intake import voice
from hotline.intake.store import BadWebhook
from hotline.messaging.templates import Templates, load_templates
from hotline.webhooks.signing import twilio_signed
from hotline.webhooks.views import bp, twiml

MAX_MENU = 9  # one key each, 1 to 9
# how a language's recording is transcribed: the recording's own (English only), live in the
# caller's language, or not at all (the report waits for someone to listen)
TRANSCRIPTIONS = ("recording", "live", "none")


def _config():  # noqa: ANN202
    directory = current_app.config["SETTINGS"].config_dir
    return load_languages(directory), load_templates(directory)


def _url(endpoint: str, **values: str) -> str:
    """An absolute callback URL on the public base Twilio knows us by."""
    base = current_app.config["SETTINGS"].public_url
    path = url_for(endpoint, **values)
    return f"{base}{path}" if base else url_for(endpoint, _external=True, **values)


def speakable(language: Language) -> bool:
    """Whether a call can be held in the language: a text-to-speech voice, or the operator's
    recordings of all three prompts."""
    return bool(language.say) or {"voice_menu", "voice_prompt", "voice_thanks"} <= \
        language.prompt_url.keys()


def transcription_of(language: Language) -> str:
    """`recording`, `live` or `none` (see TRANSCRIPTIONS)."""
    if language.code == "en":
        return "recording"
    return "live" if language.transcription else "none"


def _speak(parent: VoiceResponse | Gather, language: Language, templates: Templates,
           name: str, **values: str) -> None:
    """A prompt in the language: the operator's recording when there is one, else Twilio's
    text-to-speech voice."""
    url = language.prompt_url.get(name)
    if url:
        parent.play(url)
        return
    attributes = {"language": language.say}
    if language.voice:
        attributes["voice"] = language.voice
    parent.say(templates.text(name, language.code, **values), **attributes)


def _menu_languages(languages: Languages) -> list[str]:
    """The languages of the menu, in order: the caller's jurisdiction's (by the area code of
    `From`), then the others configured; only those a call can be held in; at most nine."""
    preferred: tuple[str, ...] = ()
    caller = (request.form.get("From") or request.form.get("Caller") or "").strip()
    gazetteer = current_gazetteer(db.session)
    place = gazetteer.area_code_place(caller) if caller.startswith("+1") else None
    slug = gazetteer.jurisdiction_for_area(place) if place is not None else None
    if slug is not None:
        preferred = gazetteer.jurisdictions[slug].languages
    codes = [code for code in languages.offered(preferred) if speakable(languages[code])]
    return codes[:MAX_MENU]


def _menu_from_args(languages: Languages) -> list[str]:
    """The menu a Gather was built with (its action carries it), or a fresh one."""
    raw = request.args.get("menu", "")
    codes = [c for c in raw.split(",") if c in languages and speakable(languages[c])]
    return codes[:MAX_MENU] if codes else _menu_languages(languages)


def _menu(attempt: int, codes: list[str]) -> VoiceResponse:
    languages, templates = _config()
    menu = ",".join(codes)
    response = VoiceResponse()
    gather = Gather(num_digits=1, timeout=6,
                    action=_url("webhooks.voice_language", attempt=str(attempt), menu=menu))
    for digit, code in enumerate(codes, start=1):
        _speak(gather, languages[code], templates, "voice_menu", digit=str(digit))
    response.append(gather)
    # no key pressed: the Gather falls through to here
    response.redirect(_url("webhooks.voice_language", attempt=str(attempt), menu=menu),
                      method="POST")
    return response


@bp.post("/voice")
@twilio_signed
def voice_call() -> Response:
    """A call comes in: the language menu."""
    languages, _ = _config()
    return twiml(str(_menu(1, _menu_languages(languages))))


@bp.post("/voice/language")
@twilio_signed
def voice_language() -> Response:
    """The caller's key picks the language; no key repeats the menu once, then the first."""
    languages, templates = _config()
    codes = _menu_from_args(languages)
    digit = (request.form.get("Digits") or "").strip()
    attempt = request.args.get("attempt", "1")
    chosen = int(digit) if digit.isascii() and digit.isdigit() and \
        1 <= int(digit) <= len(codes) else None
    if chosen is None and attempt == "1":
        return twiml(str(_menu(2, codes)))
    language = languages[codes[(chosen or 1) - 1]]
    mode = transcription_of(language)
    response = VoiceResponse()
    if mode == "live":
        # transcribed as the caller speaks, in their language (the recording's own
        # transcription is an English engine)
        start = Start()
        start.transcription(
            language_code=language.transcription, track="inbound_track", partial_results=False,
            status_callback_url=_url("webhooks.voice_transcription_events",
                                     lang=language.code),
            status_callback_method="POST")
        response.append(start)
    _speak(response, language, templates, "voice_prompt")
    response.record(
        max_length=voice.MAX_SECONDS, play_beep=True, finish_on_key="0123456789*#",
        timeout=8, transcribe=mode == "recording",
        **({"transcribe_callback": _url("webhooks.voice_transcription", lang=language.code)}
           if mode == "recording" else {}),
        action=_url("webhooks.voice_recorded", lang=language.code, tx=mode), method="POST")
    # Record falls through here only when nothing was recorded
    response.hangup()
    return twiml(str(response))


@bp.post("/voice/recorded")
@twilio_signed
def voice_recorded() -> Response:
    """The recording is done (or the caller hung up): keep it if there is anything to keep."""
    languages, templates = _config()
    code = request.args.get("lang", "en")
    language = languages[code] if code in languages else languages["en"]
    mode = request.args.get("tx", "recording")
    mode = mode if mode in TRANSCRIPTIONS else "recording"
    settings = current_app.config["SETTINGS"]
    try:
        message = voice.record_recording(db.session, current_app.extensions["hotline_vault"],
                                         request.form, language.code, settings.default_region,
                                         transcription=mode)
    except BadWebhook as exc:
        db.session.rollback()
        return Response(f"bad request: {exc}\n", status=400, mimetype="text/plain")
    db.session.commit()
    response = VoiceResponse()
    if message is not None:
        _speak(response, language, templates, "voice_thanks")
    response.hangup()
    return twiml(str(response))


@bp.post("/voice/transcription")
@twilio_signed
def voice_transcription() -> Response:
    """Twilio's transcription of a recording (English): it becomes the report's text."""
    voice.apply_transcript(db.session, current_app.extensions["hotline_vault"], request.form)
    db.session.commit()
    return Response("", status=204)


@bp.post("/voice/transcription-events")
@twilio_signed
def voice_transcription_events() -> Response:
    """Events of a live transcription in the caller's language (`<Start><Transcription>`)."""
    try:
        voice.apply_transcription_event(db.session, current_app.extensions["hotline_vault"],
                                        request.form)
    except BadWebhook as exc:
        db.session.rollback()
        return Response(f"bad request: {exc}\n", status=400, mimetype="text/plain")
    db.session.commit()
    return Response("", status=204)
