"""API v1 for community alerts: drafts, approvals, cancelling, progress, and the subscriber
counts (never a number). Scoped and audited like the incident actions: a broadcast of an
incident outside the token's scope is a 404, acting needs a role that acts."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, jsonify, request
from sqlalchemy import select

from hotline.accounts.audit import audit
from hotline.api.payloads import MAX_ID
from hotline.api.views import ApiError, _incident_or_404, _scope, bp, token_required
from hotline.broadcasts import drafts, progress
from hotline.core.extensions import db
from hotline.messaging.templates import load_templates
from hotline.models import Broadcast, Incident, User

CREATE_KEYS = {"incident", "text", "radius_m", "whole_jurisdiction", "kind", "follow_up"}


@bp.errorhandler(drafts.BroadcastError)
def _broadcast_error(exc: drafts.BroadcastError) -> tuple[Response, int]:
    """A broadcast request that cannot be honoured: nothing of it is kept."""
    db.session.rollback()
    return jsonify(error=str(exc)), exc.status


def _templates() -> Any:  # noqa: ANN401 - the app's Templates
    return load_templates(current_app.config["SETTINGS"].config_dir)


def _acting() -> tuple[str, str, str]:
    """(actor for the timeline, approver key, approver label) of this token: a token acting
    for a user approves as that user (two tokens of one person are one approval)."""
    token = g.api_token
    user = db.session.get(User, token.user_id) if token.user_id else None
    if user is not None:
        return f"token:{token.name}"[:64], f"user:{user.id}", user.email
    return f"token:{token.name}"[:64], f"token:{token.id}", f"token {token.name}"


def _must_act() -> None:
    if not _scope().act:
        raise ApiError(403, "this token's role may read but not act")


def _broadcast_or_404(raw: str | int) -> Broadcast:
    """The broadcast with this id when its incident is in the token's scope; else 404."""
    text = str(raw)
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_ID:
        raise ApiError(404, f"no broadcast {text[:20]!r}")
    broadcast_id = int(text)
    broadcast = db.session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise ApiError(404, f"no broadcast {broadcast_id}")
    incident = db.session.get(Incident, broadcast.incident_id)
    visible = db.session.scalar(_scope().restrict(select(Incident.id).where(
        Incident.id == incident.id))) if incident is not None else None
    if visible is None:
        raise ApiError(404, f"no broadcast {broadcast_id}")
    return broadcast


def _summary(broadcast: Broadcast) -> dict[str, Any]:
    settings = current_app.config["SETTINGS"]
    data = drafts.summary(db.session, broadcast, _templates().languages,
                          settings.broadcast_rate)
    data["incident"] = db.session.scalar(select(Incident.code).where(
        Incident.id == broadcast.incident_id))
    return data


@bp.post("/broadcasts")
@token_required
def create_broadcast() -> tuple[Response, int]:
    """A draft community alert about a verified incident (or, with `follow_up`, an all clear
    or a correction to the recipients of an earlier alert)."""
    _must_act()
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise ApiError(400, "body: must be a JSON object with an `incident`")
    unknown = sorted(set(payload) - CREATE_KEYS)
    if unknown:
        raise ApiError(400, f"unknown key(s): {', '.join(unknown)}")
    parent = None
    if payload.get("follow_up") is not None:
        if not isinstance(payload["follow_up"], int) or isinstance(payload["follow_up"], bool):
            raise ApiError(400, "follow_up: must be the id of an earlier broadcast")
        parent = _broadcast_or_404(payload["follow_up"])
        incident = db.session.get(Incident, parent.incident_id)
        kind = payload.get("kind", "all_clear")
        if kind not in drafts.FOLLOW_UPS:
            raise ApiError(400, "kind: a follow-up is all_clear or correction")
    else:
        code = payload.get("incident")
        if not isinstance(code, str) or not code.strip():
            raise ApiError(400, "incident: must be an incident code")
        incident, _ = _incident_or_404(code)
        kind = payload.get("kind", "alert")
        if kind != "alert":
            raise ApiError(400, "kind: all_clear and correction need `follow_up`")
    radius = payload.get("radius_m")
    if radius is not None and (not isinstance(radius, int) or isinstance(radius, bool)):
        raise ApiError(400, "radius_m: must be a whole number of metres")
    whole = payload.get("whole_jurisdiction", False)
    if not isinstance(whole, bool):
        raise ApiError(400, "whole_jurisdiction: must be true or false")
    texts = payload.get("text")
    if texts is not None and not isinstance(texts, dict):
        raise ApiError(400, "text: must be an object of language -> text")
    actor, _, _ = _acting()
    broadcast = drafts.create(db.session, incident, _templates(), actor=actor, kind=kind,
                              texts=texts, radius_m=radius, whole_jurisdiction=whole,
                              parent=parent)
    data = _summary(broadcast)
    audit(db.session, "api.broadcast.create", incident.code, token_id=g.api_token.id,
          ip=request.remote_addr, broadcast=broadcast.id, kind=kind,
          recipients=data["recipients"])
    db.session.commit()
    return jsonify({**data, "id": broadcast.id}), 201


@bp.get("/broadcasts/<broadcast_id>")
@token_required
def get_broadcast(broadcast_id: str) -> Response:
    """A broadcast's texts, audience, approvals and delivery counts."""
    return jsonify(_summary(_broadcast_or_404(broadcast_id)))


@bp.post("/broadcasts/<broadcast_id>/send")
@token_required
def send_broadcast(broadcast_id: str) -> tuple[Response, int]:
    """Approve; sending starts once the jurisdiction's `broadcast_approvals` are in."""
    _must_act()
    broadcast = _broadcast_or_404(broadcast_id)
    _, approver, label = _acting()
    started = drafts.approve(db.session, broadcast, _templates(), approver, label)
    audit(db.session, "api.broadcast.approve", str(broadcast.id), token_id=g.api_token.id,
          ip=request.remote_addr, started=started)
    db.session.commit()
    return jsonify(_summary(broadcast)), 202 if started else 200


@bp.post("/broadcasts/<broadcast_id>/cancel")
@token_required
def cancel_broadcast(broadcast_id: str) -> Response:
    """Stop a broadcast: nothing more is sent."""
    _must_act()
    broadcast = _broadcast_or_404(broadcast_id)
    actor, _, _ = _acting()
    stopped = drafts.cancel(db.session, broadcast, actor)
    audit(db.session, "api.broadcast.cancel", str(broadcast.id), token_id=g.api_token.id,
          ip=request.remote_addr, not_sent=stopped)
    db.session.commit()
    return jsonify(_summary(broadcast))


@bp.get("/subscribers/summary")
@token_required
def subscribers_summary() -> Response:
    """Confirmed subscribers by jurisdiction, area and language (counts only, never a
    number), within the token's scope; and how many are waiting to confirm."""
    return jsonify(progress.subscriber_counts(db.session, _scope().jurisdiction_ids))
