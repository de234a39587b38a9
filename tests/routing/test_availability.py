"""Availability by text (issue 18, part 2): a responder sends OFF, OFF 3h, OFF tonight, ON or
STATUS (or their Spanish forms) to step out of rotations, verifier rounds and call rosters and
back; the answer says what changed and who covers; dispatchers see it on the on-call page."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from hotline.core.extensions import db
from hotline.core.languages import load_languages
from hotline.incidents import verification
from hotline.intake.commands import Availability, parse_availability
from hotline.models import AuditLog, Incident, LegalNetwork, Responder, utcnow
from hotline.routing import schedules
from tests.conftest import drain
from tests.routing.helpers import phone, report_pilsen, route_pilsen, sent_to

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = load_languages(ROOT / "config")


@pytest.mark.parametrize(("body", "wanted"), [
    ("OFF", Availability("off")),
    ("off 3h", Availability("off", minutes=180)),
    ("Off 3 hours", Availability("off", minutes=180)),
    ("OFF 90 min", Availability("off", minutes=90)),
    ("OFF 2", Availability("off", minutes=120)),
    ("off for 2 days", Availability("off", minutes=2880)),
    ("I'm off tonight", Availability("off", until="tonight")),
    ("OFF today!", Availability("off", until="today")),
    ("ON", Availability("on")),
    ("back", Availability("on")),
    ("Status?", Availability("status")),
    ("fuera 2 horas", Availability("off", minutes=120)),
    ("no disponible esta noche", Availability("off", until="tonight")),
    ("disponible", Availability("on")),
    ("estado", Availability("status")),
])
def test_parse(body, wanted):
    assert parse_availability(body, LANGUAGES) == wanted


@pytest.mark.parametrize("body", ["on my way", "OFF tomorrow maybe", "status of K7QM",
                                  "off 0h", "off 3 weeks", "ICE at 18th and Ashland", "",
                                  "YES K7QM"])
def test_not_availability(body):
    assert parse_availability(body, LANGUAGES) is None


def _responder(app: Flask, key: str) -> Responder:
    with app.app_context():
        row = db.session.scalar(select(Responder).where(Responder.key == key))
        db.session.expunge(row)
        return row


def _first_paged(app: Flask) -> str:
    with app.app_context():
        network = db.session.scalar(select(LegalNetwork).where(
            LegalNetwork.slug == "chicago-legal"))
        return schedules.on_call_now(db.session, network)[0].key


def _text(sms_app, twilio, key: str, body: str):
    response = twilio.post_sms(sms_app.test_client(), body, from_number=phone(key))
    assert response.status_code == 200
    drain(sms_app)
    return response


def test_off_takes_the_lawyer_on_call_out_of_the_pages_and_says_who_covers(
        sms_app, twilio, standin):
    lawyer = _first_paged(sms_app)
    response = _text(sms_app, twilio, lawyer, "OFF 3h")
    assert "<Message" not in response.text  # no list of commands: the job answers
    away = _responder(sms_app, lawyer).away_until
    assert timedelta(hours=2, minutes=59) < away - utcnow() <= timedelta(hours=3)
    covering = _first_paged(sms_app)
    assert covering != lawyer
    answer = sent_to(standin, lawyer)[-1]
    assert answer.startswith("Hotline: you are OFF until ")
    assert f"On call now: {_responder(sms_app, covering).name}." in answer
    routed = route_pilsen(sms_app, twilio)
    assert routed.lawyer.key == covering  # the page went to who covers
    with sms_app.app_context():
        entry = db.session.scalar(select(AuditLog).where(
            AuditLog.action == "responder.availability"))
        assert entry.target == lawyer and entry.details["verb"] == "off"


def test_on_brings_them_back_and_status_says_so(sms_app, twilio, standin):
    lawyer = _first_paged(sms_app)
    _text(sms_app, twilio, lawyer, "OFF")
    assert _responder(sms_app, lawyer).away_until == schedules.AWAY_OPEN
    assert sent_to(standin, lawyer)[-1].startswith("Hotline: you are OFF until you reply ON")
    _text(sms_app, twilio, lawyer, "status")
    assert sent_to(standin, lawyer)[-1].startswith("Hotline: you are OFF until you reply ON.")
    _text(sms_app, twilio, lawyer, "ON")
    assert _responder(sms_app, lawyer).away_until is None
    assert sent_to(standin, lawyer)[-1].startswith("Hotline: you are ON again")
    assert _first_paged(sms_app) == lawyer
    _text(sms_app, twilio, lawyer, "STATUS")
    assert sent_to(standin, lawyer)[-1].startswith("Hotline: you are ON:")


def test_a_verifier_off_is_not_asked_and_is_told_how_many_others_are(sms_app, twilio, standin):
    with sms_app.app_context():
        keys = list(db.session.scalars(select(Responder.key).where(
            Responder.role == "verifier", Responder.network.has(slug="chicago-legal"))
            .order_by(Responder.key)))
    off = keys[0]
    _text(sms_app, twilio, off, "fuera 2 horas")
    answer = sent_to(standin, off)[-1]
    assert answer.startswith("Hotline: ") or answer.startswith("Hotline ")
    code = report_pilsen(sms_app.test_client(), twilio, sms_app, 1)
    with sms_app.app_context():
        incident = db.session.scalar(select(Incident).where(Incident.code == code))
        candidates = {r.key for r in verification.candidate_verifiers(db.session, incident)}
    assert off not in candidates
    assert not [b for b in sent_to(standin, off) if code in b]  # never asked to verify


def test_a_reporter_s_off_is_no_availability(sms_app, twilio):
    twilio.post_sms(sms_app.test_client(), "OFF", from_number="+17735550177")
    drain(sms_app)
    with sms_app.app_context():
        assert db.session.scalar(select(Responder.id).where(
            Responder.away_until.is_not(None))) is None


def test_dispatchers_see_who_is_off(sms_app, twilio, standin):
    from tests.dashboard.conftest import login, make_user

    lawyer = _first_paged(sms_app)
    _text(sms_app, twilio, lawyer, "OFF tonight")
    make_user(sms_app, "d@example.org", "dispatcher")
    client = sms_app.test_client()
    login(client, "d@example.org")
    page = client.get("/oncall/chicago-legal").text
    section = page.split('id="away"', 1)[1].split("</section>", 1)[0]
    assert _responder(sms_app, lawyer).name in section and "OFF by text until" in section
