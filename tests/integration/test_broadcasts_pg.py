"""Broadcasts through real `hotline worker` processes on PostgreSQL and Redis, sending through
the Twilio stand-in: every recipient exactly once at the broadcast rate while pages still
leave at once, and exactly once again when the workers are SIGKILLed mid-send."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text

from hotline import create_app
from hotline.broadcasts import drafts
from hotline.core.extensions import db
from hotline.messaging import outbound
from hotline.messaging.templates import load_templates
from hotline.models import (
    Alert,
    Incident,
    Jurisdiction,
    Responder,
    Subscriber,
    SubscriberArea,
)
from tests.conftest import PG_ADMIN, base_settings, create_database, drop_database, process_env
from tests.faults.test_faults import wait_until
from tests.raid import busiest_second
from tests.servers import RedisServer, worker

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]


def numbers(n: int) -> list[str]:
    return [f"+1312556{i:04d}" for i in range(n)]


def start_broadcast(app: Any, n: int) -> int:
    """`n` confirmed Chicago subscribers (every third in Spanish), a verified incident, and
    its alert approved: sending starts when this commits. Returns the broadcast id."""
    vault = app.extensions["hotline_vault"]
    with app.app_context():
        session = db.session
        chicago = session.scalar(select(Jurisdiction).where(Jurisdiction.slug == "chicago"))
        incident = Incident(code="BCST", status="verified", jurisdiction_id=chicago.id,
                            lat=41.8089, lon=-87.6845, location_text="Western & 47th",
                            salute={"activity": ["raid"], "size": {"agents": 5}})
        session.add(incident)
        for i, number in enumerate(numbers(n)):
            subscriber = Subscriber(phone_hmac=vault.phone_hmac(number), status="confirmed",
                                    phone_enc=vault.encrypt(number, "subscriber.phone"),
                                    language="es" if i % 3 == 0 else "en")
            session.add(subscriber)
            session.flush()
            session.add(SubscriberArea(subscriber_id=subscriber.id, jurisdiction_id=chicago.id,
                                       kind="jurisdiction", key="chicago", label=chicago.name))
        session.flush()
        templates = load_templates(app.config["SETTINGS"].config_dir)
        broadcast = drafts.create(session, incident, templates, actor="test")
        assert drafts.approve(session, broadcast, templates, "user:1", "tester")
        session.commit()
        return broadcast.id


FINAL = ("SELECT count(*) FROM broadcast_recipients r JOIN messages m ON m.id = r.message_id "
         "WHERE m.status = 'sent'")


def test_two_workers_send_every_recipient_once_at_the_rate_and_pages_leave_at_once(
        standin, redis_url, tmp_path):
    n, rate = 200, 20.0
    url = create_database(PG_ADMIN, "hotline_broadcast")
    extra = {"TWILIO_API_BASE_URL": standin.url,
             "TWILIO_FROM_NUMBER": "+15555550100,+15555550101", "HOTLINE_SENDER_RATE": "20",
             "HOTLINE_BROADCAST_RATE": str(rate)}
    env = process_env(DATABASE_URL=url, REDIS_URL=redis_url, HOTLINE_LOG_LEVEL="INFO", **extra)
    app = create_app(base_settings(DATABASE_URL=url, REDIS_URL=redis_url, **extra))
    workers = []
    try:
        workers = [worker(env, tmp_path / f"worker{i}.log") for i in range(2)]
        time.sleep(2)
        start_broadcast(app, n)
        # a few seconds in, pages for another incident: each must leave at once
        time.sleep(3)
        queued_at = _page(app, 5)
        sent = wait_until(FINAL, n, url, 120)
        assert sent == n, workers[0].output()[-3000:] + workers[1].output()[-3000:]
        creates = standin.creates()
        to = Counter(r.form["To"] for r in creates if "HOTLINE PAGE" not in r.form["Body"])
        assert set(to) == set(numbers(n)) and set(to.values()) == {1}  # each exactly once
        spanish = [r.form["Body"] for r in creates if r.form["To"] == numbers(n)[0]]
        assert spanish[0].startswith("ALERTA DE HOTLINE")
        stamps = sorted(r.at for r in creates if "HOTLINE PAGE" not in r.form["Body"])
        assert busiest_second(stamps) <= rate, busiest_second(stamps)
        assert stamps[-1] - stamps[0] >= (n - 1) / rate * 0.95  # at the rate, not in a burst
        pages = {r.form["Body"]: r.at for r in creates if "HOTLINE PAGE" in r.form["Body"]}
        assert len(pages) == 5
        late = {body: round(at - queued_at, 2) for body, at in pages.items()}
        assert max(late.values()) < 2.0, late  # within a couple of slots, not after 200
        assert min(pages.values()) < stamps[-1] - 3  # ... while the broadcast was going on
        status = wait_until("SELECT count(*) FROM broadcasts WHERE status = 'sent'", 1, url, 30)
        assert status == 1
    finally:
        for process in workers:
            process.stop()
        db.state(app).engine.dispose()
        drop_database(url)


def _page(app: Any, pages: int) -> float:
    """Queue `pages` lawyer pages (the high lane) at once; returns when."""
    vault = app.extensions["hotline_vault"]
    with app.app_context():
        incident = Incident(code="PAGE", status="routed")
        db.session.add(incident)
        db.session.flush()
        lawyer = db.session.scalar(select(Responder).where(Responder.role == "lawyer"))
        for step in range(pages):
            alert = Alert(incident_id=incident.id, responder_id=lawyer.id, kind="page",
                          step=step, round=0, status="queued")
            db.session.add(alert)
            db.session.flush()
            outbound.queue_sms(db.session, vault, f"+1773555{3000 + step:04d}",
                               f"HOTLINE PAGE {step}", "page", alert_id=alert.id)
        at = time.time()
        db.session.commit()
    return at


@pytest.mark.faults
def test_workers_killed_mid_send_every_recipient_exactly_once(standin, tmp_path):
    """Both workers are SIGKILLed while Twilio holds the 60th message's request (accepted,
    not yet answered); a new worker finishes the broadcast: that message is found at Twilio,
    not sent again, and nobody is skipped."""
    n = 150
    redis_server = RedisServer()
    redis_server.start()
    url = create_database(PG_ADMIN, "hotline_broadcast_kill")
    extra = {"TWILIO_API_BASE_URL": standin.url, "TWILIO_FROM_NUMBER": "+15555550100",
             "HOTLINE_SENDER_RATE": "100", "HOTLINE_BROADCAST_RATE": "40",
             "HOTLINE_TWILIO_TIMEOUT": "30"}
    env = process_env(DATABASE_URL=url, REDIS_URL=redis_server.url, HOTLINE_LOG_LEVEL="INFO",
                      **extra)
    app = create_app(base_settings(DATABASE_URL=url, REDIS_URL=redis_server.url, **extra))
    original = standin._handle
    held = threading.Event()

    def hang_on_the_60th(request: Any) -> Any:
        response = original(request)
        if request.method == "POST" and len(standin.creates()) == 60:
            held.set()
            time.sleep(25)  # accepted; the worker that sent it never hears back
        return response

    standin._handle = hang_on_the_60th
    workers = []
    try:
        workers = [worker(env, tmp_path / f"worker{i}.log") for i in range(2)]
        time.sleep(2)
        start_broadcast(app, n)
        assert held.wait(60), workers[0].output()[-3000:]
        for process in workers:
            process.kill()
        standin._handle = original
        workers.append(worker(env, tmp_path / "worker-after.log"))
        sent = wait_until(FINAL, n, url, 180)
        assert sent == n, workers[-1].output()[-4000:]
        to = Counter(r.form["To"] for r in standin.creates())
        assert set(to) == set(numbers(n)), set(numbers(n)) - set(to)  # nobody skipped
        assert max(to.values()) == 1, [k for k, v in to.items() if v > 1]  # nobody twice
        engine = create_engine(url)
        with engine.connect() as conn:
            recipients = conn.scalar(text("SELECT count(*) FROM broadcast_recipients"))
            messages = conn.scalar(text(
                "SELECT count(*) FROM messages WHERE flags->>'purpose' = 'broadcast_alert'"))
        engine.dispose()
        assert recipients == messages == n
    finally:
        standin._handle = original
        for process in workers:
            process.stop()
        db.state(app).engine.dispose()
        redis_server.stop()
        drop_database(url)
