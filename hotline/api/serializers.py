"""JSON shapes of incidents, reports and jurisdictions (never a phone number)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hotline.models import EVENT_TEXT_CONTEXT, Alert, Incident, IncidentEvent, Report, Responder
from hotline.privacy.vault import Vault

# what the API says of a report's photo, audio or video: its row, never a URL
MEDIA_FIELDS = ("media_id", "content_type", "kind", "status")


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC, or None."""
    return value.isoformat().replace("+00:00", "Z") if value else None


def incident_summary(incident: Incident, jurisdiction_slug: str | None,
                     report_count: int) -> dict[str, Any]:
    """An incident as listed."""
    return {
        "code": incident.code,
        "status": incident.status,
        "jurisdiction": jurisdiction_slug,
        "location": {"text": incident.location_text, "lat": incident.lat, "lon": incident.lon},
        "score": incident.score,
        "salute": incident.salute,
        "report_count": report_count,
        "first_seen_at": iso(incident.first_seen_at),
        "last_seen_at": iso(incident.last_seen_at),
        "verified_at": iso(incident.verified_at),
        "resolved_at": iso(incident.resolved_at),
    }


def report_detail(report: Report, vault: Vault) -> dict[str, Any]:
    """A report with its decrypted text (callers audit the view)."""
    return {
        "id": report.id,
        "channel": report.channel,
        "text": vault.decrypt(report.text_enc, "report.text"),
        "language": report.language,
        "salute": report.salute,
        "location": report.location,
        "needs_location": report.needs_location,
        "confidence": report.confidence,
        "media": [m for m in map(_media, report.media or []) if m is not None],
        "flags": report.flags,
        "created_at": iso(report.created_at),
    }


def _media(item: Any) -> dict[str, Any] | None:  # noqa: ANN401 - stored JSON
    """A report's media item, never with a URL: a photo, audio or video by its row
    (`media_id`; its bytes are seen on the dashboard, audited), a call recording without
    Twilio's URL (which anyone holding it may fetch): it is listened to on the dashboard,
    audited. None for anything else (a reference from before media were kept)."""
    if not isinstance(item, dict):
        return None
    if "duration" in item:
        return {k: v for k, v in item.items() if k not in ("url", "call_sid")}
    if "media_id" not in item:
        return None
    return {key: item.get(key) for key in MEDIA_FIELDS}


def event_data(event: IncidentEvent, vault: Vault | None) -> dict[str, Any]:
    """An event's data with its encrypted text (notes, relayed messages) decrypted, or
    withheld when no vault is given."""
    data = dict(event.data or {})
    token = data.pop("text_enc", None)
    if token is not None:
        context = EVENT_TEXT_CONTEXT.get(event.kind, "event.note")
        data["text"] = vault.decrypt(token, context) if vault is not None else None
    return data


def event_detail(event: IncidentEvent, vault: Vault | None = None) -> dict[str, Any]:
    """One timeline entry (texts decrypted when a vault is given: callers audit the view)."""
    return {"at": iso(event.at), "kind": event.kind, "actor": event.actor,
            "data": event_data(event, vault)}


def alert_detail(alert: Alert, responder: Responder | None) -> dict[str, Any]:
    """One alert, naming the responder but never their number."""
    return {
        "responder": responder.name if responder else None,
        "role": responder.role if responder else None,
        "kind": alert.kind,
        "step": alert.step,
        "round": alert.round,
        "status": alert.status,
        "error_code": alert.error_code,
        "created_at": iso(alert.created_at),
        "sent_at": iso(alert.sent_at),
        "delivered_at": iso(alert.delivered_at),
        "answered_at": iso(alert.answered_at),
    }
