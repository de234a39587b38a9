"""The dashboard's reads: the board, the incident list, the live signature, one incident.

Each is a few indexed queries whatever the size of the database (see
benchmarks/dashboard_scale.py): grouped counts, a window-limited slice per jurisdiction, and
report counts for the rows shown only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import case, false, func, select
from sqlalchemy.orm import Session

from hotline.accounts.scope import Scope
from hotline.core.twilio_client import RECORDING_SID
from hotline.models import (
    INCIDENT_STATUSES,
    OPEN_STATUSES,
    Alert,
    Incident,
    Jurisdiction,
    MediaItem,
    Message,
    Report,
    Reporter,
    Responder,
    User,
    utcnow,
)
from hotline.privacy.vault import DecryptionError, Vault, reference

UNVERIFIED = ("new", "verifying")
# What the board and the list show of an incident: plain columns, no JSON to decode.
ROW_COLUMNS = (Incident.id, Incident.code, Incident.status, Incident.jurisdiction_id,
               Incident.location_text, Incident.score, Incident.first_seen_at,
               Incident.last_seen_at, Incident.flags)
PER_JURISDICTION = 25
PAGE_SIZE = 50
MAX_PAGE = 2000
PERIODS = {"1h": timedelta(hours=1), "6h": timedelta(hours=6), "24h": timedelta(days=1),
           "7d": timedelta(days=7), "30d": timedelta(days=30)}
VERIFIER_ANSWERS = {"acked": _l("yes, saw it"), "declined": _l("no, found nothing"),
                    "expired": _l("no answer in time"), "failed": _l("could not be reached"),
                    "withdrawn": _l("not needed any more")}


@dataclass
class Group:
    """One jurisdiction (or the out-of-area queue) on the board."""

    slug: str
    name: str
    counts: dict[str, int] = field(default_factory=dict)
    oldest_unverified: datetime | None = None
    incidents: list[Any] = field(default_factory=list)  # rows of ROW_COLUMNS
    awaiting_location: int = 0  # reports waiting for their answer to "where?"

    @property
    def total(self) -> int:
        """Open incidents in the group."""
        return sum(self.counts.values())

    @property
    def more(self) -> int:
        """Open incidents not shown on the board."""
        return max(0, self.total - len(self.incidents))


@dataclass
class Board:
    """Every jurisdiction in scope with its open incidents, and the out-of-area queue."""

    groups: list[Group]
    report_counts: dict[int, int]
    now: datetime

    @property
    def totals(self) -> dict[str, int]:
        """Open incidents by status, over every group."""
        totals = dict.fromkeys(OPEN_STATUSES, 0)
        for group in self.groups:
            for status, count in group.counts.items():
                totals[status] += count
        return totals


def report_counts(session: Session, incident_ids: list[int]) -> dict[int, int]:
    """Number of reports of each incident."""
    if not incident_ids:
        return {}
    return dict(session.execute(
        select(Report.incident_id, func.count()).where(Report.incident_id.in_(incident_ids))
        .group_by(Report.incident_id)).all())


def _groups(session: Session, scope: Scope) -> dict[int | None, Group]:
    query = select(Jurisdiction).order_by(Jurisdiction.name)
    if scope.jurisdiction_ids is not None:
        query = query.where(Jurisdiction.id.in_(sorted(scope.jurisdiction_ids)))
    groups: dict[int | None, Group] = {j.id: Group(j.slug, j.name)
                                       for j in session.scalars(query)}
    if scope.unassigned:
        groups[None] = Group("none", _("Outside every jurisdiction"))
    return groups


def board(session: Session, scope: Scope, per_group: int = PER_JURISDICTION) -> Board:
    """The board: counts by status and the oldest unverified, then up to `per_group` rows per
    jurisdiction, unverified first and oldest first within each kind."""
    groups = _groups(session, scope)
    open_ = [Incident.status.in_(OPEN_STATUSES), *scope.filters()]
    for jid, status, count in session.execute(
            select(Incident.jurisdiction_id, Incident.status, func.count())
            .where(*open_).group_by(Incident.jurisdiction_id, Incident.status)):
        if jid in groups:
            groups[jid].counts[status] = count
    for jid, waiting in session.execute(
            select(Report.jurisdiction_id, func.count()).where(
                Report.state == "awaiting_location").group_by(Report.jurisdiction_id)):
        if jid in groups:
            groups[jid].awaiting_location = waiting
    for jid, oldest in session.execute(
            select(Incident.jurisdiction_id, func.min(Incident.first_seen_at))
            .where(*open_, Incident.status.in_(UNVERIFIED)).group_by(Incident.jurisdiction_id)):
        if jid in groups:
            groups[jid].oldest_unverified = oldest
    priority = case((Incident.status.in_(UNVERIFIED), 0), else_=1)
    ranked = select(*ROW_COLUMNS, priority.label("priority"), func.row_number().over(
        partition_by=Incident.jurisdiction_id,
        order_by=(priority, Incident.first_seen_at, Incident.id)).label("rank")) \
        .where(*open_).subquery()
    rows = session.execute(
        select(*(ranked.c[c.key] for c in ROW_COLUMNS)).where(ranked.c.rank <= per_group)
        .order_by(ranked.c.priority, ranked.c.first_seen_at, ranked.c.id)).all()
    for incident in rows:
        if incident.jurisdiction_id in groups:
            groups[incident.jurisdiction_id].incidents.append(incident)
    counts = report_counts(session, [i.id for i in rows])
    ordered = sorted(groups.values(), key=lambda g: (g.slug == "none", g.name))
    return Board(ordered, counts, utcnow())


@dataclass(frozen=True)
class ListFilters:
    """The incident list's filters, as given in the query string."""

    status: str = ""
    jurisdiction: str = ""
    period: str = ""
    page: int = 1

    @classmethod
    def parse(cls, args: Any) -> ListFilters:
        """Filters from request args; unknown values are ignored, not errors."""
        status = args.get("status", "")
        status = status if status in INCIDENT_STATUSES or status == "open" else ""
        period = args.get("period", "")
        period = period if period in PERIODS else ""
        try:
            page = min(max(int(args.get("page", 1)), 1), MAX_PAGE)
        except (TypeError, ValueError):
            page = 1
        return cls(status, str(args.get("jurisdiction", ""))[:64], period, page)

    def query_args(self, **changes: Any) -> dict[str, Any]:
        """These filters as URL arguments (empty ones left out), with `changes` applied."""
        values = {"status": self.status, "jurisdiction": self.jurisdiction,
                  "period": self.period, "page": self.page, **changes}
        return {k: v for k, v in values.items() if v and not (k == "page" and v == 1)}


def filtered(session: Session, scope: Scope, filters: ListFilters) -> Any:
    """SELECT Incident, jurisdiction slug with the filters and scope applied (unordered)."""
    query = scope.restrict(select(Incident, Jurisdiction.slug).outerjoin(
        Jurisdiction, Jurisdiction.id == Incident.jurisdiction_id))
    if filters.status == "open":
        query = query.where(Incident.status.in_(OPEN_STATUSES))
    elif filters.status:
        query = query.where(Incident.status == filters.status)
    if filters.jurisdiction == "none":
        query = query.where(Incident.jurisdiction_id.is_(None))
    elif filters.jurisdiction:
        jid = session.scalar(select(Jurisdiction.id).where(
            Jurisdiction.slug == filters.jurisdiction))
        query = query.where(Incident.jurisdiction_id == jid if jid is not None else false())
    if filters.period:
        query = query.where(Incident.last_seen_at >= utcnow() - PERIODS[filters.period])
    return query


def incident_list(session: Session, scope: Scope, filters: ListFilters,
                  size: int = PAGE_SIZE) -> tuple[list[tuple[Any, str | None]], bool]:
    """One page of incidents (rows of ROW_COLUMNS), latest activity first, and whether another
    page follows."""
    query = filtered(session, scope, filters).with_only_columns(*ROW_COLUMNS, Jurisdiction.slug)
    rows = session.execute(
        query.order_by(Incident.last_seen_at.desc(), Incident.id.desc())
        .offset((filters.page - 1) * size).limit(size + 1)).all()
    return [(row, row.slug) for row in rows[:size]], len(rows) > size


def signature(session: Session) -> str:
    """Changes whenever any incident is created or changed, or a report starts or stops
    waiting for its place (index lookups)."""
    newest, last_id = session.execute(
        select(func.max(Incident.updated_at), func.max(Incident.id))).one()
    waiting = session.scalar(select(func.count(Report.id)).where(
        Report.state == "awaiting_location"))
    return f"{newest.isoformat() if newest else '-'}:{last_id or 0}:{waiting or 0}"


# -- one incident ---------------------------------------------------------------------------

# what the incident page shows of a media item: never its sealed bytes or its EXIF
MEDIA_COLUMNS = (MediaItem.id, MediaItem.declared_type, MediaItem.content_type, MediaItem.kind,
                 MediaItem.status, MediaItem.reason, MediaItem.size, MediaItem.sha256)
MEDIA_NOUNS = {"image": _l("photo"), "audio": _l("audio"), "video": _l("video")}


def size_label(size: int | None) -> str:
    """A size in bytes as people read it: "812 bytes", "14.2 KB", "3.1 MB"."""
    if size is None:
        return ""
    if size < 1000:
        return ngettext("%(num)d byte", "%(num)d bytes", size)
    if size < 1_000_000:
        return f"{size / 1000:.1f} KB"
    return f"{size / 1_000_000:.1f} MB"


def media_of(session: Session, report_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The media items of these reports' messages, in order (one query; no sealed bytes, no
    URL: a stored item is served by the dashboard's media views, audited)."""
    if not report_ids:
        return {}
    found: dict[int, list[dict[str, Any]]] = {}
    for row in session.execute(
            select(Message.report_id, *MEDIA_COLUMNS,
                   MediaItem.thumb_enc.is_not(None).label("has_thumb"))
            .join(Message, Message.id == MediaItem.message_id)
            .where(Message.report_id.in_(report_ids))
            .order_by(MediaItem.message_id, MediaItem.position)):
        kind = row.kind or (row.declared_type or "").split("/", 1)[0]
        found.setdefault(row.report_id, []).append({
            "id": row.id, "kind": row.kind, "noun": str(MEDIA_NOUNS.get(kind) or _("media")),
            "content_type": row.content_type or row.declared_type or "",
            "status": row.status, "reason": row.reason, "size": size_label(row.size),
            "sha256": row.sha256, "has_thumb": bool(row.has_thumb)})
    return found


def _text(vault: Vault, report: Report, pii: bool) -> tuple[str | None, str]:
    """The report's text and how it is shown: 'shown', 'hidden', 'purged' or 'unreadable'."""
    if not pii:
        return None, "hidden"
    if report.text_enc is None:
        return None, "purged"
    try:
        return vault.decrypt(report.text_enc, "report.text"), "shown"
    except DecryptionError:
        return None, "unreadable"


def recordings_of(session: Session, report_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The call recordings (voice messages with a Twilio recording SID) of these reports."""
    if not report_ids:
        return {}
    found: dict[int, list[dict[str, Any]]] = {}
    for message in session.scalars(select(Message).where(
            Message.report_id.in_(report_ids), Message.channel == "voice",
            Message.direction == "inbound").order_by(Message.id)):
        if not RECORDING_SID.match(message.twilio_sid or ""):
            continue  # a report a volunteer wrote from a call: no recording
        media = message.media[0] if message.media and isinstance(message.media[0], dict) \
            else {}
        found.setdefault(message.report_id, []).append({
            "id": message.id, "needs_listening": bool((message.flags or {}).get(
                "needs_listening")), "duration": media.get("duration"),
            "purged": message.purged_at is not None})
    return found


def reports_of(session: Session, incident: Incident, vault: Vault,
               pii: bool) -> list[dict[str, Any]]:
    """The incident's reports for the page (texts and media only when the viewer may read
    PII)."""
    rows = session.execute(
        select(Report, Reporter).outerjoin(Reporter, Reporter.id == Report.reporter_id)
        .where(Report.incident_id == incident.id).order_by(Report.created_at, Report.id)).all()
    ids = [report.id for report, _ in rows]
    recordings = recordings_of(session, ids)
    media = media_of(session, ids) if pii else {}  # viewers see none
    out = []
    for report, reporter in rows:
        text, shown = _text(vault, report, pii)
        out.append({
            "id": report.id, "text": text, "shown": shown, "language": report.language,
            "channel": report.channel, "created_at": report.created_at,
            "salute": {k: v for k, v in (report.salute or {}).items() if v},
            "location": (report.location or {}).get("text"),
            "confidence": report.confidence, "media": media.get(report.id, []),
            "recordings": recordings.get(report.id, []),
            "flags": sorted(k for k, v in (report.flags or {}).items() if v is True),
            "reporter": {"ref": reference(reporter.phone_hmac), "trust": reporter.trust_score,
                         "blocked": reporter.blocked} if reporter else None,
        })
    return out


def alerts_of(session: Session, incident: Incident) -> list[tuple[Alert, Responder | None]]:
    """The incident's alerts with their responders, oldest first."""
    return [(a, r) for a, r in session.execute(
        select(Alert, Responder).outerjoin(Responder, Responder.id == Alert.responder_id)
        .where(Alert.incident_id == incident.id).order_by(Alert.id)).all()]


def verifier_answers(alerts: list[tuple[Alert, Responder | None]]) -> list[dict[str, Any]]:
    """Who was asked to verify, and what they answered."""
    return [{"name": r.name if r else "?", "status": a.status,
             "answer": str(VERIFIER_ANSWERS.get(a.status) or _("asked, waiting")),
             "asked_at": a.created_at, "answered_at": a.answered_at}
            for a, r in alerts if a.kind == "verify"]


def incident_context(session: Session, incident: Incident) -> dict[str, Any]:
    """Names around an incident: its jurisdiction, who has it, what it was merged into."""
    jurisdiction = session.get(Jurisdiction, incident.jurisdiction_id) \
        if incident.jurisdiction_id else None
    assigned = session.get(User, incident.assigned_user_id) if incident.assigned_user_id \
        else None
    merged_into = session.scalar(select(Incident.code).where(
        Incident.id == incident.merged_into_id)) if incident.merged_into_id else None
    acknowledged_by = session.get(Responder, incident.acknowledged_by_id) \
        if incident.acknowledged_by_id else None
    return {"jurisdiction": jurisdiction, "assigned": assigned, "merged_into": merged_into,
            "acknowledged_by": acknowledged_by,
            "network": (incident.policy_snapshot or {}).get("network")}


ACTOR_ROLES = {"lawyer": _l("lawyer"), "verifier": _l("verifier"), "dispatcher": _l("dispatcher")}
USER_ROLES = {"admin": _l("admin"), "dispatcher": _l("dispatcher"), "lawyer": _l("lawyer"),
              "viewer": _l("viewer")}


def actor_labels(session: Session, actors: set[str], staff: bool = True) -> dict[str, str]:
    """How the timeline names who acted: a person by name (a responder) or email (a dashboard
    user; for a reader who is not staff, `staff=False`, the role alone) and role, an API token
    by its name, Hotline's own steps as automatic."""
    labels = {"system": _("Hotline (automatic)"), "reporter": _("a reporter")}
    users = {int(a.split(":", 1)[1]) for a in actors
             if a.startswith("user:") and a.split(":", 1)[1].isdigit()}
    for user in session.scalars(select(User).where(User.id.in_(users))) if users else ():
        role = str(USER_ROLES.get(user.role, user.role))
        labels[f"user:{user.id}"] = f"{user.email} ({role})" if staff \
            else _("a %(role)s", role=role)
    keys = {a.split(":", 1)[1] for a in actors if a.startswith("responder:")}
    for responder in session.scalars(select(Responder).where(Responder.key.in_(keys))) \
            if keys else ():
        labels[f"responder:{responder.key}"] = \
            f"{responder.name} ({str(ACTOR_ROLES.get(responder.role, responder.role))})"
    for actor in actors:
        if actor.startswith("token:") and actor not in labels:
            labels[actor] = _("API token \u201c%(name)s\u201d", name=actor.split(":", 1)[1])
    return labels


QUESTION_HOURS = 24


def question_counts(session: Session, scope: Scope, hours: int = QUESTION_HOURS
                    ) -> list[dict[str, Any]]:
    """Questions answered in the last `hours`, per jurisdiction of the scope: how many asked
    their rights and how many asked whether agents are somewhere (a rumour spreading shows
    here). Counts only; never who asked."""
    since = utcnow() - timedelta(hours=hours)
    kind = Message.flags["question"].as_string()
    where = Message.flags["jurisdiction"].as_string()
    names = {j.slug: j.name for j in session.scalars(
        select(Jurisdiction).where(*scope.jurisdiction_filter(Jurisdiction.id)))}
    counts: dict[str, dict[str, Any]] = {}
    for slug, asked, count in session.execute(
            select(where, kind, func.count()).where(
                Message.direction == "inbound", Message.received_at >= since,
                kind.is_not(None)).group_by(where, kind)):
        if slug in names:
            row = counts.setdefault(slug, {"slug": slug, "name": names[slug], "rights": 0,
                                           "rumour": 0})
            row[asked] = row.get(asked, 0) + count
    return sorted(counts.values(), key=lambda row: row["name"])
