"""Voice: a language menu (the called jurisdiction's languages first, each announced in its own
language), then a volunteer on shift answers live (every one who speaks the caller's language
rings at once; the first to press 1 takes the call), else a voicemail transcribed in the
caller's language. Each step is a signed webhook under /twilio/voice/; the state is kept by
`hotline.intake.calls`."""

from __future__ import annotations

from flask import Response, current_app, request, url_for
from twilio.twiml.voice_response import Dial, Gather, Start, VoiceResponse

from hotline.core.extensions import db
from hotline.core.languages import Language, Languages, load_languages
from hotline.incidents.geography import current_gazetteer
from hotline.intake import calls, voice
from hotline.intake.store import BadWebhook
from hotline.messaging.templates import Templates, load_templates
from hotline.models import Call, CallRoster, Jurisdiction, Responder
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
           name: str, /, **values: str) -> None:
    """A prompt in the language: the operator's recording when there is one, else Twilio's
    text-to-speech voice."""
    url = language.prompt_url.get(name)
    if url:
        parent.play(url)
        return
    if not language.say:
        # no voice and no recording of this prompt: silence, never another language's voice
        return
    attributes = {"language": language.say}
    if language.voice:
        attributes["voice"] = language.voice
    parent.say(templates.text(name, language.code, **values), **attributes)


def _menu_languages(languages: Languages) -> list[str]:
    """The languages of the menu, in order: the called jurisdiction's (its hotline number,
    else the caller's area code), then the others configured; only those a call can be held
    in; at most nine."""
    slug = calls.called_jurisdiction(db.session, request.form)
    gazetteer = current_gazetteer(db.session)
    preferred = gazetteer.jurisdictions[slug].languages if slug is not None else ()
    codes = [code for code in languages.offered(preferred) if speakable(languages[code])]
    return codes[:MAX_MENU]


def _bad(exc: BadWebhook) -> Response:
    db.session.rollback()
    return Response(f"bad request: {exc}\n", status=400, mimetype="text/plain")


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
    """A call comes in: refused if the caller is blocked, the flood's voice check if one is
    on and the caller is new, else the language menu."""
    languages, templates = _config()
    try:
        call = calls.start_call(db.session, current_app.extensions["hotline_vault"],
                                request.form, current_app.config["SETTINGS"].default_region)
    except BadWebhook as exc:
        return _bad(exc)
    db.session.commit()
    response = VoiceResponse()
    if call.state == "blocked":
        response.reject(reason="rejected")  # not answered, not billed
        return twiml(str(response))
    codes = _menu_languages(languages)
    if call.state == "check":
        return twiml(str(_check(1, codes)))
    return twiml(str(_menu(1, codes)))


def _check(attempt: int, codes: list[str]) -> VoiceResponse:
    """The flood's check that a person is calling: "press 5" in the first two languages."""
    languages, templates = _config()
    menu = ",".join(codes)
    response = VoiceResponse()
    gather = Gather(num_digits=1, timeout=6,
                    action=_url("webhooks.voice_check", attempt=str(attempt), menu=menu))
    for code in codes[:2]:
        _speak(gather, languages[code], templates, "voice_check")
    response.append(gather)
    response.redirect(_url("webhooks.voice_check", attempt=str(attempt), menu=menu),
                      method="POST")
    return response


@bp.post("/voice/check")
@twilio_signed
def voice_check() -> Response:
    """5 lets the caller through to the menu; anything else asks once more, then hangs up."""
    languages, _ = _config()
    codes = _menu_from_args(languages)
    call = calls.get(db.session, request.form.get("CallSid"), lock=True)
    if call is None:
        return Response("bad request: unknown CallSid\n", status=400, mimetype="text/plain")
    if (request.form.get("Digits") or "").strip() == "5":
        calls.passed_check(db.session, call)
        db.session.commit()
        return twiml(str(_menu(1, codes)))
    if request.args.get("attempt", "1") == "1":
        return twiml(str(_check(2, codes)))
    call.state, call.outcome = "completed", "failed_check"
    db.session.commit()
    response = VoiceResponse()
    response.hangup()
    return twiml(str(response))


@bp.post("/voice/language")
@twilio_signed
def voice_language() -> Response:
    """The caller's key picks the language; no key repeats the menu once, then the first."""
    languages, templates = _config()
    codes = _menu_from_args(languages)
    digit = (request.form.get("Digits") or "").strip()
    attempt = request.args.get("attempt", "1")
    chosen = int(digit) if len(digit) == 1 and digit.isascii() and digit.isdigit() and \
        1 <= int(digit) <= len(codes) else None
    if chosen is None and attempt == "1":
        return twiml(str(_menu(2, codes)))
    language = languages[codes[(chosen or 1) - 1]]
    call = calls.get(db.session, request.form.get("CallSid"), lock=True)
    response = VoiceResponse()
    if call is not None and call.state in ("check", "blocked"):
        # a caller who has not passed the flood's check (or is blocked) is never rung
        response.hangup()
        return twiml(str(response))
    if call is not None and call.state == "menu":
        _answer(response, call, language)
    elif call is not None and call.state == "ringing":
        # Twilio asked for this step again (a retry): the same volunteers ring again
        again = calls.ringing_again(db.session, call, current_app.extensions["hotline_vault"])
        if again:
            _dial(response, call, language, again)
        else:  # every phone has rung out meanwhile: voicemail
            calls.to_voicemail(call, language.code, "no_answer")
    db.session.commit()
    if call is not None and call.state == "ringing":
        return twiml(str(response))
    # no volunteer (or a call whose start was never seen): the caller leaves a message
    _voicemail(response, language, templates)
    return twiml(str(response))


def _answer(response: VoiceResponse, call: Call, language: Language) -> None:
    """Ring every volunteer on shift who speaks the caller's language (the first to press 1
    takes it), or say why nobody will and when the line is staffed (voicemail follows)."""
    _, templates = _config()
    if call.flags.get("rate_limited"):
        calls.to_voicemail(call, language.code, "rate_limited")
        return
    if call.roster_id is None:
        calls.to_voicemail(call, language.code, "no_roster")
        return
    if call.hotline_number is None:
        # the volunteer would see the caller's own number: never dial without ours
        calls.to_voicemail(call, language.code, "no_caller_id")
        _speak(response, language, templates, "voice_missed")
        return
    found = calls.answering(db.session, call, language.code,
                            current_app.extensions["hotline_vault"])
    if not found.volunteers:
        calls.to_voicemail(call, language.code, "closed")
        if found.next_staffed is not None and language.say:
            _speak(response, language, templates, "voice_closed",
                   when=language.when(found.next_staffed))
        else:
            _speak(response, language, templates, "voice_missed")
        return
    calls.ring(db.session, call, language.code, found.volunteers)
    _speak(response, language, templates, "voice_connecting")
    _dial(response, call, language, found.volunteers)


def _dial(response: VoiceResponse, call: Call, language: Language,
          volunteers: list[calls.Ringing]) -> None:
    """Every volunteer's phone at once, screened, with the line called as caller ID."""
    ring_seconds = db.session.get(CallRoster, call.roster_id).ring_seconds
    dial = Dial(answer_on_bridge=True, caller_id=call.hotline_number, timeout=ring_seconds,
                action=_url("webhooks.voice_dialed", lang=language.code), method="POST")
    for ringing in volunteers:
        volunteer = str(ringing.responder.id)
        values = {"call": call.call_sid, "v": volunteer, "lang": language.code}
        dial.number(ringing.phone, url=_url("webhooks.voice_screen", **values), method="POST",
                    status_callback=_url("webhooks.voice_leg", call=call.call_sid, v=volunteer),
                    status_callback_event="initiated ringing answered completed",
                    status_callback_method="POST")
    response.append(dial)


def _voicemail(response: VoiceResponse, language: Language, templates: Templates) -> None:
    """The caller leaves a message, transcribed in their language (or kept to listen to)."""
    mode = transcription_of(language)
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


def _language_arg(languages: Languages) -> Language:
    code = request.args.get("lang", "en")
    return languages[code] if code in languages else languages["en"]


def _volunteer_arg() -> Responder | None:
    raw = request.args.get("v", "")
    return db.session.get(Responder, int(raw)) if raw.isascii() and raw.isdigit() and \
        len(raw) <= 9 else None


@bp.post("/voice/screen")
@twilio_signed
def voice_screen() -> Response:
    """A volunteer's phone picked up (`<Number url>`): before anything is bridged, tell them
    whose call it is and let them press 1. No key (a voicemail greeting, a pocket) hangs up
    this leg only: the others keep ringing."""
    languages, templates = _config()
    caller_language = _language_arg(languages)
    volunteer = _volunteer_arg()
    call = calls.get(db.session, request.args.get("call"))
    response = VoiceResponse()
    if volunteer is None or call is None:
        response.hangup()
        return twiml(str(response))
    # the screen names a place and a language: spoken by a voice, never a recording
    spoken = next((languages[c] for c in (volunteer.languages or []) if c in languages
                   and languages[c].say), languages["en"])
    if call.state != "ringing":
        # taken by someone else meanwhile, or the caller hung up: nothing to take
        _speak(response, spoken, templates, "voice_screen_taken")
        response.hangup()
        return twiml(str(response))
    name = languages.english_name(caller_language.code) if spoken.code == "en" else \
        languages.name(caller_language.code)
    place = db.session.get(Jurisdiction, call.jurisdiction_id).name \
        if call.jurisdiction_id else "Hotline"
    gather = Gather(num_digits=1, timeout=8, action=_url(
        "webhooks.voice_screen_answer", call=call.call_sid, v=str(volunteer.id),
        lang=spoken.code), method="POST")
    _speak(gather, spoken, templates, "voice_screen", language=name, place=place)
    response.append(gather)
    response.hangup()
    return twiml(str(response))


@bp.post("/voice/screen/answer")
@twilio_signed
def voice_screen_answer() -> Response:
    """The volunteer's key: 1 takes the call (the first one only) and the two are bridged."""
    languages, templates = _config()
    spoken = _language_arg(languages)
    volunteer = _volunteer_arg()
    response = VoiceResponse()
    digit = (request.form.get("Digits") or "").strip()
    if volunteer is None or digit != "1":
        response.hangup()
        return twiml(str(response))
    taken = calls.accept(db.session, request.args.get("call", ""), volunteer.id,
                         request.form.get("CallSid", ""))
    db.session.commit()
    if not taken:
        _speak(response, spoken, templates, "voice_screen_taken")
        response.hangup()
    return twiml(str(response))  # an empty response: the legs are bridged


@bp.post("/voice/leg")
@twilio_signed
def voice_leg() -> Response:
    """Call progress of one volunteer's phone (initiated, ringing, answered, completed)."""
    volunteer = _volunteer_arg()
    if volunteer is not None:
        try:
            calls.leg_progress(db.session, request.args.get("call", ""), volunteer.id,
                               request.form)
        except BadWebhook as exc:
            return _bad(exc)
        db.session.commit()
    return Response("", status=204)


@bp.post("/voice/dialed")
@twilio_signed
def voice_dialed() -> Response:
    """The `<Dial>` ended (`DialCallStatus`): over when a volunteer took the call; otherwise
    nobody did in the roster's `ring_seconds`, and the caller leaves a message."""
    languages, templates = _config()
    language = _language_arg(languages)
    call = calls.dial_finished(db.session, request.form)
    db.session.commit()
    response = VoiceResponse()
    if call is None or call.answered_by_id is not None:
        response.hangup()
        return twiml(str(response))
    _speak(response, language, templates, "voice_missed")
    _voicemail(response, language, templates)
    return twiml(str(response))


@bp.post("/voice/status")
@twilio_signed
def voice_status() -> Response:
    """The number's call status callback: the call ended (the caller hung up, at any step)."""
    calls.ended(db.session, request.form)
    db.session.commit()
    return Response("", status=204)


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
    calls.recorded(db.session, request.form.get("CallSid"),
                   message.id if message is not None else None)
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
