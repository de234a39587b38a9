"""One incident: its page (a PII view, audited), live fragment, its conversation (every message
in and out about it; a view with texts is audited) and dispatchers' texts to its reporters and
responders, dispatcher actions, and the lawyers' board with accept / decline."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select

from hotline.accounts.audit import audit
from hotline.accounts.scope import visible
from hotline.api.payloads import check_action_payload
from hotline.api.serializers import event_data
from hotline.broadcasts.drafts import BROADCASTABLE
from hotline.core.extensions import db
from hotline.dashboard import (
    broadcast_queries,
    conversation_queries,
    i18n,
    map_queries,
    queries,
)
from hotline.dashboard.blueprint import bp
from hotline.dashboard.board_views import (
    LIVE_INTERVAL_MS,
    conditional,
    current_scope,
    live_etag,
)
from hotline.dashboard.map_views import base_layers, legend
from hotline.dashboard.security import client_ip, login_required, vault
from hotline.incidents import actions, lifecycle, verification
from hotline.intake import conversation
from hotline.models import Incident, Responder
from hotline.routing import escalation

ACCEPT_OUTCOMES = {
    "accepted": _l("You accepted %(code)s. The rest of the network and the reporters are told."),
    "declined": _l("You declined %(code)s; the next person in the policy is paged."),
    "not_alerted": _l("You were not paged for %(code)s, so you cannot answer for it (yet)."),
    "already_closed": _l("%(code)s is no longer waiting for a lawyer."),
    "claimed_by_other": _l("Another lawyer already accepted %(code)s."),
}
# how a done action is named in its message: the action, hyphenated and capitalized
ACTION_WORDS = {
    "verify": _l("Verify"), "dismiss": _l("Dismiss"), "resolve": _l("Resolve"),
    "note": _l("Note"), "assign": _l("Assign"), "block": _l("Block"),
    "all_clear": _l("All-clear"), "reverify": _l("Reverify"), "hold": _l("Hold"),
    "release": _l("Release"),
}
# the status an action left the incident in, as its message names it (the status itself)
STATUS_WORDS = {
    "new": _l("new"), "verifying": _l("verifying"), "verified": _l("verified"),
    "routed": _l("routed"), "acknowledged": _l("acknowledged"), "resolved": _l("resolved"),
    "false_alarm": _l("false_alarm"), "unconfirmed": _l("unconfirmed"), "merged": _l("merged"),
}


def _incident_or_404(code: str) -> Incident:
    found = lifecycle.get_by_code(db.session, code[:16])
    if found is None or not visible(db.session, current_scope(), found):
        abort(404)
    return found


def _live_context(incident: Incident) -> dict[str, Any]:
    alerts = queries.alerts_of(db.session, incident)
    readable = vault() if current_scope().pii else None
    context = queries.incident_context(db.session, incident)
    jurisdiction = context["jurisdiction"]
    return {"incident": incident, "alerts": alerts,
            "timeline": [(e, event_data(e, readable)) for e in incident.events],
            "actors": queries.actor_labels(db.session, {e.actor for e in incident.events
                                                        if e.actor},
                                           staff=current_scope().act),
            "tz": jurisdiction.timezone if jurisdiction is not None else None,
            "offered": sorted(actions.offered(incident)),
            "verifiers": queries.verifier_answers(alerts),
            "report_total": queries.report_counts(db.session, [incident.id]).get(incident.id, 0),
            **context}


@bp.get("/incidents/<code>")
@login_required()
def incident(code: str) -> str:
    """The incident with its reports (escaped), credibility, timeline, verifiers and alerts."""
    found = _incident_or_404(code)
    scope = current_scope()
    reports = queries.reports_of(db.session, found, vault(), scope.pii)
    conversation = _conversation_context(found)
    if scope.pii:
        audit(db.session, "dashboard.incident.view", found.code, user_id=g.user.id,
              ip=client_ip(), pii=True, reports=len(reports),
              messages=len(conversation["lines"]))
    db.session.commit()
    live = _live_context(found)
    html = render_template("dashboard/_incident_live.html", **live, scope=scope)
    return render_template("dashboard/incident.html", reports=reports, scope=scope,
                           live_html=html, etag=_etag(html), live_interval=LIVE_INTERVAL_MS,
                           map_data=_map_data(found), legend=legend((found.status,)),
                           conversation_html=render_template(
                               "dashboard/_conversation.html", **conversation),
                           reply_to=conversation["reporters"],
                           alerted_responders=conversation["alerted"],
                           can_write=conversation["can_write"],
                           max_text=conversation["max_text"],
                           conversation_etag=conversation["conversation_etag"],
                           **_broadcast_context(found), **live)


def _conversation_context(incident: Incident) -> dict[str, Any]:
    scope = current_scope()
    act = scope.act and not scope.lawyer
    return {"incident": incident, "scope": scope,
            "lines": conversation_queries.lines(db.session, incident,
                                                vault() if scope.pii else None),
            "reporters": conversation_queries.reporters(db.session, incident) if act else [],
            "alerted": conversation_queries.alerted_responders(db.session, incident)
            if act else [],
            "can_write": act, "max_text": conversation.MAX_DISPATCH_TEXT,
            "tz": verification.policy_timezone(db.session, incident),
            "conversation_etag": _conversation_etag(incident)}


def _conversation_etag(incident: Incident) -> str:
    return _etag(f"conversation:{conversation_queries.signature(db.session, incident)}")


@bp.get("/incidents/<code>/conversation")
@login_required(passive=True)
def incident_conversation(code: str) -> Response:
    """The conversation's fragment, or 304 when no message came or changed; a fragment with
    texts is a PII view, audited."""
    found = _incident_or_404(code)

    def render() -> str:  # only when the client's copy is stale: a 304 reads no text
        context = _conversation_context(found)
        if current_scope().pii:
            audit(db.session, "dashboard.incident.conversation", found.code,
                  user_id=g.user.id, ip=client_ip(), messages=len(context["lines"]))
            db.session.commit()
        return render_template("dashboard/_conversation.html", **context)

    return conditional(_conversation_etag(found), render)


def _write_back(found: Incident, error: str | None, done: str) -> Response:
    if error:
        db.session.rollback()
        flash(_("Nothing was sent: %(why)s.", why=error))
    else:
        db.session.commit()
        flash(done, "ok")
    return redirect(url_for("dashboard.incident", code=found.code) + "#conversation")


@bp.post("/incidents/<code>/reply")
@login_required("admin", "dispatcher")
def incident_reply(code: str) -> Response:
    """A dispatcher's text to one of the incident's reporters (masked; audited, never with its
    text): through the outbound queue, within 24 hours of the reporter's last message."""
    found = _incident_or_404(code)
    number = request.form.get("reporter", "")
    reporter = conversation_queries.reporter_by_number(db.session, found, int(number)) \
        if number.isdigit() and len(number) < 6 else None
    if reporter is None:
        return _write_back(found, _("choose a reporter of this incident"), "")
    try:
        message = conversation.dispatcher_to_reporter(
            db.session, found, reporter, int(number), request.form.get("text", ""),
            f"user:{g.user.id}")
    except conversation.CannotSend as exc:
        return _write_back(found, i18n.refused(exc), "")
    audit(db.session, "dashboard.incident.reply", found.code, user_id=g.user.id,
          ip=client_ip(), reporter=int(number), message=message.id)
    return _write_back(found, None,
                       _("Sent to Reporter %(n)s: it goes out in seconds.", n=number))


@bp.post("/incidents/<code>/message-responders")
@login_required("admin", "dispatcher")
def incident_message_responders(code: str) -> Response:
    """A dispatcher's text to everyone alerted about the incident (audited, never its text)."""
    found = _incident_or_404(code)
    try:
        sent = conversation.dispatcher_to_responders(
            db.session, found, conversation_queries.alerted_responders(db.session, found),
            request.form.get("text", ""), f"user:{g.user.id}")
    except conversation.CannotSend as exc:
        return _write_back(found, i18n.refused(exc), "")
    audit(db.session, "dashboard.incident.message_responders", found.code, user_id=g.user.id,
          ip=client_ip(), responders=sent)
    return _write_back(found, None, ngettext("Sent to %(num)d responder.",
                                             "Sent to %(num)d responders.", sent))


def _broadcast_context(incident: Incident) -> dict[str, Any]:
    """The incident's community alerts and whether one may be drafted: for those who act
    (admins and dispatchers) only."""
    if not current_scope().act:
        return {"broadcasts": [], "can_broadcast": False}
    broadcasts = broadcast_queries.of_incident(db.session, incident)
    return {"broadcasts": broadcasts,
            "can_broadcast": incident.status in BROADCASTABLE
            and incident.jurisdiction_id is not None,
            "alerted": sum(b["recipients"] for b in broadcasts
                           if b["kind"] == "alert" and b["started"] is not None)}


def _map_data(incident: Incident) -> dict[str, Any] | None:
    """The small map: the reports at their coordinates and, for those who act (admins and
    dispatchers), the verifiers near the incident by name; None when no report is placed."""
    points = map_queries.report_points(db.session, incident)
    if not points:
        return None
    scope = current_scope()
    verifiers = map_queries.verifiers_near(db.session, incident, scope) if scope.act else []
    return {"mode": "incident", **base_layers(), "code": incident.code,
            "status": incident.status, "points": points, "verifiers": verifiers,
            "verifiers_within_m": map_queries.VERIFIERS_WITHIN_M}


def _etag(html: str) -> str:
    return hashlib.sha256(f"{g.user.id}:{g.user.session_version}:{html}".encode()) \
        .hexdigest()[:32]


@bp.get("/incidents/<code>/live")
@login_required(passive=True)
def incident_live(code: str) -> Response:
    """Status, credibility, alerts, verifiers and timeline of the incident, or 304."""
    found = _incident_or_404(code)
    html = render_template("dashboard/_incident_live.html", **_live_context(found),
                           scope=current_scope())
    return conditional(_etag(html), lambda: html)


def form_payload(form: Any) -> dict[str, Any]:
    """An action's payload from the incident page's forms."""
    payload: dict[str, Any] = {"action": form.get("action", "")}
    for key in ("note", "into", "report", "confirm_jurisdiction"):
        if form.get(key):
            payload[key] = form[key]
    if form.getlist("reports"):
        payload["reports"] = form.getlist("reports")
    return payload


@bp.post("/incidents/<code>/actions")
@login_required("admin", "dispatcher")
def incident_action(code: str) -> Response:
    """Verify, dismiss, merge, split, assign, resolve, note, block, all-clear: audited."""
    found = _incident_or_404(code)
    try:
        payload = check_action_payload(form_payload(request.form))
        if payload.get("action") == "merge" and isinstance(payload.get("into"), str):
            target = lifecycle.get_by_code(db.session, payload["into"])
            if target is None or not visible(db.session, current_scope(), target):
                raise actions.ActionError("into: no incident %(code)r", 404,
                                          code=payload["into"])
        result = actions.apply_action(db.session, found, payload, f"user:{g.user.id}",
                                      user=g.user)
    except actions.ActionError as exc:
        db.session.rollback()
        flash(i18n.refused(exc))
        return redirect(url_for("dashboard.incident", code=found.code))
    details = {k: v for k, v in result.items() if k not in ("code",)}
    if "report" in payload:
        details["report"] = payload["report"]
    audit(db.session, f"dashboard.incident.{payload['action']}", found.code, user_id=g.user.id,
          ip=client_ip(), **details)
    db.session.commit()
    flash(_done_message(payload["action"], result), "ok")
    return redirect(url_for("dashboard.incident", code=found.code))


def _done_message(action: str, result: dict[str, Any]) -> str:
    if action == "merge":
        return _("Merged %(code)s into %(into)s.", code=result["code"], into=result["into"])
    if action == "split":
        return _("Split the selected reports into %(code)s.", code=result["new_incident"])
    word = ACTION_WORDS.get(action) or action.replace("_", "-").capitalize()
    status = STATUS_WORDS.get(result["status"]) or result["status"]
    return _("%(action)s: %(code)s is now %(status)s.", action=str(word), code=result["code"],
             status=str(status))


@bp.get("/lawyer")
@login_required("lawyer")
def lawyer_board() -> str:
    """Incidents the lawyer's network was paged about, latest first, to accept or decline."""
    context = _lawyer_context()
    return render_template("dashboard/lawyer.html", **context, live_interval=LIVE_INTERVAL_MS,
                           etag=_lawyer_etag(context["can_answer"]))


@bp.get("/lawyer/live")
@login_required("lawyer", passive=True)
def lawyer_board_live() -> Response:
    """The lawyer's rows, or 304: an incident another lawyer accepted leaves "waiting"."""
    can_answer = _responder() is not None
    return conditional(_lawyer_etag(can_answer), lambda: render_template(
        "dashboard/_lawyer_rows.html", **_lawyer_context(can_answer)))


def _lawyer_etag(can_answer: bool) -> str:
    return live_etag(queries.signature(db.session), can_answer)


def _lawyer_context(can_answer: bool | None = None) -> dict[str, Any]:
    if can_answer is None:
        can_answer = _responder() is not None
    filters = queries.ListFilters.parse(request.args)
    rows, has_next = queries.incident_list(db.session, current_scope(), filters)
    return {"waiting": [(i, slug) for i, slug in rows if i.status == "routed"],
            "others": [(i, slug) for i, slug in rows if i.status != "routed"],
            "has_next": has_next, "filters": filters, "can_answer": can_answer}


def _responder() -> Responder | None:
    key = g.user.responder_key
    return db.session.scalar(select(Responder).where(Responder.key == key)) if key else None


@bp.post("/incidents/<code>/<any(accept, decline):verb>")
@login_required("lawyer")
def lawyer_answer(code: str, verb: str) -> Response:
    """ACCEPT or DECLINE on the web, exactly as by SMS."""
    found = _incident_or_404(code)
    responder = _responder()
    if responder is None:
        flash(_("Your account is not linked to a lawyer of the network; ask an admin."))
        return redirect(url_for("dashboard.incident", code=found.code))
    answer = escalation.accept if verb == "accept" else escalation.decline
    outcome = answer(db.session, responder, found)
    audit(db.session, f"dashboard.incident.{verb}", found.code, user_id=g.user.id,
          ip=client_ip(), outcome=outcome)
    db.session.commit()
    told = ACCEPT_OUTCOMES.get(outcome)
    flash(str(told) % {"code": found.code} if told is not None else f"{found.code}: {outcome}",
          "ok" if outcome in ("accepted", "declined") else "error")
    return redirect(url_for("dashboard.incident", code=found.code))
