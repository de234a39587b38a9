"""The incident page (escaped, audited PII view) and every dispatcher action, audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.core.extensions import db
from hotline.models import AuditLog, Incident, Report, Reporter
from tests.dashboard.conftest import (
    CHICAGO_SMS,
    login,
    make_user,
    post_form,
    run_jobs,
)

PAYLOAD = '<script>alert(1)</script><img src=x onerror="alert(2)"> ICE on Western and 47th'


def audit_actions(app) -> list[tuple[str, str | None]]:
    with app.app_context():
        return [(a.action, a.target) for a in db.session.scalars(
            select(AuditLog).order_by(AuditLog.id))]


def test_incident_page_shows_everything_and_audits_the_pii_view(app, logged_in, seeded):
    code = seeded["chicago"]
    response = logged_in.get(f"/incidents/{code}")
    assert response.status_code == 200
    html = response.text
    assert CHICAGO_SMS in html
    for part in ("Credibility", "corroboration", "Verifiers", "Alerts", "Timeline",
                 "English</span>", "Size", "3 vehicles", "Carmen Torres"):
        assert part in html, part
    assert response.headers["Cache-Control"] == "no-store"
    assert ("dashboard.incident.view", code) in audit_actions(app)


def test_sms_text_is_always_escaped(app, logged_in, twilio):
    twilio.post_sms(logged_in, PAYLOAD, from_number="+13125550177")
    run_jobs(app)
    with app.app_context():
        code = db.session.scalar(select(Incident.code))
    html = logged_in.get(f"/incidents/{code}").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html


def test_media_urls_in_a_report_are_never_linked(app, logged_in, seeded):
    # media are shown from what Hotline stored (tests/dashboard/test_media_views.py), never
    # from a URL in a report's JSON: not Twilio's, not a javascript: one
    with app.app_context():
        report = db.session.scalar(select(Report))
        report.media = [{"url": "javascript:alert(1)", "content_type": "image/jpeg"},
                        {"url": "https://api.twilio.com/media/ME1", "content_type": "image/png"}]
        db.session.commit()
        code = db.session.get(Incident, report.incident_id).code
    html = logged_in.get(f"/incidents/{code}").text
    assert "api.twilio.com" not in html and "javascript:" not in html


def test_viewers_read_without_report_texts_and_cannot_act(app, client, seeded):
    make_user(app, "viewer@example.org", "viewer")
    login(client, "viewer@example.org")
    html = client.get(f"/incidents/{seeded['chicago']}").text
    assert CHICAGO_SMS not in html and "not shown to viewers" in html
    assert "Verify" not in html
    response = post_form(client, f"/incidents/{seeded['chicago']}/actions",
                         {"action": "verify"})
    assert response.status_code == 403
    assert ("dashboard.incident.view", seeded["chicago"]) not in audit_actions(app)


@pytest.mark.parametrize(("action", "extra", "status"), [
    ("verify", {}, "routed"),
    ("dismiss", {"note": "nothing there"}, "false_alarm"),
    ("resolve", {}, "resolved"),
    ("all_clear", {}, "resolved"),
    ("note", {"note": "called the reporter back"}, None),
    ("assign", {}, None),
])
def test_each_action_is_applied_and_audited(app, logged_in, seeded, action, extra, status):
    code = seeded["chicago"]
    response = post_form(logged_in, f"/incidents/{code}/actions", {"action": action, **extra})
    assert response.status_code == 302
    with app.app_context():
        incident = db.session.scalar(select(Incident).where(Incident.code == code))
        if status:
            assert incident.status == status
        if action == "assign":
            assert incident.assigned_user_id is not None
        kinds = [e.kind for e in incident.events]
    assert ("dashboard.incident." + action, code) in audit_actions(app)
    if action == "note":
        assert "note" in kinds
        assert "called the reporter back" in logged_in.get(f"/incidents/{code}").text


def test_merge_and_split(app, logged_in, seeded, twilio):
    code, other = seeded["chicago"], seeded["san-francisco"]
    post_form(logged_in, f"/incidents/{other}/actions", {"action": "merge", "into": code})
    with app.app_context():  # across jurisdictions: not without the confirmation
        assert db.session.scalar(select(Incident.status).where(Incident.code == other)) \
            != "merged"
    post_form(logged_in, f"/incidents/{other}/actions",
              {"action": "merge", "into": code, "confirm_jurisdiction": "yes"})
    with app.app_context():
        assert db.session.scalar(select(Incident.status).where(Incident.code == other)) \
            == "merged"
        ids = list(db.session.scalars(select(Report.id).join(Incident).where(
            Incident.code == code)))
    assert len(ids) == 2
    page = logged_in.get(f"/incidents/{code}").text
    assert "Split selected reports" in page
    response = post_form(logged_in, f"/incidents/{code}/actions",
                         {"action": "split", "reports": [str(ids[1])]})
    assert response.status_code == 302
    assert "Split the selected reports into" in logged_in.get(f"/incidents/{code}").text
    actions = [a for a, _ in audit_actions(app)]
    assert "dashboard.incident.merge" in actions and "dashboard.incident.split" in actions


def test_block_reporter(app, logged_in, seeded):
    with app.app_context():
        report_id = db.session.scalar(select(Report.id).join(Incident).where(
            Incident.code == seeded["chicago"]))
    post_form(logged_in, f"/incidents/{seeded['chicago']}/actions",
              {"action": "block", "report": str(report_id)})
    with app.app_context():
        reporter = db.session.scalar(select(Reporter).join(
            Report, Report.reporter_id == Reporter.id).where(Report.id == report_id))
        assert reporter.blocked
    assert ("dashboard.incident.block", seeded["chicago"]) in audit_actions(app)


@pytest.mark.parametrize("data", [
    {"action": "explode"},
    {"action": "note"},
    {"action": "merge", "into": "NOPE"},
    {"action": "block", "report": "99999999999999999999"},
    {"action": "split", "reports": ["-1"]},
])
def test_bad_actions_are_explained_not_applied(app, logged_in, seeded, data):
    response = post_form(logged_in, f"/incidents/{seeded['chicago']}/actions", data)
    assert response.status_code == 302
    page = logged_in.get(f"/incidents/{seeded['chicago']}").text
    assert 'role="alert"' in page
    assert not any(a.startswith("dashboard.incident.") and a != "dashboard.incident.view"
                   for a, _ in audit_actions(app))


def test_a_transition_that_is_not_allowed_is_refused(app, logged_in, seeded):
    code = seeded["chicago"]
    post_form(logged_in, f"/incidents/{code}/actions", {"action": "resolve"})
    post_form(logged_in, f"/incidents/{code}/actions", {"action": "verify"})
    assert "verify: not offered on a resolved incident" in logged_in.get(f"/incidents/{code}").text


def test_unknown_incident_is_404(logged_in):
    assert logged_in.get("/incidents/ZZZZ").status_code == 404
