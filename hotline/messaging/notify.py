"""Sending templated SMS to responders and reporters, in their language."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from hotline.messaging import outbound
from hotline.messaging.templates import Templates, load_templates
from hotline.models import Alert, Incident, Message, Reporter, Responder
from hotline.privacy.vault import Vault


def templates() -> Templates:
    """The app's message templates."""
    return load_templates(current_app.config["SETTINGS"].config_dir)


def vault() -> Vault:
    """The app's PII vault."""
    return current_app.extensions["hotline_vault"]


def responder_language(responder: Responder) -> str:
    """A responder's first language."""
    return (responder.languages or ["en"])[0]


def to_responder(session: Session, responder: Responder, template: str,
                 alert: Alert | None = None, /, *, about: Incident | None = None,
                 **values: Any) -> Message | None:
    """Queue a templated SMS to a responder (None if they cannot be reached); `about` links it
    to an incident's conversation when no alert does."""
    body = templates().text(template, responder_language(responder), **values)
    phone = vault().decrypt(responder.phone_enc, "responder")
    return outbound.queue_sms(session, vault(), phone, body, template, responder=responder,
                              alert_id=alert.id if alert else None,
                              incident_id=about.id if about is not None and alert is None
                              else None)


def to_reporter(session: Session, reporter: Reporter, template: str | None = None,
                text: str | None = None, *, about: Incident | None = None,
                report_id: int | None = None, purpose: str | None = None,
                **values: Any) -> Message | None:
    """Queue an SMS to a reporter (None if opted out, blocked, or the number was purged);
    `about` or `report_id` link it to an incident's conversation."""
    if reporter.phone_enc is None:
        return None
    body = text if text is not None else templates().text(template or "ack", reporter.language,
                                                          **values)
    phone = vault().decrypt(reporter.phone_enc, "reporter.phone")
    return outbound.queue_sms(session, vault(), phone, body, purpose or template or "relay",
                              reporter=reporter, report_id=report_id,
                              incident_id=about.id if about is not None else None)


def label(value: str, language: str) -> str:
    """A word of a responder's text (a SALUTE value, an outcome, a status) in the reader's
    language (`labels:` of its file; English's when it lacks one)."""
    languages = templates().languages
    own = languages[language].labels if language in languages else {}
    english = languages["en"].labels
    return own.get(value) or english.get(value) or value.replace("_", " ")


def what_was_seen(incident: Incident, language: str) -> list[str]:
    """From SALUTE, in the reader's words: who doing what ("ICE raid"), then how many agents
    and vehicles when known."""
    salute = incident.salute or {}
    activity = ", ".join(label(a, language) for a in salute.get("activity") or []) or \
        label("activity", language)
    uniform = ", ".join(u.upper() if len(u) <= 4 else label(u, language)
                        for u in salute.get("uniform") or [])
    parts = [f"{uniform} {activity}".strip()]
    size = salute.get("size") or {}
    if size.get("agents"):
        parts.append(f"{size['agents']} {label('agents', language)}")
    if size.get("vehicles"):
        parts.append(f"{size['vehicles']} {label('vehicles', language)}")
    return parts


def summary(incident: Incident, language: str = "en", timezone: str | None = None) -> str:
    """One line on an incident for an SMS: activity, place, size, uniform, local time."""
    from zoneinfo import ZoneInfo

    salute = incident.salute or {}
    doing, *size = what_was_seen(incident, language)
    parts = [doing, incident.location_text or label("place_unconfirmed", language), *size]
    when = (salute.get("time") or {}).get("at")
    if when:
        parts.append(when[11:16])
    elif timezone:
        parts.append(incident.first_seen_at.astimezone(ZoneInfo(timezone)).strftime("%H:%M"))
    else:
        parts.append(incident.first_seen_at.strftime("%H:%M UTC"))
    return "; ".join(parts)[:300]
