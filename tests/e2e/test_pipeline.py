"""End to end: a signed webhook, a real RQ worker process on real Redis, the incident in the API."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from hotline.accounts import tokens
from hotline.core.extensions import db
from hotline.models import OutboxJob, Report
from tests.conftest import ROOT, process_env

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.e2e]


def worker_env(pg_url: str, redis_url: str) -> dict[str, str]:
    return process_env(DATABASE_URL=pg_url, REDIS_URL=redis_url)


def run_burst_worker(pg_url: str, redis_url: str,
                     extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**worker_env(pg_url, redis_url), **(extra or {})}
    return subprocess.run([sys.executable, "-m", "hotline.cli", "worker", "--burst"],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("body", "sender", "slug"), [
    ("ICE at the Home Depot on Western and 47th, 3 unmarked vans", "+13125550123", "chicago"),
    ("la migra en la 24 y mission sf, se llevaron a 2", "+14155550123", "san-francisco"),
    ("agentes de ICE tocando puertas en Fair Haven, New Haven", "+12035550123", "new-haven"),
    ("ICE checkpoint on Bristol, Santa Ana CA", "+17145550123", "santa-ana"),
    ("ICE raid in Phoenix AZ right now", "+13125550123", None),
])
def test_webhook_to_worker_to_api(pg_app, pg_client, pg_url, redis_url, twilio, body, sender,
                                  slug):
    response = twilio.post_sms(pg_client, body, from_number=sender)
    assert response.status_code == 200

    result = run_burst_worker(pg_url, redis_url)
    assert result.returncode == 0, result.stderr[-2000:]
    assert sender[-7:] not in result.stderr + result.stdout  # no number in the worker's logs
    assert body not in result.stderr + result.stdout

    with pg_app.app_context():
        _row, token = tokens.create_token(db.session, "e2e")
        db.session.commit()
        waiting = db.session.scalar(select(func.count(Report.id)).where(
            Report.state == "awaiting_location"))
    if slug is None:
        # a city and no more: the report waits for "where?" (no incident yet); unanswered,
        # it joins an incident when the follow-up window ends
        assert waiting == 1
        assert pg_client.get("/api/v1/incidents", headers={
            "Authorization": f"Bearer {token}"}).json["incidents"] == []
        from workers.timers import follow_up_timeout

        with pg_app.app_context():  # the timer's job, as the worker runs it when it is due
            row = db.session.scalar(select(OutboxJob).where(
                OutboxJob.job == "follow_up_timeout"))
            follow_up_timeout(*row.args, outbox_id=row.id)
    auth = {"Authorization": f"Bearer {token}"}
    incidents = pg_client.get("/api/v1/incidents", headers=auth).json["incidents"]
    assert len(incidents) == 1
    assert incidents[0]["jurisdiction"] == slug
    # where the jurisdiction has verifiers, verification starts at once
    assert incidents[0]["status"] == ("verifying" if slug else "new")
    detail = pg_client.get(f"/api/v1/incidents/{incidents[0]['code']}", headers=auth).json
    assert detail["reports"][0]["text"] == body


def wait_for_log(process, text: str, seconds: float = 60) -> None:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while text not in process.output() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert text in process.output(), process.output()[-2000:]


# RQ installs its signal handlers after "Listening on"; its first registry cleaning runs inside
# the work loop, after them
WORKING = "cleaning registries for queue"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_idle_worker_stops_when_asked(pg_url, redis_url, tmp_path, sig):
    """A deploy's SIGTERM to an idle worker ends it at once (it used to restart itself and
    wait for the supervisor's SIGKILL)."""
    from tests.servers import worker

    process = worker(worker_env(pg_url, redis_url), tmp_path / "worker.log")
    try:
        wait_for_log(process, WORKING)
        process.process.send_signal(sig)
        assert process.process.wait(15) == 0, process.output()[-2000:]
        assert "restarting" not in process.output()
    finally:
        process.stop()


def test_worker_schedules_in_its_own_process(pg_url, redis_url, tmp_path):
    """RQ's scheduler used to be a process forked from the worker while the outbox sweeper's
    thread ran: a fork can copy a lock that thread held (logging's, the Redis pool's) and the
    child then waits for ever, so no timer fires and the worker's stop waits on the child (a CI
    run saw an idle worker ignore SIGTERM for 15 s). It now runs as a thread of the worker."""
    from datetime import timedelta

    import redis
    from rq import Queue
    from rq.job import Job

    from tests.servers import worker
    from workers.timers import follow_up_timeout

    process = worker(worker_env(pg_url, redis_url), tmp_path / "worker.log")
    try:
        wait_for_log(process, WORKING)
        wait_for_log(process, "Scheduler for")
        assert process.descendants() == [], process.output()[-2000:]
        connection = redis.Redis.from_url(redis_url)
        due = Queue("timers", connection=connection).enqueue_in(
            timedelta(seconds=2), follow_up_timeout, 987654321)  # no such report: a no-op
        deadline = time.monotonic() + 30
        while Job.fetch(due.id, connection=connection).get_status() != "finished":
            assert time.monotonic() < deadline, process.output()[-2000:]
            time.sleep(0.2)
        process.process.send_signal(signal.SIGTERM)
        assert process.process.wait(15) == 0, process.output()[-2000:]
        assert "Scheduler stopped" in process.output()
    finally:
        process.stop()


def test_worker_waiting_out_a_redis_outage_stops_when_asked(pg_url, tmp_path):
    from tests.servers import RedisServer, worker

    server = RedisServer()
    server.start()
    process = worker(worker_env(pg_url, server.url), tmp_path / "worker.log")
    try:
        wait_for_log(process, WORKING)
        server.stop()
        wait_for_log(process, "could not connect to Redis")  # RQ's own reconnect loop
        process.process.send_signal(signal.SIGTERM)
        assert process.process.wait(15) == 0, process.output()[-2000:]
    finally:
        process.stop()
        server.stop()


def test_between_workers_a_stop_request_ends_the_wait_for_redis():
    """When RQ gives up on Redis the worker waits for it itself; a SIGTERM then must end the
    wait, and never reach the handlers of the RQ worker that gave up (they talk to Redis: a
    CI run once saw one raise ConnectionError from the handler and the worker exit 1)."""
    import os
    import threading

    from workers.start import _remember_signals, _wait_for_redis

    class Away:
        pings = 0

        def ping(self) -> bool:
            self.pings += 1
            return self.pings > 5  # back after 5 s: too late, the stop came first

    seen: list[int] = []

    def before(signum: int, _frame: object) -> None:  # so a regression cannot kill pytest
        seen.append(signum)

    previous = signal.signal(signal.SIGTERM, before)
    try:
        timer = threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGTERM))
        timer.start()
        backend = Away()
        asked = threading.Event()
        _remember_signals(asked.set)  # what run_worker does as soon as an RQ worker ends
        assert _wait_for_redis(backend, asked) is False
        assert backend.pings < 5 and seen == []
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_worker_recycles_after_max_jobs(pg_app, pg_client, pg_url, redis_url, twilio):
    for i in range(3):
        twilio.post_sms(pg_client, f"ICE at 6060{i + 1}", from_number=f"+1312555014{i}")
    result = subprocess.run(
        [sys.executable, "-m", "hotline.cli", "worker", "--max-jobs", "2"],
        env=worker_env(pg_url, redis_url), cwd=ROOT, capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert output.count("Successfully completed") == 2, output[-3000:]
    assert "exiting to be started afresh" in output
    # the rest waits for the next process
    from rq import Queue

    from hotline.jobs import outbox

    left = sum(Queue(name, connection=outbox.backend_of(pg_app).redis).count
               for name in outbox.QUEUES)
    assert left >= 1


def test_the_access_log_keeps_no_query_string(tmp_path, pg_url, redis_url):
    """gunicorn as the Procfile runs it logs paths only: a GET's query could carry a number."""
    import requests as http

    from tests.servers import free_port, gunicorn

    port = free_port()
    web = gunicorn(worker_env(pg_url, redis_url), port, tmp_path / "web.log")
    try:
        http.get(f"http://127.0.0.1:{port}/healthz?From=%2B13125550123&Body=secret", timeout=10)
        time.sleep(0.5)
        log = web.output()
    finally:
        web.stop()
    assert "GET /healthz" in log
    assert "5550123" not in log and "secret" not in log
