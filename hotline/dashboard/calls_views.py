"""Calls answered live: the calls page and its live fragment, the call rosters, the report a
volunteer writes from a call they took, and call recordings (played through Hotline, never
linked at Twilio; written down by whoever listens when no engine could transcribe them)."""

from __future__ import annotations

import re

from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from hotline.accounts.audit import audit
from hotline.core.extensions import db
from hotline.core.twilio_client import RECORDING_SID, RecordingUnavailable, fetch_recording
from hotline.dashboard import call_queries, queries
from hotline.dashboard.blueprint import bp
from hotline.dashboard.board_views import (
    LIVE_INTERVAL_MS,
    conditional,
    current_scope,
    live_etag,
    report_in_scope_or_404,
)
from hotline.dashboard.security import client_ip, login_required, vault
from hotline.intake.calls import MAX_FIELD, REPORT_FIELDS, report_from_call
from hotline.intake.voice import listened
from hotline.models import Call, Incident, Message, utcnow

View = Response | str | tuple[str, int]
CALL_ROLES = ("admin", "dispatcher")  # write a call's report, listen to recordings
PAGE_ROLES = ("admin", "dispatcher", "viewer")  # lawyers' scope is their network's incidents
MAX_TRANSCRIPT = 4000
AUDIO_TYPE = re.compile(r"^audio/[a-z0-9.+-]{1,40}$")
# (label, hint) of each field of a call's report, in REPORT_FIELDS' order
FIELDS = {
    "place": (_l("Where"), _l("address, cross streets, business or landmark")),
    "size": (_l("How many"), _l("agents, vehicles, people taken")),
    "activity": (_l("What they are doing"), _l("arrests, checkpoint, knocking on doors, waiting")),
    "uniform": (_l("Uniforms and markings"), _l("ICE, police, plain clothes, vests, badges")),
    "time": (_l("When"), _l("when the caller saw it, if not now")),
    "equipment": (_l("Vehicles and equipment"), _l("unmarked vans, plates, weapons")),
    "notes": (_l("Anything else"), _l("what else the caller said")),
}


def _calls_signature() -> str:
    # incidents too: a written report's link to its incident appears once it is triaged
    return f"{queries.signature(db.session)}|" \
           f"{call_queries.signature(db.session, call_queries.PAGE_WINDOW)}"


def _calls_context() -> dict[str, object]:
    scope = current_scope()
    return {"call_rows": call_queries.page_calls(db.session, scope), "can_report": scope.act,
            "now": utcnow(), "live_interval": LIVE_INTERVAL_MS,
            "calls_caption": _("Calls of the last 24 hours, live ones first"),
            "calls_empty": _("No calls in the last 24 hours."),
            "etag": live_etag(_calls_signature())}


@bp.get("/calls")
@login_required(*PAGE_ROLES)
def calls() -> str:
    """Every call in scope of the last 24 hours, live ones first (no caller's number, ever)."""
    return render_template("dashboard/calls.html", **_calls_context())


@bp.get("/live/calls")
@login_required(*PAGE_ROLES, passive=True)
def calls_live() -> Response:
    """The calls page's table, or 304 when nothing changed since the client's version."""
    etag = live_etag(_calls_signature())
    return conditional(etag, lambda: render_template("dashboard/_calls_table.html",
                                                     **_calls_context()))


@bp.get("/rosters")
@login_required("admin", "dispatcher", "lawyer")
def rosters() -> str:
    """The call rosters in scope: who is on shift now, every shift, overrides, when next
    staffed (names and languages; never a volunteer's number)."""
    return render_template("dashboard/rosters.html",
                           rosters=call_queries.rosters_shown(db.session, current_scope()))


def _reportable_call(call_id: int, lock: bool = False) -> Call:
    """A call in scope that a volunteer took, for admins and dispatchers; else 404."""
    if g.user.role not in CALL_ROLES:
        abort(404)
    query = select(Call).where(Call.id == call_id)
    if lock:  # two saves at once: the second waits and finds the first's report
        query = query.with_for_update().execution_options(populate_existing=True)
    call = db.session.scalars(query).one_or_none()
    if call is None or call.answered_by_id is None or \
            not call_queries.call_visible(current_scope(), call):
        abort(404)
    return call


def _report_page(call_id: int, values: dict[str, str], status: int = 200) -> tuple[str, int]:
    row = call_queries.call_row(db.session, call_id, current_scope())
    return render_template("dashboard/call_report.html", call=row, fields=FIELDS,
                           values=values, max_field=MAX_FIELD), status


@bp.route("/calls/<int:call_id>/report", methods=["GET", "POST"])
@login_required()
def call_report(call_id: int) -> View:
    """The report of a call a volunteer took, as the caller told it: it becomes a voice
    message triaged like a text (one per call; audited, never with its text)."""
    if request.method != "POST":  # GET and HEAD
        _reportable_call(call_id)
        return _report_page(call_id, {})
    call = _reportable_call(call_id, lock=True)
    if (call.flags or {}).get("report_message"):
        db.session.rollback()
        flash(_("The report of this call was already written; nothing was changed."))
        return redirect(url_for("dashboard.calls"))
    values = {name: request.form.get(name, "")[:MAX_FIELD] for name in REPORT_FIELDS}
    try:
        message = report_from_call(db.session, vault(), call, values,
                                   written_by=f"user:{g.user.id}")
    except ValueError as exc:
        db.session.rollback()
        flash(_("Nothing was saved: %(why)s.", why=exc))
        return _report_page(call_id, values, 400)
    audit(db.session, "dashboard.call.report", str(call.id), user_id=g.user.id, ip=client_ip(),
          message=message.id)
    db.session.commit()
    flash(_("The report of the call is saved. It is triaged like a text and joins an incident."),
          "ok")
    return redirect(url_for("dashboard.calls"))


def _recording_or_404(message_id: int, lock: bool = False) -> tuple[Message, Incident | None]:
    """A call recording whose report is in the user's scope (as its incident page is)."""
    query = select(Message).where(Message.id == message_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    message = db.session.scalars(query).one_or_none()
    if message is None or message.channel != "voice" or message.direction != "inbound" \
            or not RECORDING_SID.match(message.twilio_sid or ""):
        abort(404)
    _, incident = report_in_scope_or_404(message.report_id)
    return message, incident


def _plain(text: str, status: int) -> Response:
    return Response(text + "\n", status=status, mimetype="text/plain")


@bp.get("/recordings/<int:message_id>")
@login_required()
def recording(message_id: int) -> Response:
    """A call recording, fetched from Twilio by the server and passed on, never stored or
    cached; every listen is audited."""
    if g.user.role not in CALL_ROLES:
        abort(404)
    message, incident = _recording_or_404(message_id)
    details = {"incident": incident.code if incident else None, "report": message.report_id}
    if message.purged_at is not None:
        return _plain(_("This recording was deleted at the end of its retention period."), 410)
    try:
        content_type, audio = fetch_recording(current_app.config["SETTINGS"], message.twilio_sid)
        if not AUDIO_TYPE.match(content_type.lower()):  # never serve anything else as ours
            raise RecordingUnavailable(f"not audio: {content_type[:40]}")
    except RecordingUnavailable as exc:
        audit(db.session, "dashboard.recording.listen", str(message.id), user_id=g.user.id,
              ip=client_ip(), available=False, reason=str(exc), **details)
        db.session.commit()
        return _plain(_("The recording could not be fetched from Twilio right now. "
                        "Try again in a minute."), 502)
    audit(db.session, "dashboard.recording.listen", str(message.id), user_id=g.user.id,
          ip=client_ip(), available=True, **details)
    db.session.commit()
    extension = "mp3" if content_type.lower() == "audio/mpeg" else "wav"
    response = Response(audio, mimetype=content_type.lower())
    response.headers["Content-Disposition"] = \
        f'inline; filename="recording-{message.id}.{extension}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/recordings/<int:message_id>/transcript")
@login_required(*CALL_ROLES)
def recording_transcript(message_id: int) -> Response:
    """What the caller says in a recording nobody could transcribe, written down by whoever
    listened: its report is triaged again with it (audited, never with the text)."""
    message, incident = _recording_or_404(message_id, lock=True)
    back = url_for("dashboard.incident", code=incident.code,
                   _anchor=f"report-{message.report_id}") if incident \
        else url_for("dashboard.board")
    text = request.form.get("text", "").strip()
    if not (message.flags or {}).get("needs_listening"):
        db.session.rollback()
        flash(_("What this recording says was already written; nothing was changed."))
        return redirect(back)
    if not text or len(text) > MAX_TRANSCRIPT:
        db.session.rollback()
        flash(_("Write what the caller says (at most 4,000 characters) before saving."))
        return redirect(back)
    listened(db.session, vault(), message, text)
    audit(db.session, "dashboard.recording.transcript", str(message.id), user_id=g.user.id,
          ip=client_ip(), incident=incident.code if incident else None,
          report=message.report_id)
    db.session.commit()
    flash(_("Saved. Report #%(report)s is triaged again with what the caller says.",
            report=message.report_id), "ok")
    return redirect(back)
