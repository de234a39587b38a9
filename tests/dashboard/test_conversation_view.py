"""One conversation per incident (issue 18, part 3): the incident page shows every message in
and out about it, in order, decrypted for roles that read texts (each view audited); a
dispatcher replies to a reporter (masked, through the outbound queue, within 24 hours of the
reporter's last message, never after STOP) and messages the responders alerted."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from hotline.core.extensions import db
from hotline.models import AuditLog, IncidentEvent, Message, utcnow
from tests.conftest import drain
from tests.dashboard.conftest import csrf_of, login, make_user
from tests.routing.helpers import PILSEN, phone, route_pilsen, sent_to

REPORTER = PILSEN[0][0]


def _relayed(sms_app, twilio):
    """A consenting Pilsen reporter, routed, accepted, a lawyer's MSG and the reporter's reply."""
    client, code, lawyer = route_pilsen(sms_app, twilio, consent="si")
    twilio.post_sms(client, f"ACCEPT {code}", from_number=phone(lawyer.key))
    drain(sms_app)
    twilio.post_sms(client, f"MSG {code} Estamos en camino. No abra la puerta.",
                    from_number=phone(lawyer.key))
    drain(sms_app)
    twilio.post_sms(client, "gracias, estamos adentro", from_number=REPORTER)
    drain(sms_app)
    return code, lawyer


def _dispatcher(sms_app, email: str = "d@example.org", role: str = "dispatcher", **kwargs):
    make_user(sms_app, email, role, **kwargs)
    client = sms_app.test_client()
    login(client, email)
    return client


def _section(html: str) -> str:
    return html.split('id="conversation-live"', 1)[1].split("</div>", 1)[0]


def _post(client, code: str, path: str, data: dict[str, str]):
    token = csrf_of(client.get(f"/incidents/{code}").text)
    return client.post(f"/incidents/{code}/{path}", data={**data, "csrf_token": token})


def test_the_page_shows_every_message_in_order_and_audits_the_view(sms_app, twilio, standin):
    code, lawyer = _relayed(sms_app, twilio)
    client = _dispatcher(sms_app)
    section = _section(client.get(f"/incidents/{code}").text)
    texts = [re.sub(r"\s+", " ", t) for t in
             re.findall(r'data-testid="conversation-text">(.*?)</p>', section, re.S)]
    order = [PILSEN[0][1], f"HOTLINE {code}", f"ACCEPT {code}", f"{code} is yours",
             f"MSG {code} Estamos en camino", "Estamos en camino. No abra la puerta.",
             "gracias, estamos adentro", f"Reporter of {code}: gracias"]
    positions = [next(i for i, t in enumerate(texts) if piece in t) for piece in order]
    assert positions == sorted(positions), texts
    assert "Reporter 1" in section and f"{lawyer.name} (lawyer)" in section
    assert REPORTER[2:] not in section and phone(lawyer.key)[2:] not in section
    with sms_app.app_context():
        entry = db.session.scalars(select(AuditLog).where(
            AuditLog.action == "dashboard.incident.view").order_by(AuditLog.id.desc())).first()
        assert entry.details["messages"] == len(texts)


def test_html_in_a_message_is_shown_escaped(sms_app, twilio):
    client = sms_app.test_client()
    twilio.post_sms(client, "<b>ICE</b> <script>x()</script> at 18th and Ashland Pilsen",
                    from_number="+17735550150")
    drain(sms_app)
    with sms_app.app_context():
        from hotline.models import Incident
        code = db.session.scalar(select(Incident.code))
    html = _dispatcher(sms_app).get(f"/incidents/{code}").text
    section = _section(html)
    assert "&lt;b&gt;ICE&lt;/b&gt; &lt;script&gt;" in section and "<script>x()" not in html


def test_a_viewer_sees_who_and_when_but_no_text(sms_app, twilio):
    code, _ = _relayed(sms_app, twilio)
    section = _section(_dispatcher(sms_app, "v@example.org", "viewer")
                       .get(f"/incidents/{code}").text)
    assert "Reporter 1" in section and "gracias" not in section
    assert 'data-testid="conversation-text"' not in section


def test_a_dispatcher_replies_to_a_reporter_through_the_queue(sms_app, twilio, standin):
    code, _ = _relayed(sms_app, twilio)
    client = _dispatcher(sms_app)
    response = _post(client, code, "reply", {"reporter": "1", "text": "¿Siguen ahí? 🙏"})
    assert response.status_code == 302
    drain(sms_app)
    to_reporter = [m["body"] for m in standin.sent if m["to"] == REPORTER]
    assert to_reporter[-1].endswith("¿Siguen ahí? 🙏") and code in to_reporter[-1]
    with sms_app.app_context():
        message = db.session.scalar(select(Message).where(
            Message.flags["purpose"].as_string() == "dispatcher_to_reporter"))
        assert message.status in ("sent", "delivered") and message.incident_id is not None
        entry = db.session.scalar(select(AuditLog).where(
            AuditLog.action == "dashboard.incident.reply"))
        assert entry.details == {"reporter": 1, "message": message.id}  # never the text
        assert db.session.scalar(select(IncidentEvent.kind).where(
            IncidentEvent.kind == "dispatcher_to_reporter"))
    section = _section(client.get(f"/incidents/{code}").text)
    assert "a dispatcher&#39;s message" in section or "a dispatcher's message" in section


@pytest.mark.parametrize("why", ["stop", "old"])
def test_no_reply_after_stop_or_24_hours(sms_app, twilio, standin, why):
    code, _ = _relayed(sms_app, twilio)
    if why == "stop":
        twilio.post_sms(sms_app.test_client(), "STOP", from_number=REPORTER)
        drain(sms_app)
    else:
        with sms_app.app_context():
            reporter_id = db.session.scalar(select(Message.reporter_id).where(
                Message.direction == "inbound", Message.reporter_id.is_not(None)))
            db.session.execute(update(Message).where(Message.reporter_id == reporter_id)
                               .values(received_at=utcnow() - timedelta(hours=25)))
            db.session.commit()
    client = _dispatcher(sms_app)
    page = client.get(f"/incidents/{code}").text
    reason = "sent STOP" if why == "stop" else "more than 24 hours ago"
    assert f"Reporter 1: cannot be texted, they {reason}" in page or reason in page
    before = len(standin.sent)
    response = _post(client, code, "reply", {"reporter": "1", "text": "hola"})
    assert response.status_code == 302
    drain(sms_app)
    assert len(standin.sent) == before
    assert reason in client.get(f"/incidents/{code}").text
    with sms_app.app_context():
        assert db.session.scalar(select(AuditLog.id).where(
            AuditLog.action == "dashboard.incident.reply")) is None


def test_message_the_responders_alerted(sms_app, twilio, standin):
    code, lawyer = _relayed(sms_app, twilio)
    client = _dispatcher(sms_app)
    assert _post(client, code, "message-responders",
                 {"text": "Police also on scene"}).status_code == 302
    drain(sms_app)
    assert sent_to(standin, lawyer.key)[-1] == f"HOTLINE {code}, dispatcher: Police also on scene"
    with sms_app.app_context():
        entry = db.session.scalar(select(AuditLog).where(
            AuditLog.action == "dashboard.incident.message_responders"))
        assert entry.details["responders"] >= 1 and "text" not in entry.details


@pytest.mark.parametrize(("reporter", "text", "error"), [
    ("1", "   ", "write something to send"),
    ("1", "á" * 1401, "at most 1400 characters (1401 written)"),
    ("7", "hola", "choose a reporter of this incident"),
    ("x", "hola", "choose a reporter of this incident"),
])
def test_empty_too_long_and_unknown_are_refused(sms_app, twilio, standin, reporter, text,
                                                 error):
    code, _ = _relayed(sms_app, twilio)
    client = _dispatcher(sms_app)
    before = len(standin.sent)
    response = _post(client, code, "reply", {"reporter": reporter, "text": text})
    assert response.status_code == 302
    assert error in client.get(f"/incidents/{code}").text
    drain(sms_app)
    assert len(standin.sent) == before


def test_the_live_conversation_answers_304_until_a_message_comes(sms_app, twilio):
    code, _ = _relayed(sms_app, twilio)
    client = _dispatcher(sms_app)
    page = client.get(f"/incidents/{code}").text
    etag = re.search(r'id="conversation-live"[^>]*data-etag="([^"]+)"', page).group(1)
    url = f"/incidents/{code}/conversation"
    assert client.get(url, headers={"If-None-Match": f'"{etag}"'}).status_code == 304
    twilio.post_sms(sms_app.test_client(), "ya se fueron", from_number=REPORTER)
    drain(sms_app)
    fresh = client.get(url, headers={"If-None-Match": f'"{etag}"'})
    assert fresh.status_code == 200 and "ya se fueron" in fresh.text
    with sms_app.app_context():
        assert db.session.scalar(select(AuditLog.id).where(
            AuditLog.action == "dashboard.incident.conversation"))


def test_out_of_scope_and_lawyers_cannot_write(sms_app, twilio):
    code, lawyer = _relayed(sms_app, twilio)
    with sms_app.app_context():
        outbound_before = db.session.scalar(select(func.count(Message.id)).where(
            Message.direction == "outbound"))
    other = _dispatcher(sms_app, "la@example.org", "dispatcher", jurisdictions=["los-angeles"])
    assert other.get(f"/incidents/{code}/conversation").status_code == 404
    token = csrf_of(other.get("/").text)
    for path in ("reply", "message-responders"):  # a valid form, out of scope: not found
        assert other.post(f"/incidents/{code}/{path}", data={
            "reporter": "1", "text": "hola", "csrf_token": token}).status_code == 404
    # the lawyer reads the conversation, but writes only by SMS (MSG), never from the page
    counsel = _dispatcher(sms_app, "lawyer@example.org", "lawyer", responder_key=lawyer.key)
    assert counsel.get(f"/incidents/{code}/conversation").status_code == 200
    page = counsel.get(f"/incidents/{code}").text
    assert "Reply to a reporter" not in page and "Message the responders alerted" not in page
    token = csrf_of(page)
    for path in ("reply", "message-responders"):
        assert counsel.post(f"/incidents/{code}/{path}", data={
            "reporter": "1", "text": "hola", "csrf_token": token}).status_code == 403
    with sms_app.app_context():
        assert db.session.scalar(select(func.count(Message.id)).where(
            Message.direction == "outbound")) == outbound_before  # nothing was sent
