"""Voice: language menu, recording with transcription, nothing from a silent hang-up."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from hotline.core.extensions import db
from hotline.models import Incident, Jurisdiction, Message, Report
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


def test_spanish_prompt_records_two_minutes_with_transcription(client, twilio):
    response = post(client, twilio, "/twilio/voice/language?attempt=1", Digits="2")
    assert "Díganos lo que ve" in response.text
    assert 'maxLength="120"' in response.text and 'transcribe="true"' in response.text
    assert re.search(r'transcribeCallback="https://hotline.test/twilio/voice/transcription\?'
                     r'lang=es"', response.text)


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
