"""Abuse: rate limits keep everything, blocks, floods and denunciations wait for a human."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hotline.core.extensions import db
from hotline.incidents.abuse import looks_like_denunciation
from hotline.models import Alert, Incident, Message, Reporter, utcnow
from tests.conftest import drain

PHONE = "+13125550161"


def test_over_the_rate_limit_is_kept_flagged_and_answered_politely(sms_app, twilio,
                                                                   one_rate_window):
    client = sms_app.test_client()
    replies = [twilio.post_sms(client, f"ICE at 60608 message {i}", from_number=PHONE).text
               for i in range(10)]
    assert "we got your report" in replies[0]
    assert "We keep every one" in replies[-1]
    drain(sms_app)
    with sms_app.app_context():
        assert db.session.scalar(select(func.count(Message.id)).where(
            Message.direction == "inbound")) == 10
        flagged = db.session.scalars(select(Message).where(Message.direction == "inbound")).all()
        assert [bool(m.flags.get("rate_limited")) for m in flagged] == [False] * 8 + [True] * 2
        assert db.session.scalar(select(Incident)).flags.get("rate_limited")


def test_a_jurisdictions_rate_limit_flags_its_reports(sms_app, twilio):
    """`policy: rate_limit_messages` / `rate_limit_minutes` of the report's jurisdiction."""
    from hotline.models import Jurisdiction

    with sms_app.app_context():
        chicago = db.session.scalar(select(Jurisdiction).where(Jurisdiction.slug == "chicago"))
        chicago.policy = {**(chicago.policy or {}), "rate_limit_messages": 3,
                          "rate_limit_minutes": 60}
        db.session.commit()
    client = sms_app.test_client()
    for i in range(5):
        twilio.post_sms(client, f"ICE at 60608 message {i}", from_number=PHONE)
    drain(sms_app)
    with sms_app.app_context():
        flagged = db.session.scalars(select(Message).where(Message.direction == "inbound")
                                     .order_by(Message.id)).all()
        assert [bool(m.flags.get("rate_limited")) for m in flagged] == [False] * 3 + [True] * 2


def test_blocked_reporter_is_kept_but_not_answered_or_triaged(sms_app, twilio):
    client = sms_app.test_client()
    twilio.post_sms(client, "ICE at 60608", from_number=PHONE)
    drain(sms_app)
    with sms_app.app_context():
        from hotline.incidents import actions

        incident = db.session.scalar(select(Incident))
        report_id = incident.reports[0].id
        actions.apply_action(db.session, incident, {"action": "block", "report": report_id,
                                                    "note": "prank caller"}, "user:1")
        db.session.commit()
    response = twilio.post_sms(client, "ICE at 60623 now", from_number=PHONE)
    assert response.status_code == 200 and "<Message>" not in response.text
    drain(sms_app)
    with sms_app.app_context():
        assert db.session.scalar(select(func.count(Message.id)).where(
            Message.direction == "inbound")) == 2
        assert db.session.scalar(select(func.count(Incident.id))) == 1
        # the dispatcher's note is kept encrypted on the timeline, not in clear on the reporter
        assert db.session.scalar(select(Reporter.blocked_reason)) == "blocked by a dispatcher"
        from hotline.models import IncidentEvent

        note = db.session.scalar(select(IncidentEvent).where(IncidentEvent.kind == "note"))
        assert sms_app.extensions["hotline_vault"].decrypt(note.data["text_enc"],
                                                           "event.note") == "prank caller"


def test_a_fake_flood_is_marked_with_its_reason_and_still_verified(make_app, standin, twilio):
    """Nine first-time numbers in a row, sending the same text: the incident says why it looks
    fabricated, still asks a verifier (verification is the defence), and is not held."""
    from tests.conftest import sending_settings

    app = make_app(**sending_settings(standin))
    client = app.test_client()
    for i in range(9):
        twilio.post_sms(client, f"ICE raid at {60601 + i}", from_number=f"+1312555{1000 + i}")
    drain(app)
    with app.app_context():
        flooded = db.session.scalars(select(Incident).order_by(Incident.id)).all()
        reason = flooded[-1].flags.get("flood")
        assert "near-identical texts" in reason and "sequential phone numbers" in reason
        assert flooded[-1].status == "verifying"  # a verifier was asked
        assert db.session.scalar(select(Alert.id).where(
            Alert.incident_id == flooded[-1].id, Alert.kind == "verify"))


def test_a_real_raid_of_first_time_reporters_is_no_flood(make_app, standin, twilio):
    """Many first-time numbers at a few places is what a raid looks like."""
    from tests.conftest import sending_settings

    app = make_app(**sending_settings(standin))
    client = app.test_client()
    texts = ["ICE at 18th and Ashland in Pilsen, 3 vans", "migra en la 18 y Ashland ahorita",
             "agents detaining people at 18th St & Ashland", "ICE en Pilsen 18th y Ashland",
             "la migra esta en la 18 con Ashland, cuidado", "3 ICE trucks 18th and Ashland",
             "ICE arresting a man at Ashland & 18th", "redada en la 18 y ashland pilsen",
             "ICE agents in vests at 18th and Ashland Chicago"]
    numbers = ["+13125550731", "+17735550198", "+13125551842", "+17735554410", "+13125559021",
               "+17735552277", "+13125553368", "+17735556605", "+13125557713"]
    for text, number in zip(texts, numbers, strict=True):
        twilio.post_sms(client, text, from_number=number)
    drain(app)
    with app.app_context():
        incidents = db.session.scalars(select(Incident)).all()
        assert len(incidents) == 1 and not incidents[0].flags.get("flood")
        assert incidents[0].status == "verifying"


def test_a_dispatcher_holds_and_releases_and_both_are_audited(app, twilio):
    """Hold stops every automatic step; release lets a verified incident be routed."""
    from hotline.incidents import actions

    twilio.post_sms(app.test_client(), "ICE at 18th and Ashland in Pilsen",
                    from_number="+17735550140")
    drain(app)
    with app.app_context():
        incident = db.session.scalar(select(Incident))
        actions.apply_action(db.session, incident, {"action": "hold", "note": "checking"},
                             "user:1")
        assert incident.flags["hold"] == "held by a dispatcher"  # the note itself: encrypted
        actions.apply_action(db.session, incident, {"action": "verify"}, "user:1")
        assert incident.status == "verified"  # held: not routed
        actions.apply_action(db.session, incident, {"action": "release"}, "user:1")
        assert incident.status == "routed" and not incident.flags.get("hold")
        db.session.commit()


@pytest.mark.parametrize(("text", "flagged"), [
    ("my neighbor at 1234 W 18th St is undocumented, come get him", True),
    ("mi vecino Juan no tiene papeles, vive en la 26 y Kedzie", True),
    ("the guy in apartment 3B is illegal", True),
    ("ICE is arresting undocumented workers at the Home Depot on Western", False),
    ("la migra esta deteniendo gente sin papeles en la 18", False),
    ("ICE at 60608", False),
])
def test_denunciation_detector(text, flagged):
    assert looks_like_denunciation(text) is flagged


def test_denunciations_are_never_routed_automatically(sms_app, twilio, standin):
    client = sms_app.test_client()
    twilio.post_sms(client, "my neighbor at 1234 W 18th St Chicago is undocumented, come get "
                    "him", from_number=PHONE)
    drain(sms_app)
    with sms_app.app_context():
        incident = db.session.scalar(select(Incident))
        assert incident.flags.get("denunciation")
        assert incident.status == "new"
        assert db.session.scalar(select(func.count(Alert.id))) == 0
        from hotline.incidents import actions

        # even a dispatcher's verify does not page anyone while it is flagged
        actions.apply_action(db.session, incident, {"action": "verify"}, "user:1")
        db.session.commit()
        assert incident.status == "verified"
    drain(sms_app)
    assert [m for m in standin.sent if m["body"].startswith("HOTLINE")] == []


def test_rate_window_ends_where_the_next_begins(app, twilio, monkeypatch):
    """Messages of the next window (a clock ahead on another web host) do not count against
    an earlier one."""
    from datetime import timedelta

    from hotline.incidents import abuse
    from hotline.intake import store
    window = abuse.rate_window(utcnow())
    later = window.end + timedelta(seconds=30)
    earlier = window.start + timedelta(seconds=30)
    client = app.test_client()
    monkeypatch.setattr(store, "utcnow", lambda: later)
    for i in range(9):
        twilio.post_sms(client, f"ICE at 60608 message {i}", from_number=PHONE)
    monkeypatch.setattr(store, "utcnow", lambda: earlier)
    twilio.post_sms(client, "ICE at 60608 from the slow clock", from_number=PHONE)
    with app.app_context():
        last = db.session.scalar(select(Message).order_by(Message.id.desc()).limit(1))
        assert last.received_at == earlier
        assert not abuse.message_over_rate_limit(db.session, last)
        assert abuse.counted_in_window(db.session, last.counterpart_hmac, earlier, last.id) == 1
