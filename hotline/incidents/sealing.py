"""Seal what older versions kept in clear: a dispatcher's note typed with a decision.

Before decision notes were encrypted, the note went into the status event's `reason` (verify,
dismiss) or `note` (resolve, all-clear), into the hold marker's reason, and into
`reporters.blocked_reason`. Each such text becomes an encrypted timeline note (same time, same
actor) and its place gets the fixed label the current code writes. Reasons the system wrote
itself ("verifier saw it", "auto-verified: ...") are not notes and stay. A note already older
than the retention cutoff is not sealed but dropped: retention would have removed it, and sealed
today it would outlive its time in backups. Idempotent; run by `hotline db upgrade`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.incidents import lifecycle
from hotline.models import Incident, IncidentEvent, Report, Reporter
from hotline.privacy.vault import Vault

logger = logging.getLogger(__name__)
PEOPLE = ("user:", "token:")  # actors who type notes (system actors write fixed reasons)
DECIDED = "dispatcher"
HELD = "held by a dispatcher"
BLOCKED = "blocked by a dispatcher"


def _note(session: Session, vault: Vault, incident_id: int, actor: str, text: str,
          at: Any, cutoff: datetime | None) -> None:  # noqa: ANN401
    if cutoff is not None and at is not None and at < cutoff:
        return  # past retention: dropped, not sealed
    session.add(IncidentEvent(incident_id=incident_id, kind="note", actor=actor, at=at,
                              data={"text_enc": vault.encrypt(text, "event.note"),
                                    "sealed_from": "decision"}))


def seal_plaintext_notes(session: Session, vault: Vault,
                         cutoff: datetime | None = None) -> dict[str, int]:
    """Move every plaintext decision note into an encrypted note (dropping those from before
    `cutoff`); commits. Counts by place."""
    counts = {"events": 0, "holds": 0, "blocked": 0}
    for event in session.scalars(select(IncidentEvent).where(IncidentEvent.kind == "status")
                                 .order_by(IncidentEvent.id)).all():
        data = dict(event.data or {})
        if not event.actor.startswith(PEOPLE):
            continue
        texts = []
        if isinstance(data.get("reason"), str) and data["reason"] != DECIDED:
            texts.append(data["reason"])
            data["reason"] = DECIDED
        if isinstance(data.get("note"), str):
            texts.append(data.pop("note"))
        for text in texts:
            _note(session, vault, event.incident_id, event.actor, text, event.at, cutoff)
        if texts:
            event.data = data
            counts["events"] += 1
    for incident in session.scalars(select(Incident).where(Incident.flags.is_not(None))).all():
        reason = (incident.flags or {}).get("hold")
        if isinstance(reason, str) and reason != HELD:
            held = session.scalar(select(IncidentEvent).where(
                IncidentEvent.incident_id == incident.id, IncidentEvent.kind == "held")
                .order_by(IncidentEvent.id.desc()))
            _note(session, vault, incident.id, held.actor if held else "user:unknown", reason,
                  held.at if held else incident.last_seen_at, cutoff)
            lifecycle.unmark(incident, "hold")
            lifecycle.mark(incident, "hold", reason=HELD)
            counts["holds"] += 1
    for reporter in session.scalars(select(Reporter).where(
            Reporter.blocked_reason.is_not(None), Reporter.blocked_reason != BLOCKED)).all():
        incident_id = session.scalar(select(Report.incident_id).where(
            Report.reporter_id == reporter.id, Report.incident_id.is_not(None))
            .order_by(Report.id.desc()))
        if incident_id is not None:
            _note(session, vault, incident_id, "user:unknown", reporter.blocked_reason,
                  reporter.last_seen_at, cutoff)
        reporter.blocked_reason = BLOCKED
        counts["blocked"] += 1
    session.commit()
    if any(counts.values()):
        logger.info("sealed plaintext decision notes: %d events, %d holds, %d blocked reporters",
                    counts["events"], counts["holds"], counts["blocked"])
    return counts
