"""What one triage job asks of PostgreSQL: a report joining an incident costs a bounded number
of statements (it was 27 before the jurisdictions' snapshot, the one-UPDATE incident and the
message read with its reporter), and the snapshot never serves a jurisdiction changed since."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from hotline.core.extensions import db
from hotline.incidents.geography import current_gazetteer, jurisdiction_id, policy_for
from hotline.models import Incident, Jurisdiction, Message, OutboxJob, Report

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

# the lease (2), the outbox row (2), the message with its reporter, a pending "where?", the
# jurisdictions' freshness, the rate-limit count, an earlier "where?", the report (INSERT and
# its message), the jurisdiction's clustering lock, the candidates, the incident locked, the
# reporters' credibility, one UPDATE of the incident, its event, the report's incident
STATEMENTS_PER_JOINING_REPORT = 19


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
    from workers.triage import triage_message

    with app.app_context():
        triage_message(message_id, outbox_id=outbox_id)


def test_a_report_joining_an_incident_costs_a_bounded_number_of_statements(
        pg_app, pg_client, twilio):
    twilio.post_sms(pg_client, "ICE at 18th and Ashland in Pilsen, 3 vans",
                    from_number="+17735550161")
    twilio.post_sms(pg_client, "la migra en la 18 y Ashland en Pilsen",
                    from_number="+17735550162")
    with pg_app.app_context():
        first, second = db.session.scalars(select(Message.id).order_by(Message.id)).all()
    _run(pg_app, first, _outbox_id(pg_app, first))  # opens the incident, warms the snapshot
    job = _outbox_id(pg_app, second)
    engine, record, seen = _statements(pg_app)
    try:
        _run(pg_app, second, job)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    with pg_app.app_context():
        reports = db.session.scalars(select(Report)).all()
        assert len(reports) == 2 and reports[0].incident_id == reports[1].incident_id
        incident = db.session.get(Incident, reports[0].incident_id)
        assert incident.last_seen_at >= incident.first_seen_at
        assert [r["factor"] for r in incident.score_reasons][0] == "corroboration"
        assert incident.score_reasons[0]["detail"] == "2 independent reporters"
    assert len(seen) <= STATEMENTS_PER_JOINING_REPORT, "\n".join(seen)
    updates = [s for s in seen if s.startswith("UPDATE incidents")]
    assert len(updates) == 1, updates


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
