"""The dashboard's reads of community alerts: an incident's broadcasts, who drafted, approved
or stopped one (by email, never a number), and the subscriber counts of a scope (counts only:
never a subscriber's number)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.accounts.scope import Scope
from hotline.broadcasts import drafts, progress
from hotline.core.languages import Languages
from hotline.models import (
    Broadcast,
    BroadcastApproval,
    BroadcastRecipient,
    Incident,
    Jurisdiction,
    User,
)

KIND_LABELS = {"alert": _l("Community alert"), "all_clear": _l("All clear"),
               "correction": _l("Correction")}
# a broadcast's status as words; a draft stopped before sending was discarded
STATUS_LABELS = {"draft": _l("draft"), "sending": _l("sending"), "sent": _l("sent"),
                 "stopped": _l("stopped"), "discarded": _l("discarded")}


def kind_label(kind: str) -> str:
    """A broadcast's kind as words ("Community alert"), in the user's language."""
    return str(KIND_LABELS.get(kind, kind))


def status_label(broadcast: Broadcast) -> str:
    """A broadcast's status as words: a draft stopped before sending was discarded."""
    status = broadcast.status
    if status == "cancelled":
        status = "stopped" if broadcast.started_at is not None else "discarded"
    return str(STATUS_LABELS.get(status, status))


def actor_names(session: Session, actors: list[str | None]) -> dict[str, str]:
    """How the page names who acted: "user:3" is the user's email, "token:x" an API token."""
    ids = {int(a[5:]) for a in actors if a and a.startswith("user:") and a[5:].isdigit()}
    emails = dict(session.execute(select(User.id, User.email).where(
        User.id.in_(sorted(ids)))).all()) if ids else {}
    names = {}
    for actor in actors:
        if not actor:
            continue
        kind, _sep, rest = actor.partition(":")
        if kind == "user" and rest.isdigit():
            names[actor] = emails.get(int(rest), _("a removed user"))
        elif kind == "token":
            names[actor] = _("API token %(name)s", name=rest)
        else:
            names[actor] = actor
    return names


def recipient_counts(session: Session, broadcasts: list[Broadcast]) -> dict[int, int]:
    """How many people each broadcast goes to: a draft's audience as of now, the recorded
    recipients of one that started."""
    started = [b.id for b in broadcasts if b.status != "draft"]
    counts: dict[int, int] = dict(session.execute(
        select(BroadcastRecipient.broadcast_id, func.count())
        .where(BroadcastRecipient.broadcast_id.in_(started))
        .group_by(BroadcastRecipient.broadcast_id)).all()) if started else {}
    for broadcast in broadcasts:
        if broadcast.status == "draft":
            counts[broadcast.id] = len(drafts.audience(session, broadcast))
    return counts


def of_incident(session: Session, incident: Incident) -> list[dict[str, Any]]:
    """The incident's broadcasts, oldest first, as its page lists them."""
    rows = list(session.scalars(select(Broadcast).where(Broadcast.incident_id == incident.id)
                                .order_by(Broadcast.id)))
    counts = recipient_counts(session, rows)
    names = actor_names(session, [b.created_by for b in rows])
    return [{"id": b.id, "kind": b.kind, "kind_label": kind_label(b.kind),
             "status": b.status, "status_label": status_label(b), "parent_id": b.parent_id,
             "recipients": counts.get(b.id, 0), "created_at": b.created_at,
             "created_by": names.get(b.created_by, b.created_by), "started": b.started_at}
            for b in rows]


def approvals_of(session: Session, broadcast: Broadcast) -> list[Any]:
    """(approver, label, at) of each approval, in order."""
    return list(session.execute(
        select(BroadcastApproval.approver, BroadcastApproval.label, BroadcastApproval.at)
        .where(BroadcastApproval.broadcast_id == broadcast.id)
        .order_by(BroadcastApproval.id)).all())


def follow_ups_of(session: Session, broadcast: Broadcast) -> list[Broadcast]:
    """The all clears and corrections of an alert, oldest first."""
    return list(session.scalars(select(Broadcast).where(Broadcast.parent_id == broadcast.id)
                                .order_by(Broadcast.id)))


def open_draft(session: Session, incident: Incident, kind: str = "alert",
               parent: Broadcast | None = None) -> Broadcast | None:
    """A draft of this kind already waiting for the incident (or the alert), if any: a second
    click opens it rather than drafting another that could be approved and sent as well."""
    query = select(Broadcast).where(Broadcast.incident_id == incident.id,
                                    Broadcast.kind == kind, Broadcast.status == "draft")
    if parent is not None:
        query = query.where(Broadcast.parent_id == parent.id)
    return session.scalars(query.order_by(Broadcast.id.desc()).limit(1)).first()


def subscriber_rows(session: Session, scope: Scope, languages: Languages) -> list[dict[str, Any]]:
    """Every jurisdiction in scope with its confirmed and pending subscribers, and the
    confirmed ones by area and by language (English names); counts only."""
    counts = {e["jurisdiction"]: e for e in
              progress.subscriber_counts(session, scope.jurisdiction_ids)["jurisdictions"]}
    query = select(Jurisdiction.slug, Jurisdiction.name).order_by(Jurisdiction.name)
    if scope.jurisdiction_ids is not None:
        query = query.where(Jurisdiction.id.in_(sorted(scope.jurisdiction_ids)))
    rows = []
    for slug, name in session.execute(query):
        found = counts.get(slug) or {}
        rows.append({
            "slug": slug, "name": name, "confirmed": found.get("confirmed", 0),
            "pending": found.get("pending", 0), "areas": found.get("areas", []),
            "languages": [{**x, "name": languages.english_name(x["language"])}
                          for x in found.get("languages", [])],
        })
    return rows
