"""A community alert in real Chromium: a dispatcher drafts one from a verified incident, sees
who gets it in which language, rewrites the Spanish text and approves; a second dispatcher
(the jurisdiction asks for two) approves and sending starts; the page's own polling shows the
counts move to sent, with Stop sending while it lasts; an all clear goes to the same people."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

from hotline.core.extensions import db
from hotline.incidents.geography import current_gazetteer
from hotline.models import BroadcastRecipient, Incident, Jurisdiction, Message
from tests.browser.conftest import log_in, screenshot
from tests.browser.test_dashboard_browser import wait_for_incident
from tests.dashboard.conftest import make_user

pytestmark = pytest.mark.browser

REPORT = ("ICE raid at the Home Depot on Western and 47th, 5 agents", "+17735550100")
SUBSCRIBERS = (("+13125550171", "ALERTS 60608", "YES"),  # English, Pilsen's ZIP
               ("+13125550172", "ALERTAS Pilsen", "SI"),  # Spanish, the neighbourhood
               ("+13125550175", "ALERTS", "YES"))  # English, all of Chicago (area code 312)
SPANISH = '¡Redada en Pilsen! <b>Quédense adentro</b> 🚨 <img src=x onerror="alert(1)">'


def _verified_incident(server) -> str:
    """A Chicago incident from a real SMS, placed at the centre of Pilsen's ZIP, verified."""
    assert server.sms(*REPORT).status_code == 200
    code = wait_for_incident(server)
    with server.app.app_context():
        incident = db.session.scalar(select(Incident).where(Incident.code == code))
        place = current_gazetteer(db.session).places.zip("60608")
        incident.lat, incident.lon = place.lat, place.lon
        db.session.commit()
    assert server.api("POST", f"/incidents/{code}/actions",
                      json={"action": "verify"}).status_code == 200
    return code


def _language_rows(page) -> dict[str, tuple[str, str]]:
    rows = page.get_by_test_id("by-language").locator("tbody tr")
    return {rows.nth(i).get_attribute("data-language"): tuple(
        rows.nth(i).locator("td").all_inner_texts()) for i in range(rows.count())}


def test_two_dispatchers_alert_the_community_and_watch_it_go_out(serve, page, chromium):
    server = serve(HOTLINE_BROADCAST_RATE="0.5")  # 2 s a message: sending can be watched
    app = server.app
    make_user(app, "second@example.org", "dispatcher")
    with app.app_context():
        chicago = db.session.scalar(select(Jurisdiction).where(Jurisdiction.slug == "chicago"))
        chicago.policy = {**(chicago.policy or {}), "broadcast_approvals": 2}
        db.session.commit()
    for number, body, confirm in SUBSCRIBERS:
        assert server.sms(body, number).status_code == 200
        assert server.sms(confirm, number).status_code == 200
    code = _verified_incident(server)

    # the first dispatcher drafts the alert from the incident page
    log_in(page, server.url)
    page.goto(f"{server.url}/incidents/{code}")
    page.get_by_role("button", name="Alert the community").click()
    page.wait_for_url(re.compile(re.escape(server.url) + r"/broadcasts/\d+$"))
    broadcast_id = int(page.url.rsplit("/", 1)[1])
    assert page.get_by_test_id("broadcast-status").inner_text() == "draft"
    assert page.get_by_test_id("recipients").inner_text() == "3"
    assert _language_rows(page) == {"en": ("English", "2"), "es": ("Spanish", "1")}
    areas = page.get_by_test_id("by-area").locator("tbody tr")
    assert sorted(areas.all_inner_texts()) == sorted(
        ["60608\t1", "Pilsen\t1", "Chicago (Cook County)\t1"])
    screenshot(page, "30-broadcast-draft")

    spanish = page.get_by_role("textbox", name="Spanish (Español)")
    assert spanish.input_value().startswith("ALERTA DE HOTLINE")
    spanish.fill(SPANISH)
    page.get_by_role("button", name="Save the texts").click()
    assert page.get_by_role("status").filter(has_text="The texts are saved.").is_visible()
    preview = page.get_by_test_id("preview-es")
    assert preview.inner_text() == SPANISH
    assert preview.locator("b, img, script").count() == 0
    assert page.get_by_role("textbox", name="Spanish (Español)").input_value() == SPANISH

    page.get_by_role("button", name="Approve and send").click()
    page.wait_for_url(f"{server.url}/broadcasts/{broadcast_id}")
    assert page.get_by_test_id("waiting").inner_text() == \
        "Waiting for a second dispatcher to approve: nothing is sent before."
    assert page.get_by_role("button", name="Approve and send").count() == 0
    assert page.get_by_test_id("broadcast-status").inner_text() == "draft"
    page.evaluate("window.__sameDocument = true")  # the draft page reloads once it is sent
    screenshot(page, "31-broadcast-waiting-for-a-second")

    # the second dispatcher approves: sending starts
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    other = context.new_page()
    other.errors = []
    other.on("pageerror", lambda error: other.errors.append(str(error)))
    other.on("dialog", lambda dialog: (other.errors.append(f"dialog: {dialog.message}"),
                                       dialog.dismiss()))
    other.set_default_timeout(10_000)
    try:
        log_in(other, server.url, email="second@example.org")
        other.goto(f"{server.url}/broadcasts/{broadcast_id}")
        assert "Waiting for a second dispatcher" in other.get_by_test_id("waiting").inner_text()
        assert "dispatcher@example.org" in other.get_by_test_id("approvals").inner_text()
        assert other.get_by_test_id("preview-es").inner_text() == SPANISH
        other.get_by_role("button", name="Approve and send").click()
        other.wait_for_url(f"{server.url}/broadcasts/{broadcast_id}")
        assert other.get_by_role("status").filter(has_text="Approved: sending to 3 people.") \
            .is_visible()
        assert other.get_by_test_id("broadcast-status").inner_text() == "sending"
        stop = other.get_by_role("button", name="Stop sending")
        assert stop.is_visible()
        other.evaluate("window.__sameDocument = true")
        screenshot(other, "32-broadcast-sending")

        seen = []  # (sent, queued) as the page shows them, by its own polling
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            sent = int(other.locator("[data-count=sent]").inner_text())
            queued = int(other.locator("[data-count=queued]").inner_text())
            if not seen or seen[-1] != (sent, queued):
                seen.append((sent, queued))
            if sent == 3:
                break
            other.wait_for_timeout(100)
        assert seen[-1] == (3, 0), seen
        assert any(0 < sent < 3 for sent, _ in seen), seen  # seen on its way, not only done
        assert [s for s, _ in seen] == sorted(s for s, _ in seen), seen  # only ever more
        other.locator("[data-testid=broadcast-status][data-status=sent]").wait_for(timeout=5000)
        assert other.get_by_test_id("broadcast-status").inner_text() == "sent"
        assert not stop.is_visible()
        assert other.locator("[data-count=total]").inner_text() == "3"
        assert other.locator("progress[data-progress]").evaluate("p => [p.value, p.max]") == \
            [3, 3]
        assert other.evaluate("window.__sameDocument") is True  # updated in place, no reload
        screenshot(other, "33-broadcast-sent")

        # the first dispatcher's draft page went on to the progress by itself
        page.locator("[data-testid=broadcast-status][data-status=sent]").wait_for(timeout=6000)
        assert page.locator("[data-count=sent]").inner_text() == "3"
        assert page.evaluate("window.__sameDocument") is None  # it loaded the page again

        with app.app_context():
            vault = app.extensions["hotline_vault"]
            bodies = {language: vault.decrypt(body, "message.body") for language, body in
                      db.session.execute(select(BroadcastRecipient.language, Message.body_enc)
                                         .join(Message, Message.id ==
                                               BroadcastRecipient.message_id)
                                         .where(BroadcastRecipient.broadcast_id ==
                                                broadcast_id))}
        assert bodies["es"] == SPANISH and bodies["en"].startswith("HOTLINE ALERT")

        # an all clear: a draft to the same three people, in the same languages
        other.get_by_role("button", name="All clear").click()
        other.wait_for_url(re.compile(re.escape(server.url) + r"/broadcasts/\d+$"))
        assert int(other.url.rsplit("/", 1)[1]) != broadcast_id
        assert other.get_by_role("heading", level=1).inner_text().startswith("All clear")
        assert other.get_by_test_id("broadcast-status").inner_text() == "draft"
        assert other.get_by_test_id("recipients").inner_text() == "3"
        assert _language_rows(other) == {"en": ("English", "2"), "es": ("Spanish", "1")}
        assert f"community alert #{broadcast_id} was sent to" in \
            other.get_by_test_id("audience").inner_text()
        assert other.get_by_role("textbox", name="Spanish (Español)").input_value().startswith(
            "HOTLINE, ACTUALIZACIÓN")
        screenshot(other, "34-broadcast-all-clear-draft")
        for shown in (page.content(), other.content()):
            assert not any(n[2:] in shown or n[-7:] in shown for n, _, _ in SUBSCRIBERS)
        assert other.errors == []
    finally:
        context.close()
    assert page.errors == []
