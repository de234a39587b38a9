"""The sweeper: hands RQ every committed outbox job it does not hold (Redis was away, a
worker was killed mid-job, a job taken ahead failed or died with its worker), so a commit never
loses work. A job whose lease is held is running somewhere, and is left alone."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from hotline.jobs import leases
from hotline.jobs.outbox import MAX_ATTEMPTS
from hotline.jobs.rq_backend import RQBackend
from hotline.models import OutboxJob, utcnow

logger = logging.getLogger(__name__)
ABANDONED_AFTER = timedelta(seconds=15)
SWEEP_GRACE = timedelta(seconds=20)


def pending_query(now: datetime) -> Select:
    """The pending outbox jobs the sweeper looks at, oldest first (by `ix_outbox_jobs_pending`:
    the table keeps every done job, one or more per message)."""
    return select(OutboxJob).where(
        OutboxJob.done_at.is_(None), OutboxJob.failed_at.is_(None),
        OutboxJob.created_at < now - SWEEP_GRACE).order_by(OutboxJob.run_at).limit(500)


def sweep_outbox(session: Session, backend: RQBackend, now: datetime | None = None) -> int:
    """Hand RQ every pending job it does not hold; returns how many were (re-)enqueued."""
    now = now or utcnow()
    rows = session.scalars(pending_query(now)).all()
    handed = 0
    for row in rows:
        try:
            job = Job.fetch(f"outbox-{row.id}", connection=backend.redis)
            status = job.get_status()
        except (NoSuchJobError, InvalidJobOperation):  # gone, or gone between the two reads
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
        if status in (None, JobStatus.FINISHED) and _running(session, row.id):
            # no RQ job, or one that ended without the work (it found the lease held): a triage
            # job that took it ahead (`workers.triage.run_ahead`) is running it now
            continue
        if row.attempts >= MAX_ATTEMPTS:
            row.failed_at = now
            logger.error("outbox job %s (%s) gave up after %d attempts", row.id, row.job,
                         row.attempts)
            continue
        if status not in (None, JobStatus.FINISHED):
            row.attempts += 1  # it failed in RQ (retries exhausted or the worker died)
        backend.enqueue(row.id, row.job, list(row.args), row.run_at)
        handed += 1
    session.flush()
    if handed:
        logger.info("sweeper handed %d pending job(s) to RQ", handed)
    return handed


def _running(session: Session, outbox_id: int) -> bool:
    """Whether some worker holds the job's lease (PostgreSQL; elsewhere nobody can tell)."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    return not leases.is_free(session.get_bind(), outbox_id)


def _abandoned(session: Session, job: Job, now: datetime) -> bool:
    """A started job whose lease nobody holds: its worker is gone."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    started = job.started_at
    if started is None or now - started.replace(tzinfo=UTC) < ABANDONED_AFTER:
        return False
    outbox_id = int(job.id.removeprefix("outbox-"))
    return leases.is_free(session.get_bind(), outbox_id)
