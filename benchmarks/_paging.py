"""Incidents made for a benchmark and a dispatcher's verify timed until the lawyer's page
reaches the Twilio stand-in: benchmarks/routing.py (verify -> page on an idle system) and
benchmarks/burst.py (the same while a burst drains)."""

from __future__ import annotations

import time
from collections import Counter

from benchmarks._common import REPORT_BODIES


def make_incidents(app, count: int, first_ring: int = 0) -> list[int]:  # noqa: ANN001
    """`count` incidents, status new, each with one triaged report far from all the others
    (rings of sites 0.04 degrees, about 4 km, apart around each demo place, from `first_ring`
    out: a burst's reports at the places themselves join none of them from ring 1)."""
    from sqlalchemy import select

    from hotline.core.extensions import db
    from hotline.incidents import clustering
    from hotline.incidents.geography import current_gazetteer
    from hotline.models import Jurisdiction, Report, utcnow
    from hotline.triage import triage_text

    vault = app.extensions["hotline_vault"]
    ids: list[int] = []
    with app.app_context():
        session = db.session
        gazetteer = current_gazetteer(session)
        per_place: dict[str, tuple] = {}
        for body in REPORT_BODIES:  # one message per jurisdiction
            result = triage_text(body, gazetteer)
            if result.jurisdiction and result.location.lat is not None:
                per_place.setdefault(result.jurisdiction, (body, result))
        places = sorted(per_place.items())
        juris = {slug: session.scalar(select(Jurisdiction.id).where(Jurisdiction.slug == slug))
                 for slug, _ in places}
        for i in range(count):
            slug, (body, result) = places[i % len(places)]
            ring = first_ring + i // len(places)
            location = dict(result.location.public())
            location.pop("street", None)  # a street corner would join incidents across rings
            location.update(text=f"{location.get('text') or slug} (benchmark site {i})",
                            source="zip")
            report = Report(
                reporter_id=None, channel="sms", text_enc=vault.encrypt(body, "report.text"),
                language=result.language, salute=result.salute, location=location,
                lat=result.location.lat + 0.04 * ring, lon=result.location.lon + 0.04 * ring,
                jurisdiction_id=juris[slug], needs_location=False, confidence=result.confidence,
                state="complete", flags={"precision": "zip"}, media=[], created_at=utcnow())
            session.add(report)
            session.flush()
            incident, created = clustering.attach_report(session, report)
            if not created:
                raise SystemExit(f"report {i} joined incident {incident.code}; expected a new one")
            ids.append(incident.id)
            session.commit()
    return ids


def page_latency(app, standin, incident_ids: list[int], warmup: int,  # noqa: ANN001
                 wait: float) -> tuple[list[dict], int]:
    """Verify each incident in turn; time until its first page reaches the stand-in."""
    from hotline.core.extensions import db
    from hotline.incidents.actions import apply_action
    from hotline.models import Incident

    rows: list[dict] = []
    with app.app_context():
        session = db.session
        for k, incident_id in enumerate(incident_ids):
            incident = session.get(Incident, incident_id)
            code = incident.code
            prefix = f"HOTLINE {code}:"
            t0 = time.time()
            result = apply_action(session, incident, {"action": "verify"}, "dispatcher:benchmark")
            session.commit()  # routes, snapshots the policy, and hands the page to RQ
            t1 = time.time()
            arrived = None
            deadline = time.monotonic() + wait
            while arrived is None and time.monotonic() < deadline:
                for request in standin.creates():
                    if request.form.get("Body", "").startswith(prefix):
                        arrived = request
                        break
                if arrived is None:
                    time.sleep(0.002)
            rows.append({"code": code, "status": result["status"], "warmup": k < warmup,
                         "t0": t0, "commit": t1 - t0,
                         "latency": (arrived.at - t0) if arrived else None,
                         "to": arrived.form.get("To") if arrived else None})
            time.sleep(0.1)
        session.rollback()
    pages_per_incident = Counter(r.form.get("Body", "").split(":", 1)[0]
                                 for r in standin.creates()
                                 if r.form.get("Body", "").startswith("HOTLINE "))
    repeated = sum(1 for c in pages_per_incident.values() if c > 1)
    return rows, repeated
