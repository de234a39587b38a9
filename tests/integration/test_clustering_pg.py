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
