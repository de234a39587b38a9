"""Raid day end to end, on the Procfile's own scale-out: gunicorn, three `hotline worker`,
PostgreSQL, Redis and one sending number at 4 messages/s, through the Twilio stand-in."""

from __future__ import annotations

import random
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from hotline import create_app
from hotline.accounts import tokens
from hotline.config_loader import load_config
from hotline.core.extensions import db
from hotline.models import Alert, Incident, IncidentEvent, Message, OutboxJob, Report, Responder
from hotline.simulate import sign, sms_form
from tests.conftest import (
    AUTH_TOKEN,
    PG_ADMIN,
    ROOT,
    base_settings,
    create_database,
    drop_database,
    process_env,
)
from tests.raid import busiest_second
from tests.servers import free_port, gunicorn, worker

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

RATE = 4.0
NUMBER = "+15555550100"
CORNERS = {
    "18th & ashland": ["ICE arresting people at 18th and Ashland in Pilsen",
                       "migra en la 18 y Ashland, se llevan gente",
                       "agents at 18th St & Ashland Ave right now",
                       "la migra esta en la esquina de la 18 y Ashland"],
    "26 & pulaski": ["ICE vans at 26th and Pulaski in Little Village",
                     "redada en la 26 y Pulaski ahorita",
                     "agents detaining people at 26th St & Pulaski Rd",
                     "migra en la 26 y la Pulaski, cuidado"],
    "western & 47th": ["ICE at the Home Depot on Western and 47th",
                       "migra en el Home Depot de Western y la 47",
                       "agents in vests at Western Ave & 47th St",
                       "ICE agarrando trabajadores en Western y 47th"],
}
NO_PLACE = ["ICE is here", "la migra esta aqui", "they are taking people", "ICE aqui ahora"]
ANSWERS = ["18th and Ashland", "en la 26 y Pulaski", "Western y la 47"]


class _Settings:
    twilio_account_sid = "AC" + "1" * 32
    twilio_messaging_service_sid = None


def _numbers(count: int, seed: int) -> list[str]:
    """First-time numbers, scattered (no runs a flood detector would see)."""
    rng = random.Random(seed)
    picked: set[str] = set()
    while len(picked) < count:
        picked.add(f"+1{rng.choice(['312', '773', '872'])}{rng.randrange(2000000, 9999999)}")
    return sorted(picked, key=lambda _: rng.random())


def _post(base: str, sender: str, body: str) -> int:
    url = f"{base}/twilio/sms"
    form = sms_form(_Settings(), sender, NUMBER, body)
    form["SmsSid"] = form["MessageSid"]
    headers = {"X-Twilio-Signature": sign(AUTH_TOKEN, url, form)}
    for _ in range(20):  # as Twilio retries an answer it did not get
        try:
            return requests.post(url, data=form, headers=headers, timeout=10).status_code
        except requests.RequestException:
            time.sleep(0.5)
    return 0


def _wait(predicate: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def raid_config(tmp_path: Path) -> Path:
    """The demo config, with Chicago's network paging all its lawyers at the first step (so
    that two can ACCEPT at once)."""
    folder = tmp_path / "config"
    shutil.copytree(ROOT / "config", folder)
    networks = yaml.safe_load((folder / "networks.yaml").read_text())
    chicago = next(n for n in networks["networks"] if n["slug"] == "chicago-legal")
    chicago["escalation"]["steps"][0] = {"target": "network", "wait_minutes": 10}
    (folder / "networks.yaml").write_text(yaml.safe_dump(networks, allow_unicode=True))
    return folder


def test_raid_day(standin, redis_url, tmp_path, raid_config):
    url = create_database(PG_ADMIN, "hotline_raid")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = {"TWILIO_API_BASE_URL": standin.url, "TWILIO_FROM_NUMBER": NUMBER,
                "HOTLINE_SENDER_RATE": str(RATE), "HOTLINE_PUBLIC_URL": base,
                "HOTLINE_CONFIG_DIR": str(raid_config)}
    env = process_env(DATABASE_URL=url, REDIS_URL=redis_url, HOTLINE_LOG_LEVEL="INFO",
                      **settings)
    app = create_app(base_settings(DATABASE_URL=url, REDIS_URL=redis_url, **settings))
    with app.app_context():
        load_config(db.session, app.extensions["hotline_vault"], raid_config)
        _row, token = tokens.create_token(db.session, "dispatcher", role="dispatcher")
        db.session.commit()
    standin.auto_deliver = True
    web = gunicorn(env, port, tmp_path / "web.log")
    workers = [worker(env, tmp_path / f"worker{i}.log") for i in range(3)]
    engine = create_engine(url)

    def scalar(statement: Any) -> Any:
        with Session(engine) as session:
            return session.scalar(statement)

    try:
        time.sleep(2)
        # 36 first-time numbers report three corners within 20 s, 10 more name no place
        reporters = _numbers(46, seed=7)
        texts = [(n, CORNERS[c][i % 4]) for i, (n, c) in enumerate(
            zip(reporters[:36], [c for c in CORNERS for _ in range(12)], strict=True))]
        no_place = [(n, NO_PLACE[i % 4]) for i, n in enumerate(reporters[36:])]
        mixed = texts + no_place
        random.Random(3).shuffle(mixed)
        started = time.monotonic()
        with ThreadPoolExecutor(6) as pool:
            def send(item: tuple[int, tuple[str, str]]) -> int:
                i, (sender, body) = item
                time.sleep(max(0.0, started + i * 0.4 - time.monotonic()))  # ~18 s in all
                return _post(base, sender, body)
            statuses = list(pool.map(send, enumerate(mixed)))
        assert statuses == [200] * 46
        assert time.monotonic() - started < 25

        # one worker killed mid-way; the others (and the sweeper) carry on
        workers[0].kill()
        _wait(lambda: scalar(select(func.count(Incident.id))) >= 3, 90, "three incidents")
        _wait(lambda: scalar(select(func.count(Report.id)).where(
            Report.state == "awaiting_location")) == 10, 90, "ten reports awaiting a place")
        _wait(lambda: len({m["to"] for m in standin.sent if "Where exactly" in m["body"]
                           or "Dónde" in m["body"]}) == 10, 90, "ten follow-up questions")

        # the ten answer "where?" ... and while those are queued a dispatcher verifies
        with ThreadPoolExecutor(5) as pool:
            list(pool.map(lambda item: _post(base, item[1][0], ANSWERS[item[0] % 3]),
                          enumerate(no_place)))
        with Session(engine) as session:
            # the incident's place reads as its first precise report gave it: "18th & ashland"
            # or, from a Spanish one, "18 & ashland" (the workers' order decides)
            first = session.scalar(select(Incident).where(
                Incident.location_text.like("18%")).order_by(Incident.id))
        sent_before_verify = len(standin.creates())
        answer = requests.post(f"{base}/api/v1/incidents/{first.code}/actions",
                               json={"action": "verify"},
                               headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert answer.status_code == 200, answer.text
        _wait(lambda: any(r.form["Body"].startswith(f"HOTLINE {first.code}")
                          for r in standin.creates()), 60, "the page")
        after = [r.form["Body"] for r in standin.creates()[sent_before_verify:]]
        first_page = next(i for i, b in enumerate(after) if b.startswith(f"HOTLINE {first.code}"))
        assert first_page <= 2, after[:6]  # within two sender slots of the verify

        # two lawyers ACCEPT at the same moment
        with Session(engine) as session:
            paged = session.scalars(select(Responder).join(
                Alert, Alert.responder_id == Responder.id).where(
                Alert.incident_id == first.id, Alert.kind == "page")).all()
        lawyers = {r.key: r for r in paged}
        assert len(lawyers) >= 2
        phones = yaml.safe_load((raid_config / "networks.yaml").read_text())
        phone_of = {m["key"]: m["phone"] for n in phones["networks"] for m in n["members"]}
        two = sorted(lawyers)[:2]
        barrier = threading.Barrier(2)

        def accept(key: str) -> int:
            barrier.wait(10)
            return _post(base, phone_of[key], f"ACCEPT {first.code}")

        with ThreadPoolExecutor(2) as pool:
            assert list(pool.map(accept, two)) == [200, 200]
        _wait(lambda: scalar(select(Incident.status).where(Incident.id == first.id))
              == "acknowledged", 60, "the accept")

        # a verifier says NO once to another corner: contested, another verifier asked
        with Session(engine) as session:
            other = session.scalar(select(Incident).where(
                Incident.location_text.like("26%")).order_by(Incident.id))
            verify = session.scalar(select(Alert).where(
                Alert.incident_id == other.id, Alert.kind == "verify").order_by(Alert.id))
            verifier = session.get(Responder, verify.responder_id)
        _wait(lambda: any(r.form["Body"].startswith(("VERIFY " + other.code,
                                                     "VERIFICAR " + other.code))
                          for r in standin.creates()), 60, "the verifier's request")
        assert _post(base, phone_of[verifier.key], f"NO {other.code}") == 200
        _wait(lambda: scalar(select(func.count(Alert.id)).where(
            Alert.incident_id == other.id, Alert.kind == "verify")) >= 2, 60,
            "another verifier asked")

        # everything settles
        def settled() -> bool:
            with Session(engine) as session:
                pending = session.scalar(select(func.count(OutboxJob.id)).where(
                    OutboxJob.done_at.is_(None), OutboxJob.failed_at.is_(None),
                    OutboxJob.run_at <= func.now()))
                unsent = session.scalar(select(func.count(Message.id)).where(
                    Message.direction == "outbound",
                    Message.status.in_(("queued", "sending"))))
                return pending == 0 and unsent == 0
        _wait(settled, 180, "every job and message")

        with Session(engine) as session:
            incidents = session.scalars(select(Incident).where(
                Incident.status != "merged")).all()
            corners = sorted((i.location_text or "").split(",")[0] for i in incidents)
            assert len(incidents) == 3, corners  # one per corner, the answers joined them
            for incident in incidents:  # every incident asked its verifiers
                assert session.scalar(select(Alert.id).where(
                    Alert.incident_id == incident.id, Alert.kind == "verify"))
            assert session.scalar(select(func.count(Report.id)).where(
                Report.state == "awaiting_location")) == 0
            assert session.scalar(select(func.count(Report.id))) == 46  # nothing lost
            assert session.scalar(select(func.count(Report.id)).where(
                Report.incident_id.is_(None))) == 0
            inbound = session.scalar(select(func.count(Message.id)).where(
                Message.direction == "inbound"))
            assert inbound == 46 + 10 + 2 + 1
            assert session.scalar(select(func.count(Message.id)).where(
                Message.direction == "inbound", Message.processed_at.is_(None))) == 0
            acknowledged = session.scalar(select(func.count(IncidentEvent.id)).where(
                IncidentEvent.kind == "status",
                IncidentEvent.data["new"].as_string() == "acknowledged"))
            assert acknowledged == 1  # exactly one lawyer has it
            contested = session.get(Incident, other.id)
            assert contested.status == "verifying" and contested.flags.get("contested")
            sent = session.scalars(select(Message.twilio_sid).where(
                Message.direction == "outbound", Message.status.in_(
                    ("sent", "delivered")))).all()
        creates = standin.creates()
        accepted = [r for r in creates if r.answered == 201]
        assert len(accepted) == len(sent) and len(set(sent)) == len(sent)  # each exactly once
        stamps = [r.at for r in accepted]
        busiest = busiest_second(stamps)
        assert busiest <= RATE, busiest  # one number, never over its rate in any second
    finally:
        for process in workers:
            process.stop()
        web.stop()
        engine.dispose()
        db.state(app).engine.dispose()
        drop_database(url)
