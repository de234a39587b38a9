"""Locks that mean something: two people acting on one incident at the same moment, on the
real PostgreSQL, in two threads released together. Each interleaving is forced: both load the
incident first, then both act (before the fix, the second lock served the stale row)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from hotline.core.extensions import db
from hotline.incidents import actions, lifecycle
from hotline.intake import dispatch
from hotline.models import Alert, Incident, IncidentEvent, Message, Responder
from tests.conftest import drain, sending_settings
from tests.routing.helpers import phone, report_pilsen

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def together(app, *work: Callable[[], Any]) -> list[Any]:
    """Run each callable in its own thread and app context, all started at once."""
    results: list[Any] = [None] * len(work)
    errors: list[BaseException] = []
    start = threading.Barrier(len(work))

    def run(i: int) -> None:
        with app.app_context():
            try:
                start.wait(10)
                results[i] = work[i]()
            except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
                errors.append(exc)
                db.session.rollback()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    if errors:
        raise errors[0]
    return results


class BothLoaded:
    """Holds each thread after it has read the incident until every thread has: the window in
    which a lock that does not refresh serves a stale row."""

    def __init__(self, parties: int, real: Callable[..., Any]) -> None:
        self.barrier = threading.Barrier(parties)
        self.real = real

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        found = self.real(*args, **kwargs)
        self.barrier.wait(10)
        return found


@pytest.fixture
def app(make_pg_app, redis_url, standin):
    return make_pg_app(**sending_settings(standin))


def routed_to_two_lawyers(app, twilio) -> tuple[str, list[Responder]]:
    """A Pilsen incident, verified and routed, with two lawyers paged at the active step."""
    client = app.test_client()
    code = report_pilsen(client, twilio, app, 1)
    with app.app_context():
        incident = db.session.scalar(select(Incident).where(Incident.code == code))
        actions.apply_action(db.session, incident, {"action": "verify"}, "user:test")
        db.session.commit()
    drain(app)
    with app.app_context():
        incident = db.session.scalar(select(Incident).where(Incident.code == code))
        first = db.session.scalar(select(Responder).join(Alert, Alert.responder_id ==
                                                         Responder.id).where(
            Alert.kind == "page"))
        second = db.session.scalar(select(Responder).where(
            Responder.network_id == first.network_id, Responder.role == "lawyer",
            Responder.id != first.id).order_by(Responder.id))
        db.session.add(Alert(incident_id=incident.id, responder_id=second.id, kind="page",
                             step=0, round=0, status="sent"))
        db.session.commit()
        db.session.expunge_all()
    return code, [first, second]


def test_two_accepts_at_once_one_lawyer_has_it_the_other_is_told_who(app, twilio, standin,
                                                                      monkeypatch):
    code, lawyers = routed_to_two_lawyers(app, twilio)
    client = app.test_client()
    for lawyer in lawyers:
        assert twilio.post_sms(client, f"ACCEPT {code}",
                               from_number=phone(lawyer.key)).status_code == 200
    with app.app_context():
        ids = db.session.scalars(select(Message.id).where(
            Message.direction == "inbound", Message.processed_at.is_(None))
            .order_by(Message.id)).all()
    assert len(ids) == 2
    monkeypatch.setattr(lifecycle, "get_by_code", BothLoaded(2, lifecycle.get_by_code))

    def accept(message_id: int) -> Callable[[], None]:
        def run() -> None:
            dispatch.process_inbound_message(db.session, message_id)
            db.session.commit()
        return run

    together(app, *(accept(i) for i in ids))
    drain(app)
    with app.app_context():
        incident = db.session.scalar(select(Incident).where(Incident.code == code))
        assert incident.status == "acknowledged"
        acks = db.session.scalar(select(func.count(IncidentEvent.id)).where(
            IncidentEvent.incident_id == incident.id, IncidentEvent.kind == "status",
            IncidentEvent.data["new"].as_string() == "acknowledged"))
        assert acks == 1
        winner = db.session.get(Responder, incident.acknowledged_by_id)
    loser = next(lawyer for lawyer in lawyers if lawyer.id != winner.id)
    told = [m["body"] for m in standin.sent if m["to"] == phone(loser.key)]
    assert any(winner.name in body for body in told), told
    won = [m["body"] for m in standin.sent if m["to"] == phone(winner.key)]
    assert not any("already" in body.lower() for body in won[-1:]), won


def test_verify_and_dismiss_at_once_one_wins_one_timeline(app, twilio, monkeypatch):
    code = report_pilsen(app.test_client(), twilio, app, 1)

    def decide(action: str) -> Callable[[], str]:
        def run() -> str:
            incident = db.session.scalar(select(Incident).where(Incident.code == code))
            seen.wait(10)  # both dispatchers have the incident on screen
            try:
                actions.apply_action(db.session, incident, {"action": action}, f"user:{action}")
                db.session.commit()
                return "applied"
            except actions.ActionError as exc:
                db.session.rollback()
                return f"refused {exc.status}"
        return run

    seen = threading.Barrier(2)
    outcomes = together(app, decide("verify"), decide("dismiss"))
    assert sorted(outcomes) == ["applied", "refused 409"], outcomes
    with app.app_context():
        incident = db.session.scalar(select(Incident).where(Incident.code == code))
        decisions = db.session.scalars(select(IncidentEvent).where(
            IncidentEvent.incident_id == incident.id, IncidentEvent.kind == "status",
            IncidentEvent.data["old"].as_string() == "verifying")).all()
        assert len(decisions) == 1
        assert incident.status in ("routed", "false_alarm")


def test_an_escalation_timer_during_an_accept_pages_nobody_after_it(app, twilio, standin,
                                                                     monkeypatch):
    """The step's timer fires while the lawyer's ACCEPT is being carried out: whichever takes
    the lock second sees what the first did, and no page leaves after the accept."""
    from hotline.routing import escalation

    code, lawyers = routed_to_two_lawyers(app, twilio)
    twilio.post_sms(app.test_client(), f"ACCEPT {code}", from_number=phone(lawyers[0].key))
    with app.app_context():
        message_id = db.session.scalar(select(Message.id).where(
            Message.direction == "inbound", Message.processed_at.is_(None)))
        incident_id = db.session.scalar(select(Incident.id).where(Incident.code == code))
    monkeypatch.setattr(lifecycle, "get_by_code", BothLoaded(2, lifecycle.get_by_code))

    def accept() -> None:
        dispatch.process_inbound_message(db.session, message_id)
        db.session.commit()

    def timer() -> None:
        lifecycle.get_by_code(db.session, code)  # meets the accept after both have read it
        escalation.on_timer(db.session, incident_id, 0, 0)
        db.session.commit()

    together(app, accept, timer)
    drain(app)
    with app.app_context():
        incident = db.session.get(Incident, incident_id)
        assert incident.status == "acknowledged"
        acknowledged_at = db.session.scalar(select(IncidentEvent.id).where(
            IncidentEvent.incident_id == incident_id, IncidentEvent.kind == "status",
            IncidentEvent.data["new"].as_string() == "acknowledged"))
        later_steps = db.session.scalars(select(IncidentEvent).where(
            IncidentEvent.incident_id == incident_id, IncidentEvent.kind == "escalation_step",
            IncidentEvent.id > acknowledged_at)).all()
        assert later_steps == []
        assert (incident.policy_snapshot or {}).get("active") is None
