"""Every per-jurisdiction `policy:` key does what the README says, one test per key (the rate
limits and the follow-up window are tested with their features: test_abuse.py and
test_raid_mode.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from hotline.core.extensions import db
from hotline.models import Alert, Incident, Jurisdiction, OutboxJob, utcnow
from tests.conftest import drain, run_due_timers
from tests.routing.helpers import phone

PILSEN = "ICE arresting people at 18th and Ashland in Pilsen"


def set_policy(app, **policy: Any) -> None:
    with app.app_context():
        chicago = db.session.scalar(select(Jurisdiction).where(Jurisdiction.slug == "chicago"))
        chicago.policy = {**(chicago.policy or {}), **policy}
        db.session.commit()


def incidents(app) -> list[Incident]:
    with app.app_context():
        rows = db.session.scalars(select(Incident).order_by(Incident.id)).all()
        db.session.expunge_all()
        return rows


def verify_alerts(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Alert.id)).where(Alert.kind == "verify"))


@pytest.mark.parametrize(("radius", "expected"), [(800, 2), (5000, 1)])
def test_cluster_radius_m(sms_app, twilio, radius, expected):
    """Two ZIPs about 2.5 km apart: one incident only within a wide radius."""
    set_policy(sms_app, cluster_radius_m=radius)
    client = sms_app.test_client()
    twilio.post_sms(client, "ICE agents at 60608 right now", from_number="+17735550501")
    twilio.post_sms(client, "ICE agents at 60616 right now", from_number="+17735550502")
    drain(sms_app)
    assert len(incidents(sms_app)) == expected


@pytest.mark.parametrize(("window", "expected"), [(120, 1), (10, 2)])
def test_cluster_window_min(sms_app, twilio, window, expected):
    """The same corner half an hour later: the same incident only within the window."""
    set_policy(sms_app, cluster_window_min=window)
    client = sms_app.test_client()
    twilio.post_sms(client, PILSEN, from_number="+17735550503")
    drain(sms_app)
    with sms_app.app_context():
        incident = db.session.scalar(select(Incident))
        incident.last_seen_at = utcnow() - timedelta(minutes=30)
        db.session.commit()
    twilio.post_sms(client, "migra en la 18 y Ashland", from_number="+17735550504")
    drain(sms_app)
    assert len(incidents(sms_app)) == expected


def test_verifiers_per_round(sms_app, twilio):
    set_policy(sms_app, verifiers_per_round=2)
    twilio.post_sms(sms_app.test_client(), PILSEN, from_number="+17735550505")
    drain(sms_app)
    assert verify_alerts(sms_app) == 2


def test_verify_deadline_min_and_unconfirmed_after_min(sms_app, twilio):
    set_policy(sms_app, verify_deadline_min=3, unconfirmed_after_min=45)
    twilio.post_sms(sms_app.test_client(), PILSEN, from_number="+17735550506")
    drain(sms_app)
    with sms_app.app_context():
        created = db.session.scalar(select(Incident.first_seen_at))
        runs = dict(db.session.execute(select(OutboxJob.job, OutboxJob.run_at).where(
            OutboxJob.job.in_(("verification_timeout", "expire_incident")))).all())
    assert abs((runs["verification_timeout"] - created) - timedelta(minutes=3)) < \
        timedelta(seconds=30)
    assert abs((runs["expire_incident"] - created) - timedelta(minutes=45)) < \
        timedelta(seconds=30)


def test_max_verifiers(sms_app, twilio):
    """One verifier at most: when the first does not answer, nobody else is asked."""
    set_policy(sms_app, max_verifiers=1)
    twilio.post_sms(sms_app.test_client(), PILSEN, from_number="+17735550507")
    drain(sms_app)
    run_due_timers(sms_app, "verification_timeout")
    assert verify_alerts(sms_app) == 1


def test_false_alarm_after_no(sms_app, twilio, standin):
    """With 1, a single NO is a false alarm (the default, 2, makes it contested)."""
    set_policy(sms_app, false_alarm_after_no=1)
    client = sms_app.test_client()
    twilio.post_sms(client, PILSEN, from_number="+17735550508")
    drain(sms_app)
    code = incidents(sms_app)[0].code
    twilio.post_sms(client, f"NO {code}", from_number=phone("chicago-verifier-4"))
    drain(sms_app)
    assert incidents(sms_app)[0].status == "false_alarm"


def test_auto_verify_reporters(sms_app, twilio):
    set_policy(sms_app, auto_verify_reporters=2)
    client = sms_app.test_client()
    twilio.post_sms(client, PILSEN, from_number="+17735550509")
    drain(sms_app)
    assert incidents(sms_app)[0].status == "verifying"
    twilio.post_sms(client, "migra en la 18 y Ashland", from_number="+17735550510")
    drain(sms_app)
    assert incidents(sms_app)[0].status == "routed"


def test_auto_verify_trusted_verifier(sms_app, twilio):
    """A trusted verifier's own report (REPORT ...) verifies the incident."""
    set_policy(sms_app, auto_verify_trusted_verifier=True)
    twilio.post_sms(sms_app.test_client(), f"REPORT {PILSEN}",
                    from_number=phone("chicago-verifier-4"))
    drain(sms_app)
    assert incidents(sms_app)[0].status == "routed"


@pytest.mark.parametrize(("threshold", "flooded"), [(8, False), (3, True)])
def test_flood_new_numbers_and_flood_minutes(sms_app, twilio, standin, threshold, flooded):
    """Three first-time numbers in a row with one text: a fake flood only when the policy
    looks at that few."""
    set_policy(sms_app, flood_new_numbers=threshold, flood_minutes=10)
    client = sms_app.test_client()
    for i, corner in enumerate(("60608", "60616", "60623")):
        twilio.post_sms(client, f"ICE raid at {corner}", from_number=f"+1312555{2000 + i}")
    drain(sms_app)
    last = incidents(sms_app)[-1]
    assert bool((last.flags or {}).get("flood")) is flooded
    assert last.status == "verifying"  # flood or not, a verifier is asked
