"""Community alerts in the dashboard: drafting one from a verified incident, its page (texts
per language, recipients per language and area, the area, approvals, then the progress, polled
as JSON), approving, stopping, the follow-ups (all clear, correction), and the subscriber
counts. For admins and dispatchers only (others: 403); a broadcast of an incident outside the
user's scope is a 404. Every action and every view of a broadcast is audited; never a
subscriber's number on any page."""

from __future__ import annotations

import json
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select

from hotline.accounts.audit import audit
from hotline.accounts.scope import visible
from hotline.broadcasts import drafts, progress
from hotline.core.extensions import db
from hotline.core.policy import Policy
from hotline.dashboard import broadcast_queries
from hotline.dashboard.blueprint import bp
from hotline.dashboard.board_views import conditional, current_scope, live_etag
from hotline.dashboard.incident_views import _incident_or_404
from hotline.dashboard.security import client_ip, login_required
from hotline.messaging.segments import encoding, segments
from hotline.messaging.templates import Templates, load_templates
from hotline.models import Broadcast, Incident, Jurisdiction

View = Response | str | tuple[str, int]
ACT_ROLES = ("admin", "dispatcher")  # viewers and lawyers never see a broadcast
PROGRESS_INTERVAL_MS = 2000
ORDINALS = (_l("first"), _l("second"), _l("third"), _l("fourth"), _l("fifth"), _l("sixth"),
            _l("seventh"), _l("eighth"))
MAX_LANGUAGE_TAG = 16


def _templates() -> Templates:
    return load_templates(current_app.config["SETTINGS"].config_dir)


def _actor() -> str:
    """Who acts, as the dashboard names users in the incident timeline."""
    return f"user:{g.user.id}"


def _broadcast_or_404(broadcast_id: int, lock: bool = False) -> Broadcast:
    """The broadcast when its incident is in the user's scope; else 404."""
    query = select(Broadcast).where(Broadcast.id == broadcast_id)
    if lock:  # two dispatchers at once: the second waits and sees what the first did
        query = query.with_for_update().execution_options(populate_existing=True)
    broadcast = db.session.scalars(query).one_or_none()
    if broadcast is None:
        abort(404)
    incident = db.session.get(Incident, broadcast.incident_id)
    if incident is None or not visible(db.session, current_scope(), incident):
        abort(404)
    return broadcast


def _page_url(broadcast: Broadcast) -> str:
    return url_for("dashboard.broadcast", broadcast_id=broadcast.id)


def _refused(exc: drafts.BroadcastError, back: str) -> Response:
    """A request the broadcast cannot honour: nothing is kept, the reason is shown."""
    db.session.rollback()
    flash(_("Nothing was changed: %(why)s.", why=exc))
    return redirect(back)


def ordinal(n: int) -> str:
    """1 -> "first", 2 -> "second" ..."""
    return str(ORDINALS[n - 1]) if 1 <= n <= len(ORDINALS) else _("%(n)sth", n=n)


def _progress(broadcast: Broadcast, given: int | None = None) -> dict[str, Any]:
    """What the page's live part shows: status, delivery counts, approvals (no numbers)."""
    if given is None:
        given = len(broadcast_queries.approvals_of(db.session, broadcast))
    return {"id": broadcast.id, "status": broadcast.status,
            "status_label": broadcast_queries.status_label(broadcast),
            "counts": progress.counts(db.session, broadcast.id),
            "approvals": given, "approvals_needed": broadcast.approvals_needed}


def _progress_etag(data: dict[str, Any]) -> str:
    return live_etag(json.dumps(data, sort_keys=True), "broadcast")


def _texts_info(texts: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Each text's length and the SMS segments it is sent in."""
    return {lang: {"chars": len(text), "segments": segments(text),
                   "encoding": encoding(text)} for lang, text in texts.items()}


def _page(broadcast: Broadcast, edited: dict[str, str] | None = None,
          status: int = 200) -> tuple[str, int]:
    settings = current_app.config["SETTINGS"]
    languages = _templates().languages
    summary = drafts.summary(db.session, broadcast, languages, settings.broadcast_rate)
    incident = db.session.get(Incident, broadcast.incident_id)
    jurisdiction = db.session.get(Jurisdiction, broadcast.jurisdiction_id)
    approvals = broadcast_queries.approvals_of(db.session, broadcast)
    parent = db.session.get(Broadcast, broadcast.parent_id) if broadcast.parent_id else None
    follow_ups = broadcast_queries.follow_ups_of(db.session, broadcast)
    names = broadcast_queries.actor_names(db.session,
                                          [broadcast.created_by, broadcast.cancelled_by])
    saved = dict(sorted(summary["texts"].items()))
    given = len(approvals)
    live = _progress(broadcast, given)
    return render_template(
        "dashboard/broadcast.html", b=broadcast, s=summary, incident=incident,
        jurisdiction=jurisdiction, parent=parent, follow_ups=follow_ups, names=names,
        kind_labels={kind: broadcast_queries.kind_label(kind)
                     for kind in broadcast_queries.KIND_LABELS},
        status_label=broadcast_queries.status_label,
        saved=saved, texts={**saved, **(edited or {})}, text_info=_texts_info(saved),
        approvals=approvals, given=given,
        you_approved=any(a.approver == _actor() for a in approvals),
        waiting_for=ordinal(given + 1) if 0 < given < broadcast.approvals_needed else None,
        rate=settings.broadcast_rate, max_text=drafts.MAX_TEXT,
        default_radius=Policy.of(jurisdiction).broadcast_radius_m,
        placed=incident.lat is not None and incident.lon is not None,
        states=(*progress.STATES, "total"), live=live, etag=_progress_etag(live),
        interval=PROGRESS_INTERVAL_MS), status


@bp.post("/incidents/<code>/broadcasts")
@login_required(*ACT_ROLES)
def broadcast_create(code: str) -> Response:
    """"Alert the community": a draft alert to the confirmed subscribers near the incident
    (nothing is sent before it is approved); a draft already waiting is opened instead."""
    found = _incident_or_404(code)
    waiting = broadcast_queries.open_draft(db.session, found)
    if waiting is not None:
        db.session.rollback()
        flash(_("A draft alert about %(code)s is already waiting: here it is.", code=found.code),
              "ok")
        return redirect(_page_url(waiting))
    try:
        draft = drafts.create(db.session, found, _templates(), actor=_actor())
    except drafts.BroadcastError as exc:
        return _refused(exc, url_for("dashboard.incident", code=found.code))
    recipients = len(drafts.audience(db.session, draft, found))
    audit(db.session, "dashboard.broadcast.create", found.code, user_id=g.user.id,
          ip=client_ip(), broadcast=draft.id, kind="alert", recipients=recipients)
    db.session.commit()
    flash(ngettext("Draft alert about %(code)s: %(num)d person would get it. Check the texts "
                   "and the area, then approve. Nothing is sent before.",
                   "Draft alert about %(code)s: %(num)d people would get it. Check the texts "
                   "and the area, then approve. Nothing is sent before.",
                   recipients, code=found.code), "ok")
    return redirect(_page_url(draft))


@bp.get("/broadcasts/<int:broadcast_id>")
@login_required(*ACT_ROLES)
def broadcast(broadcast_id: int) -> View:
    """A broadcast: while a draft, its texts, recipients, area and approvals; then how far
    sending has got (updated live), and its follow-ups. Every view is audited."""
    found = _broadcast_or_404(broadcast_id)
    code = db.session.scalar(select(Incident.code).where(Incident.id == found.incident_id))
    audit(db.session, "dashboard.broadcast.view", str(found.id), user_id=g.user.id,
          ip=client_ip(), incident=code, status=found.status)
    db.session.commit()
    return _page(found)


@bp.get("/broadcasts/<int:broadcast_id>/progress.json")
@login_required(*ACT_ROLES, passive=True)
def broadcast_progress(broadcast_id: int) -> Response:
    """The broadcast's status, delivery counts and approvals as JSON, or 304."""
    data = _progress(_broadcast_or_404(broadcast_id))
    return conditional(_progress_etag(data), lambda: jsonify(data))


def _edited_texts(form: Any) -> dict[str, str]:  # noqa: ANN401 - the request's form
    """The texts of the draft's form: `text-<language>`, line breaks as an SMS has them."""
    texts = {}
    for key, value in form.items():
        language = key.removeprefix("text-")
        if key.startswith("text-") and 0 < len(language) <= MAX_LANGUAGE_TAG:
            texts[language] = value.replace("\r\n", "\n").replace("\r", "\n")
    return texts


@bp.post("/broadcasts/<int:broadcast_id>/texts")
@login_required(*ACT_ROLES)
def broadcast_texts(broadcast_id: int) -> View:
    """Save the dispatcher's wording of a draft, per language (audited, never the text)."""
    found = _broadcast_or_404(broadcast_id, lock=True)
    texts = _edited_texts(request.form)
    if not texts:
        db.session.rollback()
        flash(_("Nothing was changed: no text was sent."))
        return redirect(_page_url(found))
    before = dict(found.texts or {})
    try:
        drafts.set_texts(db.session, found, _templates(), texts)
    except drafts.BroadcastError as exc:
        db.session.rollback()
        flash(_("Nothing was saved: %(why)s.", why=exc))
        found = _broadcast_or_404(broadcast_id)
        return _page(found, edited=texts if found.status == "draft" else None,
                     status=exc.status)
    changed = sorted(lang for lang, text in (found.texts or {}).items()
                     if before.get(lang) != text)
    audit(db.session, "dashboard.broadcast.texts", str(found.id), user_id=g.user.id,
          ip=client_ip(), languages=changed)
    db.session.commit()
    flash(_("The texts are saved.") if changed else
          _("The texts were already so; nothing changed."), "ok")
    return redirect(_page_url(found))


def _radius(form: Any) -> tuple[int | None, bool]:  # noqa: ANN401 - the request's form
    """(radius_m, whole_jurisdiction) from the area form; ValueError for a bad radius."""
    if form.get("area") == "whole":
        return None, True
    raw = form.get("radius_m", "").strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        raise ValueError(_("the radius must be a whole number of metres, 100 to 100,000"))
    return int(raw), False


@bp.post("/broadcasts/<int:broadcast_id>/redraft")
@login_required(*ACT_ROLES)
def broadcast_redraft(broadcast_id: int) -> Response:
    """The same alert to another area (a radius, or the whole jurisdiction): a new draft,
    with the texts as edited, replaces this one; approvals start again."""
    old = _broadcast_or_404(broadcast_id, lock=True)
    back = _page_url(old)
    if old.kind != "alert" or old.status != "draft":
        db.session.rollback()
        flash(_("Nothing was changed: only a draft alert's area can change."))
        return redirect(back)
    try:
        radius, whole = _radius(request.form)
    except ValueError as exc:
        db.session.rollback()
        flash(_("Nothing was changed: %(why)s.", why=exc))
        return redirect(back)
    incident = db.session.get(Incident, old.incident_id)
    templates = _templates()
    try:
        new = drafts.create(db.session, incident, templates, actor=_actor(), radius_m=radius,
                            whole_jurisdiction=whole)
        kept = {lang: text for lang, text in (old.texts or {}).items()
                if lang in (new.texts or {}) and new.texts[lang] != text}
        if kept:  # the dispatcher's own wording carries over
            drafts.set_texts(db.session, new, templates, kept)
        drafts.cancel(db.session, old, _actor())
    except drafts.BroadcastError as exc:
        return _refused(exc, back)
    recipients = len(drafts.audience(db.session, new, incident))
    audit(db.session, "dashboard.broadcast.create", incident.code, user_id=g.user.id,
          ip=client_ip(), broadcast=new.id, kind="alert", recipients=recipients,
          radius_m=new.radius_m, replaces=old.id)
    audit(db.session, "dashboard.broadcast.cancel", str(old.id), user_id=g.user.id,
          ip=client_ip(), not_sent=0, replaced_by=new.id)
    db.session.commit()
    if new.radius_m is None:
        flash(ngettext("A new draft for the whole jurisdiction replaces draft #%(id)s: "
                       "%(num)d person would get it.",
                       "A new draft for the whole jurisdiction replaces draft #%(id)s: "
                       "%(num)d people would get it.", recipients, id=old.id), "ok")
    else:
        radius_m = f"{new.radius_m:,}"
        flash(ngettext("A new draft for %(radius)s m around it replaces draft #%(id)s: "
                       "%(num)d person would get it.",
                       "A new draft for %(radius)s m around it replaces draft #%(id)s: "
                       "%(num)d people would get it.", recipients,
                       radius=radius_m, id=old.id), "ok")
    return redirect(_page_url(new))


@bp.post("/broadcasts/<int:broadcast_id>/approve")
@login_required(*ACT_ROLES)
def broadcast_approve(broadcast_id: int) -> Response:
    """One dispatcher's approval; sending starts when the jurisdiction's are all in."""
    found = _broadcast_or_404(broadcast_id)
    try:
        started = drafts.approve(db.session, found, _templates(), _actor(), g.user.email)
    except drafts.BroadcastError as exc:
        return _refused(exc, _page_url(found))
    given = len(broadcast_queries.approvals_of(db.session, found))
    audit(db.session, "dashboard.broadcast.approve", str(found.id), user_id=g.user.id,
          ip=client_ip(), started=started, approvals=given)
    db.session.commit()
    if started:
        counts = progress.counts(db.session, found.id)
        flash(ngettext("Approved: sending to %(num)d person.",
                       "Approved: sending to %(num)d people.", counts["total"]), "ok")
    else:
        flash(_("Approved (%(given)s of %(needed)s). Waiting for a %(ordinal)s dispatcher to "
                "approve: nothing is sent before.", given=given,
                needed=found.approvals_needed, ordinal=ordinal(given + 1)), "ok")
    return redirect(_page_url(found))


@bp.post("/broadcasts/<int:broadcast_id>/cancel")
@login_required(*ACT_ROLES)
def broadcast_cancel(broadcast_id: int) -> Response:
    """Stop sending (nothing more goes out), or discard a draft."""
    found = _broadcast_or_404(broadcast_id)
    was = found.status
    try:
        stopped = drafts.cancel(db.session, found, _actor())
    except drafts.BroadcastError as exc:
        return _refused(exc, _page_url(found))
    audit(db.session, "dashboard.broadcast.cancel", str(found.id), user_id=g.user.id,
          ip=client_ip(), not_sent=stopped, was=was)
    db.session.commit()
    flash(_("The draft is discarded; nothing was sent.") if was == "draft" else
          ngettext("Stopped: %(num)d person will not get it.",
                   "Stopped: %(num)d people will not get it.", stopped), "ok")
    return redirect(_page_url(found))


@bp.post("/broadcasts/<int:broadcast_id>/follow-up")
@login_required(*ACT_ROLES)
def broadcast_follow_up(broadcast_id: int) -> Response:
    """An all clear or a correction to exactly the people the alert was sent to: a draft."""
    parent = _broadcast_or_404(broadcast_id)
    kind = request.form.get("kind", "")
    if kind not in drafts.FOLLOW_UPS:
        db.session.rollback()
        flash(_("Nothing was changed: a follow-up is an all clear or a correction."))
        return redirect(_page_url(parent))
    incident = db.session.get(Incident, parent.incident_id)
    waiting = broadcast_queries.open_draft(db.session, incident, kind, parent)
    if waiting is not None:
        db.session.rollback()
        flash(_("A draft %(kind)s of this alert is already waiting: here it is.",
                kind=broadcast_queries.kind_label(kind).lower()), "ok")
        return redirect(_page_url(waiting))
    try:
        new = drafts.create(db.session, incident, _templates(), actor=_actor(), kind=kind,
                            parent=parent)
    except drafts.BroadcastError as exc:
        return _refused(exc, _page_url(parent))
    recipients = len(drafts.audience(db.session, new, incident))
    audit(db.session, "dashboard.broadcast.create", incident.code, user_id=g.user.id,
          ip=client_ip(), broadcast=new.id, kind=kind, parent=parent.id,
          recipients=recipients)
    db.session.commit()
    flash(ngettext("Draft %(kind)s: it goes to the %(num)d person the alert was sent to. "
                   "Check the texts, then approve.",
                   "Draft %(kind)s: it goes to the %(num)d people the alert was sent to. "
                   "Check the texts, then approve.",
                   recipients, kind=broadcast_queries.kind_label(kind).lower()), "ok")
    return redirect(_page_url(new))


@bp.get("/subscribers")
@login_required(*ACT_ROLES)
def subscribers() -> str:
    """Community-alert subscribers of each jurisdiction in scope, by area and language:
    counts only, never a number."""
    rows = broadcast_queries.subscriber_rows(db.session, current_scope(),
                                             _templates().languages)
    return render_template("dashboard/subscribers.html", subscribers=rows)
