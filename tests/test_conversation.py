"""Follow-up questions, keywords, consent: the conversation with a reporter."""

from __future__ import annotations

from sqlalchemy import func, select

from hotline.core.extensions import db
from hotline.models import Incident, Message, Report, Reporter
from tests.conftest import drain

PHONE = "+13125550160"


def sent_to_reporter(standin):
    return [m["body"] for m in standin.sent if m["to"] == PHONE]


def test_missing_location_gets_one_question_and_the_answer_completes_the_report(
        sms_app, twilio, standin):
    client = sms_app.test_client()
    assert "recibimos" in twilio.post_sms(client, "hay migra aqui ahorita, 4 agentes",
                                          from_number=PHONE).text
    drain(sms_app)
    (question,) = sent_to_reporter(standin)
    assert question.startswith("¿Dónde exactamente")
    twilio.post_sms(client, "en la 26 y Kedzie, la villita", from_number=PHONE)
    drain(sms_app)
    with sms_app.app_context():
        (report,) = db.session.scalars(select(Report)).all()
        assert report.state == "complete" and not report.needs_location
        assert report.location["street"]
        assert report.salute["size"]["agents"] == 4
        incident = db.session.scalar(select(Incident))
        assert db.session.get(Incident, incident.id).location_text
        assert db.session.scalar(select(func.count(Message.id)).where(
            Message.report_id == report.id, Message.direction == "inbound")) == 2
    assert sent_to_reporter(standin)[-1].startswith("Gracias, agregamos")


def test_a_second_missing_answer_does_not_nag(sms_app, twilio, standin):
    client = sms_app.test_client()
    twilio.post_sms(client, "ICE here now", from_number=PHONE)
    drain(sms_app)
    twilio.post_sms(client, "I don't know, near my house", from_number=PHONE)
    drain(sms_app)
    twilio.post_sms(client, "still here", from_number=PHONE)
    drain(sms_app)
    questions = [b for b in sent_to_reporter(standin) if b.startswith("Where exactly")]
    assert len(questions) == 1


def test_reporter_language_is_remembered(sms_app, twilio, standin):
    client = sms_app.test_client()
    twilio.post_sms(client, "la migra esta en la tienda de la esquina", from_number=PHONE)
    drain(sms_app)
    with sms_app.app_context():
        assert db.session.scalar(select(Reporter.language)) == "es"
    # "HELP" says nothing about language; the remembered one answers
    assert "derecho" in twilio.post_sms(client, "HELP", from_number=PHONE).text
    assert "Tiene derecho" in twilio.post_sms(client, "info", from_number=PHONE).text


def test_consent_keyword(sms_app, twilio):
    client = sms_app.test_client()
    response = twilio.post_sms(client, "Sí", from_number=PHONE)
    assert "Le avisaremos" in response.text
    with sms_app.app_context():
        assert db.session.scalar(select(Reporter.consent_contact))


def test_opted_out_number_gets_nothing_until_start(sms_app, twilio, standin):
    client = sms_app.test_client()
    twilio.post_sms(client, "PARAR", from_number=PHONE)
    response = twilio.post_sms(client, "ICE here now", from_number=PHONE)
    assert "<Message>" not in response.text
    drain(sms_app)
    assert sent_to_reporter(standin) == []  # not even the follow-up question
    with sms_app.app_context():
        assert db.session.scalar(select(func.count(Report.id))) == 1  # still a report
    # START in Spanish after an English report: confirmed in the reporter's language (a
    # keyword's own language fills in only an unknown one)
    assert "You will get messages from Hotline again" in twilio.post_sms(
        client, "COMENZAR", from_number=PHONE).text


def test_mms_media_reach_the_report(sms_app, twilio, standin):
    from tests.media.conftest import jpeg, mms, post

    client = sms_app.test_client()
    post(client, twilio, mms(twilio, standin, "ICE at 60608", [("image/jpeg", jpeg())],
                             from_number=PHONE))
    drain(sms_app)
    with sms_app.app_context():
        media = db.session.scalar(select(Report)).media
        # the report points at the media kept here; Twilio's URL is not kept
        assert [(m["content_type"], m["kind"], m["status"]) for m in media] == [
            ("image/jpeg", "image", "stored")] and "url" not in media[0]
