"""What one triage job asks of PostgreSQL: a report joining an incident costs a bounded number
of statements (it was 27 before the jurisdictions' snapshot, the one-UPDATE incident, the
message read with its reporter and nothing looked up for a reporter's first message; 16 before
the report went in once, with its incident), and the
snapshot never serves a jurisdiction changed since."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from hotline.core.extensions import db
from hotline.incidents.geography import current_gazetteer, jurisdiction_id, policy_for
from hotline.models import Incident, IncidentEvent, Jurisdiction, Message, OutboxJob, Report

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

# A first message from a new number joining an incident, through SQLAlchemy: the message with
# its reporter, the incident locked, the report's INSERT (with its incident) and its message's
# one UPDATE (processed, and its report), then at the commit one UPDATE of the incident. A
# reporter who wrote before adds a look for a pending "where?" (and here an UPDATE of their
# language: they wrote in English, then in Spanish). Besides these, ten fixed statements go to
# the driver itself, where SQLAlchemy's events do not see them: the lease (2), the outbox
# row's guard and its "done", the jurisdictions' stamp, the rate-limit count, the
# jurisdiction's clustering lock, the candidate incidents, the reporters' credibility and the
# incident's timeline entry for the report.
STATEMENTS_FIRST_MESSAGE = 5
STATEMENTS_RETURNING_REPORTER = 7


def _statements(app):  # noqa: ANN001, ANN202
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def record(_conn, _cursor, statement, _params, _context, _many):  # noqa: ANN001, ANN202
        if statement.split(None, 1)[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    return engine, record, seen


def _outbox_id(app, message_id: int) -> int:  # noqa: ANN001
    with app.app_context():
        return db.session.scalar(select(OutboxJob.id).where(
            OutboxJob.job == "triage_message", OutboxJob.args[0].as_integer() == message_id))


def _run(app, message_id: int, outbox_id: int) -> None:  # noqa: ANN001
    from workers.triage import triage_one  # one message's job (RQ's takes on queued ones too)

    with app.app_context():
        triage_one(message_id, outbox_id=outbox_id)


def _cost(app, client, twilio, second_from: str) -> list[str]:  # noqa: ANN001
    twilio.post_sms(client, "ICE at 18th and Ashland in Pilsen, 3 vans",
                    from_number="+17735550161")
    twilio.post_sms(client, "la migra en la 18 y Ashland en Pilsen", from_number=second_from)
    with app.app_context():
        first, second = db.session.scalars(select(Message.id).order_by(Message.id)).all()
    _run(app, first, _outbox_id(app, first))  # opens the incident, warms the snapshot
    job = _outbox_id(app, second)
    engine, record, seen = _statements(app)
    try:
        _run(app, second, job)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    with app.app_context():
        reports = db.session.scalars(select(Report)).all()
        assert len(reports) == 2 and reports[0].incident_id == reports[1].incident_id
        message = db.session.get(Message, second)
        assert message.processed_at is not None and message.report_id == reports[1].id
        incident = db.session.get(Incident, reports[0].incident_id)
        assert incident.last_seen_at >= incident.first_seen_at
        assert [r["factor"] for r in incident.score_reasons][0] == "corroboration"
        distinct = 1 if second_from == "+17735550161" else 2
        assert incident.score_reasons[0]["detail"].startswith(f"{distinct} independent")
    assert len([s for s in seen if s.startswith("UPDATE incidents")]) == 1, seen
    with app.app_context():  # the timeline entry written at the driver is there, in order
        kinds = [(e.kind, (e.data or {}).get("report_id")) for e in db.session.scalars(
            select(IncidentEvent).where(IncidentEvent.incident_id == reports[0].incident_id)
            .order_by(IncidentEvent.id))]
        assert kinds[0] == ("created", reports[0].id)
        assert kinds[-1] == ("report_added", reports[1].id), kinds
    assert len([s for s in seen if s.startswith("UPDATE messages")]) == 1, \
        "\n".join(" ".join(s.split())[:90] for s in seen)
    return seen


def test_a_first_message_joining_an_incident_costs_a_bounded_number_of_statements(
        pg_app, pg_client, twilio):
    seen = _cost(pg_app, pg_client, twilio, second_from="+17735550162")
    assert len(seen) <= STATEMENTS_FIRST_MESSAGE, "\n".join(seen)


def test_a_returning_reporter_s_report_costs_one_more(pg_app, pg_client, twilio):
    seen = _cost(pg_app, pg_client, twilio, second_from="+17735550161")
    assert len(seen) <= STATEMENTS_RETURNING_REPORTER, "\n".join(seen)
    assert any("reports.state" in s for s in seen)  # the pending "where?" was looked for


def test_the_snapshot_sees_a_jurisdiction_changed_in_the_same_transaction(pg_app):
    with pg_app.app_context():
        session = db.session
        chicago = session.scalars(select(Jurisdiction).where(
            Jurisdiction.slug == "chicago")).one()
        assert jurisdiction_id(session, "chicago") == chicago.id
        before = policy_for(session, chicago.id).cluster_radius_m
        assert "chicago" in current_gazetteer(session).jurisdictions
        # changed and not flushed: the loaded row is what counts
        chicago.policy = {**(chicago.policy or {}), "cluster_radius_m": before + 123}
        assert policy_for(session, chicago.id).cluster_radius_m == before + 123
        session.flush()
        session.expunge(chicago)
        del chicago
        # flushed, the row no longer in the session: the snapshot is read again
        assert policy_for(session, jurisdiction_id(session, "chicago")).cluster_radius_m == \
            before + 123
        moved = session.scalars(select(Jurisdiction).where(
            Jurisdiction.slug == "chicago")).one()
        moved.active = False
        session.flush()
        session.expunge(moved)
        assert "chicago" not in current_gazetteer(session).jurisdictions
        session.rollback()


def test_another_process_change_is_seen_by_the_next_transaction(pg_app):
    """The snapshot is cached across transactions only while the jurisdictions' stamp holds."""
    with pg_app.app_context():
        session = db.session
        jid = jurisdiction_id(session, "chicago")
        before = policy_for(session, jid).cluster_radius_m
        session.commit()
    with pg_app.app_context():
        with db.engine.begin() as connection:  # as `config load` in another process would
            connection.execute(Jurisdiction.__table__.update()
                               .where(Jurisdiction.id == jid)
                               .values(policy={"cluster_radius_m": before + 7},
                                       updated_at=func.now()))
    with pg_app.app_context():
        assert policy_for(db.session, jid).cluster_radius_m == before + 7
