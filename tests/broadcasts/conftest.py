"""Community-alert fixtures: a verified Chicago incident, subscribers made by signed SMS, and
an API token that acts."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hotline.accounts import tokens
from hotline.core.extensions import db
from hotline.models import Incident, Subscriber
from tests.conftest import SignedTwilio, drain, run_due_timers

# Pilsen's ZIP; the incident is put at its centroid unless a test says otherwise
PILSEN = "60608"


@pytest.fixture
def app(make_app: Any, standin: Any) -> Flask:
    """SQLite, outbound through the stand-in (two numbers at 50/s each)."""
    from tests.conftest import sending_settings

    return make_app(**sending_settings(standin, HOTLINE_BROADCAST_RATE="200"))


def subscribe(client: Any, twilio: SignedTwilio, number: str, *bodies: str,
              confirm: str | None = "YES") -> list[str]:
    """Text each body from `number` (then the confirmation); the replies' texts."""
    replies = []
    for body in (*bodies, *([confirm] if confirm else [])):
        response = twilio.post_sms(client, body, from_number=number)
        assert response.status_code == 200, response.text
        replies.append(response.text)
    return replies


def token_for(app: Flask, name: str = "dispatch", **kwargs: Any) -> dict[str, str]:
    with app.app_context():
        _row, value = tokens.create_token(db.session, name, **kwargs)
        db.session.commit()
    return {"Authorization": f"Bearer {value}"}


def verified_incident(app: Flask, client: Any, twilio: SignedTwilio, auth: dict[str, str],
                      body: str = "ICE raid at the Home Depot on Western and 47th, 5 agents",
                      at: tuple[float, float] | None = None) -> str:
    """An incident from a signed SMS, verified by a dispatcher; placed at `at` (default: the
    centroid of Pilsen's ZIP)."""
    twilio.post_sms(client, body, from_number="+17735550100")
    drain(app)
    run_due_timers(app, "follow_up_timeout")
    with app.app_context():
        incident = db.session.scalar(select(Incident).order_by(Incident.id.desc()))
        if at is None:
            from hotline.incidents.geography import current_gazetteer

            place = current_gazetteer(db.session).places.zip(PILSEN)
            at = (place.lat, place.lon)
        incident.lat, incident.lon = at
        db.session.commit()
        code = incident.code
    response = client.post(f"/api/v1/incidents/{code}/actions", json={"action": "verify"},
                           headers=auth)
    assert response.status_code == 200, response.json
    drain(app)
    return code


def subscriber_status(app: Flask, vault_number: str) -> str | None:
    with app.app_context():
        digest = app.extensions["hotline_vault"].phone_hmac(vault_number)
        return db.session.scalar(select(Subscriber.status).where(
            Subscriber.phone_hmac == digest))
