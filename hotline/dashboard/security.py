"""Sessions, CSRF and roles of the dashboard (response headers: `hotline.core.headers`).

The session is Flask's signed cookie. It carries the user id, the account's session version
(bumped when the user is disabled, reset or loses a factor, which ends every session at once),
when it began (absolute timeout), when it was last used (idle timeout; live polling does not
count as use) and whether the second factor was passed.
"""

from __future__ import annotations

import functools
import secrets
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _

from hotline.accounts import users
from hotline.core.extensions import db
from hotline.dashboard import settings
from hotline.dashboard.blueprint import bp
from hotline.models import User

F = TypeVar("F", bound=Callable[..., Any])
PENDING_FOR = 300  # seconds between a right password and the TOTP code


def csrf_token() -> str:
    """The session's CSRF token (created on first use)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


@bp.app_context_processor
def _inject() -> dict[str, Any]:
    return {"csrf_token": csrf_token}


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@bp.before_app_request
def _check_csrf() -> None:
    """Every state-changing request to the dashboard carries the session's token; anything
    else is refused. (GET, HEAD and OPTIONS never change state.)"""
    if request.method not in SAFE_METHODS and request.blueprint == "dashboard":
        sent = request.form.get("csrf_token", "")
        if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
            abort(400, _("CSRF token missing or wrong; reload the page"))


def vault() -> Any:
    """The app's PII vault."""
    return current_app.extensions["hotline_vault"]


def client_ip() -> str | None:
    """The caller's address (ProxyFix has already applied trusted proxies)."""
    return request.remote_addr


def start_session(user: User, second_factor: bool) -> None:
    """A fresh session for `user` (a new CSRF token too: no session fixation)."""
    session.clear()
    now = int(time.time())
    session.update(uid=user.id, sv=user.session_version, iat=now, seen=now,
                   mfa=second_factor)
    csrf_token()


def begin_pending(user: User) -> None:
    """Remember a right password while the TOTP code is asked for."""
    session.clear()
    session["pending"] = {"uid": user.id, "sv": user.session_version, "at": int(time.time())}
    csrf_token()


def pending_user() -> User | None:
    """The user whose password was right a moment ago, awaiting their code."""
    pending = session.get("pending")
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_FOR:
        return None
    user = db.session.get(User, pending.get("uid"))
    if user is None or not user.active or user.session_version != pending.get("sv"):
        return None
    return user


def _session_user() -> tuple[User | None, str | None]:
    """The session's user if the session is still good, else None and why it is not."""
    uid = session.get("uid")
    if not uid:
        return None, None
    user = db.session.get(User, uid)
    now = time.time()
    if user is None or not user.active or session.get("sv") != user.session_version:
        return None, _("Your session has ended. Please log in again.")
    if now - session.get("iat", 0) > settings.absolute_timeout().total_seconds():
        return None, _("Your session reached its maximum length. Please log in again.")
    if now - session.get("seen", 0) > settings.idle_timeout().total_seconds():
        return None, _("You were logged out after a period of inactivity.")
    if user.totp_secret_enc is not None and not session.get("mfa"):
        return None, _("Please log in again with your authentication code.")
    return user, None


def setup_step(user: User) -> str | None:
    """The page a user must visit before anything else (new password, TOTP enrolment)."""
    if user.must_change_password:
        return url_for("dashboard.change_password")
    if settings.require_totp() and user.role in users.SECOND_FACTOR_ROLES \
            and user.totp_secret_enc is None:
        return url_for("dashboard.totp_setup")
    return None


def _refuse(passive: bool, reason: str | None) -> Response:
    if passive:
        response = jsonify(error="login required")
        response.status_code = 401
        return response
    if reason:
        flash(reason)
    target = request.full_path if request.method == "GET" else request.path
    return redirect(url_for("dashboard.login", next=target.rstrip("?")))


def login_required(*roles: str, passive: bool = False, setup: bool = False) -> Callable[[F], F]:
    """Only a live session of an active user with one of `roles` (any role when none given).

    `passive` views (live polling) answer 401 instead of redirecting and do not count as use
    for the idle timeout; `setup` views stay reachable while a password change or a TOTP
    enrolment is due.
    """

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user, reason = _session_user()
            if user is None:
                if session.get("uid"):
                    session.clear()  # a stale session: nothing of it may be reused
                return _refuse(passive, reason)
            step = setup_step(user)
            if step is not None and not setup:
                return _refuse(True, None) if passive else redirect(step)
            if roles and user.role not in roles:
                abort(403)
            g.user = user
            if not passive:
                session["seen"] = int(time.time())
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def safe_next(target: str | None) -> str:
    """A same-site path to go to after login, never an open redirect. Browsers drop tabs and
    newlines from a URL and read a backslash as a slash (`next=/%09/evil.example` would be
    `//evil.example`), so any control character, space or backslash refuses it."""
    if (target and target.startswith("/") and not target.startswith("//")
            and not any(c <= " " or c in "\\\x7f" for c in target)
            and not urlsplit(target).netloc):
        return target
    return url_for("dashboard.board")
