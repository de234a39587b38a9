"""Dispatcher actions on an incident: shared by the dashboard and the API."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hotline import incidents
from hotline.models import Incident


class ActionError(ValueError):
    """An action that cannot be applied; `status` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


ACTIONS = ("verify", "dismiss", "resolve", "merge", "note")


def apply_action(session: Session, incident: Incident, payload: dict[str, Any],
                 actor: str) -> dict[str, Any]:
    """Apply one action; flushes, never commits."""
    action = payload.get("action")
    if action not in ACTIONS:
        raise ActionError(f"action: must be one of {', '.join(ACTIONS)}")
    note = payload.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > 4000):
        raise ActionError("note: must be text of at most 4000 characters")
    try:
        if action == "verify":
            incidents.transition(session, incident, "verified", actor, note=note)
        elif action == "dismiss":
            incidents.transition(session, incident, "false_alarm", actor, note=note)
        elif action == "resolve":
            incidents.transition(session, incident, "resolved", actor, note=note)
        elif action == "merge":
            target_code = payload.get("into")
            if not isinstance(target_code, str):
                raise ActionError("into: the code of the incident to merge into is required")
            target = incidents.get_by_code(session, target_code)
            if target is None:
                raise ActionError(f"into: no incident {target_code!r}", 404)
            incidents.merge(session, incident, target, actor)
        else:
            if not note or not note.strip():
                raise ActionError("note: required for a note")
            incidents.record_event(session, incident, "note", actor=actor, text=note)
    except incidents.TransitionError as exc:
        raise ActionError(str(exc), 409) from None
    session.flush()
    return {"code": incident.code, "status": incident.status}
