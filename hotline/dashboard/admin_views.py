"""Admin pages: users, API tokens, the loaded configuration, the audit log, the CSV export."""

from __future__ import annotations

import secrets
from typing import Any

from flask import (
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select

from hotline.accounts import tokens, users
from hotline.accounts.audit import audit
from hotline.core.extensions import db
from hotline.dashboard import csvexport, i18n, queries
from hotline.dashboard.blueprint import bp
from hotline.dashboard.board_views import current_scope
from hotline.dashboard.security import client_ip, login_required
from hotline.models import (
    ROLES,
    ApiToken,
    AuditLog,
    Jurisdiction,
    LegalNetwork,
    Responder,
    User,
    utcnow,
)

AUDIT_PAGE = 100


def _done(op: str, email: str) -> str:
    """What an admin's change of an account did, in words."""
    done = {"disable": _("%(email)s: disable done.", email=email),
            "enable": _("%(email)s: enable done.", email=email),
            "reset-password": _("%(email)s: reset password done.", email=email),
            "reset-totp": _("%(email)s: reset totp done.", email=email)}
    return done[op]


def describe_scope(row: ApiToken) -> str:
    """A token's scope in words, as `hotline.accounts.tokens.describe_scope` puts it (the
    CLI's, in English), in the dashboard user's language."""
    if row.role == "admin":
        return _("everything")
    if row.role == "lawyer":
        network = row.network_slug or _("no network")
        if row.jurisdictions:
            return _("pages to %(network)s in %(places)s", network=network,
                     places=", ".join(row.jurisdictions))
        return _("pages to %(network)s", network=network)
    if row.jurisdictions:
        return ", ".join(row.jurisdictions)
    return _("every jurisdiction and the out-of-area queue")


def _users_page(status: int = 200, **extra: Any) -> tuple[str, int]:
    rows = db.session.scalars(select(User).order_by(User.email)).all()
    jurisdictions = db.session.execute(
        select(Jurisdiction.slug, Jurisdiction.name).order_by(Jurisdiction.name)).all()
    networks = db.session.execute(
        select(LegalNetwork.slug, LegalNetwork.name).order_by(LegalNetwork.name)).all()
    return render_template("dashboard/admin_users.html", users=rows, roles=ROLES,
                           jurisdictions=jurisdictions, networks=networks,
                           lawyers=users.lawyer_choices(db.session), now=utcnow(),
                           **extra), status


@bp.get("/admin/users")
@login_required("admin")
def admin_users() -> tuple[str, int]:
    """Every account, and a form to create one."""
    return _users_page()


@bp.post("/admin/users")
@login_required("admin")
def admin_user_create() -> tuple[str, int]:
    """A new account with a temporary password (shown once; changed at first login)."""
    form = request.form
    temporary = secrets.token_urlsafe(12)
    try:
        user = users.create_user(
            db.session, form.get("email", ""), form.get("role", ""), temporary,
            form.getlist("jurisdictions"), responder_key=form.get("responder") or None,
            network_slug=form.get("network") or None)
    except users.UserError as exc:
        db.session.rollback()
        flash(i18n.refused(exc))
        return _users_page(400)
    user.must_change_password = True
    audit(db.session, "admin.user.create", user.email, user_id=g.user.id, ip=client_ip(),
          role=user.role, jurisdictions=user.jurisdictions)
    db.session.commit()
    return _users_page(created=user, temporary=temporary)


def _target_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.post("/admin/users/<int:user_id>/<any(disable, enable, 'reset-password', 'reset-totp'):op>")
@login_required("admin")
def admin_user_change(user_id: int, op: str) -> Response | tuple[str, int]:
    """Disable (ends its sessions at once), enable, reset the password or the second factor."""
    user = _target_user(user_id)
    if user.id == g.user.id and op in ("disable", "reset-password", "reset-totp"):
        flash(_("You cannot do that to your own account; ask another admin."))
        return redirect(url_for("dashboard.admin_users"))
    temporary = None
    if op in ("disable", "enable"):
        users.set_active(user, op == "enable")
    elif op == "reset-password":
        temporary = users.reset_password(user)
    else:
        users.clear_totp(user)
    audit(db.session, f"admin.user.{op}", user.email, user_id=g.user.id, ip=client_ip())
    db.session.commit()
    if temporary:
        return _users_page(reset=user, temporary=temporary)
    flash(_done(op, user.email), "ok")
    return redirect(url_for("dashboard.admin_users"))


def _tokens_page(status: int = 200, **extra: Any) -> tuple[str, int]:
    rows = db.session.scalars(select(ApiToken).order_by(ApiToken.id.desc())).all()
    jurisdictions = db.session.execute(
        select(Jurisdiction.slug, Jurisdiction.name).order_by(Jurisdiction.name)).all()
    networks = db.session.execute(
        select(LegalNetwork.slug, LegalNetwork.name).order_by(LegalNetwork.name)).all()
    return render_template("dashboard/admin_tokens.html", tokens=rows, roles=ROLES,
                           jurisdictions=jurisdictions, networks=networks,
                           describe_scope=describe_scope, **extra), status


@bp.get("/admin/tokens")
@login_required("admin")
def admin_tokens() -> tuple[str, int]:
    """API tokens (only their prefixes), and a form to create one."""
    return _tokens_page()


@bp.post("/admin/tokens")
@login_required("admin")
def admin_token_create() -> tuple[str, int]:
    """A new token, scoped like a user, shown on this page once and never again."""
    form = request.form
    try:
        row, token = tokens.create_token(db.session, form.get("name", ""),
                                         form.get("role", "dispatcher"),
                                         form.getlist("jurisdictions"),
                                         form.get("network") or None)
    except tokens.TokenError as exc:
        db.session.rollback()
        flash(i18n.refused(exc).removeprefix("--"))
        return _tokens_page(400)
    audit(db.session, "admin.token.create", row.prefix, user_id=g.user.id, ip=client_ip(),
          name=row.name, role=row.role, jurisdictions=row.jurisdictions,
          network=row.network_slug)
    db.session.commit()
    return _tokens_page(created=row, token=token)


@bp.post("/admin/tokens/<int:token_id>/revoke")
@login_required("admin")
def admin_token_revoke(token_id: int) -> Response:
    """Revoke a token: it stops working at once."""
    row = db.session.get(ApiToken, token_id)
    if row is None:
        abort(404)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit(db.session, "admin.token.revoke", row.prefix, user_id=g.user.id, ip=client_ip(),
              name=row.name)
        db.session.commit()
    flash(_("Token %(name)s (%(prefix)s…) is revoked.", name=row.name, prefix=row.prefix), "ok")
    return redirect(url_for("dashboard.admin_tokens"))


@bp.get("/admin/config")
@login_required("admin")
def admin_config() -> str:
    """Jurisdictions, legal networks, their members, rotations and escalation, as loaded."""
    jurisdictions = db.session.scalars(select(Jurisdiction).order_by(Jurisdiction.name)).all()
    networks = db.session.scalars(select(LegalNetwork).order_by(LegalNetwork.name)).all()
    return render_template("dashboard/admin_config.html", jurisdictions=jurisdictions,
                           networks=networks)


@bp.post("/admin/responders/<int:responder_id>/reachable")
@login_required("admin")
def admin_responder_reachable(responder_id: int) -> Response:
    """Clear a responder's `unreachable` (set by Twilio's 21610 or their STOP), audited: for
    when they have texted START to the number or the carrier block is known to be lifted."""
    responder = db.session.get(Responder, responder_id)
    if responder is None:
        abort(404)
    if responder.unreachable:
        responder.unreachable = False
        audit(db.session, "admin.responder.reachable", responder.key, user_id=g.user.id,
              ip=client_ip())
        db.session.commit()
    flash(_("%(name)s is paged again.", name=responder.name), "ok")
    return redirect(url_for("dashboard.admin_config"))


@bp.get("/admin/audit")
@login_required("admin")
def admin_audit() -> str:
    """The audit log, newest first, filtered by action prefix."""
    prefix = request.args.get("action", "").strip()[:64]
    try:
        page = min(max(int(request.args.get("page", 1)), 1), 10_000)
    except ValueError:
        page = 1
    query = select(AuditLog, User.email).outerjoin(User, User.id == AuditLog.user_id)
    if prefix:
        query = query.where(AuditLog.action.startswith(prefix, autoescape=True))
    rows = db.session.execute(query.order_by(AuditLog.id.desc())
                              .offset((page - 1) * AUDIT_PAGE).limit(AUDIT_PAGE + 1)).all()
    names = dict(db.session.execute(select(ApiToken.id, ApiToken.name)).all())
    return render_template("dashboard/admin_audit.html", rows=rows[:AUDIT_PAGE], names=names,
                           prefix=prefix, page=page, has_next=len(rows) > AUDIT_PAGE)


@bp.get("/export/incidents.csv")
@login_required("admin")
def export_incidents() -> Response:
    """Incidents in scope as CSV, with the incident list's filters (audited)."""
    filters = queries.ListFilters.parse(request.args)
    audit(db.session, "export.incidents", None, user_id=g.user.id, ip=client_ip(),
          filters=filters.query_args())
    db.session.commit()
    lines = csvexport.export_lines(db.session, current_scope(), filters)
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return Response(stream_with_context(lines), mimetype="text/csv",
                    headers={"Content-Disposition":
                             f'attachment; filename="incidents-{stamp}.csv"'})
