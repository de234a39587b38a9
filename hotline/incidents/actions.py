"""Dispatcher actions on an incident: shared by the dashboard and the API, audited by both."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.core.inputs import bad_text
from hotline.core.refusals import Refusal
from hotline.incidents import clustering, lifecycle, verification
from hotline.models import Incident, Report, Reporter, User


class ActionError(Refusal):
    """An action that cannot be applied; `status` is the HTTP status to answer."""

    def __init__(self, template: str, status: int = 400, /, **params: object) -> None:
        super().__init__(template, **params)
        self.status = status


ACTIONS = ("verify", "dismiss", "resolve", "merge", "split", "note", "assign", "block",
           "all_clear", "reverify", "hold", "release")
# decisions about the incident's fate: taken on what the dispatcher saw, so they are refused
# when the incident changed meanwhile (a colleague or a verifier decided first)
DECISIONS = frozenset({"verify", "dismiss", "resolve", "all_clear", "merge", "split",
                       "reverify"})

# the decisions offered in each state (the dashboard shows these buttons; others are refused):
# a routed or acknowledged incident has a lawyer on it, so it is not verified or dismissed
# again but re-verified (verifiers look again; the incident stays with its lawyer) or resolved
OFFERED: dict[str, frozenset[str]] = {
    "new": frozenset({"verify", "dismiss", "resolve", "all_clear", "reverify"}),
    "verifying": frozenset({"verify", "dismiss", "resolve", "all_clear", "reverify"}),
    "unconfirmed": frozenset({"verify", "dismiss", "resolve", "all_clear", "reverify"}),
    "verified": frozenset({"dismiss", "resolve", "all_clear"}),
    "routed": frozenset({"reverify", "resolve", "all_clear"}),
    "acknowledged": frozenset({"reverify", "resolve", "all_clear"}),
    "false_alarm": frozenset({"verify"}),
    "resolved": frozenset(),
    "merged": frozenset(),
}
STATE_DECISIONS = frozenset({"verify", "dismiss", "resolve", "all_clear", "reverify"})


def offered(incident: Incident) -> frozenset[str]:
    """The decisions a dispatcher can take on the incident as it stands: on a routed or
    acknowledged one that a re-verify found contested (a verifier's NO), dismissing it too,
    so that a hoax found out after routing is retracted to everyone alerted."""
    decisions = OFFERED.get(incident.status, frozenset())
    if incident.status in ("routed", "acknowledged") and (incident.flags or {}).get("contested"):
        decisions = decisions | {"dismiss"}
    return decisions


def _note(payload: dict[str, Any]) -> str | None:
    note = payload.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > 4000):
        raise ActionError("note: must be text of at most 4000 characters")
    if isinstance(note, str) and bad_text(note):
        raise ActionError("note: holds a NUL byte or an invalid character")
    return note.strip() if isinstance(note, str) and note.strip() else None


def apply_action(session: Session, incident: Incident, payload: dict[str, Any],
                 actor: str, user: User | None = None) -> dict[str, Any]:
    """Apply one action under the incident's lock; flushes, never commits. Returns the
    incident's code and status."""
    action = payload.get("action")
    if action not in ACTIONS:
        raise ActionError("action: must be one of %(actions)s", actions=", ".join(ACTIONS))
    note = _note(payload)
    seen = incident.status
    incident = lifecycle.lock(session, incident.id)  # refreshed: what is true now
    if action in DECISIONS and incident.status != seen:
        raise ActionError("the incident is now %(status)s: it changed while you decided; "
                          "look at it again", 409, status=incident.status)
    if action in STATE_DECISIONS and action not in offered(incident):
        raise ActionError("%(action)s: not offered on a %(status)s incident (offered: "
                          "%(offered)s)", 409, action=action, status=incident.status,
                          offered=", ".join(sorted(offered(incident))) or "none")
    result: dict[str, Any] = {}
    try:
        # a dispatcher's note can say anything (a name, a number): it is kept encrypted, as a
        # note of its own on the timeline, never in the clear beside the decision
        if note is not None and action != "note":
            _note_event(session, incident, actor, note)
        if action == "verify":
            verification.confirm(session, incident, actor, reason="dispatcher")
        elif action == "dismiss":
            verification.dismiss(session, incident, actor, reason="dispatcher")
        elif action in ("resolve", "all_clear"):
            verification.resolve(session, incident, actor)
        elif action == "reverify" and incident.status in ("routed", "acknowledged"):
            if not verification.recheck(session, incident, actor):
                raise ActionError("reverify: no verifier left to ask (every available one was "
                                  "asked already, or the policy's max_verifiers is reached)",
                                  409)
        elif action == "reverify":
            verification.start_verification(session, incident)
        elif action == "merge":
            target = _merge_target(session, incident, payload)
            lifecycle.merge(session, incident, target, actor)
            verification.tell_merged(session, incident, target)
            result["into"] = target.code
            if target.jurisdiction_id != incident.jurisdiction_id:
                _reroute(session, target, incident, actor)
        elif action == "hold":
            if lifecycle.mark(incident, "hold", reason="held by a dispatcher"):
                lifecycle.record_event(session, incident, "held", actor=actor)
        elif action == "release":
            released = lifecycle.unmark(incident, *lifecycle.HOLD_MARKERS, "flood")
            lifecycle.record_event(session, incident, "released", actor=actor,
                                   markers=released)
            if incident.status == "verified":  # confirmed while held: route it now
                lifecycle.incident_verified.send(incident, session=session, actor=actor)
            elif incident.status == "new":
                verification.start_verification(session, incident)
        elif action == "split":
            raw = payload.get("reports")
            if isinstance(raw, str):
                raw = [part for part in raw.replace(",", " ").split() if part]
            try:
                ids = [int(x) for x in raw or []]
            except (TypeError, ValueError):
                raise ActionError("reports: give a list of report ids") from None
            new = clustering.split_reports(session, incident, ids, actor)
            result["new_incident"] = new.code
        elif action == "assign":
            if user is None:
                raise ActionError("assign: only a dashboard user can take an incident")
            incident.assigned_user_id = user.id
            lifecycle.record_event(session, incident, "assigned", actor=actor, user=user.email)
        elif action == "block":
            report_id = payload.get("report")
            reporter = _reporter_of(session, incident, report_id)
            reporter.blocked = True
            reporter.blocked_reason = "blocked by a dispatcher"  # the note is encrypted
            lifecycle.record_event(session, incident, "reporter_blocked", actor=actor,
                                   report_id=report_id)
        else:
            if note is None:
                raise ActionError("note: required for a note")
            _note_event(session, incident, actor, note)
    except lifecycle.TransitionError as exc:
        raise ActionError(exc.template, 409, **exc.params) from None
    session.flush()
    return {"code": incident.code, "status": incident.status, **result}


def _note_event(session: Session, incident: Incident, actor: str, note: str) -> None:
    vault = current_app.extensions["hotline_vault"]
    lifecycle.record_event(session, incident, "note", actor=actor,
                           text_enc=vault.encrypt(note, "event.note"))


def _merge_target(session: Session, incident: Incident, payload: dict[str, Any]) -> Incident:
    target_code = payload.get("into")
    if not isinstance(target_code, str) or not target_code.strip():
        raise ActionError("into: the code of the incident to merge into is required")
    target = lifecycle.lock_by_code(session, target_code)
    if target is None:
        raise ActionError("into: no incident %(code)r", 404, code=target_code)
    if target.jurisdiction_id != incident.jurisdiction_id and payload.get(
            "confirm_jurisdiction") not in (True, "true", "yes", "1", "on"):
        raise ActionError(
            "into: %(code)s is in another jurisdiction; merging moves these reports to its "
            "legal network: confirm (confirm_jurisdiction) to merge and re-route", 409,
            code=target.code)
    return target


def _reroute(session: Session, target: Incident, source: Incident, actor: str) -> None:
    """After a confirmed merge across jurisdictions the reports are the target's: a verified
    target not yet with a network is routed to its own now; one already routed keeps it."""
    lifecycle.record_event(session, target, "rerouted", actor=actor, source=source.code)
    if target.status == "verified" and not lifecycle.held(target):
        lifecycle.incident_verified.send(target, session=session, actor=actor)


def _reporter_of(session: Session, incident: Incident, report_id: Any) -> Reporter:
    try:
        report_id = int(report_id)
    except (TypeError, ValueError):
        raise ActionError("report: the id of the report whose sender to block") from None
    reporter = session.scalar(select(Reporter).join(Report, Report.reporter_id == Reporter.id)
                              .where(Report.id == report_id,
                                     Report.incident_id == incident.id))
    if reporter is None:
        raise ActionError("report: no report %(report)s in %(code)s", 404, report=report_id,
                          code=incident.code)
    return reporter
