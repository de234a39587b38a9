"""Subscribing by text: keyword + area in several languages, double opt-in, three areas at
most, ALERTS OFF and STOP; a message that starts with "alert" and tells a raid is a report."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from hotline.core.extensions import db
from hotline.models import Message, OutboxJob, Report, Subscriber, SubscriberArea
from tests.broadcasts.conftest import subscribe, subscriber_status

N1, N2, N3 = "+13125550161", "+13125550162", "+13125550163"


def _areas(app, number):
    with app.app_context():
        digest = app.extensions["hotline_vault"].phone_hmac(number)
        return db.session.execute(
            select(SubscriberArea.kind, SubscriberArea.key, SubscriberArea.label)
            .join(Subscriber, Subscriber.id == SubscriberArea.subscriber_id)
            .where(Subscriber.phone_hmac == digest).order_by(SubscriberArea.id)).all()


def test_double_opt_in_in_english(app, client, twilio):
    ask, yes = subscribe(client, twilio, N1, "ALERTS 60623")
    assert "Hotline alerts for 60623" in ask and "Reply YES to confirm" in ask
    assert "a few times a month" in ask and "STOP" in ask
    assert "Confirmed" in yes and "60623" in yes
    assert subscriber_status(app, N1) == "confirmed"
    assert _areas(app, N1) == [("zip", "60623", "60623")]


def test_nobody_is_confirmed_without_yes(app, client, twilio):
    subscribe(client, twilio, N1, "ALERTS 60623", confirm=None)
    assert subscriber_status(app, N1) == "pending"


@pytest.mark.parametrize(("body", "yes", "expected_reply", "label"), [
    ("ALERTAS Pilsen", "SI", "Alertas de Hotline para Pilsen", "Pilsen"),
    ("alertas en la villita", "sí", "Alertas de Hotline para La Villita", "La Villita"),
    ("Alertes 60623", "OUI", "60623", "60623"),
    ("提醒 60608", "是", "60608", "60608"),
])
def test_other_languages(app, client, twilio, body, yes, expected_reply, label):
    ask, confirmed = subscribe(client, twilio, N2, body, confirm=yes)
    assert expected_reply in ask
    assert subscriber_status(app, N2) == "confirmed", confirmed
    assert _areas(app, N2)[0][2] == label


def test_the_language_of_the_keyword_is_the_subscriber_s(app, client, twilio):
    subscribe(client, twilio, N1, "ALERTAS 60623", confirm="SI")
    with app.app_context():
        assert db.session.scalar(select(Subscriber.language)) == "es"


def test_no_area_means_the_jurisdiction_of_the_line_or_area_code(app, client, twilio):
    subscribe(client, twilio, N1, "ALERTS")
    assert _areas(app, N1) == [("jurisdiction", "chicago", "Chicago (Cook County)")]


def test_a_town_that_is_the_jurisdiction_follows_all_of_it(app, client, twilio):
    subscribe(client, twilio, "+17145550188", "ALERTS santa ana")
    assert _areas(app, "+17145550188")[0][0] == "jurisdiction"


def test_unknown_and_unserved_areas_are_told(app, client, twilio):
    unknown = twilio.post_sms(client, "ALERTS Narnia", from_number=N1).text
    assert 'does not know the place "narnia"' in unknown and "for example ALERTS 6" in unknown
    unserved = twilio.post_sms(client, "ALERTS 85004", from_number=N1).text  # Phoenix
    assert "does not send alerts for 85004 yet" in unserved
    assert subscriber_status(app, N1) is None


def test_three_areas_at_most(app, client, twilio):
    replies = subscribe(client, twilio, N1, "ALERTS 60623", confirm="YES")
    replies += subscribe(client, twilio, N1, "ALERTS Pilsen", "ALERTS 60609",
                         "ALERTS 60632", confirm=None)
    assert "also get" in replies[2] and "you follow 60623, Pilsen" in replies[2]
    assert "already follow 3 areas" in replies[4]
    assert len(_areas(app, N1)) == 3
    again = twilio.post_sms(client, "ALERTS Pilsen", from_number=N1).text  # already followed
    assert "also get" in again and len(_areas(app, N1)) == 3


@pytest.mark.parametrize("off", ["ALERTS OFF", "alertas no", "STOP", "alerts stop"])
def test_off_and_stop_end_it_and_erase_the_number(app, client, twilio, off):
    subscribe(client, twilio, N1, "ALERTS 60623")
    reply = twilio.post_sms(client, off, from_number=N1).text
    if off != "STOP":
        assert "no more Hotline alerts" in reply or "Ya no recibirá alertas" in reply
    assert subscriber_status(app, N1) == "stopped"
    assert _areas(app, N1) == []
    with app.app_context():
        assert db.session.scalar(select(Subscriber.phone_enc)) is None


def test_subscribing_again_after_off_asks_again(app, client, twilio):
    subscribe(client, twilio, N1, "ALERTS 60623", "ALERTS OFF", confirm=None)
    ask = twilio.post_sms(client, "ALERTS 60623", from_number=N1).text
    assert "Reply YES to confirm" in ask and subscriber_status(app, N1) == "pending"


@pytest.mark.parametrize("body", ["alert ICE at Western and 47th", "Alerta la migra en Pilsen",
                                  "ALERT agents at the school on 26th st right now"])
def test_a_report_that_starts_with_alert_is_a_report(app, client, twilio, body):
    reply = twilio.post_sms(client, body, from_number=N3).text
    assert "alerts for" not in reply and "Alertas de Hotline" not in reply
    assert subscriber_status(app, N3) is None
    with app.app_context():
        assert db.session.scalar(select(OutboxJob.job)) == "triage_message"


def test_requests_are_no_reports_and_yes_is_no_consent(app, client, twilio):
    from hotline.models import Reporter
    from tests.conftest import drain

    subscribe(client, twilio, N1, "ALERTS 60623")
    drain(app)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Report)) == 0
        assert db.session.scalar(select(Reporter.consent_contact)) is False
        assert db.session.scalar(select(func.count()).select_from(Message)) == 2


def test_numbers_are_never_in_clear(app, client, twilio):
    subscribe(client, twilio, N1, "ALERTS 60623")
    with app.app_context():
        dump = "\n".join(str(row) for row in db.session.execute(
            text("SELECT * FROM subscribers")).all())
        dump += "\n".join(str(row) for row in db.session.execute(
            text("SELECT * FROM subscriber_areas")).all())
    assert N1 not in dump and N1[2:] not in dump


def test_yes_without_a_pending_subscription_is_consent_as_before(app, client, twilio):
    reply = twilio.post_sms(client, "YES", from_number=N1).text
    assert "lawyer is on the way" in reply


@pytest.mark.parametrize("body", ["提醒60608", "警報 60608"])
def test_chinese_is_written_without_spaces_too(app, client, twilio, body):
    subscribe(client, twilio, N1, body, confirm="是")
    assert subscriber_status(app, N1) == "confirmed"
    off = twilio.post_sms(client, "警报关闭", from_number=N1)
    assert off.status_code == 200 and subscriber_status(app, N1) == "stopped"


def test_retention_forgets_unconfirmed_and_stopped_subscribers_not_confirmed_ones(
        app, client, twilio):
    from datetime import timedelta

    from sqlalchemy import update

    from hotline.models import utcnow
    from hotline.privacy.retention import purge_expired

    subscribe(client, twilio, N1, "ALERTS 60623")  # confirmed
    subscribe(client, twilio, N2, "ALERTS 60623", confirm=None)  # never confirmed
    subscribe(client, twilio, N3, "ALERTS 60623", "ALERTS OFF", confirm=None)  # stopped
    long_ago = utcnow() - timedelta(days=40)
    with app.app_context():
        db.session.execute(update(Subscriber).values(updated_at=long_ago, created_at=long_ago,
                                                     confirmed_at=long_ago))
        db.session.execute(update(Subscriber).where(Subscriber.status == "stopped")
                           .values(stopped_at=long_ago))
        db.session.commit()
        counts = purge_expired(db.session, 30)
    assert counts["subscribers"] == 2
    assert subscriber_status(app, N1) == "confirmed"
    assert subscriber_status(app, N2) is None and subscriber_status(app, N3) is None
    with app.app_context():
        vault = app.extensions["hotline_vault"]
        kept = db.session.scalar(select(Subscriber.phone_enc))
        assert vault.decrypt(kept, "subscriber.phone") == N1  # still reachable after 40 days
