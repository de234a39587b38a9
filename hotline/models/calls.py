"""Calls to the hotline answered live: the call, and each volunteer's phone rung for it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.models.base import Base, utcnow

# menu: choosing a language; check: the flood's "press 5"; ringing: volunteers' phones ring;
# answered: a volunteer took it; voicemail: the caller is leaving a message; completed: over
CALL_STATES = ("menu", "check", "ringing", "answered", "voicemail", "completed", "blocked")
LIVE_STATES = ("menu", "check", "ringing", "answered", "voicemail")


class Call(Base):
    """One call to a hotline number. The caller is a reporter (their number HMAC'd and
    encrypted there, never here); the hotline number is Hotline's own, not personal data."""

    __tablename__ = "calls"
    __table_args__ = (Index("ix_calls_state_started", "state", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(34), unique=True)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("reporters.id"), index=True)
    jurisdiction_id: Mapped[int | None] = mapped_column(ForeignKey("jurisdictions.id"))
    roster_id: Mapped[int | None] = mapped_column(ForeignKey("call_rosters.id",
                                                             ondelete="SET NULL"))
    hotline_number: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="menu")
    # why it went to voicemail: closed | nobody | no_answer | rate_limited | no_roster
    outcome: Mapped[str | None] = mapped_column(String(16))
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("responders.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"))
    flags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    duration: Mapped[int | None]  # seconds the volunteer and the caller talked

    legs: Mapped[list[CallLeg]] = relationship(back_populates="call", order_by="CallLeg.id",
                                               cascade="all, delete-orphan")


class CallLeg(Base):
    """One volunteer's phone rung for a call (`<Dial><Number>`): its progress, and whether the
    volunteer pressed 1 to take the call."""

    __tablename__ = "call_legs"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    responder_id: Mapped[int] = mapped_column(ForeignKey("responders.id"))
    leg_sid: Mapped[str | None] = mapped_column(String(34), unique=True)
    # dialed | ringing | in-progress | completed | busy | no-answer | failed | canceled
    status: Mapped[str] = mapped_column(String(16), default="dialed")
    accepted: Mapped[bool] = mapped_column(default=False)
    duration: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    call: Mapped[Call] = relationship(back_populates="legs")
