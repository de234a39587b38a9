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
