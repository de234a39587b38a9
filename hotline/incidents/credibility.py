"""Credibility: a score in [0, 1] with the reasons behind it, stored on the incident."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Float, bindparam, cast, func, select, union_all
from sqlalchemy.orm import Session

from hotline.core.extensions import fetch_rows, for_driver
from hotline.incidents import lifecycle
from hotline.incidents.clustering import PRECISION_RANK
from hotline.models import Incident, Report, Reporter, utcnow

_SPECIFICITY = {0: 0.15, 1: 0.15, 2: 0.12, 3: 0.08, 4: 0.06}


def reporter_trust(reporter: Reporter) -> float:
    """Track record with a neutral prior: (confirmed + 1) / (confirmed + false alarms + 2)."""
    return (reporter.confirmed_count + 1) / (reporter.confirmed_count +
                                             reporter.false_alarm_count + 2)


_REPORTERS, _REPORTS = Reporter.__table__.c, Report.__table__.c
_TRUST = cast(_REPORTERS.confirmed_count + 1, Float) / (
    _REPORTERS.confirmed_count + _REPORTERS.false_alarm_count + 2)
# distinct reporters, summed by the database, as a Core statement on the tables (it runs for
# every report an incident gets; the ORM's costs 3x): the incident's reporters and the one whose
# report is being added (NULL when none). One IN over a UNION, never `IN (...) OR id = x`: the
# OR cannot use the primary key, and PostgreSQL then reads every reporter there is, for every
# message (24 ms a message at 200,000 reporters, against 1 ms)
_MEMBER_IDS = union_all(select(_REPORTS.reporter_id).where(
    _REPORTS.incident_id == bindparam("incident")),
    select(bindparam("adding", type_=_REPORTERS.id.type).label("adding")))
_AGGREGATE = select(func.count(_REPORTERS.id), func.sum(_TRUST),
                    func.sum(_REPORTERS.confirmed_count), func.sum(_REPORTERS.false_alarm_count))
MEMBERS = _AGGREGATE.where(_REPORTERS.id.in_(_MEMBER_IDS))
MEMBERS_PG = for_driver(MEMBERS)


def score_incident(session: Session, incident: Incident,
                   adding: Report | None = None) -> tuple[float, list[dict]]:
    """Compute and store the incident's score and its explanation. `adding`: the report just
    put into the incident, counted whether or not that is flushed yet (so the incident's
    changes go to the database in one UPDATE, at the end)."""
    # distinct reporters, summed by the database: an incident may hold thousands of reports,
    # and this runs for every one of them
    adding_id = adding.reporter_id if adding is not None else None
    if adding is None:
        session.flush()  # every report the incident has, as the session stands
    [(distinct, trust_sum, confirmed, false)] = fetch_rows(
        session, MEMBERS, MEMBERS_PG, {"incident": incident.id, "adding": adding_id})
    reasons: list[dict] = []
    corroboration = {0: 0.0, 1: 0.2, 2: 0.4}.get(distinct, 0.55)
    # each reason keeps its numbers beside the English detail, for the dashboard's languages
    reasons.append({"factor": "corroboration", "weight": corroboration, "reporters": distinct,
                    "detail": f"{distinct} independent reporter{'s' if distinct != 1 else ''}"})

    if distinct:
        trust = float(trust_sum) / distinct
        weight = round((trust - 0.5) * 0.4, 3)
        reasons.append({"factor": "track_record", "weight": weight,
                        "confirmed": int(confirmed or 0), "false_alarms": int(false or 0),
                        "detail": f"reporters' past reports: {confirmed} confirmed, "
                                  f"{false} false alarms"})

    best = (incident.places or {}).get("best")
    if best is None:
        ranks = session.scalars(select(Report.flags).where(Report.incident_id == incident.id))
        best = min((PRECISION_RANK.get((f or {}).get("precision") or "", 8) for f in ranks),
                   default=8)
    specificity = _SPECIFICITY.get(best, 0.0)
    label = next((k for k, v in PRECISION_RANK.items() if v == best), "no place")
    reasons.append({"factor": "specificity", "weight": specificity, "precision": label,
                    "detail": f"most precise place: {label}"})

    age = utcnow() - incident.last_seen_at
    recency = 0.1 if age <= timedelta(minutes=15) else 0.05 if age <= timedelta(hours=1) \
        else -0.1
    minutes = int(age.total_seconds() // 60)
    reasons.append({"factor": "recency", "weight": recency, "minutes": minutes,
                    "detail": f"last report {minutes} min ago"})

    for flag, penalty, detail in (("flood", -0.2, "many new numbers at once in this area"),
                                  ("rate_limited", -0.05, "a reporter over the rate limit"),
                                  ("denunciation", -0.3, "names a person or a private home")):
        if lifecycle.marked(incident, flag):
            reasons.append({"factor": flag, "weight": penalty, "detail": detail})

    score = max(0.0, min(1.0, round(0.1 + sum(r["weight"] for r in reasons), 3)))
    incident.score = score
    incident.score_reasons = reasons
    return score, reasons


def record_outcome(session: Session, incident: Incident, confirmed: bool) -> None:
    """Update the reporters' reputations from a verification outcome (once per incident)."""
    previous = incident.reputation_applied
    if previous == confirmed:
        return
    reporter_ids = set(session.scalars(select(Report.reporter_id).where(
        Report.incident_id == incident.id, Report.reporter_id.is_not(None))))
    for reporter in session.scalars(select(Reporter).where(Reporter.id.in_(reporter_ids))):
        if previous is True:
            reporter.confirmed_count = max(0, reporter.confirmed_count - 1)
        elif previous is False:
            reporter.false_alarm_count = max(0, reporter.false_alarm_count - 1)
        if confirmed:
            reporter.confirmed_count += 1
        else:
            reporter.false_alarm_count += 1
        reporter.trust_score = reporter_trust(reporter)
    incident.reputation_applied = confirmed
