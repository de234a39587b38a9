"""Shared fixtures: apps on SQLite and on the real PostgreSQL + Redis, and a signing Twilio."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from hotline import create_app
from hotline.config_loader import load_config
from hotline.core.database import upgrade
from hotline.core.extensions import db
from hotline.core.settings import new_pii_key
from hotline.simulate import sign, sms_form

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("HOTLINE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_BASE = os.environ.get("HOTLINE_TEST_REDIS", "redis://127.0.0.1:6379")
REDIS_TEST_DB = 13
PUBLIC_URL = "https://hotline.test"
AUTH_TOKEN = "test-auth-token-0123456789abcdef"

# Tables that hold activity (truncated between tests); config tables are loaded once.
ACTIVITY_TABLES = ("incident_events", "alerts", "messages", "reports", "incidents", "reporters",
                   "outbox_jobs", "audit_log", "api_tokens", "users", "data_keys", "call_legs",
                   "calls", "broadcast_recipients", "broadcast_approvals", "broadcasts",
                   "subscriber_areas", "subscribers", "media_items")


def base_settings(**extra: Any) -> dict[str, Any]:
    """Settings every test app shares (explicit: the developer's environment never leaks in)."""
    settings = {
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "HOTLINE_PII_KEY": TEST_PII_KEY,
        "HOTLINE_PII_RATCHET": str(TEST_RATCHET),
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "HOTLINE_PUBLIC_URL": PUBLIC_URL,
        "HOTLINE_CONFIG_DIR": str(ROOT / "config"),
        "REDIS_URL": None,
        "DATABASE_URL": None,
        "TWILIO_API_BASE_URL": None,
        "HOTLINE_TRUSTED_PROXIES": None,
        "DOTENV_PATH": None,
        "TESTING": True,
        "JOBS_AUTOSTART": False,
    }
    settings.update(extra)
    return settings


TEST_PII_KEY = new_pii_key()
# one ratchet for every app and child process of the session, like one host's processes
TEST_RATCHET = Path(tempfile.mkdtemp(prefix="hotline-ratchet-")) / "pii-ratchet.json"


def process_env(**settings: str) -> dict[str, str]:
    """The test settings as the environment of a Hotline child process (gunicorn, worker)."""
    from tests.servers import hotline_env

    inherited = {k: str(v) for k, v in base_settings().items()
                 if v is not None and k.startswith(("HOTLINE_", "TWILIO_", "SECRET_KEY"))}
    return hotline_env(**{**inherited, **settings})


# -- SQLite -----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database with the demo config, copied for each test."""
    folder = tmp_path_factory.mktemp("template")
    path = folder / "hotline.db"
    app = create_app(base_settings(DATABASE_URL=f"sqlite:///{path}",
                                   HOTLINE_INSTANCE=str(folder)))
    upgrade(app)
    with app.app_context():
        load_config(db.session, app.extensions["hotline_vault"], ROOT / "config")
        db.session.commit()
    db.state(app).engine.dispose()
    return path


@pytest.fixture
def make_app(tmp_path: Path, sqlite_template: Path) -> Iterator[Any]:
    """Build apps on a copy of the SQLite template, with settings overridden per test."""
    made: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        path = tmp_path / f"hotline{len(made)}.db"
        shutil.copy(sqlite_template, path)
        settings = base_settings(DATABASE_URL=f"sqlite:///{path}",
                                 HOTLINE_INSTANCE=str(tmp_path))
        settings.update(overrides)
        application = create_app(settings)
        made.append(application)
        return application

    yield factory
    for application in made:
        backend = application.extensions["hotline_jobs"]
        if hasattr(backend, "stop"):
            backend.stop()
        application.extensions["hotline_db"].engine.dispose()


@pytest.fixture
def app(make_app: Any) -> Flask:
    """An app on its own SQLite copy, with in-process jobs (not started: tests run them)."""
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# -- PostgreSQL + Redis -----------------------------------------------------------------------

def create_database(admin_url: str = PG_ADMIN, prefix: str = "hotline_test") -> str:
    """A fresh, migrated database with the demo config on the server of `admin_url`; its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    url = f"{base}/{name}"
    app = create_app(base_settings(DATABASE_URL=url))
    upgrade(app)
    with app.app_context():
        load_config(db.session, app.extensions["hotline_vault"], ROOT / "config")
        db.session.commit()
    db.state(app).engine.dispose()
    return url


def drop_database(url: str, admin_url: str = PG_ADMIN) -> None:
    """Drop the database of `url`, even with connections still open."""
    with psycopg.connect(admin_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session, dropped at the end."""
    url = create_database()
    yield url
    drop_database(url)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The real Redis, on a database of the tests' own, emptied before and after."""
    url = f"{REDIS_BASE}/{REDIS_TEST_DB}"
    connection = redis.Redis.from_url(url)
    connection.flushdb()
    yield url
    connection.flushdb()
    connection.close()


@pytest.fixture
def make_pg_app(pg_url: str) -> Iterator[Any]:
    """Build apps on the real PostgreSQL with settings overridden per test; the activity tables
    are emptied after the test (the demo config stays)."""
    made: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        application = create_app(base_settings(DATABASE_URL=pg_url, **overrides))
        made.append(application)
        return application

    yield factory
    for application in made:
        with application.app_context():
            db.session.rollback()
            db.session.execute(text(f"TRUNCATE {', '.join(ACTIVITY_TABLES)} RESTART IDENTITY "
                                    "CASCADE"))
            db.session.commit()
        db.state(application).engine.dispose()


@pytest.fixture
def pg_app(make_pg_app: Any, redis_url: str) -> Flask:
    """An app on the real PostgreSQL and Redis; activity tables emptied after each test."""
    return make_pg_app(REDIS_URL=redis_url)


@pytest.fixture
def pg_client(pg_app: Flask) -> FlaskClient:
    return pg_app.test_client()


# -- Twilio -----------------------------------------------------------------------------------

class SignedTwilio:
    """Builds webhook requests signed with twilio's RequestValidator, as Twilio does."""

    def __init__(self, auth_token: str = AUTH_TOKEN, public_url: str = PUBLIC_URL) -> None:
        self.auth_token = auth_token
        self.public_url = public_url

    def sms(self, body: str, from_number: str = "+13125550123", sid: str | None = None,
            **extra: str) -> dict[str, str]:
        """The form of an inbound SMS."""
        form = sms_form(_settings_stub(), from_number, "+15555550100", body, sid)
        form["SmsSid"] = form["MessageSid"]
        form.update(extra)
        return form

    def headers(self, path: str, form: dict[str, str]) -> dict[str, str]:
        """Headers with a valid X-Twilio-Signature for a POST of `form` to `path`."""
        return {"X-Twilio-Signature": sign(self.auth_token, self.public_url + path, form)}

    def post_sms(self, client: FlaskClient, body: str, **kwargs: Any) -> Any:
        """POST a signed SMS webhook through a test client."""
        form = self.sms(body, **kwargs)
        return client.post("/twilio/sms", data=form, headers=self.headers("/twilio/sms", form))


class _settings_stub:  # noqa: N801 - minimal stand-in for Settings in sms_form
    twilio_account_sid = "AC" + "1" * 32
    twilio_messaging_service_sid = None


@pytest.fixture
def twilio() -> SignedTwilio:
    return SignedTwilio()


# -- Twilio stand-in and job draining ---------------------------------------------------------

@pytest.fixture
def standin() -> Iterator[Any]:
    """A local stand-in of Twilio's Messages API that records every request."""
    from hotline.devtools.twilio_standin import TwilioStandIn

    server = TwilioStandIn("AC" + "1" * 32, AUTH_TOKEN, hang_seconds=3).start()
    yield server
    server.stop()


def sending_settings(standin: Any, **extra: Any) -> dict[str, Any]:
    """Settings that send SMS through the stand-in from a pool of two numbers."""
    return {"TWILIO_API_BASE_URL": standin.url, "TWILIO_FROM_NUMBER": "+15555550100,+15555550101",
            "HOTLINE_SENDER_RATE": "50", **extra}


@pytest.fixture
def sms_app(make_app: Any, standin: Any) -> Flask:
    """A SQLite app whose outbound SMS go through the stand-in."""
    return make_app(**sending_settings(standin))


@pytest.fixture
def one_rate_window(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """Every message the webhook stores in this test is received at one instant safely inside a
    rate-limit window, so a count of 10 never straddles two windows."""
    from hotline.incidents.abuse import rate_window
    from hotline.intake import store

    now = datetime.now(UTC)
    at = min(now, rate_window(now).end - timedelta(seconds=60))
    monkeypatch.setattr(store, "utcnow", lambda: at)
    return at


def drain(app: Flask, rounds: int = 50) -> int:
    """Run every due job (and the jobs they create) in this thread; returns how many ran."""
    from hotline.jobs import outbox, rq_backend

    backend = outbox.backend_of(app)
    total = 0
    if isinstance(backend, rq_backend.RQBackend):
        from workers.start import run_worker

        run_worker(app, burst=True)
        return -1
    for _ in range(rounds):
        ran = backend.run_pending()
        if not ran:
            break
        total += ran
    return total


def run_due_timers(app: Flask, job: str | None = None) -> int:
    """Make pending future jobs due now (as if their time had come) and run them."""
    from hotline.models import OutboxJob, utcnow

    with app.app_context():
        query = db.session.query(OutboxJob).filter(OutboxJob.done_at.is_(None))
        if job:
            query = query.filter(OutboxJob.job == job)
        for row in query:
            row.run_at = utcnow()
        db.session.commit()
    return drain(app)


class LiveServer:
    """Serves an app over real HTTP on a port chosen before the app is made."""

    def __init__(self) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: Any = None

    def serve(self, app: Flask) -> str:
        import threading

        from werkzeug.serving import make_server

        self._server = make_server("127.0.0.1", self.port, app, threaded=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()


@pytest.fixture
def live() -> Iterator[LiveServer]:
    server = LiveServer()
    yield server
    server.stop()
