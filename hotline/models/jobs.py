"""The durable outbox: work is recorded in the same transaction as its cause."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.models.base import Base, utcnow


class OutboxJob(Base):
    """A job to run: dispatched to RQ (or the in-process runner) and marked done by the job."""

    __tablename__ = "outbox_jobs"
    __table_args__ = (Index("ix_outbox_jobs_pending", "done_at", "run_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    args: Mapped[list[Any]] = mapped_column(default=list)
    # at most one pending job per key (e.g. one escalation timer per incident step)
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    run_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    done_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
