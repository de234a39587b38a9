"""Where routing listens: the signals of the stages below it, connected by `create_app` for
the web, worker and CLI apps alike (so no lower stage ever imports routing)."""

from __future__ import annotations

from hotline.incidents.lifecycle import incident_verified
from hotline.messaging.outbound import delivery_changed
from hotline.routing import alerts, escalation


def connect() -> None:
    """Subscribe routing to verified incidents and to delivery outcomes (idempotent)."""
    # strong references: module functions live as long as the process anyway
    incident_verified.connect(escalation.on_verified, weak=False)
    delivery_changed.connect(alerts.on_delivery, weak=False)


def connected() -> bool:
    """Whether routing hears both signals in this process."""
    return (escalation.on_verified in incident_verified.receivers.values()
            and alerts.on_delivery in delivery_changed.receivers.values())
