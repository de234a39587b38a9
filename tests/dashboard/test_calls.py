"""Calls on the dashboard: the live-calls panel and the calls page, rosters, the report a
volunteer writes from a call, and recordings played (and written down) through Hotline."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from hotline.core.extensions import db
from hotline.models import (
    AuditLog,
    Call,
    CallRoster,
    Incident,
    Jurisdiction,
    LegalNetwork,
    Message,
    OutboxJob,
    Report,
    Reporter,
    Responder,
    utcnow,
)
from tests.conftest import drain
from tests.dashboard.conftest import (
    ANNA,
    CALLER_DIGITS,
    LA_VOLUNTEER,
    MARISOL,
    PLACE,
    csrf_of,
    login,
    make_call,
    make_user,
)
from tests.webhooks.test_voice import post as post_voice


def section(html: str, element_id: str) -> str:
    """The element with this id, up to the end of its section."""
    return html.split(f'id="{element_id}"', 1)[1].split("</section>", 1)[0]


def row_of(html: str, call_id: int) -> str:
    return html.split(f'data-call="{call_id}"', 1)[1].split("</tr>", 1)[0]


def audits(app: Any, action: str) -> list[AuditLog]:
    with app.app_context():
        rows = db.session.scalars(select(AuditLog).where(AuditLog.action == action)).all()
        db.session.expunge_all()
        return list(rows)


def client_as(app: Any, email: str, role: str, **kwargs: Any) -> Any:
    make_user(app, email, role, **kwargs)
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


# -- the live-calls panel and the calls page ------------------------------------------------

def test_the_board_s_panel_shows_a_ringing_and_an_answered_call_without_the_caller_s_number(
        app, logged_in):
    ringing = make_call(app, 1, rung=(MARISOL, ANNA))
    answered = make_call(app, 2, state="answered", answered_by=MARISOL, language="pl",
                         minutes_ago=5)
    html = logged_in.get("/").text
    panel = section(html, "live-calls")
    ringing_row, answered_row = row_of(panel, ringing), row_of(panel, answered)
    assert ">ringing<" in ringing_row and "Spanish" in ringing_row and "Chicago" in ringing_row
    assert "<td><span title=\"volunteers whose phones rang\">2</span></td>" in ringing_row
    assert "answered by Marisol Reyes" in answered_row and "Polish" in answered_row
    assert re.search(r'<time datetime="[^"]+" data-age', answered_row)  # talking for ...
    for digits in CALLER_DIGITS:
        assert digits not in panel
    assert "7735550142" not in html and "5550142" not in html
    assert 'href="/calls"' in panel


def test_the_panel_refreshes_through_the_board_s_live_fragment(app, logged_in):
    call_id = make_call(app, 1)
    first = logged_in.get("/live/board")
    assert ">ringing<" in row_of(first.text, call_id)
    unchanged = logged_in.get("/live/board", headers={"If-None-Match": first.headers["ETag"]})
    assert unchanged.status_code == 304
    with app.app_context():
        call = db.session.get(Call, call_id)
        call.state, call.answered_at = "answered", utcnow()
        call.answered_by_id = db.session.scalar(select(Responder.id).where(
            Responder.key == MARISOL))
        db.session.commit()
    changed = logged_in.get("/live/board", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200
    assert "answered by Marisol Reyes" in row_of(changed.text, call_id)


def test_the_panel_keeps_live_calls_and_the_latest_ended_ones_of_twelve_hours(app, logged_in):
    old = make_call(app, 1, state="completed", minutes_ago=13 * 60, ended_at=utcnow())
    ended = make_call(app, 2, state="completed", answered_by=MARISOL, duration=192,
                      ended_at=utcnow())
    voicemail = make_call(app, 3, state="voicemail", outcome="no_answer")
    panel = section(logged_in.get("/").text, "live-calls")
    assert f'data-call="{old}"' not in panel
    assert ">ended<" in row_of(panel, ended) and "3:12" in row_of(panel, ended)
    assert ">voicemail<" in row_of(panel, voicemail)
    assert panel.index(f'data-call="{voicemail}"') < panel.index(f'data-call="{ended}"')
    page = logged_in.get("/calls").text  # 24 hours there
    assert f'data-call="{old}"' in page and f'data-call="{ended}"' in page


def test_the_panel_shows_at_most_twenty_calls_and_counts_the_rest(app, logged_in):
    for n in range(1, 26):
        make_call(app, n, state="completed", minutes_ago=n, ended_at=utcnow())
    panel = section(logged_in.get("/").text, "live-calls")
    assert panel.count("data-call=") == 20
    assert "5 more of the last 12 hours" in panel
    assert logged_in.get("/calls").text.count("data-call=") == 25


def test_a_chicago_dispatcher_sees_no_los_angeles_call_nor_its_report_form(app, client):
    chicago = make_call(app, 1, state="answered", answered_by=MARISOL)
    los_angeles = make_call(app, 2, state="answered", jurisdiction="los-angeles",
                            rung=(LA_VOLUNTEER,), answered_by=LA_VOLUNTEER)
    make_user(app, "chi@example.org", "dispatcher", jurisdictions=["chicago"])
    login(client, "chi@example.org")
    for path in ("/", "/calls", "/live/calls"):
        html = client.get(path).text
        assert f'data-call="{chicago}"' in html and f'data-call="{los_angeles}"' not in html
    assert client.get(f"/calls/{los_angeles}/report").status_code == 404
    assert client.get(f"/calls/{chicago}/report").status_code == 200


def test_lawyers_have_no_calls_page_and_viewers_cannot_write_reports(app):
    call_id = make_call(app, 1, state="answered", answered_by=MARISOL)
    lawyer = client_as(app, "lawyer@example.org", "lawyer", network_slug="chicago-legal")
    assert lawyer.get("/calls").status_code == 403
    viewer = client_as(app, "viewer@example.org", "viewer")
    row = row_of(viewer.get("/calls").text, call_id)
    assert "answered by Marisol Reyes" in row and "Write the report" not in row
    assert viewer.get(f"/calls/{call_id}/report").status_code == 404


# -- rosters ---------------------------------------------------------------------------------

def test_the_rosters_page_shows_chicago_s_always_on_volunteer_and_no_phone_number(app, client):
    make_user(app, "chi@example.org", "dispatcher", jurisdictions=["chicago"])
    login(client, "chi@example.org")
    response = client.get("/rosters")
    assert response.status_code == 200
    html = response.text
    roster = html.split("Chicago Family Support Legal Network", 1)[1]
    on_shift = roster.split('data-testid="on-shift"', 1)[1].split("</div>", 1)[0]
    assert "Marisol Reyes" in on_shift and "Spanish" in on_shift
    assert "America/Chicago" in roster and "every day" in roster and "Mon–Fri" in roster
    assert "09:00–17:00" in roster and "ring" in roster and "20 s" in roster
    assert "LA Rapid Response" not in html  # its roster serves Los Angeles only
    assert not re.search(r"\+?1?\d{3}\D?555\D?\d{4}", html)  # no volunteer's number
    assert "5550196" not in html and "5550195" not in html
    assert 'href="/rosters"' in client.get("/").text  # in the navigation


def test_an_empty_roster_says_when_it_is_next_staffed(app, logged_in, monkeypatch):
    tuesday_10_chicago = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
    monkeypatch.setattr("hotline.dashboard.call_queries.utcnow", lambda: tuesday_10_chicago)
    with app.app_context():
        roster = db.session.scalar(select(CallRoster).join(LegalNetwork).where(
            LegalNetwork.slug == "chicago-legal"))
        roster.shifts = [{"volunteer": MARISOL, "days": ["mon"], "start": "09:00",
                          "end": "10:00"}]
        roster.overrides = [{"responder": ANNA, "start": "2026-11-20T09:00:00",
                             "end": "2026-11-21T09:00:00"}]
        db.session.commit()
        roster_id = roster.id
    shown = section(logged_in.get("/rosters").text, f"roster-{roster_id}")
    assert "Nobody is on shift now" in shown
    assert "Next staffed Mon 2026-12-07 09:00 CST" in shown
    assert "Anna Kowalski" in shown and ">past<" in shown


# -- the report of a call --------------------------------------------------------------------

def _report_form(client: Any, call_id: int, data: dict[str, str]) -> Any:
    page = client.get(f"/calls/{call_id}/report")
    return client.post(f"/calls/{call_id}/report", data={**data,
                                                         "csrf_token": csrf_of(page.text)})


def _voice_messages(app: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Message.id)).where(
            Message.channel == "voice")) or 0


def test_the_report_form_has_the_fields_in_english_and_its_csrf_token(app, logged_in):
    call_id = make_call(app, 1, state="answered", answered_by=MARISOL)
    html = logged_in.get(f"/calls/{call_id}/report").text
    for name, label in (("place", "Where"), ("size", "How many"),
                        ("activity", "What they are doing"), ("uniform", "Uniforms"),
                        ("time", "When"), ("equipment", "Vehicles and equipment"),
                        ("notes", "Anything else")):
        assert f'<label for="f-{name}">{label}' in html and f'name="{name}"' in html
    assert "What the caller told you" in html and 'name="csrf_token"' in html
    without_token = logged_in.post(f"/calls/{call_id}/report", data={"place": PLACE})
    assert without_token.status_code == 400 and _voice_messages(app) == 0


def test_an_empty_report_is_refused_and_stores_nothing(app, logged_in):
    call_id = make_call(app, 1, state="answered", answered_by=MARISOL)
    response = _report_form(logged_in, call_id, {"place": "   ", "notes": ""})
    assert response.status_code == 400
    assert "Nothing was saved" in response.text and "write at least the place" in response.text
    assert _voice_messages(app) == 0
    with app.app_context():
        assert db.session.scalar(select(func.count(OutboxJob.id))) == 0
        assert "report_message" not in db.session.get(Call, call_id).flags
    assert audits(app, "dashboard.call.report") == []


def test_a_written_report_is_one_voice_message_audited_and_triaged_in_the_call_s_jurisdiction(
        app, logged_in):
    call_id = make_call(app, 1, state="completed", answered_by=MARISOL, duration=95,
                        ended_at=utcnow())
    with app.app_context():  # a caller Hotline knows to speak Spanish
        db.session.get(Reporter, db.session.get(Call, call_id).reporter_id).language = "es"
        db.session.commit()
    assert "Write the report" in row_of(logged_in.get("/calls").text, call_id)
    fields = {"place": PLACE, "size": "3 unmarked vans", "activity": "detaining people",
              "uniform": "vests that say POLICE ICE", "notes": "<b>caller is scared</b>"}
    response = _report_form(logged_in, call_id, fields)
    assert response.status_code == 302 and response.headers["Location"] == "/calls"
    landing = logged_in.get("/calls").text
    assert "The report of the call is saved" in landing
    assert "Write the report" not in row_of(landing, call_id)
    assert "report written" in row_of(landing, call_id)

    again = _report_form(logged_in, call_id, {"place": "somewhere else"})
    assert again.status_code == 302
    assert _voice_messages(app) == 1

    (entry,) = audits(app, "dashboard.call.report")
    assert entry.target == str(call_id) and entry.user_id is not None
    assert PLACE not in str(entry.details) and "vans" not in str(entry.details)

    drain(app)
    with app.app_context():
        report = db.session.scalar(select(Report))
        assert report.channel == "voice"
        assert db.session.get(Jurisdiction, report.jurisdiction_id).slug == "chicago"
        incident = db.session.get(Incident, report.incident_id)
        text = app.extensions["hotline_vault"].decrypt(report.text_enc, "report.text")
        assert PLACE in text and "3 unmarked vans" in text
        # the volunteer wrote in English; the caller still speaks Spanish
        call = db.session.get(Call, call_id)
        assert db.session.get(Reporter, call.reporter_id).language == "es"
        assert call.report_id == report.id
    row = row_of(logged_in.get("/calls").text, call_id)
    assert f'href="/incidents/{incident.code}"' in row
    page = logged_in.get(f"/incidents/{incident.code}").text
    assert "&lt;b&gt;caller is scared&lt;/b&gt;" in page and "<b>caller is scared" not in page


def test_a_call_nobody_took_has_no_report_form(app, logged_in):
    ringing = make_call(app, 1)
    voicemail = make_call(app, 2, state="completed", outcome="no_answer", ended_at=utcnow())
    assert logged_in.get(f"/calls/{ringing}/report").status_code == 404
    assert logged_in.get(f"/calls/{voicemail}/report").status_code == 404
    assert "Write the report" not in logged_in.get("/calls").text


# -- recordings ------------------------------------------------------------------------------

RECORDING_SID = "RE" + "9" * 32
AUDIO = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 4


@pytest.fixture
def needs_listening(sms_app, twilio) -> dict[str, Any]:
    """A Haitian Creole recording (no engine transcribes it) triaged into a Chicago incident."""
    client = sms_app.test_client()
    assert post_voice(client, twilio, "/twilio/voice/recorded?lang=ht&tx=none",
                      RecordingSid=RECORDING_SID, RecordingDuration="25",
                      RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/"
                                   + RECORDING_SID).status_code == 200
    drain(sms_app)
    with sms_app.app_context():
        message = db.session.scalar(select(Message).where(Message.channel == "voice"))
        report = db.session.get(Report, message.report_id)
        code = db.session.get(Incident, report.incident_id).code
        return {"message": message.id, "report": report.id, "code": code}


@pytest.fixture
def dispatcher_client(sms_app) -> Any:
    return client_as(sms_app, "dispatcher@example.org", "dispatcher")


def test_the_incident_page_plays_a_recording_that_needs_listening_never_from_twilio(
        sms_app, needs_listening, dispatcher_client):
    html = dispatcher_client.get(f"/incidents/{needs_listening['code']}").text
    message_id = needs_listening["message"]
    assert f'<audio controls preload="none" src="/recordings/{message_id}"' in html
    assert f'action="/recordings/{message_id}/transcript"' in html
    assert "Save what the caller says" in html
    assert "twilio.com" not in html and RECORDING_SID not in html
    viewer = client_as(sms_app, "viewer@example.org", "viewer")
    viewer_page = viewer.get(f"/incidents/{needs_listening['code']}").text
    assert "<audio" not in viewer_page and "twilio.com" not in viewer_page


def test_a_recording_streams_the_stand_in_s_bytes_uncached_and_audited(
        sms_app, standin, needs_listening, dispatcher_client):
    standin.recordings[RECORDING_SID] = ("audio/mpeg", AUDIO)
    response = dispatcher_client.get(f"/recordings/{needs_listening['message']}")
    assert response.status_code == 200
    assert response.data == AUDIO
    assert response.mimetype == "audio/mpeg"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].startswith("inline")
    (entry,) = audits(sms_app, "dashboard.recording.listen")
    assert entry.target == str(needs_listening["message"]) and entry.details["available"]
    assert entry.details["incident"] == needs_listening["code"]


def test_a_recording_twilio_does_not_have_is_a_502_with_a_plain_message(
        sms_app, standin, needs_listening, dispatcher_client):
    response = dispatcher_client.get(f"/recordings/{needs_listening['message']}")
    assert response.status_code == 502
    assert response.mimetype == "text/plain" and "could not be fetched" in response.text
    (entry,) = audits(sms_app, "dashboard.recording.listen")
    assert entry.details["available"] is False


def test_something_that_is_not_audio_is_never_served_as_a_recording(
        sms_app, standin, needs_listening, dispatcher_client):
    standin.recordings[RECORDING_SID] = ("text/html", b"<script>alert(1)</script>")
    response = dispatcher_client.get(f"/recordings/{needs_listening['message']}")
    assert response.status_code == 502 and b"<script>" not in response.data


def test_viewers_other_jurisdictions_and_other_messages_get_no_recording(
        sms_app, standin, needs_listening):
    standin.recordings[RECORDING_SID] = ("audio/mpeg", AUDIO)
    path = f"/recordings/{needs_listening['message']}"
    viewer = client_as(sms_app, "viewer@example.org", "viewer")
    assert viewer.get(path).status_code == 404
    los_angeles = client_as(sms_app, "la@example.org", "dispatcher",
                            jurisdictions=["los-angeles"])
    assert los_angeles.get(path).status_code == 404
    admin = client_as(sms_app, "admin@example.org", "admin")
    with sms_app.app_context():
        outbound = db.session.scalar(select(Message.id).where(Message.direction == "outbound"))
    assert admin.get(f"/recordings/{outbound}").status_code == 404
    assert admin.get("/recordings/999999").status_code == 404
    assert admin.get(path).status_code == 200  # the admin may: the refusals were the scope
    assert len(audits(sms_app, "dashboard.recording.listen")) == 1


def test_what_the_caller_says_re_triages_the_report_and_is_audited_without_the_text(
        sms_app, needs_listening, dispatcher_client):
    code, message_id = needs_listening["code"], needs_listening["message"]
    page = dispatcher_client.get(f"/incidents/{code}")
    text = "ICE at 60608 right now, two vans"
    response = dispatcher_client.post(f"/recordings/{message_id}/transcript",
                                      data={"text": text, "csrf_token": csrf_of(page.text)})
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"/incidents/{code}")
    with sms_app.app_context():
        report = db.session.get(Report, needs_listening["report"])
        assert report.location["zip"] == "60608"
        assert sms_app.extensions["hotline_vault"].decrypt(report.text_enc,
                                                           "report.text") == text
        assert "needs_listening" not in db.session.get(Message, message_id).flags
        # the dispatcher wrote it down in English; the caller still speaks Haitian Creole
        assert db.session.get(Reporter, report.reporter_id).language == "ht"
    (entry,) = audits(sms_app, "dashboard.recording.transcript")
    assert entry.target == str(message_id) and "60608" not in str(entry.details)
    after = dispatcher_client.get(f"/incidents/{code}").text
    assert "Save what the caller says" not in after
    assert f'src="/recordings/{message_id}"' in after  # still playable


def test_a_transcript_needs_text_a_dispatcher_and_the_csrf_token(
        sms_app, needs_listening, dispatcher_client):
    code, message_id = needs_listening["code"], needs_listening["message"]
    path = f"/recordings/{message_id}/transcript"
    token = csrf_of(dispatcher_client.get(f"/incidents/{code}").text)
    assert dispatcher_client.post(path, data={"text": "ICE at 60608"}).status_code == 400
    empty = dispatcher_client.post(path, data={"text": "  ", "csrf_token": token})
    assert empty.status_code == 302
    viewer = client_as(sms_app, "viewer@example.org", "viewer")
    viewer_token = csrf_of(viewer.get(f"/incidents/{code}").text)
    assert viewer.post(path, data={"text": "ICE at 60608",
                                   "csrf_token": viewer_token}).status_code == 403
    with sms_app.app_context():
        assert db.session.get(Message, message_id).flags.get("needs_listening") is True
    assert audits(sms_app, "dashboard.recording.transcript") == []
