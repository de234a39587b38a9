"""Fault tests against real processes: gunicorn, `hotline worker`, Redis and PostgreSQL are
killed or restarted in the middle of a burst, and nothing is lost or done twice."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from hotline import create_app
from hotline.core.extensions import db
from hotline.simulate import sign, sms_form
from tests.conftest import (
    AUTH_TOKEN,
    PG_ADMIN,
    base_settings,
    create_database,
    drop_database,
    process_env,
)
from tests.servers import PostgresServer, RedisServer, free_port, gunicorn, worker

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.redis]


def settings_env(database_url: str, redis_url: str, public_url: str, **extra: str
                 ) -> dict[str, str]:
    return process_env(DATABASE_URL=database_url, REDIS_URL=redis_url,
                       HOTLINE_PUBLIC_URL=public_url, HOTLINE_LOG_LEVEL="INFO", **extra)


class _Stub:
    twilio_account_sid = "AC" + "1" * 32
    twilio_messaging_service_sid = None


def signed_burst(base_url: str, count: int) -> list[tuple[dict[str, str], dict[str, str]]]:
    url = f"{base_url}/twilio/sms"
    requests_ = []
    for i in range(count):
        form = sms_form(_Stub(), f"+1773555{1000 + i:04d}", "+15555550100",
                        f"ICE at the Home Depot on Western and 47th, message {i}")
        form["SmsSid"] = form["MessageSid"]
        requests_.append((form, {"X-Twilio-Signature": sign(AUTH_TOKEN, url, form)}))
    return requests_


def deliver_like_twilio(url: str, form: dict[str, str], headers: dict[str, str],
                        answers: list[int]) -> None:
    """Post until answered 200, as Twilio retries a failed webhook (same MessageSid)."""
    for _ in range(240):
        try:
            response = requests.post(url, data=form, headers=headers, timeout=10)
            answers.append(response.status_code)
            if response.status_code == 200:
                return
        except requests.RequestException:
            answers.append(0)
        time.sleep(0.25)
    raise AssertionError(f"{form['MessageSid']} was never accepted")


def wait_until(query: str, expected: int, url: str, seconds: float) -> int:
    engine = create_engine(url)
    try:
        deadline = time.monotonic() + seconds
        while True:
            with engine.connect() as conn:
                value = conn.scalar(text(query))
            if value == expected or time.monotonic() > deadline:
                return value
            time.sleep(0.5)
    finally:
        engine.dispose()


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                "messages": conn.scalar(text(
                    "SELECT count(*) FROM messages WHERE direction = 'inbound'")),
                "distinct_sids": conn.scalar(text(
                    "SELECT count(DISTINCT twilio_sid) FROM messages "
                    "WHERE direction = 'inbound'")),
                "reports": conn.scalar(text("SELECT count(*) FROM reports")),
                "unprocessed": conn.scalar(text(
                    "SELECT count(*) FROM messages WHERE direction = 'inbound' "
                    "AND processed_at IS NULL")),
                "double_reports": conn.scalar(text(
                    "SELECT count(*) FROM (SELECT report_id FROM messages WHERE report_id IS "
                    "NOT NULL GROUP BY report_id HAVING count(*) > 1) d")),
            }
    finally:
        engine.dispose()


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    return tmp_path


@contextmanager
def web_stack(admin_url: str, logs: Path) -> Iterator[tuple[str, str, RedisServer, Any]]:
    """A fresh database on `admin_url`'s server, a private Redis, gunicorn and one worker;
    yields (database URL, base URL, the Redis server, the worker) and tears all down."""
    redis_server = RedisServer()
    redis_server.start()
    url = create_database(admin_url, "hotline_fault")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = settings_env(url, redis_server.url, base)
    web = gunicorn(env, port, logs / "web.log")
    work = worker(env, logs / "worker.log")
    try:
        yield url, base, redis_server, work
    finally:
        web.stop()
        work.stop()
        redis_server.stop()
        drop_database(url, admin_url)


def assert_each_processed_once(url: str, work: Any, sent: int) -> None:  # noqa: ANN401
    """Every one of `sent` distinct messages stored once, triaged, and one report each."""
    left = wait_until("SELECT count(*) FROM messages WHERE processed_at IS NULL", 0, url, 240)
    assert left == 0, work.output()[-3000:]
    result = counts(url)
    assert result["messages"] == result["distinct_sids"] == sent
    assert result["reports"] == sent and result["double_reports"] == 0


def sender(base: str, answers: list[int]) -> Any:  # noqa: ANN401
    """Deliver one pre-signed webhook as Twilio would, recording every answer."""
    return lambda item: deliver_like_twilio(f"{base}/twilio/sms", item[0], item[1], answers)


def test_redis_killed_and_restarted_during_a_burst(logs):
    with web_stack(PG_ADMIN, logs) as (url, base, redis_server, work):
        burst = signed_burst(base, 90)
        answers: list[int] = []
        send = sender(base, answers)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(send, burst[:30]))
            redis_server.stop()  # Redis dies mid-burst
            list(pool.map(send, burst[30:60]))
            redis_server.start()  # and comes back, empty
            list(pool.map(send, burst[60:]))
        assert answers == [200] * 90  # the webhook never failed while Redis was away
        assert_each_processed_once(url, work, 90)

        # replayed (Twilio's retry of an accepted request) and forged webhooks, same servers
        form, headers = burst[0]
        for _ in range(3):
            assert requests.post(f"{base}/twilio/sms", data=form, headers=headers,
                                 timeout=10).status_code == 200
        forged = dict(form, MessageSid="SM" + "f" * 32, Body="forged")
        assert requests.post(f"{base}/twilio/sms", data=forged, headers=headers,
                             timeout=10).status_code == 403
        assert counts(url)["messages"] == 90


@pytest.mark.skipif(not PostgresServer.available, reason="needs initdb and runuser")
def test_postgres_restarted_during_a_burst_each_retry_processed_once(logs):
    postgres = PostgresServer()
    postgres.start()
    try:
        with web_stack(postgres.url, logs) as (url, base, _redis, work):
            _burst_through_a_restart(postgres, url, base, work)
    finally:
        postgres.remove()


def _burst_through_a_restart(postgres: PostgresServer, url: str, base: str, work: Any) -> None:
    """90 webhooks, PostgreSQL restarted after the first 30, each retried until accepted."""
    burst = signed_burst(base, 90)
    answers: list[int] = []
    send = sender(base, answers)
    restarted = threading.Event()

    def restart_midway():
        while len(answers) < 30:
            time.sleep(0.05)
        postgres.restart()
        restarted.set()

    restarter = threading.Thread(target=restart_midway)
    restarter.start()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(send, burst))
    restarter.join()
    assert restarted.is_set()
    assert answers.count(200) >= 90
    assert_each_processed_once(url, work, 90)


def test_worker_killed_mid_send_runs_again_without_a_second_sms(logs, standin):
    from hotline.messaging import outbound

    redis_server = RedisServer()
    redis_server.start()
    url = create_database(PG_ADMIN, "hotline_fault")
    public = f"http://127.0.0.1:{free_port()}"
    extra = {"TWILIO_API_BASE_URL": standin.url, "TWILIO_FROM_NUMBER": "+15555550100",
             "HOTLINE_TWILIO_TIMEOUT": "30"}
    env = settings_env(url, redis_server.url, public, **extra)
    app = create_app(base_settings(DATABASE_URL=url, REDIS_URL=redis_server.url, **extra))
    # Twilio takes the message, then the worker is killed before it hears back
    original = standin._handle

    def accept_then_hang(request):
        response = original(request)
        if request.method == "POST":
            time.sleep(20)
        return response

    standin._handle = accept_then_hang
    first = worker(env, logs / "worker1.log")
    second = None
    try:
        with app.app_context():
            message = outbound.queue_sms(db.session, app.extensions["hotline_vault"],
                                         "+13125550199", "VERIFY TEST: can you look?", "test")
            db.session.commit()
            message_id = message.id
        deadline = time.monotonic() + 30
        while not standin.creates() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(standin.creates()) == 1, first.output()[-2000:]
        first.kill()  # SIGKILL the worker and its work horse mid-job
        standin._handle = original
        second = worker(env, logs / "worker2.log")
        status = wait_until(f"SELECT count(*) FROM messages WHERE id = {message_id} "
                            "AND status = 'sent'", 1, url, 180)
        assert status == 1, second.output()[-3000:]
        assert len(standin.creates()) == 1  # never a second send
        engine = create_engine(url)
        with engine.connect() as conn:
            sid = conn.scalar(text(f"SELECT twilio_sid FROM messages WHERE id = {message_id}"))
        engine.dispose()
        assert sid == standin.sent[0]["sid"]
        assert "abandoned by its worker" in second.output()
    finally:
        standin._handle = original
        first.stop()
        if second is not None:
            second.stop()
        db.state(app).engine.dispose()
        redis_server.stop()
        drop_database(url)


def test_twilio_429_500_and_timeout_through_a_real_worker(logs, standin):
    from hotline.messaging import outbound

    redis_server = RedisServer()
    redis_server.start()
    url = create_database(PG_ADMIN, "hotline_fault")
    extra = {"TWILIO_API_BASE_URL": standin.url, "TWILIO_FROM_NUMBER": "+15555550100",
             "HOTLINE_TWILIO_TIMEOUT": "2"}
    env = settings_env(url, redis_server.url, "http://127.0.0.1:9", **extra)
    app = create_app(base_settings(DATABASE_URL=url, REDIS_URL=redis_server.url, **extra))
    standin.hang_seconds = 3
    standin.plan(429, 500, "timeout")
    work = worker(env, logs / "worker.log")
    try:
        with app.app_context():
            message = outbound.queue_sms(db.session, app.extensions["hotline_vault"],
                                         "+13125550198", "HOTLINE TEST: page", "test")
            db.session.commit()
            message_id = message.id
        status = wait_until(f"SELECT count(*) FROM messages WHERE id = {message_id} "
                            "AND status = 'sent'", 1, url, 180)
        assert status == 1, work.output()[-3000:]
        assert [r.answered for r in standin.creates()] == [429, 500, 504, 201]
        assert len(standin.sent) == 1
    finally:
        work.stop()
        db.state(app).engine.dispose()
        redis_server.stop()
        drop_database(url)
