"""Leases: a PostgreSQL advisory lock held on its own connection for as long as a job runs,
so the sweeper can tell a running job from one whose worker died (the lock dies with it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

from hotline.core.extensions import db

LEASE_NAMESPACE = 0x4A62  # advisory-lock namespace of running jobs ("Jb")


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
    # autocommit: a session-level advisory lock needs no transaction, and none means no BEGIN
    # and COMMIT round trips for every job
    with state.autocommit.connect() as connection:
        held = bool(connection.scalar(text("SELECT pg_try_advisory_lock(:ns, :id)"),
                                      {"ns": LEASE_NAMESPACE, "id": outbox_id}))
        try:
            yield held
        finally:
            if held:
                connection.execute(text("SELECT pg_advisory_unlock(:ns, :id)"),
                                   {"ns": LEASE_NAMESPACE, "id": outbox_id})


def is_free(engine: Engine, outbox_id: int) -> bool:
    """True when nobody holds the lease of this outbox row (its job is not running anywhere)."""
    with engine.connect() as connection:
        free = connection.scalar(text("SELECT pg_try_advisory_lock(:ns, :id)"),
                                 {"ns": LEASE_NAMESPACE, "id": outbox_id})
        if free:
            connection.execute(text("SELECT pg_advisory_unlock(:ns, :id)"),
                               {"ns": LEASE_NAMESPACE, "id": outbox_id})
        connection.commit()
    return bool(free)
