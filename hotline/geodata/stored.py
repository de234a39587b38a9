"""The imported places as stored, read without an app: for `hotline triage`, which touches
nothing (no database is created, no secret is generated) and reads an import only when the
database already exists."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hotline.triage.osm import OsmIndex


def existing_database_url(environ: dict[str, str] | None = None) -> str | None:
    """DATABASE_URL, or the embedded database's URL when its file exists; else None."""
    environ = dict(os.environ) if environ is None else environ
    url = (environ.get("DATABASE_URL") or "").strip()
    if url:
        return url.replace("postgresql://", "postgresql+psycopg://", 1) \
            if url.startswith("postgresql://") else url
    path = Path(environ.get("HOTLINE_INSTANCE") or "instance").resolve() / "hotline.db"
    return f"sqlite:///{path}" if path.is_file() else None


def read_imported(url: str | None) -> OsmIndex:
    """Every imported place of an existing database; empty when there is none (or no import,
    or the database cannot be read: triage then works as without one)."""
    if url is None:
        return OsmIndex()
    # SQLAlchemy and the models only when there is a database to read (cold triage stays fast)
    from sqlalchemy import create_engine  # noqa: PLC0415
    from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415

    from hotline.models.geo import imported_by_key, imported_rows, imported_slugs  # noqa: PLC0415

    engine = create_engine(url, hide_parameters=True)

    def fetch(kind: str, key: str) -> list[tuple[Any, ...]]:
        try:
            with engine.connect() as connection:
                return imported_by_key(connection, kind, key)
        except SQLAlchemyError:
            return []

    try:
        with engine.connect() as connection:
            return OsmIndex(imported_rows(connection), fetch=fetch,
                            slugs=imported_slugs(connection))
    except SQLAlchemyError:
        return OsmIndex()
