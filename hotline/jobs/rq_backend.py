"""The production backend: outbox jobs on RQ queues in Redis, enqueued in one round trip with
the webhook's rate-limit counter; Redis being away loses nothing.

A job due now is written by one Lua script (`_ENQUEUE`) that does what RQ's `Queue.enqueue`
does on a pipeline (the queue in `rq:queues`, the job's hash, its id pushed on the queue) and
bumps the counter. The hash is RQ's own: `Job.to_dict()` of a job RQ built for the same
function and options once per process, with only what differs between two jobs replaced
(the id, the times, the pickled arguments, the description). Through RQ's Python the same
cost about 0.1 ms more CPU a webhook (MULTI/EXEC around six commands, a Job object each
time); `tests/test_rq_enqueue.py` holds the two to the same Redis state. A job due later
goes through RQ (its scheduler's registry).
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import RedisError, ResponseError
from rq import Queue, Retry
from rq.job import Job, JobStatus
from rq.utils import utcformat

from hotline.jobs.outbox import JOBS, Counter, Pending

logger = logging.getLogger(__name__)
RETRY = Retry(max=3, interval=[5, 30, 120])  # RQ reads it when enqueueing, never changes it

# KEYS[1]: RQ's set of queues; KEYS[2]: the counter (when there is one). ARGV[1]: the
# counter's TTL; then per job: its queue's key, its hash's key, its id, how many fields and
# values follow, and those, in the order RQ writes them. The counter comes first (as it did
# in MULTI/EXEC) and may fail alone: a key that holds no number returns -1 and the jobs are
# still written.
_ENQUEUE = """
local count = false
if KEYS[2] then
  count = redis.pcall('INCR', KEYS[2])
  if type(count) == 'table' then
    count = -1
  else
    redis.call('EXPIRE', KEYS[2], ARGV[1])
  end
end
local i = 2
while i <= #ARGV do
  local width = tonumber(ARGV[i + 3])
  redis.call('SADD', KEYS[1], ARGV[i])
  redis.call('HSET', ARGV[i + 1], unpack(ARGV, i + 4, i + 3 + width))
  redis.call('RPUSH', ARGV[i], ARGV[i + 2])
  i = i + 4 + width
end
return count
"""


@dataclass(frozen=True)
class _Template:
    """One job's RQ hash as RQ writes it for a job function; a job's own values replace
    `created_at`, `enqueued_at`, `data` and `description`."""

    queue_key: str
    func_name: str
    fields: dict[str, Any]
    serializer: Any

    def argv(self, outbox_id: int, name: str, args: list[Any], at: str) -> list[Any]:
        """The script's arguments for one job: queue key, hash key, id, count, fields."""
        job_id = f"outbox-{outbox_id}"
        values = dict(self.fields, created_at=at, enqueued_at=at, description=_describe(
            name, outbox_id), data=zlib.compress(self.serializer.dumps(
                (self.func_name, None, tuple(args), {"outbox_id": outbox_id}))))
        flat: list[Any] = [self.queue_key, Job.key_for(job_id), job_id, 2 * len(values)]
        for field, value in values.items():
            flat += (field, value)
        return flat


def _due_later(run_at: datetime, now: datetime) -> bool:
    """Whether a job goes to RQ's scheduler rather than straight onto its queue."""
    return run_at > now + timedelta(seconds=1)


def _describe(name: str, outbox_id: int) -> str:
    return f"{name} (outbox {outbox_id})"


def _options(name: str, outbox_id: int) -> dict[str, Any]:
    """RQ's options for an outbox job: the one place they are written."""
    spec = JOBS[name]
    return {"job_id": f"outbox-{outbox_id}", "retry": RETRY, "result_ttl": 3600,
            "failure_ttl": 7 * 24 * 3600, "description": _describe(name, outbox_id),
            "kwargs": {"outbox_id": outbox_id}, "timeout": spec.timeout}


class RQBackend:
    """Enqueues outbox jobs on RQ queues; tolerates Redis being down."""

    def __init__(self, redis_url: str) -> None:
        self.redis = Redis.from_url(redis_url, socket_connect_timeout=0.5, socket_timeout=2,
                                    health_check_interval=30)
        self._down_until = 0.0
        self._queues: dict[str, Queue] = {}
        self._templates: dict[str, _Template] = {}
        self._script = self.redis.register_script(_ENQUEUE)

    def queue(self, name: str) -> Queue:
        """The RQ queue called `name` (built once: this is on the webhook's path)."""
        queue = self._queues.get(name)
        if queue is None:
            queue = self._queues[name] = Queue(name, connection=self.redis)
        return queue

    def template(self, name: str) -> _Template:
        """The RQ hash of job `name`, built by RQ once per process (cheap, no Redis)."""
        template = self._templates.get(name)
        if template is None:
            spec = JOBS[name]
            queue = self.queue(spec.queue)
            options = _options(name, 0)
            job = queue.create_job(spec.func, args=(0,), kwargs=options.pop("kwargs"),
                                   status=JobStatus.QUEUED, **options)
            job.origin = queue.name  # what RQ sets as it enqueues (Queue._prepare_for_queue)
            job.enqueued_at = job.created_at
            fields = {key: value.value if isinstance(value, JobStatus) else value
                      for key, value in job.to_dict().items()}
            template = self._templates[name] = _Template(queue.key, job.func_name, fields,
                                                         job.serializer)
        return template

    def dispatch(self, jobs: list[Pending], counter: Counter | None = None) -> int | None:
        """Enqueue the jobs (deterministic ids) and bump `counter`, all in one round trip; on
        Redis trouble leave the jobs to the sweeper and return None."""
        if time.monotonic() < self._down_until:
            logger.warning("redis marked down; %d job(s) left for the sweeper", len(jobs))
            return None
        now = datetime.now(UTC)
        if not any(_due_later(run_at, now) for _, _, _, run_at in jobs):
            return self._dispatch_now(jobs, counter, now)

        def send() -> list[Any]:
            pipe = self.redis.pipeline()
            pipe.multi()  # explicit MULTI first: RQ asks for it when it enqueues on a pipeline
            if counter is not None:
                pipe.incr(counter.key)
                pipe.expire(counter.key, counter.ttl)
            for outbox_id, name, args, run_at in jobs:
                self.enqueue(outbox_id, name, args, run_at, pipeline=pipe)
            return pipe.execute()

        results = self._sent(send)
        return int(results[0]) if counter is not None and results is not None else None

    def _dispatch_now(self, jobs: list[Pending], counter: Counter | None,
                      now: datetime) -> int | None:
        """Jobs due now, by the script: RQ's hashes and queue pushes, and the counter."""
        if not jobs and counter is None:
            return None
        at = utcformat(now)
        argv: list[Any] = [counter.ttl if counter is not None else 0]
        for outbox_id, name, args, _ in jobs:
            argv += self.template(name).argv(outbox_id, name, args, at)
        keys = [Queue.redis_queues_keys] + ([counter.key] if counter is not None else [])
        count = self._sent(lambda: self._script(keys=keys, args=argv))
        if counter is None or count is None:
            return None
        if int(count) < 0:
            logger.error("redis refused the rate counter of a dispatch (its key holds no "
                         "number); the jobs were enqueued")
            return None
        return int(count)

    def _sent(self, send: Callable[[], Any]) -> Any:  # noqa: ANN401 - what `send` returns
        """`send()`, or None on Redis trouble: the jobs are then left to the sweeper."""
        try:
            return send()
        except ResponseError:
            # Redis answered but refused a command, or the script failed: not an outage, so no
            # pause. What was applied stays (a queued job runs, and marks its row done); the
            # sweeper hands RQ whatever did not land
            logger.exception("redis refused a command of a dispatch")
        except RedisError as exc:
            # Stop trying for a few seconds so webhooks stay fast while Redis is away.
            self._down_until = time.monotonic() + 5
            logger.warning("redis unavailable (%s); jobs left for the sweeper",
                           type(exc).__name__)
        return None

    def enqueue(self, outbox_id: int, name: str, args: list[Any], run_at: datetime,
                pipeline: Pipeline | None = None) -> Job:
        """Put one outbox job on its queue (or the scheduler when it is due later); with
        `pipeline`, the commands are queued on it and run when the caller executes it."""
        queue = self.queue(JOBS[name].queue)
        options = _options(name, outbox_id)
        options.update(args=tuple(args), job_timeout=options.pop("timeout"), pipeline=pipeline)
        if _due_later(run_at, datetime.now(UTC)):
            return queue.enqueue_at(run_at, JOBS[name].func, **options)
        return queue.enqueue(JOBS[name].func, **options)

    def ping(self) -> bool:
        """True when Redis answers."""
        try:
            return bool(self.redis.ping())
        except RedisError:
            return False
