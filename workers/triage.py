"""Jobs of the `triage` queue; in a burst, a triage job takes on the messages queued behind it."""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext

from flask import current_app, has_app_context
from redis.exceptions import RedisError
from rq.job import Job
from sqlalchemy import bindparam, select

from hotline.core.extensions import db
from hotline.intake import dispatch, media
from hotline.jobs import outbox
from hotline.jobs.rq_backend import RQBackend
from hotline.models import OutboxJob, utcnow
from workers.base import job, run_job, worker_app

logger = logging.getLogger(__name__)

# A triage job that finds more triage jobs queued behind it runs them itself, one transaction
# each, before it returns: RQ's own bookkeeping (about a fifth of a message's CPU in a burst)
# is then paid once for several messages. Never more than this many, none started after this
# long, and none while a page, a timer or a community alert waits on a queue that comes first.
AHEAD_MESSAGES = 16
AHEAD_SECONDS = 0.25
_FIRST = outbox.QUEUES[:outbox.QUEUES.index("triage")]  # the queues RQ takes before triage
_ROW = select(OutboxJob.__table__.c.job, OutboxJob.__table__.c.args).where(
    OutboxJob.__table__.c.id == bindparam("id"))


def process_message(message_id: int) -> None:
    """One message's triage, the work of a `triage_message` job (in its transaction)."""
    dispatch.process_inbound_message(db.session, message_id)


triage_one = job(process_message)  # one message's job, taking on nothing queued behind it


def triage_message(message_id: int, outbox_id: int | None = None) -> None:
    """Process one stored inbound message: its media kept first, then a command, relay,
    follow-up answer, or new report. Then, on PostgreSQL and Redis, the triage jobs queued
    behind it (`run_ahead`)."""
    triage_one(message_id, outbox_id=outbox_id)
    if outbox_id is not None:
        run_ahead(own=f"outbox-{outbox_id}")


def run_ahead(limit: int = AHEAD_MESSAGES, seconds: float = AHEAD_SECONDS,
              own: str | None = None) -> int:
    """Take triage jobs off the head of the `triage` queue and run them here, each as its own
    outbox job (lease, guard, commit, a session of its own), starting none after `seconds`;
    returns how many were taken and run.

    A job is taken off the queue, and its RQ key deleted, in one Redis script: no other worker
    can take it too, and from then on its outbox row is its only record. It is run here, or
    handed back to RQ when it is not a message's triage. One that fails is recorded on its row
    and left there: the sweeper hands it to RQ again (as it does a job whose worker was killed,
    and as it would if this process died mid-way), up to the outbox's attempts. `own`: the job
    this process has just run, which RQ normally took off the queue already (a direct call,
    as in the tests, leaves it there).
    """
    inside = has_app_context()
    app = current_app._get_current_object() if inside else worker_app()
    backend = outbox.backend_of(app)
    if not isinstance(backend, RQBackend):
        return 0  # the embedded default: its runner takes the jobs in order anyway
    with nullcontext() if inside else app.app_context():
        if db.engine.dialect.name != "postgresql":
            return 0
        return _run_ahead(backend, limit, time.monotonic() + seconds, own)


# Take the job at the head of the triage queue, unless a queue RQ takes first holds a job,
# and delete its RQ key in the same step: the outbox row is then the job's only record, so
# that if this process dies the sweeper (which skips jobs RQ still holds) hands it out again.
# KEYS[1]: the triage queue; KEYS[2..]: the queues before it. ARGV[1]: RQ's job key prefix.
_TAKE = """
for i = 2, #KEYS do
  if redis.call('LLEN', KEYS[i]) > 0 then return false end
end
local head = redis.call('LINDEX', KEYS[1], 0)
if not head or string.sub(head, 1, 7) ~= 'outbox-' then return false end
redis.call('LPOP', KEYS[1])
redis.call('DEL', ARGV[1] .. head)
return head
"""


def _run_ahead(backend: RQBackend, limit: int, deadline: float, own: str | None) -> int:
    take = backend.redis.register_script(_TAKE)
    keys = [backend.queue(name).key for name in ("triage", *_FIRST)]
    prefix = Job.key_for("")  # "rq:job:"
    ran = 0
    try:
        while ran < limit and time.monotonic() < deadline:
            taken = take(keys=keys, args=[prefix])
            if not taken:
                break  # nothing queued, a job not of the outbox, or a page or timer waiting
            job_id = taken.decode() if isinstance(taken, bytes) else str(taken)
            number = job_id.removeprefix("outbox-")
            if job_id == own or not number.isdigit():
                continue  # its run just ended (or no outbox row has such an id)
            # each job its own session, as under RQ: rows an earlier job loaded (a reporter,
            # a jurisdiction) are read again, never served as that job saw them
            db.state().scoped.remove()
            if not _run_taken(backend, int(number)):
                break
            ran += 1
    except RedisError as exc:  # what was taken is pending in the outbox: the sweeper has it
        logger.warning("triage ahead: redis unavailable (%s)", type(exc).__name__)
    if ran:
        logger.info("triaged %d queued message(s) ahead", ran)
    return ran


def _run_taken(backend: RQBackend, outbox_id: int) -> bool:
    """Run one job taken off the triage queue; False (stop taking) when it was not a
    message's triage (handed back to RQ) or it failed (recorded on its row: the sweeper hands
    it to RQ again, up to the outbox's attempts)."""
    session = db.session
    row = session.execute(_ROW, {"id": outbox_id}).one_or_none()
    if row is None:  # purged since: nothing to run
        session.rollback()
        return True
    if row.job != "triage_message":
        session.rollback()
        backend.enqueue(outbox_id, row.job, list(row.args or []), utcnow())
        return False
    try:
        run_job(process_message, list(row.args or []), outbox_id)
    except Exception:  # noqa: BLE001 - recorded on its row; the sweeper hands it to RQ again
        logger.exception("triage ahead: outbox %s failed; left for the sweeper", outbox_id)
        return False
    return True


@job
def fetch_media(message_id: int) -> None:
    """Fetch again what a message's triage could not fetch (or delete at Twilio) in time."""
    media.collect(db.session, message_id, budget=500.0)
