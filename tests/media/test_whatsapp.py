"""WhatsApp through the same Twilio webhook: `whatsapp:` senders are reporters like any other;
replies go back on WhatsApp inside the 24-hour window, as the approved template outside it, or
not at all; responders who prefer WhatsApp get pages and verifier requests there (by SMS when
WhatsApp cannot)."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select, text, update

from hotline.core.extensions import db
from hotline.messaging import notify
from hotline.models import Message, Report, Reporter, Responder, utcnow
from tests.conftest import drain, sending_settings
from tests.media.conftest import PILSEN, jpeg, mms, post

PHONE = "+13125550199"
LINE = "+14155238886"
TEMPLATE = "HX" + "7" * 32


def _whatsapp(twilio, body, number=PHONE, **extra):
    form = twilio.sms(body, from_number="whatsapp:" + number, **extra)
    form["To"] = "whatsapp:" + LINE
    return form


def _creates_to(standin, number):
    return [r.form for r in standin.creates() if r.form["To"].endswith(number)]


def _age_inbound(hours: float) -> None:
    db.session.execute(text("UPDATE messages SET received_at = :t WHERE direction = 'inbound'"),
                       {"t": (utcnow() - timedelta(hours=hours)).replace(tzinfo=None)})
    db.session.commit()


def test_a_whatsapp_sender_is_the_same_reporter_as_their_number(sms_app, twilio, standin):
    client = sms_app.test_client()
    answer = post(client, twilio, _whatsapp(twilio, "ICE at 60608"))
    assert answer.status_code == 200 and "<Message>" in answer.text
    twilio.post_sms(client, "they are leaving now", from_number=PHONE)
    drain(sms_app)
    with sms_app.app_context():
        vault = sms_app.extensions["hotline_vault"]
        reporters = db.session.scalars(select(Reporter)).all()
        assert len(reporters) == 1 and reporters[0].phone_hmac == vault.phone_hmac(PHONE)
        channels = db.session.scalars(select(Message.channel).where(
            Message.direction == "inbound").order_by(Message.id)).all()
        assert channels == ["whatsapp", "sms"]
        assert db.session.scalars(select(Report.channel).order_by(Report.id)).first() == \
            "whatsapp"
        line = db.session.scalar(select(Message.flags).where(Message.channel == "whatsapp"))
        assert line["to"] == LINE


def test_replies_go_back_on_whatsapp_inside_the_window(make_app, twilio, standin):
    app = make_app(**sending_settings(standin, TWILIO_WHATSAPP_FROM="whatsapp:" + LINE))
    client = app.test_client()
    post(client, twilio, _whatsapp(twilio, "la migra esta aqui"))  # no place: "where?"
    standin.whatsapp_inbound(PHONE)
    drain(app)
    sent = _creates_to(standin, PHONE)
    assert len(sent) == 1
    assert sent[0]["To"] == "whatsapp:" + PHONE and sent[0]["From"] == "whatsapp:" + LINE
    assert sent[0]["Body"] and "ContentSid" not in sent[0]
    with app.app_context():
        message = db.session.scalar(select(Message).where(Message.direction == "outbound",
                                                          Message.reporter_id.is_not(None)))
        assert message.channel == "whatsapp" and message.flags["whatsapp"] == "session"


def test_outside_the_window_only_the_template_goes(make_app, twilio, standin):
    app = make_app(**sending_settings(standin, TWILIO_WHATSAPP_TEMPLATE_SID=TEMPLATE))
    client = app.test_client()
    post(client, twilio, _whatsapp(twilio, "ICE at 60608"))
    drain(app)
    with app.app_context():
        _age_inbound(25)
        notify.to_reporter(db.session, db.session.scalar(select(Reporter)), "location_thanks")
        db.session.commit()
    drain(app)
    sent = _creates_to(standin, PHONE)
    assert len(sent) == 1 and sent[0]["ContentSid"] == TEMPLATE and "Body" not in sent[0]
    # the line the person wrote to sends it (no TWILIO_WHATSAPP_FROM here)
    assert sent[0]["From"] == "whatsapp:" + LINE
    assert json.loads(sent[0]["ContentVariables"])["1"]


def test_outside_the_window_without_a_template_nothing_goes(sms_app, twilio, standin):
    client = sms_app.test_client()
    post(client, twilio, _whatsapp(twilio, "ICE at 60608"))
    drain(sms_app)
    with sms_app.app_context():
        _age_inbound(25)
        queued = notify.to_reporter(db.session, db.session.scalar(select(Reporter)),
                                    "location_thanks")
        db.session.commit()
        queued_id = queued.id
    drain(sms_app)
    assert _creates_to(standin, PHONE) == []  # not on WhatsApp, and never by SMS instead
    with sms_app.app_context():
        message = db.session.get(Message, queued_id)
        assert message.status == "suppressed" and "window" in message.flags["suppressed"]


def test_a_whatsapp_photo_is_kept_like_an_mms(sms_app, twilio, standin):
    client = sms_app.test_client()
    form = mms(twilio, standin, "", [("image/jpeg", jpeg(PILSEN))], from_number=PHONE)
    form["From"], form["To"] = "whatsapp:" + PHONE, "whatsapp:" + LINE
    post(client, twilio, form)
    drain(sms_app)
    assert len(standin.deleted_media) == 1
    with sms_app.app_context():
        report = db.session.scalar(select(Report))
        assert report.channel == "whatsapp" and report.location["source"] == "photo"


def test_a_responder_who_prefers_whatsapp_gets_requests_there_or_by_sms(
        make_app, twilio, standin):
    app = make_app(**sending_settings(standin, TWILIO_WHATSAPP_FROM=LINE))
    client = app.test_client()
    with app.app_context():
        db.session.execute(update(Responder).where(Responder.role == "verifier")
                           .values(channel="whatsapp"))
        db.session.commit()
        vault = app.extensions["hotline_vault"]
        phones = {vault.decrypt(r.phone_enc, "responder"): r.key for r in db.session.scalars(
            select(Responder).where(Responder.role == "verifier"))}
    # one Chicago verifier wrote on WhatsApp an hour ago: their window is open
    open_phone = next(p for p, key in phones.items() if key == "chicago-verifier-4")
    post(client, twilio, _whatsapp(twilio, "hello", number=open_phone))
    drain(app)
    twilio.post_sms(client, "ICE vans at Cermak and Pulaski 60623", from_number=PHONE)
    drain(app)
    requests = [r.form for r in standin.creates()
                if r.form["To"].removeprefix("whatsapp:") in phones]
    assert requests, "verifiers were asked"
    for form in requests:
        number = form["To"].removeprefix("whatsapp:")
        if number == open_phone:
            assert form["To"] == "whatsapp:" + number and form["From"] == "whatsapp:" + LINE
        else:  # window closed, no template: a verifier request must still arrive
            assert form["To"] == number and not form["From"].startswith("whatsapp:")
    by_whatsapp = [f for f in requests if f["To"].startswith("whatsapp:")]
    assert [f["To"] for f in by_whatsapp] == ["whatsapp:" + open_phone]
    with app.app_context():
        outcomes = sorted(f.get("whatsapp") for f in db.session.scalars(select(Message.flags)
                          .where(Message.responder_id.is_not(None),
                                 Message.direction == "outbound")))
        assert outcomes == sorted(["session"] + ["sms_fallback"] * (len(requests) - 1))


def test_a_template_message_is_never_taken_for_another_one(make_app, standin):
    from hotline.core.twilio_client import make_client
    from hotline.messaging import outbound

    app = make_app(**sending_settings(standin, TWILIO_WHATSAPP_TEMPLATE_SID=TEMPLATE))
    settings = app.config["SETTINGS"]
    claimed = (utcnow() - timedelta(seconds=30)).isoformat()
    client = make_client(settings)
    client.messages.create(to="whatsapp:" + PHONE, from_="whatsapp:" + LINE,
                           content_sid=TEMPLATE, content_variables=json.dumps(
                               {"1": "page for another incident"}))
    with app.app_context():
        assert outbound._find_at_twilio(settings, "whatsapp:" + PHONE, "our page",
                                        claimed) is None
        found = outbound._find_at_twilio(settings, "whatsapp:" + PHONE,
                                         "page for another incident", claimed)
    assert found is not None and found.startswith("SM")
