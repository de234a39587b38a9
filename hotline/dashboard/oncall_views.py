"""Who is on call: a page per legal network (rotations, the next handoffs, escalation steps, who
answered what today, who is OFF by text, its call rosters), and the overrides admins and the
network's dispatchers make, change and remove there (validated, audited, in the network's
timezone). The YAML stays the source of rotations; `config load` never touches these."""

from __future__ import annotations

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from hotline.accounts.audit import audit
from hotline.core.extensions import db
from hotline.dashboard import i18n, oncall_queries
from hotline.dashboard.blueprint import bp
from hotline.dashboard.board_views import current_scope
from hotline.dashboard.security import client_ip, login_required
from hotline.models import LegalNetwork, ScheduleOverride, utcnow
from hotline.routing import schedules

View = Response | str | tuple[str, int]
PAGE_ROLES = ("admin", "dispatcher", "viewer", "lawyer")
EDIT_ROLES = ("admin", "dispatcher")


@bp.get("/oncall")
@login_required(*PAGE_ROLES)
def oncall_index() -> View:
    """The networks in scope and who a page goes to now; one network: its page."""
    networks = oncall_queries.networks_in_scope(db.session, current_scope())
    if len(networks) == 1:
        return redirect(url_for("dashboard.oncall", slug=networks[0].slug))
    now = utcnow()
    rows = [(n, schedules.on_call_now(db.session, n, now)[:1]) for n in networks]
    return render_template("dashboard/oncall_index.html", rows=rows)


def _network_or_404(slug: str) -> LegalNetwork:
    network = oncall_queries.network_in_scope(db.session, current_scope(), slug)
    if network is None:
        abort(404)
    return network


def _page(network: LegalNetwork, values: dict[str, str] | None = None,
          status: int = 200) -> tuple[str, int]:
    view = oncall_queries.network_view(db.session, network, current_scope())
    can_edit = g.user.role in EDIT_ROLES
    return render_template("dashboard/oncall.html", net=view, can_edit=can_edit,
                           values=values or {}, now=utcnow()), status


@bp.get("/oncall/<slug>")
@login_required(*PAGE_ROLES)
def oncall(slug: str) -> View:
    """One network's on-call page."""
    return _page(_network_or_404(slug))


def _form() -> dict[str, str]:
    return {name: request.form.get(name, "")[:200]
            for name in ("schedule", "responder", "start", "end")}


def _save(network: LegalNetwork, override: ScheduleOverride | None) -> View:
    values = _form()
    kind, _sep, schedule = values["schedule"].partition(":")
    try:
        start = schedules.parse_local(values["start"], network.timezone)
        end = schedules.parse_local(values["end"], network.timezone)
        before = None if override is None else \
            (override.schedule, override.responder, override.start_at, override.end_at)
        saved = schedules.save_override(
            db.session, network, kind=kind, schedule=schedule, responder=values["responder"],
            start=start, end=end, user_id=g.user.id, override=override)
    except ValueError as exc:
        db.session.rollback()
        flash(_("Nothing was saved: %(why)s.", why=i18n.refused(exc)))
        return _page(network, values, 400)
    audit(db.session, "dashboard.override." + ("create" if override is None else "update"),
          str(saved.id), user_id=g.user.id, ip=client_ip(), network=network.slug,
          kind=saved.kind, schedule=saved.schedule, responder=saved.responder,
          start=saved.start_at.isoformat(), end=saved.end_at.isoformat(),
          **({"before": [before[0], before[1], before[2].isoformat(), before[3].isoformat()]}
             if before else {}))
    db.session.commit()
    flash(_("The override is saved: pages and calls follow it from now on."), "ok")
    return redirect(url_for("dashboard.oncall", slug=network.slug) + "#overrides")


def _override_or_404(network: LegalNetwork, override_id: int) -> ScheduleOverride:
    row = db.session.get(ScheduleOverride, override_id, with_for_update=True)
    if row is None or row.network_id != network.id:
        abort(404)
    return row


@bp.post("/oncall/<slug>/overrides")
@login_required(*EDIT_ROLES)
def oncall_override_create(slug: str) -> View:
    """A new override: someone takes a rotation or a call roster for a while."""
    return _save(_network_or_404(slug), None)


@bp.post("/oncall/<slug>/overrides/<int:override_id>")
@login_required(*EDIT_ROLES)
def oncall_override_update(slug: str, override_id: int) -> View:
    """Change an override made on this page (the YAML's are changed in the YAML)."""
    network = _network_or_404(slug)
    return _save(network, _override_or_404(network, override_id))


@bp.post("/oncall/<slug>/overrides/<int:override_id>/delete")
@login_required(*EDIT_ROLES)
def oncall_override_delete(slug: str, override_id: int) -> View:
    """Remove an override made on this page: the rotation's own order applies again."""
    network = _network_or_404(slug)
    row = _override_or_404(network, override_id)
    audit(db.session, "dashboard.override.delete", str(row.id), user_id=g.user.id,
          ip=client_ip(), network=network.slug, kind=row.kind, schedule=row.schedule,
          responder=row.responder, start=row.start_at.isoformat(), end=row.end_at.isoformat())
    db.session.delete(row)
    db.session.commit()
    flash(_("The override is removed."), "ok")
    return redirect(url_for("dashboard.oncall", slug=network.slug) + "#overrides")
