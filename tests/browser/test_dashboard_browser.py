"""The dashboard in real Chromium: log in, the board, an incident, verify, live updates, escaping,
the map offline (more in test_map_browser.py), keyboard use and a phone-sized screen.
Screenshots go to test-artifacts/."""

from __future__ import annotations

import time

import pytest

from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.browser

CHICAGO = ("ICE at the Home Depot on Western and 47th, 3 unmarked vans", "+13125550123")
SF = ("la migra en la 24 y mission sf, se llevaron a 2", "+14155550123")
XSS = ('<script>alert("xss")</script><img src=x onerror="alert(1)"> ICE agents at '
       "Fruitvale BART, Oakland", "+15105550123")


def wait_for_incident(server, timeout: float = 10) -> str:
    """The code of the newest incident, once the worker thread has made it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        incidents = server.api("GET", "/incidents").json()["incidents"]
        if incidents:
            return incidents[0]["code"]
        time.sleep(0.1)
    raise AssertionError("no incident was made")


def test_dispatcher_logs_in_opens_verifies_and_sees_it_routed(live_server, page):
    assert live_server.sms(*CHICAGO).status_code == 200
    code = wait_for_incident(live_server)

    log_in(page, live_server.url)
    assert page.get_by_role("heading", name="Open incidents").is_visible()
    row = page.locator(f"#j-chicago tr[data-code='{code}']")
    assert row.is_visible()
    screenshot(page, "01-board")

    row.get_by_role("link", name=code).click()
    page.wait_for_url(f"{live_server.url}/incidents/{code}")
    status = page.get_by_test_id("status")
    assert status.get_attribute("data-status") in ("new", "verifying")
    assert "Home Depot on Western and 47th" in page.get_by_test_id("report-text").inner_text()
    screenshot(page, "02-incident")

    page.get_by_role("button", name="Verify", exact=True).click()
    page.wait_for_selector("[data-testid=status][data-status=routed]")
    assert page.get_by_role("status").filter(has_text="is now routed").is_visible()
    assert page.locator("#h-alerts ~ div table").get_by_text("page").first.is_visible()
    screenshot(page, "03-verified-routed")

    page.get_by_role("link", name="Board").click()
    assert page.locator(f"tr[data-code='{code}']").get_attribute("data-status") == "routed"
    assert page.errors == []


def test_live_update_shows_a_new_incident_and_a_verification_without_reload(live_server, page):
    log_in(page, live_server.url)
    page.evaluate("window.__sameDocument = true")

    posted = time.monotonic()
    assert live_server.sms(*SF).status_code == 200
    row = page.locator("#j-san-francisco tr[data-code]")
    row.wait_for(timeout=6000)
    appeared = time.monotonic() - posted
    assert appeared < 3.0, f"the new incident took {appeared:.1f} s to show"
    code = row.get_attribute("data-code")
    assert "is-new" in row.get_attribute("class")
    screenshot(page, "04-live-new-incident")

    assert live_server.api("POST", f"/incidents/{code}/actions",
                           json={"action": "verify"}).status_code == 200
    cue = page.locator(f"tr.just-verified[data-code='{code}']")
    cue.wait_for(timeout=3000)
    assert "verified just now" in cue.inner_text()
    assert page.locator("#announcer").inner_text() != ""
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    screenshot(page, "05-live-verified-cue")
    assert page.errors == []


def test_html_and_script_in_an_sms_are_shown_as_text(live_server, page):
    assert live_server.sms(*XSS).status_code == 200
    code = wait_for_incident(live_server)
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/incidents/{code}")
    text = page.get_by_test_id("report-text")
    assert '<script>alert("xss")</script>' in text.inner_text()
    assert '<img src=x onerror="alert(1)">' in text.inner_text()
    assert text.locator("script, img").count() == 0
    page.wait_for_timeout(500)  # would give an injected handler time to run
    screenshot(page, "06-escaped-payload")
    assert page.errors == []  # no alert() dialog, no script error


def test_keyboard_only_login_and_phone_sized_board(live_server, chromium):
    assert live_server.sms(*CHICAGO).status_code == 200
    wait_for_incident(live_server)
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                   has_touch=True)
    page = context.new_page()
    try:
        page.goto(live_server.url + "/login")
        assert page.evaluate("document.activeElement.id") == "email"  # autofocus
        page.keyboard.type("dispatcher@example.org")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "password"
        page.keyboard.type("correct horse battery staple")
        page.keyboard.press("Enter")
        page.wait_for_url(live_server.url + "/")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "content"
        page.keyboard.press("Tab")  # the first thing in the page: an incident link
        assert page.evaluate("document.activeElement.closest('tr').dataset.code")
        assert page.evaluate(
            "document.documentElement.scrollWidth <= window.innerWidth + 1"), \
            "the board overflows a phone-sized screen"
        assert page.locator("#j-chicago tr[data-code]").first.is_visible()
        screenshot(page, "07-phone-board")
    finally:
        context.close()


def test_map_with_unreachable_tiles_still_lists_incidents(serve, page):
    server = serve(HOTLINE_TILE_URL="http://127.0.0.1:9/tiles/{z}/{x}/{y}.png",
                   HOTLINE_TILE_ATTRIBUTION="test tiles")
    assert server.sms(*CHICAGO).status_code == 200
    code = wait_for_incident(server)
    log_in(page, server.url)
    page.goto(server.url + "/map")
    page.locator(".leaflet-container").wait_for()
    # without a street import the incident is placed to the area code only: a circle
    page.locator(f".leaflet-overlay-pane path.approx[data-ids~='{code}']").wait_for()
    page.wait_for_selector("#map[data-outlines=drawn]")
    assert page.get_by_role("link", name=code).is_visible()
    screenshot(page, "08-map-offline-tiles")
    assert page.errors == []


def test_map_without_tiles_draws_outlines_and_lists(live_server, page):
    assert live_server.sms(*CHICAGO).status_code == 200
    code = wait_for_incident(live_server)
    log_in(page, live_server.url)
    page.goto(live_server.url + "/map")
    assert page.get_by_test_id("no-tiles").is_visible()
    assert page.get_by_role("link", name=code).is_visible()
    page.wait_for_selector("#map[data-outlines=drawn]")
    assert page.locator(".leaflet-overlay-pane path.outline-county").count() == 1
    assert page.locator(".leaflet-tile-pane img").count() == 0
    assert page.errors == []


def test_raid_mode_on_the_board_and_the_incident_page(live_server, page):
    """Reports with no place are one "awaiting location" count; a dispatcher holds an
    incident and releases it in one click each."""
    for number in ("+17735550401", "+13125550402"):
        assert live_server.sms("ICE is here", number).status_code == 200
    assert live_server.sms(*CHICAGO).status_code == 200
    code = wait_for_incident(live_server)
    log_in(page, live_server.url)
    page.wait_for_selector("#j-chicago [data-awaiting='2']")
    assert "2 awaiting location" in page.locator("#j-chicago .awaiting").inner_text()
    screenshot(page, "07-awaiting-location")

    page.locator(f"#j-chicago tr[data-code='{code}']").get_by_role("link", name=code).click()
    page.get_by_role("button", name="Hold (no automatic step)").click()
    page.wait_for_selector("[data-marker=hold]")
    assert "held: nothing automatic" in page.locator("[data-marker=hold]").inner_text()
    screenshot(page, "08-held")
    page.get_by_role("button", name="Release").click()
    page.wait_for_selector("[data-marker=hold]", state="detached")
    page.get_by_role("link", name="Board").click()
    assert page.locator(f"tr[data-code='{code}'] .marker-hold").count() == 0
    assert page.errors == []


def test_a_report_in_another_script_is_shown_with_its_language_by_name(live_server, page):
    """A Chinese report (Traditional script) placed at Flushing from its own script's names:
    shown as written, its language named for the dispatcher, the text marked with its lang."""
    body = "法拉盛 Main St 和 Roosevelt Ave 路口有移民局的人在抓人，兩輛車"
    assert live_server.sms(body, "+17185550123").status_code == 200
    code = wait_for_incident(live_server)
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/incidents/{code}")
    assert page.get_by_test_id("report-text").inner_text() == body
    assert page.get_by_test_id("report-text").get_attribute("lang") == "zh"
    assert page.get_by_test_id("report-language").inner_text() == "Chinese (中文)"
    assert "Flushing" in page.content() or "flushing" in page.content()
    screenshot(page, "10-report-in-chinese")
    assert page.errors == []
