"""The outbox: jobs run after commit, never for a rollback, retried with backoff, idempotent."""

from __future__ import annotations

from sqlalchemy import func, select

from hotline.core.extensions import db
from hotline.jobs import outbox
from hotline.models import Incident, Jurisdiction, Message, OutboxJob, Report
from tests.conftest import run_due_timers


def _run_all(app):
    backend = outbox.backend_of(app)
    total = 0
    while ran := backend.run_pending():
        total += ran
    return total


def test_sms_becomes_a_report_and_an_incident(app, client, twilio):
    twilio.post_sms(client, "5 agentes de ICE arrestando gente en 18th y Ashland, Pilsen",
                    from_number="+17735550123")
    assert _run_all(app) == 2  # the triage, then the SMS asking a verifier to go and look
    with app.app_context():
        report = db.session.scalar(select(Report))
        assert report.language == "es"
        assert report.salute["size"] == {"agents": 5, "vehicles": None}
        assert "arrest" in report.salute["activity"]
        incident = db.session.scalar(select(Incident))
        assert len(incident.code) == 4
        assert db.session.get(Jurisdiction, incident.jurisdiction_id).slug == "chicago"
        assert incident.status == "verifying"
        assert [e.kind for e in incident.events] == ["created", "status", "verifiers_asked"]
        triage_job = db.session.scalar(select(OutboxJob).where(
            OutboxJob.job == "triage_message"))
        assert triage_job.done_at is not None
        assert db.session.scalar(select(Message.processed_at)) is not None


def test_zip_and_city_state_resolve_offline(app, client, twilio):
    twilio.post_sms(client, "ICE knocking on doors near 98106", from_number="+12065550123")
    twilio.post_sms(client, "checkpoint on Bristol St in Santa Ana, CA", from_number="+17145550111")
    twilio.post_sms(client, "ICE raid in Phoenix, AZ", from_number="+13125550100")
    _run_all(app)
    run_due_timers(app, "follow_up_timeout")  # "where?" unanswered: it joins an incident
    with app.app_context():
        slugs = [db.session.scalar(select(Jurisdiction.slug).where(
            Jurisdiction.id == i.jurisdiction_id)) for i in
            db.session.scalars(select(Incident).order_by(Incident.id))]
    assert slugs == ["seattle", "santa-ana", None]


def test_deferred_job_is_forgotten_on_rollback(app):
    with app.app_context():
        outbox.defer(db.session, "triage_message", 12345)
        db.session.rollback()
        assert db.session.scalar(select(func.count(OutboxJob.id))) == 0


def test_a_job_runs_once_even_if_delivered_twice(app, client, twilio):
    twilio.post_sms(client, "ICE at 60608")
    with app.app_context():
        outbox_id = db.session.scalar(select(OutboxJob.id))
        message_id = db.session.scalar(select(Message.id))
    from workers.triage import triage_message

    with app.app_context():
        triage_message(message_id, outbox_id=outbox_id)
    with app.app_context():
        triage_message(message_id, outbox_id=outbox_id)  # RQ redelivery
        triage_message(message_id)  # even without the outbox guard
        assert db.session.scalar(select(func.count(Report.id))) == 1
        assert db.session.scalar(select(func.count(Incident.id))) == 1


def test_a_failing_job_is_retried_later_and_counted(app, client, twilio, monkeypatch):
    twilio.post_sms(client, "ICE at 60608")
    from hotline.intake import dispatch

    calls = []

    def broken(session, message_id):
        calls.append(message_id)
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(dispatch, "process_inbound_message", broken)
    backend = outbox.backend_of(app)
    assert backend.run_pending() == 1
    with app.app_context():
        row = db.session.scalar(select(OutboxJob))
        assert row.attempts == 1 and row.done_at is None and row.failed_at is None
        assert "RuntimeError" in row.last_error
        assert row.run_at > row.created_at  # backed off
    assert backend.run_pending() == 0  # not due yet
    monkeypatch.undo()
    with app.app_context():
        row = db.session.scalar(select(OutboxJob))
        row.run_at = row.created_at
        db.session.commit()
    assert backend.run_pending() == 1
    with app.app_context():
        assert db.session.scalar(select(func.count(Report.id))) == 1


def test_inline_runner_thread_processes_webhooks(app, client, twilio):
    import time

    backend = outbox.backend_of(app)
    backend.start()
    twilio.post_sms(client, "ICE in Little Village right now", from_number="+13125550123")
    deadline = time.monotonic() + 10
    with app.app_context():
        while time.monotonic() < deadline:
            db.session.rollback()
            if db.session.scalar(select(func.count(Incident.id))):
                break
            time.sleep(0.05)
        assert db.session.scalar(select(func.count(Incident.id))) == 1
    backend.stop()


def test_the_scheduler_thread_outlives_a_failed_round(monkeypatch):
    """A scheduling round that fails (Redis away a moment) is tried again by the scheduler
    thread itself; it used to end the thread, and with it every escalation timer until RQ's
    maintenance restarted it minutes later."""
    import redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    from workers import start

    monkeypatch.setattr(start, "SCHEDULER_RETRY", 0.01)
    scheduler = start._ThreadScheduler(["timers"], connection=redis.Redis())  # never reached
    rounds: list[int] = []

    def work() -> None:
        rounds.append(len(rounds))
        if len(rounds) < 3:
            raise RedisConnectionError("Redis went away")
        scheduler.request_stop()  # the worker's stop, in the third round

    monkeypatch.setattr(scheduler, "work", work)
    scheduler._run()
    assert rounds == [0, 1, 2]


def test_a_stop_asked_while_the_worker_tears_down_is_remembered(redis_url):
    """A SIGTERM that lands after RQ's work loop has ended (here while the scheduler thread is
    joined) used to reach RQ's handler, which raises StopRequested outside the loop that
    catches it: the worker exited 1 (seen in CI with Redis away). It is now only remembered."""
    import os
    import signal

    import redis
    from rq import Queue

    from workers import start

    connection = redis.Redis.from_url(redis_url)
    worker = start._Worker([Queue("timers", connection=connection)], connection=connection)
    worker.scheduler = start._ThreadScheduler(worker.queues, connection=connection)
    worker.scheduler.start()
    stop_scheduler = worker.stop_scheduler

    def stop_scheduler_as_a_signal_comes() -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        stop_scheduler()

    worker.stop_scheduler = stop_scheduler_as_a_signal_comes
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        worker.register_birth()
        worker._install_signal_handlers()  # what work() does before its loop
        worker.teardown()
        assert worker.stop_asked
        assert not worker.scheduler._process.is_alive()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
