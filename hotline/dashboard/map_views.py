"""The map of open incidents, its live data (polled with ETags), and the local PMTiles basemap
served with HTTP range requests."""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, abort, jsonify, render_template, send_file, url_for

from hotline.core.extensions import db
from hotline.dashboard import map_queries, queries, settings
from hotline.dashboard.blueprint import bp
from hotline.dashboard.board_views import (
    LIVE_INTERVAL_MS,
    conditional,
    current_scope,
    live_etag,
)
from hotline.dashboard.filters import STATUS_LABELS
from hotline.dashboard.security import login_required
from hotline.models import INCIDENT_STATUSES, OPEN_STATUSES

logger = logging.getLogger(__name__)
PMTILES_TYPE = "application/vnd.pmtiles"


def base_layers() -> dict[str, Any]:
    """What every map draws beneath its points: the outlines, and the street basemap when one
    is configured (tiles of HOTLINE_TILE_URL, or the local PMTiles file)."""
    return {
        "outlines": url_for("dashboard.static", filename="vendor/us-atlas/counties-10m.json"),
        "tiles": settings.tile_url(),
        "pmtiles": url_for("dashboard.basemap") if settings.pmtiles_path() else None,
        "attribution": settings.tile_attribution(),
        "incident_url": url_for("dashboard.incident", code="CODE"),
        "statuses": {s: {"label": str(STATUS_LABELS[s]),
                         "glyph": map_queries.STATUS_GLYPHS.get(s)} for s in INCIDENT_STATUSES},
        "radius_m": map_queries.APPROXIMATE_RADIUS_M,
    }


def legend(statuses: tuple[str, ...] = OPEN_STATUSES) -> list[dict[str, str]]:
    """The statuses as the legend shows them (the same colour classes as the pins); a status
    that is no longer open ("resolved", "merged" ...) is drawn in grey."""
    return [{"status": s if s in map_queries.STATUS_GLYPHS else "other",
             "label": str(STATUS_LABELS.get(s, s)), "glyph": map_queries.STATUS_GLYPHS.get(s, "-")}
            for s in statuses]


def _etag() -> str:
    return live_etag(queries.signature(db.session), "map")


@bp.get("/map")
@login_required()
def incident_map() -> str:
    """Open incidents on a map (outlines offline, streets when configured), and as a list."""
    scope = current_scope()
    points = map_queries.map_points(db.session, scope)
    data = {"mode": "incidents", **base_layers(), "points": points,
            "centres": map_queries.scope_centres(db.session, scope),
            "live": {"url": url_for("dashboard.map_live"), "etag": _etag(),
                     "interval": LIVE_INTERVAL_MS}}
    return render_template("dashboard/map.html", points=points, map_data=data,
                           legend=legend())


@bp.get("/live/map")
@login_required(passive=True)
def map_live() -> Response:
    """The map's incidents as JSON, or 304 when nothing changed since the client's version."""
    def render() -> Response:
        return jsonify(points=map_queries.map_points(db.session, current_scope()))

    return conditional(_etag(), render)


@bp.get("/tiles/basemap.pmtiles")
@login_required(passive=True)
def basemap() -> Response:
    """The local PMTiles basemap, in the ranges the map asks for (206, Accept-Ranges,
    Content-Range; 416 for a range outside the file). It is a street map, no PII: a browser
    may keep it (private) but asks again each time, so a logged-out browser gets nothing."""
    path = settings.pmtiles_path()
    if path is None:
        abort(404)
    if not path.is_file():
        logger.warning("HOTLINE_PMTILES_PATH %s is gone; the map draws outlines only", path)
        abort(404)
    response = send_file(path, mimetype=PMTILES_TYPE, conditional=True, etag=True,
                         max_age=None)
    response.headers["Cache-Control"] = "private, no-cache"
    return response
