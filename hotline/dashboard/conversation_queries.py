"""One conversation per incident: every message in and out about it, in order (reports and
follow-ups, "where?" and its answer, verifier requests and answers, pages and accepts, relays
between the lawyer and the reporters, dispatchers' own texts), and who a dispatcher may reply to.

Reporters are masked: "Reporter 1", "Reporter 2" in the order their first report joined. Texts
are decrypted only for viewers who may read them (the view is audited by the caller); numbers
are never shown."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from hotline.intake.conversation import why_not_reply
from hotline.models import Alert, Incident, Message, Report, Reporter, Responder, utcnow
from hotline.privacy.vault import DecryptionError, Vault

ROLE_WORDS = {"lawyer": _l("lawyer"), "verifier": _l("verifier"), "dispatcher": _l("dispatcher")}
# what each outbound text is, by its purpose (the template it was made from)
PURPOSES = {
    "ack": _l("acknowledgement"), "ask_location": _l("asked where"),
    "location_thanks": _l("thanked"), "help_coming": _l("told help is coming"),
    "relay_to_reporter": _l("the lawyer's message"), "relay": _l("the lawyer's message"),
    "dispatcher_to_reporter": _l("a dispatcher's message"),
    "verify_request": _l("asked to verify"), "verify_place": _l("the place, to the verifier"),
    "verify_not_needed": _l("told no need to go"), "page": _l("paged"),
    "accepted": _l("accept confirmed"), "claimed_by_other": _l("told another lawyer has it"),
    "declined": _l("decline confirmed"), "relay_to_lawyer": _l("a reporter's reply, relayed"),
    "relay_new_report": _l("told the reporter sent a new report"),
    "all_clear": _l("all clear"), "retraction": _l("retraction"),
    "merged_notice": _l("told it was merged"), "escalation_exhausted": _l("told nobody accepted"),
    "dispatcher_to_responder": _l("a dispatcher's message"),
    "verify_thanks": _l("answer confirmed"), "eta_thanks": _l("ETA confirmed"),
}


@dataclass(frozen=True)
class Line:
    """One message of the conversation."""

    id: int
    at: datetime
    inbound: bool
    party: str  # "Reporter 2", "Ana Garcia (lawyer)"
    what: str  # a report, a follow-up, asked to verify ...
    text: str | None  # None: not for this viewer, or purged
    status: str
    channel: str


@dataclass(frozen=True)
class ReporterRow:
    """A reporter of the incident as the reply form offers them: masked, never their number."""

    number: int  # Reporter <number>
    last_wrote: datetime | None
    can_reply: bool
    why_not: str | None


def _about(incident: Incident) -> list:
    reports = select(Report.id).where(Report.incident_id == incident.id)
    alerts = select(Alert.id).where(Alert.incident_id == incident.id)
    return [or_(Message.report_id.in_(reports), Message.alert_id.in_(alerts),
                Message.incident_id == incident.id)]


def masked_reporters(session: Session, incident: Incident) -> dict[int, int]:
    """Reporter id -> their number on this incident (1, 2 ...: order of their first report)."""
    rows = session.execute(
        select(Report.reporter_id, func.min(Report.created_at), func.min(Report.id))
        .where(Report.incident_id == incident.id, Report.reporter_id.is_not(None))
        .group_by(Report.reporter_id)).all()
    ordered = sorted(rows, key=lambda r: (r[1], r[2]))
    return {reporter_id: n for n, (reporter_id, _, _) in enumerate(ordered, start=1)}


def signature(session: Session, incident: Incident) -> str:
    """The conversation's version, without decrypting anything: its messages and statuses."""
    rows = session.execute(select(Message.id, Message.status).where(*_about(incident))
                           .order_by(Message.id)).all()
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:24]


def lines(session: Session, incident: Incident, vault: Vault | None,
          limit: int = 500) -> list[Line]:
    """The incident's messages in order; texts decrypted only when `vault` is given."""
    masked = masked_reporters(session, incident)
    rows = session.execute(
        select(Message, Responder.name, Responder.role)
        .outerjoin(Responder, Responder.id == Message.responder_id)
        .where(*_about(incident)).order_by(Message.received_at, Message.id).limit(limit)).all()
    first_of_reporter: set[int] = set()
    out = []
    for message, name, role in rows:
        inbound = message.direction == "inbound"
        if message.reporter_id is not None:
            number = masked.get(message.reporter_id)
            party = _("Reporter %(n)s", n=number) if number else _("a reporter")
        elif name is not None:
            party = f"{name} ({str(ROLE_WORDS.get(role, role))})"
        else:
            party = "?"
        purpose = (message.flags or {}).get("purpose")
        if inbound and message.reporter_id is not None:
            if message.report_id is None:
                what = _("a reply in the conversation")
            elif (message.flags or {}).get("call_report"):
                what = _("a call, written down by a volunteer")
            elif message.reporter_id in first_of_reporter:
                what = _("a follow-up")
            else:
                what = _("a report")
            if message.report_id is not None:
                first_of_reporter.add(message.reporter_id)
        elif inbound:
            what = _("an answer")
        elif purpose in PURPOSES:
            what = str(PURPOSES[purpose])
        else:
            what = purpose.replace("_", " ") if purpose else _("a message")
        out.append(Line(message.id, message.received_at, inbound, party, what,
                        _text(vault, message), message.status, message.channel))
    return out


def _text(vault: Vault | None, message: Message) -> str | None:
    if vault is None or message.body_enc is None or message.purged_at is not None:
        return None
    try:
        return vault.decrypt(message.body_enc, "message.body")
    except DecryptionError:
        return None


def reporters(session: Session, incident: Incident,
              at: datetime | None = None) -> list[ReporterRow]:
    """The incident's reporters, masked, and whether a dispatcher may text them now
    (`conversation.why_not_reply`: within 24 hours of their last message, never after STOP)."""
    at = at or utcnow()
    masked = masked_reporters(session, incident)
    if not masked:
        return []
    last = dict(session.execute(
        select(Message.reporter_id, func.max(Message.received_at)).where(
            Message.reporter_id.in_(list(masked)), Message.direction == "inbound")
        .group_by(Message.reporter_id)).all())
    out = []
    for reporter in session.scalars(select(Reporter).where(Reporter.id.in_(list(masked)))):
        why = why_not_reply(reporter, last.get(reporter.id), at)
        out.append(ReporterRow(masked[reporter.id], last.get(reporter.id), why is None, why))
    return sorted(out, key=lambda r: r.number)


def reporter_by_number(session: Session, incident: Incident, number: int) -> Reporter | None:
    """The reporter shown as `Reporter <number>` on the incident."""
    reporter_id = next((rid for rid, n in masked_reporters(session, incident).items()
                        if n == number), None)
    return session.get(Reporter, reporter_id) if reporter_id is not None else None


def alerted_responders(session: Session, incident: Incident) -> list[Responder]:
    """Everyone paged or asked to verify about the incident whose text went out."""
    return list(session.scalars(
        select(Responder).where(Responder.id.in_(
            select(Alert.responder_id).where(
                Alert.incident_id == incident.id, Alert.kind.in_(("page", "verify")),
                Alert.status.not_in(("queued", "failed"))))).order_by(Responder.name)))
