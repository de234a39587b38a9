"""Dashboard fixtures: accounts of every role, a logged-in client, incidents from real SMS."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from hotline.accounts import users
from hotline.core.extensions import db
from hotline.intake import store
from hotline.jobs import outbox
from hotline.models import Call, CallLeg, Jurisdiction, Responder, User, utcnow
from tests.conftest import run_due_timers

PASSWORD = "correct horse battery staple"
CHICAGO_SMS = "ICE at the Home Depot on Western and 47th, 3 unmarked vans"
SF_SMS = "migra en la 24 y mission sf"
OUTSIDE_SMS = "ICE raid in Phoenix AZ right now"


# calls (tests/dashboard/test_calls.py, the browser tests)
CALLER = "+17735550142"  # a Chicago caller: none of these digits may reach a page
CALLER_DIGITS = ("7735550142", "5550142", "0142")
CHICAGO_LINE, LA_LINE = "+13125550197", "+12135550198"
MARISOL = "chicago-volunteer-7"  # Marisol Reyes: es, en; on shift every day, all day
ANNA = "chicago-volunteer-8"  # Anna Kowalski: pl, en
LA_VOLUNTEER = "los-angeles-volunteer-7"
PLACE = "Home Depot on Western and 47th"


def make_call(app: Any, n: int, state: str = "ringing", jurisdiction: str = "chicago",
              rung: tuple[str, ...] = (MARISOL,), answered_by: str | None = None,
              language: str | None = "es", minutes_ago: float = 1, **columns: Any) -> int:
    """A call row as the voice webhooks leave it (the caller a reporter, legs rung)."""
    with app.app_context():
        vault = app.extensions["hotline_vault"]
        reporter = store.upsert_reporter(db.session, vault, CALLER)
        jid = db.session.scalar(select(Jurisdiction.id).where(Jurisdiction.slug == jurisdiction))
        ids = dict(db.session.execute(select(Responder.key, Responder.id)).all())
        started = utcnow() - timedelta(minutes=minutes_ago)
        call = Call(call_sid=f"CA{n:032x}", reporter_id=reporter.id, jurisdiction_id=jid,
                    hotline_number=LA_LINE if jurisdiction == "los-angeles" else CHICAGO_LINE,
                    language=language, state=state, flags={}, started_at=started, **columns)
        call.legs = [CallLeg(responder_id=ids[key], status="ringing") for key in rung]
        if answered_by:
            call.answered_by_id, call.answered_at = ids[answered_by], started + timedelta(seconds=8)
        db.session.add(call)
        db.session.commit()
        return call.id


def csrf_of(html: str) -> str:
    """The CSRF token in a page's forms."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client: FlaskClient, email: str, password: str = PASSWORD, **kwargs: Any) -> Any:
    """Log in through the form, as a browser does."""
    page = client.get("/login")
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": csrf_of(page.text)}, **kwargs)


def post_form(client: FlaskClient, path: str, data: dict[str, Any] | None = None,
              page: str = "/") -> Any:
    """POST a dashboard form with the session's CSRF token."""
    token = csrf_of(client.get(page).text)
    return client.post(path, data={**(data or {}), "csrf_token": token})


def make_user(app: Any, email: str, role: str, **kwargs: Any) -> int:
    with app.app_context():
        user = users.create_user(db.session, email, role, PASSWORD, **kwargs)
        db.session.commit()
        return user.id


def run_jobs(app: Any) -> None:
    while outbox.backend_of(app).run_pending():
        pass


@pytest.fixture
def dispatcher(app) -> int:
    return make_user(app, "dispatcher@example.org", "dispatcher")


@pytest.fixture
def admin(app) -> int:
    return make_user(app, "admin@example.org", "admin")


@pytest.fixture
def logged_in(client, dispatcher) -> FlaskClient:
    assert login(client, "dispatcher@example.org").status_code == 302
    return client


@pytest.fixture
def as_admin(client, admin) -> FlaskClient:
    assert login(client, "admin@example.org").status_code == 302
    return client


@pytest.fixture
def seeded(app, client, twilio) -> dict[str, str]:
    """Three incidents from signed SMS webhooks: Chicago, San Francisco, outside everything."""
    codes = {}
    for name, body, sender in (("chicago", CHICAGO_SMS, "+13125550123"),
                               ("san-francisco", SF_SMS, "+14155550123"),
                               ("none", OUTSIDE_SMS, "+16025550123")):
        twilio.post_sms(client, body, from_number=sender)
        run_jobs(app)
        run_due_timers(app, "follow_up_timeout")  # "where?" unanswered: it joins an incident
        with app.app_context():
            from sqlalchemy import select

            from hotline.models import Incident
            codes[name] = db.session.scalar(select(Incident.code).order_by(Incident.id.desc()))
    return codes


def get_user(app: Any, email: str) -> User:
    with app.app_context():
        from sqlalchemy import select
        user = db.session.scalar(select(User).where(User.email == email))
        db.session.expunge(user)
        return user
