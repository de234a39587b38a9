"""The outbox: durable background work recorded in the caller's transaction.

`defer()` records a job as an `OutboxJob` row in the caller's transaction. When that transaction
commits, the job is handed to the backend: RQ on Redis in production, a worker thread in the
embedded default. If Redis is unreachable the row simply stays pending and the sweeper hands it
over later, so a commit never loses work and nothing is enqueued for a rolled-back transaction.
Jobs mark their own row done in the same transaction as their work. The backends live beside
this module: `rq_backend` (Redis), `inline` (a thread of this process), chosen by `backends`;
`sweeper` hands RQ what it missed; `leases` tell a running job from an abandoned one.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from flask import Flask, current_app, has_app_context
from sqlalchemy import event, update
from sqlalchemy.orm import Session

from hotline.core.extensions import db
from hotline.models import OutboxJob, utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobSpec:
    """Where a job's code lives and which queue runs it."""

    func: str
    queue: str
    timeout: int = 60


JOBS: dict[str, JobSpec] = {
    # fetching a message's media first (at most about 20 s, the rest later by fetch_media)
    "triage_message": JobSpec("workers.triage.triage_message", "triage", timeout=180),
    "fetch_media": JobSpec("workers.triage.fetch_media", "triage", timeout=600),
    "send_sms": JobSpec("workers.alerts.send_sms", "alerts", timeout=120),
    "send_reply": JobSpec("workers.alerts.send_reply", "replies", timeout=120),
    "escalation_timer": JobSpec("workers.timers.escalation_timer", "timers"),
    "verification_timeout": JobSpec("workers.timers.verification_timeout", "timers"),
    "expire_incident": JobSpec("workers.timers.expire_incident", "timers"),
    "follow_up_timeout": JobSpec("workers.timers.follow_up_timeout", "timers"),
    "broadcast_pump": JobSpec("workers.broadcasts.broadcast_pump", "broadcasts", timeout=120),
    "purge_expired": JobSpec("workers.maintenance.purge_expired", "maintenance", timeout=1800),
}
# in priority order: pages and verifier requests; the timers that page people; community
# alerts (a tick of about a second each, one at a time per broadcast); triage; the replies to
# reporters (acknowledgements, follow-up questions, relays); maintenance
QUEUES = ("alerts", "timers", "broadcasts", "triage", "replies", "maintenance")
MAX_ATTEMPTS = 8


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


def schedule_daily(session: Session) -> bool:
    """Record today's maintenance jobs once (deduplicated by date); True if newly recorded."""
    today = utcnow().date().isoformat()
    return defer(session, "purge_expired", dedupe_key=f"purge:{today}") is not None


def reschedule(outbox_id: int) -> None:
    """Back a failed job's row off (exponentially, with jitter), or give it up."""
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
    with db.new_session() as session:
        session.execute(
            update(OutboxJob).where(OutboxJob.id == outbox_id).values(
                attempts=OutboxJob.attempts + 1,
                last_error=f"{type(exc).__name__}: {str(exc)[:300]}",
            )
        )
        session.commit()


def backend_of(app: Flask) -> Backend:
    """The job backend bound to `app`."""
    return app.extensions["hotline_jobs"]
