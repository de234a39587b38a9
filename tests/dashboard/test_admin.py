"""Admin pages: users, API tokens, configuration, audit log, CSV export."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from hotline.core.extensions import db
from hotline.dashboard.csvexport import cell, mask_numbers, neutralise
from hotline.models import ApiToken, AuditLog, Incident, User
from tests.dashboard.conftest import csrf_of, login, post_form


@pytest.mark.parametrize("path", ["/admin/users", "/admin/tokens", "/admin/config",
                                  "/admin/audit", "/export/incidents.csv"])
def test_admin_pages_are_for_admins_only(logged_in, path):
    assert logged_in.get(path).status_code == 403


def test_create_a_user_with_a_temporary_password_shown_once(app, as_admin):
    page = as_admin.get("/admin/users")
    response = as_admin.post("/admin/users", data={
        "csrf_token": csrf_of(page.text), "email": "new@example.org", "role": "dispatcher",
        "jurisdictions": ["chicago"]})
    assert response.status_code == 200
    temporary = response.text.split('data-testid="temporary-password">', 1)[1].split("<", 1)[0]
    assert temporary not in as_admin.get("/admin/users").text
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "new@example.org"))
        assert user.jurisdictions == ["chicago"] and user.must_change_password
        assert temporary not in user.password_hash
    fresh = app.test_client()
    assert login(fresh, "new@example.org", temporary).status_code == 302


def test_creating_a_bad_user_explains_why(as_admin):
    page = as_admin.get("/admin/users")
    response = as_admin.post("/admin/users", data={
        "csrf_token": csrf_of(page.text), "email": "not-an-email", "role": "dispatcher"})
    assert response.status_code == 400 and "not an email address" in response.text


def test_disable_and_enable_a_user(app, as_admin, dispatcher):
    other = app.test_client()
    login(other, "dispatcher@example.org")
    assert other.get("/").status_code == 200
    post_form(as_admin, f"/admin/users/{dispatcher}/disable", page="/admin/users")
    assert other.get("/").status_code == 302  # the live session ended
    assert login(other, "dispatcher@example.org").status_code == 401
    post_form(as_admin, f"/admin/users/{dispatcher}/enable", page="/admin/users")
    assert login(other, "dispatcher@example.org").status_code == 302
    with app.app_context():
        actions = list(db.session.scalars(select(AuditLog.action)))
    assert "admin.user.disable" in actions and "admin.user.enable" in actions


def test_an_admin_cannot_disable_themselves(app, as_admin, admin):
    post_form(as_admin, f"/admin/users/{admin}/disable", page="/admin/users")
    assert as_admin.get("/").status_code == 200


def test_api_tokens_are_shown_once_and_can_be_revoked(app, as_admin):
    page = as_admin.get("/admin/tokens")
    response = as_admin.post("/admin/tokens", data={
        "csrf_token": csrf_of(page.text), "name": "newsroom", "role": "viewer"})
    token = response.text.split('data-testid="new-token">', 1)[1].split("<", 1)[0]
    assert token.startswith("htl_")
    assert token not in as_admin.get("/admin/tokens").text
    api = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/incidents", headers=auth).status_code == 200
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.name == "newsroom"))
    post_form(as_admin, f"/admin/tokens/{token_id}/revoke", page="/admin/tokens")
    assert api.get("/api/v1/incidents", headers=auth).status_code == 401


def test_config_page_lists_jurisdictions_and_networks_without_numbers(as_admin):
    html = as_admin.get("/admin/config").text
    for text in ("new-york-city", "santa-ana", "Chicago Family Support Legal Network",
                 "James Cohen", "on_call (5 min)"):
        assert text in html, text
    assert "555" not in html


def test_audit_log_page_and_filter(as_admin, seeded):
    as_admin.get(f"/incidents/{seeded['chicago']}")
    html = as_admin.get("/admin/audit?action=dashboard.incident").text
    assert "dashboard.incident.view" in html and "login" not in html.split("<tbody>")[1]


def test_csv_export_masks_numbers_neutralises_formulas_and_is_audited(app, as_admin, seeded):
    with app.app_context():
        incident = db.session.scalar(select(Incident).where(
            Incident.code == seeded["chicago"]))
        incident.location_text = "=HYPERLINK(\"http://evil\") call +1 312 555 0123"
        db.session.commit()
    response = as_admin.get("/export/incidents.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][0] == "code" and len(rows) == 4
    row = next(r for r in rows if r[0] == seeded["chicago"])
    assert row[3].startswith("'=HYPERLINK") and "555" not in row[3] and "•••23" in row[3]
    assert all(not c.startswith(("=", "+", "@")) for r in rows for c in r)
    only_chicago = list(csv.reader(io.StringIO(
        as_admin.get("/export/incidents.csv?jurisdiction=chicago").text)))
    assert [r[0] for r in only_chicago[1:]] == [seeded["chicago"]]
    with app.app_context():
        assert db.session.scalar(select(AuditLog.action).where(
            AuditLog.action == "export.incidents")) is not None


@pytest.mark.parametrize(("value", "expected"), [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("plain", "plain"), ("", ""),
    (" =1+1", "' =1+1"), ("\u00a0=1+1", "'\u00a0=1+1"), ("\u200b@SUM(A1)", "'\u200b@SUM(A1)"),
])
def test_neutralise(value, expected):
    assert neutralise(value) == expected


def test_cells():
    assert cell(-87.65) == "-87.65" and cell(3) == "3" and cell(None) == ""
    assert cell("-87") == "'-87"  # text that looks numeric is still text
    assert mask_numbers("text me at (312) 555-0123 or +13125550123") == \
        "text me at •••23 or •••23"


def test_csv_export_keeps_every_timestamp(app, as_admin, seeded):
    """Timestamps are exported as they are: the phone mask matched their digits and turned
    '2026-12-01T20:40:55.123456+00:00' into '•••00'."""
    from datetime import datetime

    with app.app_context():
        incident = db.session.scalar(select(Incident).where(
            Incident.code == seeded["chicago"]))
        first_seen = incident.first_seen_at
    rows = list(csv.reader(io.StringIO(as_admin.get("/export/incidents.csv").text)))
    header = rows[0]
    row = next(r for r in rows if r[0] == seeded["chicago"])
    stamp = row[header.index("first_seen_at")]
    assert "•" not in ",".join(row)
    assert datetime.fromisoformat(stamp) == first_seen
    assert all(datetime.fromisoformat(r[header.index("last_seen_at")]) for r in rows[1:])


def test_an_admin_marks_an_unreachable_responder_reachable(app, as_admin):
    from hotline.models import Responder

    with app.app_context():
        responder = db.session.scalar(select(Responder).order_by(Responder.id))
        responder.unreachable = True
        db.session.commit()
        responder_id, key = responder.id, responder.key
    page = as_admin.get("/admin/config").text
    assert f"Mark {responder.name} reachable" in page
    response = post_form(as_admin, f"/admin/responders/{responder_id}/reachable",
                         page="/admin/config")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Responder, responder_id).unreachable is False
        entry = db.session.scalar(select(AuditLog).where(
            AuditLog.action == "admin.responder.reachable"))
        assert entry is not None and entry.target == key
    assert post_form(as_admin, "/admin/responders/999999/reachable",
                     page="/admin/config").status_code == 404
