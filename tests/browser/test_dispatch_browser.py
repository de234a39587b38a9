"""Dispatch in a real browser: the incident's times in Chicago time (UTC on hover), the
timeline naming who acted, and the actions following the incident's state."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in, screenshot
from tests.browser.test_dashboard_browser import CHICAGO, wait_for_incident

pytestmark = pytest.mark.browser


def test_local_times_names_and_the_actions_of_a_routed_incident(live_server, page):
    assert live_server.sms(*CHICAGO).status_code == 200
    code = wait_for_incident(live_server)
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/incidents/{code}")
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
    page.wait_for_selector("text=recheck asked")
    assert "stays with its lawyer" in page.evaluate("sessionStorage.getItem('asked')")
    assert page.get_by_test_id("status").get_attribute("data-status") == "routed"
    assert page.errors == []
