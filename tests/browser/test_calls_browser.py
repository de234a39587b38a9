"""Calls in real Chromium: the board's live-calls panel follows a call from ringing to answered
by its own live refresh, and the volunteer's report of the call is written in the form."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from hotline.core.extensions import db
from hotline.models import Call, Report, Responder, utcnow
from tests.browser.conftest import log_in, screenshot
from tests.dashboard.conftest import CALLER_DIGITS, MARISOL, PLACE, make_call

pytestmark = pytest.mark.browser


def test_a_ringing_call_becomes_answered_on_the_board_and_its_report_is_written(
        live_server, page):
    app = live_server.app
    call_id = make_call(app, 1, state="ringing", language="es")
    log_in(page, live_server.url)
    page.evaluate("window.__sameDocument = true")
    row = page.locator(f"#live-calls tr[data-call='{call_id}']")
    assert row.get_attribute("data-state") == "ringing"
    assert row.get_by_test_id("call-state").inner_text() == "ringing"
    assert "Spanish" in row.inner_text()
    screenshot(page, "20-live-call-ringing")

    with app.app_context():  # Marisol pressed 1 (as intake.calls.accept records it)
        call = db.session.get(Call, call_id)
        call.answered_by_id = db.session.scalar(select(Responder.id).where(
            Responder.key == MARISOL))
        call.state, call.answered_at = "answered", utcnow()
        db.session.commit()
    changed = time.monotonic()
    page.locator(f"#live-calls tr[data-call='{call_id}'][data-state='answered']").wait_for(
        timeout=6000)
    assert time.monotonic() - changed < 3.5, "the answered call took too long to show"
    assert row.get_by_test_id("call-state").inner_text() == "answered by Marisol Reyes"
    assert page.evaluate("window.__sameDocument") is True  # the page's own refresh, no reload
    panel = page.locator("#live-calls").inner_text()
    assert not any(digits in panel for digits in CALLER_DIGITS)
    screenshot(page, "21-live-call-answered")

    row.get_by_role("link", name="Write the report").click()
    page.wait_for_url(f"{live_server.url}/calls/{call_id}/report")
    page.get_by_label("Where").fill(PLACE)
    page.get_by_label("How many").fill("3 unmarked vans, 6 agents")
    page.get_by_label("What they are doing").fill("stopping people at the entrance")
    page.get_by_label("Uniforms and markings").fill("vests that say ICE")
    page.get_by_label("Anything else").fill('<img src=x onerror="alert(1)"> caller hid inside')
    screenshot(page, "22-call-report-form")
    page.get_by_role("button", name="Save the report").click()
    page.wait_for_url(f"{live_server.url}/calls")
    assert page.get_by_role("status").filter(
        has_text="The report of the call is saved").is_visible()
    written = page.locator(f"#calls tr[data-call='{call_id}']")
    assert "report written" in written.inner_text()
    assert written.get_by_role("link", name="Write the report").count() == 0
    screenshot(page, "23-call-report-saved")

    deadline = time.monotonic() + 10  # the worker thread triages it like a text
    report = None
    while report is None and time.monotonic() < deadline:
        with app.app_context():
            report = db.session.scalar(select(Report).where(Report.channel == "voice"))
        time.sleep(0.1)
    assert report is not None and report.incident_id is not None
    assert page.errors == []
