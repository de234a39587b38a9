"""Answers for people who ask, through the webhook and the job: a rights question gets the
know-your-rights text at once, a rumour check the verified state of the area from the job;
neither becomes a report, and the answer never tells of an unverified report."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hotline.core.extensions import db
from hotline.messaging import notify
from hotline.models import Incident, Message, Report
from tests.conftest import drain
from tests.routing.helpers import route_pilsen

ASKER = "+13125550190"


def _text(app, template: str, language: str = "en", **values) -> str:
    with app.app_context():
        return notify.templates().text(template, language, **values)


def _reports(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Report.id)))


def _question_flags(app) -> list[dict]:
    with app.app_context():
        return [m.flags for m in db.session.scalars(
            select(Message).where(Message.direction == "inbound").order_by(Message.id))
            if (m.flags or {}).get("question")]


def test_a_rights_question_is_answered_and_makes_no_report(sms_app, twilio, standin):
    client = sms_app.test_client()
    response = twilio.post_sms(client, "what are my rights if ICE comes to my house?",
                               from_number=ASKER)
    assert response.status_code == 200
    assert "<Message>" not in response.text  # no "we got your report": the job answers
    drain(sms_app)
    assert _reports(sms_app) == 0
    assert [m["body"] for m in standin.sent if m["to"] == ASKER] == [_text(sms_app, "rights")]
    assert _question_flags(sms_app)[0]["question"] == "rights"


@pytest.mark.parametrize("body", [
    "is that ICE at the Home Depot on 18th and Ashland in Pilsen?",
    "hay migra en la 18 y Ashland?",
    "Is there a checkpoint on Western Ave?",
])
def test_a_question_naming_a_spot_is_a_report_and_gets_its_acknowledgement(
        sms_app, twilio, standin, body):
    """Found in review: these were answered "no verified report" and made no incident."""
    client = sms_app.test_client()
    assert "<Message>" not in twilio.post_sms(client, body, from_number=ASKER).text
    drain(sms_app)
    assert _reports(sms_app) == 1 and _question_flags(sms_app) == []
    (ack,) = [m["body"] for m in standin.sent if m["to"] == ASKER]
    with sms_app.app_context():
        from hotline.models import Reporter

        language = db.session.scalar(select(Reporter.language))
    assert ack == _text(sms_app, "ack", language)


def test_a_contested_or_held_incident_is_never_told_of(sms_app, twilio, standin):
    """Found in review: a routed incident marked contested by a re-verify's NO, or a verified
    one held, was listed as verified."""
    routed = route_pilsen(sms_app, twilio)
    with sms_app.app_context():
        incident = db.session.scalar(select(Incident).where(Incident.code == routed.code))
        incident.flags = {**(incident.flags or {}), "contested": True}
        db.session.commit()
    twilio.post_sms(routed.client, "is ICE in Pilsen today?", from_number=ASKER)
    drain(sms_app)
    (answer,) = [m["body"] for m in standin.sent if m["to"] == ASKER]
    assert answer == _text(sms_app, "rumour_none", area="pilsen", hours=6)


def test_a_rumour_check_gets_the_verified_state_and_never_an_unverified_report(
        sms_app, twilio, standin):
    client = sms_app.test_client()
    # an unverified report in Pilsen: the rumour check must not tell of it
    twilio.post_sms(client, "ICE arresting people at 18th and Ashland in Pilsen, 3 vans",
                    from_number="+17735550140")
    drain(sms_app)
    response = twilio.post_sms(client, "is ICE in Pilsen today?", from_number=ASKER)
    assert "<Message>" not in response.text  # the job answers
    drain(sms_app)
    (answer,) = [m["body"] for m in standin.sent if m["to"] == ASKER]
    assert answer == _text(sms_app, "rumour_none", area="pilsen", hours=6)
    assert "18th" not in answer
    assert _reports(sms_app) == 1  # only the real report
    flags = _question_flags(sms_app)
    assert flags[0]["question"] == "rumour" and flags[0]["jurisdiction"] == "chicago"


def test_once_verified_a_rumour_check_names_its_place_and_time(sms_app, twilio, standin):
    routed = route_pilsen(sms_app, twilio)
    with sms_app.app_context():
        place = db.session.scalar(select(Incident.location_text).where(
            Incident.code == routed.code))
    twilio.post_sms(routed.client, "¿Hay migra en Pilsen hoy?", from_number=ASKER)
    drain(sms_app)
    (answer,) = [m["body"] for m in standin.sent if m["to"] == ASKER]
    assert place and place in answer
    before_places = _text(sms_app, "rumour_verified", "es", area="pilsen", hours=6,
                          places="\0").split("\0")[0]
    assert answer.startswith(before_places)  # in Spanish, as asked
    assert _reports(sms_app) == 1


def test_a_sighting_asked_as_a_question_is_still_a_report(sms_app, twilio, standin):
    client = sms_app.test_client()
    response = twilio.post_sms(client, "ICE is outside my house right now on 18th and Ashland,"
                               " what do I do?", from_number=ASKER)
    assert "we got your report" in response.text
    drain(sms_app)
    assert _reports(sms_app) == 1 and _question_flags(sms_app) == []


def test_the_board_counts_questions_per_jurisdiction(sms_app, twilio, standin):
    from tests.dashboard.conftest import login, make_user

    client = sms_app.test_client()
    twilio.post_sms(client, "is ICE in Pilsen today?", from_number=ASKER)
    twilio.post_sms(client, "¿Hay migra en Pilsen hoy?", from_number="+13125550191")
    twilio.post_sms(client, "What are my rights?", from_number="+13125550192")
    twilio.post_sms(client, "Do I have to open the door?", from_number="+13125550193")
    drain(sms_app)
    make_user(sms_app, "dispatcher@example.org", "dispatcher")
    browser = sms_app.test_client()
    login(browser, "dispatcher@example.org")
    html = browser.get("/").text
    assert '<li data-jurisdiction="chicago"><strong>Chicago' in html
    assert 'data-testid="rumour">2<' in html
    # "What are my rights?" is the RIGHTS keyword (answered, not a question); the other counts
    assert 'data-testid="rights">1<' in html


def test_a_rumour_check_in_french_is_answered_in_french(sms_app, twilio, standin):
    """Before, a question in a language other than English or Spanish was a report."""
    client = sms_app.test_client()
    body = "Bonjour, est-ce qu'il y a la police de l'immigration à Pilsen aujourd'hui ?"
    assert "<Message>" not in twilio.post_sms(client, body, from_number=ASKER).text
    drain(sms_app)
    (answer,) = [m["body"] for m in standin.sent if m["to"] == ASKER]
    assert answer == _text(sms_app, "rumour_none", "fr", area="pilsen", hours=6)
    assert _reports(sms_app) == 0
    assert _question_flags(sms_app)[0]["question"] == "rumour"


def test_a_sighting_in_french_asked_as_a_question_is_still_a_report(sms_app, twilio, standin):
    client = sms_app.test_client()
    body = "Est-ce que c'est normal ? La police de l'immigration est devant chez moi à Pilsen"
    twilio.post_sms(client, body, from_number=ASKER)
    drain(sms_app)
    assert _reports(sms_app) == 1 and _question_flags(sms_app) == []
