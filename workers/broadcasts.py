"""Community alerts: the `broadcasts` queue, one short tick of a broadcast's sending per job."""

from __future__ import annotations

from hotline.broadcasts import sending
from hotline.core.extensions import db
from workers.base import job


@job
def broadcast_pump(broadcast_id: int) -> str:
    """Send the next second's worth of a broadcast (each recipient at most once)."""
    return sending.pump(db.session, broadcast_id)
