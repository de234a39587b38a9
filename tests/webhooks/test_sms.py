"""POST /twilio/sms: signed, durable, idempotent, private, fast to answer."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select, text

from hotline.core.extensions import db
from hotline.models import Message, OutboxJob, Reporter

PHONE = "+13125550123"


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_signed_sms_is_stored_and_acknowledged(app, client, twilio):
    response = twilio.post_sms(client, "ICE at the Home Depot on Western and 47th",
                               from_number=PHONE)
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert "<Response><Message>Hotline: we got your report" in response.text
    with app.app_context():
        message = db.session.scalar(select(Message))
        assert message.direction == "inbound" and message.language == "en"
        assert db.session.scalar(select(OutboxJob.job)) == "triage_message"
        vault = app.extensions["hotline_vault"]
        assert vault.decrypt(message.body_enc, "message.body").startswith("ICE at the Home")
        assert vault.decrypt(message.counterpart_enc, "message.counterpart") == PHONE


def test_spanish_gets_a_spanish_reply(client, twilio):
    response = twilio.post_sms(client, "la migra esta en la esquina de la 24 y mission")
    assert "recibimos su reporte" in response.text


def test_nothing_in_clear_in_the_database(app, client, twilio):
    body = "Migra en 18th y Ashland, 3 camionetas"
    twilio.post_sms(client, body, from_number=PHONE)
    with app.app_context():
        dump = "\n".join(str(row) for table in ("messages", "reporters", "outbox_jobs")
                         for row in db.session.execute(text(f"SELECT * FROM {table}")))
    assert "5550123" not in dump
    assert "Ashland" not in dump and "camionetas" not in dump


@pytest.mark.parametrize("headers", [
    {},
    {"X-Twilio-Signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="},
])
def test_unsigned_or_forged_gets_403_and_stores_nothing(app, client, twilio, headers):
    form = twilio.sms("ICE here")
    response = client.post("/twilio/sms", data=form, headers=headers)
    assert response.status_code == 403
    with app.app_context():
        assert _count(Message) == 0 and _count(Reporter) == 0


def test_signature_over_other_params_is_rejected(app, client, twilio):
    form = twilio.sms("ICE here")
    headers = twilio.headers("/twilio/sms", form)
    form["Body"] = "tampered"
    assert client.post("/twilio/sms", data=form, headers=headers).status_code == 403


def test_signature_for_another_url_is_rejected(app, client, twilio):
    form = twilio.sms("ICE here")
    headers = twilio.headers("/twilio/other", form)
    assert client.post("/twilio/sms", data=form, headers=headers).status_code == 403


def test_repeated_message_sid_stores_once(app, client, twilio):
    form = twilio.sms("ICE at 60608", sid="SM" + "a" * 32)
    headers = twilio.headers("/twilio/sms", form)
    first = client.post("/twilio/sms", data=form, headers=headers)
    second = client.post("/twilio/sms", data=form, headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.text == second.text
    with app.app_context():
        assert _count(Message) == 1
        assert _count(OutboxJob) == 1


@pytest.mark.parametrize(("change", "problem"), [
    ({"MessageSid": "", "SmsSid": ""}, "MessageSid"),
    ({"MessageSid": "not-a-sid", "SmsSid": ""}, "MessageSid"),
    ({"From": ""}, "From"),
    ({"NumMedia": "lots"}, "NumMedia"),
])
def test_malformed_webhook_gets_400_and_a_reason(app, client, twilio, change, problem):
    form = twilio.sms("ICE here")
    form.update(change)
    response = client.post("/twilio/sms", data=form, headers=twilio.headers("/twilio/sms", form))
    assert response.status_code == 400
    assert problem in response.text
    with app.app_context():
        assert _count(Message) == 0


@pytest.mark.parametrize("body", [
    "🚨🚨 ICE 🚔 en la 24 y Mission 😱",
    "<script>alert('x')</script> ICE at <b>Home Depot</b>",
    "Hay agentes de inmigración en la esquina. " * 40,  # ~1,700 characters of Spanish
    "'; DROP TABLE messages; --",
    "\u202eRTL override\u202c and NUL-free text",
    "",
])
def test_any_text_is_stored_intact(app, client, twilio, body):
    response = twilio.post_sms(client, body)
    assert response.status_code == 200
    with app.app_context():
        message = db.session.scalar(select(Message))
        assert app.extensions["hotline_vault"].decrypt(message.body_enc, "message.body") == body


def test_mms_media_references_are_kept(app, client, twilio):
    response = twilio.post_sms(client, "photo of the vans", NumMedia="2",
                               MediaUrl0="https://api.twilio.com/media/ME1",
                               MediaContentType0="image/jpeg",
                               MediaUrl1="https://api.twilio.com/media/ME2",
                               MediaContentType1="video/mp4")
    assert response.status_code == 200
    with app.app_context():
        message = db.session.scalar(select(Message))
        assert message.channel == "mms"
        assert message.media == [
            {"url": "https://api.twilio.com/media/ME1", "content_type": "image/jpeg"},
            {"url": "https://api.twilio.com/media/ME2", "content_type": "video/mp4"}]


def test_stop_opts_out_and_start_opts_back_in(app, client, twilio):
    assert "<Message>" not in twilio.post_sms(client, "STOP", from_number=PHONE).text
    with app.app_context():
        assert db.session.scalar(select(Reporter.opted_out))
    assert "<Message>" not in twilio.post_sms(client, "ICE at 60608", from_number=PHONE).text
    assert "again" in twilio.post_sms(client, "start", from_number=PHONE).text
    with app.app_context():
        assert not db.session.scalar(select(Reporter.opted_out))


def test_help_answers_with_rights_in_spanish(client, twilio):
    twilio.post_sms(client, "hay migra en la tienda de la esquina", from_number=PHONE)
    assert "derecho" in twilio.post_sms(client, "AYUDA", from_number=PHONE).text


def test_logs_carry_no_number_and_no_body(app, client, twilio, caplog):
    caplog.set_level(logging.DEBUG)
    twilio.post_sms(client, "secret words about Ashland", from_number=PHONE)
    logged = caplog.text
    assert "5550123" not in logged and "Ashland" not in logged
    assert "inbound sms SM" in logged


def test_behind_a_trusted_proxy_the_forwarded_url_is_checked(make_app, twilio):
    app = make_app(HOTLINE_PUBLIC_URL=None, HOTLINE_TRUSTED_PROXIES="1")
    client = app.test_client()
    form = twilio.sms("ICE here")
    headers = {**twilio.headers("/twilio/sms", form), "X-Forwarded-Proto": "https",
               "X-Forwarded-Host": "hotline.test"}
    assert client.post("/twilio/sms", data=form, headers=headers).status_code == 200
    # the same request without the proxy's headers was signed for another URL
    form = twilio.sms("ICE again")
    assert client.post("/twilio/sms", data=form,
                       headers=twilio.headers("/twilio/sms", form)).status_code == 403


def test_a_text_to_a_jurisdiction_s_line_is_placed_there_unless_it_names_another_place(
        app, client, twilio):
    """Santa Ana's hotline number names Santa Ana (stronger than the sender's San Francisco
    area code); a place named in the text is stronger still."""
    from hotline.models import Jurisdiction, Report
    from tests.conftest import drain

    twilio.post_sms(client, "agents taking people at the corner store", To="+17145550198",
                    from_number="+14155550162")
    twilio.post_sms(client, "ICE at Union Station Los Angeles now", To="+17145550198",
                    from_number="+14155550163")
    drain(app)
    with app.app_context():
        places = {db.session.get(Jurisdiction, r.jurisdiction_id).slug: r
                  for r in db.session.scalars(select(Report))}
        assert set(places) == {"santa-ana", "los-angeles"}
        assert places["santa-ana"].location["source"] == "hotline_number"


def test_an_unclear_first_text_is_offered_the_languages_of_the_line_texted(client, twilio):
    """Santa Ana offers Vietnamese and Korean right after English and Spanish; the sender's
    area code (San Francisco) would put Chinese and Tagalog there."""
    reply = twilio.post_sms(client, "???", To="+17145550198", from_number="+14155550164")
    text = reply.text
    assert text.index("Tiếng Việt") < text.index("한국어")
    assert "Tagalog" not in text[:text.index("한국어")]
