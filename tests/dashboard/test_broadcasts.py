"""Community alerts in the dashboard: "Alert the community" on a verified incident, the draft
page (recipients per language and area, texts, area, estimate, approvals), a second dispatcher's
approval, progress (JSON), stopping, follow-ups, roles and scopes, CSRF, escaping, the
subscriber counts, audit rows; and never a subscriber's number on a page."""

from __future__ import annotations

import dataclasses
import re

import pytest
from sqlalchemy import func, select

from hotline.core.extensions import db
from hotline.models import (
    AuditLog,
    Broadcast,
    BroadcastRecipient,
    Incident,
    Jurisdiction,
    Message,
)
from tests.broadcasts.conftest import subscribe, token_for, verified_incident
from tests.conftest import drain
from tests.dashboard.conftest import csrf_of, login, make_user, post_form

NEAR_EN, NEAR_ES, PENDING, FAR, WHOLE, STOPPED = (
    "+13125550171", "+13125550172", "+13125550173", "+13125550174", "+13125550175",
    "+13125550176")
NUMBERS = (NEAR_EN, NEAR_ES, PENDING, FAR, WHOLE, STOPPED, "+17735550100")
# 1,600 characters of Spanish with HTML and emoji in it: the most a text may hold
SPANISH = ('<script>alert("es")</script><b>¡Atención!</b> 🚨 ' + (
    "La migra está en la esquina de Western y la 47: quédense adentro, no abran la puerta "
    "sin una orden firmada por un juez y no firmen nada. ") * 20)[:1599] + "."


@pytest.fixture
def app(make_app):
    """SQLite; no Twilio configured, so each message is simulated (counted as sent)."""
    return make_app(HOTLINE_BROADCAST_RATE="200")


@pytest.fixture
def people(client, twilio):
    """Chicago subscribers around Pilsen in English and Spanish, and some who must not get
    the alert: one who never confirmed, one 15 km away, one who stopped."""
    subscribe(client, twilio, NEAR_EN, "ALERTS 60608")
    subscribe(client, twilio, NEAR_ES, "ALERTAS Pilsen", confirm="SI")
    subscribe(client, twilio, PENDING, "ALERTS 60608", confirm=None)
    subscribe(client, twilio, FAR, "ALERTS 60660")  # Edgewater
    subscribe(client, twilio, WHOLE, "ALERTS")  # the whole jurisdiction (area code 312)
    subscribe(client, twilio, STOPPED, "ALERTS 60608", "ALERTS OFF")


@pytest.fixture
def code(app, client, twilio, people):
    """A verified (so routed) Chicago incident at the centre of Pilsen's ZIP."""
    return verified_incident(app, client, twilio, token_for(app))


def set_approvals(app, n):
    with app.app_context():
        chicago = db.session.scalar(select(Jurisdiction).where(Jurisdiction.slug == "chicago"))
        chicago.policy = {**(chicago.policy or {}), "broadcast_approvals": n}
        db.session.commit()


def draft_of(client, code):
    """Click "Alert the community" on the incident page; the new draft's id."""
    response = post_form(client, f"/incidents/{code}/broadcasts", page=f"/incidents/{code}")
    assert response.status_code == 302, response.text
    found = re.fullmatch(r"/broadcasts/(\d+)", response.headers["Location"])
    assert found, response.headers["Location"]
    return int(found.group(1))


def act(client, broadcast_id, verb, data=None):
    """Press a button of the broadcast page (with the page's CSRF token)."""
    return post_form(client, f"/broadcasts/{broadcast_id}/{verb}", data,
                     page=f"/broadcasts/{broadcast_id}")


def table(html, testid):
    """{first cell: second cell} of a table with this data-testid."""
    body = html.split(f'data-testid="{testid}"', 1)[1].split("</table>", 1)[0]
    return dict(re.findall(r"<tr[^>]*><td>([^<]*)</td><td[^>]*>(\d+)</td></tr>", body))


def by_testid(html, name):
    return re.search(rf'data-testid="{name}"[^>]*>([^<]*)<', html).group(1)


def counts(client, broadcast_id):
    response = client.get(f"/broadcasts/{broadcast_id}/progress.json")
    assert response.status_code == 200
    return response.json


def audit_rows(app, prefix="dashboard.broadcast."):
    with app.app_context():
        return [(a.action, a.target, a.details, a.user_id) for a in db.session.scalars(
            select(AuditLog).where(AuditLog.action.like(prefix + "%")).order_by(AuditLog.id))]


def sent_bodies(app, broadcast_id):
    """{language: [bodies]} of the messages a broadcast sent (decrypted)."""
    with app.app_context():
        vault = app.extensions["hotline_vault"]
        rows = db.session.execute(select(BroadcastRecipient.language, Message.body_enc).join(
            Message, Message.id == BroadcastRecipient.message_id).where(
            BroadcastRecipient.broadcast_id == broadcast_id)).all()
        out = {}
        for language, body in rows:
            out.setdefault(language, []).append(vault.decrypt(body, "message.body"))
        return out


def no_numbers(html):
    for number in NUMBERS:
        for digits in (number, number[2:], number[-7:], number[-4:] + "<"):
            assert digits not in html, digits


# -- the incident page --------------------------------------------------------------------

def test_a_verified_incident_offers_to_alert_the_community(app, logged_in, code):
    html = logged_in.get(f"/incidents/{code}").text
    assert f'action="/incidents/{code}/broadcasts"' in html
    assert ">Alert the community</button>" in html
    assert "No community alert yet." in html


@pytest.mark.parametrize("status", ["new", "verifying", "false_alarm", "resolved"])
def test_only_a_verified_incident_can_be_broadcast(app, logged_in, code, status):
    with app.app_context():
        db.session.scalar(select(Incident).where(Incident.code == code)).status = status
        db.session.commit()
    html = logged_in.get(f"/incidents/{code}").text
    assert "Alert the community" not in html
    assert "Only a verified, routed or acknowledged incident" in html
    response = post_form(logged_in, f"/incidents/{code}/broadcasts", page=f"/incidents/{code}")
    assert response.status_code == 302 and response.headers["Location"] == f"/incidents/{code}"
    page = logged_in.get(f"/incidents/{code}").text
    assert f"incident {code} is {status}: only a verified" in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Broadcast)) == 0
    assert audit_rows(app) == []


# -- the draft ----------------------------------------------------------------------------

def test_the_draft_shows_recipients_texts_area_and_approvals(app, logged_in, code, dispatcher):
    broadcast_id = draft_of(logged_in, code)
    page = logged_in.get(f"/broadcasts/{broadcast_id}")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = page.text
    assert "Draft alert about" in html and "3 people would get it" in html
    assert by_testid(html, "broadcast-status") == "draft"
    assert by_testid(html, "recipients") == "3"  # not the pending, the far or the stopped one
    assert table(html, "by-language") == {"English": "2", "Spanish": "1"}
    assert table(html, "by-area") == {"60608": "1", "Pilsen": "1", "Chicago (Cook County)": "1"}
    assert "within 1,500 m of the incident" in html
    assert 'name="radius_m" type="number" min="100" max="100000" step="1" size="7" ' \
           'value="1500"' in html
    assert 'name="area" value="whole">' in html
    # the composed texts, one textarea each, and their preview
    en = re.search(r'<textarea id="text-en" name="text-en"[^>]*>([^<]*)</textarea>', html)
    es = re.search(r'<textarea id="text-es" name="text-es"[^>]*>([^<]*)</textarea>', html)
    assert en and en.group(1).startswith("HOTLINE ALERT, verified") and "raid" in en.group(1)
    assert es and es.group(1).startswith("ALERTA DE HOTLINE") and "redada" in es.group(1)
    assert '<label for="text-es">Spanish (Español)</label>' in html
    assert by_testid(html, "preview-es") == es.group(1)
    assert 'Approvals: <strong><span data-count="approvals">0</span> of 1</strong>' in html
    assert ">Approve and send</button>" in html
    assert "Sending takes about <strong>under a second</strong> at 200 messages a second" in html
    assert "Stop sending" not in html and ">All clear</button>" not in html
    no_numbers(html)
    rows = audit_rows(app)
    assert rows[0] == ("dashboard.broadcast.create", code,
                       {"broadcast": broadcast_id, "kind": "alert", "recipients": 3},
                       dispatcher)
    assert rows[1][:2] == ("dashboard.broadcast.view", str(broadcast_id))
    assert rows[1][2]["incident"] == code and rows[1][3] == dispatcher
    with app.app_context():
        assert db.session.get(Broadcast, broadcast_id).created_by == f"user:{dispatcher}"


def test_the_estimate_follows_the_configured_rate(app, logged_in, code):
    broadcast_id = draft_of(logged_in, code)
    app.config["SETTINGS"] = dataclasses.replace(app.config["SETTINGS"], broadcast_rate=0.5)
    html = logged_in.get(f"/broadcasts/{broadcast_id}").text
    assert "Sending takes about <strong>6 s</strong> at 0.5 messages a second" in html


def test_clicking_again_opens_the_waiting_draft(app, logged_in, code):
    first = draft_of(logged_in, code)
    assert draft_of(logged_in, code) == first
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Broadcast)) == 1
    html = logged_in.get(f"/incidents/{code}").text
    row = re.search(rf'<tr data-broadcast="{first}" data-status="draft">(.*?)</tr>', html, re.S)
    assert row and "Community alert" in row.group(1) and "<td>3</td>" in row.group(1)
    assert f'href="/broadcasts/{first}"' in row.group(1)


def test_texts_are_saved_and_always_escaped(app, logged_in, code):
    broadcast_id = draft_of(logged_in, code)
    assert len(SPANISH) == 1600
    response = act(logged_in, broadcast_id, "texts",
                   {"text-es": SPANISH.replace("juez y", "juez\r\ny", 1), "text-en": "x"})
    assert response.status_code == 302
    with app.app_context():
        texts = db.session.get(Broadcast, broadcast_id).texts
    assert texts["es"] == SPANISH.replace("juez y", "juez\ny", 1)  # a line break as SMS has it
    assert texts["en"] == "x"
    html = logged_in.get(f"/broadcasts/{broadcast_id}").text
    assert "The texts are saved." in html
    assert "<script>alert" not in html and "<b>¡Atención!</b>" not in html
    assert '&lt;script&gt;alert(&#34;es&#34;)&lt;/script&gt;&lt;b&gt;¡Atención!&lt;/b&gt; 🚨' \
        in by_testid(html, "preview-es")
    assert "Saved: 1600 characters, 24 SMS segments" in html  # UCS-2: 67 a segment
    rows = audit_rows(app)
    assert rows[-2][:3] == ("dashboard.broadcast.texts", str(broadcast_id),
                            {"languages": ["en", "es"]})
    assert "Atención" not in str(rows)  # never the text itself


def test_a_text_too_long_is_refused_and_kept_in_the_form(app, logged_in, code):
    broadcast_id = draft_of(logged_in, code)
    response = act(logged_in, broadcast_id, "texts", {"text-es": SPANISH + "!"})
    assert response.status_code == 400
    assert "Nothing was saved: text.es: at most 1600 characters." in response.text
    assert "&lt;script&gt;" in response.text and "<script>alert" not in response.text
    with app.app_context():
        assert db.session.get(Broadcast, broadcast_id).texts["es"].startswith("ALERTA DE")
    for bad, message in (({"text-xx": "hola"}, "&#39;xx&#39; is not a configured language"),
                         ({"text-es": "   "}, "text.es: must be a non-empty string")):
        response = act(logged_in, broadcast_id, "texts", bad)
        assert response.status_code == 400 and message in response.text
    assert not [r for r in audit_rows(app) if r[0] == "dashboard.broadcast.texts"]


def test_redrafting_for_the_whole_jurisdiction_keeps_the_edited_texts(app, logged_in, code):
    old = draft_of(logged_in, code)
    act(logged_in, old, "texts", {"text-es": "Texto propio"})
    response = act(logged_in, old, "redraft", {"area": "whole", "radius_m": "1500"})
    assert response.status_code == 302
    new = int(response.headers["Location"].rsplit("/", 1)[1])
    assert new != old
    html = logged_in.get(f"/broadcasts/{new}").text
    assert by_testid(html, "recipients") == "4"  # Edgewater too
    assert table(html, "by-language") == {"English": "3", "Spanish": "1"}
    assert "Every confirmed subscriber of Chicago (Cook County)" in html
    assert by_testid(html, "preview-es") == "Texto propio"
    with app.app_context():
        assert db.session.get(Broadcast, old).status == "cancelled"
        assert db.session.get(Broadcast, new).radius_m is None
    assert "discarded" in logged_in.get(f"/broadcasts/{old}").text
    rows = [r[:2] for r in audit_rows(app) if r[0] != "dashboard.broadcast.view"]
    assert rows[-2:] == [("dashboard.broadcast.create", code),
                         ("dashboard.broadcast.cancel", str(old))]
    # and back to a radius, then one that is not a number or out of range
    response = act(logged_in, new, "redraft", {"area": "radius", "radius_m": "20000"})
    newer = int(response.headers["Location"].rsplit("/", 1)[1])
    assert by_testid(logged_in.get(f"/broadcasts/{newer}").text, "recipients") == "4"
    for radius, message in (("far", "whole number of metres"), ("50", "between 100 and")):
        response = act(logged_in, newer, "redraft", {"area": "radius", "radius_m": radius})
        assert response.headers["Location"] == f"/broadcasts/{newer}"
        assert message in logged_in.get(f"/broadcasts/{newer}").text
    with app.app_context():
        assert db.session.get(Broadcast, newer).status == "draft"


# -- approving, progress, stopping --------------------------------------------------------

def test_approve_sends_and_the_progress_is_counted(app, logged_in, code, dispatcher):
    broadcast_id = draft_of(logged_in, code)
    act(logged_in, broadcast_id, "texts", {"text-es": "¡Redada en Pilsen! <quédense adentro>"})
    response = act(logged_in, broadcast_id, "approve")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/broadcasts/{broadcast_id}"
    html = logged_in.get(f"/broadcasts/{broadcast_id}").text
    assert "Approved: sending to 3 people." in html
    assert by_testid(html, "broadcast-status") == "sending"
    assert ">Stop sending</button>" in html and "Approve and send" not in html
    assert re.search(r'data-count="queued">3<', html) and re.search(r'data-count="total">3<',
                                                                     html)
    live = counts(logged_in, broadcast_id)
    assert live["status"] == "sending" and live["counts"]["queued"] == 3
    drain(app)
    live = logged_in.get(f"/broadcasts/{broadcast_id}/progress.json")
    assert live.json["status"] == "sent"
    assert live.json["counts"] == {"queued": 0, "sent": 3, "delivered": 0, "failed": 0,
                                   "skipped": 0, "cancelled": 0, "total": 3}
    again = logged_in.get(f"/broadcasts/{broadcast_id}/progress.json",
                          headers={"If-None-Match": live.headers["ETag"]})
    assert again.status_code == 304
    html = logged_in.get(f"/broadcasts/{broadcast_id}").text
    assert by_testid(html, "broadcast-status") == "sent"
    assert re.search(r'data-count="sent">3<', html) and "Stop sending" not in html
    assert ">All clear</button>" in html and ">Correction</button>" in html
    assert "&lt;quédense adentro&gt;" in by_testid(html, "preview-es")
    bodies = sent_bodies(app, broadcast_id)
    assert bodies["es"] == ["¡Redada en Pilsen! <quédense adentro>"]
    assert len(bodies["en"]) == 2 and bodies["en"][0].startswith("HOTLINE ALERT")
    approve = [r for r in audit_rows(app) if r[0] == "dashboard.broadcast.approve"]
    assert approve == [("dashboard.broadcast.approve", str(broadcast_id),
                        {"started": True, "approvals": 1}, dispatcher)]
    # a second approval of what is already sending: the reason, not a 500
    response = act(logged_in, broadcast_id, "approve")
    assert response.status_code == 302
    assert f"broadcast {broadcast_id} is sent" in logged_in.get(f"/broadcasts/{broadcast_id}").text
    no_numbers(html)


def test_a_second_dispatcher_must_approve_when_the_policy_says_so(app, logged_in, code):
    set_approvals(app, 2)
    broadcast_id = draft_of(logged_in, code)
    html = logged_in.get(f"/broadcasts/{broadcast_id}").text
    assert "of 2</strong>" in html and "asks for 2 approvals" in html
    act(logged_in, broadcast_id, "approve")
    html = logged_in.get(f"/broadcasts/{broadcast_id}").text
    assert "Approved (1 of 2). Waiting for a second dispatcher" in html
    assert by_testid(html, "broadcast-status") == "draft"
    assert "Waiting for a second dispatcher to approve" in html
    assert "You approved this alert" in html and "Approve and send" not in html
    assert "— dispatcher@example.org (" in html.split('data-testid="approvals"')[1] \
        .split("</p>")[0]
    act(logged_in, broadcast_id, "approve")  # the same person twice is one approval
    html = logged_in.get(f"/broadcasts/{broadcast_id}").text
    assert "you already approved this broadcast; another dispatcher must approve" in html
    drain(app)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BroadcastRecipient)) == 0

    second = app.test_client()
    second_id = make_user(app, "second@example.org", "dispatcher")
    login(second, "second@example.org")
    html = second.get(f"/broadcasts/{broadcast_id}").text
    assert "Waiting for a second dispatcher" in html and ">Approve and send</button>" in html
    assert 'data-count="approvals">1</span> of 2' in html
    response = act(second, broadcast_id, "approve")
    assert response.status_code == 302
    assert "Approved: sending to 3 people." in second.get(f"/broadcasts/{broadcast_id}").text
    drain(app)
    assert counts(second, broadcast_id)["counts"]["sent"] == 3
    approvals = [(r[2], r[3]) for r in audit_rows(app) if r[0] == "dashboard.broadcast.approve"]
    assert approvals[0][0] == {"started": False, "approvals": 1}
    assert approvals[-1] == ({"started": True, "approvals": 2}, second_id)
    html = second.get(f"/broadcasts/{broadcast_id}").text
    assert "Approved by dispatcher@example.org, second@example.org." in html


def test_stop_sending_sends_nothing_more(app, logged_in, code):
    broadcast_id = draft_of(logged_in, code)
    act(logged_in, broadcast_id, "approve")
    response = act(logged_in, broadcast_id, "cancel")
    assert response.status_code == 302
    html = logged_in.get(f"/broadcasts/{broadcast_id}").text
    assert "Stopped: 3 people will not get it." in html
    assert by_testid(html, "broadcast-status") == "stopped" and "Stop sending" not in html
    assert "Stopped by dispatcher@example.org" in html
    drain(app)
    assert counts(logged_in, broadcast_id)["counts"] == {
        "queued": 0, "sent": 0, "delivered": 0, "failed": 0, "skipped": 0, "cancelled": 3,
        "total": 3}
    assert sent_bodies(app, broadcast_id) == {}
    cancel = [r[2] for r in audit_rows(app) if r[0] == "dashboard.broadcast.cancel"]
    assert cancel == [{"not_sent": 3, "was": "sending"}]
    act(logged_in, broadcast_id, "cancel")  # stopped already: said so, nothing changes
    assert f"broadcast {broadcast_id} is cancelled" in logged_in.get(
        f"/broadcasts/{broadcast_id}").text


def test_a_draft_can_be_discarded(app, logged_in, code):
    broadcast_id = draft_of(logged_in, code)
    act(logged_in, broadcast_id, "cancel")
    html = logged_in.get(f"/broadcasts/{broadcast_id}").text
    assert "The draft is discarded; nothing was sent." in html
    assert by_testid(html, "broadcast-status") == "discarded"
    assert ">All clear</button>" not in html  # nothing was sent: nothing to follow up
    act(logged_in, broadcast_id, "approve")
    assert f"broadcast {broadcast_id} is cancelled" in logged_in.get(
        f"/broadcasts/{broadcast_id}").text


# -- follow-ups ---------------------------------------------------------------------------

def test_an_all_clear_goes_to_exactly_the_people_alerted(app, logged_in, code, client, twilio):
    alert = draft_of(logged_in, code)
    response = act(logged_in, alert, "follow-up", {"kind": "all_clear"})  # not sent yet
    assert "a follow-up needs an alert that was sent" in logged_in.get(
        f"/broadcasts/{alert}").text
    act(logged_in, alert, "approve")
    drain(app)
    subscribe(client, twilio, "+13125550177", "ALERTS 60608")  # joined after the alert
    response = act(logged_in, alert, "follow-up", {"kind": "all_clear"})
    assert response.status_code == 302
    follow = int(response.headers["Location"].rsplit("/", 1)[1])
    html = logged_in.get(f"/broadcasts/{follow}").text
    assert "<h1>All clear" in html and by_testid(html, "broadcast-status") == "draft"
    assert by_testid(html, "recipients") == "3"
    assert table(html, "by-language") == {"English": "2", "Spanish": "1"}
    assert f"Exactly the people community alert #{alert} was sent to" in html
    assert 'of 1</strong>' in html and "Re-draft with this area" not in html
    assert f'href="/broadcasts/{alert}">community alert #{alert}</a>' in html
    # a second click opens the same draft; a bad kind is refused
    again = act(logged_in, alert, "follow-up", {"kind": "all_clear"})
    assert again.headers["Location"] == f"/broadcasts/{follow}"
    act(logged_in, alert, "follow-up", {"kind": "alert"})
    assert "a follow-up is an all clear or a correction" in logged_in.get(
        f"/broadcasts/{alert}").text
    act(logged_in, follow, "follow-up", {"kind": "correction"})  # of a follow-up: no
    assert "a follow-up needs an alert that was sent" in logged_in.get(
        f"/broadcasts/{follow}").text
    act(logged_in, follow, "approve")
    drain(app)
    bodies = sent_bodies(app, follow)
    assert sorted(bodies) == ["en", "es"] and len(bodies["en"]) == 2
    with app.app_context():
        alerted = set(db.session.scalars(select(BroadcastRecipient.subscriber_id).where(
            BroadcastRecipient.broadcast_id == alert)))
        cleared = set(db.session.scalars(select(BroadcastRecipient.subscriber_id).where(
            BroadcastRecipient.broadcast_id == follow)))
    assert alerted == cleared and len(cleared) == 3
    creates = [r[2] for r in audit_rows(app) if r[0] == "dashboard.broadcast.create"]
    assert creates[-1] == {"broadcast": follow, "kind": "all_clear", "parent": alert,
                           "recipients": 3}
    incident_page = logged_in.get(f"/incidents/{code}").text
    assert re.search(rf'data-broadcast="{follow}" data-status="sent">.*?All clear.*?'
                     rf'\(of #{alert}\).*?<td>3</td>', incident_page, re.S)


# -- who may see and do it ----------------------------------------------------------------

@pytest.mark.parametrize("role", ["viewer", "lawyer"])
def test_viewers_and_lawyers_never_see_broadcasts(app, client, code, role):
    make_user(app, "boss@example.org", "admin")
    login(client, "boss@example.org")
    broadcast_id = draft_of(client, code)
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/").text)})
    kwargs = {"network_slug": "chicago-legal"} if role == "lawyer" else {}
    make_user(app, f"{role}@example.org", role, **kwargs)
    login(client, f"{role}@example.org")
    incident_page = client.get(f"/incidents/{code}")
    assert incident_page.status_code == 200  # the lawyer's network was paged about it
    assert "Alert the community" not in incident_page.text
    assert 'id="h-community"' not in incident_page.text
    assert f"/broadcasts/{broadcast_id}" not in incident_page.text
    board = client.get("/", follow_redirects=True).text
    assert "Community alert subscribers" not in board and 'href="/subscribers"' not in board
    for path in (f"/broadcasts/{broadcast_id}", f"/broadcasts/{broadcast_id}/progress.json",
                 "/subscribers"):
        assert client.get(path).status_code == 403, path
    for path in (f"/incidents/{code}/broadcasts", f"/broadcasts/{broadcast_id}/approve",
                 f"/broadcasts/{broadcast_id}/texts", f"/broadcasts/{broadcast_id}/cancel",
                 f"/broadcasts/{broadcast_id}/follow-up", f"/broadcasts/{broadcast_id}/redraft"):
        assert post_form(client, path, {"text-es": "x", "kind": "all_clear"},
                         page="/account/password").status_code == 403, path
    with app.app_context():
        assert db.session.get(Broadcast, broadcast_id).status == "draft"
        assert db.session.scalar(select(func.count()).select_from(Broadcast)) == 1


def test_a_broadcast_outside_the_scope_is_not_found(app, client, code):
    make_user(app, "boss@example.org", "admin")
    login(client, "boss@example.org")
    broadcast_id = draft_of(client, code)
    assert client.get(f"/broadcasts/{broadcast_id}").status_code == 200  # admins see all
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/").text)})
    make_user(app, "sf@example.org", "dispatcher", jurisdictions=["san-francisco"])
    login(client, "sf@example.org")
    for path in (f"/broadcasts/{broadcast_id}", f"/broadcasts/{broadcast_id}/progress.json",
                 "/broadcasts/999"):
        assert client.get(path).status_code == 404, path
    for path in (f"/incidents/{code}/broadcasts", f"/broadcasts/{broadcast_id}/approve",
                 f"/broadcasts/{broadcast_id}/texts", f"/broadcasts/{broadcast_id}/cancel",
                 f"/broadcasts/{broadcast_id}/follow-up", f"/broadcasts/{broadcast_id}/redraft"):
        assert post_form(client, path, {"text-es": "x", "kind": "all_clear"},
                         page="/subscribers").status_code == 404, path
    html = client.get("/subscribers").text
    assert 'data-jurisdiction="san-francisco"' in html and "chicago" not in html.lower()
    with app.app_context():
        assert db.session.get(Broadcast, broadcast_id).status == "draft"
        assert db.session.get(Broadcast, broadcast_id).texts["es"].startswith("ALERTA")


def test_every_action_needs_the_csrf_token(app, logged_in, code):
    broadcast_id = draft_of(logged_in, code)
    for path in (f"/incidents/{code}/broadcasts", f"/broadcasts/{broadcast_id}/approve",
                 f"/broadcasts/{broadcast_id}/texts", f"/broadcasts/{broadcast_id}/cancel",
                 f"/broadcasts/{broadcast_id}/redraft"):
        for token in ({}, {"csrf_token": "not-the-token"}):
            response = logged_in.post(path, data={**token, "text-es": "x", "area": "whole"})
            assert response.status_code == 400, path
    with app.app_context():
        broadcast = db.session.get(Broadcast, broadcast_id)
        assert broadcast.status == "draft" and broadcast.texts["es"].startswith("ALERTA")
        assert db.session.scalar(select(func.count()).select_from(Broadcast)) == 1


def test_an_alert_nobody_would_get_cannot_be_approved(app, client, twilio):
    code = verified_incident(app, client, twilio, token_for(app))  # no subscriber at all
    make_user(app, "dispatcher@example.org", "dispatcher")
    login(client, "dispatcher@example.org")
    broadcast_id = draft_of(client, code)
    html = client.get(f"/broadcasts/{broadcast_id}").text
    assert by_testid(html, "recipients") == "0" and "Nobody to alert" in html
    assert "Approve and send" not in html
    act(client, broadcast_id, "approve")
    assert "the broadcast has no recipients" in client.get(f"/broadcasts/{broadcast_id}").text


# -- subscriber counts --------------------------------------------------------------------

def test_the_board_counts_subscribers_in_scope(app, client, people):
    make_user(app, "chicago@example.org", "dispatcher", jurisdictions=["chicago"])
    login(client, "chicago@example.org")
    html = client.get("/").text
    item = re.search(r'<li data-jurisdiction="chicago">(.*?)</li>', html).group(1)
    assert re.search(r'data-testid="confirmed">4</span> confirmed', item)  # FAR and WHOLE too
    assert re.search(r'data-testid="pending">1</span> waiting to confirm', item)
    assert html.count("<li data-jurisdiction=") == 1  # only Chicago is in scope
    assert 'href="/subscribers"' in html
    fragment = client.get("/live/board").text
    assert 'data-testid="confirmed">4</span>' in fragment
    no_numbers(html)

    page = client.get("/subscribers")
    assert page.status_code == 200
    section = page.text.split('id="s-chicago"', 1)[1]
    assert by_testid(section, "confirmed") == "4" and by_testid(section, "pending") == "1"
    assert table(section, "areas") == {"60608": "1", "Pilsen": "1", "60660": "1",
                                       "Chicago (Cook County)": "1"}
    assert table(section, "languages") == {"English": "3", "Spanish": "1"}
    assert page.text.count('<section class="roster"') == 1
    no_numbers(page.text)


def test_an_admin_sees_every_jurisdiction_and_who_has_none(app, as_admin, people):
    html = as_admin.get("/").text
    assert re.search(r'<li data-jurisdiction="chicago">.*?confirmed">4<', html)
    assert "No subscriber yet in" in html and "San Francisco" in by_testid(html, "no-subscribers")
    assert 'id="s-san-francisco"' in as_admin.get("/subscribers").text


def test_no_page_shows_a_subscriber_number(app, logged_in, code):
    alert = draft_of(logged_in, code)
    act(logged_in, alert, "approve")
    drain(app)
    follow = int(act(logged_in, alert, "follow-up", {"kind": "correction"})
                 .headers["Location"].rsplit("/", 1)[1])
    for path in ("/", "/live/board", "/subscribers", f"/incidents/{code}",
                 f"/broadcasts/{alert}", f"/broadcasts/{alert}/progress.json",
                 f"/broadcasts/{follow}", "/incidents", "/calls"):
        response = logged_in.get(path)
        assert response.status_code == 200, path
        no_numbers(response.text)
