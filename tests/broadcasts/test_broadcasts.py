"""Broadcasts: only of verified incidents, to exactly the confirmed subscribers of the area,
each in their language, once; approvals, cancelling, STOP mid-way, follow-ups to the same
people; scoped and audited."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from hotline.core.distances import distance_m
from hotline.core.extensions import db
from hotline.incidents.geography import current_gazetteer
from hotline.models import AuditLog, BroadcastRecipient, Incident, Jurisdiction
from tests.broadcasts.conftest import subscribe, token_for, verified_incident
from tests.conftest import drain

NEAR_EN, NEAR_ES, PENDING, FAR, WHOLE, STOPPED = (
    "+13125550171", "+13125550172", "+13125550173", "+13125550174", "+13125550175",
    "+13125550176")


@pytest.fixture
def auth(app):
    return token_for(app)


@pytest.fixture
def people(client, twilio):
    """Chicago subscribers around Pilsen, in English and Spanish, and some who must not get
    anything."""
    subscribe(client, twilio, NEAR_EN, "ALERTS 60608")
    subscribe(client, twilio, NEAR_ES, "ALERTAS Pilsen", confirm="SI")
    subscribe(client, twilio, PENDING, "ALERTS 60608", confirm=None)
    subscribe(client, twilio, FAR, "ALERTS 60660")  # Edgewater, 15 km north
    subscribe(client, twilio, WHOLE, "ALERTS")  # the whole jurisdiction (area code 312)
    subscribe(client, twilio, STOPPED, "ALERTS 60608", "ALERTS OFF")


def _to(standin):
    return sorted(m["to"] for m in standin.sent)


def test_an_alert_reaches_exactly_the_confirmed_subscribers_of_its_area(
        app, client, twilio, auth, people, standin):
    code = verified_incident(app, client, twilio, auth)
    before = len(standin.sent)
    draft = client.post("/api/v1/broadcasts", json={"incident": code}, headers=auth)
    assert draft.status_code == 201, draft.json
    body = draft.json
    assert body["status"] == "draft" and body["recipients"] == 3
    assert {x["language"]: x["recipients"] for x in body["by_language"]} == {"en": 2, "es": 1}
    assert body["radius_m"] == 1500 and body["approvals_needed"] == 1
    assert body["estimated_seconds"] == pytest.approx(3 / 200, abs=0.1)
    assert "HOTLINE ALERT, verified" in body["texts"]["en"] and "raid" in body["texts"]["en"]
    assert "warrant signed by a judge" in body["texts"]["en"]
    assert "ALERTA DE HOTLINE" in body["texts"]["es"] and "redada" in body["texts"]["es"]

    sent = client.post(f"/api/v1/broadcasts/{body['id']}/send", headers=auth)
    assert sent.status_code == 202 and sent.json["status"] == "sending"
    drain(app)
    new = standin.sent[before:]
    assert sorted(m["to"] for m in new) == sorted([NEAR_EN, NEAR_ES, WHOLE])
    by_number = {m["to"]: m["body"] for m in new}
    assert by_number[NEAR_ES].startswith("ALERTA DE HOTLINE")
    assert by_number[NEAR_EN].startswith("HOTLINE ALERT")
    status = client.get(f"/api/v1/broadcasts/{body['id']}", headers=auth).json
    assert status["status"] == "sent" and status["counts"]["sent"] == 3
    assert status["counts"]["total"] == 3 and status["counts"]["queued"] == 0


def test_delivery_callbacks_move_the_counts(app, client, twilio, auth, people, standin):
    code = verified_incident(app, client, twilio, auth)
    before = len(standin.sent)
    broadcast = client.post("/api/v1/broadcasts", json={"incident": code}, headers=auth).json
    client.post(f"/api/v1/broadcasts/{broadcast['id']}/send", headers=auth)
    drain(app)
    sids = [m["sid"] for m in standin.sent[before:]]
    for sid, status in zip(sids, ["delivered", "delivered", "undelivered"], strict=True):
        form = {"MessageSid": sid, "MessageStatus": status}
        client.post("/twilio/status", data=form, headers=twilio.headers("/twilio/status", form))
    counts = client.get(f"/api/v1/broadcasts/{broadcast['id']}", headers=auth).json["counts"]
    assert counts["delivered"] == 2 and counts["failed"] == 1


@pytest.mark.parametrize("status", ["new", "verifying", "false_alarm", "resolved"])
def test_only_verified_incidents_are_broadcast(app, client, twilio, auth, status):
    code = verified_incident(app, client, twilio, auth)
    with app.app_context():
        db.session.execute(update(Incident).where(Incident.code == code).values(status=status))
        db.session.commit()
    response = client.post("/api/v1/broadcasts", json={"incident": code}, headers=auth)
    assert response.status_code == 409 and "verified" in response.json["error"]


def test_radius_edges(app, client, twilio, auth, standin):
    subscribe(client, twilio, NEAR_EN, "ALERTS 60609")  # Back of the Yards
    code = verified_incident(app, client, twilio, auth)
    with app.app_context():
        incident = db.session.scalar(select(Incident).where(Incident.code == code))
        place = current_gazetteer(db.session).places.zip("60609")
        far = distance_m(incident.lat, incident.lon, place.lat, place.lon)
    inside = client.post("/api/v1/broadcasts", json={"incident": code,
                                                     "radius_m": int(far) + 2}, headers=auth)
    outside = client.post("/api/v1/broadcasts", json={"incident": code,
                                                      "radius_m": int(far) - 2}, headers=auth)
    assert inside.json["recipients"] == 1 and outside.json["recipients"] == 0
    whole = client.post("/api/v1/broadcasts", json={"incident": code, "radius_m": 100,
                                                    "whole_jurisdiction": True}, headers=auth)
    assert whole.json["recipients"] == 1 and whole.json["whole_jurisdiction"] is True


def test_an_incident_placed_only_to_the_city_alerts_the_whole_jurisdiction(
        app, client, twilio, auth, people):
    code = verified_incident(app, client, twilio, auth)
    with app.app_context():
        db.session.execute(update(Incident).where(Incident.code == code)
                           .values(lat=None, lon=None))
        db.session.commit()
    draft = client.post("/api/v1/broadcasts", json={"incident": code}, headers=auth).json
    assert draft["whole_jurisdiction"] is True and draft["recipients"] == 4  # FAR too


def test_a_second_dispatcher_must_approve_when_the_policy_says_so(
        app, client, twilio, auth, people, standin):
    with app.app_context():
        chicago = db.session.scalar(select(Jurisdiction).where(Jurisdiction.slug == "chicago"))
        chicago.policy = {**chicago.policy, "broadcast_approvals": 2}
        db.session.commit()
    code = verified_incident(app, client, twilio, auth)
    before = len(standin.sent)
    draft = client.post("/api/v1/broadcasts", json={"incident": code}, headers=auth).json
    assert draft["approvals_needed"] == 2
    first = client.post(f"/api/v1/broadcasts/{draft['id']}/send", headers=auth)
    assert first.status_code == 200 and first.json["status"] == "draft"
    again = client.post(f"/api/v1/broadcasts/{draft['id']}/send", headers=auth)
    assert again.status_code == 409 and "another dispatcher" in again.json["error"]
    drain(app)
    assert len(standin.sent) == before  # nothing went out on one approval
    other = token_for(app, "second dispatcher")
    second = client.post(f"/api/v1/broadcasts/{draft['id']}/send", headers=other)
    assert second.status_code == 202 and second.json["status"] == "sending"
    assert [a["by"] for a in second.json["approvals"]] == ["token dispatch",
                                                           "token second dispatcher"]
    drain(app)
    assert len(standin.sent) == before + 3


def test_a_double_click_sends_once(app, client, twilio, auth, people, standin):
    code = verified_incident(app, client, twilio, auth)
    before = len(standin.sent)
    draft = client.post("/api/v1/broadcasts", json={"incident": code}, headers=auth).json
    assert client.post(f"/api/v1/broadcasts/{draft['id']}/send", headers=auth).status_code == 202
    assert client.post(f"/api/v1/broadcasts/{draft['id']}/send", headers=auth).status_code == 409
    drain(app)
    drain(app)
    assert len(standin.sent) == before + 3
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BroadcastRecipient)) == 3


def test_stop_mid_broadcast_is_honoured(app, client, twilio, auth, people, standin):
    code = verified_incident(app, client, twilio, auth)
    before = len(standin.sent)
    draft = client.post("/api/v1/broadcasts", json={"incident": code}, headers=auth).json
    client.post(f"/api/v1/broadcasts/{draft['id']}/send", headers=auth)
    twilio.post_sms(client, "STOP", from_number=NEAR_ES)  # before the pump reaches them
    drain(app)
    assert sorted(m["to"] for m in standin.sent[before:]) == sorted([NEAR_EN, WHOLE])
    counts = client.get(f"/api/v1/broadcasts/{draft['id']}", headers=auth).json["counts"]
    assert counts["skipped"] == 1 and counts["sent"] == 2


def test_cancel_sends_nothing_more(app, client, twilio, auth, people, standin):
    code = verified_incident(app, client, twilio, auth)
    before = len(standin.sent)
    draft = client.post("/api/v1/broadcasts", json={"incident": code}, headers=auth).json
    client.post(f"/api/v1/broadcasts/{draft['id']}/send", headers=auth)
    cancelled = client.post(f"/api/v1/broadcasts/{draft['id']}/cancel", headers=auth)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    drain(app)
    assert len(standin.sent) == before
    assert cancelled.json["counts"]["cancelled"] == 3
    assert client.post(f"/api/v1/broadcasts/{draft['id']}/send",
                       headers=auth).status_code == 409


def test_follow_up_goes_to_exactly_the_same_recipients(app, client, twilio, auth, people,
                                                       standin):
    code = verified_incident(app, client, twilio, auth)
    alert = client.post("/api/v1/broadcasts", json={"incident": code}, headers=auth).json
    client.post(f"/api/v1/broadcasts/{alert['id']}/send", headers=auth)
    drain(app)
    subscribe(client, twilio, "+13125550177", "ALERTS 60608")  # joined after the alert
    twilio.post_sms(client, "ALERTS OFF", from_number=WHOLE)  # left after it
    before = len(standin.sent)
    correction = client.post("/api/v1/broadcasts", json={
        "follow_up": alert["id"], "kind": "correction",
        "text": {"en": "HOTLINE CORRECTION: the alert was wrong, nothing is happening."}},
        headers=auth)
    assert correction.status_code == 201, correction.json
    assert correction.json["recipients"] == 2 and correction.json["approvals_needed"] == 1
    client.post(f"/api/v1/broadcasts/{correction.json['id']}/send", headers=auth)
    drain(app)
    new = {m["to"]: m["body"] for m in standin.sent[before:]}
    assert sorted(new) == sorted([NEAR_EN, NEAR_ES])
    assert new[NEAR_EN] == "HOTLINE CORRECTION: the alert was wrong, nothing is happening."
    assert new[NEAR_ES].startswith("HOTLINE, CORRECCIÓN")


def test_nothing_about_the_reporters_goes_out(app, client, twilio, auth, people):
    code = verified_incident(app, client, twilio, auth,
                             body="ICE raid at the Home Depot on Western and 47th, my name is "
                                  "Maria and my number is 773 555 0100")
    draft = client.post("/api/v1/broadcasts", json={"incident": code}, headers=auth).json
    for text in draft["texts"].values():
        assert "Maria" not in text and "555" not in text


@pytest.mark.parametrize(("payload", "status"), [
    ({}, 400), ({"incident": ""}, 400), ({"incident": "ZZZZ"}, 404),
    ({"incident": None, "radius_m": "far"}, 400), ({"incident": "X", "bogus": 1}, 400),
    ({"incident": "{code}", "radius_m": 5}, 400), ({"incident": "{code}", "radius_m": True}, 400),
    ({"incident": "{code}", "text": {"xx": "hi"}}, 400),
    ({"incident": "{code}", "text": {"en": "a\x00b"}}, 400),
    ({"incident": "{code}", "text": {"en": "x" * 1601}}, 400),
    ({"incident": "{code}", "kind": "correction"}, 400),
    ({"follow_up": 999}, 404),
])
def test_bad_requests_get_clear_errors(app, client, twilio, auth, payload, status):
    code = verified_incident(app, client, twilio, auth)
    payload = {k: (v.format(code=code) if isinstance(v, str) else v) for k, v in payload.items()}
    response = client.post("/api/v1/broadcasts", json=payload, headers=auth)
    assert response.status_code == status, response.json
    assert response.json["error"]


def test_scoped_and_audited(app, client, twilio, auth, people):
    code = verified_incident(app, client, twilio, auth)
    draft = client.post("/api/v1/broadcasts", json={"incident": code}, headers=auth).json
    elsewhere = token_for(app, "sf", jurisdictions=["san-francisco"])
    assert client.get(f"/api/v1/broadcasts/{draft['id']}", headers=elsewhere).status_code == 404
    assert client.post("/api/v1/broadcasts", json={"incident": code},
                       headers=elsewhere).status_code == 404
    viewer = token_for(app, "viewer", role="viewer")
    assert client.post("/api/v1/broadcasts", json={"incident": code},
                       headers=viewer).status_code == 403
    assert client.post(f"/api/v1/broadcasts/{draft['id']}/send",
                       headers=viewer).status_code == 403
    client.post(f"/api/v1/broadcasts/{draft['id']}/send", headers=auth)
    with app.app_context():
        actions = list(db.session.scalars(select(AuditLog.action).where(
            AuditLog.action.like("api.broadcast.%")).order_by(AuditLog.id)))
    assert actions == ["api.broadcast.create", "api.broadcast.approve"]


def test_subscriber_summary_counts_and_never_numbers(app, client, twilio, auth, people):
    summary = client.get("/api/v1/subscribers/summary", headers=auth)
    assert summary.status_code == 200
    chicago = {j["jurisdiction"]: j for j in summary.json["jurisdictions"]}["chicago"]
    assert chicago["confirmed"] == 4 and chicago["pending"] == 1
    assert {a["area"]: a["subscribers"] for a in chicago["areas"]}["60608"] == 1
    assert {x["language"]: x["subscribers"] for x in chicago["languages"]} == {"en": 3, "es": 1}
    assert "555" not in summary.text
    sf = token_for(app, "sf only", jurisdictions=["san-francisco"])
    assert client.get("/api/v1/subscribers/summary", headers=sf).json == {"jurisdictions": []}


def test_a_changed_text_needs_its_approvals_again(app, client, twilio, auth, people):
    from hotline.broadcasts import drafts
    from hotline.messaging.templates import load_templates
    from hotline.models import Broadcast

    with app.app_context():
        chicago = db.session.scalar(select(Jurisdiction).where(Jurisdiction.slug == "chicago"))
        chicago.policy = {**chicago.policy, "broadcast_approvals": 2}
        db.session.commit()
    code = verified_incident(app, client, twilio, auth)
    draft = client.post("/api/v1/broadcasts", json={"incident": code}, headers=auth).json
    client.post(f"/api/v1/broadcasts/{draft['id']}/send", headers=auth)
    with app.app_context():
        templates = load_templates(app.config["SETTINGS"].config_dir)
        broadcast = db.session.get(Broadcast, draft["id"])
        drafts.set_texts(db.session, broadcast, templates, {"en": draft["texts"]["en"]})
        db.session.commit()
        assert len(client.get(f"/api/v1/broadcasts/{draft['id']}",
                              headers=auth).json["approvals"]) == 1  # the same words: kept
        drafts.set_texts(db.session, broadcast, templates, {"en": "HOTLINE: new words"})
        db.session.commit()
    status = client.get(f"/api/v1/broadcasts/{draft['id']}", headers=auth).json
    assert status["approvals"] == [] and status["status"] == "draft"
    other = token_for(app, "second")
    assert client.post(f"/api/v1/broadcasts/{draft['id']}/send",
                       headers=other).json["status"] == "draft"  # one of two again
