"""API v1 views: bearer-token auth, JSON in and out, scoped and audited like the dashboard.

Every read and every action goes through the token's `accounts.scope.Scope`, the same object the
dashboard builds for a user: an incident outside it is a 404 (its existence is not revealed), a
filter that asks outside it is a 403, and report texts are shown only to roles that read PII.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, g, jsonify, request
from sqlalchemy import func, select
from werkzeug.exceptions import HTTPException

from hotline.accounts import tokens
from hotline.accounts.audit import audit
from hotline.accounts.scope import Scope, scope_of, visible
from hotline.api.openapi import MAX_LIMIT, openapi_document
from hotline.api.payloads import check_action_payload
from hotline.api.serializers import alert_detail, event_detail, incident_summary, report_detail
from hotline.core.extensions import db
from hotline.incidents import actions
from hotline.models import (
    INCIDENT_STATUSES,
    OPEN_STATUSES,
    Alert,
    Incident,
    Jurisdiction,
    Report,
    Responder,
    User,
)
from hotline.privacy.vault import DecryptionError

bp = Blueprint("api", __name__, url_prefix="/api/v1")
F = TypeVar("F", bound=Callable[..., Any])
LIST_ARGS = {"status", "jurisdiction", "since", "limit"}


class ApiError(Exception):
    """A client error with a JSON body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> tuple[Response, int]:
    return jsonify(error=exc.message), exc.status


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> tuple[Response, int]:
    return jsonify(error=exc.description or exc.name), exc.code or 500


@bp.after_request
def _no_store(response: Response) -> Response:
    """API answers carry incident data: never cached by a browser or a proxy."""
    response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def token_required(view: F) -> F:
    """401 unless a live bearer token is presented."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        row = tokens.authenticate(db.session, value.strip()) if scheme.lower() == "bearer" \
            else None
        if row is None:
            response = jsonify(error="a valid bearer token is required")
            response.status_code = 401
            response.headers["WWW-Authenticate"] = 'Bearer realm="hotline"'
            return response
        g.api_token = row
        g.api_scope = scope_of(db.session, row)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _scope() -> Scope:
    scope: Scope = g.api_scope
    return scope


def _since(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, "since: must be an ISO 8601 date-time") from None
    if value.tzinfo is None:
        raise ApiError(400, "since: must include a timezone (e.g. Z)")
    return value


@bp.get("/incidents")
@token_required
def list_incidents() -> Response:
    """Incidents, newest activity first, filtered by status, jurisdiction and time."""
    unknown_args = sorted(set(request.args) - LIST_ARGS)
    if unknown_args:
        raise ApiError(400, f"unknown query parameter(s): {', '.join(unknown_args)}")
    empty = sorted(k for k in ("status", "jurisdiction", "since", "limit")
                   if k in request.args and not request.args[k].strip())
    if empty:
        raise ApiError(400, f"{empty[0]}: must not be empty")
    scope = _scope()
    query = scope.restrict(select(Incident, Jurisdiction.slug).outerjoin(
        Jurisdiction, Jurisdiction.id == Incident.jurisdiction_id))
    status = request.args.get("status")
    if status:
        wanted = [s.strip() for s in status.split(",")]
        if "open" in wanted:
            wanted = [s for s in wanted if s != "open"] + list(OPEN_STATUSES)
        unknown = [s for s in wanted if s not in INCIDENT_STATUSES]
        if unknown:
            raise ApiError(400, f"status: unknown value(s) {', '.join(unknown)}")
        query = query.where(Incident.status.in_(wanted))
    jurisdiction = request.args.get("jurisdiction")
    if jurisdiction:
        if jurisdiction == "none":
            if not scope.unassigned:
                raise ApiError(403, "jurisdiction: the out-of-area queue is outside this "
                                    "token's scope")
            query = query.where(Incident.jurisdiction_id.is_(None))
        else:
            wanted_id = db.session.scalar(select(Jurisdiction.id).where(
                Jurisdiction.slug == jurisdiction))
            if wanted_id is None:
                raise ApiError(400, f"jurisdiction: unknown slug {jurisdiction!r}")
            if scope.jurisdiction_ids is not None and wanted_id not in scope.jurisdiction_ids:
                raise ApiError(403, f"jurisdiction: {jurisdiction!r} is outside this token's "
                                    "scope")
            query = query.where(Jurisdiction.slug == jurisdiction)
    since = _since(request.args.get("since"))
    if since is not None:
        query = query.where(Incident.last_seen_at >= since)
    try:
        limit = int(request.args.get("limit", 100))
    except ValueError:
        raise ApiError(400, "limit: must be a whole number") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError(400, f"limit: must be between 1 and {MAX_LIMIT}")
    rows = db.session.execute(
        query.order_by(Incident.last_seen_at.desc(), Incident.id.desc()).limit(limit)).all()
    ids = [incident.id for incident, _ in rows]
    counts = dict(db.session.execute(
        select(Report.incident_id, func.count()).where(Report.incident_id.in_(ids))
        .group_by(Report.incident_id)).all()) if ids else {}
    return jsonify(incidents=[incident_summary(i, slug, counts.get(i.id, 0))
                              for i, slug in rows])


def _incident_or_404(code: str) -> tuple[Incident, str | None]:
    """The incident with this code when the token's scope includes it; else 404 (the same
    answer as for a code that does not exist, so a scope reveals nothing beyond itself)."""
    row = db.session.execute(
        _scope().restrict(select(Incident, Jurisdiction.slug)
                          .outerjoin(Jurisdiction, Jurisdiction.id == Incident.jurisdiction_id)
                          .where(Incident.code == code.strip().upper()))
    ).one_or_none()
    if row is None:
        raise ApiError(404, f"no incident {code!r}")
    return row[0], row[1]


@bp.get("/incidents/<code>")
@token_required
def get_incident(code: str) -> Response:
    """One incident with its reports, timeline and alerts (a PII view: audited)."""
    incident, slug = _incident_or_404(code)
    vault = current_app.extensions["hotline_vault"]
    reports = db.session.scalars(select(Report).where(Report.incident_id == incident.id)
                                 .order_by(Report.created_at)).all()
    alerts = db.session.execute(
        select(Alert, Responder).outerjoin(Responder, Responder.id == Alert.responder_id)
        .where(Alert.incident_id == incident.id).order_by(Alert.id)).all()
    data = incident_summary(incident, slug, len(reports))
    data["score_reasons"] = incident.score_reasons
    data["flags"] = incident.flags
    pii = _scope().pii
    data["reports"] = [_report(r, vault, pii) for r in reports]
    data["timeline"] = [event_detail(e, vault if pii else None) for e in incident.events]
    data["alerts"] = [alert_detail(a, r) for a, r in alerts]
    audit(db.session, "api.incident.view", incident.code, token_id=g.api_token.id,
          ip=request.remote_addr, pii=pii)
    db.session.commit()
    return jsonify(data)


class _Withheld:
    """Stands in for the vault where report texts must not be shown."""

    def decrypt(self, token: str | None, context: str = "") -> None:
        return None


def _report(report: Report, vault: Any, pii: bool) -> dict[str, Any]:
    """A report; its text only for tokens whose role may read PII (null when purged)."""
    if pii:
        try:
            return report_detail(report, vault)
        except DecryptionError:
            pass
    return report_detail(report, _Withheld())  # type: ignore[arg-type]


@bp.post("/incidents/<code>/actions")
@token_required
def incident_action(code: str) -> tuple[Response, int]:
    """A dispatcher action (the dashboard's: verify, dismiss, resolve, merge, split, note,
    assign, block, all_clear, reverify), audited the same way."""
    if not _scope().act:
        raise ApiError(403, "this token's role may read but not act")
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise ApiError(400, "body: must be a JSON object with an `action`")
    incident, _ = _incident_or_404(code)
    if payload.get("action") == "merge" and isinstance(payload.get("into"), str):
        target = db.session.scalar(select(Incident).where(
            Incident.code == payload["into"].strip().upper()))
        if target is None or not visible(db.session, _scope(), target):
            raise ApiError(404, f"into: no incident {payload['into']!r}")
    actor = f"token:{g.api_token.name}"[:64]
    user = db.session.get(User, g.api_token.user_id) if g.api_token.user_id else None
    try:
        payload = check_action_payload(payload)
        result = actions.apply_action(db.session, incident, payload, actor, user=user)
    except actions.ActionError as exc:
        db.session.rollback()
        raise ApiError(exc.status, str(exc)) from None
    details = {k: v for k, v in result.items() if k != "code"}
    audit(db.session, f"api.incident.{payload['action']}", incident.code,
          token_id=g.api_token.id, ip=request.remote_addr, **details)
    db.session.commit()
    return jsonify(result), 200


@bp.get("/jurisdictions")
@token_required
def list_jurisdictions() -> Response:
    """The jurisdictions in the token's scope with the open incidents it may see, plus the
    out-of-area queue (counted only for scopes that include it)."""
    scope = _scope()
    counts = dict(db.session.execute(
        scope.restrict(select(Incident.jurisdiction_id, func.count())
                       .where(Incident.status.in_(OPEN_STATUSES)))
        .group_by(Incident.jurisdiction_id)).all())
    query = select(Jurisdiction).order_by(Jurisdiction.name)
    if scope.jurisdiction_ids is not None:
        query = query.where(Jurisdiction.id.in_(sorted(scope.jurisdiction_ids)))
    rows = db.session.scalars(query).all()
    return jsonify(
        jurisdictions=[{"slug": j.slug, "name": j.name, "state": j.state,
                        "timezone": j.timezone, "active": j.active,
                        "open_incidents": counts.get(j.id, 0)} for j in rows],
        unassigned={"open_incidents": counts.get(None, 0)},
    )


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 description of this API."""
    slugs = list(db.session.scalars(select(Jurisdiction.slug).order_by(Jurisdiction.slug)))
    return jsonify(openapi_document(slugs))
