"""The `job` decorator shared by every job module, and the worker's app."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any, ParamSpec, TypeVar

from flask import Flask, has_app_context
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from hotline.core.extensions import db, driver_connection, fetch_rows, for_driver
from hotline.jobs.leases import lease
from hotline.jobs.outbox import record_failure
from hotline.models import OutboxJob, utcnow

logger = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

_app: Flask | None = None

# The outbox row's guard and its "done", as Core statements on the table (a third of the ORM's
# cost per statement: they run for every job); on PostgreSQL they go to the driver itself, on
# the session's connection and in its transaction (a third again). The guard locks the row
# until the job commits.
_OUTBOX = OutboxJob.__table__
_GUARD = select(_OUTBOX.c.done_at).where(_OUTBOX.c.id == bindparam("id")).with_for_update()
_DONE = update(_OUTBOX).where(_OUTBOX.c.id == bindparam("row")).values(
    done_at=bindparam("done"))
_GUARD_PG, _DONE_PG = for_driver(_GUARD), for_driver(_DONE)


def _to_do(session: Session, outbox_id: int) -> bool:
    """Lock the job's outbox row: True when it exists and is not done."""
    found = fetch_rows(session, _GUARD, _GUARD_PG, {"id": outbox_id})
    return bool(found) and found[0][0] is None


def _mark_done(session: Session, outbox_id: int) -> None:
    """The job's outbox row done, in the job's transaction (its work flushed first)."""
    session.flush()
    driver = driver_connection(session)
    if driver is None:
        session.execute(_DONE, {"row": outbox_id, "done": utcnow()})
    else:
        driver.execute(_DONE_PG, {"row": outbox_id, "done": utcnow()})


def worker_app() -> Flask:
    """This process's app, created on first use (never at import time)."""
    global _app
    if _app is None:
        from hotline import create_app

        _app = create_app()
    return _app


def use_app(app: Flask) -> None:
    """Make jobs in this process run against `app` (the worker command and tests)."""
    global _app
    _app = app


def job(func: Callable[P, R]) -> Callable[..., R | None]:
    """Run `func` in an app context; commit its work and mark its outbox row done together.

    Exceptions propagate, so RQ records the failure and retries. A job whose outbox row is
    already done returns at once: running a job twice is always safe.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, outbox_id: int | None = None) -> R | None:
        return run_job(func, args, outbox_id)

    return wrapper


def run_job(func: Callable[..., R], args: tuple[Any, ...] | list[Any],
            outbox_id: int | None) -> R | None:
    """`func(*args)` as one outbox job: under its lease, guarded by its row, committed with its
    row marked done; None without running it when it is running elsewhere or done."""
    context = nullcontext() if has_app_context() else worker_app().app_context()
    with context, lease(outbox_id) as held:
        if not held:
            logger.info("job %s outbox %s is running elsewhere", func.__name__, outbox_id)
            return None
        session = db.session
        try:
            if outbox_id is not None and not _to_do(session, outbox_id):
                logger.info("job %s outbox %s already done", func.__name__, outbox_id)
                session.rollback()
                return None
            result = func(*args)
            if outbox_id is not None:
                _mark_done(session, outbox_id)
            session.commit()
            return result
        except BaseException as exc:
            session.rollback()
            if outbox_id is not None:
                record_failure(outbox_id, exc)
            raise
