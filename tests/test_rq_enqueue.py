"""The enqueue script writes what RQ's own `Queue.enqueue` writes, on the real Redis.

The webhook hands its triage job to RQ through one Lua script (`hotline.jobs.rq_backend`) to
save RQ's Python per job; these tests hold it to RQ: the same keys, the same hash field by
field (but the times and what holds the job's id), a job RQ reads back and runs as its own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis as redis_lib
from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry

from hotline.jobs.outbox import JOBS, QUEUES, Counter
from hotline.jobs.rq_backend import RQBackend

pytestmark = pytest.mark.redis

# what differs between two jobs of one function: their times, their id (in the description and
# in the pickled arguments, compared once read back)
_OWN = {b"created_at", b"enqueued_at", b"description", b"data"}


def _state(connection: redis_lib.Redis, job_id: str) -> dict[str, object]:
    job_key = Job.key_for(job_id)
    return {"hash": connection.hgetall(job_key), "ttl": connection.ttl(job_key),
            "type": connection.type(job_key)}


def _by_rq(backend: RQBackend, outbox_id: int, name: str, args: list[int]) -> datetime:
    """One job enqueued by RQ's own `Queue.enqueue` (the backend's path for jobs due later);
    returns when."""
    now = datetime.now(UTC)
    pipe = backend.redis.pipeline()
    pipe.multi()
    backend.enqueue(outbox_id, name, args, now, pipeline=pipe)
    pipe.execute()
    return now


def _keyspace(connection: redis_lib.Redis) -> dict[bytes, tuple[object, ...]]:
    """Every key of the db: its type, TTL and contents (a job hash without its two times)."""
    readers = {b"hash": connection.hgetall, b"list": lambda k: connection.lrange(k, 0, -1),
               b"set": connection.smembers, b"string": connection.get,
               b"zset": lambda k: connection.zrange(k, 0, -1, withscores=True)}
    found = {}
    for key in connection.scan_iter():
        kind = connection.type(key)
        value = readers[kind](key)
        if kind == b"hash":
            value = {k: v for k, v in value.items() if k not in (b"created_at", b"enqueued_at")}
        found[key] = (kind, connection.ttl(key), value)
    return found


@pytest.mark.parametrize("name", sorted(JOBS))
def test_the_script_leaves_redis_as_rq_s_own_enqueue_does(redis_url, name):
    """On an empty db, the same job (id, arguments) by RQ and by the script: the same keys,
    types, TTLs and contents, the pickled arguments byte for byte; only the times differ."""
    backend = RQBackend(redis_url)
    connection = backend.redis
    now = _by_rq(backend, 5, name, [105])
    by_rq = _keyspace(connection)
    connection.flushdb()
    assert backend.dispatch([(5, name, [105], now)]) is None
    assert _keyspace(connection) == by_rq
    assert set(by_rq) == {Job.key_for("outbox-5").encode(), Queue.redis_queues_keys.encode(),
                          backend.queue(JOBS[name].queue).key.encode()}


@pytest.mark.parametrize("name", sorted(JOBS))
def test_the_script_writes_the_hash_and_queue_rq_writes(redis_url, name):
    backend = RQBackend(redis_url)
    connection = backend.redis
    now = _by_rq(backend, 1, name, [101])
    assert backend.dispatch([(2, name, [102], now)]) is None
    by_rq, by_script = _state(connection, "outbox-1"), _state(connection, "outbox-2")
    assert by_script["type"] == by_rq["type"] == b"hash"
    assert by_script["ttl"] == by_rq["ttl"]
    rq_hash, script_hash = by_rq["hash"], by_script["hash"]
    assert set(script_hash) == set(rq_hash)
    assert {k: v for k, v in script_hash.items() if k not in _OWN} == \
        {k: v for k, v in rq_hash.items() if k not in _OWN}
    queue = backend.queue(JOBS[name].queue)
    assert queue.job_ids == ["outbox-1", "outbox-2"]
    assert connection.smembers(Queue.redis_queues_keys) == {queue.key.encode()}
    first, second = Job.fetch("outbox-1", connection), Job.fetch("outbox-2", connection)
    for job, outbox_id, arg in ((first, 1, 101), (second, 2, 102)):
        assert job.func_name == JOBS[name].func
        assert job.args == (arg,) and job.kwargs == {"outbox_id": outbox_id}
        assert job.description == f"{name} (outbox {outbox_id})"
        assert job.get_status() == JobStatus.QUEUED
        assert job.origin == JOBS[name].queue
    assert (second.timeout, second.retries_left, second.retry_intervals, second.result_ttl,
            second.failure_ttl) == (JOBS[name].timeout, 3, [5, 30, 120], 3600, 7 * 24 * 3600)
    assert abs(second.enqueued_at.replace(tzinfo=UTC) - now) < timedelta(seconds=2)
    assert abs(second.created_at.replace(tzinfo=UTC) - now) < timedelta(seconds=2)


def ran(value: str, outbox_id: int) -> str:
    """A job function that needs no app (RQ imports it by its path)."""
    return f"{value} {outbox_id}"


def test_a_job_of_the_script_is_run_by_an_rq_worker(redis_url):
    """RQ's worker dequeues it, calls the function with its arguments, records it finished."""
    backend = RQBackend(redis_url)
    name = "triage_message"
    template = backend.template(name)
    # the same hash, pointing at a function that needs no app
    backend._templates[name] = type(template)(template.queue_key, f"{__name__}.ran",
                                              template.fields, template.serializer)
    assert backend.dispatch([(7, name, ["ran"], datetime.now(UTC))]) is None
    queue = backend.queue("triage")
    worker = SimpleWorker([queue], connection=backend.redis)
    assert worker.work(burst=True)
    job = Job.fetch("outbox-7", backend.redis)
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == "ran 7"
    assert queue.count == 0


def test_the_counter_counts_in_the_same_round_trip(redis_url):
    backend = RQBackend(redis_url)
    counter = Counter("hotline:rate:test:1", ttl=120)
    now = datetime.now(UTC)
    before = backend.redis.info("commandstats")
    counts = [backend.dispatch([(n, "triage_message", [n], now)], counter) for n in range(1, 4)]
    counts.append(backend.dispatch([], counter))  # a keyword: counted, nothing enqueued
    after = backend.redis.info("commandstats")
    assert counts == [1, 2, 3, 4]
    assert 0 < backend.redis.ttl(counter.key) <= 120
    assert backend.queue("triage").job_ids == ["outbox-1", "outbox-2", "outbox-3"]

    def calls(stats: dict, command: str) -> int:
        return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))

    # one script call a dispatch: no MULTI/EXEC
    assert calls(after, "evalsha") - calls(before, "evalsha") == 4
    assert calls(after, "multi") == calls(before, "multi")


def test_jobs_due_later_go_to_rq_s_scheduler(redis_url):
    backend = RQBackend(redis_url)
    now = datetime.now(UTC)
    counter = Counter("hotline:rate:test:2", ttl=60)
    count = backend.dispatch([(1, "escalation_timer", [5], now + timedelta(minutes=5)),
                              (2, "send_sms", [6], now)], counter)
    assert count == 1
    registry = ScheduledJobRegistry("timers", connection=backend.redis)
    assert registry.get_job_ids() == ["outbox-1"]
    assert backend.queue("alerts").job_ids == ["outbox-2"]


def test_many_jobs_of_different_functions_in_one_call(redis_url):
    backend = RQBackend(redis_url)
    now = datetime.now(UTC)
    jobs = [(n, name, [n * 10], now) for n, name in enumerate(sorted(JOBS), start=1)]
    assert backend.dispatch(jobs) is None
    for outbox_id, name, args, _ in jobs:
        job = Job.fetch(f"outbox-{outbox_id}", backend.redis)
        assert (job.func_name, job.args, job.origin) == (JOBS[name].func, tuple(args),
                                                         JOBS[name].queue)
    queued = {q: backend.queue(q).job_ids for q in QUEUES}
    assert sum(len(ids) for ids in queued.values()) == len(JOBS)


def test_redis_away_leaves_the_jobs_to_the_sweeper():
    backend = RQBackend("redis://127.0.0.1:1/0")  # nothing listens there
    assert backend.dispatch([(1, "triage_message", [1], datetime.now(UTC))],
                            Counter("hotline:rate:x:1", 60)) is None
    assert backend.dispatch([(2, "triage_message", [2], datetime.now(UTC))]) is None


def test_a_refused_counter_pauses_nothing_and_the_job_is_still_queued(redis_url, caplog):
    """INCR refused (the counter's key holds no number): Redis answered, so no pause; the job
    is queued all the same, and the webhook counts in the database instead."""
    backend = RQBackend(redis_url)
    counter = Counter("hotline:rate:test:3", ttl=60)
    backend.redis.set(counter.key, "not a number")
    assert backend.dispatch([(1, "triage_message", [1], datetime.now(UTC))], counter) is None
    assert "refused" in caplog.text
    assert backend.queue("triage").job_ids == ["outbox-1"]
    backend.redis.delete(counter.key)
    assert backend.dispatch([(2, "triage_message", [2], datetime.now(UTC))], counter) == 1
