"""Jobs of the `maintenance` queue."""

from __future__ import annotations

from flask import current_app

from hotline.core.extensions import db
from hotline.privacy import retention
from workers.base import job


@job
def purge_expired() -> dict[str, int]:
    """The daily retention purge."""
    settings = current_app.config["SETTINGS"]
    return retention.purge_expired(db.session, settings.retention_days, settings,
                                   current_app.extensions["hotline_vault"].keyring)
