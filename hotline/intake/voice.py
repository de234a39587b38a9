"""Voice reports: a recorded message (up to 2 minutes), transcribed by Twilio, triaged like SMS.

A caller who hangs up before speaking leaves nothing. If the transcript never comes, the
recording still becomes a report (with no text) when its grace period ends: nothing is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.core.phones import normalize_phone
from hotline.incidents import reports
from hotline.intake import store
from hotline.jobs import outbox
from hotline.models import Message, Report, utcnow
from hotline.privacy.vault import Vault, reference

logger = logging.getLogger(__name__)
MAX_SECONDS = 120
TRANSCRIPT_GRACE = timedelta(minutes=3)


def record_recording(session: Session, vault: Vault, form: Mapping[str, str], language: str,
                     region: str = "US") -> Message | None:
    """Store a finished recording as an inbound voice message (idempotent on RecordingSid).

    Returns None when there is nothing to keep (hung up before speaking)."""
    recording_sid = (form.get("RecordingSid") or "").strip()
    url = (form.get("RecordingUrl") or "").strip()
    try:
        duration = int(form.get("RecordingDuration") or 0)
    except ValueError:
        duration = 0
    if not recording_sid or not url or duration < 1:
        return None
    if not store.SID.match(recording_sid):
        raise store.BadWebhook("RecordingSid malformed")
    sender = (form.get("From") or form.get("Caller") or "").strip()
    if len(sender) > store.MAX_FROM:
        raise store.BadWebhook(f"From longer than {store.MAX_FROM} characters")
    if not sender:
        raise store.BadWebhook("From missing")
    try:
        e164 = normalize_phone(sender, region)
    except ValueError:
        e164 = sender
    existing = session.scalar(select(Message).where(Message.twilio_sid == recording_sid))
    if existing is not None:
        return existing
    reporter = store.upsert_reporter(session, vault, e164, language)
    message = Message(
        twilio_sid=recording_sid, direction="inbound", channel="voice", reporter_id=reporter.id,
        counterpart_hmac=reporter.phone_hmac,
        counterpart_enc=vault.encrypt(e164, "message.counterpart"), body_enc=None,
        media=[{"url": url, "content_type": "audio/x-wav", "duration": duration,
                "call_sid": form.get("CallSid", "")}],
        language=language, status="recorded", flags={"awaiting_transcript": True},
        received_at=utcnow())
    session.add(message)
    session.flush()
    # if no transcript arrives in time, triage the recording anyway
    outbox.defer(session, "triage_message", message.id, run_at=utcnow() + TRANSCRIPT_GRACE,
               dedupe_key=f"voice:{message.id}")
    logger.info("voice recording %s stored as message %s reporter %s (%ss)", recording_sid,
                message.id, reference(reporter.phone_hmac), duration)
    return message


def apply_transcript(session: Session, vault: Vault, form: Mapping[str, str]) -> Message | None:
    """Twilio's transcription: it becomes the message's text and is triaged now."""
    recording_sid = (form.get("RecordingSid") or "").strip()
    message = session.scalars(select(Message).where(Message.twilio_sid == recording_sid)
                              .with_for_update()).one_or_none()
    if message is None:
        return None
    status = (form.get("TranscriptionStatus") or "").lower()
    text = form.get("TranscriptionText") or ""
    flags = dict(message.flags or {})
    flags.pop("awaiting_transcript", None)
    flags["transcription"] = status or "completed"
    message.flags = flags
    if status == "failed" or not text.strip():
        return message  # the grace timer triages the recording without text
    message.body_enc = vault.encrypt(text, "message.body")
    if message.processed_at is None:
        outbox.defer(session, "triage_message", message.id)
    elif message.report_id:
        # the grace timer already made a report without text: give it the transcript now
        report = session.get(Report, message.report_id)
        if report is not None:
            reports.refresh_report_text(session, report, text)
    return message
