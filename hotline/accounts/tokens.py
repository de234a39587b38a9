"""API bearer tokens: shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.models import ROLES, ApiToken, utcnow

PREFIX = "htl_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str, role: str = "dispatcher") -> tuple[ApiToken, str]:
    """A new token row and the token itself (the only time it exists in clear)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, token_hash=_hash(token), prefix=token[:12], role=role)
    session.add(row)
    session.flush()
    return row, token


def authenticate(session: Session, token: str) -> ApiToken | None:
    """The live token row for a presented bearer token, or None."""
    if not token.startswith(PREFIX):
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token),
                                                ApiToken.revoked_at.is_(None)))
    if row is not None:
        row.last_used_at = utcnow()
    return row
