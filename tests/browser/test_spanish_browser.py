"""The dashboard in Spanish in a real browser: the header's switch, the board and an incident
page (its stored values in words), the live part staying Spanish, and a refusal from the domain
flashed in Spanish."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in, screenshot
from tests.browser.test_dashboard_browser import CHICAGO, wait_for_incident

pytestmark = pytest.mark.browser


def test_a_dispatcher_switches_to_spanish_and_works_in_it(live_server, page):
    assert live_server.sms(*CHICAGO).status_code == 200
    code = wait_for_incident(live_server)
    log_in(page, live_server.url)
    assert page.get_by_role("heading", name="Open incidents").is_visible()
    page.get_by_role("button", name="Español").click()
    page.wait_for_selector("html[lang=es]")
    assert page.get_by_role("link", name="Tablero").is_visible()
    assert page.get_by_role("button", name="Español").is_disabled()
    page.goto(f"{live_server.url}/incidents/{code}")
    timeline = page.locator("ol.timeline")
    assert "creado por Hotline (automático)" in timeline.inner_text()
    assert "verificadores consultados" in timeline.inner_text()
    # a colleague verifies through the API: the live part follows, still in Spanish
    assert live_server.api("POST", f"/incidents/{code}/actions",
                           json={"action": "verify"}).status_code == 200
    page.wait_for_selector("[data-testid=status][data-status=routed]", timeout=15000)
    assert page.get_by_test_id("status").inner_text() == "enviado a abogados"
    page.wait_for_function("() => document.querySelector('ol.timeline').innerText"
                           ".includes('verificado → enviado a abogados')")
    assert "aviso al abogado" in page.locator("#incident-live").inner_text()
    # what the domain refuses reads in Spanish: merging into an incident that does not exist
    page.get_by_label("Fusionar con el incidente").fill("ZZZZ")
    page.get_by_role("button", name="Fusionar", exact=True).click()
    page.wait_for_selector("p.flash[role=alert]")
    assert page.locator("p.flash[role=alert]").inner_text() == "into: no hay incidente 'ZZZZ'"
    screenshot(page, "incident-spanish")
    assert page.errors == []
