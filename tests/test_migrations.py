"""Alembic owns the schema: one head, and the migrations build exactly the models' schema."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from hotline.core.database import alembic_config
from hotline.core.extensions import make_engine
from hotline.models import Base


def test_one_head():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


def _diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def test_sqlite_migrations_match_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    command.upgrade(alembic_config(url), "head")
    assert _diff(url) == []
    command.downgrade(alembic_config(url), "base")
    command.upgrade(alembic_config(url), "head")


@pytest.mark.postgres
def test_postgres_migrations_match_models(pg_url):
    assert _diff(pg_url) == []


def test_0003_moves_incident_state_out_of_flags(tmp_path):
    """Incidents made before the state columns keep their state: places, the verification
    round, the reputation outcome and the relay move to their columns; markers stay."""
    import json

    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'm.db'}"
    command.upgrade(alembic_config(url), "0002")
    engine = make_engine(url)
    flags = {"places": {"streets": ["18th&ashland"], "best": 1}, "verify_round": 2,
             "reputation_applied": True, "flood": True,
             "relay": {"responder_id": None, "at": "2026-11-30T10:00:00+00:00"}}
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO incidents (code, status, score, score_reasons, salute, flags, "
            "first_seen_at, last_seen_at, updated_at) VALUES ('OLD1', 'verifying', 0, '[]', "
            "'{}', :flags, '2026-11-30 10:00:00', '2026-11-30 10:00:00', "
            "'2026-11-30 10:00:00')"), {"flags": json.dumps(flags)})
    command.upgrade(alembic_config(url), "head")
    with engine.connect() as connection:
        row = connection.execute(text(
            "SELECT flags, places, verify_round, reputation_applied, relay_at FROM incidents"
        )).one()
    engine.dispose()
    assert json.loads(row.flags) == {"flood": True}
    assert json.loads(row.places) == flags["places"]
    assert row.verify_round == 2 and row.reputation_applied in (1, True)
    assert str(row.relay_at).startswith("2026-11-30 10:00:00")
    command.downgrade(alembic_config(url), "0002")  # and back, the flags restored
    engine = make_engine(url)
    with engine.connect() as connection:
        restored = json.loads(connection.execute(text("SELECT flags FROM incidents")).scalar())
    engine.dispose()
    assert restored["verify_round"] == 2 and restored["places"] == flags["places"]
