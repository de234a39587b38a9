"""A worker started while PostgreSQL is away (restarting) keeps running."""

from __future__ import annotations

from tests.servers import free_port
from workers.start import warm_up


def test_a_worker_warmed_up_with_postgres_away_does_not_die(make_app, caplog):
    """The warm-up's gazetteer load used to raise OperationalError out of `run_worker`, and the
    worker exited: every job then waited for its supervisor (seen in the fault test that
    restarts PostgreSQL during a burst). Its caches load with the first job instead."""
    app = make_app(DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x")
    warm_up(app)
    assert any("warm-up" in r.getMessage() and "database" in r.getMessage()
               for r in caplog.records)
