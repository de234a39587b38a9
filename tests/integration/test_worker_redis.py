"""The worker's own Redis traffic: RQ heartbeats three times a job, three round trips each, and
writes IDLE twice between jobs; Hotline's worker sends its own heartbeat every few seconds in
one round trip and writes a state only when it changes, and stays registered and alive."""

from __future__ import annotations

import pytest
import redis
from rq import Queue

from workers.start import HEARTBEAT_EVERY, _Worker

pytestmark = [pytest.mark.redis]


def test_twenty_jobs_cost_no_heartbeat_round_trips_of_their_own(redis_url, monkeypatch):
    connection = redis.Redis.from_url(redis_url)
    queue = Queue("triage", connection=connection)
    for i in range(20):
        queue.enqueue("builtins.len", args=([i],), result_ttl=60)
    worker = _Worker([queue], connection=connection)
    direct: list[tuple[str, str]] = []  # commands on the worker's key, one round trip each
    hset, expire = connection.hset, connection.expire

    def counted_hset(name, key=None, value=None, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if name == worker.key:
            direct.append(("hset", key))
        return hset(name, key, value, *args, **kwargs)

    def counted_expire(name, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if name in (worker.key, worker.executions_key):
            direct.append(("expire", name))
        return expire(name, *args, **kwargs)

    monkeypatch.setattr(connection, "hset", counted_hset)
    monkeypatch.setattr(connection, "expire", counted_expire)
    alive_ttl: list[int] = []
    original_execute = _Worker.execute_job

    def execute(self, job, queue_):  # noqa: ANN001, ANN202
        alive_ttl.append(connection.ttl(self.key))  # registered and not about to expire
        return original_execute(self, job, queue_)

    monkeypatch.setattr(_Worker, "execute_job", execute)
    assert worker.work(burst=True)
    assert worker.jobs_done == 20
    beats = [c for c in direct if c in (("hset", "last_heartbeat"),)]
    assert beats == [], direct  # RQ's own worker sends about 60 here, each a round trip
    states = [c for c in direct if c == ("hset", "state")]
    assert len(states) <= 22, direct  # IDLE once a job, not twice (RQ: about 40)
    assert HEARTBEAT_EVERY <= 10
    assert len(alive_ttl) == 20 and min(alive_ttl) > 60
