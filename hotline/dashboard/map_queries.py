"""The map's reads: open incidents with how precisely each is placed, the centres of the
jurisdictions in scope, an incident's reports and the verifiers near it.

How precisely a point is placed is read from where its coordinates came from, not from what
the text names: without an OpenStreetMap import "Western and 47th" is an intersection
(`flags["precision"]`) put at the city's centre (`location["source"]` city or area code), and
the map must say "approximate: city only", never draw a pin there.
"""

from __future__ import annotations

from math import cos, radians
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.accounts.scope import Scope
from hotline.core.distances import distance_m
from hotline.incidents.clustering import PRECISION_RANK
from hotline.incidents.geography import current_gazetteer
from hotline.models import (
    OPEN_STATUSES,
    Incident,
    Jurisdiction,
    Report,
    Responder,
    network_jurisdictions,
    responder_jurisdictions,
)

# a pin's letter, beside its colour (legible without telling colours apart)
STATUS_GLYPHS = {"new": "!", "verifying": "?", "verified": "V", "routed": "R",
                 "acknowledged": "L"}
# finest first; a point is drawn as a pin only when placed at a spot
PLACED_LABELS = {
    "address": _l("at the address"),
    "intersection": _l("at the corner"),
    "landmark": _l("at the place named"),
    "photo": _l("where the photo was taken"),
    "street": _l("approximate: street only"),
    "neighbourhood": _l("approximate: neighbourhood only"),
    "zip": _l("approximate: ZIP code only"),
    "city": _l("approximate: city only"),
    "county": _l("approximate: county only"),
    "area_code": _l("approximate: area code only"),
    "unknown": _l("approximate: precision unknown"),
}
SPOTS = frozenset({"address", "intersection", "landmark", "photo"})
_COARSENESS = {name: rank for rank, name in enumerate(PLACED_LABELS)}
# location.source (triage) -> what its coordinates are the centre of
_SOURCE_PLACED = {"zip": "zip", "neighbourhood": "neighbourhood", "alternate": "neighbourhood",
                  "alias_city": "city", "city": "city", "city_state": "city",
                  "county": "county", "area_code": "area_code", "hotline_number": "area_code"}
APPROXIMATE_RADIUS_M = 1500  # the circle drawn instead of a pin
VERIFIERS_WITHIN_M = 5000
MAX_VERIFIERS = 20


def placed(source: str | None, precision: str | None, zip_code: str | None = None) -> str:
    """What a report's coordinates stand for: a spot (address, intersection, landmark) or
    the centre of an area (street, neighbourhood, zip, city, county, area_code, unknown)."""
    if source == "osm":  # the imported spot of what the text names
        return precision if precision in ("address", "intersection", "street") else "landmark"
    if source == "photo":  # the GPS position of the report's photo
        return "photo"
    if source == "landmark":  # a configured landmark: at its ZIP's centre when it gives one
        return "zip" if zip_code else "landmark"
    return _SOURCE_PLACED.get(source or "", "unknown")


def describe(kind: str) -> dict[str, Any]:
    """The map's fields for a precision: its name, label, and whether it is a circle."""
    return {"precision": kind, "precision_label": str(PLACED_LABELS[kind]),
            "approximate": kind not in SPOTS}


def incident_precisions(session: Session, incident_ids: list[int]) -> dict[int, str]:
    """How precisely each incident's coordinates are placed. They are the mean of its located
    reports of the best precision rank (incidents.clustering), so the coarsest of those
    reports' placings is the incident's; an incident without such reports is "unknown"."""
    if not incident_ids:
        return {}
    rows = session.execute(
        select(Report.incident_id, Report.flags["precision"].as_string(),
               Report.location["source"].as_string(), Report.location["zip"].as_string())
        .where(Report.incident_id.in_(incident_ids), Report.lat.is_not(None),
               Report.lon.is_not(None)).distinct()).all()
    best: dict[int, tuple[int, str]] = {}
    for incident_id, precision, source, zip_code in rows:
        rank = PRECISION_RANK.get(precision or "", 8)
        kind = placed(source, precision, zip_code)
        known = best.get(incident_id)
        if known is None or rank < known[0] or (
                rank == known[0] and _COARSENESS[kind] > _COARSENESS[known[1]]):
            best[incident_id] = (rank, kind)
    return {incident_id: best[incident_id][1] if incident_id in best else "unknown"
            for incident_id in incident_ids}


def map_points(session: Session, scope: Scope, limit: int = 1000) -> list[dict[str, Any]]:
    """Open incidents in scope that have coordinates, newest first, with their precision."""
    rows = session.execute(scope.restrict(
        select(Incident.id, Incident.code, Incident.status, Incident.lat, Incident.lon,
               Incident.location_text, Incident.first_seen_at)
        .where(Incident.status.in_(OPEN_STATUSES), Incident.lat.is_not(None),
               Incident.lon.is_not(None))
        .order_by(Incident.first_seen_at.desc(), Incident.id.desc()).limit(limit))).all()
    precisions = incident_precisions(session, [r.id for r in rows])
    return [{"code": r.code, "status": r.status, "lat": r.lat, "lon": r.lon,
             "place": r.location_text or "", "since": r.first_seen_at.isoformat(),
             **describe(precisions[r.id])} for r in rows]


def scope_centres(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """Each jurisdiction in scope with a rough centre: the mean of its open incidents'
    coordinates, else the gazetteer's centre (its first city). Where the map opens when no
    incident is on it."""
    query = select(Jurisdiction.id, Jurisdiction.slug, Jurisdiction.name).where(
        Jurisdiction.active.is_(True)).order_by(Jurisdiction.name)
    if scope.jurisdiction_ids is not None:
        query = query.where(Jurisdiction.id.in_(sorted(scope.jurisdiction_ids)))
    elif scope.lawyer:
        query = query.where(Jurisdiction.id.in_(
            select(network_jurisdictions.c.jurisdiction_id)
            .where(network_jurisdictions.c.network_id == scope.network_id)))
    jurisdictions = session.execute(query).all()
    means = {jid: (lat, lon) for jid, lat, lon in session.execute(
        select(Incident.jurisdiction_id, func.avg(Incident.lat), func.avg(Incident.lon))
        .where(Incident.status.in_(OPEN_STATUSES), Incident.lat.is_not(None),
               Incident.jurisdiction_id.in_([j.id for j in jurisdictions]))
        .group_by(Incident.jurisdiction_id))}
    gazetteer = current_gazetteer(session) if len(means) < len(jurisdictions) else None
    centres = []
    for j in jurisdictions:
        if j.id in means:
            lat, lon, source = *means[j.id], "incidents"
        else:
            place = gazetteer.centre(j.slug) if gazetteer is not None else None
            if place is None or place.lat is None or place.lon is None:
                continue
            lat, lon, source = place.lat, place.lon, "gazetteer"
        centres.append({"slug": j.slug, "name": j.name, "lat": float(lat), "lon": float(lon),
                        "source": source})
    return centres


def report_points(session: Session, incident: Incident) -> list[dict[str, Any]]:
    """The incident's reports that have coordinates, oldest first, with their precision."""
    rows = session.execute(
        select(Report.id, Report.lat, Report.lon, Report.location, Report.flags,
               Report.created_at)
        .where(Report.incident_id == incident.id, Report.lat.is_not(None),
               Report.lon.is_not(None))
        .order_by(Report.created_at, Report.id)).all()
    points = []
    for r in rows:
        location, flags = r.location or {}, r.flags or {}
        kind = placed(location.get("source"), flags.get("precision"), location.get("zip"))
        points.append({"report": r.id, "lat": r.lat, "lon": r.lon,
                       "place": str(location.get("text") or ""),
                       "at": r.created_at.isoformat(), **describe(kind)})
    return points


def verifiers_near(session: Session, incident: Incident, scope: Scope,
                   within_m: float = VERIFIERS_WITHIN_M) -> list[dict[str, Any]]:
    """Active verifiers (of jurisdictions in scope) whose usual place is within `within_m` of
    the incident, nearest first: their name, place and distance, never their number."""
    if incident.lat is None or incident.lon is None:
        return []
    lat_span = within_m / 111_000
    lon_span = lat_span / max(cos(radians(incident.lat)), 0.01)
    query = select(Responder.id, Responder.name, Responder.lat, Responder.lon).where(
        Responder.role == "verifier", Responder.active.is_(True),
        Responder.unreachable.is_(False), Responder.lat.is_not(None),
        Responder.lon.is_not(None),
        Responder.lat.between(incident.lat - lat_span, incident.lat + lat_span),
        Responder.lon.between(incident.lon - lon_span, incident.lon + lon_span))
    if scope.jurisdiction_ids is not None:
        query = query.where(Responder.id.in_(
            select(responder_jurisdictions.c.responder_id).where(
                responder_jurisdictions.c.jurisdiction_id.in_(sorted(scope.jurisdiction_ids)))))
    near = []
    for row in session.execute(query):
        distance = distance_m(incident.lat, incident.lon, row.lat, row.lon)
        if distance <= within_m:
            near.append({"name": row.name, "lat": row.lat, "lon": row.lon,
                         "distance_m": round(distance)})
    near.sort(key=lambda v: (v["distance_m"], v["name"]))
    return near[:MAX_VERIFIERS]
