"""The dispatcher dashboard: board, incidents, live updates, map, calls and call rosters,
who is on call (and the overrides made there),
media kept as evidence, community alerts, lawyers' view, admin pages."""

from hotline.dashboard import (  # noqa: F401 - importing a view module adds its routes
    admin_views,
    auth_views,
    board_views,
    broadcast_views,
    calls_views,
    filters,
    i18n,
    incident_views,
    map_views,
    media_views,
    oncall_views,
    security,
    words,
)
from hotline.dashboard.blueprint import bp

__all__ = ["bp"]
