"""Clustering: reports of one event, by place and time, become one incident.

Safe under concurrency: on PostgreSQL, clustering in a jurisdiction holds a transaction-scoped
advisory lock, so two workers triaging two reports of the same raid at the same moment make one
incident (the second waits, then finds the first's incident).
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from hotline.core.distances import distance_m
from hotline.core.extensions import driver_connection, fetch_rows, for_driver
from hotline.core.policy import Policy
from hotline.incidents import lifecycle
from hotline.incidents.geography import policy_for
from hotline.models import OPEN_STATUSES, Incident, Report
from hotline.triage.places import fold

logger = logging.getLogger(__name__)

PRECISION_RANK = {"address": 0, "intersection": 1, "photo": 1, "landmark": 2, "street": 3,
                  "neighbourhood": 4, "zip": 4, "city": 6, "area_code": 7}
_LOCK_NAMESPACE = 0x486C  # "Hl": keeps our advisory locks apart from anyone else's


def lock_jurisdiction(session: Session, jurisdiction_id: int | None) -> None:
    """Serialise clustering within one jurisdiction until the transaction ends."""
    driver = driver_connection(session)  # PostgreSQL: the lock; elsewhere one writer anyway
    if driver is not None:
        driver.execute("SELECT pg_advisory_xact_lock(%s, %s)",
                       (_LOCK_NAMESPACE, jurisdiction_id or 0))


# coordinates from these sources stand for a small area; others are a whole town's centroid
FINE_SOURCES = {"zip", "neighbourhood", "landmark", "alternate", "address", "photo"}
_SUFFIX = re.compile(r"\b(st|street|str|ave|av|avenue|blvd|boulevard|rd|road|dr|drive|ln|lane|"
                     r"way|pl|place|ct|court|pkwy|parkway|hwy|highway|calle|avenida|la|el|the)\b")


def street_key(location: dict) -> str | None:
    """A street or intersection in a form that different writings share:
    "18th St & Ashland Ave", "la 18 y Ashland" and "18th and ashland" all give "18&ashland"."""
    street = location.get("street")
    if not street:
        return None
    parts = []
    for part in re.split(r"\s*(?:&|\band\b|\by\b|/|@)\s*", fold(str(street))):
        part = _SUFFIX.sub(" ", part)
        part = re.sub(r"\b(\d+)(?:st|nd|rd|th|va|vo|a|o)\b", r"\1", part)
        part = re.sub(r"\s+", " ", part).strip()
        if part:
            parts.append(part)
    return "&".join(sorted(parts)) or None


def _fine_coordinates(report: Report) -> bool:
    return report.lat is not None and (report.location or {}).get("source") in FINE_SOURCES


def _precision(report: Report) -> int:
    return PRECISION_RANK.get((report.flags or {}).get("precision") or "", 8)


_INCIDENTS = Incident.__table__.c
_OPEN = select(_INCIDENTS.id, _INCIDENTS.places, _INCIDENTS.lat, _INCIDENTS.lon).where(
    _INCIDENTS.status.in_((*OPEN_STATUSES, "unconfirmed")),
    _INCIDENTS.last_seen_at >= bindparam("since"))
_CANDIDATES = _OPEN.where(_INCIDENTS.jurisdiction_id == bindparam("jurisdiction")) \
    .order_by(_INCIDENTS.last_seen_at.desc()).limit(200)
_CANDIDATES_NOWHERE = _OPEN.where(_INCIDENTS.jurisdiction_id.is_(None)) \
    .order_by(_INCIDENTS.last_seen_at.desc()).limit(200)
_CANDIDATES_PG, _CANDIDATES_NOWHERE_PG = for_driver(_CANDIDATES), for_driver(_CANDIDATES_NOWHERE)


def find_match(session: Session, report: Report, policy: Policy) -> int | None:
    """The id of the open incident this report belongs to, if any: nearest within radius and
    window."""
    window_start = report.created_at - timedelta(minutes=policy.cluster_window_min)
    # the columns matching needs, not whole incidents: the chosen one is locked and read after
    # (a Core statement on the table, at the driver on PostgreSQL: this runs for every report;
    # the caller has flushed what it must see)
    if report.jurisdiction_id is None:
        candidates = fetch_rows(session, _CANDIDATES_NOWHERE, _CANDIDATES_NOWHERE_PG,
                                {"since": window_start})
    else:
        candidates = fetch_rows(session, _CANDIDATES, _CANDIDATES_PG, {
            "since": window_start, "jurisdiction": report.jurisdiction_id})
    best: tuple[float, int] | None = None
    key = street_key(report.location or {})
    text = fold(str((report.location or {}).get("text") or "")).strip()
    fine = _fine_coordinates(report)
    for incident_id, places, lat, lon in candidates:
        places = places or {}
        if key and key in (places.get("streets") or []):
            distance = 0.0  # the same street corner, however it was written
        elif fine and places.get("fine") and lat is not None:
            distance = distance_m(report.lat, report.lon, lat, lon)
            if distance > policy.cluster_radius_m:
                continue
        elif not key and text and text in (places.get("texts") or []):
            distance = float(policy.cluster_radius_m)
        else:
            continue
        if best is None or distance < best[0]:
            best = (distance, incident_id)
    return best[1] if best else None


def attach_report(session: Session, report: Report) -> tuple[Incident, bool]:
    """Put a triaged report into a matching incident or a new one; (incident, created)."""
    policy = policy_for(session, report.jurisdiction_id)
    # a new report goes in once, with its incident (one INSERT, no UPDATE after): nothing
    # before the choice needs it in the database. An incident changed earlier in this
    # transaction is flushed first, so that it is matched and locked as it stands.
    if any(isinstance(obj, Incident) for obj in (*session.new, *session.dirty)):
        session.flush()
    with session.no_autoflush:
        lock_jurisdiction(session, report.jurisdiction_id)
        match = find_match(session, report, policy)
        # an incident is changed only under its row lock
        incident = lifecycle.lock(session, match) if match is not None else None
    location_text = (report.location or {}).get("text")
    if incident is None:
        session.flush()  # before the new incident's savepoint, which must not hold the report
        incident = lifecycle.create_incident(session, report, location_text)
        report.incident_id = incident.id
        session.flush()
        refresh_location(session, incident)
        logger.debug("report %s opened incident %s", report.id, incident.code)
        return incident, True
    report.incident_id = incident.id
    session.flush()  # the report's INSERT (or UPDATE), with its incident: its id for the event
    lifecycle.append_event(session, incident, "report_added", report_id=report.id)
    incident.last_seen_at = max(incident.last_seen_at, report.created_at)
    add_to_location(incident, report)  # one UPDATE of the incident, at the next flush
    logger.debug("report %s joined incident %s", report.id, incident.code)
    return incident, False


def add_to_location(incident: Incident, report: Report) -> None:
    """Fold one more report into the incident's place, without reading its other reports
    (a raid can bring hundreds of reports to one incident)."""
    places = dict(incident.places or {"streets": [], "texts": [], "fine": False})
    key = street_key(report.location or {})
    if key and key not in places["streets"]:
        places["streets"] = sorted([*places["streets"], key])
    text = (report.location or {}).get("text")
    if text and fold(str(text)).strip() not in places["texts"]:
        places["texts"] = sorted([*places["texts"], fold(str(text)).strip()])
    places["fine"] = places.get("fine", False) or _fine_coordinates(report)
    places["best"] = min(places.get("best", 99), _precision(report))
    if report.lat is not None:
        rank, best = _precision(report), places.get("rank", 99)
        if rank < best or incident.lat is None:
            incident.lat, incident.lon = report.lat, report.lon
            places["rank"], places["count"] = rank, 1
            if text:
                incident.location_text = str(text)[:300]
        elif rank == best:
            count = places.get("count", 1)
            incident.lat = (incident.lat * count + report.lat) / (count + 1)
            incident.lon = (incident.lon * count + report.lon) / (count + 1)
            places["count"] = count + 1
    incident.places = places


def refresh_location(session: Session, incident: Incident) -> None:
    """The incident's place: the centroid of its most specific reports' coordinates, plus the
    street corners and place names its reports give (what later reports are matched on)."""
    reports = session.scalars(select(Report).where(Report.incident_id == incident.id)).all()
    places = {
        "streets": sorted({k for r in reports if (k := street_key(r.location or {}))}),
        "texts": sorted({fold(str(t)).strip() for r in reports
                         if (t := (r.location or {}).get("text"))}),
        "fine": any(_fine_coordinates(r) for r in reports),
        "best": min((_precision(r) for r in reports), default=99),
    }
    located = [r for r in reports if r.lat is not None]
    if not located:
        incident.places = places
        return
    best_rank = min(_precision(r) for r in located)
    best = [r for r in located if _precision(r) == best_rank]
    incident.places = {**places, "rank": best_rank, "count": len(best)}
    incident.lat = sum(r.lat for r in best) / len(best)
    incident.lon = sum(r.lon for r in best) / len(best)
    texts = [(r.location or {}).get("text") for r in best if (r.location or {}).get("text")]
    if texts:
        incident.location_text = str(texts[0])[:300]


def split_reports(session: Session, incident: Incident, report_ids: list[int],
                  actor: str) -> Incident:
    """Move some reports of an incident into a new incident of their own."""
    reports = session.scalars(select(Report).where(Report.incident_id == incident.id,
                                                   Report.id.in_(report_ids))).all()
    if not reports or len(reports) != len(set(report_ids)):
        raise lifecycle.TransitionError("reports: give ids of reports of this incident")
    total = session.scalar(select(func.count(Report.id)).where(
        Report.incident_id == incident.id))
    if len(reports) >= total:
        raise lifecycle.TransitionError("reports: leave at least one report in the incident")
    first = min(reports, key=lambda r: r.created_at)
    new = lifecycle.create_incident(session, first, (first.location or {}).get("text"))
    for report in reports:
        report.incident_id = new.id
    new.first_seen_at = min(r.created_at for r in reports)
    new.last_seen_at = max(r.created_at for r in reports)
    session.flush()
    refresh_location(session, new)
    refresh_location(session, incident)
    lifecycle.record_event(session, incident, "split", actor=actor, into=new.code,
                           reports=sorted(report_ids))
    lifecycle.record_event(session, new, "split_from", actor=actor, source=incident.code,
                           reports=sorted(report_ids))
    return new
