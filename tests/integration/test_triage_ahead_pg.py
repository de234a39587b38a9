"""A triage job takes on the triage jobs queued behind it (PostgreSQL and Redis): each message
still triaged exactly once, under its own lease and guard, never while a page waits, and a
failure is left on its outbox row for the sweeper."""

from __future__ import annotations

import threading

import pytest
from rq import Queue
from sqlalchemy import func, select

from hotline.core.extensions import db
from hotline.jobs import outbox
from hotline.models import Message, OutboxJob, Report

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

PLACE = "18th and Ashland in Pilsen"


def _post(client, twilio, count: int, first: int = 0) -> None:  # noqa: ANN001
    for k in range(first, first + count):
        twilio.post_sms(client, f"ICE at {PLACE}, {k % 4 + 1} vans",
                        from_number=f"+1773555{1000 + k:04d}")


def _incident_first(app, client, twilio) -> None:  # noqa: ANN001
    """One report opens the incident and asks its verifiers (a page on `alerts`, sent here by
    nobody: emptied), so that the messages after it join it and page nobody."""
    from workers.base import use_app
    from workers.triage import triage_one

    use_app(app)
    _post(client, twilio, 1, first=99)
    with app.app_context():
        row = db.session.scalars(select(OutboxJob).where(
            OutboxJob.job == "triage_message")).one()
    triage_one(row.args[0], outbox_id=row.id)
    backend = outbox.backend_of(app)
    backend.queue("triage").empty()
    backend.queue("alerts").empty()


def _triage_queue(app) -> Queue:  # noqa: ANN001
    return outbox.backend_of(app).queue("triage")


def _counts(app) -> tuple[int, int, int]:  # noqa: ANN001
    """Triaged messages, reports and done triage jobs, the first report's left out."""
    with app.app_context():
        session = db.session
        processed = session.scalar(select(func.count(Message.id)).where(
            Message.direction == "inbound", Message.processed_at.is_not(None)))
        reports = session.scalar(select(func.count(Report.id)))
        done = session.scalar(select(func.count(OutboxJob.id)).where(
            OutboxJob.job == "triage_message", OutboxJob.done_at.is_not(None)))
        return processed - 1, reports - 1, done - 1


def test_one_rq_job_triages_the_messages_queued_behind_it(pg_app, pg_client, twilio):
    from workers.start import run_worker

    _incident_first(pg_app, pg_client, twilio)
    _post(pg_client, twilio, 6)
    assert _triage_queue(pg_app).count == 6
    run_worker(pg_app, queues=["triage"], max_jobs=1)  # RQ runs one job, then stops
    assert _counts(pg_app) == (6, 6, 6)
    assert _triage_queue(pg_app).count == 0
    redis = outbox.backend_of(pg_app).redis
    with pg_app.app_context():
        triage_rows = db.session.scalars(select(OutboxJob.id).where(
            OutboxJob.job == "triage_message").order_by(OutboxJob.id)).all()[1:]
    left = [row for row in triage_rows if redis.exists(f"rq:job:outbox-{row}")]
    assert left == triage_rows[:1]  # RQ's own job, kept as finished; the rest ran here
    with pg_app.app_context():  # one report per message, each linked
        pairs = db.session.execute(select(Message.id, Message.report_id).where(
            Message.direction == "inbound")).all()
        assert len(pairs) == len({report for _, report in pairs}) == 7


def test_nothing_is_taken_while_a_page_waits(pg_app, pg_client, twilio):
    from workers.triage import run_ahead, triage_message

    _incident_first(pg_app, pg_client, twilio)
    _post(pg_client, twilio, 3)
    backend = outbox.backend_of(pg_app)
    backend.queue("alerts").enqueue("benchmarks.floor_app.noop", job_id="a-page")
    with pg_app.app_context():
        first = db.session.scalars(select(OutboxJob).where(
            OutboxJob.job == "triage_message", OutboxJob.done_at.is_(None))
            .order_by(OutboxJob.id)).first()
        message_id, outbox_id = first.args[0], first.id
    _triage_queue(pg_app).remove(f"outbox-{outbox_id}")  # as RQ's dequeue does
    triage_message(message_id, outbox_id=outbox_id)
    assert _counts(pg_app) == (1, 1, 1)
    assert _triage_queue(pg_app).count == 2  # the rest left to RQ, which takes the page first
    backend.queue("alerts").empty()  # the page sent: the next job takes the rest on
    assert run_ahead() == 2
    assert _counts(pg_app) == (3, 3, 3)


def test_two_workers_taking_ahead_at_once_triage_each_message_once(pg_app, pg_client, twilio):
    from workers.triage import run_ahead

    _incident_first(pg_app, pg_client, twilio)
    _post(pg_client, twilio, 40)
    barrier = threading.Barrier(2)
    ran: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            ran.append(run_ahead(limit=40, seconds=30))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(ran) == 40 and min(ran) > 0, ran  # both took some, none twice
    assert _counts(pg_app) == (40, 40, 40)
    with pg_app.app_context():
        linked = db.session.scalars(select(Report.id).join(
            Message, Message.report_id == Report.id)).all()
        assert len(linked) == len(set(linked)) == 41


def test_a_failure_taken_ahead_is_left_for_the_sweeper(pg_app, pg_client, twilio, monkeypatch):
    from hotline.intake import dispatch
    from hotline.jobs import sweeper
    from workers.triage import run_ahead

    _incident_first(pg_app, pg_client, twilio)
    _post(pg_client, twilio, 3)
    with pg_app.app_context():
        second = db.session.scalars(select(OutboxJob).where(
            OutboxJob.job == "triage_message", OutboxJob.done_at.is_(None))
            .order_by(OutboxJob.id)).all()[1]
        bad_message, bad_row = second.args[0], second.id
    real = dispatch.process_inbound_message

    def failing(session, message_id):  # noqa: ANN001, ANN202
        if message_id == bad_message:
            raise RuntimeError("triage broke")
        return real(session, message_id)

    monkeypatch.setattr(dispatch, "process_inbound_message", failing)
    assert run_ahead(limit=10, seconds=30) == 1  # the first; the second failed; stopped there
    assert _triage_queue(pg_app).count == 1  # the third is still RQ's
    backend = outbox.backend_of(pg_app)
    assert not backend.redis.exists(f"rq:job:outbox-{bad_row}")
    with pg_app.app_context():
        row = db.session.get(OutboxJob, bad_row)
        assert row.done_at is None and row.attempts == 1 and "triage broke" in row.last_error
        row.created_at = row.created_at - sweeper.SWEEP_GRACE * 2
        db.session.commit()
        assert sweeper.sweep_outbox(db.session, backend) == 1  # handed to RQ again
        db.session.commit()
    assert f"outbox-{bad_row}" in _triage_queue(pg_app).job_ids


def test_each_job_taken_ahead_reads_the_rows_afresh(pg_app, pg_client, twilio, monkeypatch):
    """Jobs taken ahead run one after another in one process: each gets a session of its own,
    so a row an earlier one loaded (here the reporter, changed meanwhile by someone else) is
    read as it stands, as it would be under RQ."""
    import psycopg

    from hotline.intake import dispatch
    from hotline.models import Reporter
    from workers.triage import run_ahead

    _incident_first(pg_app, pg_client, twilio)
    for k in range(2):  # the same reporter twice
        twilio.post_sms(pg_client, f"ICE at {PLACE}, {k + 2} vans", from_number="+17735551234")
    seen: list[int] = []
    alive: list[Reporter] = []  # as an ORM object in a reference cycle stays until collected
    real = dispatch.process_inbound_message
    dsn = pg_app.config["SETTINGS"].database_url.replace("postgresql+psycopg", "postgresql")

    def watching(session, message_id):  # noqa: ANN001, ANN202
        reporter_id = session.get(Message, message_id).reporter_id
        alive.append(session.get(Reporter, reporter_id))
        seen.append(alive[-1].confirmed_count)
        result = real(session, message_id)
        with psycopg.connect(dsn, autocommit=True) as other:  # a verification elsewhere
            other.execute("UPDATE reporters SET confirmed_count = confirmed_count + 1 "
                          "WHERE id = %s", (reporter_id,))
        return result

    monkeypatch.setattr(dispatch, "process_inbound_message", watching)
    assert run_ahead(limit=10, seconds=30) == 2
    assert seen == [0, 1]


def _hold_lease(app, outbox_id: int):  # noqa: ANN001, ANN202
    """A worker running the job: its lease held on a connection of its own."""
    import psycopg

    from hotline.jobs.leases import LEASE_NAMESPACE

    dsn = app.config["SETTINGS"].database_url.replace("postgresql+psycopg", "postgresql")
    holder = psycopg.connect(dsn, autocommit=True)
    assert holder.execute("SELECT pg_try_advisory_lock(%s, %s)",
                          (LEASE_NAMESPACE, outbox_id)).fetchone()[0]
    return holder


def _aged(app, outbox_id: int) -> None:  # noqa: ANN001
    from hotline.jobs import sweeper

    with app.app_context():
        row = db.session.get(OutboxJob, outbox_id)
        row.created_at = row.created_at - sweeper.SWEEP_GRACE * 2
        db.session.commit()


def test_the_sweeper_leaves_a_job_taken_ahead_alone_while_it_runs(pg_app, pg_client, twilio):
    """A job taken ahead has no RQ job any more: while its lease is held it is running, and
    the sweeper must not hand it out again (it once did, for every job of a burst's backlog)."""
    from hotline.jobs import sweeper

    _post(pg_client, twilio, 1)
    backend = outbox.backend_of(pg_app)
    with pg_app.app_context():
        row_id = db.session.scalars(select(OutboxJob.id)).one()
    backend.queue("triage").empty()  # taken ahead: off the queue, its RQ key gone
    _aged(pg_app, row_id)
    holder = _hold_lease(pg_app, row_id)
    try:
        with pg_app.app_context():
            assert sweeper.sweep_outbox(db.session, backend) == 0
            db.session.commit()
    finally:
        holder.close()  # the run died with its worker: the lease went with it
    with pg_app.app_context():
        assert sweeper.sweep_outbox(db.session, backend) == 1
        db.session.commit()
        assert db.session.get(OutboxJob, row_id).attempts == 0
    assert f"outbox-{row_id}" in backend.queue("triage").job_ids


def test_an_rq_job_that_found_its_lease_held_is_handed_out_again(pg_app, pg_client, twilio):
    """RQ ran a job while another worker held its lease ("running elsewhere": a job taken
    ahead), so RQ calls it finished with the row still pending. If that other run then failed,
    the sweeper runs it again (it used to wait an hour, until RQ forgot the finished job)."""
    from hotline.jobs import sweeper
    from workers.start import run_worker

    _post(pg_client, twilio, 1)
    backend = outbox.backend_of(pg_app)
    with pg_app.app_context():
        row_id = db.session.scalars(select(OutboxJob.id)).one()
    holder = _hold_lease(pg_app, row_id)
    try:
        run_worker(pg_app, queues=["triage"], burst=True)
        with pg_app.app_context():
            assert db.session.get(OutboxJob, row_id).done_at is None
        assert backend.queue("triage").fetch_job(f"outbox-{row_id}").get_status() == "finished"
        _aged(pg_app, row_id)
        with pg_app.app_context():
            assert sweeper.sweep_outbox(db.session, backend) == 0  # still held: running
            db.session.commit()
    finally:
        holder.close()
    with pg_app.app_context():
        assert sweeper.sweep_outbox(db.session, backend) == 1
        db.session.commit()
    run_worker(pg_app, queues=["triage"], burst=True)
    with pg_app.app_context():
        assert db.session.get(OutboxJob, row_id).done_at is not None
