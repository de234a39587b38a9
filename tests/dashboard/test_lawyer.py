"""Lawyers see what was routed to their network and accept or decline on the web."""

from __future__ import annotations

from sqlalchemy import select

from hotline.core.extensions import db
from hotline.models import Alert, AuditLog, Incident, Responder
from tests.dashboard.conftest import login, make_user, post_form


def _route(client, code):
    assert post_form(client, f"/incidents/{code}/actions", {"action": "verify"}).status_code \
        == 302


def _routed_and_a_lawyer(app, logged_in, seeded):
    """The Chicago incident routed, and a logged-in client of the lawyer paged about it."""
    code = seeded["chicago"]
    _route(logged_in, code)
    make_user(app, "lawyer@example.org", "lawyer", responder_key=_paged_lawyer(app, code))
    lawyer = app.test_client()
    login(lawyer, "lawyer@example.org")
    return code, lawyer


def _paged_lawyer(app, code) -> str:
    with app.app_context():
        return db.session.scalar(
            select(Responder.key).join(Alert, Alert.responder_id == Responder.id)
            .join(Incident, Incident.id == Alert.incident_id)
            .where(Incident.code == code, Alert.kind == "page"))


def test_a_lawyer_sees_only_incidents_routed_to_their_network(app, logged_in, seeded):
    _route(logged_in, seeded["chicago"])
    _route(logged_in, seeded["san-francisco"])
    make_user(app, "lawyer@example.org", "lawyer",
              responder_key=_paged_lawyer(app, seeded["chicago"]))
    lawyer = app.test_client()
    login(lawyer, "lawyer@example.org")
    assert lawyer.get("/").location == "/lawyer"
    html = lawyer.get("/lawyer").text
    assert seeded["chicago"] in html and "Waiting for a lawyer" in html
    assert seeded["san-francisco"] not in html and seeded["none"] not in html
    assert lawyer.get(f"/incidents/{seeded['san-francisco']}").status_code == 404
    assert lawyer.get(f"/incidents/{seeded['none']}").status_code == 404
    page = lawyer.get(f"/incidents/{seeded['chicago']}").text
    assert "Accept" in page and 'value="verify"' not in page
    assert post_form(lawyer, f"/incidents/{seeded['chicago']}/actions",
                     {"action": "resolve"}, page="/lawyer").status_code == 403


def test_a_lawyer_accepts_on_the_web(app, logged_in, seeded):
    code, lawyer = _routed_and_a_lawyer(app, logged_in, seeded)
    response = post_form(lawyer, f"/incidents/{code}/accept", page="/lawyer")
    assert response.status_code == 302
    assert "You accepted" in lawyer.get(f"/incidents/{code}").text
    with app.app_context():
        incident = db.session.scalar(select(Incident).where(Incident.code == code))
        assert incident.status == "acknowledged"
        assert db.session.scalar(select(AuditLog.action).where(
            AuditLog.action == "dashboard.incident.accept")) is not None


def test_a_lawyer_declines_and_the_next_is_paged(app, logged_in, seeded):
    code, lawyer = _routed_and_a_lawyer(app, logged_in, seeded)
    post_form(lawyer, f"/incidents/{code}/decline", page="/lawyer")
    with app.app_context():
        statuses = list(db.session.scalars(select(Alert.status).join(Incident).where(
            Incident.code == code, Alert.kind == "page").order_by(Alert.id)))
    assert statuses[0] == "declined" and len(statuses) >= 2


def test_a_lawyer_not_linked_to_a_responder_can_read_but_not_answer(app, logged_in, seeded):
    code = seeded["chicago"]
    _route(logged_in, code)
    make_user(app, "follower@example.org", "lawyer", network_slug="chicago-legal")
    lawyer = app.test_client()
    login(lawyer, "follower@example.org")
    assert "not linked to a lawyer" in lawyer.get("/lawyer").text
    post_form(lawyer, f"/incidents/{code}/accept", page="/lawyer")
    assert "not linked to a lawyer" in lawyer.get(f"/incidents/{code}").text
    with app.app_context():
        assert db.session.scalar(select(Incident.status).where(Incident.code == code)) \
            == "routed"


def test_dispatchers_cannot_answer_as_lawyers(logged_in, seeded):
    assert post_form(logged_in, f"/incidents/{seeded['chicago']}/accept").status_code == 403


def test_a_lawyer_is_not_offered_accept_once_a_colleague_took_it(app, logged_in, seeded):
    """Before, "Accept — I'll take it" stayed after a colleague accepted."""
    code = seeded["chicago"]
    _route(logged_in, code)
    paged = _paged_lawyer(app, code)
    make_user(app, "first@example.org", "lawyer", responder_key=paged)
    make_user(app, "second@example.org", "lawyer", responder_key=paged)
    first, second = app.test_client(), app.test_client()
    login(first, "first@example.org")
    login(second, "second@example.org")
    assert "Accept — I" in second.get(f"/incidents/{code}").text
    assert post_form(first, f"/incidents/{code}/accept", page="/lawyer").status_code == 302
    page = second.get(f"/incidents/{code}").text
    assert "Accept — I" not in page and "Decline" not in page
    with app.app_context():
        name = db.session.scalar(select(Responder.name).where(Responder.key == paged))
    assert f"Accepted by {name}" in page


def test_a_lawyer_reads_who_acted_by_role_not_by_a_dispatcher_s_email(app, logged_in, seeded):
    code, lawyer = _routed_and_a_lawyer(app, logged_in, seeded)
    page = lawyer.get(f"/incidents/{code}").text
    assert "by a dispatcher" in page and "dispatcher@example.org" not in page


def test_the_lawyer_list_is_live_and_drops_an_incident_a_colleague_took(app, logged_in,
                                                                       seeded):
    """Before, /lawyer had no live region: a lawyer kept seeing an incident "waiting" (with
    Accept) after a colleague accepted it, until they reloaded."""
    code, lawyer = _routed_and_a_lawyer(app, logged_in, seeded)
    page = lawyer.get("/lawyer").text
    assert 'data-live-url="/lawyer/live"' in page
    first = lawyer.get("/lawyer/live")
    assert first.status_code == 200 and first.headers["ETag"]
    assert f'action="/incidents/{code}/accept"' in first.text
    unchanged = lawyer.get("/lawyer/live", headers={"If-None-Match": first.headers["ETag"]})
    assert unchanged.status_code == 304
    # a colleague (here a dispatcher's resolve would do too) takes it: the fragment changes
    with app.app_context():
        incident = db.session.scalar(select(Incident).where(Incident.code == code))
        other = db.session.scalar(select(Responder).join(
            Alert, Alert.responder_id == Responder.id).where(
            Alert.incident_id == incident.id, Alert.kind == "page"))
        from hotline.routing import escalation
        assert escalation.accept(db.session, other, incident) == "accepted"
        db.session.commit()
    after = lawyer.get("/lawyer/live", headers={"If-None-Match": first.headers["ETag"]})
    assert after.status_code == 200
    assert f'action="/incidents/{code}/accept"' not in after.text
    assert "Nothing is waiting for a lawyer." in after.text and code in after.text
    # polling is passive: a logged-out client gets 401, not the login page
    assert app.test_client().get("/lawyer/live").status_code == 401
    assert logged_in.get("/lawyer/live").status_code == 403
