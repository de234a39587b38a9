"""The gazetteer of the jurisdictions in the database, rebuilt when config is reloaded; with
it, each active jurisdiction's id and policy, so that a job or request asks the database once
whether anything changed instead of reading a jurisdiction row for every lookup."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, object_session

from hotline.core.extensions import fetch_rows, for_driver
from hotline.core.policy import Policy
from hotline.models import Jurisdiction
from hotline.models.geo import imported_by_key, imported_rows, imported_slugs
from hotline.triage import Gazetteer, JurisdictionRules
from hotline.triage.osm import OsmIndex

_lock = threading.Lock()
_MEMO = "hotline.geography"  # session.info key: (transaction, Snapshot)


@dataclass(frozen=True)
class Snapshot:
    """What the active jurisdictions were when `stamp` was read."""

    stamp: tuple[object, ...]
    gazetteer: Gazetteer
    ids: dict[str, int]
    policies: dict[int, Policy]


_cache: dict[str, Snapshot] = {}
_TABLE = Jurisdiction.__table__
# a Core statement on the table: this runs once per transaction of every job and request (on
# PostgreSQL at the driver: the stamp is only compared with the last one, never shown)
_STAMP = select(func.count(_TABLE.c.id), func.max(_TABLE.c.updated_at)).where(
    _TABLE.c.active.is_(True))
_STAMP_PG = for_driver(_STAMP)


def _snapshot(session: Session) -> Snapshot:
    """The snapshot for this session's transaction: the freshness check (one small query) runs
    once per transaction, and a jurisdiction written in it makes the next call look again."""
    memo = session.info.get(_MEMO)
    if memo is not None and memo[0] is session.get_transaction():
        return memo[1]
    bind = str(session.get_bind().url)
    # without an autoflush: a jurisdiction written in this session is seen by `policy_for`
    # (the loaded row) and, once flushed, by the next call (the mapper events below)
    (stamp,) = fetch_rows(session, _STAMP, _STAMP_PG)
    snapshot = _cache.get(bind)
    if snapshot is None or snapshot.stamp != stamp:
        with _lock:
            rows = session.scalars(select(Jurisdiction).where(Jurisdiction.active.is_(True))
                                   ).all()
            gazetteer = Gazetteer((JurisdictionRules.from_record(j.slug, j.name, j.state,
                                                                 j.timezone, j.rules)
                                   for j in rows), osm=imported_places(session))
            snapshot = Snapshot(stamp, gazetteer, {j.slug: j.id for j in rows},
                                {j.id: Policy.of(j) for j in rows})
            _cache[bind] = snapshot
    session.info[_MEMO] = (session.get_transaction(), snapshot)
    return snapshot


@event.listens_for(Jurisdiction, "after_insert")
@event.listens_for(Jurisdiction, "after_update")
@event.listens_for(Jurisdiction, "after_delete")
def _jurisdiction_written(_mapper: Any, _connection: Any, target: Jurisdiction) -> None:  # noqa: ANN401
    session = object_session(target)
    if session is not None:
        session.info.pop(_MEMO, None)


def current_gazetteer(session: Session) -> Gazetteer:
    """A gazetteer of the active jurisdictions; cached until a jurisdiction changes."""
    return _snapshot(session).gazetteer


def jurisdiction_id(session: Session, slug: str | None) -> int | None:
    """The id of the jurisdiction `slug` (active ones from the snapshot)."""
    if not slug:
        return None
    found = _snapshot(session).ids.get(slug)
    if found is not None:
        return found
    return session.scalar(select(Jurisdiction.id).where(Jurisdiction.slug == slug))


def policy_for(session: Session, jurisdiction_id: int | None) -> Policy:
    """The policy of a jurisdiction (the defaults outside every jurisdiction). A jurisdiction
    this session has loaded is read as it stands (changes not yet flushed included)."""
    if not jurisdiction_id:
        return Policy.of(None)
    loaded = session.identity_map.get(session.identity_key(Jurisdiction, jurisdiction_id))
    if loaded is None:
        policy = _snapshot(session).policies.get(jurisdiction_id)
        if policy is not None:
            return policy
        loaded = session.get(Jurisdiction, jurisdiction_id)
    return Policy.of(loaded)


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
