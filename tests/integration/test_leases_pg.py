"""The job lease on real PostgreSQL: one holder at a time, free again when its job ends (even
when it fails), and a lease whose connection died mid-job ends without an error, its lock
gone with the connection."""

from __future__ import annotations

import logging

import psycopg
import pytest

from hotline.core.extensions import db
from hotline.jobs import leases

pytestmark = pytest.mark.postgres


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def test_one_holder_at_a_time_and_free_when_the_job_ends(pg_app):
    with pg_app.app_context():
        engine = db.engine
        with leases.lease(424242) as held:
            assert held
            assert not leases.is_free(engine, 424242)
            with leases.lease(424242) as again:  # another worker, the same job
                assert not again
        assert leases.is_free(engine, 424242)
        with pytest.raises(RuntimeError), leases.lease(424243) as held:
            assert held
            raise RuntimeError("the job failed")
        assert leases.is_free(engine, 424243)


def test_a_lease_whose_connection_died_ends_quietly(pg_app, pg_url, caplog):
    with pg_app.app_context():
        engine = db.engine
        with caplog.at_level(logging.WARNING, "hotline.jobs.leases"), \
                leases.lease(424244) as held:
            assert held
            with psycopg.connect(_plain(pg_url), autocommit=True) as admin:
                killed = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                    " AND classid = %s AND objid = %s",
                    (leases.LEASE_NAMESPACE, 424244)).fetchall()
            assert killed == [(True,)]
        assert "connection lost" in caplog.text and "424244" in caplog.text
        assert leases.is_free(engine, 424244)  # the lock died with its connection
        with leases.lease(424244) as held:  # and the pool hands out a live connection
            assert held


def _drop_pooled(engine, pg_url: str, count: int) -> None:
    """`count` connections in the pool, then every server connection of the database ended, as
    in a PostgreSQL restart."""
    held = [engine.raw_connection() for _ in range(count)]
    for pooled in held:
        pooled.close()
    name = engine.url.database
    with psycopg.connect(_plain(pg_url).rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        ended = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = %s AND pid <> pg_backend_pid()",
                              (name,)).fetchall()
    assert len(ended) >= count


def test_leases_after_a_postgres_restart_are_taken_and_the_jobs_run(pg_app, pg_url, caplog):
    """Every pooled connection died: the first lease finds one dead, recycles them all and
    takes its lock on a new one; the next leases never get a dead one (they used to fail one
    job per dead connection, each then retried by RQ)."""
    with pg_app.app_context():
        engine = db.engine
        _drop_pooled(engine, pg_url, 4)
        with caplog.at_level(logging.WARNING):
            for outbox_id in range(424250, 424255):
                with leases.lease(outbox_id) as held:
                    assert held, outbox_id
                assert leases.is_free(engine, outbox_id)
        lost = [r for r in caplog.records if "connection lost" in r.getMessage()]
        assert len(lost) == 1
