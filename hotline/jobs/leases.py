"""Leases: a PostgreSQL advisory lock held on its own connection for as long as a job runs,
so the sweeper can tell a running job from one whose worker died (the lock dies with it)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy import Engine

from hotline.core.extensions import autocommit_checkout, db, discard, give_back

logger = logging.getLogger(__name__)
LEASE_NAMESPACE = 0x4A62  # advisory-lock namespace of running jobs ("Jb")


_TRY = "SELECT pg_try_advisory_lock(%s, %s)"
_UNLOCK = "SELECT pg_advisory_unlock(%s, %s)"


@contextmanager
def lease(outbox_id: int | None) -> Iterator[bool]:
    """Hold a PostgreSQL advisory lock on the outbox row for as long as its job runs.

    The lock lives on a connection of its own, so it outlasts the job's commits, and dies with
    the process: the sweeper can tell a job that is running from one whose worker was killed.
    """
    state = db.state()
    if outbox_id is None or state.engine.dialect.name != "postgresql":
        yield True
        return
    with _held(state.engine, outbox_id) as held:
        yield held


def is_free(engine: Engine, outbox_id: int) -> bool:
    """True when nobody holds the lease of this outbox row (its job is not running anywhere)."""
    with _held(engine, outbox_id) as held:  # taken and given back at once
        return held


@contextmanager
def _held(engine: Engine, outbox_id: int) -> Iterator[bool]:
    """The lease's lock, tried, and released at the end when it was taken.

    Every job takes one: its two statements go straight to the driver (psycopg), in autocommit
    (a session-level lock needs no transaction), on a connection of the pool. Through
    SQLAlchemy they cost about three times the CPU (~290 against ~90 µs a job). After a
    PostgreSQL restart the pool's connections are dead: the first found so recycles them all,
    and the lock is tried once more on a new one (a dead connection holds no lock), so the job
    runs instead of failing."""
    pooled, held = autocommit_checkout(
        engine, lambda connection: bool(connection.execute(
            _TRY, (LEASE_NAMESPACE, outbox_id)).fetchone()[0]), f"lease of outbox {outbox_id}")
    try:
        yield held
    finally:
        try:
            if held:
                pooled.driver_connection.execute(_UNLOCK, (LEASE_NAMESPACE, outbox_id))
        except psycopg.Error as exc:  # the connection went: the lock went with it
            logger.warning("lease of outbox %s: connection lost (%s)", outbox_id,
                           type(exc).__name__)
            discard(engine, pooled, exc)
        finally:
            give_back(engine, pooled)
