"""Logging in and out, the TOTP step, and a user's own password and second factor."""

from __future__ import annotations

from typing import Any

import segno
from flask import Response, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from hotline.accounts import users
from hotline.accounts.audit import audit
from hotline.core.extensions import db
from hotline.dashboard import i18n, settings
from hotline.dashboard.blueprint import bp
from hotline.dashboard.security import (
    begin_pending,
    client_ip,
    login_required,
    pending_user,
    safe_next,
    start_session,
    vault,
)
from hotline.models import User

View = Response | str | tuple[str, int]


def _throttled() -> tuple[str, int]:
    flash(_("Too many failed attempts from this address. Wait a few minutes and try again."))
    return render_template("dashboard/login.html"), 429


@bp.route("/login", methods=["GET", "POST"])
def login() -> View:
    """Email and password; then the TOTP code when the account has or needs one."""
    if request.method != "POST":  # GET, and HEAD: never a login attempt
        return render_template("dashboard/login.html")
    if users.address_throttled(db.session, client_ip()):
        return _throttled()
    email = request.form.get("email", "")[:254]
    user = users.check_login(db.session, email, request.form.get("password", ""))
    if user is None:
        audit(db.session, "login.failed", email[:120], ip=client_ip())
        db.session.commit()
        flash(_("Wrong email or password, or the account is locked or disabled."))
        return render_template("dashboard/login.html", email=email), 401
    if user.totp_secret_enc is not None:
        db.session.commit()
        begin_pending(user)
        session["next"] = safe_next(request.args.get("next"))
        return redirect(url_for("dashboard.login_totp"))
    audit(db.session, "login", user.email, user_id=user.id, ip=client_ip())
    db.session.commit()
    start_session(user, second_factor=False)
    return redirect(safe_next(request.args.get("next")))


@bp.route("/login/code", methods=["GET", "POST"])
def login_totp() -> View:
    """The second step: a six-digit code from the user's authenticator app."""
    user = pending_user()
    if user is None:
        session.clear()
        flash(_("Please log in again."))
        return redirect(url_for("dashboard.login"))
    if request.method != "POST":  # GET, and HEAD: never a login attempt
        return render_template("dashboard/login_totp.html")
    if users.address_throttled(db.session, client_ip()):
        return _throttled()
    if users.is_locked(user) or not users.check_totp(user, vault(), request.form.get("code", "")):
        audit(db.session, "login.totp_failed", user.email, user_id=user.id, ip=client_ip())
        db.session.commit()
        flash(_("That code is wrong or was already used, or the account is locked."))
        return render_template("dashboard/login_totp.html"), 401
    audit(db.session, "login", user.email, user_id=user.id, ip=client_ip(), second_factor=True)
    db.session.commit()
    target = session.get("next")
    start_session(user, second_factor=True)
    return redirect(safe_next(target))


@bp.post("/logout")
def logout() -> Response:
    """End the session, on the server too: the user's session version moves on, so a copy of
    the cookie (and any other session of this user) no longer works."""
    uid = session.get("uid")
    if uid:
        user = db.session.get(User, uid)
        if user is not None and session.get("sv") == user.session_version:
            user.session_version += 1
        audit(db.session, "logout", None, user_id=uid, ip=client_ip())
        db.session.commit()
    session.clear()
    return redirect(url_for("dashboard.login"))


@bp.post("/account/language")
@login_required()
def account_language() -> Response:
    """The dashboard's language for this user (English or Spanish), kept with the account."""
    chosen = request.form.get("language", "")
    if chosen in i18n.UI_LANGUAGES:
        g.user.ui_language = chosen
        audit(db.session, "account.language", str(g.user.id), user_id=g.user.id,
              ip=client_ip(), language=chosen)
        db.session.commit()
    return redirect(safe_next(request.form.get("next")))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required(setup=True)
def change_password() -> View:
    """Change one's own password (required after an admin's reset)."""
    user: User = g.user
    if request.method == "POST":
        current = request.form.get("current", "")
        new = request.form.get("new", "")
        if not users.verify_password(user, current):
            flash(_("Your current password is not right."))
        elif new != request.form.get("confirm", ""):
            flash(_("The new passwords do not match."))
        else:
            try:
                users.set_password(user, new)
            except users.UserError as exc:
                flash(i18n.refused(exc))
            else:
                audit(db.session, "account.password", user.email, user_id=user.id,
                      ip=client_ip())
                db.session.commit()
                start_session(user, second_factor=bool(session.get("mfa")))
                flash(_("Password changed."), "ok")
                return redirect(url_for("dashboard.board"))
        return render_template("dashboard/password.html"), 400
    return render_template("dashboard/password.html")


def _qr_svg(uri: str) -> str:
    return segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff")


@bp.route("/account/totp", methods=["GET", "POST"])
@login_required(setup=True)
def totp_setup() -> View:
    """Enrol an authenticator app: scan the QR code (or type the secret), confirm a code."""
    user: User = g.user
    if user.totp_secret_enc is not None:  # to change it, an admin resets it first
        return render_template("dashboard/totp.html", enrolled=True)
    secret = session.get("totp_pending") or users.new_totp_secret()
    session["totp_pending"] = secret
    status = 200
    if request.method == "POST":
        if users.enrol_totp(user, vault(), secret, request.form.get("code", "")):
            audit(db.session, "account.totp_enrolled", user.email, user_id=user.id,
                  ip=client_ip())
            db.session.commit()
            session.pop("totp_pending", None)
            session["mfa"] = True
            flash(_("Two-factor authentication is on."), "ok")
            return redirect(url_for("dashboard.board"))
        flash(_("That code does not match. Check the time on your phone and try again."))
        status = 400
    uri = users.provisioning_uri(secret, user.email)
    context: dict[str, Any] = {"enrolled": False, "secret": secret, "uri": uri,
                               "qr": _qr_svg(uri), "required": settings.require_totp()}
    return render_template("dashboard/totp.html", **context), status
