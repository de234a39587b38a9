"""Jobs of the `maintenance` queue."""

from __future__ import annotations

from flask import current_app

from hotline.core.extensions import db
from hotline.intake import media
from hotline.privacy import retention
from workers.base import job


@job
def purge_expired() -> dict[str, int]:
    """The daily retention purge, and the media Twilio still holds that Hotline is done with
    (a deletion that failed)."""
    settings = current_app.config["SETTINGS"]
    counts = retention.purge_expired(db.session, settings.retention_days, settings,
                                     current_app.extensions["hotline_vault"].keyring)
    if media.reachable(settings):
        counts["twilio_media"] = media.delete_leftovers(db.session, settings)
    return counts
