"""API v1 roles and input checks: viewers read without report texts and cannot act; ids and
limits out of range are refused with 400, never a 5xx."""

from __future__ import annotations

import pytest

from hotline.accounts import tokens
from hotline.core.extensions import db
from tests.dashboard.conftest import CHICAGO_SMS, run_jobs


@pytest.fixture
def incident(app, client, twilio):
    twilio.post_sms(client, CHICAGO_SMS, from_number="+13125550123")
    run_jobs(app)
    return client.get("/api/v1/incidents", headers=auth_for(app, "dispatcher")).json[
        "incidents"][0]["code"]


def auth_for(app, role):
    with app.app_context():
        _row, token = tokens.create_token(db.session, f"{role}-token", role)
        db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_viewer_tokens_read_without_texts_and_cannot_act(app, client, incident):
    viewer = auth_for(app, "viewer")
    detail = client.get(f"/api/v1/incidents/{incident}", headers=viewer).json
    assert detail["reports"] and all(r["text"] is None for r in detail["reports"])
    response = client.post(f"/api/v1/incidents/{incident}/actions", headers=viewer,
                           json={"action": "verify"})
    assert response.status_code == 403
    dispatcher = auth_for(app, "dispatcher")
    assert client.get(f"/api/v1/incidents/{incident}", headers=dispatcher).json[
        "reports"][0]["text"] == CHICAGO_SMS


@pytest.mark.parametrize("body", [
    {"action": "block", "report": 10**30},
    {"action": "block", "report": True},
    {"action": "split", "reports": [10**30]},
    {"action": "split", "reports": "1,2"},
    {"action": "split", "reports": [1.5]},
    {"action": "merge", "into": 7},
    {"action": "note", "note": 5},
])
def test_out_of_range_or_mistyped_fields_are_400(app, client, incident, body):
    response = client.post(f"/api/v1/incidents/{incident}/actions",
                           headers=auth_for(app, "dispatcher"), json=body)
    assert response.status_code == 400, response.json


@pytest.mark.parametrize("query", ["limit=501", "limit=", "since=", "status=", "jurisdiction=",
                                   "status=new,,verifying", "colour=red"])
def test_list_refuses_what_the_document_forbids(app, client, query):
    response = client.get(f"/api/v1/incidents?{query}", headers=auth_for(app, "viewer"))
    assert response.status_code == 400


def test_api_answers_are_not_cached(app, client):
    response = client.get("/api/v1/jurisdictions", headers=auth_for(app, "viewer"))
    assert response.headers["Cache-Control"] == "no-store"
