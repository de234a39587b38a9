"""Dispatch in a real browser: the incident's times in Chicago time (UTC on hover), the
timeline naming who acted, and the actions following the incident's state."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in, screenshot
from tests.browser.test_dashboard_browser import CHICAGO, wait_for_incident

pytestmark = pytest.mark.browser


def _open_a_new_incident(live_server, page) -> str:
    """A Chicago SMS, then its incident's page, logged in as the dispatcher; returns its code."""
    assert live_server.sms(*CHICAGO).status_code == 200
    code = wait_for_incident(live_server)
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/incidents/{code}")
    return code


def test_local_times_names_and_the_actions_of_a_routed_incident(live_server, page):
    _open_a_new_incident(live_server, page)
    first_seen = page.locator("#incident-live time[title]").first
    assert first_seen.inner_text().endswith((" CST", " CDT"))
    assert first_seen.get_attribute("title").endswith(" UTC")
    actions = page.locator("section.actions form.decide")
    assert actions.get_by_role("button", name="Verify", exact=True).is_visible()

    actions.get_by_role("button", name="Verify", exact=True).click()
    page.wait_for_selector("[data-testid=status][data-status=routed]")
    actions = page.locator("section.actions form.decide")
    assert actions.get_by_role("button", name="Verify", exact=True).count() == 0
    assert actions.get_by_role("button", name="Dismiss as false alarm").count() == 0
    assert actions.get_by_role("button", name="Re-verify").is_visible()
    assert actions.get_by_role("button", name="Resolve").is_visible()
    timeline = page.locator("#incident-live").inner_text()
    assert "by dispatcher@example.org (dispatcher)" in timeline
    assert "by user:" not in timeline
    screenshot(page, "dispatch-routed-local-times")

    # the page fixture fails on native dialogs: answer this one's confirm, and keep its words
    page.evaluate("window.confirm = (text) => "
                  "{ sessionStorage.setItem('asked', text); return true; }")
    actions.get_by_role("button", name="Re-verify").click()
    page.wait_for_selector("text=re-verify asked")
    assert "stays with its lawyer" in page.evaluate("sessionStorage.getItem('asked')")
    assert page.get_by_test_id("status").get_attribute("data-status") == "routed"
    assert page.errors == []


def test_the_actions_follow_when_someone_else_decides(live_server, page):
    """Before, Verify and Dismiss stayed on the page after a colleague's verify routed it."""
    code = _open_a_new_incident(live_server, page)
    actions = page.locator("section.actions form.decide")
    assert actions.get_by_role("button", name="Verify", exact=True).is_visible()
    page.get_by_label("Note (optional").fill("half typed")
    # a colleague verifies it through the API: the page follows without a reload
    assert live_server.api("POST", f"/incidents/{code}/actions",
                           json={"action": "verify"}).status_code == 200
    page.wait_for_selector("[data-testid=status][data-status=routed]")
    page.wait_for_function("() => document.querySelector("
                           "'form.decide button[value=verify]').hidden")
    assert not actions.get_by_role("button", name="Dismiss as false alarm").is_visible()
    assert actions.get_by_role("button", name="Re-verify").is_visible()
    assert page.get_by_label("Note (optional").input_value() == "half typed"
    assert page.errors == []


def _routed_and_a_lawyer_logged_in(live_server, chromium):
    """A Chicago incident verified (so routed), and a browser context of the lawyer paged
    about it; returns (code, the lawyer's key and name, context, page, page errors)."""
    from sqlalchemy import select

    from hotline.core.extensions import db
    from hotline.models import Alert, Incident, Responder
    from tests.dashboard.conftest import PASSWORD, make_user

    assert live_server.sms(*CHICAGO).status_code == 200
    code = wait_for_incident(live_server)
    assert live_server.api("POST", f"/incidents/{code}/actions",
                           json={"action": "verify"}).status_code == 200
    with live_server.app.app_context():
        paged = db.session.scalar(
            select(Responder).join(Alert, Alert.responder_id == Responder.id)
            .join(Incident, Incident.id == Alert.incident_id)
            .where(Incident.code == code, Alert.kind == "page"))
        key, name = paged.key, paged.name
    make_user(live_server.app, "lawyer@example.org", "lawyer", responder_key=key)
    context = chromium.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill("lawyer@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server.url + "/lawyer")
    return code, (key, name), context, page, errors


def test_the_lawyer_list_follows_a_colleague_s_accept(live_server, chromium):
    """Before, /lawyer was not live: the incident stayed under "Waiting for a lawyer", with
    Accept, after it was taken, until the lawyer reloaded."""
    from tests.routing.helpers import phone

    code, (key, _name), context, page, errors = _routed_and_a_lawyer_logged_in(
        live_server, chromium)
    try:
        waiting = page.get_by_role("table", name="Waiting for a lawyer")
        assert waiting.get_by_role("link", name=code).is_visible()
        assert page.get_by_role("button", name=f"Accept {code}").is_visible()
        page.evaluate("window.notReloaded = true")
        assert live_server.sms(f"ACCEPT {code}", phone(key)).status_code == 200
        page.get_by_role("button", name=f"Accept {code}").wait_for(state="detached",
                                                                   timeout=15000)
        others = page.get_by_role("table", name="Other incidents of your network")
        assert others.locator(f"tr[data-code='{code}'][data-status=acknowledged]").is_visible()
        assert page.get_by_text("Nothing is waiting for a lawyer.").is_visible()
        assert page.evaluate("window.notReloaded") is True
        screenshot(page, "lawyer-list-live")
        assert errors == []
    finally:
        context.close()


def test_a_lawyer_s_accept_goes_when_a_colleague_takes_it(live_server, chromium):
    from tests.routing.helpers import phone

    code, (key, name), context, page, errors = _routed_and_a_lawyer_logged_in(
        live_server, chromium)
    try:
        page.goto(f"{live_server.url}/incidents/{code}")
        assert page.get_by_role("button", name="Accept — I'll take it").is_visible()
        # the same lawyer accepts by SMS from their phone (as a colleague could): the page
        # drops its buttons and says who has it
        assert live_server.sms(f"ACCEPT {code}", phone(key)).status_code == 200
        page.wait_for_selector("[data-testid=status][data-status=acknowledged]", timeout=15000)
        page.wait_for_selector("[data-testid=answer-gone]:not([hidden])")
        assert not page.get_by_role("button", name="Accept — I'll take it").is_visible()
        assert page.get_by_test_id("answer-gone").inner_text() == \
            f"Accepted by {name}: nothing to answer."
        assert errors == []
    finally:
        context.close()
