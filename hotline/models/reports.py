"""Reporters, messages, reports, incidents, alerts and the incident timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.models.base import Base, utcnow

INCIDENT_STATUSES = (
    "new", "verifying", "verified", "routed", "acknowledged", "resolved",
    "false_alarm", "unconfirmed", "merged",
)
OPEN_STATUSES = ("new", "verifying", "verified", "routed", "acknowledged")


class Reporter(Base):
    """A community member, known only by a keyed HMAC of their number."""

    __tablename__ = "reporters"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_hmac: Mapped[str] = mapped_column(String(64), unique=True)
    phone_enc: Mapped[str | None] = mapped_column(  # purged after retention
        String(255), info={"encryption_context": "reporter.phone"})
    language: Mapped[str | None] = mapped_column(String(16))
    trust_score: Mapped[float] = mapped_column(default=0.5)
    confirmed_count: Mapped[int] = mapped_column(default=0)
    false_alarm_count: Mapped[int] = mapped_column(default=0)
    opted_out: Mapped[bool] = mapped_column(default=False)
    blocked: Mapped[bool] = mapped_column(default=False)
    blocked_reason: Mapped[str | None] = mapped_column(String(200))
    consent_contact: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    """Every inbound or outbound SMS, MMS or call, idempotent on its Twilio SID."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_reporter_received", "reporter_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    twilio_sid: Mapped[str] = mapped_column(String(64), unique=True)
    direction: Mapped[str] = mapped_column(String(8))  # inbound | outbound
    channel: Mapped[str] = mapped_column(String(8))  # sms | mms | voice
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("reporters.id"))
    responder_id: Mapped[int | None] = mapped_column(ForeignKey("responders.id"))
    # keyed HMAC of the other party's number (sender inbound, recipient outbound)
    counterpart_hmac: Mapped[str] = mapped_column(String(64), index=True)
    counterpart_enc: Mapped[str | None] = mapped_column(
        String(255), info={"encryption_context": "message.counterpart"})
    body_enc: Mapped[str | None] = mapped_column(
        Text, info={"encryption_context": "message.body"})
    media: Mapped[list[Any]] = mapped_column(default=list)  # [{url, content_type}]
    language: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="received")
    error_code: Mapped[int | None]
    flags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), index=True)
    # the incident a message is about when no report or alert says so: a relayed reply, a
    # dispatcher's text, "help is coming" (the incident's conversation reads all three links)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
    purged_at: Mapped[datetime | None]
    # set by triage with the report it makes: the report's INSERT and the message's UPDATE
    # (processed, and its report) go in one flush
    report: Mapped[Report | None] = relationship(foreign_keys=[report_id])


class VoiceTranscript(Base):
    """One final utterance of a call's real-time transcription (Twilio's <Start><Transcription>,
    in the caller's language), kept until the call's recording is stored and the text joins it;
    then deleted. Retention deletes any left behind."""

    __tablename__ = "voice_transcripts"
    __table_args__ = (UniqueConstraint("call_sid", "sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(34), index=True)
    # Twilio's SequenceId; two markers: -1 the transcription ended (transcription-stopped),
    # -2 the call's recording is stored (as `message_id`)
    sequence: Mapped[int]
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    text_enc: Mapped[str | None] = mapped_column(
        Text, info={"encryption_context": "voice.transcript"})
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class Report(Base):
    """One person's account of what they see, possibly over several messages."""

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_incident_created", "incident_id", "created_at"),
        Index("ix_reports_reporter_created", "reporter_id", "created_at"),
        Index("ix_reports_state_jurisdiction", "state", "jurisdiction_id"),
        # a new incident's flood check: the jurisdiction's reports of the last minutes
        Index("ix_reports_jurisdiction_created", "jurisdiction_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("reporters.id"))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    channel: Mapped[str] = mapped_column(String(8), default="sms")
    text_enc: Mapped[str | None] = mapped_column(
        Text, info={"encryption_context": "report.text"})
    language: Mapped[str] = mapped_column(String(2), default="en")
    salute: Mapped[dict[str, Any]] = mapped_column(default=dict)
    location: Mapped[dict[str, Any]] = mapped_column(default=dict)
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    jurisdiction_id: Mapped[int | None] = mapped_column(ForeignKey("jurisdictions.id"))
    needs_location: Mapped[bool] = mapped_column(default=False)
    confidence: Mapped[float] = mapped_column(default=0.0)
    # open -> awaiting_location -> complete
    state: Mapped[str] = mapped_column(String(20), default="complete")
    flags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    media: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    incident: Mapped[Incident | None] = relationship(back_populates="reports")


class Incident(Base):
    """A cluster of reports about one event, with a short code people can type."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_status_jurisdiction_first", "status", "jurisdiction_id",
              "first_seen_at"),
        Index("ix_incidents_last_seen", "last_seen_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    jurisdiction_id: Mapped[int | None] = mapped_column(ForeignKey("jurisdictions.id"))
    status: Mapped[str] = mapped_column(String(16), default="new")
    location_text: Mapped[str | None] = mapped_column(String(300))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    score: Mapped[float] = mapped_column(default=0.0)
    score_reasons: Mapped[list[Any]] = mapped_column(default=list)
    salute: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # markers for dispatchers (flood, denunciation, no_verifier, ...): written only through
    # `hotline.incidents.lifecycle.mark`, which also records them on the timeline
    flags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # each piece of state below has one owner, the only module that writes it:
    places: Mapped[dict[str, Any] | None] = mapped_column(default=None)  # incidents.clustering
    verify_round: Mapped[int | None]  # incidents.verification: the round whose deadline counts
    reputation_applied: Mapped[bool | None]  # incidents.credibility: outcome already counted
    relay_responder_id: Mapped[int | None] = mapped_column(  # intake.conversation
        ForeignKey("responders.id"))
    relay_at: Mapped[datetime | None]  # intake.conversation: when the lawyer last wrote
    policy_snapshot: Mapped[dict[str, Any] | None] = mapped_column(default=None)  # routing
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("responders.id"))
    assigned_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    verified_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    reports: Mapped[list[Report]] = relationship(back_populates="incident",
                                                 order_by="Report.created_at")
    events: Mapped[list[IncidentEvent]] = relationship(back_populates="incident",
                                                       order_by="IncidentEvent.id")
    alerts: Mapped[list[Alert]] = relationship(back_populates="incident", order_by="Alert.id")


class Alert(Base):
    """One notification of one responder about one incident at one escalation step."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("incident_id", "responder_id", "kind", "step", "round"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    responder_id: Mapped[int] = mapped_column(ForeignKey("responders.id"), index=True)
    # page | verify | all_clear | retraction | relay
    kind: Mapped[str] = mapped_column(String(16), default="page")
    step: Mapped[int] = mapped_column(default=0)
    round: Mapped[int] = mapped_column(default=0)
    # queued | sent | delivered | failed | acked | declined | expired
    status: Mapped[str] = mapped_column(String(16), default="queued")
    twilio_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    error_code: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]

    incident: Mapped[Incident] = relationship(back_populates="alerts")


# timeline entries whose data carries an encrypted text (`text_enc`), and its AES-GCM context
EVENT_TEXT_CONTEXT = {"note": "event.note", "relay_to_reporter": "event.relay",
                      "relay_to_lawyer": "event.relay"}


class IncidentEvent(Base):
    """Append-only timeline entry: who did what to an incident, and when."""

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64), default="system")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)

    incident: Mapped[Incident] = relationship(back_populates="events")
