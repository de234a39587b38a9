"""Adversarial tests of calls answered live (each one fails on a defect found in review)."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from hotline.core.extensions import db
from hotline.models import Call, CallLeg, LegalNetwork, Reporter, Responder
from tests.conftest import ROOT, drain
from tests.twiml import assert_valid_twiml
from tests.webhooks.test_calls import (
    ANNA,
    CALLER,
    CHICAGO_LINE,
    MARISOL,
    TUESDAY_10_CHICAGO,
    Caller,
    _numbers,
    _sid,
)

SATURDAY_03_CHICAGO = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)  # Anna works Mon-Fri only
PHILADELPHIA_LINE = "+12155550199"


@pytest.fixture
def clock(monkeypatch):
    """Calls start at this moment (as tests/webhooks/test_calls.py's clock)."""
    def set_to(moment: datetime) -> None:
        monkeypatch.setattr("hotline.intake.calls.utcnow", lambda: moment)
    set_to(TUESDAY_10_CHICAGO)
    return set_to


def _screen_and_take(caller: Caller, dial_text: str, number: str, leg_sid: str):
    """The volunteer at `number` picks up and presses 1; the answer's response."""
    numbers = {n: (url, status) for n, url, status in _numbers(dial_text)}
    url, _ = numbers[number]
    screen = caller.leg(url, leg_sid, CallStatus="in-progress", To=number)
    answer = re.search(r'<Gather action="([^"]+)"', screen.text).group(1)
    return caller.leg(answer, leg_sid, Digits="1", To=number)


# -- the flood's check ------------------------------------------------------------------------

def test_in_a_flood_a_new_caller_cannot_skip_the_check_by_calling_again(client, twilio, clock):
    for n in range(1, 8):  # seven first-time callers: the flood detector is on
        Caller(client, twilio, n=n, caller=f"+1773555{n:04d}").post("/twilio/voice")
    bot = "+17735550008"
    first = Caller(client, twilio, n=8, caller=bot)
    assert "press 5" in first.post("/twilio/voice").text
    first.post("/twilio/voice/status", CallStatus="completed")  # hangs up, never pressed 5
    # the same new number, a second later: it has never passed the check
    again = Caller(client, twilio, n=9, caller=bot).post("/twilio/voice")
    assert "press 5" in again.text, "a second call skips the flood's check"


# -- withheld caller IDs ----------------------------------------------------------------------

@pytest.mark.parametrize("withheld", ["anonymous", "+266696687"])
def test_withheld_caller_ids_do_not_share_one_call_limit(client, twilio, clock, withheld):
    # six different people who withhold their number, each calling once in the hour
    for n in range(1, 7):
        dial = Caller(client, twilio, n=n, caller=withheld).choose("1")
        with client.application.app_context():
            outcome = db.session.scalar(select(Call.outcome).where(Call.call_sid == _sid(n)))
        assert "<Dial" in dial.text, f"caller {n} (a different person) rings nobody: {outcome}"


# -- retried steps ----------------------------------------------------------------------------

def test_a_retried_language_step_does_not_drop_the_caller(client, twilio, clock):
    caller = Caller(client, twilio)
    menu = caller.post("/twilio/voice")
    action = re.search(r'<Gather action="https://hotline.test([^"]+)"', menu.text).group(1)
    action = action.replace("&amp;", "&")
    assert "<Dial" in caller.post(action, Digits="2").text
    # Twilio retries the step (the first response was lost): the caller must still be served
    retried = caller.post(action, Digits="2")
    assert "<Dial" in retried.text or "<Record" in retried.text, retried.text


# -- the end of the <Dial> --------------------------------------------------------------------

def test_a_dial_that_never_bridged_gives_the_caller_voicemail(client, twilio, clock):
    caller = Caller(client, twilio)
    dial = caller.choose("2")
    taken = _screen_and_take(caller, dial.text, MARISOL, _sid(401))
    assert assert_valid_twiml(taken.text).find("*") is None
    # the bridge never happened (her leg dropped, the answer's response was lost ...)
    ended = caller.post("/twilio/voice/dialed?lang=es", DialCallStatus="failed",
                        DialCallDuration="0")
    assert "<Record" in ended.text, "the caller is hung up on without a word or a voicemail"


# -- who is rung ------------------------------------------------------------------------------

def test_a_volunteer_already_on_a_call_is_not_rung_for_another(client, twilio, clock):
    first = Caller(client, twilio, n=1)
    _screen_and_take(first, first.choose("2").text, MARISOL, _sid(501))
    second = Caller(client, twilio, n=2, caller="+14155550162")
    dial = second.choose("2")
    rung = [n for n, _, _ in _numbers(dial.text)]
    assert MARISOL not in rung, "Marisol, talking to the first caller, is rung again"


def test_a_volunteer_cannot_take_two_calls_at_once(client, twilio, clock):
    first = Caller(client, twilio, n=1)
    _screen_and_take(first, first.choose("2").text, MARISOL, _sid(511))
    second = Caller(client, twilio, n=2, caller="+14155550162")
    dial = second.choose("2")
    if MARISOL in [n for n, _, _ in _numbers(dial.text)]:
        _screen_and_take(second, dial.text, MARISOL, _sid(512))
    with client.application.app_context():
        marisol = db.session.scalar(select(Responder).where(
            Responder.key == "chicago-volunteer-7"))
        live = db.session.scalars(select(Call).where(Call.answered_by_id == marisol.id,
                                                     Call.state == "answered")).all()
        assert len(live) <= 1, "one volunteer holds two live calls"


def test_an_inactive_network_s_roster_rings_nobody(client, twilio, clock):
    with client.application.app_context():
        network = db.session.scalar(select(LegalNetwork).where(
            LegalNetwork.slug == "chicago-legal"))
        network.active = False  # as escalation reads it: this network pages nobody
        db.session.commit()
    dial = Caller(client, twilio).choose("2")
    assert "<Dial" not in dial.text and "<Record" in dial.text


# -- when the line is next staffed ------------------------------------------------------------

def test_after_hours_the_time_told_is_when_a_reachable_volunteer_starts(client, twilio, clock):
    clock(SATURDAY_03_CHICAGO)
    with client.application.app_context():
        marisol = db.session.scalar(select(Responder).where(
            Responder.key == "chicago-volunteer-7"))
        marisol.unreachable = True  # her phone bounced (21610): she is rung no more
        db.session.commit()
    closed = Caller(client, twilio).choose("2")
    assert "<Dial" not in closed.text and "<Record" in closed.text
    # Anna is next on Monday 09:00; Marisol's "next shift" (Sunday 00:00) rings nobody either
    assert "lunes 09:00" in closed.text, re.findall(r"<Say[^>]*>([^<]*)</Say>", closed.text)


# -- the call limit ---------------------------------------------------------------------------

def test_calls_that_rang_nobody_do_not_use_up_the_call_limit(client, twilio, clock):
    # 08:05-08:45 in Santa Ana: closed, every call goes to voicemail
    opening = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # Tuesday 09:00 in Los Angeles
    for n in range(1, 6):
        clock(opening - timedelta(minutes=55 - 10 * n))
        closed = Caller(client, twilio, n=n, caller="+17145550161",
                        line="+17145550198").choose("2")
        assert "<Dial" not in closed.text
    clock(opening + timedelta(minutes=5))
    first_open = Caller(client, twilio, n=6, caller="+17145550161",
                        line="+17145550198").choose("2")
    with client.application.app_context():
        outcome = db.session.scalar(select(Call.outcome).where(Call.call_sid == _sid(6)))
    assert "<Dial" in first_open.text, f"the first call that could ring anyone: {outcome}"


# -- recordings-only languages ----------------------------------------------------------------

@pytest.fixture
def haitian_recordings(tmp_path: Path) -> Path:
    """A config whose Haitian Creole has the operator's recordings of the three prompts the
    README asks for (voice_menu, voice_prompt, voice_thanks): it is then offered by voice."""
    directory = tmp_path / "config"
    shutil.copytree(ROOT / "config", directory)
    file = directory / "languages" / "ht.yaml"
    text = file.read_text()
    text = text.replace(
        "  voice: null\n",
        "  voice: null\n  prompt_url:\n"
        "    voice_menu: https://example.org/ht/menu.mp3\n"
        "    voice_prompt: https://example.org/ht/prompt.mp3\n"
        "    voice_thanks: https://example.org/ht/thanks.mp3\n", 1)
    file.write_text(text)
    return directory


def test_a_recordings_only_language_is_never_read_by_an_english_voice(
        make_app, twilio, clock, haitian_recordings):
    app = make_app(HOTLINE_CONFIG_DIR=str(haitian_recordings))
    client = app.test_client()
    caller = Caller(client, twilio, line=PHILADELPHIA_LINE, caller="+12155550161")
    menu = caller.post("/twilio/voice")
    codes = re.search(r"menu=([a-z,]+)", menu.text).group(1).split(",")
    assert "ht" in codes
    dial = caller.choose(str(codes.index("ht") + 1))
    root = assert_valid_twiml(dial.text)
    spoken = [(say.get("language"), say.text) for say in root.iter("Say")]
    assert all(language for language, _ in spoken), \
        f"Haitian Creole read by Twilio's default (English) voice: {spoken}"


# -- odd input --------------------------------------------------------------------------------

def test_a_huge_digits_value_is_no_500(client, twilio, clock):
    caller = Caller(client, twilio)
    caller.post("/twilio/voice")
    response = caller.post("/twilio/voice/language?attempt=1&menu=en,es", Digits="1" * 5000)
    assert response.status_code < 500


def test_a_late_ringing_callback_does_not_bring_a_finished_leg_back(client, twilio, clock):
    caller = Caller(client, twilio)
    ((_, _, status_url),) = _numbers(caller.choose("2").text)
    leg = _sid(601)
    caller.leg(status_url, leg, CallStatus="no-answer")
    caller.leg(status_url, leg, CallStatus="ringing")  # out of order: sent before, came after
    with client.application.app_context():
        assert db.session.scalar(select(CallLeg)).status == "no-answer"


# -- a call's report while the caller's text waits for its place -------------------------------

def test_a_call_s_report_is_the_call_s_even_while_the_caller_s_text_waits_for_its_place(
        sms_app, twilio, clock):
    from hotline.intake.calls import report_from_call
    from hotline.models import Report

    client = sms_app.test_client()
    clock(datetime.now(UTC))
    # the caller texted first, in Spanish, without saying where: asked "where?"
    twilio.post_sms(client, "la migra esta aqui deteniendo gente, tengo miedo",
                    from_number=CALLER, To=CHICAGO_LINE)
    drain(sms_app)
    with sms_app.app_context():
        waiting = db.session.scalar(select(Report))
        assert waiting.state == "awaiting_location"
        assert db.session.scalar(select(Reporter)).language == "es"
    # then calls; Marisol takes it and writes down what the caller says (in English)
    caller = Caller(client, twilio)
    _screen_and_take(caller, caller.choose("2").text, MARISOL, _sid(701))
    with sms_app.app_context():
        call = db.session.scalar(select(Call))
        report_from_call(db.session, sms_app.extensions["hotline_vault"], call,
                         {"place": "Blue Island Avenue and 21st Street in Pilsen",
                          "activity": "the agents are detaining people at the bus stop and "
                                      "they are asking everyone who walks by for papers",
                          "size": "three unmarked vans and about ten agents"},
                         written_by="user:1")
        db.session.commit()
    drain(sms_app)
    with sms_app.app_context():
        call = db.session.scalar(select(Call))
        reporter = db.session.get(Reporter, call.reporter_id)
        problems = [problem for problem, bad in (
            ("the call's report is on no call", call.report_id is None),
            ("the volunteer's English switched the caller's language", reporter.language != "es"),
            ("the volunteer's words were taken as the caller's answer to 'where?'",
             db.session.scalar(select(Report.id).where(Report.channel == "voice")) is None),
        ) if bad]
        assert not problems, problems


# -- the line called places a message -----------------------------------------------------------

def test_a_message_placed_by_a_county_jurisdiction_s_line_gets_its_county_and_a_point(
        sms_app, twilio, clock):
    from hotline.models import Report

    client = sms_app.test_client()
    caller = Caller(client, twilio)  # a San Francisco number calls Chicago's line
    caller.post("/twilio/voice/recorded?lang=en", RecordingSid=_sid(9, "RE"),
                RecordingDuration="20", RecordingUrl="https://api.twilio.com/z")
    caller.post("/twilio/voice/transcription", RecordingSid=_sid(9, "RE"),
                TranscriptionStatus="completed",
                TranscriptionText="immigration agents are taking people away right now")
    drain(sms_app)
    with sms_app.app_context():
        report = db.session.scalar(select(Report))
        assert report.location["source"] == "hotline_number"
        # weaker than the area code? the area code would have given Cook County and a point
        assert report.location["county"] == "Cook" and report.lat is not None, report.location


# -- the dashboard ------------------------------------------------------------------------------

def test_a_chicago_dispatcher_is_not_shown_a_los_angeles_incident_through_a_call(
        sms_app, twilio, clock):
    from hotline.models import Incident, Jurisdiction, Report
    from tests.dashboard.conftest import login, make_user

    clock(datetime.now(UTC))
    client = sms_app.test_client()
    caller = Caller(client, twilio)  # calls Chicago's line, leaves a message about LA
    caller.choose("1")
    caller.post("/twilio/voice/dialed?lang=en", DialCallStatus="no-answer")
    caller.post("/twilio/voice/recorded?lang=en&tx=recording", RecordingSid=_sid(10, "RE"),
                RecordingDuration="20", RecordingUrl="https://api.twilio.com/w")
    caller.post("/twilio/voice/transcription", RecordingSid=_sid(10, "RE"),
                TranscriptionStatus="completed",
                TranscriptionText="ICE agents at Union Station Los Angeles taking people now")
    drain(sms_app)
    with sms_app.app_context():
        incident = db.session.get(Incident, db.session.scalar(select(Report)).incident_id)
        assert db.session.get(Jurisdiction, incident.jurisdiction_id).slug == "los-angeles"
        code = incident.code
    make_user(sms_app, "chi@example.org", "dispatcher", jurisdictions=["chicago"])
    dashboard = sms_app.test_client()
    login(dashboard, "chi@example.org")
    assert dashboard.get(f"/incidents/{code}").status_code == 404  # not theirs
    assert code not in dashboard.get("/calls").text, "another jurisdiction's incident shown"


def test_a_network_removed_from_the_config_no_longer_answers_calls(make_app, twilio, clock,
                                                                   tmp_path):
    import yaml

    from hotline.config_loader import load_config

    directory = tmp_path / "config"
    shutil.copytree(ROOT / "config", directory)
    file = directory / "networks.yaml"
    data = yaml.safe_load(file.read_text())
    data["networks"] = [n for n in data["networks"] if n["slug"] != "chicago-legal"]
    file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    app = make_app(HOTLINE_CONFIG_DIR=str(directory))
    with app.app_context():
        load_config(db.session, app.extensions["hotline_vault"], directory)
        db.session.commit()
    dial = Caller(app.test_client(), twilio).choose("2")
    assert MARISOL not in dial.text, "a network no longer configured still has its volunteers rung"


def test_one_volunteer_s_unreadable_number_does_not_drop_every_call(client, twilio, clock):
    with client.application.app_context():
        anna = db.session.scalar(select(Responder).where(Responder.key == "chicago-volunteer-8"))
        version, key_id, blob = anna.phone_enc.split(".", 2)
        anna.phone_enc = f"{version}.retired-key.{blob}"  # a value no key opens (keys rotate)
        db.session.commit()
    dial = Caller(client, twilio).choose("1")  # English: Marisol and Anna both ring
    assert dial.status_code == 200, dial.status_code
    assert MARISOL in dial.text and ANNA not in dial.text


@pytest.mark.parametrize("withheld", ["anonymous", "+266696687"])
def test_blocking_one_withheld_caller_does_not_reject_every_withheld_caller(
        client, twilio, clock, withheld):
    Caller(client, twilio, n=1, caller=withheld).post("/twilio/voice")
    with client.application.app_context():
        db.session.scalar(select(Reporter)).blocked = True  # one abusive anonymous caller
        db.session.commit()
    other = Caller(client, twilio, n=2, caller=withheld).post("/twilio/voice")
    assert "<Reject" not in other.text, "everyone who withholds their number is rejected"


# -- two presses at once, on SQLite (the embedded default) ------------------------------------

def test_two_volunteers_pressing_1_at_once_do_not_both_take_the_call(app, twilio, clock,
                                                                      monkeypatch):
    import threading

    from hotline.intake import calls

    caller = Caller(app.test_client(), twilio)
    dial = caller.choose("1")  # English: Marisol and Anna both ring
    numbers = {n: url for n, url, _ in _numbers(dial.text)}
    answers = {}
    for number, leg in ((MARISOL, _sid(801)), (ANNA, _sid(802))):
        screen = caller.leg(numbers[number], leg, CallStatus="in-progress", To=number)
        answers[number] = (re.search(r'<Gather action="([^"]+)"', screen.text).group(1), leg)

    original, barrier = calls.get, threading.Barrier(2, timeout=10)

    def get(session, call_sid, lock=False):  # both presses read the call, then both decide
        found = original(session, call_sid, lock)
        if lock:
            barrier.wait()
        return found

    monkeypatch.setattr(calls, "get", get)
    results = {}

    def press(number):
        url, leg = answers[number]
        results[number] = Caller(app.test_client(), twilio).leg(url, leg, Digits="1", To=number)

    threads = [threading.Thread(target=press, args=(n,)) for n in (MARISOL, ANNA)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    bridged = [n for n, r in results.items() if r.status_code == 200 and "<Say" not in r.text]
    assert len(bridged) == 1, f"bridged: {bridged}"


def test_withheld_callers_count_towards_the_flood_each_call_as_one(client, twilio, clock):
    """Anonymous calls share one reporter, made long ago: each call still counts as a new
    caller, so a burst of them turns the flood's check on."""
    with client.application.app_context():  # the shared reporter of withheld numbers is old
        Caller(client, twilio, n=100, caller="anonymous").post("/twilio/voice")
        reporter = db.session.scalar(select(Reporter))
        reporter.created_at = datetime(2025, 1, 1, tzinfo=UTC)
        db.session.commit()
    for n in range(1, 7):
        Caller(client, twilio, n=n, caller="anonymous").post("/twilio/voice")
    assert "press 5" in Caller(client, twilio, n=7, caller="anonymous").post(
        "/twilio/voice").text


def test_a_nul_byte_in_a_call_sid_is_no_query(client, twilio, clock):
    caller = Caller(client, twilio)
    caller.post("/twilio/voice")
    response = caller.post("/twilio/voice/screen/answer?call=CA%00x&v=1&lang=es", Digits="1")
    assert response.status_code == 200 and "<Hangup" in response.text
