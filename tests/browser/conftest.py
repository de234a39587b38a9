"""A real server on a free port and a real Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from werkzeug.serving import make_server

from hotline.accounts import tokens
from hotline.core.extensions import db
from hotline.jobs import outbox
from tests.conftest import ROOT, SignedTwilio
from tests.dashboard.conftest import PASSWORD, make_user

CHROMIUM = Path(os.environ.get("HOTLINE_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.browser


@dataclass
class LiveServer:
    """The app served over HTTP, with helpers that act as Twilio and as an API client."""

    app: Flask
    url: str
    token: str
    twilio: SignedTwilio

    def sms(self, body: str, from_number: str) -> requests.Response:
        """A signed inbound SMS over real HTTP, exactly as Twilio posts it."""
        form = self.twilio.sms(body, from_number=from_number)
        return requests.post(self.url + "/twilio/sms", data=form, timeout=10,
                             headers=self.twilio.headers("/twilio/sms", form))

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A call to API v1 with a dispatcher token."""
        return requests.request(method, self.url + "/api/v1" + path, timeout=10,
                                headers={"Authorization": f"Bearer {self.token}"}, **kwargs)


def start_server(app: Flask) -> tuple[Any, threading.Thread, str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    return server, thread, f"http://127.0.0.1:{server.port}"


@pytest.fixture
def serve(make_app, twilio) -> Iterator[Any]:
    """Start the dashboard on a free port (settings overridden per call); jobs run in the
    in-process worker thread, as under `hotline run`."""
    running: list[tuple[Any, threading.Thread]] = []

    def factory(**overrides: Any) -> LiveServer:
        app = make_app(**overrides)
        # plain HTTP on the loopback interface, as under `hotline run` (no Secure, no __Host-)
        app.config.update(SESSION_COOKIE_SECURE=False, SESSION_COOKIE_NAME="hotline")
        make_user(app, "dispatcher@example.org", "dispatcher")
        with app.app_context():
            _row, token = tokens.create_token(db.session, "browser-tests")
            db.session.commit()
        outbox.backend_of(app).start()
        server, thread, url = start_server(app)
        running.append((server, thread))
        return LiveServer(app, url, token, twilio)

    yield factory
    for server, thread in running:
        server.shutdown()
        thread.join(5)


@pytest.fixture
def live_server(serve) -> LiveServer:
    """The dashboard with default settings."""
    return serve()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless; the tests skip when it is not installed."""
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="browser tests need playwright (pip install -e .[dev])")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium) -> Iterator[Any]:
    """A fresh browser context and page; JavaScript errors and dialogs fail the test."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("dialog", lambda dialog: (page.errors.append(f"dialog: {dialog.message}"),
                                      dialog.dismiss()))
    page.set_default_timeout(10_000)
    yield page
    context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page: Any, url: str, email: str = "dispatcher@example.org",
           password: str = PASSWORD) -> None:
    """Log in through the form, finding the fields by their labels."""
    page.goto(url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(url + "/")
