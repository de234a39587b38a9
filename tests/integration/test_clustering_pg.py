"""Two workers triaging two reports of the same raid at the same moment make one incident."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from hotline.core.extensions import db
from hotline.intake import dispatch
from hotline.models import Incident, Message

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def test_concurrent_triage_makes_one_incident(pg_app, pg_client, twilio):
    twilio.post_sms(pg_client, "ICE at 18th and Ashland, Pilsen", from_number="+17735550150")
    twilio.post_sms(pg_client, "migra en la 18 y Ashland en Pilsen", from_number="+17735550151")
    with pg_app.app_context():
        ids = db.session.scalars(select(Message.id).order_by(Message.id)).all()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    # slow each clustering down between its read and its write, so they truly overlap
    from hotline.incidents import clustering

    original = clustering.find_match

    def slow_find(session, report, policy):
        found = original(session, report, policy)
        import time

        time.sleep(0.3)
        return found

    clustering.find_match = slow_find

    def work(message_id: int) -> None:
        try:
            with pg_app.app_context():
                barrier.wait()
                dispatch.process_inbound_message(db.session, message_id)
                db.session.commit()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    try:
        threads = [threading.Thread(target=work, args=(i,)) for i in ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        clustering.find_match = original
    assert errors == []
    with pg_app.app_context():
        assert db.session.scalar(select(func.count(Incident.id))) == 1


def test_without_the_lock_the_race_is_real(pg_app, pg_client, twilio, monkeypatch):
    """The same race with the lock disabled makes two incidents: the test above can fail."""
    from hotline.incidents import clustering

    monkeypatch.setattr(clustering, "lock_jurisdiction", lambda session, jid: None)
    original = clustering.find_match

    def slow_find(session, report, policy):
        found = original(session, report, policy)
        import time

        time.sleep(0.3)
        return found

    monkeypatch.setattr(clustering, "find_match", slow_find)
    twilio.post_sms(pg_client, "ICE at 18th and Ashland, Pilsen", from_number="+17735550150")
    twilio.post_sms(pg_client, "migra en la 18 y Ashland en Pilsen", from_number="+17735550151")
    with pg_app.app_context():
        ids = db.session.scalars(select(Message.id).order_by(Message.id)).all()
    barrier = threading.Barrier(2)

    def work(message_id: int) -> None:
        with pg_app.app_context():
            barrier.wait()
            dispatch.process_inbound_message(db.session, message_id)
            db.session.commit()

    threads = [threading.Thread(target=work, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with pg_app.app_context():
        assert db.session.scalar(select(func.count(Incident.id))) == 2


def test_an_incident_changed_earlier_in_the_transaction_is_matched_as_it_stands(
        pg_app, pg_client, twilio):
    """A new report goes into the database only once its incident is chosen (nothing before
    the choice autoflushes it); an incident changed earlier in the same transaction must still
    be matched with its changes, as the ORM's autoflush used to make sure."""
    from hotline.incidents.clustering import attach_report, street_key
    from hotline.models import Report

    twilio.post_sms(pg_client, "ICE at 18th and Ashland, Pilsen", from_number="+17735550152")
    twilio.post_sms(pg_client, "ICE at Cermak and Halsted in Chicago",
                    from_number="+17735550153")
    with pg_app.app_context():
        session = db.session
        first, second = session.scalars(select(Message.id).order_by(Message.id)).all()
        dispatch.process_inbound_message(session, first)
        session.commit()
        incident = session.scalars(select(Incident)).one()
        # on its own, the second report is somewhere else: an incident of its own
        dispatch.process_inbound_message(session, second)
        alone = session.scalars(select(Report).where(Report.id != incident.reports[0].id)).one()
        key = street_key(alone.location or {})
        assert key and alone.incident_id != incident.id
        fields = {name: getattr(alone, name) for name in (
            "reporter_id", "channel", "text_enc", "language", "location", "lat", "lon",
            "jurisdiction_id", "needs_location", "confidence", "flags", "created_at")}
        session.rollback()

        # the same report, after an (unflushed) change gave the incident that corner too
        incident = session.get(Incident, incident.id)
        places = dict(incident.places or {})
        incident.places = {**places, "streets": sorted([*places.get("streets", []), key])}
        report = Report(**fields)
        session.add(report)
        chosen, created = attach_report(session, report)
        assert (chosen.id, created) == (incident.id, False)
        assert report.incident_id == incident.id
        session.rollback()
