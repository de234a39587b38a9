"""All models, importable from one place."""

from hotline.models.accounts import ROLES, ApiToken, AuditLog, DataKey, User
from hotline.models.alerts import (
    BROADCAST_KINDS,
    BROADCAST_STATUSES,
    SUBSCRIBER_STATUSES,
    Broadcast,
    BroadcastApproval,
    BroadcastRecipient,
    Subscriber,
    SubscriberArea,
)
from hotline.models.base import Base, encrypted_columns, utcnow
from hotline.models.calls import CALL_STATES, LIVE_STATES, Call, CallLeg
from hotline.models.geo import (
    CallRoster,
    EscalationPolicy,
    EscalationStep,
    GeoFeature,
    Jurisdiction,
    LegalNetwork,
    OnCallRotation,
    Responder,
    ScheduleOverride,
    network_jurisdictions,
    reachable_now,
    responder_jurisdictions,
)
from hotline.models.jobs import OutboxJob
from hotline.models.media import MEDIA_STATUSES, MediaItem
from hotline.models.reports import (
    EVENT_TEXT_CONTEXT,
    INCIDENT_STATUSES,
    OPEN_STATUSES,
    Alert,
    Incident,
    IncidentEvent,
    Message,
    Report,
    Reporter,
    VoiceTranscript,
)

__all__ = [
    "BROADCAST_KINDS", "BROADCAST_STATUSES", "SUBSCRIBER_STATUSES", "Broadcast",
    "BroadcastApproval", "BroadcastRecipient", "Subscriber", "SubscriberArea",
    "CALL_STATES", "LIVE_STATES", "Call", "CallLeg", "CallRoster",
    "EVENT_TEXT_CONTEXT", "INCIDENT_STATUSES", "OPEN_STATUSES", "ROLES", "Alert", "ApiToken",
    "AuditLog", "Base", "DataKey", "EscalationPolicy", "EscalationStep", "GeoFeature", "Incident",
    "IncidentEvent", "MEDIA_STATUSES", "MediaItem",
    "Jurisdiction", "LegalNetwork", "Message", "OnCallRotation", "OutboxJob", "Report", "Reporter",
    "Responder", "ScheduleOverride", "User", "VoiceTranscript", "encrypted_columns",
    "network_jurisdictions", "reachable_now", "responder_jurisdictions", "utcnow",
]
