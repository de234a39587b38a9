"""Raid mode: reports without a place wait for their answer as reports (one "awaiting
location" count on the board, not an incident each), then join the incident at their place."""

from __future__ import annotations

from sqlalchemy import func, select

from hotline.core.extensions import db
from hotline.incidents import actions
from hotline.models import Incident, IncidentEvent, Report
from tests.conftest import drain, run_due_timers
from tests.dashboard.conftest import login, make_user
from tests.routing.helpers import sent_to

VERIFIER = "chicago-verifier-4"
NO_PLACE = ["ICE is here", "la migra esta aqui ahorita", "ICE is here!!"]
SENDERS = ["+17735550301", "+13125550302", "+17735550303"]


def test_reports_with_no_place_wait_then_join_the_incident_at_their_place(sms_app, twilio,
                                                                         standin):
    client = sms_app.test_client()
    twilio.post_sms(client, "ICE arresting people at 18th and Ashland in Pilsen",
                    from_number="+17735550300")
    drain(sms_app)
    for body, sender in zip(NO_PLACE, SENDERS, strict=True):
        twilio.post_sms(client, body, from_number=sender)
    drain(sms_app)
    with sms_app.app_context():
        assert db.session.scalar(select(func.count(Incident.id))) == 1  # not one incident each
        assert db.session.scalar(select(func.count(Report.id)).where(
            Report.state == "awaiting_location")) == 3
    for sender in SENDERS:  # each was asked "where?"
        assert any("Where exactly" in m["body"] or "Dónde" in m["body"]
                   for m in standin.sent if m["to"] == sender)
    make_user(sms_app, "raid@example.org", "dispatcher")
    login(client, "raid@example.org")
    board = client.get("/").text
    assert 'data-awaiting="3"' in board and "3 awaiting location" in board

    asked_before = len(sent_to(standin, VERIFIER))
    twilio.post_sms(client, "18th y Ashland, Pilsen", from_number=SENDERS[0])
    drain(sms_app)
    with sms_app.app_context():
        incident = db.session.scalar(select(Incident))
        assert db.session.scalar(select(func.count(Incident.id))) == 1
        assert db.session.scalar(select(func.count(Report.id)).where(
            Report.incident_id == incident.id)) == 2
        assert db.session.scalar(select(IncidentEvent.id).where(
            IncidentEvent.kind == "location_added"))
    # the verifier already on the way is sent the place the answer gave
    told = sent_to(standin, VERIFIER)[asked_before:]
    assert any("18th" in body for body in told), told
    assert 'data-awaiting="2"' in client.get("/").text

    # nobody else answers: when the window ends they join an incident as they are
    run_due_timers(sms_app, "follow_up_timeout")
    with sms_app.app_context():
        assert db.session.scalar(select(func.count(Report.id)).where(
            Report.state == "awaiting_location")) == 0
        assert db.session.scalar(select(func.count(Report.id)).where(
            Report.incident_id.is_(None))) == 0


def test_a_held_incident_still_expires(sms_app, twilio):
    client = sms_app.test_client()
    twilio.post_sms(client, "ICE at 18th and Ashland in Pilsen", from_number="+17735550310")
    drain(sms_app)
    with sms_app.app_context():
        incident = db.session.scalar(select(Incident))
        actions.apply_action(db.session, incident, {"action": "hold"}, "user:1")
        db.session.commit()
    run_due_timers(sms_app, "expire_incident")
    with sms_app.app_context():
        assert db.session.scalar(select(Incident.status)) == "unconfirmed"


def test_the_follow_up_window_is_the_jurisdictions(sms_app, twilio, standin):
    """`policy: follow_up_window_min` per jurisdiction: past it, an answer is a new report."""
    from datetime import timedelta

    from hotline.models import Jurisdiction

    with sms_app.app_context():
        chicago = db.session.scalar(select(Jurisdiction).where(Jurisdiction.slug == "chicago"))
        chicago.policy = {**(chicago.policy or {}), "follow_up_window_min": 1}
        db.session.commit()
    client = sms_app.test_client()
    twilio.post_sms(client, "ICE is here", from_number=SENDERS[0])
    drain(sms_app)
    with sms_app.app_context():
        report = db.session.scalar(select(Report))
        report.updated_at = report.updated_at - timedelta(minutes=2)
        db.session.commit()
    twilio.post_sms(client, "18th and Ashland", from_number=SENDERS[0])
    drain(sms_app)
    with sms_app.app_context():
        assert db.session.scalar(select(func.count(Report.id))) == 2
