"""Dashboard users, API tokens and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hotline.models.base import Base, utcnow
from hotline.models.reports import Incident

ROLES = ("admin", "dispatcher", "lawyer", "viewer")


class User(Base):
    """A dashboard account, scoped to jurisdictions (empty scope: all)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    jurisdictions: Mapped[list[Any]] = mapped_column(default=list)  # slugs; empty = all
    network_slug: Mapped[str | None] = mapped_column(String(64))  # lawyers
    # the Responder (config key) a lawyer answers pages as, to accept or decline on the web
    responder_key: Mapped[str | None] = mapped_column(String(64))
    totp_secret_enc: Mapped[str | None] = mapped_column(
        String(255), info={"encryption_context": "user.totp_secret"})
    totp_last_step: Mapped[int | None]  # last accepted TOTP time step: no code is used twice
    must_change_password: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    session_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # the dashboard's language (dashboard.i18n: en | es); None: the browser's
    ui_language: Mapped[str | None] = mapped_column(String(8))


class ApiToken(Base):
    """A bearer token for the JSON API, stored only as a SHA-256 hash, scoped like a user."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    role: Mapped[str] = mapped_column(String(16), default="dispatcher")
    # scoped exactly like a dashboard user (see accounts.scope): slugs, empty = all
    jurisdictions: Mapped[list[Any]] = mapped_column(default=list)
    network_slug: Mapped[str | None] = mapped_column(String(64))  # lawyer tokens
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AuditLog(Base):
    """Who did or saw what through the dashboard or the API."""

    __tablename__ = "audit_log"
    # failed logins per address, counted for login rate limiting
    __table_args__ = (Index("ix_audit_log_action_ip_at", "action", "ip", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(128))
    ip: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


# Indexes the dashboard and API queries need at scale (benchmarks/dashboard_scale.py). Declared
# here, beside the dashboard's own tables, so that the incident models stay as they are.
Index("ix_incidents_updated_at", Incident.updated_at)  # the live view's change signature
Index("ix_incidents_status_last_seen", Incident.status, Incident.last_seen_at)
Index("ix_incidents_jurisdiction_last_seen", Incident.jurisdiction_id, Incident.last_seen_at)


class DataKey(Base):
    """One UTC day's data key for PII, wrapped (AES-256-GCM) by a key derived from
    HOTLINE_PII_KEY and that day's step of the ratchet (see privacy.datakeys). The retention
    purge deletes the rows of expired days, so their data can never be decrypted again."""

    __tablename__ = "data_keys"

    period: Mapped[str] = mapped_column(String(8), primary_key=True)  # YYYYMMDD, UTC
    wrapped: Mapped[str] = mapped_column(String(128))
    kek_id: Mapped[str] = mapped_column(String(8))  # which HOTLINE_PII_KEY wrapped it
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
