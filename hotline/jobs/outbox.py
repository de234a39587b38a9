"""Durable background work: the outbox table, and the backends that run it.

`defer()` records a job as an `OutboxJob` row in the caller's transaction. When that transaction
commits, the job is handed to the backend: RQ on Redis in production, a worker thread in the
embedded default. If Redis is unreachable the row simply stays pending and the sweeper hands it
over later, so a commit never loses work and nothing is enqueued for a rolled-back transaction.
Jobs mark their own row done in the same transaction as their work.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from flask import Flask, current_app, has_app_context
from redis import Redis
from redis.client import Pipeline
from redis.exceptions import RedisError, ResponseError
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from sqlalchemy import event, select, text, update
from sqlalchemy.orm import Session

from hotline.models import OutboxJob, utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobSpec:
    """Where a job's code lives and which queue runs it."""

    func: str
    queue: str
    timeout: int = 60


JOBS: dict[str, JobSpec] = {
    "triage_message": JobSpec("workers.triage.triage_message", "triage"),
    "send_sms": JobSpec("workers.alerts.send_sms", "alerts", timeout=120),
    "escalation_timer": JobSpec("workers.timers.escalation_timer", "timers"),
    "verification_timeout": JobSpec("workers.timers.verification_timeout", "timers"),
    "expire_incident": JobSpec("workers.timers.expire_incident", "timers"),
    "purge_expired": JobSpec("workers.maintenance.purge_expired", "maintenance", timeout=1800),
}
QUEUES = ("alerts", "triage", "timers", "maintenance")  # in priority order
MAX_ATTEMPTS = 8
LEASE_NAMESPACE = 0x4A62  # advisory-lock namespace of running jobs ("Jb")
ABANDONED_AFTER = timedelta(seconds=15)
SWEEP_GRACE = timedelta(seconds=20)
RETRY = Retry(max=3, interval=[5, 30, 120])  # RQ reads it when enqueueing, never changes it


@dataclass(frozen=True)
class Deferred:
    """A committed-to-be outbox row, as handed to the backend after the commit."""

    id: int
    job: str
    args: list[Any]
    run_at: datetime


_DEFER_STATEMENTS: dict[tuple[str, bool], Any] = {}


def _defer_statement(dialect: str, deduplicated: bool) -> Any:  # noqa: ANN401
    """INSERT ... RETURNING id, built once per dialect (this runs on the webhook's path)."""
    key = (dialect, deduplicated)
    if key not in _DEFER_STATEMENTS:
        from sqlalchemy import bindparam
        from sqlalchemy.dialects.postgresql import insert as pg_insert
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        table = OutboxJob.__table__
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert(table).values(
            job=bindparam("job"), args=bindparam("args", type_=table.c.args.type),
            dedupe_key=bindparam("dedupe_key"), run_at=bindparam("run_at",
                                                                 type_=table.c.run_at.type),
            created_at=bindparam("created_at", type_=table.c.created_at.type), attempts=0)
        if deduplicated:
            stmt = stmt.on_conflict_do_nothing(index_elements=[table.c.dedupe_key])
        _DEFER_STATEMENTS[key] = stmt.returning(table.c.id)
    return _DEFER_STATEMENTS[key]


def defer(
    session: Session,
    job: str,
    *args: Any,
    run_at: datetime | None = None,
    dedupe_key: str | None = None,
    track: bool = True,
) -> Deferred | None:
    """Record `job(*args)` to run after the current transaction commits (at `run_at` if given).

    With a `dedupe_key`, a second job with the same key is not recorded (returns None).
    """
    if job not in JOBS:
        raise KeyError(f"unknown job {job!r}")
    now = utcnow()
    stmt = _defer_statement(session.get_bind().dialect.name, dedupe_key is not None)
    row_id = session.execute(stmt, {"job": job, "args": list(args), "dedupe_key": dedupe_key,
                                    "run_at": run_at or now, "created_at": now}
                             ).scalar_one_or_none()
    if row_id is None:
        return None
    deferred = Deferred(row_id, job, list(args), run_at or now)
    if track:
        track_deferred(session, deferred)
    return deferred


def track_deferred(session: Session, deferred: Deferred) -> None:
    """Hand `deferred` to the backend when the session's transaction commits."""
    session.info.setdefault("hotline_deferred", []).append(deferred)


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session: Session) -> None:
    rows = session.info.pop("hotline_deferred", None)
    if rows and has_app_context():
        backend: Backend | None = current_app.extensions.get("hotline_jobs")
        if backend is not None:
            backend.dispatch([(d.id, d.job, d.args, d.run_at) for d in rows])


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, _previous: Any) -> None:
    session.info.pop("hotline_deferred", None)


Pending = tuple[int, str, list[Any], datetime]


@dataclass(frozen=True)
class Counter:
    """A fixed-window Redis counter bumped in the same round trip as a dispatch.

    The webhook counts each message against its sender's rate limit this way, so storing,
    enqueueing and counting cost one PostgreSQL and one Redis round trip between them.
    """

    key: str
    ttl: int  # seconds; the key expires once its window is long past


class Backend(Protocol):
    """Something that runs committed outbox jobs."""

    def dispatch(self, jobs: list[Pending], counter: Counter | None = None) -> int | None:
        """Hand over jobs whose rows are committed; must never raise.

        With `counter`, also increment it and return its new value; None when this backend keeps
        no counters or could not reach its store (the caller then counts in the database).
        """

    def ping(self) -> bool:
        """True when the backend can accept work."""


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


def sweep_outbox(session: Session, backend: RQBackend, now: datetime | None = None) -> int:
    """Hand RQ every pending job it does not hold; returns how many were (re-)enqueued."""
    now = now or utcnow()
    rows = session.scalars(
        select(OutboxJob)
        .where(OutboxJob.done_at.is_(None), OutboxJob.failed_at.is_(None),
               OutboxJob.created_at < now - SWEEP_GRACE)
        .order_by(OutboxJob.run_at)
        .limit(500)
    ).all()
    handed = 0
    for row in rows:
        try:
            job = Job.fetch(f"outbox-{row.id}", connection=backend.redis)
            status = job.get_status()
        except NoSuchJobError:
            job, status = None, None
        if status == JobStatus.STARTED and job is not None and _abandoned(session, job, now):
            # its worker died mid-job (SIGKILL, OOM, lost machine): run it again
            StartedJobRegistry(job.origin, connection=backend.redis).remove_executions(job)
            logger.warning("outbox job %s (%s) was abandoned by its worker; re-enqueued",
                           row.id, row.job)
            status = JobStatus.FAILED
        if status in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED,
                      JobStatus.DEFERRED):
            continue
        if status == JobStatus.FINISHED:
            continue  # its own commit marks the row; a finished job with a pending row re-runs
        if row.attempts >= MAX_ATTEMPTS:
            row.failed_at = now
            logger.error("outbox job %s (%s) gave up after %d attempts", row.id, row.job,
                         row.attempts)
            continue
        if status is not None:
            row.attempts += 1  # it failed in RQ (retries exhausted or the worker died)
        backend.enqueue(row.id, row.job, list(row.args), row.run_at)
        handed += 1
    session.flush()
    if handed:
        logger.info("sweeper handed %d pending job(s) to RQ", handed)
    return handed


def _abandoned(session: Session, job: Job, now: datetime) -> bool:
    """A started job whose lease nobody holds: its worker is gone."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    started = job.started_at
    if started is None or now - started.replace(tzinfo=UTC) < ABANDONED_AFTER:
        return False
    outbox_id = int(job.id.removeprefix("outbox-"))
    with session.get_bind().connect() as connection:
        free = connection.scalar(text("SELECT pg_try_advisory_lock(:ns, :id)"),
                                 {"ns": LEASE_NAMESPACE, "id": outbox_id})
        if free:
            connection.execute(text("SELECT pg_advisory_unlock(:ns, :id)"),
                               {"ns": LEASE_NAMESPACE, "id": outbox_id})
        connection.commit()
    return bool(free)


class InlineBackend:
    """Runs outbox jobs in a worker thread of this process (the embedded default)."""

    def __init__(self, app: Flask, autostart: bool = True) -> None:
        self.app = app
        self.autostart = autostart
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def dispatch(self, jobs: list[Pending], counter: Counter | None = None) -> int | None:
        """Wake the runner (starting it on first use); the rows themselves are the queue.

        Keeps no counters: the caller counts in the database.
        """
        if self.autostart and not self.ping():
            self.start()
        self._wake.set()
        return None

    def ping(self) -> bool:
        """The in-process runner is up when its thread is."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the runner thread (idempotent)."""
        if self.ping():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="hotline-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5) -> None:
        """Stop the runner thread after its current job."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run_pending(self, limit: int = 50) -> int:
        """Run due jobs now, in this thread; returns how many ran."""
        from hotline.core.extensions import db

        with self.app.app_context():
            with db.new_session() as session:
                due = session.scalars(
                    select(OutboxJob.id)
                    .where(OutboxJob.done_at.is_(None), OutboxJob.failed_at.is_(None),
                           OutboxJob.run_at <= utcnow())
                    .order_by(OutboxJob.run_at, OutboxJob.id)
                    .limit(limit)
                ).all()
        ran = 0
        for outbox_id in due:
            if self._stop.is_set():
                break
            with self.app.app_context():
                try:
                    run_outbox_job(outbox_id)
                except Exception:  # noqa: BLE001 - recorded on the row and retried with backoff
                    logger.exception("job for outbox %s failed", outbox_id)
                    _reschedule(outbox_id)
            ran += 1
        return ran

    def _loop(self) -> None:
        from hotline.core.extensions import db

        last_daily = 0.0
        while not self._stop.is_set():
            if time.monotonic() - last_daily > 3600:
                last_daily = time.monotonic()
                try:
                    with self.app.app_context(), db.new_session() as session:
                        schedule_daily(session)
                        session.commit()
                except Exception:  # noqa: BLE001 - retried within the hour
                    logger.exception("could not schedule the daily jobs")
            try:
                ran = self.run_pending()
            except Exception:  # noqa: BLE001 - a database hiccup must not kill the runner
                logger.exception("job runner iteration failed")
                ran = 0
            if not ran:
                self._wake.wait(0.5)
                self._wake.clear()


def schedule_daily(session: Session) -> bool:
    """Record today's maintenance jobs once (deduplicated by date); True if newly recorded."""
    today = utcnow().date().isoformat()
    return defer(session, "purge_expired", dedupe_key=f"purge:{today}") is not None


def _reschedule(outbox_id: int) -> None:
    from hotline.core.extensions import db

    with db.new_session() as session:
        row = session.get(OutboxJob, outbox_id)
        if row is None or row.done_at is not None:
            return
        if row.attempts >= MAX_ATTEMPTS:
            row.failed_at = utcnow()
        else:
            delay = min(300, 2 ** row.attempts) * (0.5 + random.random())
            row.run_at = utcnow() + timedelta(seconds=delay)
        session.commit()


def run_outbox_job(outbox_id: int) -> Any:
    """Run the job of one outbox row in this process (inside an app context)."""
    from hotline.core.extensions import db

    with db.new_session() as session:
        row = session.get(OutboxJob, outbox_id)
        if row is None or row.done_at is not None or row.failed_at is not None:
            return None
        func_path, args = JOBS[row.job].func, list(row.args)
    module_name, func_name = func_path.rsplit(".", 1)
    module = __import__(module_name, fromlist=[func_name])
    return getattr(module, func_name)(*args, outbox_id=outbox_id)


def record_failure(outbox_id: int, exc: BaseException) -> None:
    """Count a failed attempt on the row (in its own transaction; the job's was rolled back)."""
    from hotline.core.extensions import db

    with db.new_session() as session:
        session.execute(
            update(OutboxJob).where(OutboxJob.id == outbox_id).values(
                attempts=OutboxJob.attempts + 1,
                last_error=f"{type(exc).__name__}: {str(exc)[:300]}",
            )
        )
        session.commit()


def init_app(app: Flask) -> None:
    """Bind the job backend the settings ask for."""
    settings = app.config["SETTINGS"]
    backend: Backend
    if settings.queue_mode == "rq":
        backend = RQBackend(settings.redis_url)
    else:
        backend = InlineBackend(app, autostart=app.config.get("JOBS_AUTOSTART", True))
    app.extensions["hotline_jobs"] = backend


def backend_of(app: Flask) -> Backend:
    """The job backend bound to `app`."""
    return app.extensions["hotline_jobs"]
