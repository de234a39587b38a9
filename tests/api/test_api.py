"""JSON API v1: bearer tokens, filters, detail, actions; never a phone number."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from hotline.accounts import tokens
from hotline.core.extensions import db
from hotline.jobs import outbox
from hotline.models import ApiToken, AuditLog
from tests.conftest import run_due_timers

PHONE = "+13125550123"


@pytest.fixture
def token(app):
    with app.app_context():
        _row, value = tokens.create_token(db.session, "tests")
        db.session.commit()
    return value


@pytest.fixture
def auth(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def seeded(app, client, twilio):
    twilio.post_sms(client, "ICE at the Home Depot on Western and 47th", from_number=PHONE)
    twilio.post_sms(client, "migra en la 24 y mission sf", from_number="+14155550123")
    twilio.post_sms(client, "ICE in Phoenix AZ", from_number="+16025550123")
    while outbox.backend_of(app).run_pending():
        pass
    # reports with no finer place than a city wait for "where?"; nobody answers here
    run_due_timers(app, "follow_up_timeout")


def test_tokens_are_stored_hashed(app, token):
    with app.app_context():
        row = db.session.scalar(select(ApiToken))
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in str(row.__dict__)


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer htl_wrong", "Basic abc"])
def test_token_required(client, header):
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/incidents", headers=headers)
    assert response.status_code == 401
    assert response.json["error"]


def test_revoked_token_is_refused(app, client, token, auth):
    from hotline.models import utcnow

    with app.app_context():
        db.session.scalar(select(ApiToken)).revoked_at = utcnow()
        db.session.commit()
    assert client.get("/api/v1/incidents", headers=auth).status_code == 401


def test_list_and_filter(client, auth, seeded):
    everything = client.get("/api/v1/incidents", headers=auth).json["incidents"]
    assert len(everything) == 3
    chicago = client.get("/api/v1/incidents?jurisdiction=chicago", headers=auth).json
    assert [i["jurisdiction"] for i in chicago["incidents"]] == ["chicago"]
    fallback = client.get("/api/v1/incidents?jurisdiction=none", headers=auth).json
    assert len(fallback["incidents"]) == 1
    assert len(client.get("/api/v1/incidents?status=open", headers=auth).json["incidents"]) == 3
    assert client.get("/api/v1/incidents?status=resolved", headers=auth).json["incidents"] == []
    assert client.get("/api/v1/incidents?since=2999-01-01T00:00:00Z",
                      headers=auth).json["incidents"] == []


@pytest.mark.parametrize("query", ["status=nope", "jurisdiction=atlantis", "since=yesterday",
                                   "since=2026-01-01T00:00:00", "limit=0", "limit=x"])
def test_bad_filters_get_400(client, auth, query):
    response = client.get(f"/api/v1/incidents?{query}", headers=auth)
    assert response.status_code == 400
    assert response.json["error"].split(":")[0] in query


def test_detail_has_reports_timeline_alerts_and_no_phone(app, client, auth, seeded):
    code = client.get("/api/v1/incidents?jurisdiction=chicago",
                      headers=auth).json["incidents"][0]["code"]
    response = client.get(f"/api/v1/incidents/{code.lower()}", headers=auth)
    assert response.status_code == 200
    data = response.json
    assert data["code"] == code
    assert data["reports"][0]["text"] == "ICE at the Home Depot on Western and 47th"
    assert [e["kind"] for e in data["timeline"]] == ["created", "status", "verifiers_asked"]
    assert [(a["kind"], a["role"], a["status"]) for a in data["alerts"]] == [
        ("verify", "verifier", "sent")]
    assert "5550123" not in response.text and "555010" not in response.text
    with app.app_context():
        assert db.session.scalar(select(AuditLog.action)) == "api.incident.view"


def test_unknown_incident_is_404(client, auth):
    assert client.get("/api/v1/incidents/ZZZZ", headers=auth).status_code == 404


def test_jurisdictions_with_open_counts(client, auth, seeded):
    data = client.get("/api/v1/jurisdictions", headers=auth).json
    counts = {j["slug"]: j["open_incidents"] for j in data["jurisdictions"]}
    assert len(counts) == 12
    assert counts["chicago"] == 1 and counts["san-francisco"] == 1 and counts["denver"] == 0
    assert data["unassigned"]["open_incidents"] == 1


def test_actions_verify_note_and_audit(app, client, auth, seeded):
    code = client.get("/api/v1/incidents?jurisdiction=chicago",
                      headers=auth).json["incidents"][0]["code"]
    url = f"/api/v1/incidents/{code}/actions"
    assert client.post(url, json={"action": "note", "note": "called the verifier"},
                       headers=auth).status_code == 200
    response = client.post(url, json={"action": "verify"}, headers=auth)
    assert response.json == {"code": code, "status": "routed"}  # verified, then paged
    assert client.post(url, json={"action": "verify"}, headers=auth).status_code == 409
    assert client.post(url, json={"action": "explode"}, headers=auth).status_code == 400
    assert client.post(url, data="nope", headers=auth).status_code == 400
    timeline = client.get(f"/api/v1/incidents/{code}", headers=auth).json["timeline"]
    kinds = [e["kind"] for e in timeline]
    assert kinds[:4] == ["created", "status", "verifiers_asked", "note"]
    verified = next(e for e in timeline if e["data"].get("new") == "verified")
    assert verified["actor"] == "token:tests"
    assert "escalation_step" in kinds
    with app.app_context():
        actions = set(db.session.scalars(select(AuditLog.action)))
    assert {"api.incident.note", "api.incident.verify"} <= actions


def test_merge(client, auth, seeded):
    codes = [i["code"] for i in client.get("/api/v1/incidents", headers=auth).json["incidents"]]
    # the two are in different jurisdictions: refused unless confirmed (then re-routed)
    refused = client.post(f"/api/v1/incidents/{codes[0]}/actions",
                          json={"action": "merge", "into": codes[1]}, headers=auth)
    assert refused.status_code == 409 and "another jurisdiction" in refused.json["error"]
    response = client.post(f"/api/v1/incidents/{codes[0]}/actions",
                           json={"action": "merge", "into": codes[1],
                                 "confirm_jurisdiction": True}, headers=auth)
    assert response.json["status"] == "merged"
    target = client.get(f"/api/v1/incidents/{codes[1]}", headers=auth).json
    assert target["report_count"] == 2


def test_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    assert {"/incidents", "/incidents/{code}", "/incidents/{code}/actions",
            "/jurisdictions"} <= set(doc["paths"])


def test_health(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.json["checks"]["database"] == "ok"
    metrics = client.get("/metrics").text
    assert 'hotline_http_requests_total{endpoint="health.healthz",status="200"}' in metrics
