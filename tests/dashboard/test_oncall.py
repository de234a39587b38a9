"""The on-call page (issue 18, part 1): who is on call per network, the next handoffs, the
escalation steps, who was asked what today, and overrides made there (validated, audited, in the
network's timezone, kept by `config load`, followed by pages and the board)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from hotline.config_loader import load_config
from hotline.core.extensions import db
from hotline.models import (
    Alert,
    AuditLog,
    Incident,
    LegalNetwork,
    Responder,
    ScheduleOverride,
    utcnow,
)
from hotline.routing import schedules
from tests.dashboard.conftest import login, make_user, post_form

ROOT = Path(__file__).resolve().parents[2]
CHICAGO = ZoneInfo("America/Chicago")
PAGE = "/oncall/chicago-legal"


def local(moment: datetime) -> str:
    return moment.astimezone(CHICAGO).strftime("%Y-%m-%dT%H:%M")


def first_paged(app) -> str:
    with app.app_context():
        network = db.session.scalar(select(LegalNetwork).where(
            LegalNetwork.slug == "chicago-legal"))
        return schedules.on_call_now(db.session, network)[0].key


def not_on_call(app) -> tuple[str, str]:
    """A Chicago lawyer who is not paged first now: (key, name)."""
    first = first_paged(app)
    key = next(k for k in ("chicago-lawyer-1", "chicago-lawyer-2", "chicago-lawyer-3")
               if k != first)
    with app.app_context():
        return key, db.session.scalar(select(Responder.name).where(Responder.key == key))


def add_override(client, key: str, start: datetime, end: datetime,
                 schedule: str = "rotation:primary"):
    return post_form(client, f"{PAGE}/overrides", {
        "schedule": schedule, "responder": key, "start": local(start), "end": local(end)},
        page=PAGE)


def test_page_shows_rotation_handoffs_steps_and_rosters(logged_in):
    page = logged_in.get(PAGE)
    assert page.status_code == 200
    html = page.text
    assert "On call · Chicago Family Support Legal Network" in html
    assert "hands over weekly at 09:00" in html
    assert "the lawyer on call, then wait 5 min" in html
    assert "the dispatchers: nobody accepted, then wait 10 min" in html
    assert "Then the steps repeat 1 more time." in html
    assert "Next handoff" in html and ("CST" in html or "CDT" in html)
    assert "Marisol Reyes" in html  # on shift on the hotline roster all day
    assert "+1312" not in html and "5550106" not in html  # no number, ever


def test_override_takes_the_page_the_board_and_the_audit(app, logged_in):
    key, name = not_on_call(app)
    now = utcnow()
    response = add_override(logged_in, key, now - timedelta(minutes=5), now + timedelta(hours=2))
    assert response.status_code == 302
    assert first_paged(app) == key
    page = logged_in.get(PAGE).text
    assert f"A page goes to <strong>{name}</strong>" in page
    board = logged_in.get("/").text
    assert f'<span data-testid="lawyer">{name}</span>' in board
    with app.app_context():
        row = db.session.scalar(select(ScheduleOverride))
        assert (row.kind, row.schedule, row.responder) == ("rotation", "primary", key)
        entry = db.session.scalar(select(AuditLog).where(
            AuditLog.action == "dashboard.override.create"))
        assert entry.target == str(row.id) and entry.details["responder"] == key


def test_times_are_the_networks_wall_clock(app, logged_in):
    key, _ = not_on_call(app)
    start = datetime(2027, 1, 15, 18, 0, tzinfo=CHICAGO)
    add_override(logged_in, key, start, start + timedelta(hours=3))
    with app.app_context():
        row = db.session.scalar(select(ScheduleOverride))
        assert row.start_at == datetime(2027, 1, 16, 0, 0, tzinfo=UTC)  # 18:00 CST is 00:00 UTC
    assert 'value="2027-01-15T18:00"' in logged_in.get(PAGE).text


@pytest.mark.parametrize(("form", "error"), [
    ({"end": "2027-01-15T17:00"}, "must end after it starts"),
    ({"start": "2020-01-01T10:00", "end": "2020-01-01T12:00"}, "is over already"),
    ({"start": "2027-03-14T02:30"}, "does not exist in America/Chicago"),
    ({"start": "2027-11-07T01:30", "end": "2027-11-07T05:00"}, "happens twice"),
    ({"start": "tomorrow"}, "is no date and time"),
    ({"responder": "chicago-verifier-4"}, "is not a lawyer"),
    ({"responder": "los-angeles-lawyer-1"}, "is not a member of"),
    ({"schedule": "rotation:nope"}, "has no rotation named"),
    ({"end": "2027-03-01T18:00"}, "at most 31 days"),
])
def test_a_bad_override_is_refused_and_nothing_is_saved(app, logged_in, form, error):
    data = {"schedule": "rotation:primary", "responder": "chicago-lawyer-2",
            "start": "2027-01-15T18:00", "end": "2027-01-15T21:00", **form}
    response = post_form(logged_in, f"{PAGE}/overrides", data, page=PAGE)
    assert response.status_code == 400
    assert error in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count(ScheduleOverride.id))) == 0


def test_change_and_remove_are_audited(app, logged_in):
    key, _ = not_on_call(app)
    now = utcnow()
    add_override(logged_in, key, now - timedelta(minutes=5), now + timedelta(hours=2))
    with app.app_context():
        override_id = db.session.scalar(select(ScheduleOverride.id))
    later = now + timedelta(hours=5)
    response = post_form(logged_in, f"{PAGE}/overrides/{override_id}", {
        "schedule": "rotation:primary", "responder": key,
        "start": local(now - timedelta(minutes=5)), "end": local(later)}, page=PAGE)
    assert response.status_code == 302
    with app.app_context():
        row = db.session.get(ScheduleOverride, override_id)
        assert row.end_at.strftime("%Y-%m-%dT%H:%M") == \
            later.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
    assert post_form(logged_in, f"{PAGE}/overrides/{override_id}/delete",
                     page=PAGE).status_code == 302
    with app.app_context():
        assert db.session.get(ScheduleOverride, override_id) is None
        actions = list(db.session.scalars(select(AuditLog.action).where(
            AuditLog.action.like("dashboard.override.%")).order_by(AuditLog.id)))
        assert actions == ["dashboard.override.create", "dashboard.override.update",
                           "dashboard.override.delete"]


def test_config_load_keeps_the_pages_overrides(app, logged_in):
    key, _ = not_on_call(app)
    now = utcnow()
    add_override(logged_in, key, now - timedelta(minutes=5), now + timedelta(hours=2))
    with app.app_context():
        load_config(db.session, app.extensions["hotline_vault"], ROOT / "config")
        db.session.commit()
        assert db.session.scalar(select(func.count(ScheduleOverride.id))) == 1
    assert first_paged(app) == key


def test_roster_override_rings_the_volunteer(app, logged_in):
    now = utcnow()
    response = add_override(logged_in, "chicago-lawyer-3", now - timedelta(minutes=1),
                            now + timedelta(hours=1), schedule="roster:hotline")
    assert response.status_code == 302
    rosters = logged_in.get("/rosters").text
    assert "David Smith" in rosters and "on the on-call page" in rosters


def test_scope_other_networks_are_not_found_and_viewers_only_read(app, client):
    make_user(app, "la@example.org", "dispatcher", jurisdictions=["los-angeles"])
    login(client, "la@example.org")
    assert client.get(PAGE).status_code == 404
    assert client.post(f"{PAGE}/overrides", data={}).status_code in (400, 404)
    assert client.get("/oncall").status_code == 302  # one network: straight to its page
    client.post("/logout", data={})
    make_user(app, "viewer@example.org", "viewer")
    viewer = app.test_client()
    login(viewer, "viewer@example.org")
    page = viewer.get(PAGE)
    assert page.status_code == 200 and "Add override" not in page.text
    assert post_form(viewer, f"{PAGE}/overrides", {}, page=PAGE).status_code == 403


def test_index_lists_the_networks(logged_in):
    html = logged_in.get("/oncall").text
    assert "Chicago Family Support Legal Network" in html and "is paged first" in html


def test_a_verified_incident_pages_the_override_s_lawyer(app, logged_in, seeded):
    key, _ = not_on_call(app)
    now = utcnow()
    add_override(logged_in, key, now - timedelta(minutes=5), now + timedelta(hours=2))
    code = seeded["chicago"]
    post_form(logged_in, f"/incidents/{code}/actions", {"action": "verify"})
    with app.app_context():
        paged = db.session.scalars(select(Responder.key).join(
            Alert, Alert.responder_id == Responder.id).join(
            Incident, Incident.id == Alert.incident_id).where(
            Incident.code == code, Alert.kind == "page")).all()
        assert paged == [key]
    today = logged_in.get(PAGE).text
    assert f">{code}</a>" in today  # asked today: the page, waiting for an answer
