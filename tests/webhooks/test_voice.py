"""Voice: language menu, recording with transcription, nothing from a silent hang-up."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hotline.core.extensions import db
from hotline.models import Incident, Jurisdiction, Message, Report, Reporter, VoiceTranscript
from tests.conftest import drain, run_due_timers

CALLER = "+13125550170"
CALL = {"CallSid": "CA" + "c" * 32, "AccountSid": "AC" + "1" * 32, "From": CALLER,
        "To": "+15555550100", "CallStatus": "in-progress", "Direction": "inbound"}


def post(client, twilio, path, **form):
    data = {**CALL, **form}
    return client.post(path, data=data, headers=twilio.headers(path, data))


def test_menu_offers_both_languages(client, twilio):
    response = post(client, twilio, "/twilio/voice")
    assert response.status_code == 200
    assert "<Gather" in response.text and 'numDigits="1"' in response.text
    assert "For English, press 1" in response.text and "Para español, oprima 2" in response.text


def test_unsigned_call_is_refused(client):
    assert client.post("/twilio/voice", data=CALL).status_code == 403


def test_no_input_repeats_once_then_english(client, twilio):
    again = post(client, twilio, "/twilio/voice/language?attempt=1")
    assert "<Gather" in again.text and "attempt=2" in again.text
    english = post(client, twilio, "/twilio/voice/language?attempt=2")
    assert "<Record" in english.text and "Tell us what you see" in english.text


def test_english_prompt_records_two_minutes_with_the_recording_s_transcription(client, twilio):
    response = post(client, twilio, "/twilio/voice/language?attempt=1", Digits="1")
    assert "Tell us what you see" in response.text
    assert 'maxLength="120"' in response.text and 'transcribe="true"' in response.text
    assert re.search(r'transcribeCallback="https://hotline.test/twilio/voice/transcription\?'
                     r'lang=en"', response.text)
    assert "<Start>" not in response.text


def test_spanish_is_transcribed_live_in_spanish_not_by_the_english_engine(client, twilio):
    """Twilio's recording transcription is English only: a Spanish caller used to get an
    English model's guess ("pulaski" became a separate incident)."""
    response = post(client, twilio, "/twilio/voice/language?attempt=1", Digits="2")
    assert "Díganos lo que ve" in response.text
    assert 'transcribe="false"' in response.text and "transcribeCallback" not in response.text
    assert re.search(r'<Start><Transcription languageCode="es-US" partialResults="false" '
                     r'statusCallbackMethod="POST" statusCallbackUrl="https://hotline.test/'
                     r'twilio/voice/transcription-events\?lang=es" track="inbound_track" />'
                     r'</Start>', response.text)
    assert re.search(r'action="https://hotline.test/twilio/voice/recorded\?lang=es&amp;'
                     r'tx=live"', response.text)


def test_hang_up_before_speaking_leaves_nothing(app, client, twilio):
    response = post(client, twilio, "/twilio/voice/recorded?lang=en", RecordingDuration="0")
    assert response.status_code == 200 and "<Hangup" in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count(Message.id))) == 0


def test_recording_and_transcript_become_a_triaged_report(sms_app, twilio):
    client = sms_app.test_client()
    recording = {"RecordingSid": "RE" + "d" * 32,
                 "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
                 "RecordingDuration": "34"}
    response = post(client, twilio, "/twilio/voice/recorded?lang=es", **recording)
    assert "Gracias" in response.text
    post(client, twilio, "/twilio/voice/recorded?lang=es", **recording)  # Twilio retries
    transcript = "la migra esta en la 26 y Pulaski en la villita, tres camionetas"
    assert post(client, twilio, "/twilio/voice/transcription?lang=es",
                RecordingSid=recording["RecordingSid"], TranscriptionStatus="completed",
                TranscriptionText=transcript).status_code == 204
    drain(sms_app)
    with sms_app.app_context():
        (message,) = db.session.scalars(select(Message).where(
            Message.direction == "inbound")).all()
        assert message.channel == "voice" and message.media[0]["duration"] == 34
        report = db.session.scalar(select(Report))
        assert report.channel == "voice" and report.language == "es"
        incident = db.session.scalar(select(Incident))
        assert db.session.get(Jurisdiction, incident.jurisdiction_id).slug == "chicago"
        vault = sms_app.extensions["hotline_vault"]
        assert vault.decrypt(report.text_enc, "report.text") == transcript


def test_without_a_transcript_the_recording_still_becomes_a_report(sms_app, twilio):
    client = sms_app.test_client()
    post(client, twilio, "/twilio/voice/recorded?lang=en", RecordingSid="RE" + "e" * 32,
         RecordingUrl="https://api.twilio.com/rec/RE2", RecordingDuration="12")
    drain(sms_app)
    with sms_app.app_context():
        assert db.session.scalar(select(func.count(Report.id))) == 0  # waiting for the text
    run_due_timers(sms_app, "triage_message")
    with sms_app.app_context():
        report = db.session.scalar(select(Report))
        assert report is not None and report.media[0]["url"].endswith("RE2")
    # and a transcript that arrives late still gives the report its text
    post(client, twilio, "/twilio/voice/transcription", RecordingSid="RE" + "e" * 32,
         TranscriptionStatus="completed", TranscriptionText="ICE at 60608 right now")
    with sms_app.app_context():
        report = db.session.scalar(select(Report))
        assert report.location["zip"] == "60608"


def _utterance(client, twilio, sequence, text, final="true", track="inbound_track"):
    return post(client, twilio, "/twilio/voice/transcription-events?lang=es",
                TranscriptionEvent="transcription-content", TranscriptionSid="GT" + "1" * 32,
                SequenceId=str(sequence), Final=final, Track=track, LanguageCode="es-US",
                TranscriptionData=json.dumps({"transcript": text, "confidence": 0.9}))


LIVE_RECORDING = {"RecordingSid": "RE" + "f" * 32, "RecordingDuration": "40",
                  "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE3"}


@pytest.mark.parametrize("stopped_first", [False, True])
def test_a_live_spanish_transcription_becomes_the_report_s_text(sms_app, twilio, stopped_first):
    client = sms_app.test_client()
    assert _utterance(client, twilio, 2, "tres camionetas, están agarrando gente").status_code \
        == 204
    _utterance(client, twilio, 1, "la migra está en la 26 y Pulaski en la Villita")
    _utterance(client, twilio, 1, "la migra está en la 26 y Pulaski en la Villita")  # a retry
    _utterance(client, twilio, 3, "la migra está en", final="false")  # partial: not kept
    _utterance(client, twilio, 4, "Díganos lo que ve", track="outbound_track")  # our prompt
    stopped = {"TranscriptionEvent": "transcription-stopped",
               "TranscriptionSid": "GT" + "1" * 32}
    if stopped_first:
        post(client, twilio, "/twilio/voice/transcription-events?lang=es", **stopped)
    response = post(client, twilio, "/twilio/voice/recorded?lang=es&tx=live", **LIVE_RECORDING)
    assert "Gracias" in response.text
    if not stopped_first:
        post(client, twilio, "/twilio/voice/transcription-events?lang=es", **stopped)
    drain(sms_app)
    with sms_app.app_context():
        report = db.session.scalar(select(Report))
        assert report is not None and report.channel == "voice" and report.language == "es"
        text = sms_app.extensions["hotline_vault"].decrypt(report.text_enc, "report.text")
        assert text == ("la migra está en la 26 y Pulaski en la Villita tres camionetas, están "
                        "agarrando gente")
        incident = db.session.scalar(select(Incident))
        assert db.session.get(Jurisdiction, incident.jurisdiction_id).slug == "chicago"
        assert db.session.scalar(select(func.count(VoiceTranscript.id))) == 0  # nothing kept
        reporter = db.session.get(Reporter, report.reporter_id)
        assert reporter.language == "es"


def test_utterances_whose_end_never_came_still_reach_the_report(sms_app, twilio):
    client = sms_app.test_client()
    _utterance(client, twilio, 1, "ICE en la 26 y Pulaski ahorita")
    post(client, twilio, "/twilio/voice/recorded?lang=es&tx=live", **LIVE_RECORDING)
    drain(sms_app)
    with sms_app.app_context():
        assert db.session.scalar(select(func.count(Report.id))) == 0  # waiting
    run_due_timers(sms_app, "triage_message")
    with sms_app.app_context():
        report = db.session.scalar(select(Report))
        text = sms_app.extensions["hotline_vault"].decrypt(report.text_enc, "report.text")
        assert text == "ICE en la 26 y Pulaski ahorita"


def test_malformed_transcription_events_are_refused_and_lose_nothing(client, twilio):
    bad = post(client, twilio, "/twilio/voice/transcription-events",
               TranscriptionEvent="transcription-content", SequenceId="x", Final="true",
               TranscriptionData="{")
    assert bad.status_code == 400
    assert post(client, twilio, "/twilio/voice/transcription-events", CallSid="nope",
                TranscriptionEvent="transcription-stopped").status_code == 400


def _menu_options(text: str) -> list[tuple[str, str]]:
    """(voice or Play, words) of each menu option, in order."""
    gather = text[text.index("<Gather"):text.index("</Gather>")]
    found = re.findall(r'<Say language="[^"]+" voice="([^"]+)">([^<]+)</Say>|'
                       r'<Play>([^<]+)</Play>', gather)
    return [(voice or "play", words or url) for voice, words, url in found]


def test_the_menu_offers_the_caller_s_jurisdiction_s_languages_each_in_its_own_voice(
        client, twilio, monkeypatch):
    """A Chicago caller hears Chicago's languages first (en, es, pl, zh, ar, ko, tl, ur, vi),
    each announced in that language by its own voice; Urdu, which has no Twilio voice and no
    recording here, is left out, so the next language takes its key; nine keys at most."""
    response = post(client, twilio, "/twilio/voice")
    options = _menu_options(response.text)
    assert [o[0] for o in options[:5]] == ["Polly.Joanna", "Polly.Lupe", "Polly.Ewa",
                                           "Polly.Zhiyu", "Polly.Zeina"]
    assert options[0][1] == "For English, press 1." and "2" in options[1][1]
    assert "3" in options[2][1] and "polsk" in options[2][1].lower()
    assert len(options) == 9 and all(voice != "play" for voice, _ in options)
    menu = re.search(r'action="[^"]*menu=([^"&]+)', response.text).group(1).split(",")
    assert menu[:8] == ["en", "es", "pl", "zh", "ar", "ko", "tl", "vi"] and "ur" not in menu
    # the key chooses from that same menu: 3 is Polish, spoken in Polish; on a Tuesday at
    # 10:00 in Chicago the Polish-speaking volunteer on shift is rung, and only she
    monkeypatch.setattr("hotline.intake.calls.utcnow",
                        lambda: datetime(2026, 12, 1, 16, 0, tzinfo=UTC))
    chosen = post(client, twilio, "/twilio/voice/language?attempt=1&menu=" + ",".join(menu),
                  Digits="3")
    assert 'voice="Polly.Ewa"' in chosen.text and "Proszę" in chosen.text
    assert re.findall(r">(\+\d+)</Number>", chosen.text) == ["+13125550195"]
    # and when she does not answer, the caller's message is transcribed in Polish
    missed = post(client, twilio, "/twilio/voice/dialed?lang=pl", DialCallStatus="no-answer")
    assert 'languageCode="pl-PL"' in missed.text and "<Record" in missed.text


def test_a_language_without_a_voice_is_offered_with_the_operator_s_recordings(
        make_app, twilio, tmp_path, monkeypatch):
    import shutil

    import yaml

    config = tmp_path / "config"
    shutil.copytree(Path(__file__).resolve().parents[2] / "config", config)
    path = config / "languages" / "ht.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["voice"]["prompt_url"] = {name: f"https://recordings.example.org/ht/{name}.mp3"
                                   for name in ("voice_menu", "voice_prompt", "voice_thanks")}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    # a Wednesday at 05:00 in Philadelphia: nobody of its roster is on shift (at 09:00 a
    # volunteer would answer live, and the recorded prompt is never played)
    monkeypatch.setattr("hotline.intake.calls.utcnow",
                        lambda: datetime(2026, 12, 2, 10, 0, tzinfo=UTC))
    app = make_app(HOTLINE_CONFIG_DIR=str(config))
    client = app.test_client()
    philadelphia = {"From": "+12155550190"}  # Philadelphia offers Kreyòl
    options = _menu_options(post(client, twilio, "/twilio/voice", **philadelphia).text)
    assert ("play", "https://recordings.example.org/ht/voice_menu.mp3") in options
    key = options.index(("play", "https://recordings.example.org/ht/voice_menu.mp3")) + 1
    menu = "en,es,zh,vi,ht,pt,fr,ru,ar"
    chosen = post(client, twilio, f"/twilio/voice/language?attempt=1&menu={menu}",
                  Digits=str(menu.split(",").index("ht") + 1), **philadelphia)
    assert "<Play>https://recordings.example.org/ht/voice_prompt.mp3</Play>" in chosen.text
    # no engine transcribes Haitian Creole: the recording is a report that needs listening
    assert "<Start>" not in chosen.text and 'transcribe="false"' in chosen.text
    assert "tx=none" in chosen.text
    assert options[key - 1][0] == "play"


def test_a_recording_nobody_can_transcribe_is_a_report_that_needs_listening(sms_app, twilio):
    client = sms_app.test_client()
    response = post(client, twilio, "/twilio/voice/recorded?lang=ht&tx=none",
                    RecordingSid="RE" + "9" * 32, RecordingDuration="25",
                    RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE9")
    assert response.status_code == 200
    drain(sms_app)  # at once: no transcript is waited for
    with sms_app.app_context():
        message = db.session.scalar(select(Message).where(Message.channel == "voice"))
        assert message.flags.get("needs_listening") is True
        report = db.session.scalar(select(Report))
        assert report is not None and report.language == "ht"
