"""Schema migrations (Alembic) driven from code: `hotline db upgrade` and the embedded start."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from flask import Flask

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(database_url: str) -> Config:
    """An Alembic config for our migrations folder and this database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(app: Flask, revision: str = "head") -> None:
    """Migrate the app's database to `revision`."""
    command.upgrade(alembic_config(app.config["SETTINGS"].database_url), revision)
