"""Helpers for routing tests: who the demo responders are, what the stand-in sent, and the
Pilsen scenario (reports texted in, verified, routed to the first lawyer)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from hotline.core.extensions import db
from hotline.models import Alert, Incident, Responder
from tests.conftest import SignedTwilio, drain

ROOT = Path(__file__).resolve().parents[2]


@cache
def members() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load((ROOT / "config" / "networks.yaml").read_text())
    return {m["key"]: m for n in data["networks"] for m in n["members"]}


def phone(key: str) -> str:
    return members()[key]["phone"]


def sent_to(standin, key: str) -> list[str]:
    """Bodies the stand-in accepted for one responder, in order."""
    return [m["body"] for m in standin.sent if m["to"] == phone(key)]


def only_incident(app) -> Incident:
    with app.app_context():
        rows = db.session.scalars(select(Incident).where(Incident.status != "merged")).all()
        assert len(rows) == 1, [r.code for r in rows]
        db.session.expunge_all()
        return rows[0]


def incident_status(app, code: str) -> str:
    with app.app_context():
        return db.session.scalar(select(Incident.status).where(Incident.code == code))


PILSEN = [
    ("+17735550140", "ICE arresting people at 18th and Ashland in Pilsen, 3 vans"),
    ("+17735550141", "migra en la 18 y Ashland, Pilsen, se estan llevando gente"),
    ("+13125550142", "agents at 18th St & Ashland Ave Chicago right now"),
]


class Routed(NamedTuple):
    """A Pilsen report, verified and routed: who texted it, its code, the first lawyer paged."""

    client: FlaskClient
    code: str
    lawyer: Responder


def report_pilsen(client: FlaskClient, twilio: SignedTwilio, app: Flask,
                  how_many: int = 3) -> str:
    """Text the first `how_many` Pilsen reports, run the jobs; returns the one incident's code."""
    for number, body in PILSEN[:how_many]:
        assert twilio.post_sms(client, body, from_number=number).status_code == 200
    drain(app)
    return only_incident(app).code


def act_by_api(app: Flask, code: str, action: str) -> None:
    """Apply a dashboard action ("verify", "resolve") to an incident, as a dispatcher would."""
    from hotline.incidents import actions

    with app.app_context():
        incident = db.session.scalar(select(Incident).where(Incident.code == code))
        actions.apply_action(db.session, incident, {"action": action}, "user:test")
        db.session.commit()


def route_pilsen(app: Flask, twilio: SignedTwilio, consent: str | None = None) -> Routed:
    """One Pilsen report (after the reporter's `consent` text, if any), verified and routed."""
    client = app.test_client()
    if consent:
        twilio.post_sms(client, consent, from_number=PILSEN[0][0])
    code = report_pilsen(client, twilio, app, 1)
    act_by_api(app, code, "verify")
    drain(app)
    with app.app_context():
        lawyer = db.session.scalar(select(Responder).join(Alert).where(Alert.kind == "page"))
    return Routed(client, code, lawyer)
