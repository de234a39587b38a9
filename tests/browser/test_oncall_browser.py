"""Dispatch operations in a real browser: the on-call page and its overrides (made, changed and
removed in the network's local time), and an incident's conversation, updated live, with a
dispatcher's reply to a reporter."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from hotline.core.extensions import db
from hotline.models import LegalNetwork, ScheduleOverride, utcnow
from hotline.routing import schedules
from tests.browser.conftest import log_in, screenshot
from tests.browser.test_dashboard_browser import CHICAGO, wait_for_incident

pytestmark = pytest.mark.browser
ZONE = ZoneInfo("America/Chicago")


def _not_first(app) -> tuple[str, str]:
    with app.app_context():
        network = db.session.scalar(select(LegalNetwork).where(
            LegalNetwork.slug == "chicago-legal"))
        first = schedules.on_call_now(db.session, network)[0].key
        other = next(r for r in network.responders if r.role == "lawyer" and r.key != first)
        return other.key, other.name


def test_on_call_page_and_overrides_in_local_time(live_server, page):
    key, name = _not_first(live_server.app)
    log_in(page, live_server.url)
    page.get_by_role("link", name="On call").click()
    page.get_by_role("link", name="Chicago Family Support Legal Network").click()
    assert page.get_by_role("heading", name="Rotations").is_visible()
    handoff = page.locator("table.rotation time[title]").first
    assert handoff.inner_text().endswith((" CST", " CDT"))
    assert handoff.get_attribute("title").endswith(" UTC")

    now = utcnow().astimezone(ZONE)
    form = page.locator("#new-override")
    form.get_by_label("Takes").select_option("rotation:primary")
    form.get_by_label("Who").select_option(key)
    form.get_by_label("From").fill((now - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("Until").fill((now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    form.get_by_role("button", name="Add override").click()
    page.wait_for_selector("text=The override is saved")
    assert page.get_by_test_id("paged-first").inner_text().startswith(f"A page goes to {name} (")
    row = page.locator("tr[data-override]")
    assert row.count() == 1 and name in row.inner_text()
    screenshot(page, "oncall-override")

    row.locator("summary").click()
    later = (now + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M")
    row.get_by_label("Until").fill(later)
    row.get_by_role("button", name="Save").click()
    page.wait_for_selector("text=The override is saved")
    with live_server.app.app_context():
        saved = db.session.scalar(select(ScheduleOverride))
        assert saved.end_at.astimezone(ZONE).strftime("%Y-%m-%dT%H:%M") == later
    page.locator("tr[data-override] summary").click()
    page.locator("tr[data-override]").get_by_role("button", name="Remove").click()
    page.wait_for_selector("text=The override is removed")
    assert page.locator("tr[data-override]").count() == 0

    page.goto(live_server.url + "/")
    assert page.locator("#on-call [data-on-call=chicago]").is_visible()
    assert page.errors == []


def test_a_bad_override_says_what_is_wrong(live_server, page):
    key, _ = _not_first(live_server.app)
    log_in(page, live_server.url)
    page.goto(live_server.url + "/oncall/chicago-legal")
    form = page.locator("#new-override")
    form.get_by_label("Who").select_option(key)
    form.get_by_label("From").fill("2027-03-14T02:30")
    form.get_by_label("Until").fill("2027-03-14T06:00")
    form.get_by_role("button", name="Add override").click()
    page.wait_for_selector("text=does not exist in America/Chicago")
    assert page.locator("tr[data-override]").count() == 0


def test_the_conversation_updates_live_and_a_dispatcher_replies(live_server, page):
    assert live_server.sms(*CHICAGO).status_code == 200
    code = wait_for_incident(live_server)
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/incidents/{code}")
    conversation = page.locator("#conversation-live")
    assert CHICAGO[0] in conversation.inner_text()
    stamp = conversation.locator("time[title]").first
    assert stamp.inner_text().endswith((" CST", " CDT"))

    # a colleague verifies it through the API: the page and verifier lines arrive live
    assert live_server.api("POST", f"/incidents/{code}/actions",
                           json={"action": "verify"}).status_code == 200
    page.wait_for_selector("#conversation-live >> text=paged", timeout=15000)

    page.get_by_label("To", exact=True).select_option("1")
    page.locator("#reply-text").fill("¿Siguen ahí? <b>gracias</b>")
    page.get_by_role("button", name="Send to the reporter").click()
    page.wait_for_selector("text=Sent to Reporter 1")
    page.wait_for_selector("#conversation-live >> text=a dispatcher's message", timeout=15000)
    assert "¿Siguen ahí? <b>gracias</b>" in conversation.inner_text()  # shown as text
    assert conversation.locator("b").count() == 0
    screenshot(page, "incident-conversation")
    assert page.errors == []
