"""The gazetteer of the jurisdictions in the database, rebuilt when config is reloaded."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.core.policy import Policy
from hotline.models import Jurisdiction
from hotline.models.geo import imported_by_key, imported_rows, imported_slugs
from hotline.triage import Gazetteer, JurisdictionRules
from hotline.triage.osm import OsmIndex

_lock = threading.Lock()
_cache: dict[str, tuple[tuple[object, ...], Gazetteer]] = {}


def policy_for(session: Session, jurisdiction_id: int | None) -> Policy:
    """The policy of a jurisdiction (the defaults outside every jurisdiction)."""
    return Policy.of(session.get(Jurisdiction, jurisdiction_id) if jurisdiction_id else None)


def current_gazetteer(session: Session) -> Gazetteer:
    """A gazetteer of the active jurisdictions; cached until a jurisdiction changes."""
    bind = str(session.get_bind().url)
    stamp = tuple(session.execute(
        select(func.count(Jurisdiction.id), func.max(Jurisdiction.updated_at))
        .where(Jurisdiction.active.is_(True))
    ).one())
    cached = _cache.get(bind)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    with _lock:
        rows = session.scalars(select(Jurisdiction).where(Jurisdiction.active.is_(True))).all()
        gazetteer = Gazetteer((JurisdictionRules.from_record(j.slug, j.name, j.state, j.timezone,
                                                             j.rules) for j in rows),
                              osm=imported_places(session))
        _cache[bind] = (stamp, gazetteer)
        return gazetteer


def imported_places(session: Session) -> OsmIndex:
    """The places imported from OpenStreetMap (`hotline geo import`), indexed for triage;
    empty when nothing was imported. Streets, places and neighbourhoods are read once per
    process and gazetteer (an import touches its jurisdiction's `updated_at`, so every process
    rebuilds); corners and addresses one key at a time, when a message names one."""
    engine = session.get_bind()

    def fetch(kind: str, key: str) -> list[tuple[Any, ...]]:
        with engine.connect() as connection:
            return imported_by_key(connection, kind, key)

    return OsmIndex(imported_rows(session), fetch=fetch, slugs=imported_slugs(session))
