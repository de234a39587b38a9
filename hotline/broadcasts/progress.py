"""How far a broadcast has got: its recipients by delivery state, from the messages' statuses
(Twilio's status callbacks move them: sent, delivered, failed)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.models import BroadcastRecipient, Jurisdiction, Message, Subscriber, SubscriberArea

STATES = ("queued", "sent", "delivered", "failed", "skipped", "cancelled")
_BY_MESSAGE = {"queued": "queued", "sending": "queued", "accepted": "sent", "sent": "sent",
               "simulated": "sent", "delivered": "delivered", "read": "delivered",
               "failed": "failed", "undelivered": "failed", "suppressed": "skipped"}
_BY_RECIPIENT = {"pending": "queued", "skipped": "skipped", "cancelled": "cancelled"}


def counts(session: Session, broadcast_id: int) -> dict[str, int]:
    """{queued, sent, delivered, failed, skipped, cancelled, total} for one broadcast."""
    out = dict.fromkeys(STATES, 0)
    rows = session.execute(
        select(BroadcastRecipient.status, Message.status, func.count())
        .outerjoin(Message, Message.id == BroadcastRecipient.message_id)
        .where(BroadcastRecipient.broadcast_id == broadcast_id)
        .group_by(BroadcastRecipient.status, Message.status)).all()
    for recipient_status, message_status, n in rows:
        if recipient_status == "queued" and message_status is not None:
            state = _BY_MESSAGE.get(message_status, "queued")
        else:
            state = _BY_RECIPIENT.get(recipient_status, "queued")
        out[state] += n
    out["total"] = sum(out[s] for s in STATES)
    return out


def subscriber_counts(session: Session, jurisdiction_ids: frozenset[int] | None) -> dict[str, Any]:
    """Subscribers per jurisdiction (confirmed, pending), and the confirmed ones by area and by
    language: counts only, never a number. `jurisdiction_ids` None: every jurisdiction."""
    def grouped(*columns: Any) -> list[Any]:  # noqa: ANN401 - SQL columns
        query = (select(SubscriberArea.jurisdiction_id, *columns,
                        func.count(func.distinct(Subscriber.id)))
                 .join(Subscriber, Subscriber.id == SubscriberArea.subscriber_id)
                 .group_by(SubscriberArea.jurisdiction_id, *columns))
        if jurisdiction_ids is not None:
            query = query.where(SubscriberArea.jurisdiction_id.in_(sorted(jurisdiction_ids)))
        if columns[0] is not Subscriber.status:
            query = query.where(Subscriber.status == "confirmed")
        return list(session.execute(query))

    slugs = dict(session.execute(select(Jurisdiction.id, Jurisdiction.slug)).all())
    out: dict[int, dict[str, Any]] = {}

    def entry(jid: int) -> dict[str, Any]:
        return out.setdefault(jid, {"jurisdiction": slugs.get(jid), "confirmed": 0,
                                    "pending": 0, "areas": [], "languages": []})

    for jid, status, n in grouped(Subscriber.status):
        if status in ("confirmed", "pending"):
            entry(jid)[status] = n
    for jid, area, n in grouped(SubscriberArea.label):
        entry(jid)["areas"].append({"area": area, "subscribers": n})
    for jid, language, n in grouped(Subscriber.language):
        entry(jid)["languages"].append({"language": language or "en", "subscribers": n})
    for e in out.values():
        e["areas"].sort(key=lambda a: (-a["subscribers"], a["area"]))
        e["languages"].sort(key=lambda a: a["language"])
    return {"jurisdictions": sorted(out.values(), key=lambda e: e["jurisdiction"] or "")}
