"""Calls answered by a person: the number called names the jurisdiction; every volunteer on
shift who speaks the caller's language rings at once, screened (press 1), with the hotline's
caller ID; the first to press 1 takes it; nobody, after hours or a voicemail greeting -> a
message transcribed in the caller's language. Every TwiML checked against Twilio's verbs."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hotline.core.extensions import db
from hotline.models import Call, CallLeg, Incident, Jurisdiction, Report, Reporter, Responder
from tests.conftest import drain
from tests.twiml import assert_valid_twiml

CHICAGO_LINE = "+13125550197"
SANTA_ANA_LINE = "+17145550198"
MARISOL = "+13125550196"  # chicago-volunteer-7: es, en; always on shift
ANNA = "+13125550195"  # chicago-volunteer-8: pl, en; Monday to Friday 09:00-17:00
CALLER = "+14155550161"  # a San Francisco number: the line called decides, not the area code
TUESDAY_10_CHICAGO = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
TUESDAY_03_LOS_ANGELES = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)


def _sid(n: int, prefix: str = "CA") -> str:
    return f"{prefix}{n:032x}"


@pytest.fixture
def clock(monkeypatch):
    def set_to(moment: datetime) -> None:
        monkeypatch.setattr("hotline.intake.calls.utcnow", lambda: moment)
    set_to(TUESDAY_10_CHICAGO)
    return set_to


class Caller:
    """One call, as Twilio posts its steps (signed, with the call's parameters)."""

    def __init__(self, client, twilio, n=1, caller=CALLER, line=CHICAGO_LINE):
        self.client, self.twilio = client, twilio
        self.call = {"CallSid": _sid(n), "AccountSid": "AC" + "1" * 32, "From": caller,
                     "Caller": caller, "To": line, "Called": line,
                     "CallStatus": "in-progress", "Direction": "inbound"}

    def post(self, path, validate=True, **form):
        data = {**self.call, **form}
        response = self.client.post(path, data=data, headers=self.twilio.headers(path, data))
        if validate and response.status_code == 200:
            assert_valid_twiml(response.text)
        return response

    def choose(self, digit: str):
        menu = self.post("/twilio/voice")
        action = re.search(r'<Gather action="https://hotline.test([^"]+)"', menu.text).group(1)
        return self.post(action.replace("&amp;", "&"), Digits=digit)

    def leg(self, url: str, leg_sid: str, **form):
        """A request Twilio makes on a volunteer's leg (its own CallSid, the parent's too)."""
        path = url.replace("https://hotline.test", "").replace("&amp;", "&")
        data = {**self.call, "CallSid": leg_sid, "ParentCallSid": self.call["CallSid"],
                "Direction": "outbound-dial", "To": form.pop("To", MARISOL),
                "From": self.call["To"], **form}
        response = self.client.post(path, data=data, headers=self.twilio.headers(path, data))
        if response.status_code == 200:
            assert_valid_twiml(response.text)
        return response


def _numbers(twiml: str) -> list[tuple[str, str, str]]:
    """(number, screening url, status callback) of each <Number> dialled."""
    found = []
    for attrs, number in re.findall(r"<Number ([^>]*)>([^<]+)</Number>", twiml):
        values = dict(re.findall(r'(\w+)="([^"]*)"', attrs))
        found.append((number, values["url"], values["statusCallback"]))
    return found


def test_a_call_to_chicago_s_line_rings_its_spanish_speaking_volunteer_with_the_line_s_id(
        client, twilio, clock):
    caller = Caller(client, twilio)
    menu = caller.post("/twilio/voice")
    # Chicago's languages first (its line was called; the caller's area code is San Francisco's)
    assert re.search(r"menu=en,es,pl,zh", menu.text)
    dial = caller.choose("2")
    assert "Por favor espere" in dial.text or "espere" in dial.text.lower()
    root = assert_valid_twiml(dial.text)
    (element,) = root.iter("Dial")
    assert element.get("answerOnBridge") == "true" and element.get("callerId") == CHICAGO_LINE
    assert element.get("timeout") == "20"
    assert element.get("action").startswith("https://hotline.test/twilio/voice/dialed")
    numbers = _numbers(dial.text)
    assert [n for n, _, _ in numbers] == [MARISOL]  # Anna speaks Polish and English only
    (number,) = root.iter("Number")
    assert number.get("statusCallbackEvent") == "initiated ringing answered completed"
    assert "/twilio/voice/screen?" in number.get("url")
    assert CALLER not in dial.text and CALLER[2:] not in dial.text  # never the caller's number
    with client.application.app_context():
        call = db.session.scalar(select(Call))
        assert call.state == "ringing" and call.language == "es"
        assert db.session.get(Jurisdiction, call.jurisdiction_id).slug == "chicago"
        assert call.hotline_number == CHICAGO_LINE and len(call.legs) == 1


def test_the_first_volunteer_to_press_1_takes_the_call_and_callbacks_record_it(
        client, twilio, clock):
    caller = Caller(client, twilio)
    dial = caller.choose("9")  # Tiếng Việt: nobody on shift speaks it, so everyone rings
    numbers = dict((n, (url, status)) for n, url, status in _numbers(dial.text))
    assert set(numbers) == {MARISOL, ANNA}
    marisol_leg, anna_leg = _sid(101), _sid(102)
    assert caller.leg(numbers[MARISOL][1], marisol_leg, CallStatus="ringing").status_code == 204
    caller.leg(numbers[ANNA][1], anna_leg, CallStatus="ringing", To=ANNA)
    # each screen names the call's language and place, in the volunteer's own language
    screen = caller.leg(numbers[MARISOL][0], marisol_leg, CallStatus="in-progress")
    assert "Chicago" in screen.text and "1" in screen.text and "<Gather" in screen.text
    assert 'language="es-US"' in screen.text
    polish = caller.leg(numbers[ANNA][0], anna_leg, CallStatus="in-progress", To=ANNA)
    assert 'language="pl-PL"' in polish.text and "Chicago" in polish.text
    answer = re.search(r'<Gather action="([^"]+)"', screen.text).group(1)
    taken = caller.leg(answer, marisol_leg, Digits="1")
    assert assert_valid_twiml(taken.text).find("*") is None  # empty: the two are bridged
    late = caller.leg(re.search(r'<Gather action="([^"]+)"', polish.text).group(1), anna_leg,
                      Digits="1", To=ANNA)
    assert "<Hangup" in late.text and "<Say" in late.text  # told someone else has it
    # a phone that picks up only now is told at once, with nothing to press
    later = caller.leg(numbers[ANNA][0], anna_leg, CallStatus="in-progress", To=ANNA)
    assert "<Gather" not in later.text and "<Hangup" in later.text
    caller.leg(numbers[MARISOL][1], marisol_leg, CallStatus="completed", CallDuration="95")
    caller.leg(numbers[ANNA][1], anna_leg, CallStatus="completed", CallDuration="4", To=ANNA)
    ended = caller.post("/twilio/voice/dialed?lang=vi", DialCallStatus="completed",
                        DialCallSid=marisol_leg, DialCallDuration="95")
    assert "<Hangup" in ended.text and "<Record" not in ended.text
    with client.application.app_context():
        call = db.session.scalar(select(Call))
        marisol = db.session.scalar(select(Responder).where(
            Responder.key == "chicago-volunteer-7"))
        assert call.answered_by_id == marisol.id and call.state == "completed"
        assert call.duration == 95 and call.answered_at is not None
        legs = {leg.responder_id: leg for leg in db.session.scalars(select(CallLeg))}
        assert legs[marisol.id].accepted and legs[marisol.id].leg_sid == marisol_leg
        assert [leg.accepted for leg in legs.values()].count(True) == 1
        assert {leg.status for leg in legs.values()} == {"completed"}


def test_a_volunteer_s_voicemail_never_takes_the_call_and_the_caller_leaves_a_message(
        sms_app, twilio, clock):
    client = sms_app.test_client()
    caller = Caller(client, twilio)
    dial = caller.choose("2")
    ((_, screen_url, _),) = _numbers(dial.text)
    leg = _sid(201)
    screen = caller.leg(screen_url, leg, CallStatus="in-progress")
    # the greeting plays, no key is pressed: the screen's Gather falls through to a hang-up
    assert screen.text.rstrip().endswith("<Hangup /></Response>")
    answer = re.search(r'<Gather action="([^"]+)"', screen.text).group(1)
    assert "<Hangup" in caller.leg(answer, leg).text  # a Gather with no digit
    missed = caller.post("/twilio/voice/dialed?lang=es", DialCallStatus="completed",
                         DialCallSid=leg, DialCallDuration="3")
    assert "<Record" in missed.text and 'languageCode="es-US"' in missed.text
    assert "mensaje de texto" in missed.text.lower()  # texting works too
    with sms_app.app_context():
        call = db.session.scalar(select(Call))
        assert call.answered_by_id is None and call.state == "voicemail"
        assert call.outcome == "no_answer"
    # the message, transcribed live in Spanish, becomes a Spanish report in Chicago
    transcript = "hay agentes de inmigración deteniendo gente en Pilsen, tres camionetas"
    caller.post("/twilio/voice/transcription-events?lang=es", TranscriptionEvent=
                "transcription-content", TranscriptionSid="GT" + "2" * 32, SequenceId="1",
                Final="true", Track="inbound_track", LanguageCode="es-US",
                TranscriptionData=json.dumps({"transcript": transcript, "confidence": 0.9}))
    caller.post("/twilio/voice/transcription-events?lang=es",
                TranscriptionEvent="transcription-stopped", TranscriptionSid="GT" + "2" * 32)
    thanks = caller.post("/twilio/voice/recorded?lang=es&tx=live", RecordingSid=_sid(7, "RE"),
                         RecordingDuration="30", RecordingUrl="https://api.twilio.com/x")
    assert "Gracias" in thanks.text
    drain(sms_app)
    with sms_app.app_context():
        report = db.session.scalar(select(Report))
        assert report.channel == "voice" and report.language == "es"
        incident = db.session.get(Incident, report.incident_id)
        assert db.session.get(Jurisdiction, incident.jurisdiction_id).slug == "chicago"
        assert report.location["source"] != "area_code"
        call = db.session.scalar(select(Call))
        assert call.state == "completed" and call.message_id is not None
        assert db.session.get(Reporter, call.reporter_id).language == "es"


def test_a_message_with_no_place_is_placed_by_the_line_called_not_the_area_code(
        sms_app, twilio, clock):
    client = sms_app.test_client()
    caller = Caller(client, twilio, line=SANTA_ANA_LINE)
    caller.post("/twilio/voice/recorded?lang=en", RecordingSid=_sid(8, "RE"),
                RecordingDuration="20", RecordingUrl="https://api.twilio.com/y")
    caller.post("/twilio/voice/transcription", RecordingSid=_sid(8, "RE"),
                TranscriptionStatus="completed",
                TranscriptionText="immigration agents are at the corner store taking people")
    drain(sms_app)
    with sms_app.app_context():
        report = db.session.scalar(select(Report))
        assert db.session.get(Jurisdiction, report.jurisdiction_id).slug == "santa-ana"
        assert report.location["source"] == "hotline_number"


def test_after_hours_the_caller_hears_when_the_line_is_staffed_then_leaves_a_message(
        client, twilio, clock):
    clock(TUESDAY_03_LOS_ANGELES)  # Santa Ana's volunteers start at 09:00 on weekdays
    caller = Caller(client, twilio, caller="+17145550161", line=SANTA_ANA_LINE)
    closed = caller.choose("2")
    assert "<Dial" not in closed.text and "<Record" in closed.text
    assert "martes 09:00" in closed.text
    with client.application.app_context():
        call = db.session.scalar(select(Call))
        assert call.state == "voicemail" and call.outcome == "closed" and not call.legs


def test_a_blocked_caller_is_rejected_without_answering(client, twilio, clock):
    Caller(client, twilio, n=1).post("/twilio/voice")
    with client.application.app_context():
        reporter = db.session.scalar(select(Reporter))
        reporter.blocked = True
        db.session.commit()
    rejected = Caller(client, twilio, n=2).post("/twilio/voice")
    assert re.search(r"<Response><Reject reason=\"rejected\" /></Response>", rejected.text)
    assert "<Dial" not in Caller(client, twilio, n=2).post(
        "/twilio/voice/language?attempt=1", Digits="1").text


def test_over_the_call_limit_a_number_rings_nobody_but_still_leaves_a_message(
        client, twilio, clock):
    for n in range(1, 6):  # Chicago's roster: 5 calls an hour ring volunteers
        assert "<Dial" in Caller(client, twilio, n=n).choose("1").text
    sixth = Caller(client, twilio, n=6).choose("1")
    assert "<Dial" not in sixth.text and "<Record" in sixth.text
    with client.application.app_context():
        call = db.session.scalar(select(Call).where(Call.call_sid == _sid(6)))
        assert call.outcome == "rate_limited"


def test_in_a_flood_new_callers_must_press_5_before_anyone_is_rung(client, twilio, clock):
    for n in range(1, 8):  # seven first-time callers in ten minutes; the default is 8
        menu = Caller(client, twilio, n=n, caller=f"+1773555{n:04d}").post("/twilio/voice")
        assert "menu=" in menu.text and "press 5" not in menu.text
    eighth = Caller(client, twilio, n=8, caller="+17735550008")
    check = eighth.post("/twilio/voice")
    assert "press 5" in check.text and "/twilio/voice/check" in check.text
    # ringing is refused until the check is passed
    assert "<Hangup" in eighth.post("/twilio/voice/language?attempt=1", Digits="1").text
    again = eighth.post("/twilio/voice/check?attempt=1&menu=en,es", Digits="4")
    assert "attempt=2" in again.text
    menu = eighth.post("/twilio/voice/check?attempt=2&menu=en,es", Digits="5")
    assert "For English, press 1" in menu.text
    assert "<Dial" in eighth.post("/twilio/voice/language?attempt=1&menu=en,es",
                                  Digits="1").text
    # ... and once passed, not asked again; nor is a caller Hotline knew before the flood
    assert "press 5" not in Caller(client, twilio, n=10, caller="+17735550008").post(
        "/twilio/voice").text
    with client.application.app_context():
        vault = client.application.extensions["hotline_vault"]
        db.session.add(Reporter(phone_hmac=vault.phone_hmac("+17735550099"),
                                phone_enc=vault.encrypt("+17735550099", "reporter.phone"),
                                created_at=TUESDAY_10_CHICAGO - timedelta(days=30)))
        db.session.commit()
    known = Caller(client, twilio, n=9, caller="+17735550099")
    assert "press 5" not in known.post("/twilio/voice").text


def test_a_failed_check_hangs_up(client, twilio, clock):
    for n in range(1, 8):
        Caller(client, twilio, n=n, caller=f"+1773555{n:04d}").post("/twilio/voice")
    bot = Caller(client, twilio, n=8, caller="+17735550008")
    bot.post("/twilio/voice")
    bot.post("/twilio/voice/check?attempt=1&menu=en", Digits="")
    hung = bot.post("/twilio/voice/check?attempt=2&menu=en", Digits="")
    assert "<Hangup" in hung.text
    with client.application.app_context():
        call = db.session.scalar(select(Call).where(Call.call_sid == _sid(8)))
        assert call.outcome == "failed_check" and not call.legs


def test_malformed_call_webhooks_are_refused_and_change_nothing(client, twilio, clock):
    caller = Caller(client, twilio)
    assert caller.post("/twilio/voice", CallSid="CAxyz").status_code == 400
    assert caller.post("/twilio/voice", From="", Caller="").status_code == 400
    assert caller.post("/twilio/voice", From="+1" * 40, Caller="").status_code == 400
    ((_, _, status_url),) = _numbers(caller.choose("2").text)
    assert caller.leg(status_url, _sid(301), CallStatus="exploded").status_code == 400
    assert caller.leg(status_url, _sid(301), CallStatus="ringing").status_code == 204
    odd = caller.post("/twilio/voice/screen?call=" + _sid(1) + "&v=%00&lang=es")
    assert "<Hangup" in odd.text
    unknown = caller.post("/twilio/voice/screen/answer?call=" + _sid(99) + "&v=1&lang=es",
                          Digits="1")
    assert "<Say" in unknown.text and "<Hangup" in unknown.text  # not taken: no such call
    with client.application.app_context():
        assert db.session.scalar(select(Call)).answered_by_id is None
