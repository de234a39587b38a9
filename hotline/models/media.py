"""Media kept as evidence: each photo, audio or video of an inbound MMS or WhatsApp message,
fetched from Twilio, sealed under the day's data key, hashed, then deleted at Twilio."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hotline.models.base import Base, utcnow

# pending: not fetched yet (or to be fetched again); stored: kept here, deleted at Twilio or
# about to be; refused: a type or size Hotline does not keep (deleted at Twilio all the same);
# failed: Twilio never gave it; purged: retention removed it
MEDIA_STATUSES = ("pending", "stored", "refused", "failed", "purged")


class MediaItem(Base):
    """One media item of a message (its `MediaUrlN`, N = position)."""

    __tablename__ = "media_items"
    __table_args__ = (UniqueConstraint("message_id", "position"),)
    LARGE_VALUES = True  # key rotation reads these rows a few at a time

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    position: Mapped[int]
    # Twilio's Message and Media SIDs (MM.../ME...): what is fetched and deleted; no PII
    message_sid: Mapped[str] = mapped_column(String(34))
    media_sid: Mapped[str | None] = mapped_column(String(34))
    declared_type: Mapped[str] = mapped_column(String(100), default="")
    content_type: Mapped[str | None] = mapped_column(String(40))  # what the bytes are
    kind: Mapped[str | None] = mapped_column(String(8))  # image | audio | video
    status: Mapped[str] = mapped_column(String(10), default="pending")
    reason: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int | None]
    sha256: Mapped[str | None] = mapped_column(String(64))  # of the bytes as received
    # the bytes as received (evidence), what the dashboard shows (an image re-encoded without
    # EXIF, so without the camera's GPS or serial), and a small JPEG for lists; all sealed
    data_enc: Mapped[bytes | None] = mapped_column(
        LargeBinary, info={"encryption_context": "media.data"})
    display_enc: Mapped[bytes | None] = mapped_column(
        LargeBinary, info={"encryption_context": "media.data"})
    thumb_enc: Mapped[bytes | None] = mapped_column(
        LargeBinary, info={"encryption_context": "media.data"})
    # JSON of what the photo said: {"lat", "lon", "taken_at", "width", "height"}
    meta_enc: Mapped[str | None] = mapped_column(
        Text, info={"encryption_context": "media.meta"})
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_at: Mapped[datetime | None]  # a job is fetching it (a claim lapses: CLAIM_LAPSES)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    fetched_at: Mapped[datetime | None]
    deleted_at_twilio: Mapped[datetime | None]
    purged_at: Mapped[datetime | None]
