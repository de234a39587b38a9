"""The audit log: who did or saw what."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hotline.models import AuditLog, utcnow


def audit(session: Session, action: str, target: str | None = None, *, user_id: int | None = None,
          token_id: int | None = None, ip: str | None = None, **details: Any) -> AuditLog:
    """Append one audit entry (flushed with the caller's transaction)."""
    entry = AuditLog(action=action, target=target, user_id=user_id, token_id=token_id, ip=ip,
                     details=details, at=utcnow())
    session.add(entry)
    return entry
