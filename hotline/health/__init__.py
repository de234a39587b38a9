"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import ipaddress
import secrets

from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from hotline.core.extensions import db
from hotline.core.metrics import REGISTRY
from hotline.jobs import outbox, rq_backend

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process is up."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """The database and the queue backend (Redis) are reachable."""
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    backend = outbox.backend_of(current_app)
    name = "redis" if isinstance(backend, rq_backend.RQBackend) else "jobs"
    checks[name] = "ok" if backend.ping() else "unreachable"
    ready = all(v == "ok" for v in checks.values())
    return jsonify(status="ready" if ready else "unavailable", checks=checks), (
        200 if ready else 503)


def _may_scrape() -> bool:
    """A scraper on a private network (loopback, RFC 1918, unique local), or one that shows
    HOTLINE_METRICS_TOKEN; the address is the client's after trusted proxies."""
    token = current_app.config.get("HOTLINE_METRICS_TOKEN")
    sent = request.headers.get("Authorization", "")
    if token and secrets.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return address.is_private or address.is_loopback


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text exposition, for private networks or the metrics token only."""
    if not _may_scrape():
        return Response("forbidden: /metrics is for private networks or "
                        "HOTLINE_METRICS_TOKEN\n", status=403, mimetype="text/plain")
    return Response(generate_latest(REGISTRY), mimetype=CONTENT_TYPE_LATEST)
