"""On the real PostgreSQL and Redis: concurrent repeats, and Redis going away."""

from __future__ import annotations

import threading
import time

import pytest
from rq import Queue
from sqlalchemy import func, select

from hotline.core.extensions import db
from hotline.jobs import outbox, sweeper
from hotline.models import Incident, Jurisdiction, Message, OutboxJob, Report, Reporter
from tests.servers import RedisServer

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def test_twenty_concurrent_deliveries_leave_one_row(pg_app, twilio):
    form = twilio.sms("ICE at the Home Depot on Western and 47th", sid="SM" + "b" * 32)
    headers = twilio.headers("/twilio/sms", form)
    barrier = threading.Barrier(20)
    statuses: list[int] = []

    def deliver() -> None:
        client = pg_app.test_client()
        barrier.wait()
        statuses.append(client.post("/twilio/sms", data=form, headers=headers).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 20
    with pg_app.app_context():
        assert db.session.scalar(select(func.count(Message.id))) == 1
        assert db.session.scalar(select(func.count(Reporter.id))) == 1
        assert db.session.scalar(select(func.count(OutboxJob.id))) == 1
    backend = outbox.backend_of(pg_app)
    assert Queue("triage", connection=backend.redis).count == 1


def test_enqueued_on_rq_after_commit(pg_app, pg_client, twilio):
    twilio.post_sms(pg_client, "ICE at 60608")
    backend = outbox.backend_of(pg_app)
    queue = Queue("triage", connection=backend.redis)
    assert queue.count == 1
    job = queue.jobs[0]
    with pg_app.app_context():
        outbox_id = db.session.scalar(select(OutboxJob.id))
    assert job.id == f"outbox-{outbox_id}"
    assert job.func_name == "workers.triage.triage_message"
    assert job.retries_left == 3


@pytest.fixture
def private_redis():
    server = RedisServer()
    server.start()
    yield server
    server.stop()


def test_redis_down_webhook_still_stores_and_answers_then_sweeper_recovers(
        make_pg_app, private_redis, twilio):
    from workers.start import run_worker, sweep_once

    app = make_pg_app(REDIS_URL=private_redis.url)
    client = app.test_client()
    private_redis.stop()
    started = time.perf_counter()
    response = twilio.post_sms(client, "migra en la 18 y Ashland ahorita",
                               from_number="+17735550188")
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert "recibimos" in response.text
    assert elapsed < 2.0
    # a second message while Redis is known to be down answers without waiting on it
    response = twilio.post_sms(client, "ICE at 60623", from_number="+17735550189")
    assert response.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count(Message.id))) == 2
        pending = db.session.scalar(select(func.count(OutboxJob.id))
                                    .where(OutboxJob.done_at.is_(None)))
        assert pending == 2

    private_redis.start()
    # the sweeper waits a grace period before touching recent rows; age them
    with app.app_context():
        for row in db.session.scalars(select(OutboxJob)):
            row.created_at = row.created_at - sweeper.SWEEP_GRACE * 2
        db.session.commit()
    assert sweep_once(app) == 2
    run_worker(app, burst=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Report.id))) == 2
        assert db.session.scalar(select(func.count(OutboxJob.id)).where(
            OutboxJob.job == "triage_message", OutboxJob.done_at.is_(None))) == 0
        slugs = set(db.session.scalars(select(Jurisdiction.slug).join(
            Incident, Incident.jurisdiction_id == Jurisdiction.id)))
        assert slugs == {"chicago"}


def test_sweeper_leaves_queued_jobs_alone(pg_app, pg_client, twilio):
    from workers.start import sweep_once

    twilio.post_sms(pg_client, "ICE at 60608")
    with pg_app.app_context():
        row = db.session.scalar(select(OutboxJob))
        row.created_at = row.created_at - sweeper.SWEEP_GRACE * 2
        db.session.commit()
    assert sweep_once(pg_app) == 0
    assert Queue("triage", connection=outbox.backend_of(pg_app).redis).count == 1


def test_postgres_single_round_trip_path_handles_every_case(pg_app, pg_client, twilio):
    """The PostgreSQL webhook stores in one statement; check it against the same cases the
    SQLite path is tested with."""
    number = "+17735550190"
    first = twilio.post_sms(pg_client, "la migra en la 26 y Pulaski", from_number=number)
    assert "recibimos" in first.text
    assert "Tiene derecho" in twilio.post_sms(pg_client, "HELP", from_number=number).text
    assert "<Message>" not in twilio.post_sms(pg_client, "STOP", from_number=number).text
    assert "<Message>" not in twilio.post_sms(pg_client, "ICE again", from_number=number).text
    assert "Volverá" in twilio.post_sms(pg_client, "START", from_number=number).text
    assert "Le avisaremos" in twilio.post_sms(pg_client, "si", from_number=number).text
    with pg_app.app_context():
        reporter = db.session.scalar(select(Reporter))
        assert reporter.language == "es" and reporter.consent_contact and not reporter.opted_out
        reporter.blocked = True
        db.session.commit()
    blocked = twilio.post_sms(pg_client, "ICE at 60608", from_number=number)
    assert "<Message>" not in blocked.text
    with pg_app.app_context():
        messages = db.session.scalars(select(Message).order_by(Message.id)).all()
        assert len(messages) == 7
        assert messages[-1].flags == {"blocked": True, "to": "+15555550100"}
        jobs_for = db.session.scalars(select(OutboxJob.args)).all()
        # triage for the two reports (opted out still reports); none for keywords or blocked
        assert sorted(a[0] for a in jobs_for) == [messages[0].id, messages[3].id]


def _command_calls(connection, command: str) -> int:
    return int(connection.info("commandstats").get(f"cmdstat_{command}", {}).get("calls", 0))


def test_rate_limit_counts_in_the_enqueue_script_and_the_job_agrees(pg_app, pg_client,
                                                                        twilio, one_rate_window):
    from workers.start import run_worker

    number = "+17735550191"
    redis = outbox.backend_of(pg_app).redis
    commands = ("multi", "exec", "incr", "rpush", "hset", "evalsha")
    before = {c: _command_calls(redis, c) for c in commands}
    first = twilio.post_sms(pg_client, "ICE at 60608 message 0", from_number=number)
    after = {c: _command_calls(redis, c) for c in commands}
    # storing costs one statement; counting and enqueueing share one script call (a first
    # call may be refused NOSCRIPT and sent again after loading it)
    spent = {c: after[c] - before[c] for c in after}
    assert spent.pop("evalsha") in (1, 2)
    assert spent == {"multi": 0, "exec": 0, "incr": 1, "rpush": 1, "hset": 1}
    replies = [first.text] + [
        twilio.post_sms(pg_client, f"ICE at 60608 message {i}", from_number=number).text
        for i in range(1, 10)]
    assert all("we got your report" in reply for reply in replies[:8])
    assert all("We keep every one" in reply for reply in replies[8:])
    # a repeat delivery of a stored message is not counted again
    form = twilio.sms("ICE at 60608 again", from_number="+17735550192", sid="SM" + "c" * 32)
    for _ in range(12):
        reply = pg_client.post("/twilio/sms", data=form, headers=twilio.headers("/twilio/sms",
                                                                                 form)).text
        assert "we got your report" in reply
    run_worker(pg_app, burst=True)
    with pg_app.app_context():
        flagged = db.session.scalars(select(Message).where(
            Message.direction == "inbound", Message.reporter_id.is_not(None))
            .order_by(Message.id)).all()
        mine = [bool(m.flags.get("rate_limited")) for m in flagged
                if m.twilio_sid != "SM" + "c" * 32]
        assert mine == [False] * 8 + [True] * 2


def test_rate_limit_without_redis_is_counted_in_the_database(make_pg_app, private_redis, twilio,
                                                             one_rate_window):
    app = make_pg_app(REDIS_URL=private_redis.url)
    client = app.test_client()
    private_redis.stop()
    replies = [twilio.post_sms(client, f"ICE at 60623 number {i}",
                               from_number="+17735550193").text for i in range(10)]
    assert all("we got your report" in reply for reply in replies[:8])
    assert all("We keep every one" in reply for reply in replies[8:])


def test_a_question_on_postgres_is_marked_in_the_one_statement_and_counted(pg_app, pg_client,
                                                                         twilio):
    """The webhook's single PostgreSQL statement keeps the question's kind on the message, the
    job answers it without a report, and the board's count reads the JSON on PostgreSQL."""
    from hotline.accounts.scope import Scope
    from hotline.dashboard import queries
    from tests.conftest import drain

    response = twilio.post_sms(pg_client, "is ICE in Pilsen today?", from_number="+13125550199")
    assert response.status_code == 200 and "<Message>" not in response.text
    drain(pg_app)
    with pg_app.app_context():
        (flags,) = db.session.scalars(select(Message.flags).where(
            Message.direction == "inbound")).all()
        assert flags["question_asked"] == "rumour" and flags["question"] == "rumour"
        assert db.session.scalar(select(func.count(Report.id))) == 0
        everything = Scope(jurisdiction_ids=None, unassigned=True, network_id=None,
                           lawyer=False, pii=False, act=True)
        counts = queries.question_counts(db.session, everything)
    assert [(c["slug"], c["rumour"], c["rights"]) for c in counts] == [("chicago", 1, 0)]


def test_a_responder_s_off_on_postgres_takes_them_out_of_the_pages(pg_app, pg_client, twilio):
    """OFF through the single-statement webhook path and the job on PostgreSQL: the webhook
    answers nothing itself (the job does), and the responder is OFF for the paging order."""
    from hotline.models import AuditLog, LegalNetwork, Responder
    from hotline.routing import schedules
    from tests.conftest import drain
    from tests.routing.helpers import phone

    with pg_app.app_context():
        network = db.session.scalar(select(LegalNetwork).where(
            LegalNetwork.slug == "chicago-legal"))
        first = schedules.on_call_now(db.session, network)[0].key
    response = twilio.post_sms(pg_client, "OFF 3h", from_number=phone(first))
    assert response.status_code == 200 and "<Message>" not in response.text
    drain(pg_app)
    with pg_app.app_context():
        network = db.session.scalar(select(LegalNetwork).where(
            LegalNetwork.slug == "chicago-legal"))
        assert first not in [r.key for r in schedules.on_call_now(db.session, network)]
        assert db.session.scalar(select(Responder.away_until).where(
            Responder.key == first)) is not None
        assert db.session.scalar(select(func.count(AuditLog.id)).where(
            AuditLog.action == "responder.availability")) == 1
        assert db.session.scalar(select(func.count(Report.id))) == 0


def _drop_connections(pg_app) -> int:
    """Every server connection of the app's database ends, as in a PostgreSQL restart."""
    with pg_app.app_context():
        name = db.engine.url.database
    from sqlalchemy import create_engine, text

    admin = create_engine(str(db.state(pg_app).engine.url.set(database="postgres")),
                          isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            return len(connection.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name}).all())
    finally:
        admin.dispose()


def _fill_pool(pg_app, count: int) -> None:
    """`count` connections checked in to the app's pool, as after some traffic."""
    engine = db.state(pg_app).engine
    held = [engine.raw_connection() for _ in range(count)]
    for pooled in held:
        pooled.close()
    assert engine.pool.checkedin() >= count


def test_a_lost_database_connection_refuses_no_message(pg_app, twilio, caplog):
    """PostgreSQL restarted under a running webhook: the pooled connections are dead. The
    first message after it is stored all the same, on a new connection (it used to get a 500),
    and the dead connections are not handed out again (the retry would get one and fail)."""
    client = pg_app.test_client()
    twilio.post_sms(client, "ICE at 60608")
    _fill_pool(pg_app, 4)
    assert _drop_connections(pg_app) >= 4
    for n in range(4):
        response = twilio.post_sms(client, f"ICE at Western and 47th, {n}")
        assert response.status_code == 200, n
    with pg_app.app_context():
        assert db.session.scalar(select(func.count(Message.id))) == 5
        assert db.session.scalar(select(func.count(OutboxJob.id))) == 5
    lost = [r for r in caplog.records if "connection lost" in r.getMessage()]
    assert len(lost) == 1  # the others of that generation were recycled, never tried


def test_a_pooled_connection_goes_back_out_of_autocommit(pg_app, pg_client, twilio):
    """The store runs in autocommit; every connection it gives back is in a transaction
    again, so a session that gets it next can still roll back."""
    _fill_pool(pg_app, 3)
    for n in range(3):
        twilio.post_sms(pg_client, f"ICE at 60608, {n}")
    engine = db.state(pg_app).engine
    held = [engine.raw_connection() for _ in range(engine.pool.checkedin())]
    try:
        assert held and all(p.driver_connection.autocommit is False for p in held)
    finally:
        for pooled in held:
            pooled.close()
