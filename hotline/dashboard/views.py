"""Dashboard views: login, the board of open incidents, one incident."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import func, select

from hotline import actions, users
from hotline.audit import audit
from hotline.extensions import db
from hotline.models import OPEN_STATUSES, Incident, Jurisdiction, Report, User
from hotline.serializers import report_detail

bp = Blueprint("dashboard", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/dashboard")
F = TypeVar("F", bound=Callable[..., Any])


def csrf_token() -> str:
    """The session's CSRF token (created on first use)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


@bp.app_context_processor
def _inject() -> dict[str, Any]:
    return {"csrf_token": csrf_token}


@bp.before_app_request
def _check_csrf() -> None:
    if request.method == "POST" and request.blueprint == "dashboard":
        sent = request.form.get("csrf_token", "")
        if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
            abort(400, "CSRF token missing or wrong; reload the page")


def login_required(view: F) -> F:
    """Redirect to the login page unless a live session names an active user."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user_id = session.get("user_id")
        user = db.session.get(User, user_id) if user_id else None
        if user is None or not user.active or session.get("sv") != user.session_version:
            session.clear()
            return redirect(url_for("dashboard.login", next=request.path))
        g.user = user
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str:
    """Email and password."""
    if request.method == "POST":
        user = users.check_login(db.session, request.form.get("email", ""),
                                 request.form.get("password", ""))
        audit(db.session, "login" if user else "login.failed", request.form.get("email", "")[:120],
              user_id=user.id if user else None, ip=request.remote_addr)
        db.session.commit()
        if user is not None:
            session.clear()
            session["user_id"] = user.id
            session["sv"] = user.session_version
            target = request.args.get("next", "")
            return redirect(target if target.startswith("/") and not target.startswith("//")
                            else url_for("dashboard.board"))
        flash("Wrong email or password, or the account is locked.")
    return render_template("dashboard/login.html")


@bp.post("/logout")
def logout() -> Response:
    """End the session."""
    session.clear()
    return redirect(url_for("dashboard.login"))


@bp.get("/")
@login_required
def board() -> str:
    """Open incidents by jurisdiction, unverified oldest first, and the out-of-area queue."""
    rows = db.session.execute(
        select(Incident, Jurisdiction.slug, Jurisdiction.name)
        .outerjoin(Jurisdiction, Jurisdiction.id == Incident.jurisdiction_id)
        .where(Incident.status.in_(OPEN_STATUSES))
        .order_by(Incident.first_seen_at)
        .limit(500)
    ).all()
    groups: dict[str, dict[str, Any]] = {}
    for j in db.session.scalars(select(Jurisdiction).order_by(Jurisdiction.name)):
        groups[j.slug] = {"name": j.name, "slug": j.slug, "incidents": []}
    groups["none"] = {"name": "Outside every jurisdiction", "slug": "none", "incidents": []}
    for incident, slug, _name in rows:
        groups[slug or "none"]["incidents"].append(incident)
    return render_template("dashboard/board.html", groups=list(groups.values()))


@bp.get("/incidents/<code>")
@login_required
def incident(code: str) -> str:
    """One incident, its reports (escaped), timeline and alerts; the view is audited."""
    found = db.session.scalar(select(Incident).where(Incident.code == code.upper()))
    if found is None:
        abort(404)
    vault = current_app.extensions["hotline_vault"]
    reports = db.session.scalars(select(Report).where(Report.incident_id == found.id)
                                 .order_by(Report.created_at)).all()
    audit(db.session, "dashboard.incident.view", found.code, user_id=g.user.id,
          ip=request.remote_addr)
    db.session.commit()
    slug = db.session.scalar(select(Jurisdiction.slug).where(
        Jurisdiction.id == found.jurisdiction_id)) if found.jurisdiction_id else None
    return render_template("dashboard/incident.html", incident=found, jurisdiction=slug,
                           reports=[report_detail(r, vault) for r in reports],
                           report_count=db.session.scalar(
                               select(func.count()).where(Report.incident_id == found.id)))


@bp.post("/incidents/<code>/actions")
@login_required
def incident_action(code: str) -> Response:
    """Verify, dismiss, resolve or note from the incident page."""
    found = db.session.scalar(select(Incident).where(Incident.code == code.upper()))
    if found is None:
        abort(404)
    if g.user.role not in ("admin", "dispatcher"):
        abort(403)
    payload = {k: v for k, v in request.form.items() if k != "csrf_token"}
    try:
        actions.apply_action(db.session, found, payload, f"user:{g.user.id}")
    except actions.ActionError as exc:
        db.session.rollback()
        flash(str(exc))
        return redirect(url_for("dashboard.incident", code=found.code))
    audit(db.session, f"dashboard.incident.{payload.get('action')}", found.code,
          user_id=g.user.id, ip=request.remote_addr)
    db.session.commit()
    return redirect(url_for("dashboard.incident", code=found.code))
