"""Media in real Chromium: a dispatcher sees an MMS photo's thumbnail on the incident page and
opens the photo (both served by Hotline, sandboxed); a viewer sees no media at all."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from sqlalchemy import select

from hotline.core.extensions import db
from hotline.models import Incident, MediaItem, Report
from tests.browser.conftest import LiveServer, log_in, screenshot
from tests.conftest import sending_settings
from tests.dashboard.conftest import make_user
from tests.media.conftest import PILSEN, jpeg, mms

pytestmark = pytest.mark.browser


def send_mms(server: LiveServer, standin: Any, body: str, photo: bytes) -> None:
    """A signed MMS with one photo over real HTTP, as Twilio posts it (the stand-in serves
    the photo to the worker thread that fetches it)."""
    form = mms(server.twilio, standin, body, [("image/jpeg", photo)],
               from_number="+13125550199")
    response = requests.post(server.url + "/twilio/sms", data=form, timeout=10,
                             headers=server.twilio.headers("/twilio/sms", form))
    assert response.status_code == 200


def wait_for_stored(server: LiveServer, timeout: float = 15) -> tuple[int, str]:
    """(media id, incident code) once the worker thread has stored the photo and triaged its
    report into an incident."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with server.app.app_context():
            item = db.session.scalar(select(MediaItem).where(MediaItem.status == "stored"))
            report = db.session.scalar(select(Report))
            if item is not None and report is not None and report.incident_id is not None:
                return item.id, db.session.get(Incident, report.incident_id).code
        time.sleep(0.1)
    raise AssertionError("the photo was not stored and triaged in time")


@pytest.fixture
def mms_server(serve, standin) -> LiveServer:
    return serve(**sending_settings(standin))


def test_a_dispatcher_sees_the_thumbnail_and_opens_the_photo(mms_server, standin, page):
    send_mms(mms_server, standin, "la migra esta aqui", jpeg(PILSEN, size=(640, 480)))
    media_id, code = wait_for_stored(mms_server)
    log_in(page, mms_server.url)
    page.goto(f"{mms_server.url}/incidents/{code}")
    thumb = page.locator(f"img[src='/media/{media_id}/thumb']")
    assert thumb.get_attribute("alt").startswith("photo 1 of report ")
    thumb.scroll_into_view_if_needed()  # loading="lazy"
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=thumb.element_handle())
    width = thumb.evaluate("img => img.naturalWidth")
    assert 0 < width <= 320  # the thumbnail, not the photo
    screenshot(page, "30-incident-media-thumbnail")

    with page.expect_response(f"{mms_server.url}/media/{media_id}") as opened:
        thumb.click()
    response = opened.value
    assert response.status == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["content-security-policy"] == "default-src 'none'; sandbox"
    page.wait_for_url(f"{mms_server.url}/media/{media_id}")
    shown = page.locator("img")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=shown.element_handle())
    assert shown.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [640, 480]
    screenshot(page, "31-media-photo")
    assert page.errors == []


def test_a_viewer_sees_no_media(mms_server, standin, page):
    make_user(mms_server.app, "viewer@example.org", "viewer")
    send_mms(mms_server, standin, "la migra esta aqui", jpeg(PILSEN))
    media_id, code = wait_for_stored(mms_server)
    log_in(page, mms_server.url, email="viewer@example.org")
    page.goto(f"{mms_server.url}/incidents/{code}")
    assert page.get_by_text("not shown to viewers").is_visible()
    assert page.locator("article.report").count() == 1
    assert page.locator("article.report img, article.report audio, "
                        "article.report video").count() == 0
    assert page.locator("a[href^='/media/'], img[src^='/media/']").count() == 0
    response = page.request.get(f"{mms_server.url}/media/{media_id}")
    assert response.status == 404
    assert page.errors == []
