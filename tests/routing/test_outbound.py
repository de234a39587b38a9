"""Outbound SMS: real twilio client, stand-in answering 429/500/timeouts, never two sends."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.core.extensions import db
from hotline.messaging import outbound
from hotline.messaging.pacing import SPACING, LocalSenderLimiter, RedisSenderLimiter
from hotline.models import Message, OutboxJob, Reporter
from tests.conftest import drain, run_due_timers

TO = "+13125550177"


def queue_one(app, body="hola"):
    with app.app_context():
        message = outbound.queue_sms(db.session, app.extensions["hotline_vault"], TO, body,
                                     "test")
        db.session.commit()
        return message.id


def status_of(app, message_id):
    with app.app_context():
        return db.session.get(Message, message_id)


def test_sent_through_the_real_client(sms_app, standin):
    message_id = queue_one(sms_app, "Hotline: ¿dónde? 🚨")
    drain(sms_app)
    message = status_of(sms_app, message_id)
    assert message.status == "sent"
    assert message.twilio_sid.startswith("SM")
    (request,) = standin.creates()
    assert request.form["To"] == TO
    assert request.form["Body"] == "Hotline: ¿dónde? 🚨"
    assert request.form["From"] in ("+15555550100", "+15555550101")


def test_sends_share_one_client_per_thread(sms_app, standin, monkeypatch):
    """One twilio Client (one requests.Session, so one pooled keep-alive connection to Twilio)
    per thread: a page does not wait for a new TCP and TLS handshake. (The stand-in's werkzeug
    server closes every connection, so the reuse itself is not visible there.)"""
    import threading

    from hotline.core import twilio_client

    built: list[object] = []
    real = twilio_client.Client
    monkeypatch.setattr(twilio_client, "Client",
                        lambda *a, **k: built.append(real(*a, **k)) or built[-1])
    first, second = queue_one(sms_app, "one"), queue_one(sms_app, "two")
    drain(sms_app)
    assert status_of(sms_app, first).status == status_of(sms_app, second).status == "sent"
    assert len(built) == 1
    settings = sms_app.config["SETTINGS"]
    timeout = settings.twilio_timeout
    assert twilio_client.make_client(settings, timeout) is built[0]
    elsewhere: list[object] = []
    thread = threading.Thread(
        target=lambda: elsewhere.append(twilio_client.make_client(settings, timeout)))
    thread.start()
    thread.join()
    assert elsewhere[0] is not built[0]  # a requests.Session is not shared between threads


def test_the_pooled_client_keeps_no_copy_of_the_last_message(sms_app, standin):
    from hotline.core.twilio_client import make_client

    queue_one(sms_app, "Hotline: a body to forget")
    drain(sms_app)
    assert len(standin.sent) == 1
    settings = sms_app.config["SETTINGS"]
    http = make_client(settings, settings.twilio_timeout).http_client
    # twilio's client keeps both for its own tests; ours lives as long as the worker
    assert http._test_only_last_request is None and http._test_only_last_response is None


@pytest.mark.parametrize("failure", [429, 500, 503])
def test_retryable_failures_are_retried_then_sent_once(sms_app, standin, failure):
    standin.plan(failure, failure)
    message_id = queue_one(sms_app)
    drain(sms_app)
    assert status_of(sms_app, message_id).status == "queued"  # waiting for its backoff
    with sms_app.app_context():
        retry = db.session.scalar(select(OutboxJob).where(OutboxJob.done_at.is_(None)))
        assert retry is not None and retry.run_at > retry.created_at
    run_due_timers(sms_app)
    run_due_timers(sms_app)
    message = status_of(sms_app, message_id)
    assert message.status == "sent"
    assert [r.answered for r in standin.creates()] == [failure, failure, 201]
    assert len(standin.sent) == 1


def test_retries_are_bounded(sms_app, standin):
    standin.plan(*([500] * outbound.MAX_SEND_ATTEMPTS))
    message_id = queue_one(sms_app)
    for _ in range(outbound.MAX_SEND_ATTEMPTS + 2):
        run_due_timers(sms_app)
    message = status_of(sms_app, message_id)
    assert message.status == "failed"
    assert len(standin.creates()) == outbound.MAX_SEND_ATTEMPTS
    assert standin.sent == []


def test_permanent_error_is_not_retried(sms_app, standin):
    standin.plan(21211)  # invalid 'To' number
    message_id = queue_one(sms_app)
    drain(sms_app)
    message = status_of(sms_app, message_id)
    assert message.status == "failed" and message.error_code == 21211
    assert len(standin.creates()) == 1


def test_timeout_after_twilio_took_it_is_not_sent_twice(make_app, standin):
    from tests.conftest import sending_settings

    app = make_app(**sending_settings(standin, TWILIO_TIMEOUT=1))
    standin.hang_seconds = 2
    # the stand-in records and accepts the message, but answers too late
    original = standin._handle

    def slow_accept(request):
        response = original(request)
        if request.method == "POST":
            import time

            time.sleep(standin.hang_seconds)
        return response

    standin._handle = slow_accept
    message_id = queue_one(app)
    drain(app)
    standin._handle = original
    run_due_timers(app)
    message = status_of(app, message_id)
    assert message.status == "sent"
    assert len(standin.sent) == 1
    assert message.twilio_sid == standin.sent[0]["sid"]


def test_timeout_before_twilio_took_it_is_retried(make_app, standin):
    from tests.conftest import sending_settings

    app = make_app(**sending_settings(standin, TWILIO_TIMEOUT=1))
    standin.hang_seconds = 2
    standin.plan("timeout")
    message_id = queue_one(app)
    drain(app)
    run_due_timers(app)
    assert status_of(app, message_id).status == "sent"
    assert len(standin.sent) == 1


def test_a_job_that_runs_twice_sends_once(sms_app, standin):
    from workers.alerts import send_sms

    message_id = queue_one(sms_app)
    with sms_app.app_context():
        outbox_id = db.session.scalar(select(OutboxJob.id))
    with sms_app.app_context():
        send_sms(message_id, outbox_id=outbox_id)
    with sms_app.app_context():
        send_sms(message_id, outbox_id=outbox_id)
        send_sms(message_id)
    assert len(standin.creates()) == 1


def test_claimed_message_is_reconciled_not_resent(sms_app, standin):
    """A worker killed after Twilio accepted but before recording it: the rerun finds it."""
    message_id = queue_one(sms_app)
    drain(sms_app)
    with sms_app.app_context():
        message = db.session.get(Message, message_id)
        sid = message.twilio_sid
        message.status = "sending"  # as the dead worker left it
        message.twilio_sid = "local-dead"
        db.session.commit()
    with sms_app.app_context():
        assert outbound.send_message(db.session, message_id) == "sent"
        assert db.session.get(Message, message_id).twilio_sid == sid
    assert len(standin.creates()) == 1


def test_opted_out_reporters_get_nothing(sms_app, standin):
    with sms_app.app_context():
        vault = sms_app.extensions["hotline_vault"]
        reporter = Reporter(phone_hmac=vault.phone_hmac(TO), phone_enc=vault.encrypt(
            TO, "reporter.phone"), opted_out=True)
        db.session.add(reporter)
        db.session.commit()
        assert outbound.queue_sms(db.session, vault, TO, "x", "t", reporter=reporter) is None
        reporter.opted_out = False
        message = outbound.queue_sms(db.session, vault, TO, "x", "t", reporter=reporter)
        db.session.commit()
        reporter.opted_out = True  # opted out while the message waited in the queue
        db.session.commit()
        message_id = message.id
    drain(sms_app)
    assert status_of(sms_app, message_id).status == "suppressed"
    assert standin.creates() == []


def test_local_sender_limiter_spreads_and_spaces():
    limiter = LocalSenderLimiter()
    picks = [limiter.reserve(["a", "b"], rate=1.0) for _ in range(4)]
    assert {picks[0][0], picks[1][0]} == {"a", "b"} == {picks[2][0], picks[3][0]}
    assert picks[0][1] == 0 and picks[1][1] == 0
    assert 1.0 < picks[2][1] <= SPACING and 1.0 < picks[3][1] <= SPACING


@pytest.mark.redis
def test_redis_sender_limiter_is_shared(redis_url):
    import redis

    connection = redis.Redis.from_url(redis_url)
    first, second = RedisSenderLimiter(connection), RedisSenderLimiter(connection)
    waits = [(first if i % 2 else second).reserve(["+1555", "+1666"], rate=2.0)
             for i in range(6)]
    assert sorted(s for s, _ in waits) == ["+1555"] * 3 + ["+1666"] * 3
    connection.close()
    gap = SPACING / 2.0
    assert [round(w, 2) for _, w in waits] == [round(x, 2) for x in
                                               (0.0, 0.0, gap, gap, 2 * gap, 2 * gap)]


def test_a_failing_lookup_leaves_the_claim_for_the_retry(sms_app, standin):
    """Regression: a non-200 page from messages.list raised TwilioException out of the job."""
    message_id = queue_one(sms_app)
    with sms_app.app_context():
        from hotline.models import utcnow

        message = db.session.get(Message, message_id)
        message.status = "sending"
        message.flags = {**message.flags, "claimed_at": utcnow().isoformat(), "attempts": 1}
        db.session.commit()
    standin.fail_lists = 1
    with sms_app.app_context():
        assert outbound.send_message(db.session, message_id) == "sent"
    assert len(standin.creates()) == 1
