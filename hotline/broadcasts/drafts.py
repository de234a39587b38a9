"""Broadcasts from verified incidents only: a draft with its text in each subscriber language,
the audience (confirmed subscribers whose area is within the jurisdiction's
`broadcast_radius_m` of the incident, or the whole jurisdiction), the approvals the policy asks
for (`broadcast_approvals`), then sending (`sending`); a follow-up (all clear, correction) goes
to exactly the recipients its alert was sent to.

Nothing here sends: `approve` starts sending once the approvals are in, by recording the
recipients (one unique row per broadcast and subscriber) and deferring the pump.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.core.distances import distance_m
from hotline.core.languages import Languages
from hotline.core.policy import Policy
from hotline.jobs import outbox
from hotline.messaging import notify
from hotline.messaging.templates import Templates
from hotline.models import (
    Broadcast,
    BroadcastApproval,
    BroadcastRecipient,
    Incident,
    Jurisdiction,
    Message,
    Subscriber,
    SubscriberArea,
    utcnow,
)

logger = logging.getLogger(__name__)

BROADCASTABLE = ("verified", "routed", "acknowledged")
FOLLOW_UPS = ("all_clear", "correction")
MAX_TEXT = 1600
TEMPLATE = {"alert": "broadcast_alert", "all_clear": "broadcast_all_clear",
            "correction": "broadcast_correction"}


class BroadcastError(Exception):
    """A broadcast request that cannot be honoured, with its HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Member:
    """One subscriber of a broadcast's audience."""

    subscriber_id: int
    language: str
    area: str


def create(session: Session, incident: Incident, templates: Templates, *, actor: str,
           kind: str = "alert", texts: dict[str, Any] | None = None,
           radius_m: int | None = None, whole_jurisdiction: bool = False,
           parent: Broadcast | None = None) -> Broadcast:
    """A draft broadcast about `incident` (flushes). Alerts only for a verified, routed or
    acknowledged incident; follow-ups only of an alert that was sent (or is sending)."""
    if incident.jurisdiction_id is None:
        raise BroadcastError(409, "the incident has no jurisdiction: nobody to alert")
    jurisdiction = session.get(Jurisdiction, incident.jurisdiction_id)
    policy = Policy.of(jurisdiction)
    if kind == "alert":
        if incident.status not in BROADCASTABLE:
            raise BroadcastError(409, f"incident {incident.code} is {incident.status}: only a "
                                      "verified, routed or acknowledged incident is broadcast")
        if radius_m is not None and not 100 <= radius_m <= 100_000:
            raise BroadcastError(400, "radius_m: must be between 100 and 100000")
        if whole_jurisdiction or incident.lat is None or incident.lon is None:
            radius = None  # placed only to the jurisdiction: its whole audience
        else:
            radius = radius_m or policy.broadcast_radius_m
        needed = policy.broadcast_approvals
    elif kind in FOLLOW_UPS:
        if parent is None or parent.kind != "alert" or parent.status not in \
                ("sending", "sent", "cancelled") or parent.started_at is None:
            raise BroadcastError(409, "a follow-up needs an alert that was sent")
        radius, needed = parent.radius_m, 1  # a correction must not wait for a quorum
    else:
        raise BroadcastError(400, "kind: must be alert, all_clear or correction")
    broadcast = Broadcast(incident_id=incident.id, jurisdiction_id=incident.jurisdiction_id,
                          parent_id=parent.id if parent is not None else None, kind=kind,
                          radius_m=radius, approvals_needed=needed, created_by=actor[:64])
    session.add(broadcast)
    session.flush()
    members = audience(session, broadcast, incident)
    broadcast.texts = _texts(templates, incident, jurisdiction, kind, members, texts)
    session.flush()
    logger.info("broadcast %s (%s) drafted for incident %s: %d recipients", broadcast.id, kind,
                incident.code, len(members))
    return broadcast


def audience(session: Session, broadcast: Broadcast,
             incident: Incident | None = None) -> list[Member]:
    """Who a broadcast goes to now: for a follow-up, its alert's recipients that were sent
    a message; for an alert, the confirmed subscribers of its area. Stopped subscribers never."""
    if broadcast.parent_id is not None:
        rows = session.execute(
            select(BroadcastRecipient.subscriber_id, Subscriber.language,
                   BroadcastRecipient.area)
            .join(Subscriber, Subscriber.id == BroadcastRecipient.subscriber_id)
            .join(Message, Message.id == BroadcastRecipient.message_id)
            .where(BroadcastRecipient.broadcast_id == broadcast.parent_id,
                   BroadcastRecipient.status == "queued", Subscriber.status == "confirmed",
                   Message.status.in_(("sent", "delivered", "read", "accepted", "undelivered",
                                       "simulated")))
            .order_by(BroadcastRecipient.id)).all()
        return [Member(s, lang or "en", area) for s, lang, area in rows]
    incident = incident or session.get(Incident, broadcast.incident_id)
    rows = session.execute(
        select(SubscriberArea.subscriber_id, Subscriber.language, SubscriberArea.kind,
               SubscriberArea.label, SubscriberArea.lat, SubscriberArea.lon)
        .join(Subscriber, Subscriber.id == SubscriberArea.subscriber_id)
        .where(SubscriberArea.jurisdiction_id == broadcast.jurisdiction_id,
               Subscriber.status == "confirmed")
        .order_by(SubscriberArea.subscriber_id, SubscriberArea.id)).all()
    best: dict[int, tuple[float, Member]] = {}
    for subscriber_id, language, kind, label, lat, lon in rows:
        if kind == "jurisdiction" or broadcast.radius_m is None:
            distance = float(broadcast.radius_m or 0) + 1  # the whole jurisdiction: the widest
        elif lat is None or lon is None or incident is None or incident.lat is None or \
                incident.lon is None:
            continue
        else:
            distance = distance_m(incident.lat, incident.lon, lat, lon)
            if distance > broadcast.radius_m:
                continue
        seen = best.get(subscriber_id)
        if seen is None or distance < seen[0]:
            best[subscriber_id] = (distance, Member(subscriber_id, language or "en", label))
    return [member for _, member in sorted(best.values(), key=lambda x: x[1].subscriber_id)]


def summary(session: Session, broadcast: Broadcast, languages: Languages,
            rate: float) -> dict[str, Any]:
    """A broadcast's draft or progress: texts, recipients by language and area, approvals,
    the estimated time at `rate` messages per second, and the delivery counts."""
    from hotline.broadcasts.progress import counts

    if broadcast.status == "draft":
        members = audience(session, broadcast)
    else:
        members = [Member(0, lang, area) for lang, area in session.execute(
            select(BroadcastRecipient.language, BroadcastRecipient.area)
            .where(BroadcastRecipient.broadcast_id == broadcast.id))]
    by_language = Counter(m.language for m in members)
    by_area = Counter(m.area for m in members)
    approvals = session.execute(select(BroadcastApproval.label, BroadcastApproval.at).where(
        BroadcastApproval.broadcast_id == broadcast.id).order_by(BroadcastApproval.id)).all()
    return {
        "id": broadcast.id, "kind": broadcast.kind, "status": broadcast.status,
        "parent": broadcast.parent_id, "radius_m": broadcast.radius_m,
        "whole_jurisdiction": broadcast.radius_m is None,
        "texts": dict(broadcast.texts or {}),
        "recipients": len(members),
        "by_language": [{"language": lang, "name": languages.english_name(lang),
                         "recipients": n} for lang, n in sorted(by_language.items())],
        "by_area": [{"area": area, "recipients": n} for area, n in by_area.most_common()],
        "estimated_seconds": _estimate(len(members), rate),
        "approvals": [{"by": label, "at": at.isoformat()} for label, at in approvals],
        "approvals_needed": broadcast.approvals_needed,
        "counts": counts(session, broadcast.id),
        "created_by": broadcast.created_by, "created_at": broadcast.created_at.isoformat(),
        "started_at": broadcast.started_at.isoformat() if broadcast.started_at else None,
        "finished_at": broadcast.finished_at.isoformat() if broadcast.finished_at else None,
        "cancelled_at": broadcast.cancelled_at.isoformat() if broadcast.cancelled_at else None,
    }


def set_texts(session: Session, broadcast: Broadcast, templates: Templates,
              texts: dict[str, Any]) -> None:
    """A dispatcher's own wording, per language, of a draft (flushes). Approvals already
    given are withdrawn when a text changes: nobody approves words they have not seen."""
    if broadcast.status != "draft":
        raise BroadcastError(409, f"broadcast {broadcast.id} is {broadcast.status}: its text "
                                  "can no longer change")
    changed = {k: v for k, v in _checked(templates, texts).items()
               if broadcast.texts.get(k) != v}
    if changed:
        broadcast.texts = {**broadcast.texts, **changed}
        # an approval is of the words approved: a changed text needs them again
        session.execute(delete(BroadcastApproval).where(
            BroadcastApproval.broadcast_id == broadcast.id))
    session.flush()


def approve(session: Session, broadcast: Broadcast, templates: Templates, approver: str,
            label: str) -> bool:
    """One approval (each person once); sending starts when the policy's are in. True when
    this approval started it (flushes)."""
    locked = session.scalars(select(Broadcast).where(Broadcast.id == broadcast.id)
                             .with_for_update()).one()
    if locked.status != "draft":
        raise BroadcastError(409, f"broadcast {locked.id} is {locked.status}")
    if not locked.texts:
        raise BroadcastError(409, "the broadcast has no recipients")
    try:
        with session.begin_nested():
            session.add(BroadcastApproval(broadcast_id=locked.id, approver=approver[:64],
                                          label=label[:100]))
    except IntegrityError:
        raise BroadcastError(409, "you already approved this broadcast; another dispatcher "
                                  "must approve it too") from None
    given = len(session.scalars(select(BroadcastApproval.id).where(
        BroadcastApproval.broadcast_id == locked.id)).all())
    if given < locked.approvals_needed:
        session.flush()
        return False
    _start(session, locked, templates)
    return True


def cancel(session: Session, broadcast: Broadcast, actor: str) -> int:
    """Stop a broadcast: a draft is dropped, a sending one sends nothing more (the pump sees
    it before its next message). Returns how many recipients will not get it (flushes)."""
    locked = session.scalars(select(Broadcast).where(Broadcast.id == broadcast.id)
                             .with_for_update()).one()
    if locked.status not in ("draft", "sending"):
        raise BroadcastError(409, f"broadcast {locked.id} is {locked.status}")
    locked.status, locked.cancelled_at, locked.cancelled_by = "cancelled", utcnow(), actor[:64]
    stopped = session.execute(update(BroadcastRecipient).where(
        BroadcastRecipient.broadcast_id == locked.id, BroadcastRecipient.status == "pending")
        .values(status="cancelled")).rowcount
    session.flush()
    logger.info("broadcast %s cancelled (%d recipients not sent)", locked.id, stopped)
    return int(stopped or 0)


def _start(session: Session, broadcast: Broadcast, templates: Templates) -> None:
    """Record every recipient (unique per subscriber) and defer the pump."""
    members = audience(session, broadcast)
    if not members:
        raise BroadcastError(409, "the broadcast has no recipients (any more)")
    missing = [m for m in members if text_for(broadcast, m.language) is None]
    if missing:  # a subscriber of another language confirmed since the draft
        incident = session.get(Incident, broadcast.incident_id)
        jurisdiction = session.get(Jurisdiction, broadcast.jurisdiction_id)
        broadcast.texts = {**_texts(templates, incident, jurisdiction, broadcast.kind, missing,
                                    None), **broadcast.texts}
    table = BroadcastRecipient.__table__
    session.execute(table.insert(), [
        {"broadcast_id": broadcast.id, "subscriber_id": m.subscriber_id,
         "language": m.language, "area": m.area[:100], "status": "pending"} for m in members])
    broadcast.status, broadcast.started_at = "sending", utcnow()
    outbox.defer(session, "broadcast_pump", broadcast.id)
    session.flush()
    logger.info("broadcast %s sending to %d recipients", broadcast.id, len(members))


def text_for(broadcast: Broadcast, language: str) -> str | None:
    """The broadcast's text for a reader of `language` ("zh-Hant" reads "zh" if need be)."""
    texts = broadcast.texts or {}
    return texts.get(language) or texts.get(language.partition("-")[0])


def _texts(templates: Templates, incident: Incident, jurisdiction: Jurisdiction | None,
           kind: str, members: list[Member], given: dict[str, Any] | None) -> dict[str, str]:
    """The text in each language of the audience, composed from the incident (what, where,
    when, and a know-your-rights line; never anything about the reporters), with the
    dispatcher's own wording where given."""
    tz = ZoneInfo(jurisdiction.timezone) if jurisdiction is not None else ZoneInfo("UTC")
    when = incident.first_seen_at.astimezone(tz).strftime("%H:%M")
    place = incident.location_text or (jurisdiction.name if jurisdiction else "")
    texts: dict[str, str] = {}
    for language in sorted({m.language for m in members}):
        values: dict[str, Any] = {"place": place, "time": when}
        if kind == "alert":
            values["what"] = ", ".join(notify.what_was_seen(incident, language))
            values["rights"] = templates.text("broadcast_rights", language)
        texts[language] = templates.text(TEMPLATE[kind], language, **values)
    texts.update(_checked(templates, given or {}))
    return texts


def _checked(templates: Templates, texts: dict[str, Any]) -> dict[str, str]:
    if not isinstance(texts, dict):
        raise BroadcastError(400, "text: must be an object of language -> text")
    out: dict[str, str] = {}
    for language, text in texts.items():
        if language not in templates.languages:
            raise BroadcastError(400, f"text: {language!r} is not a configured language")
        if not isinstance(text, str) or not text.strip():
            raise BroadcastError(400, f"text.{language}: must be a non-empty string")
        if "\x00" in text:
            raise BroadcastError(400, f"text.{language}: must not contain NUL")
        if len(text) > MAX_TEXT:
            raise BroadcastError(400, f"text.{language}: at most {MAX_TEXT} characters")
        out[language] = text.strip()
    return out


def _estimate(recipients: int, rate: float) -> float | None:
    """Seconds to send to `recipients` at the pace the broadcast pacer keeps: whole messages
    per clock second (2.5 a second sends 2), one per 1/rate seconds under one a second."""
    if not rate:
        return None
    per_second = float(int(rate + 1e-9)) if rate >= 1 else rate
    return round(recipients / per_second, 1)
