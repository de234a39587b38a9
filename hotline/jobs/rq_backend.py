"""The production backend: outbox jobs on RQ queues in Redis, enqueued in one MULTI/EXEC
round trip with the webhook's rate-limit counter; Redis being away loses nothing."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import RedisError, ResponseError
from rq import Queue, Retry
from rq.job import Job

from hotline.jobs.outbox import JOBS, Counter, Pending

logger = logging.getLogger(__name__)
RETRY = Retry(max=3, interval=[5, 30, 120])  # RQ reads it when enqueueing, never changes it


class RQBackend:
    """Enqueues outbox jobs on RQ queues; tolerates Redis being down."""

    def __init__(self, redis_url: str) -> None:
        self.redis = Redis.from_url(redis_url, socket_connect_timeout=0.5, socket_timeout=2,
                                    health_check_interval=30)
        self._down_until = 0.0
        self._queues: dict[str, Queue] = {}

    def queue(self, name: str) -> Queue:
        """The RQ queue called `name` (built once: this is on the webhook's path)."""
        queue = self._queues.get(name)
        if queue is None:
            queue = self._queues[name] = Queue(name, connection=self.redis)
        return queue

    def dispatch(self, jobs: list[Pending], counter: Counter | None = None) -> int | None:
        """Enqueue the jobs (deterministic ids) and bump `counter`, all in one MULTI/EXEC round
        trip; on Redis trouble leave the jobs to the sweeper and return None."""
        if time.monotonic() < self._down_until:
            logger.warning("redis marked down; %d job(s) left for the sweeper", len(jobs))
            return None
        try:
            pipe = self.redis.pipeline()
            pipe.multi()  # explicit MULTI first: RQ asks for it when it enqueues on a pipeline
            if counter is not None:
                pipe.incr(counter.key)
                pipe.expire(counter.key, counter.ttl)
            for outbox_id, name, args, run_at in jobs:
                self.enqueue(outbox_id, name, args, run_at, pipeline=pipe)
            results = pipe.execute()
        except ResponseError:
            # Redis answered, but refused a command (EXEC has applied the rest): not an outage,
            # so no pause; the sweeper re-enqueues whatever did not land
            logger.exception("redis refused a command of a dispatch")
            return None
        except RedisError as exc:
            # Stop trying for a few seconds so webhooks stay fast while Redis is away.
            self._down_until = time.monotonic() + 5
            logger.warning("redis unavailable (%s); jobs left for the sweeper",
                           type(exc).__name__)
            return None
        return int(results[0]) if counter is not None else None

    def enqueue(self, outbox_id: int, name: str, args: list[Any], run_at: datetime,
                pipeline: Pipeline | None = None) -> Job:
        """Put one outbox job on its queue (or the scheduler when it is due later); with
        `pipeline`, the commands are queued on it and run when the caller executes it."""
        spec = JOBS[name]
        queue = self.queue(spec.queue)
        options: dict[str, Any] = {
            "args": tuple(args),
            "kwargs": {"outbox_id": outbox_id},
            "job_id": f"outbox-{outbox_id}",
            "retry": RETRY,
            "job_timeout": spec.timeout,
            "result_ttl": 3600,
            "failure_ttl": 7 * 24 * 3600,
            "description": f"{name} (outbox {outbox_id})",
            "pipeline": pipeline,
        }
        if run_at > datetime.now(UTC) + timedelta(seconds=1):
            return queue.enqueue_at(run_at, spec.func, **options)
        return queue.enqueue(spec.func, **options)

    def ping(self) -> bool:
        """True when Redis answers."""
        try:
            return bool(self.redis.ping())
        except RedisError:
            return False
