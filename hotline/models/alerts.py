"""Community alerts: people who subscribed by text to an area, and the broadcasts of verified
incidents sent to them (`hotline.broadcasts`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hotline.models.base import Base, utcnow

SUBSCRIBER_STATUSES = ("pending", "confirmed", "stopped")
BROADCAST_KINDS = ("alert", "all_clear", "correction")
BROADCAST_STATUSES = ("draft", "sending", "sent", "cancelled")


class Subscriber(Base):
    """A number that asked for community alerts: known by a keyed HMAC, its number encrypted
    (cleared when it stops). Only `confirmed` subscribers are ever alerted."""

    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_hmac: Mapped[str] = mapped_column(String(64), unique=True)
    phone_enc: Mapped[str | None] = mapped_column(
        String(255), info={"encryption_context": "subscriber.phone"})
    language: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    stopped_at: Mapped[datetime | None]


class SubscriberArea(Base):
    """One area a subscriber follows (at most three): a ZIP code, a neighbourhood or place the
    gazetteer knows, or a whole jurisdiction (`kind` "jurisdiction", no coordinates)."""

    __tablename__ = "subscriber_areas"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "kind", "key"),
        Index("ix_subscriber_areas_jurisdiction", "jurisdiction_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id",
                                                            ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # zip | place | jurisdiction
    key: Mapped[str] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(100))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Broadcast(Base):
    """One community alert about one incident (or its follow-up: an all clear or a correction
    to exactly the recipients of `parent_id`). Texts are per language; `radius_m` None means
    the whole jurisdiction."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("broadcasts.id"))
    kind: Mapped[str] = mapped_column(String(16), default="alert")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    texts: Mapped[dict[str, Any]] = mapped_column(default=dict)  # language -> text
    radius_m: Mapped[int | None]
    approvals_needed: Mapped[int] = mapped_column(default=1)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[str | None] = mapped_column(String(64))
    # the one sending pump that may run: who holds it, and until when
    pump_until: Mapped[datetime | None]


class BroadcastApproval(Base):
    """One person's approval (a user, or a token without one): each counts once."""

    __tablename__ = "broadcast_approvals"
    __table_args__ = (UniqueConstraint("broadcast_id", "approver"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    approver: Mapped[str] = mapped_column(String(64))  # user:<id> | token:<id>
    label: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class BroadcastRecipient(Base):
    """One subscriber of one broadcast: the unique (broadcast, subscriber) row that makes a
    retried job, a killed worker or a double click send at most one message and skip none.
    `status`: pending (not yet handed to a message), queued (its message carries the delivery
    status), skipped (stopped before it was sent), cancelled (the broadcast was stopped)."""

    __tablename__ = "broadcast_recipients"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "subscriber_id"),
        Index("ix_broadcast_recipients_broadcast_status", "broadcast_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="SET NULL"))
    language: Mapped[str] = mapped_column(String(16))
    area: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id",
                                                              ondelete="SET NULL"))
